using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastRnn;

/// <summary>AWD-LSTM's non-monotone trigger for NT-ASGD: after each evaluation, switch from SGD to averaged SGD when
/// more than <c>n</c> losses have been logged and the new one is worse than the best of all but the last <c>n</c>
/// (<c>len(logs) &gt; n and loss &gt; min(logs[:-n])</c>); the loss is logged after the check.</summary>
public sealed class NonMonotoneTrigger(int nonMonotone = 5)
{
    private readonly List<double> _logs = [];

    public int NonMonotone { get; } = nonMonotone >= 1 ? nonMonotone : throw new ArgumentOutOfRangeException(nameof(nonMonotone), nonMonotone, "n must be at least 1.");

    /// <summary>True once the trigger has fired.</summary>
    public bool Triggered { get; private set; }

    /// <summary>Logs a validation loss; returns true on the evaluation that fires the switch (once).</summary>
    public bool Observe(double validationLoss)
    {
        bool fire = false;
        if (!Triggered && _logs.Count > NonMonotone)
        {
            double best = double.PositiveInfinity;
            for (int i = 0; i < _logs.Count - NonMonotone; i++)
                best = Math.Min(best, _logs[i]);
            fire = validationLoss > best;
        }
        _logs.Add(validationLoss);
        Triggered |= fire;
        return fire;
    }
}
