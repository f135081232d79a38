using System.Diagnostics;

namespace FastRnn.Training;

/// <summary>
/// Samples for a last-step model (a classifier or a forecaster): each sample is a sequence of up to
/// <see cref="Steps"/> steps — dense features (<see cref="Width"/> floats a step) or token ids — with its length, and
/// one target: a class id, or <c>outputs</c> floats. Samples are stored one after another (sample-major); a shorter
/// sample is right-padded with anything.
/// </summary>
public sealed class SequenceSet
{
    public SequenceSet(int count, int steps, int width, bool tokens, int outputs, bool classes)
    {
        if (count < 1 || steps < 1 || width < 1 || outputs < 1)
            throw new ArgumentOutOfRangeException(nameof(count), "Count, steps, width and outputs must be at least 1.");
        Count = count;
        Steps = steps;
        Width = tokens ? 1 : width;
        Outputs = outputs;
        Dense = tokens ? [] : new float[count * steps * width];
        Tokens = tokens ? new int[count * steps] : [];
        Lengths = Enumerable.Repeat(steps, count).ToArray();
        Classes = classes ? new int[count] : [];
        Values = classes ? [] : new float[count * outputs];
    }

    public int Count { get; }
    public int Steps { get; }
    public int Width { get; }
    public int Outputs { get; }
    public float[] Dense { get; }
    public int[] Tokens { get; }
    public int[] Lengths { get; }
    public int[] Classes { get; }
    public float[] Values { get; }
    /// <summary>A digest of the set's shape and contents: a run backup refuses to continue on other data.</summary>
    internal string Fingerprint() => RunFingerprint.Of($"set {Count}×{Steps}×{Width}→{Outputs}", Dense, Tokens, Lengths, Classes, Values);

    public bool TakesTokens => Tokens.Length > 0;
    public bool HasClasses => Classes.Length > 0;
}
