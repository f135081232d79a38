using System.Globalization;

namespace FastRnn;

/// <summary>Step decay as PyTorch's <c>StepLR</c>, optionally delayed: <c>lr = lr0·γ^⌊max(0, epoch − delay)/every⌋</c>
/// for epochs counted from 0. Zaremba et al.'s schedule (lr × 0.5 per epoch after epoch 4 of 1-based epochs) is
/// <c>new StepDecay(1, 0.5f, every: 1, delay: 3)</c>.</summary>
public sealed class StepDecay(float initial, float factor, int every = 1, int delay = 0)
{
    public float Initial { get; } = initial;
    public float Factor { get; } = factor;
    public int Every { get; } = every >= 1 ? every : throw new ArgumentOutOfRangeException(nameof(every), every, "every must be at least 1.");
    public int Delay { get; } = delay >= 0 ? delay : throw new ArgumentOutOfRangeException(nameof(delay), delay, "delay must be at least 0.");

    /// <summary>The learning rate of epoch <paramref name="epoch"/> (from 0).</summary>
    public float At(int epoch) => (float)(Initial * Math.Pow(Factor, Math.Max(0, epoch - Delay) / Every));
}
