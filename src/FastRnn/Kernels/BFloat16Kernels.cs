using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace FastRnn.Kernels;

/// <summary>bfloat16: the upper 16 bits of a float32 (its sign, all 8 exponent bits and 7 of its 23 fraction bits), so
/// widening one back is a shift and exact, and narrowing is a rounding of the fraction.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class BFloat16
{
    /// <summary>The bfloat16 nearest <paramref name="value"/>, ties to even (as PyTorch's <c>.to(torch.bfloat16)</c>):
    /// a value past the largest bfloat16 rounds to infinity, a NaN stays a (quiet) NaN of the same sign.</summary>
    public static ushort FromSingle(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if ((bits & 0x7FFF_FFFF) > 0x7F80_0000)
            return (ushort)((bits >> 16) | 0x0040);            // NaN: keep it one after the low bits are dropped
        uint bias = 0x7FFF + ((bits >> 16) & 1);               // below half rounds down, above up, half to the even one
        return (ushort)((bits + bias) >> 16);
    }

    /// <summary>The float32 a bfloat16 stands for (exact).</summary>
    public static float ToSingle(ushort value) => BitConverter.UInt32BitsToSingle((uint)value << 16);
}

/// <summary>
/// Products with a gate-interleaved weight matrix (<see cref="InterleavedShape"/>) held in bfloat16: half the bytes of
/// float32 for a product whose time is the time to read its weights (a batch-1 step). The weights of two consecutive
/// inputs share a 32-bit lane — input 2p in the low half, 2p + 1 in the high half — laid out as the float32 matrix is
/// with pairs of inputs in place of inputs: lane (block b, pair p, gate g, unit u) at <c>((b·Pairs + p)·Gates + g)·16 + u</c>.
/// One load of 16 lanes then gives both inputs' weights for a block of units: a shift makes the low input's float32
/// weights and a mask the high input's (there is no bfloat16 dot-product instruction in .NET 10), and the products and
/// their sums are float32.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class BFloat16Kernels
{
    private const int W = Block.Width;

    /// <summary>Pairs of inputs of a matrix of <paramref name="shape"/> (an odd last input pairs with a zero weight).</summary>
    public static int Pairs(InterleavedShape shape) => (shape.Inputs + 1) / 2;

    /// <summary>32-bit lanes of a packed matrix of <paramref name="shape"/>.</summary>
    public static int PackedLength(InterleavedShape shape) => shape.Blocks * Pairs(shape) * shape.Gates * W;

    /// <summary>Rounds the float32 matrix <paramref name="weights"/> of <paramref name="shape"/> to bfloat16 (nearest,
    /// ties to even) into <paramref name="packed"/>, two inputs per lane.</summary>
    public static void Pack(ReadOnlySpan<float> weights, InterleavedShape shape, Span<uint> packed)
    {
        if (weights.Length < shape.Length)
            throw new ArgumentException($"The weights hold {weights.Length} floats; a matrix of {shape} needs {shape.Length}.", nameof(weights));
        if (packed.Length < PackedLength(shape))
            throw new ArgumentException($"The packed matrix has {packed.Length} lanes; {shape} needs {PackedLength(shape)}.", nameof(packed));
        int inputs = shape.Inputs, gates = shape.Gates, pairs = Pairs(shape);
        for (int b = 0; b < shape.Blocks; b++)
            for (int p = 0; p < pairs; p++)
                for (int g = 0; g < gates; g++)
                    for (int u = 0; u < W; u++)
                    {
                        int k = 2 * p;
                        ushort low = BFloat16.FromSingle(weights[((b * inputs + k) * gates + g) * W + u]);
                        ushort high = k + 1 < inputs ? BFloat16.FromSingle(weights[((b * inputs + k + 1) * gates + g) * W + u]) : (ushort)0;
                        packed[((b * pairs + p) * gates + g) * W + u] = low | (uint)high << 16;
                    }
    }

    /// <summary><c>y[r, (b, g)] += Σ_k x[r, k]·w[b, k, g]</c> for every row, block and gate: the product of the float32
    /// inputs (<paramref name="rows"/> rows, <paramref name="xStride"/> apart) with the packed bfloat16 matrix, added to
    /// the output rows (<paramref name="yStride"/> apart, each <c>[block][gate][16]</c>). 512-bit vectors for
    /// <see cref="Block512"/>, two 256-bit halves per block for <see cref="Block256"/>.</summary>
    public static void MultiplyAdd<T>(ReadOnlySpan<float> x, int xStride, int rows, ReadOnlySpan<uint> packed, InterleavedShape shape,
        Span<float> y, int yStride)
        where T : struct, IBlock<T> =>
        MultiplyAdd<T>(x, xStride, rows, packed, shape, 0, shape.Gates, 0, shape.Blocks, y, yStride);

    /// <summary>The product for the gates [<paramref name="gateStart"/>, <paramref name="gateEnd"/>) of the blocks
    /// [<paramref name="blockStart"/>, <paramref name="blockEnd"/>) only (a classic GRU's gates apart, one thread's
    /// share of the units): each output as the whole product computes it. The blocks are the outer loop, so a block's
    /// weights are read from memory once and from the cache for every further row.</summary>
    public static void MultiplyAdd<T>(ReadOnlySpan<float> x, int xStride, int rows, ReadOnlySpan<uint> packed, InterleavedShape shape,
        int gateStart, int gateEnd, int blockStart, int blockEnd, Span<float> y, int yStride)
        where T : struct, IBlock<T>
    {
        int inputs = shape.Inputs, gates = shape.Gates, pairs = Pairs(shape);
        if (rows < 0 || (rows > 0 && (x.Length < (rows - 1) * xStride + inputs || y.Length < (rows - 1) * yStride + shape.RowLength)))
            throw new ArgumentException($"{rows} row(s) of {inputs} inputs and {shape.RowLength} outputs do not fit x ({x.Length} floats, stride {xStride}) and y ({y.Length}, stride {yStride}).");
        if (packed.Length < PackedLength(shape))
            throw new ArgumentException($"The packed matrix has {packed.Length} lanes; {shape} needs {PackedLength(shape)}.", nameof(packed));
        if ((uint)gateStart >= (uint)gateEnd || gateEnd > gates || (uint)blockStart > (uint)blockEnd || blockEnd > shape.Blocks)
            throw new ArgumentOutOfRangeException(nameof(gateStart), $"Gates [{gateStart}, {gateEnd}) of blocks [{blockStart}, {blockEnd}) are outside {shape}.");
        bool allGates = gateStart == 0 && gateEnd == gates && gates is 3 or 4;
        ref uint w0 = ref MemoryMarshal.GetReference(packed);
        ref float x0 = ref MemoryMarshal.GetReference(x);
        ref float y0 = ref MemoryMarshal.GetReference(y);
        for (int b = blockStart; b < blockEnd; b++)
        {
            ref uint block = ref Unsafe.Add(ref w0, b * pairs * gates * W);
            for (int r = 0; r < rows; r++)
            {
                ref float xr = ref Unsafe.Add(ref x0, r * xStride);
                ref float output = ref Unsafe.Add(ref y0, r * yStride + b * gates * W);
                if (allGates && typeof(T) == typeof(Block512) && r + 1 < rows)
                {
                    // two rows per pass: each lane loaded and widened once for both, each row's sums as Gates512 makes them
                    Gates512(ref xr, ref Unsafe.Add(ref xr, xStride), inputs, ref block, gates, ref output, ref Unsafe.Add(ref output, yStride));
                    r++;
                    continue;
                }
                if (allGates)
                {
                    // an LSTM's or GRU's block: every gate in one pass over its contiguous lanes
                    if (typeof(T) == typeof(Block512))
                        Gates512(ref xr, inputs, ref block, gates, ref output);
                    else
                        Gates256(ref xr, inputs, ref block, gates, ref output);
                    continue;
                }
                for (int g = gateStart; g < gateEnd; g++)
                {
                    // lane (b, p, g) for p = 0, 1, …: gates·16 lanes apart
                    ref uint column = ref Unsafe.Add(ref block, g * W);
                    if (typeof(T) == typeof(Block512))
                        Column512(ref xr, inputs, ref column, gates * W, ref Unsafe.Add(ref output, g * W));
                    else
                        Column256(ref xr, inputs, ref column, gates * W, ref Unsafe.Add(ref output, g * W));
                }
            }
        }
    }

    /// <summary>A block of 3 or 4 gates, 512-bit: each gate's low and high inputs in accumulators of their own (eight
    /// independent sums), the pair's lanes of every gate read in one contiguous run.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Gates512(ref float x, int inputs, ref uint block, int gates, ref float output)
    {
        var mask = Vector512.Create(0xFFFF_0000u);
        Vector512<float> l0 = default, l1 = default, l2 = default, l3 = default, h0 = default, h1 = default, h2 = default, h3 = default;
        bool four = gates == 4;
        int stride = gates * W, pairs = inputs / 2;
        ref uint lanes = ref block;
        for (int p = 0; p < pairs; p++)
        {
            var x0 = Vector512.Create(Unsafe.Add(ref x, 2 * p));
            var x1 = Vector512.Create(Unsafe.Add(ref x, 2 * p + 1));
            var a = Vector512.LoadUnsafe(ref lanes);
            var b = Vector512.LoadUnsafe(ref lanes, W);
            var c = Vector512.LoadUnsafe(ref lanes, 2 * W);
            l0 = Vector512.FusedMultiplyAdd(Vector512.ShiftLeft(a, 16).AsSingle(), x0, l0);
            h0 = Vector512.FusedMultiplyAdd((a & mask).AsSingle(), x1, h0);
            l1 = Vector512.FusedMultiplyAdd(Vector512.ShiftLeft(b, 16).AsSingle(), x0, l1);
            h1 = Vector512.FusedMultiplyAdd((b & mask).AsSingle(), x1, h1);
            l2 = Vector512.FusedMultiplyAdd(Vector512.ShiftLeft(c, 16).AsSingle(), x0, l2);
            h2 = Vector512.FusedMultiplyAdd((c & mask).AsSingle(), x1, h2);
            if (four)
            {
                var d = Vector512.LoadUnsafe(ref lanes, 3 * W);
                l3 = Vector512.FusedMultiplyAdd(Vector512.ShiftLeft(d, 16).AsSingle(), x0, l3);
                h3 = Vector512.FusedMultiplyAdd((d & mask).AsSingle(), x1, h3);
            }
            lanes = ref Unsafe.Add(ref lanes, stride);
        }
        if (inputs % 2 != 0)
        {
            // an odd last input: its pair's high half is a zero weight with no input
            var x0 = Vector512.Create(Unsafe.Add(ref x, inputs - 1));
            l0 = Vector512.FusedMultiplyAdd(Vector512.ShiftLeft(Vector512.LoadUnsafe(ref lanes), 16).AsSingle(), x0, l0);
            l1 = Vector512.FusedMultiplyAdd(Vector512.ShiftLeft(Vector512.LoadUnsafe(ref lanes, W), 16).AsSingle(), x0, l1);
            l2 = Vector512.FusedMultiplyAdd(Vector512.ShiftLeft(Vector512.LoadUnsafe(ref lanes, 2 * W), 16).AsSingle(), x0, l2);
            if (four)
                l3 = Vector512.FusedMultiplyAdd(Vector512.ShiftLeft(Vector512.LoadUnsafe(ref lanes, 3 * W), 16).AsSingle(), x0, l3);
        }
        (Vector512.LoadUnsafe(ref output) + (l0 + h0)).StoreUnsafe(ref output);
        (Vector512.LoadUnsafe(ref output, W) + (l1 + h1)).StoreUnsafe(ref output, W);
        (Vector512.LoadUnsafe(ref output, 2 * W) + (l2 + h2)).StoreUnsafe(ref output, 2 * W);
        if (four)
            (Vector512.LoadUnsafe(ref output, 3 * W) + (l3 + h3)).StoreUnsafe(ref output, 3 * W);
    }

    /// <summary><see cref="Gates512(ref float, int, ref uint, int, ref float)"/> for two rows at once: the same sums, in the
    /// same order, for each (sixteen accumulators), every lane loaded and widened once for both.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Gates512(ref float x, ref float x2, int inputs, ref uint block, int gates, ref float output, ref float output2)
    {
        var mask = Vector512.Create(0xFFFF_0000u);
        Vector512<float> l0 = default, l1 = default, l2 = default, l3 = default, h0 = default, h1 = default, h2 = default, h3 = default;
        Vector512<float> m0 = default, m1 = default, m2 = default, m3 = default, k0 = default, k1 = default, k2 = default, k3 = default;
        bool four = gates == 4;
        int stride = gates * W, pairs = inputs / 2;
        ref uint lanes = ref block;
        for (int p = 0; p < pairs; p++)
        {
            var x0 = Vector512.Create(Unsafe.Add(ref x, 2 * p));
            var x1 = Vector512.Create(Unsafe.Add(ref x, 2 * p + 1));
            var y0 = Vector512.Create(Unsafe.Add(ref x2, 2 * p));
            var y1 = Vector512.Create(Unsafe.Add(ref x2, 2 * p + 1));
            var a = Vector512.LoadUnsafe(ref lanes);
            var low = Vector512.ShiftLeft(a, 16).AsSingle();
            var high = (a & mask).AsSingle();
            l0 = Vector512.FusedMultiplyAdd(low, x0, l0);
            h0 = Vector512.FusedMultiplyAdd(high, x1, h0);
            m0 = Vector512.FusedMultiplyAdd(low, y0, m0);
            k0 = Vector512.FusedMultiplyAdd(high, y1, k0);
            a = Vector512.LoadUnsafe(ref lanes, W);
            low = Vector512.ShiftLeft(a, 16).AsSingle();
            high = (a & mask).AsSingle();
            l1 = Vector512.FusedMultiplyAdd(low, x0, l1);
            h1 = Vector512.FusedMultiplyAdd(high, x1, h1);
            m1 = Vector512.FusedMultiplyAdd(low, y0, m1);
            k1 = Vector512.FusedMultiplyAdd(high, y1, k1);
            a = Vector512.LoadUnsafe(ref lanes, 2 * W);
            low = Vector512.ShiftLeft(a, 16).AsSingle();
            high = (a & mask).AsSingle();
            l2 = Vector512.FusedMultiplyAdd(low, x0, l2);
            h2 = Vector512.FusedMultiplyAdd(high, x1, h2);
            m2 = Vector512.FusedMultiplyAdd(low, y0, m2);
            k2 = Vector512.FusedMultiplyAdd(high, y1, k2);
            if (four)
            {
                a = Vector512.LoadUnsafe(ref lanes, 3 * W);
                low = Vector512.ShiftLeft(a, 16).AsSingle();
                high = (a & mask).AsSingle();
                l3 = Vector512.FusedMultiplyAdd(low, x0, l3);
                h3 = Vector512.FusedMultiplyAdd(high, x1, h3);
                m3 = Vector512.FusedMultiplyAdd(low, y0, m3);
                k3 = Vector512.FusedMultiplyAdd(high, y1, k3);
            }
            lanes = ref Unsafe.Add(ref lanes, stride);
        }
        if (inputs % 2 != 0)
        {
            var x0 = Vector512.Create(Unsafe.Add(ref x, inputs - 1));
            var y0 = Vector512.Create(Unsafe.Add(ref x2, inputs - 1));
            var low = Vector512.ShiftLeft(Vector512.LoadUnsafe(ref lanes), 16).AsSingle();
            (l0, m0) = (Vector512.FusedMultiplyAdd(low, x0, l0), Vector512.FusedMultiplyAdd(low, y0, m0));
            low = Vector512.ShiftLeft(Vector512.LoadUnsafe(ref lanes, W), 16).AsSingle();
            (l1, m1) = (Vector512.FusedMultiplyAdd(low, x0, l1), Vector512.FusedMultiplyAdd(low, y0, m1));
            low = Vector512.ShiftLeft(Vector512.LoadUnsafe(ref lanes, 2 * W), 16).AsSingle();
            (l2, m2) = (Vector512.FusedMultiplyAdd(low, x0, l2), Vector512.FusedMultiplyAdd(low, y0, m2));
            if (four)
            {
                low = Vector512.ShiftLeft(Vector512.LoadUnsafe(ref lanes, 3 * W), 16).AsSingle();
                (l3, m3) = (Vector512.FusedMultiplyAdd(low, x0, l3), Vector512.FusedMultiplyAdd(low, y0, m3));
            }
        }
        (Vector512.LoadUnsafe(ref output) + (l0 + h0)).StoreUnsafe(ref output);
        (Vector512.LoadUnsafe(ref output, W) + (l1 + h1)).StoreUnsafe(ref output, W);
        (Vector512.LoadUnsafe(ref output, 2 * W) + (l2 + h2)).StoreUnsafe(ref output, 2 * W);
        (Vector512.LoadUnsafe(ref output2) + (m0 + k0)).StoreUnsafe(ref output2);
        (Vector512.LoadUnsafe(ref output2, W) + (m1 + k1)).StoreUnsafe(ref output2, W);
        (Vector512.LoadUnsafe(ref output2, 2 * W) + (m2 + k2)).StoreUnsafe(ref output2, 2 * W);
        if (four)
        {
            (Vector512.LoadUnsafe(ref output, 3 * W) + (l3 + h3)).StoreUnsafe(ref output, 3 * W);
            (Vector512.LoadUnsafe(ref output2, 3 * W) + (m3 + k3)).StoreUnsafe(ref output2, 3 * W);
        }
    }

    /// <summary>A block of 3 or 4 gates, 256-bit: each gate's two halves in accumulators of their own, the pair's low and
    /// high inputs both added into them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Gates256(ref float x, int inputs, ref uint block, int gates, ref float output)
    {
        var mask = Vector256.Create(0xFFFF_0000u);
        Vector256<float> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default;
        bool four = gates == 4;
        int stride = gates * W, pairs = (inputs + 1) / 2;
        ref uint lanes = ref block;
        for (int p = 0; p < pairs; p++)
        {
            // an odd last input pairs with a zero weight: its partner input is taken as 0
            var x0 = Vector256.Create(Unsafe.Add(ref x, 2 * p));
            var x1 = Vector256.Create(2 * p + 1 < inputs ? Unsafe.Add(ref x, 2 * p + 1) : 0f);
            Pair(ref lanes, 0, x0, x1, mask, ref a0, ref b0);
            Pair(ref lanes, W, x0, x1, mask, ref a1, ref b1);
            Pair(ref lanes, 2 * W, x0, x1, mask, ref a2, ref b2);
            if (four)
                Pair(ref lanes, 3 * W, x0, x1, mask, ref a3, ref b3);
            lanes = ref Unsafe.Add(ref lanes, stride);
        }
        Add(ref output, 0, a0, b0);
        Add(ref output, W, a1, b1);
        Add(ref output, 2 * W, a2, b2);
        if (four)
            Add(ref output, 3 * W, a3, b3);
    }

    /// <summary>One gate's 16 lanes of a pair, as two 256-bit halves: low input then high input into each half's sum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pair(ref uint lanes, int at, Vector256<float> x0, Vector256<float> x1, Vector256<uint> mask, ref Vector256<float> first, ref Vector256<float> second)
    {
        var a = Vector256.LoadUnsafe(ref lanes, (nuint)at);
        var b = Vector256.LoadUnsafe(ref lanes, (nuint)(at + 8));
        first = Vector256.FusedMultiplyAdd((a & mask).AsSingle(), x1, Vector256.FusedMultiplyAdd(Vector256.ShiftLeft(a, 16).AsSingle(), x0, first));
        second = Vector256.FusedMultiplyAdd((b & mask).AsSingle(), x1, Vector256.FusedMultiplyAdd(Vector256.ShiftLeft(b, 16).AsSingle(), x0, second));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add(ref float output, int at, Vector256<float> first, Vector256<float> second)
    {
        (Vector256.LoadUnsafe(ref output, (nuint)at) + first).StoreUnsafe(ref output, (nuint)at);
        (Vector256.LoadUnsafe(ref output, (nuint)(at + 8)) + second).StoreUnsafe(ref output, (nuint)(at + 8));
    }

    // Both inputs of a lane: the low one's float32 is the lane shifted up, the high one's the lane with its low half cleared.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Column512(ref float x, int inputs, ref uint column, int stride, ref float output)
    {
        Vector512<float> low = Vector512<float>.Zero, high = Vector512<float>.Zero;
        var mask = Vector512.Create(0xFFFF_0000u);
        int k = 0;
        for (; k + 2 <= inputs; k += 2)
        {
            var lanes = Vector512.LoadUnsafe(ref Unsafe.Add(ref column, k / 2 * stride));
            low = Vector512.FusedMultiplyAdd(Vector512.ShiftLeft(lanes, 16).AsSingle(), Vector512.Create(Unsafe.Add(ref x, k)), low);
            high = Vector512.FusedMultiplyAdd((lanes & mask).AsSingle(), Vector512.Create(Unsafe.Add(ref x, k + 1)), high);
        }
        if (k < inputs)     // an odd last input: its pair's high half is a zero weight with no input
            low = Vector512.FusedMultiplyAdd(Vector512.ShiftLeft(Vector512.LoadUnsafe(ref Unsafe.Add(ref column, k / 2 * stride)), 16).AsSingle(),
                Vector512.Create(Unsafe.Add(ref x, k)), low);
        (Vector512.LoadUnsafe(ref output) + (low + high)).StoreUnsafe(ref output);
    }

    /// <summary>One gate's 16 lanes as two 256-bit halves, each pair's low then high input into the half's one sum: the
    /// order <see cref="Gates256"/> keeps, so a gate computed alone (a range of gates) has the same bits as in a block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Column256(ref float x, int inputs, ref uint column, int stride, ref float output)
    {
        Vector256<float> first = Vector256<float>.Zero, second = Vector256<float>.Zero;
        var mask = Vector256.Create(0xFFFF_0000u);
        int pairs = (inputs + 1) / 2;
        for (int p = 0; p < pairs; p++)
        {
            var x0 = Vector256.Create(Unsafe.Add(ref x, 2 * p));
            var x1 = Vector256.Create(2 * p + 1 < inputs ? Unsafe.Add(ref x, 2 * p + 1) : 0f);
            Pair(ref Unsafe.Add(ref column, p * stride), 0, x0, x1, mask, ref first, ref second);
        }
        Add(ref output, 0, first, second);
    }
}
