using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FastRnn.Kernels;

/// <summary>
/// Dropout masks as pure functions of (seed, pass, site, layer, element index): a mask is regenerated in backward
/// instead of stored, and two runs with one seed draw the same masks whatever the order or thread of the draws.
/// <para>An element is kept when its 24-bit draw is at least <see cref="Threshold"/>(rate), so the keep probability
/// is 1 − round(rate·2²⁴)/2²⁴. The draw is two rounds of a 32-bit integer mix (the "lowbias32" constants) keyed by a
/// 64-bit key from <see cref="CounterRandom.Hash"/>; being 32-bit, it runs eight lanes at a time in Vector256.</para>
/// <para>tools/make_fixtures.py implements the same function to build the PyTorch references; the tests check that
/// its masks equal the ones a model exports.</para>
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
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
