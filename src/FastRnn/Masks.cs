using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FastRnn;

/// <summary>Where a mask is drawn. Part of every mask's key, so two sites never share draws.</summary>
public enum MaskSite
{
    /// <summary>Embedding dropout: one draw per vocabulary row.</summary>
    EmbeddingRows = 1,

    /// <summary>Dropout on a recurrent layer's input (the embedding, the features, or the layer below).</summary>
    LayerInput = 2,

    /// <summary>Dropout on the head's input (the top layer's hidden state).</summary>
    HeadInput = 3,

    /// <summary>Recurrent dropout: h(t−1) where it enters the recurrent product, one mask per sequence.</summary>
    Recurrent = 4,

    /// <summary>Zoneout of the hidden state: which units keep h(t−1) at a step.</summary>
    ZoneoutHidden = 5,

    /// <summary>Zoneout of an LSTM's cell state: which units keep c(t−1) at a step.</summary>
    ZoneoutCell = 6,

    /// <summary>Weight drop (DropConnect on weight_hh): one mask per training pass over the recurrent weights.</summary>
    WeightDrop = 7,

    /// <summary>Semeniuta's recurrent dropout: a mask on the candidate (the LSTM's g, the GRU's n), one per sequence.</summary>
    Candidate = 8,
}

/// <summary>
/// Dropout masks as pure functions of (seed, pass, site, layer, element index): a mask is regenerated in backward
/// instead of stored, and two runs with one seed draw the same masks whatever the order or thread of the draws.
/// <para>An element is kept when its 24-bit draw is at least <see cref="Threshold"/>(rate), so the keep probability
/// is 1 − round(rate·2²⁴)/2²⁴. The draw is two rounds of a 32-bit integer mix (the "lowbias32" constants) keyed by a
/// 64-bit key from <see cref="CounterRandom.Hash"/>; being 32-bit, it runs eight lanes at a time in Vector256.</para>
/// <para>tools/make_fixtures.py implements the same function to build the PyTorch references; the tests check that
/// its masks equal the ones a model exports.</para>
/// </summary>
public static class Masks
{
    /// <summary>The key of one site's masks in one training pass.</summary>
    public static ulong Key(ulong seed, ulong pass, MaskSite site, int layer) =>
        CounterRandom.Hash(seed, pass, ((ulong)site << 32) | (uint)layer);

    /// <summary>Draws below this value are dropped: round(rate·2²⁴).</summary>
    public static uint Threshold(float rate) => (uint)Math.Round(rate * 16777216.0);

    /// <summary>The 24-bit draw of element <paramref name="index"/> under <paramref name="key"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Draw(ulong key, uint index)
    {
        uint x = Mix(index ^ (uint)key);
        x = Mix(x + (uint)(key >> 32));
        return x >> 8;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Mix(uint x)
    {
        x ^= x >> 16;
        x *= 0x7FEB352Du;
        x ^= x >> 15;
        x *= 0x846CA68Bu;
        return x ^ (x >> 16);
    }

    /// <summary>Eight draws at once: true in a lane whose draw reaches the threshold (a kept element).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Kept(Vector256<uint> index, Vector256<uint> low, Vector256<uint> high, Vector256<int> limit) =>
        // Draws are below 2²⁴, so a signed comparison is exact (AVX2 has no unsigned one).
        Vector256.GreaterThanOrEqual(Vector256.ShiftRightLogical(Mix(Mix(index ^ low) + high), 8).AsInt32(), limit).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Mix(Vector256<uint> x)
    {
        x ^= Vector256.ShiftRightLogical(x, 16);
        x *= Vector256.Create(0x7FEB352Du);
        x ^= Vector256.ShiftRightLogical(x, 15);
        x *= Vector256.Create(0x846CA68Bu);
        return x ^ Vector256.ShiftRightLogical(x, 16);
    }

    /// <summary><c>y[k] = x[k]·m(first + k·stride)</c>, where m is <paramref name="scale"/> for a kept element and 0 for a
    /// dropped one. <paramref name="x"/> and <paramref name="y"/> may be the same span (backward scales a gradient in
    /// place). A stride other than 1 walks a column of a row-major matrix (a block of a weight matrix's units).</summary>
    public static void Multiply(ReadOnlySpan<float> x, Span<float> y, ulong key, uint first, uint threshold, float scale, uint stride = 1)
    {
        if (y.Length < x.Length)
            throw new ArgumentException($"The destination holds {y.Length} floats; the source has {x.Length}.", nameof(y));
        ref float source = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
        ref float destination = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(y);
        int k = 0;
        if (Vector256.IsHardwareAccelerated && x.Length >= Vector256<float>.Count)
        {
            var index = Vector256.Create(first) + Vector256.Create(0u, 1u, 2u, 3u, 4u, 5u, 6u, 7u) * stride;
            var low = Vector256.Create((uint)key);
            var high = Vector256.Create((uint)(key >> 32));
            var limit = Vector256.Create((int)threshold);
            var kept = Vector256.Create(scale);
            var step = Vector256.Create((uint)Vector256<float>.Count * stride);
            for (; k <= x.Length - Vector256<float>.Count; k += Vector256<float>.Count)
            {
                var multiplier = Vector256.ConditionalSelect(Kept(index, low, high, limit), kept, Vector256<float>.Zero);
                Vector256.StoreUnsafe(Vector256.LoadUnsafe(ref source, (nuint)k) * multiplier, ref destination, (nuint)k);
                index += step;
            }
        }
        for (; k < x.Length; k++)
            Unsafe.Add(ref destination, k) = Unsafe.Add(ref source, k) * (Draw(key, first + (uint)k * stride) >= threshold ? scale : 0f);
    }

    /// <summary><c>y[k] = keptValue</c> where element first + k is kept (its draw reaches the threshold) and
    /// <c>droppedValue</c> where it is not: a mask written out, for zoneout's κ.</summary>
    public static void Fill(Span<float> y, ulong key, uint first, uint threshold, float keptValue, float droppedValue)
    {
        ref float destination = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(y);
        int k = 0;
        if (Vector256.IsHardwareAccelerated && y.Length >= Vector256<float>.Count)
        {
            var index = Vector256.Create(first) + Vector256.Create(0u, 1u, 2u, 3u, 4u, 5u, 6u, 7u);
            var low = Vector256.Create((uint)key);
            var high = Vector256.Create((uint)(key >> 32));
            var limit = Vector256.Create((int)threshold);
            var kept = Vector256.Create(keptValue);
            var dropped = Vector256.Create(droppedValue);
            for (; k <= y.Length - Vector256<float>.Count; k += Vector256<float>.Count)
            {
                Vector256.StoreUnsafe(Vector256.ConditionalSelect(Kept(index, low, high, limit), kept, dropped), ref destination, (nuint)k);
                index += Vector256.Create((uint)Vector256<float>.Count);
            }
        }
        for (; k < y.Length; k++)
            Unsafe.Add(ref destination, k) = Draw(key, first + (uint)k) >= threshold ? keptValue : droppedValue;
    }

    /// <summary>Throws unless <paramref name="value"/> is a rate in [0, 1).</summary>
    public static float CheckRate(float value, string name) =>
        value is >= 0f and < 1f
            ? value
            : throw new ArgumentOutOfRangeException(name, value, $"{name} is a rate: it must be at least 0 and below 1.");
}

/// <summary>
/// One dropout site of a model for one forward pass: whether it drops at all (training mode and a rate above 0) and
/// the key, threshold and scale of its mask. The element index of row r, feature k is
/// <c>(r mod period)·width + k</c>: period = the batch for a locked (variational) mask, shared by every step, and
/// unbounded for a fresh mask per step.
/// </summary>
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
    public readonly void Apply(ReadOnlySpan<float> x, Span<float> y, int stride, int width, int rows, int period)
    {
        for (int r = 0; r < rows; r++)
            Masks.Multiply(x.Slice(r * stride, width), y.Slice(r * stride, width), _key, (uint)(r % period * width), _threshold, _scale);
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

    /// <summary>The multipliers of rows × width elements, as <see cref="Apply"/> uses them (a debug export).</summary>
    public readonly float[] Export(int width, int rows, int period)
    {
        var values = new float[rows * width];
        for (int i = 0; i < values.Length; i++)
            values[i] = Multiplier((uint)(i / width % period * width + i % width));
        return values;
    }
}

/// <summary>
/// One zoneout site of a model for one forward pass (Krueger et al. 2016): <c>h(t) = κ⊙h(t−1) + (1 − κ)⊙h̃(t)</c>,
/// where in training κ is 1 with probability <c>rate</c> (the unit keeps its previous value) and 0 otherwise, drawn
/// afresh for every step, and at inference κ = rate everywhere (the expectation). Element (r, k) of step t has index
/// <c>(t·batch + r)·width + k</c>.
/// </summary>
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
    public readonly void Fill(Span<float> kappa, int stride, int width, int rows, int firstRow)
    {
        for (int r = 0; r < rows; r++)
        {
            var row = kappa.Slice(r * stride, width);
            if (Random)
                // The draws below the threshold zone out: κ = 1 (keep h(t−1)) with probability rate.
                Masks.Fill(row, _key, (uint)((firstRow + r) * width), _threshold, 0f, 1f);
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
