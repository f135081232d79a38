namespace FastRnn;

/// <summary>Cosine annealing as PyTorch's <c>CosineAnnealingLR</c>: <c>lr = min + (lr0 − min)·(1 + cos(π·t/T))/2</c>,
/// from lr0 at t = 0 down to <paramref name="minimum"/> at t = T (<paramref name="period"/>); past T it rises again as
/// the cosine does (torch's rate follows the same curve).</summary>
public sealed class CosineAnnealing(float initial, int period, float minimum = 0f)
{
    public float Initial { get; } = initial > 0f ? initial : throw new ArgumentOutOfRangeException(nameof(initial), initial, "The initial rate must be positive.");
    public int Period { get; } = period >= 1 ? period : throw new ArgumentOutOfRangeException(nameof(period), period, "T_max must be at least 1.");
    public float Minimum { get; } = minimum >= 0f && minimum <= initial ? minimum : throw new ArgumentOutOfRangeException(nameof(minimum), minimum, "The minimum rate must lie in [0, initial].");

    /// <summary>The learning rate at step <paramref name="t"/> (from 0).</summary>
    public float At(int t) => Schedules.Cosine(Initial, Minimum, Schedules.Step(t), Period);
}
