namespace FastRnn;

/// <summary>What an optimizer does with a gradient that holds NaN or infinity.</summary>
public enum NonFiniteGradientPolicy
{
    /// <summary>Throw <see cref="NonFiniteGradientException"/>; weights and optimizer state are unchanged.</summary>
    Throw = 0,

    /// <summary>Skip the step: weights and optimizer state are unchanged, <see cref="Optimizer.SkippedSteps"/> counts it.</summary>
    SkipStep = 1,
}

/// <summary>
/// Gradient clipping applied by an optimizer inside its update pass, in PyTorch's order and constants: by value first
/// (<c>clip_grad_value_</c>: clamp to ±<see cref="MaxValue"/>), then each tensor by its own norm, then by the global
/// norm (<c>clip_grad_norm_</c>: <c>g *= max/(total + 1e-6)</c> when <c>total &gt; max</c>). 0 turns a bound off.
/// Every step also checks the gradient for NaN or infinity and follows <see cref="NonFinite"/>, so a bad value
/// never reaches the weights or the optimizer state.
/// </summary>
public sealed class GradientClipping
{
    private float _maxValue, _maxTensorNorm, _maxGlobalNorm;

    /// <summary>Clamp every gradient element to [−MaxValue, MaxValue]; 0 = off.</summary>
    public float MaxValue { get => _maxValue; set => _maxValue = Check(value, nameof(MaxValue)); }

    /// <summary>Scale each named tensor's gradient to this norm when it is larger; 0 = off.</summary>
    public float MaxTensorNorm { get => _maxTensorNorm; set => _maxTensorNorm = Check(value, nameof(MaxTensorNorm)); }

    /// <summary>Scale the whole gradient to this global norm when it is larger; 0 = off.</summary>
    public float MaxGlobalNorm { get => _maxGlobalNorm; set => _maxGlobalNorm = Check(value, nameof(MaxGlobalNorm)); }

    public NonFiniteGradientPolicy NonFinite { get; set; } = NonFiniteGradientPolicy.Throw;

    private static float Check(float value, string name) =>
        float.IsFinite(value) && value >= 0
            ? value
            : throw new ArgumentOutOfRangeException(name, value, $"{name} must be finite and at least 0 (0 turns it off).");
}
