namespace FastRnn;

/// <summary>Exponential decay as PyTorch's <c>ExponentialLR</c>: <c>lr = lr0·γ^t</c> for t = 0, 1, … (epochs or
/// iterations, as the caller counts).</summary>
public sealed class ExponentialDecay(float initial, float gamma)
{
    public float Initial { get; } = initial > 0f ? initial : throw new ArgumentOutOfRangeException(nameof(initial), initial, "The initial rate must be positive.");
    public float Gamma { get; } = gamma is > 0f and <= 1f ? gamma : throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "γ must lie in (0, 1].");

    /// <summary>The learning rate at step <paramref name="t"/> (from 0).</summary>
    public float At(int t) => (float)(Initial * Math.Pow(Gamma, Schedules.Step(t)));
}
