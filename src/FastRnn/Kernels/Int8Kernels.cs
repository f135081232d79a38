using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FastRnn.Kernels;

/// <summary>
/// Products with a gate-interleaved weight matrix (<see cref="InterleavedShape"/>) quantized to int8, a quarter of the
/// bytes of float32. Weights: symmetric per output row (one unit's gate), <c>q = round(w / s)</c> in [−127, 127] with
/// <c>s = max|w| / 127</c>, ties to even. Inputs: quantized the same way per row of x as they come (dynamic, as ONNX
/// Runtime's DynamicQuantizeLSTM does), then offset by 128 to the unsigned bytes VPDPBUSD multiplies. The products sum in
/// int32, exactly; the offset comes back out through each output row's sum of weights, <c>Σ(q_x + 128)·q_w − 128·Σq_w</c>,
/// and the result is scaled back to float32 (<c>s_x·s_w</c>) and added to y. The weights of four consecutive inputs
/// share a 32-bit lane, laid out as the float32 matrix with quads of inputs in place of inputs: lane (block b, quad q,
/// gate g, unit u) at <c>((b·Quads + q)·Gates + g)·16 + u</c>, so one broadcast of four input bytes multiplies a block
/// of units' weights in one instruction.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class Int8Kernels
{
    private const int W = Block.Width;

    /// <summary>True where AVX-VNNI's 256-bit VPDPBUSD runs (the default path); else AVX2's VPMADDWD on widened values.</summary>
    public static bool HasVnni => AvxVnni.IsSupported;

    /// <summary>Quads of inputs of a matrix of <paramref name="shape"/> (the last one padded with zero weights).</summary>
    public static int Quads(InterleavedShape shape) => (shape.Inputs + 3) / 4;

    /// <summary>32-bit lanes of a packed matrix of <paramref name="shape"/>.</summary>
    public static int PackedLength(InterleavedShape shape) => shape.Blocks * Quads(shape) * shape.Gates * W;

    /// <summary>Bytes of scratch a row of inputs takes quantized: its quads.</summary>
    public static int InputScratchLength(InterleavedShape shape) => 4 * Quads(shape);

    /// <summary>Bytes of scratch a product of <paramref name="rows"/> rows takes: each row's scale and quantized inputs.</summary>
    public static int ScratchLength(InterleavedShape shape, int rows) => rows * (sizeof(float) + InputScratchLength(shape));

    /// <summary>Quantizes the float32 matrix <paramref name="weights"/> of <paramref name="shape"/>: the int8 weights into
    /// <paramref name="packed"/>, each output row's scale into <paramref name="scales"/> and its sum of int8 weights into
    /// <paramref name="sums"/> (both as an output row, <c>[block][gate][16]</c>; a row of zeros has scale 0).</summary>
    public static void Quantize(ReadOnlySpan<float> weights, InterleavedShape shape, Span<int> packed, Span<float> scales, Span<int> sums)
    {
        if (weights.Length < shape.Length)
            throw new ArgumentException($"The weights hold {weights.Length} floats; a matrix of {shape} needs {shape.Length}.", nameof(weights));
        if (packed.Length < PackedLength(shape) || scales.Length < shape.RowLength || sums.Length < shape.RowLength)
            throw new ArgumentException($"A quantized matrix of {shape} needs {PackedLength(shape)} lanes and {shape.RowLength} scales and sums; got {packed.Length}, {scales.Length}, {sums.Length}.");
        int inputs = shape.Inputs, gates = shape.Gates, quads = Quads(shape);
        for (int b = 0; b < shape.Blocks; b++)
            for (int g = 0; g < gates; g++)
                for (int u = 0; u < W; u++)
                {
                    float largest = 0;
                    for (int k = 0; k < inputs; k++)
                        largest = MathF.Max(largest, MathF.Abs(weights[((b * inputs + k) * gates + g) * W + u]));
                    if (!float.IsFinite(largest))
                        throw new ArgumentException($"Weight row (block {b}, gate {g}, unit {u}) holds a value that is not finite.", nameof(weights));
                    float scale = largest / 127f;
                    int row = (b * gates + g) * W + u, sum = 0;
                    for (int q = 0; q < quads; q++)
                    {
                        uint lane = 0;
                        for (int i = 0; i < 4; i++)
                        {
                            int k = 4 * q + i;
                            int value = k < inputs && scale > 0 ? Quantize(weights[((b * inputs + k) * gates + g) * W + u], scale) : 0;
                            sum += value;
                            lane |= (uint)(byte)(sbyte)value << (8 * i);
                        }
                        packed[((b * quads + q) * gates + g) * W + u] = (int)lane;
                    }
                    scales[row] = scale;
                    sums[row] = sum;
                }
    }

    /// <summary>Quantizes one row of <paramref name="inputs"/> values to the unsigned bytes the product reads,
    /// <c>round(x / s) + 128</c>, padding its last quad with 128 (zero); returns the scale <c>s = max|x| / 127</c>
    /// (0 for a row of zeros, which then adds nothing; not finite for a row with a value that is not, whose bytes are
    /// then all 128). Eight values a vector, the same bits as one at a time: the division is IEEE's either way, the
    /// rounding ties to even in both and a maximum does not depend on its order.</summary>
    public static float QuantizeInput(ReadOnlySpan<float> x, int inputs, Span<byte> quantized)
    {
        int padded = (inputs + 3) / 4 * 4;
        x = x[..inputs];
        quantized = quantized[..padded];
        float scale = LargestMagnitude(x) / 127f;
        int k = 0;
        if (scale > 0 && float.IsFinite(scale) && Vector256.IsHardwareAccelerated)
        {
            ref float from = ref MemoryMarshal.GetReference(x);
            ref byte to = ref MemoryMarshal.GetReference(quantized);
            var divisor = Vector256.Create(scale);
            for (; k + 32 <= inputs; k += 32)
            {
                var low = Vector256.Narrow(QuantizeEight(ref from, k, divisor), QuantizeEight(ref from, k + 8, divisor));
                var high = Vector256.Narrow(QuantizeEight(ref from, k + 16, divisor), QuantizeEight(ref from, k + 24, divisor));
                Vector256.Narrow(low, high).StoreUnsafe(ref to, (nuint)k);
            }
        }
        for (; k < padded; k++)
            quantized[k] = (byte)((k < inputs && scale > 0 ? Quantize(x[k], scale) : 0) + 128);
        return scale;
    }

    /// <summary>Eight inputs from <paramref name="at"/> as <c>round(x / s) + 128</c> in [1, 255].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> QuantizeEight(ref float x, int at, Vector256<float> scale)
    {
        var q = Vector256.Round(Vector256.LoadUnsafe(ref x, (nuint)at) / scale);
        q = Vector256.Min(Vector256.Max(q, Vector256.Create(-127f)), Vector256.Create(127f));
        return Vector256.ConvertToInt32(q + Vector256.Create(128f)).AsUInt32();
    }

    /// <summary>max |x| over <paramref name="x"/> (0 when empty), NaN when any value is NaN (as a run of
    /// <see cref="MathF.Max(float, float)"/> gives).</summary>
    private static float LargestMagnitude(ReadOnlySpan<float> x)
    {
        float largest = 0;
        int k = 0;
        if (Vector256.IsHardwareAccelerated && x.Length >= 8)
        {
            ref float from = ref MemoryMarshal.GetReference(x);
            // Vector256.Max propagates NaN, as MathF.Max does
            var a = Vector256<float>.Zero;
            var b = Vector256<float>.Zero;
            for (; k + 16 <= x.Length; k += 16)
            {
                a = Vector256.Max(a, Vector256.Abs(Vector256.LoadUnsafe(ref from, (nuint)k)));
                b = Vector256.Max(b, Vector256.Abs(Vector256.LoadUnsafe(ref from, (nuint)(k + 8))));
            }
            for (; k + 8 <= x.Length; k += 8)
                a = Vector256.Max(a, Vector256.Abs(Vector256.LoadUnsafe(ref from, (nuint)k)));
            a = Vector256.Max(a, b);
            for (int i = 0; i < Vector256<float>.Count; i++)
                largest = MathF.Max(largest, a[i]);
        }
        for (; k < x.Length; k++)
            largest = MathF.Max(largest, MathF.Abs(x[k]));
        return largest;
    }

    /// <summary>round(value / scale), ties to even, within [−127, 127].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Quantize(float value, float scale) => (int)Math.Clamp(MathF.Round(value / scale), -127f, 127f);

    /// <summary><c>y[r, (b, g)] += s_x(r)·s_w(b, g)·Σ_k q_x[r, k]·q_w[b, k, g]</c> for every row, block and gate: the
    /// float32 inputs (<paramref name="rows"/> rows, <paramref name="xStride"/> apart) quantized row by row into
    /// <paramref name="scratch"/> (<see cref="ScratchLength"/> bytes), times the quantized matrix, added to the
    /// output rows (<paramref name="yStride"/> apart, each <c>[block][gate][16]</c>). <paramref name="vnni"/> takes
    /// AVX-VNNI's VPDPBUSD (where <see cref="HasVnni"/>), else AVX2's VPMADDWD on widened values: the same integers.
    /// A row with a value that is not finite gives non-finite outputs (its scale is not finite).</summary>
    public static void MultiplyAdd(ReadOnlySpan<float> x, int xStride, int rows, ReadOnlySpan<int> packed, ReadOnlySpan<float> scales,
        ReadOnlySpan<int> sums, InterleavedShape shape, Span<byte> scratch, Span<float> y, int yStride, bool vnni) =>
        MultiplyAdd(x, xStride, rows, packed, scales, sums, shape, 0, shape.Gates, 0, shape.Blocks, scratch, y, yStride, vnni);

    /// <summary>The product for the gates [<paramref name="gateStart"/>, <paramref name="gateEnd"/>) of the blocks
    /// [<paramref name="blockStart"/>, <paramref name="blockEnd"/>) only (a classic GRU's gates apart, one thread's
    /// share of the units): each output as the whole product computes it. The blocks are the outer loop, so a block's
    /// weights are read from memory once and from the cache for every further row.</summary>
    public static void MultiplyAdd(ReadOnlySpan<float> x, int xStride, int rows, ReadOnlySpan<int> packed, ReadOnlySpan<float> scales,
        ReadOnlySpan<int> sums, InterleavedShape shape, int gateStart, int gateEnd, int blockStart, int blockEnd,
        Span<byte> scratch, Span<float> y, int yStride, bool vnni)
    {
        int inputs = shape.Inputs, gates = shape.Gates, quads = Quads(shape), rowBytes = InputScratchLength(shape);
        if (rows < 0 || (rows > 0 && (x.Length < (rows - 1) * xStride + inputs || y.Length < (rows - 1) * yStride + shape.RowLength)))
            throw new ArgumentException($"{rows} row(s) of {inputs} inputs and {shape.RowLength} outputs do not fit x ({x.Length} floats, stride {xStride}) and y ({y.Length}, stride {yStride}).");
        if (packed.Length < PackedLength(shape) || scales.Length < shape.RowLength || sums.Length < shape.RowLength || scratch.Length < ScratchLength(shape, rows))
            throw new ArgumentException($"A quantized matrix of {shape} needs {PackedLength(shape)} lanes, {shape.RowLength} scales and sums and, for {rows} row(s), {ScratchLength(shape, rows)} bytes of scratch.");
        if ((uint)gateStart >= (uint)gateEnd || gateEnd > gates || (uint)blockStart > (uint)blockEnd || blockEnd > shape.Blocks)
            throw new ArgumentOutOfRangeException(nameof(gateStart), $"Gates [{gateStart}, {gateEnd}) of blocks [{blockStart}, {blockEnd}) are outside {shape}.");
        if (vnni && !AvxVnni.IsSupported)
            throw new PlatformNotSupportedException("This processor has no AVX-VNNI.");
        if (!Avx2.IsSupported)
            throw new PlatformNotSupportedException("The int8 kernels need AVX2.");
        // every row's scale, then its quantized inputs
        Span<float> inputScales = MemoryMarshal.Cast<byte, float>(scratch[..(rows * sizeof(float))]);
        Span<byte> quantized = scratch.Slice(rows * sizeof(float), rows * rowBytes);
        for (int r = 0; r < rows; r++)
            inputScales[r] = QuantizeInput(x.Slice(r * xStride, inputs), inputs, quantized.Slice(r * rowBytes, rowBytes));
        bool allGates = gateStart == 0 && gateEnd == gates && gates is 3 or 4;
        // Two rows share each weight load where there are registers for both rows' sums (AVX-512's 32); the sums are
        // integers, so any grouping of rows gives the same bits.
        bool pairs = allGates && Avx512F.VL.IsSupported;
        ref int w0 = ref MemoryMarshal.GetReference(packed);
        for (int b = blockStart; b < blockEnd; b++)
        {
            ref int block = ref Unsafe.Add(ref w0, b * quads * gates * W);
            int row = b * gates * W;
            int r = 0;
            if (pairs)
            {
                for (; r + 2 <= rows; r += 2)
                {
                    if (inputScales[r] == 0 || inputScales[r + 1] == 0)
                        break; // a row of zeros adds nothing: the rows from here go one at a time
                    ref int xa = ref QuantizedRow(quantized, r, rowBytes);
                    ref int xb = ref QuantizedRow(quantized, r + 1, rowBytes);
                    var first = new Output(inputScales[r], sums, scales, y, row, r * yStride + row);
                    var second = new Output(inputScales[r + 1], sums, scales, y, row, (r + 1) * yStride + row);
                    if (vnni) GatesTwoRows<VnniSums>(ref xa, ref xb, quads, ref block, gates, first, second);
                    else GatesTwoRows<Avx2Sums>(ref xa, ref xb, quads, ref block, gates, first, second);
                }
            }
            for (; r < rows; r++)
            {
                if (inputScales[r] == 0)
                    continue;
                ref int xq = ref QuantizedRow(quantized, r, rowBytes);
                var output = new Output(inputScales[r], sums, scales, y, row, r * yStride + row);
                if (allGates)
                {
                    // an LSTM's or GRU's block: every gate in one pass over its contiguous lanes
                    if (vnni) Gates<VnniSums>(ref xq, quads, ref block, gates, output);
                    else Gates<Avx2Sums>(ref xq, quads, ref block, gates, output);
                    continue;
                }
                for (int g = gateStart; g < gateEnd; g++)
                {
                    ref int column = ref Unsafe.Add(ref block, g * W);
                    var (low, high) = vnni
                        ? Column<VnniSums>(ref xq, quads, ref column, gates * W)
                        : Column<Avx2Sums>(ref xq, quads, ref column, gates * W);
                    output.Add(g, low, high);
                }
            }
        }
    }

    /// <summary>Row <paramref name="r"/>'s quantized inputs, four bytes a lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref int QuantizedRow(Span<byte> quantized, int r, int rowBytes) =>
        ref Unsafe.As<byte, int>(ref MemoryMarshal.GetReference(quantized.Slice(r * rowBytes)));

    /// <summary>Where a block's sums go: each gate's 16 outputs get s_x·s_w·(Σ − 128·Σq_w).</summary>
    private readonly ref struct Output
    {
        private readonly float _inputScale;
        private readonly ref int _sums;
        private readonly ref float _scales;
        private readonly ref float _y;

        /// <summary>The block whose output rows start at <paramref name="row"/> (its sums and scales), for the input row
        /// with scale <paramref name="inputScale"/>, whose outputs start at <paramref name="at"/> in <paramref name="y"/>.</summary>
        public Output(float inputScale, ReadOnlySpan<int> sums, ReadOnlySpan<float> scales, Span<float> y, int row, int at)
        {
            _inputScale = inputScale;
            _sums = ref MemoryMarshal.GetReference(sums.Slice(row));
            _scales = ref MemoryMarshal.GetReference(scales.Slice(row));
            _y = ref MemoryMarshal.GetReference(y.Slice(at));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add(int gate, Vector256<int> low, Vector256<int> high)
        {
            int at = gate * W;
            // Σ(q_x + 128)·q_w − 128·Σq_w = Σq_x·q_w, then s_x·s_w
            var offset = Vector256.Create(128);
            low -= offset * Vector256.LoadUnsafe(ref _sums, (nuint)at);
            high -= offset * Vector256.LoadUnsafe(ref _sums, (nuint)(at + 8));
            var factor = Vector256.Create(_inputScale);
            Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(low), factor * Vector256.LoadUnsafe(ref _scales, (nuint)at), Vector256.LoadUnsafe(ref _y, (nuint)at))
                .StoreUnsafe(ref _y, (nuint)at);
            Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(high), factor * Vector256.LoadUnsafe(ref _scales, (nuint)(at + 8)), Vector256.LoadUnsafe(ref _y, (nuint)(at + 8)))
                .StoreUnsafe(ref _y, (nuint)(at + 8));
        }
    }

    /// <summary>How a path adds a quad's products to 8 lanes' sums: <see cref="Inputs"/> makes the four input bytes
    /// what the path multiplies (once a quad), <see cref="Add"/> multiplies them with 8 lanes of four int8 weights each.</summary>
    private interface IQuadSums
    {
        static abstract Vector256<int> Inputs(int quad);

        static abstract Vector256<int> Add(Vector256<int> sums, Vector256<int> inputs, Vector256<sbyte> weights);
    }

    /// <summary>AVX-VNNI: VPDPBUSD, unsigned inputs times signed weights, four products a lane.</summary>
    private readonly struct VnniSums : IQuadSums
    {
        /// <summary>The four bytes in every 32-bit lane.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Inputs(int quad) => Vector256.Create(quad);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Add(Vector256<int> sums, Vector256<int> inputs, Vector256<sbyte> weights) =>
            AvxVnni.MultiplyWideningAndAdd(sums, inputs.AsByte(), weights);
    }

    /// <summary>AVX2: the bytes widened to int16 (the inputs repeated for the four lanes a 128-bit half holds) and
    /// VPMADDWD, exact.</summary>
    private readonly struct Avx2Sums : IQuadSums
    {
        /// <summary>The four bytes as int16, repeated for the four lanes each 128-bit half holds.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Inputs(int quad) => Avx2.ConvertToVector256Int16(Vector128.Create(quad).AsByte()).AsInt32();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Add(Vector256<int> sums, Vector256<int> inputs, Vector256<sbyte> weights) =>
            sums + Lanes8(weights, inputs.AsInt16());
    }

    /// <summary>A block of 3 or 4 gates: eight independent sums (each gate's two halves), the quad's lanes of every gate
    /// read in one contiguous run.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Gates<TSums>(ref int xq, int quads, ref int block, int gates, Output output)
        where TSums : struct, IQuadSums
    {
        Vector256<int> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default;
        bool four = gates == 4;
        int stride = gates * W;
        for (int q = 0; q < quads; q++)
        {
            var x = TSums.Inputs(Unsafe.Add(ref xq, q));
            ref int lanes = ref Unsafe.Add(ref block, q * stride);
            a0 = TSums.Add(a0, x, Vector256.LoadUnsafe(ref lanes).AsSByte());
            b0 = TSums.Add(b0, x, Vector256.LoadUnsafe(ref lanes, 8).AsSByte());
            a1 = TSums.Add(a1, x, Vector256.LoadUnsafe(ref lanes, W).AsSByte());
            b1 = TSums.Add(b1, x, Vector256.LoadUnsafe(ref lanes, W + 8).AsSByte());
            a2 = TSums.Add(a2, x, Vector256.LoadUnsafe(ref lanes, 2 * W).AsSByte());
            b2 = TSums.Add(b2, x, Vector256.LoadUnsafe(ref lanes, 2 * W + 8).AsSByte());
            if (four)
            {
                a3 = TSums.Add(a3, x, Vector256.LoadUnsafe(ref lanes, 3 * W).AsSByte());
                b3 = TSums.Add(b3, x, Vector256.LoadUnsafe(ref lanes, 3 * W + 8).AsSByte());
            }
        }
        output.Add(0, a0, b0);
        output.Add(1, a1, b1);
        output.Add(2, a2, b2);
        if (four)
            output.Add(3, a3, b3);
    }

    /// <summary><see cref="Gates{TSums}"/> for two rows at once: each weight vector loaded serves both (16 sums, for
    /// machines with 32 vector registers).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GatesTwoRows<TSums>(ref int xa, ref int xb, int quads, ref int block, int gates, Output first, Output second)
        where TSums : struct, IQuadSums
    {
        Vector256<int> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default;
        Vector256<int> c0 = default, d0 = default, c1 = default, d1 = default, c2 = default, d2 = default, c3 = default, d3 = default;
        bool four = gates == 4;
        int stride = gates * W;
        for (int q = 0; q < quads; q++)
        {
            var x = TSums.Inputs(Unsafe.Add(ref xa, q));
            var z = TSums.Inputs(Unsafe.Add(ref xb, q));
            ref int lanes = ref Unsafe.Add(ref block, q * stride);
            var w = Vector256.LoadUnsafe(ref lanes).AsSByte();
            a0 = TSums.Add(a0, x, w);
            c0 = TSums.Add(c0, z, w);
            w = Vector256.LoadUnsafe(ref lanes, 8).AsSByte();
            b0 = TSums.Add(b0, x, w);
            d0 = TSums.Add(d0, z, w);
            w = Vector256.LoadUnsafe(ref lanes, W).AsSByte();
            a1 = TSums.Add(a1, x, w);
            c1 = TSums.Add(c1, z, w);
            w = Vector256.LoadUnsafe(ref lanes, W + 8).AsSByte();
            b1 = TSums.Add(b1, x, w);
            d1 = TSums.Add(d1, z, w);
            w = Vector256.LoadUnsafe(ref lanes, 2 * W).AsSByte();
            a2 = TSums.Add(a2, x, w);
            c2 = TSums.Add(c2, z, w);
            w = Vector256.LoadUnsafe(ref lanes, 2 * W + 8).AsSByte();
            b2 = TSums.Add(b2, x, w);
            d2 = TSums.Add(d2, z, w);
            if (four)
            {
                w = Vector256.LoadUnsafe(ref lanes, 3 * W).AsSByte();
                a3 = TSums.Add(a3, x, w);
                c3 = TSums.Add(c3, z, w);
                w = Vector256.LoadUnsafe(ref lanes, 3 * W + 8).AsSByte();
                b3 = TSums.Add(b3, x, w);
                d3 = TSums.Add(d3, z, w);
            }
        }
        first.Add(0, a0, b0);
        first.Add(1, a1, b1);
        first.Add(2, a2, b2);
        second.Add(0, c0, d0);
        second.Add(1, c1, d1);
        second.Add(2, c2, d2);
        if (four)
        {
            first.Add(3, a3, b3);
            second.Add(3, c3, d3);
        }
    }

    /// <summary>One gate's 16 lanes (any gate count), summed over the quads.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<int> Low, Vector256<int> High) Column<TSums>(ref int xq, int quads, ref int column, int stride)
        where TSums : struct, IQuadSums
    {
        Vector256<int> low = Vector256<int>.Zero, high = Vector256<int>.Zero;
        for (int q = 0; q < quads; q++)
        {
            var x = TSums.Inputs(Unsafe.Add(ref xq, q));
            ref int lanes = ref Unsafe.Add(ref column, q * stride);
            low = TSums.Add(low, x, Vector256.LoadUnsafe(ref lanes).AsSByte());
            high = TSums.Add(high, x, Vector256.LoadUnsafe(ref lanes, 8).AsSByte());
        }
        return (low, high);
    }

    /// <summary>For 8 lanes of four int8 weights: each lane's Σ of its weights times the four inputs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Lanes8(Vector256<sbyte> weights, Vector256<short> x)
    {
        var first = Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(weights.GetLower()), x);   // lanes 0–3, two pair sums each
        var second = Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(weights.GetUpper()), x);  // lanes 4–7
        // per 128-bit half: [l0, l1, l4, l5 | l2, l3, l6, l7]; the permute puts the 64-bit pairs back in order
        return Avx2.Permute4x64(Avx2.HorizontalAdd(first, second).AsInt64(), 0b11_01_10_00).AsInt32();
    }
}
