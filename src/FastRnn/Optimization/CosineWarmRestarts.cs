namespace FastRnn;

/// <summary>Cosine annealing with warm restarts (SGDR, Loshchilov and Hutter) as PyTorch's
/// <c>CosineAnnealingWarmRestarts</c>: the rate falls along a half cosine from lr0 to <paramref name="minimum"/> over a
/// period of T_i steps, then restarts at lr0; the first period is <paramref name="firstPeriod"/> (T_0) and each next one
/// <paramref name="periodFactor"/> (T_mult) times longer.</summary>
public sealed class CosineWarmRestarts(float initial, int firstPeriod, int periodFactor = 1, float minimum = 0f)
{
    public float Initial { get; } = initial > 0f ? initial : throw new ArgumentOutOfRangeException(nameof(initial), initial, "The initial rate must be positive.");
    public int FirstPeriod { get; } = firstPeriod >= 1 ? firstPeriod : throw new ArgumentOutOfRangeException(nameof(firstPeriod), firstPeriod, "T_0 must be at least 1.");
    public int PeriodFactor { get; } = periodFactor >= 1 ? periodFactor : throw new ArgumentOutOfRangeException(nameof(periodFactor), periodFactor, "T_mult must be at least 1.");
    public float Minimum { get; } = minimum >= 0f && minimum <= initial ? minimum : throw new ArgumentOutOfRangeException(nameof(minimum), minimum, "The minimum rate must lie in [0, initial].");

    /// <summary>The learning rate at step <paramref name="t"/> (from 0).</summary>
    public float At(int t)
    {
        long into = Schedules.Step(t), period = FirstPeriod;
        // Walk the periods (T_0, T_0·T_mult, …) in integers: no logarithm to round at a period's boundary.
        while (into >= period)
        {
            into -= period;
            period *= PeriodFactor;
        }
        return Schedules.Cosine(Initial, Minimum, into, period);
    }
}
