using System.Diagnostics;

namespace FastRnn.Training;

/// <summary>
/// A token stream laid out for truncated BPTT, as PyTorch's word_language_model <c>batchify</c>: the stream is cut
/// into <see cref="Batch"/> contiguous columns of <see cref="Length"/> tokens (the remainder is dropped), so row b of
/// every segment continues row b of the one before and the recurrent state can be carried across segments.
/// Segment s covers steps [s·steps, s·steps + n) with inputs x(t) and targets x(t + 1), n ≤ steps (the last is shorter).
/// </summary>
public sealed class TokenStream
{
    private readonly int[] _columns; // [Length, Batch], time-major

    public TokenStream(ReadOnlySpan<int> tokens, int batch)
    {
        if (batch < 1)
            throw new ArgumentOutOfRangeException(nameof(batch), batch, "The batch must be at least 1.");
        Batch = batch;
        Length = tokens.Length / batch;
        if (Length < 2)
            throw new ArgumentException($"A stream of {tokens.Length} tokens in {batch} columns leaves {Length} per column; at least 2 are needed.", nameof(tokens));
        _columns = new int[Length * batch];
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < Length; t++)
                _columns[t * batch + b] = tokens[b * Length + t];
    }

    public int Batch { get; }

    /// <summary>Tokens per column.</summary>
    public int Length { get; }

    /// <summary>Predicted tokens in all: (Length − 1) per column.</summary>
    public long Targets => (long)(Length - 1) * Batch;

    public int Segments(int steps) => (Length - 1 + steps - 1) / steps;

    /// <summary>A digest of the stream's layout and tokens: a run backup refuses to continue on other data.</summary>
    internal string Fingerprint() => RunFingerprint.Of($"stream {Batch}×{Length}", _columns);

    /// <summary>Writes segment <paramref name="segment"/>'s inputs and targets ([n, Batch] time-major each); returns n.</summary>
    public int Segment(int segment, int steps, Span<int> inputs, Span<int> targets)
    {
        int start = segment * steps;
        int n = Math.Min(steps, Length - 1 - start);
        if (n <= 0)
            throw new ArgumentOutOfRangeException(nameof(segment), segment, $"The stream has {Segments(steps)} segments of {steps} steps.");
        _columns.AsSpan(start * Batch, n * Batch).CopyTo(inputs);
        _columns.AsSpan((start + 1) * Batch, n * Batch).CopyTo(targets);
        return n;
    }
}
