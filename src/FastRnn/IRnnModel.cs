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

    /// <summary>Sets every gradient to zero: one clear of the gradient arena.</summary>
    void ZeroGrad();
}
