using FastRnn.Kernels;

namespace FastRnn;

/// <summary>What every generated model offers to optimizers, checkpoints and tools.</summary>
public interface IRnnModel
{
    /// <summary>Every parameter in one arena, in the model's internal (gate-interleaved, zero-padded) layout.</summary>
    Span<float> Parameters { get; }

    /// <summary>The gradient of the last loss, with the layout of <see cref="Parameters"/>.</summary>
    Span<float> Gradients { get; }

    /// <summary>The named tensors, with their PyTorch names and shapes, in state-dict order.</summary>
    IReadOnlyList<ParameterTensor> Tensors { get; }

    /// <summary>The model's structure as declared (input, recurrent layers, head), for exporters and tools; null for a
    /// model that is not generated from a declaration.</summary>
    ModelArchitecture? Architecture => null;

    /// <summary>Sets every gradient to zero: one clear of the gradient arena.</summary>
    void ZeroGrad();

    /// <summary>Threads that share the model's work, split by outputs so every result is bit-identical at any thread
    /// count (null: the calling thread alone). Set it between calls, not during one. Every generated model has one; a
    /// hand-written model without threads of its own keeps the default, which runs on the calling thread.</summary>
    ComputePool? Pool
    {
        get => null;
        set
        {
            if (value is { Threads: > 1 })
                throw new NotSupportedException($"{GetType().Name} runs on the calling thread only; it takes no pool of {value.Threads} threads.");
        }
    }

    /// <summary>State that is learned from data but not by gradient: batch normalizations' running means and variances,
    /// in one arena (empty for a model without batch normalization). Checkpoints and safetensors files carry it.</summary>
    Span<float> Statistics => Span<float>.Empty;

    /// <summary>The named tensors of <see cref="Statistics"/> (PyTorch's buffer names, e.g. <c>rnn.bn_l0.running_mean</c>).</summary>
    IReadOnlyList<ParameterTensor> StatisticTensors => [];

    /// <summary>The L1 and L2 penalty coefficients on the tensors of <paramref name="role"/> (Keras semantics:
    /// loss += l1·Σ|w| + l2·Σw²), as declared and set at run time; 0 when none is declared. An optimizer adds their
    /// gradient, l1·sign(w) + 2·l2·w, inside its update, before clipping (it is part of the loss's gradient).</summary>
    (float L1, float L2) PenaltyOf(ParameterRole role) => default;

    /// <summary>The constraint on the tensors of <paramref name="role"/>, applied by an optimizer after each update
    /// (Keras semantics, see <see cref="Constraints"/>); <see cref="ConstraintKind.None"/> when none is declared.</summary>
    WeightConstraint ConstraintOf(ParameterRole role) => default;
}
