using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FastRnn.Kernels;

/// <summary>
/// One zoneout site of a model for one forward pass (Krueger et al. 2016): <c>h(t) = κ⊙h(t−1) + (1 − κ)⊙h̃(t)</c>,
/// where in training κ is 1 with probability <c>rate</c> (the unit keeps its previous value) and 0 otherwise, drawn
/// afresh for every step, and at inference κ = rate everywhere (the expectation). Element (r, k) of step t has index
/// <c>(t·batch + r)·width + k</c>.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public struct ZoneoutSite
{
    private ulong _key;
    private uint _threshold;

    /// <summary>True when κ is not 0: a rate above 0, in training or at inference.</summary>
    public bool Active { readonly get; private set; }

    /// <summary>True when κ is random: training with a rate above 0.</summary>
    public bool Random { readonly get; private set; }

    public float Rate { readonly get; private set; }

    public void Begin(bool training, float rate, ulong seed, ulong pass, MaskSite site, int layer)
    {
        Active = rate > 0f;
        Random = training && Active;
        Rate = rate;
        _key = Masks.Key(seed, pass, site, layer);
        _threshold = Masks.Threshold(rate);
    }

    /// <summary>Writes κ for <paramref name="rows"/> rows of one step, whose first row is <paramref name="firstRow"/>
    /// of the sequence: kappa[r·stride + k] for k &lt; width (columns from width to stride are not touched).</summary>
    public readonly void Fill(Span<float> kappa, int stride, int width, int rows, int firstRow) =>
        Fill(kappa, stride, width, rows, firstRow, 0, width);

    /// <summary><see cref="Fill(Span{float}, int, int, int, int)"/> for the columns [<paramref name="columnStart"/>,
    /// <paramref name="columnEnd"/>) of each row only (clipped to width): one thread's units of a recurrence shared by
    /// blocks. Each draw depends on its element's index alone, so the columns get the same κ as in the whole-row call.</summary>
    public readonly void Fill(Span<float> kappa, int stride, int width, int rows, int firstRow, int columnStart, int columnEnd)
    {
        int end = Math.Min(columnEnd, width);
        if (columnStart >= end)
            return;
        for (int r = 0; r < rows; r++)
        {
            var row = kappa.Slice(r * stride + columnStart, end - columnStart);
            if (Random)
                // The draws below the threshold zone out: κ = 1 (keep h(t−1)) with probability rate.
                Masks.Fill(row, _key, (uint)((firstRow + r) * width + columnStart), _threshold, 0f, 1f);
            else
                row.Fill(Rate);
        }
    }

    /// <summary>κ at inference for a streaming step: <paramref name="rate"/> in the first width columns of each row.</summary>
    public static void FillExpected(Span<float> kappa, int stride, int width, int rows, float rate)
    {
        for (int r = 0; r < rows; r++)
            kappa.Slice(r * stride, width).Fill(rate);
    }

    /// <summary>The κ of rows × width elements (a debug export).</summary>
    public readonly float[] Export(int width, int rows)
    {
        var values = new float[rows * width];
        for (int r = 0; r < rows; r++)
            Fill(values.AsSpan(r * width, width), width, width, 1, r);
        return values;
    }
}
