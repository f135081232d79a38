using System.ComponentModel;

namespace FastRnn.Kernels;

/// <summary>Backward's carries of ∂L/∂(h, c) at the start of a layer's steps (generated code calls it).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class StateGradients
{
    /// <summary>Starts a carry of <paramref name="batch"/> rows of <paramref name="padded"/> floats: zero, or the caller's
    /// ∂L/∂(final state) from <paramref name="source"/> (a state's array) with each row's padding columns (from
    /// <paramref name="hidden"/> on) left at zero, so padded units never receive a gradient.</summary>
    public static void Load(float[]? source, Span<float> carry, int padded, int hidden, int batch)
    {
        carry = carry[..(batch * padded)];
        carry.Clear();
        if (source is null)
            return;
        if (source.Length < batch * padded)
            throw new ArgumentException($"The final-state gradient holds {source.Length} floats; {batch} rows need {batch * padded}.", nameof(source));
        for (int r = 0; r < batch; r++)
            source.AsSpan(r * padded, hidden).CopyTo(carry.Slice(r * padded, hidden));
    }

    /// <summary>Under per-row lengths a row's final state is its state after its own last real step, so its gradient
    /// joins the carry there: at the top of step <paramref name="step"/>, adds the rows of <paramref name="source"/> whose
    /// last real step it is to <paramref name="carry"/>, units [<paramref name="unitStart"/>, <paramref name="unitEnd"/>)
    /// (one thread's share; clipped to the real units).</summary>
    public static void Inject(ReadOnlySpan<float> source, Span<float> carry, int padded, int hidden, ReadOnlySpan<int> lengths, int step,
        int unitStart, int unitEnd)
    {
        int end = Math.Min(unitEnd, hidden);
        for (int r = 0; r < lengths.Length; r++)
        {
            if (lengths[r] - 1 != step || unitStart >= end)
                continue;
            var into = carry.Slice(r * padded + unitStart, end - unitStart);
            System.Numerics.Tensors.TensorPrimitives.Add(into, source.Slice(r * padded + unitStart, end - unitStart), into);
        }
    }
}
