using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FastRnn.Kernels;

/// <summary>
/// One dropout site of a model for one forward pass: whether it drops at all (training mode and a rate above 0) and
/// the key, threshold and scale of its mask. The element index of row r, feature k is
/// <c>(r mod period)·width + k</c>: period = the batch for a locked (variational) mask, shared by every step, and
/// unbounded for a fresh mask per step.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public struct DropoutSite
{
    private ulong _key;
    private uint _threshold;
    private float _scale;

    /// <summary>True when this pass drops: the masks apply in forward and to the gradients in backward.</summary>
    public bool Active { readonly get; private set; }

    /// <summary>Sets the site up for a pass: active when <paramref name="training"/> and the rate is above 0.</summary>
    public void Begin(bool training, float rate, ulong seed, ulong pass, MaskSite site, int layer)
    {
        Active = training && rate > 0f;
        _key = Masks.Key(seed, pass, site, layer);
        _threshold = Masks.Threshold(rate);
        _scale = Active ? 1f / (1f - rate) : 1f;
    }

    /// <summary>The multiplier of element <paramref name="index"/>: 1/(1 − rate) if kept, 0 if dropped (1 when inactive).</summary>
    public readonly float Multiplier(uint index) =>
        !Active ? 1f : Masks.Draw(_key, index) >= _threshold ? _scale : 0f;

    /// <summary>For r &lt; rows and k &lt; width: <c>y[r·stride + k] = x[r·stride + k]·m((r mod period)·width + k)</c>.
    /// Columns from width to stride are not touched. x and y may be the same.</summary>
    public readonly void Apply(ReadOnlySpan<float> x, Span<float> y, int stride, int width, int rows, int period) =>
        Apply(x, y, stride, width, rows, period, 0, width);

    /// <summary><see cref="Apply(ReadOnlySpan{float}, Span{float}, int, int, int, int)"/> for the columns
    /// [<paramref name="columnStart"/>, <paramref name="columnEnd"/>) of each row only (clipped to width): one thread's
    /// units of a recurrence shared by blocks. Each element's multiplier depends on its index alone, so the columns
    /// get the same bits as in the whole-row call.</summary>
    public readonly void Apply(ReadOnlySpan<float> x, Span<float> y, int stride, int width, int rows, int period, int columnStart, int columnEnd)
    {
        int end = Math.Min(columnEnd, width);
        if (columnStart >= end)
            return;
        for (int r = 0; r < rows; r++)
            Masks.Multiply(x.Slice(r * stride + columnStart, end - columnStart), y.Slice(r * stride + columnStart, end - columnStart),
                _key, (uint)(r % period * width + columnStart), _threshold, _scale);
    }

    /// <summary>Writes the multipliers of rows × width elements, a row at a time: m[r·stride + k] for element index
    /// r·width + k (1 everywhere when inactive). For a mask kept for the whole sequence, rows = the batch.</summary>
    public readonly void FillRows(Span<float> multipliers, int stride, int width, int rows)
    {
        for (int r = 0; r < rows; r++)
        {
            var row = multipliers.Slice(r * stride, width);
            if (Active)
                Masks.Fill(row, _key, (uint)(r * width), _threshold, _scale, 0f);
            else
                row.Fill(1f);
        }
    }

    /// <summary>Weight drop: <c>y = w⊙M</c> for a weight matrix in the gate-interleaved layout, where element (row, column)
    /// of its PyTorch form — row = gate·units + unit, [gates·units, inputs] — has index row·inputs + column. w and y
    /// may be the same (backward masks a weight gradient in place).</summary>
    public readonly void ApplyInterleaved(ReadOnlySpan<float> w, Span<float> y, InterleavedShape shape, int units)
    {
        int at = 0;
        for (int b = 0; b < shape.Blocks; b++)
            for (int k = 0; k < shape.Inputs; k++)
                for (int g = 0; g < shape.Gates; g++, at += Block.Width)
                {
                    // The 16 lanes are units 16b … 16b + 15 of gate g: rows g·units + 16b + lane, so a stride of one row.
                    // Padding lanes (unit ≥ units) hold zero weights and stay zero whatever their draw.
                    uint first = (uint)((g * units + b * Block.Width) * shape.Inputs + k);
                    Masks.Multiply(w.Slice(at, Block.Width), y.Slice(at, Block.Width), _key, first, _threshold, _scale, (uint)shape.Inputs);
                }
    }

    /// <summary>The multipliers of a [rows, columns] PyTorch-layout weight matrix, as <see cref="ApplyInterleaved"/> uses
    /// them (a debug export).</summary>
    public readonly float[] ExportMatrix(int rows, int columns)
    {
        var values = new float[rows * columns];
        for (int i = 0; i < values.Length; i++)
            values[i] = Multiplier((uint)i);
        return values;
    }

    /// <summary>The multipliers of rows × width elements, as <see cref="Apply(ReadOnlySpan{float}, Span{float}, int, int, int, int)"/> uses them (a debug export).</summary>
    public readonly float[] Export(int width, int rows, int period)
    {
        var values = new float[rows * width];
        for (int i = 0; i < values.Length; i++)
            values[i] = Multiplier((uint)(i / width % period * width + i % width));
        return values;
    }
}
