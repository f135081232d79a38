using System.ComponentModel;

namespace FastRnn.Kernels;

/// <summary>
/// The moves a bidirectional layer makes around its two directions (generated code calls them). The reverse direction
/// runs the ordinary recurrence over each row's steps taken backwards: its step s of row r is step
/// <c>rev(s) = length − 1 − s</c> of the sequence while s is below the row's length, and step s itself after it (the
/// padding stays where it is, after the real steps, as in PyTorch's packed sequences). <c>rev</c> is its own inverse,
/// so one pair of moves serves both ways: reversing rows in place, and joining or splitting the two directions'
/// outputs <c>[h_forward(t), h_reverse(t)]</c> in the sequence's own order.
/// All buffers are time-major: row <c>t·batch + r</c> is step t of sequence r.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class Directions
{
    /// <summary>Step <paramref name="step"/> of a row of <paramref name="length"/> real steps, taken backwards.</summary>
    public static int Reversed(int step, int length) => step < length ? length - 1 - step : step;

    /// <summary>Reverses each row's real steps of a time-major buffer in place: rows of <paramref name="width"/> floats
    /// at a stride of <paramref name="width"/>; <paramref name="lengths"/> empty means every row has all
    /// <paramref name="steps"/>.</summary>
    public static void ReverseSteps(Span<float> rows, int width, int batch, int steps, ReadOnlySpan<int> lengths)
    {
        CheckLengths(lengths, batch);
        if (rows.Length < steps * batch * width)
            throw new ArgumentException($"{steps} steps × {batch} rows × {width} need {steps * batch * width} floats; the buffer has {rows.Length}.", nameof(rows));
        for (int r = 0; r < batch; r++)
        {
            int length = lengths.IsEmpty ? steps : lengths[r];
            for (int s = 0; s < length / 2; s++)
            {
                var a = rows.Slice((s * batch + r) * width, width);
                var b = rows.Slice(((length - 1 - s) * batch + r) * width, width);
                for (int i = 0; i < width; i++)
                    (a[i], b[i]) = (b[i], a[i]);
            }
        }
    }

    /// <summary>The layer's output in the sequence's order: row t·batch + r of <paramref name="joined"/> (stride
    /// <paramref name="stride"/>) gets h_forward(t) in its first <paramref name="hidden"/> floats and the reverse
    /// direction's h at step t (its own step rev(t)) in the next <paramref name="hidden"/>. The directions' buffers
    /// hold their h(0…) at a stride of <paramref name="padded"/> (the slots after the initial state).</summary>
    public static void Join(ReadOnlySpan<float> forward, ReadOnlySpan<float> reverse, Span<float> joined, int hidden, int padded,
        int stride, int batch, int steps, ReadOnlySpan<int> lengths)
    {
        CheckLengths(lengths, batch);
        for (int t = 0; t < steps; t++)
            for (int r = 0; r < batch; r++)
            {
                int s = Reversed(t, lengths.IsEmpty ? steps : lengths[r]);
                var into = joined.Slice((t * batch + r) * stride, 2 * hidden);
                forward.Slice((t * batch + r) * padded, hidden).CopyTo(into);
                reverse.Slice((s * batch + r) * padded, hidden).CopyTo(into[hidden..]);
            }
    }

    /// <summary>Join's backward: ∂L/∂(joined output) into each direction's ∂L/∂h, the reverse direction's in its own
    /// step order; both written whole (a row's padding columns, from <paramref name="hidden"/> to
    /// <paramref name="padded"/>, zero).</summary>
    public static void Split(ReadOnlySpan<float> joined, Span<float> forward, Span<float> reverse, int hidden, int padded,
        int stride, int batch, int steps, ReadOnlySpan<int> lengths)
    {
        CheckLengths(lengths, batch);
        for (int t = 0; t < steps; t++)
            for (int r = 0; r < batch; r++)
            {
                int s = Reversed(t, lengths.IsEmpty ? steps : lengths[r]);
                var from = joined.Slice((t * batch + r) * stride, 2 * hidden);
                var f = forward.Slice((t * batch + r) * padded, padded);
                var b = reverse.Slice((s * batch + r) * padded, padded);
                from[..hidden].CopyTo(f);
                f[hidden..].Clear();
                from[hidden..].CopyTo(b);
                b[hidden..].Clear();
            }
    }

    /// <summary>What a last-step head reads from a bidirectional top layer: for each row, the forward direction at the
    /// row's last real step and the reverse direction after it has read the whole row (its output at step 0), PyTorch's
    /// <c>cat(h_n[-2], h_n[-1])</c>; rows of <paramref name="stride"/> floats into <paramref name="destination"/>.</summary>
    public static void GatherLast(ReadOnlySpan<float> joined, Span<float> destination, int hidden, int stride, int batch, int steps,
        ReadOnlySpan<int> lengths)
    {
        CheckLengths(lengths, batch);
        for (int r = 0; r < batch; r++)
        {
            int last = (lengths.IsEmpty ? steps : lengths[r]) - 1;
            var into = destination.Slice(r * stride, 2 * hidden);
            joined.Slice((last * batch + r) * stride, hidden).CopyTo(into);
            joined.Slice(r * stride + hidden, hidden).CopyTo(into[hidden..]);
        }
    }

    /// <summary>GatherLast's backward: each row's gradient into the two rows it was read from, in a
    /// <paramref name="joined"/> gradient cleared before.</summary>
    public static void ScatterLast(ReadOnlySpan<float> rows, Span<float> joined, int hidden, int stride, int batch, int steps,
        ReadOnlySpan<int> lengths)
    {
        CheckLengths(lengths, batch);
        for (int r = 0; r < batch; r++)
        {
            int last = (lengths.IsEmpty ? steps : lengths[r]) - 1;
            var from = rows.Slice(r * stride, 2 * hidden);
            from[..hidden].CopyTo(joined.Slice((last * batch + r) * stride, hidden));
            from[hidden..].CopyTo(joined.Slice(r * stride + hidden, hidden));
        }
    }

    private static void CheckLengths(ReadOnlySpan<int> lengths, int batch)
    {
        if (!lengths.IsEmpty && lengths.Length != batch)
            throw new ArgumentException($"Expected {batch} lengths (one per row); got {lengths.Length}.", nameof(lengths));
    }
}
