using System.ComponentModel;

namespace FastRnn.Kernels;

/// <summary>Which rows of a time-major head ([steps·batch] rows) are real when the rows of the batch have different
/// lengths: row i is step i / batch of sequence i % batch, real while that step is below the sequence's length. The
/// default (no lengths) makes every row real.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly ref struct RealRows(ReadOnlySpan<int> lengths)
{
    /// <summary>One length per sequence of the batch (empty: every row is real).</summary>
    public ReadOnlySpan<int> Lengths { get; } = lengths;

    public bool IsReal(int row) => Lengths.IsEmpty || row / Lengths.Length < Lengths[row % Lengths.Length];

    /// <summary>How many of the first <paramref name="rows"/> rows are real.</summary>
    public int Count(int rows)
    {
        if (Lengths.IsEmpty)
            return rows;
        int count = 0;
        for (int r = 0; r < rows; r++)
            count += IsReal(r) ? 1 : 0;
        return count;
    }
}
