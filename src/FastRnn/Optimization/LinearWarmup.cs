namespace FastRnn;

/// <summary>A linear ramp as PyTorch's <c>LinearLR</c>: the rate goes from <paramref name="startFactor"/>·lr0 at t = 0 to
/// <paramref name="endFactor"/>·lr0 at t = <paramref name="steps"/> in equal steps and stays there — a warm-up with the
/// defaults (from a third of the rate to all of it).</summary>
public sealed class LinearWarmup(float initial, int steps, float startFactor = 1f / 3, float endFactor = 1f)
{
    public float Initial { get; } = initial > 0f ? initial : throw new ArgumentOutOfRangeException(nameof(initial), initial, "The initial rate must be positive.");
    public int Steps { get; } = steps >= 1 ? steps : throw new ArgumentOutOfRangeException(nameof(steps), steps, "total_iters must be at least 1.");
    public float StartFactor { get; } = startFactor is > 0f and <= 1f ? startFactor : throw new ArgumentOutOfRangeException(nameof(startFactor), startFactor, "start_factor must lie in (0, 1].");
    public float EndFactor { get; } = endFactor is >= 0f and <= 1f ? endFactor : throw new ArgumentOutOfRangeException(nameof(endFactor), endFactor, "end_factor must lie in [0, 1].");

    /// <summary>The learning rate at step <paramref name="t"/> (from 0).</summary>
    public float At(int t) =>
        (float)(Initial * (StartFactor + ((double)EndFactor - StartFactor) * Math.Min(Schedules.Step(t), Steps) / Steps));
}
