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
}
