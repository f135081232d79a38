namespace FastRnn;

/// <summary>The one-cycle policy (Smith and Topin) as PyTorch's <c>OneCycleLR</c>, for the learning rate
/// (<c>cycle_momentum=False</c>): from <c>max/divFactor</c> up to the maximum rate over the first warm-up fraction of the
/// total steps, then down to <c>max/divFactor/finalDivFactor</c> at the last step, each phase a half cosine (or a
/// straight line without <c>cosine</c>). With <c>threePhase</c> the rate comes back down to <c>max/divFactor</c> over a
/// second phase as long as the first before the final descent. Counted in optimizer steps; a step past the last is
/// refused, as in torch.</summary>
public sealed class OneCycle
{
    private readonly (double End, double From, double To)[] _phases;

    public OneCycle(float maxRate, int totalSteps, float warmupFraction = 0.3f, float divFactor = 25f, float finalDivFactor = 1e4f,
        bool cosine = true, bool threePhase = false)
    {
        MaxRate = maxRate > 0f ? maxRate : throw new ArgumentOutOfRangeException(nameof(maxRate), maxRate, "The maximum rate must be positive.");
        TotalSteps = totalSteps >= 2 ? totalSteps : throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, "total_steps must be at least 2.");
        WarmupFraction = warmupFraction is > 0f and < 1f ? warmupFraction : throw new ArgumentOutOfRangeException(nameof(warmupFraction), warmupFraction, "pct_start must lie in (0, 1).");
        if (!(divFactor > 0f) || !(finalDivFactor > 0f))
            throw new ArgumentOutOfRangeException(nameof(divFactor), "div_factor and final_div_factor must be positive.");
        Cosine = cosine;
        double initial = (double)maxRate / divFactor, minimum = initial / finalDivFactor;
        // torch's phase ends: float(pct_start·total) − 1 (and − 2 for the second of three), then total − 1
        double warm = (double)warmupFraction * totalSteps;
        _phases = threePhase
            ? [(warm - 1, initial, maxRate), (2 * warm - 2, maxRate, initial), (totalSteps - 1, initial, minimum)]
            : [(warm - 1, initial, maxRate), (totalSteps - 1, maxRate, minimum)];
    }

    public float MaxRate { get; }
    public int TotalSteps { get; }
    public float WarmupFraction { get; }
    public bool Cosine { get; }

    /// <summary>The learning rate at step <paramref name="t"/> (from 0 to <see cref="TotalSteps"/> − 1).</summary>
    public float At(int t)
    {
        if ((uint)t >= (uint)TotalSteps)
            throw new ArgumentOutOfRangeException(nameof(t), t, $"The cycle has {TotalSteps} steps (0 to {TotalSteps - 1}).");
        double start = 0;
        for (int i = 0; ; i++)
        {
            var (end, from, to) = _phases[i];
            if (t <= end || i == _phases.Length - 1)
            {
                double fraction = (t - start) / (end - start);
                return (float)(Cosine ? to + (from - to) / 2 * (Math.Cos(Math.PI * fraction) + 1) : (to - from) * fraction + from);
            }
            start = end;
        }
    }
}
