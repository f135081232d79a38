using System.ComponentModel;

namespace FastRnn.Kernels;

/// <summary>
/// One gate-interleaved weight matrix (<see cref="InterleavedShape"/>) at reduced precision, with the product the
/// generated serving code calls in place of <see cref="InterleavedKernels.MultiplyAdd{T}(ReadOnlySpan{float}, int, int, ReadOnlySpan{float}, InterleavedShape, int, int, Span{float}, int, bool)"/>:
/// bfloat16 two inputs per 32-bit lane (<see cref="BFloat16Kernels"/>), or int8 four inputs per lane with a scale and a
/// sum of weights per output row (<see cref="Int8Kernels"/>). Immutable once made, so any number of threads may
/// multiply with it at once; the int8 product takes its scratch from the caller.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class QuantizedMatrix
{
    private const int W = Block.Width;
    private readonly AlignedArray<uint> _lanes; // on a cache line, as the float32 weights are
    private readonly AlignedArray<float> _scales;
    private readonly AlignedArray<int> _sums;

    private QuantizedMatrix(InterleavedShape shape, WeightPrecision precision)
    {
        if (precision is not (WeightPrecision.BFloat16 or WeightPrecision.Int8))
            throw new ArgumentOutOfRangeException(nameof(precision), precision, "A quantized matrix is bfloat16 or int8.");
        Shape = shape;
        Precision = precision;
        bool int8 = precision == WeightPrecision.Int8;
        _lanes = new AlignedArray<uint>(int8 ? Int8Kernels.PackedLength(shape) : BFloat16Kernels.PackedLength(shape));
        _scales = new AlignedArray<float>(int8 ? shape.RowLength : 0);
        _sums = new AlignedArray<int>(int8 ? shape.RowLength : 0);
    }

    /// <summary>The matrix's shape (inputs, gates, blocks), as its float32 original.</summary>
    public InterleavedShape Shape { get; }

    /// <summary>bfloat16 or int8.</summary>
    public WeightPrecision Precision { get; }

    /// <summary>Bytes the product reads: the packed weights, and for int8 the scales and sums of the output rows.</summary>
    public long Bytes => 4L * (_lanes.Length + _scales.Length + _sums.Length);

    /// <summary>Rounds (bfloat16) or quantizes (int8) the float32 matrix <paramref name="weights"/> of <paramref name="shape"/>.</summary>
    public static QuantizedMatrix Quantize(ReadOnlySpan<float> weights, InterleavedShape shape, WeightPrecision precision)
    {
        var matrix = new QuantizedMatrix(shape, precision);
        if (precision == WeightPrecision.Int8)
            Int8Kernels.Quantize(weights, shape, System.Runtime.InteropServices.MemoryMarshal.Cast<uint, int>(matrix._lanes.Span), matrix._scales, matrix._sums);
        else
            BFloat16Kernels.Pack(weights, shape, matrix._lanes);
        return matrix;
    }

    /// <summary>Bytes of scratch <see cref="MultiplyAdd{T}(ReadOnlySpan{float}, int, int, int, int, Span{float}, int, int, int, Span{byte})"/>
    /// takes for <paramref name="rows"/> rows (0 for bfloat16).</summary>
    public int ScratchLength(int rows) => Precision == WeightPrecision.Int8 ? Int8Kernels.ScratchLength(Shape, rows) : 0;

    /// <summary><c>y[r, (b, g)] += Σ_k x[r, k]·w[b, k, g]</c> over the whole matrix.</summary>
    public void MultiplyAdd<T>(ReadOnlySpan<float> x, int xStride, int rows, Span<float> y, int yStride, Span<byte> scratch)
        where T : struct, IBlock<T> =>
        MultiplyAdd<T>(x, xStride, rows, 0, Shape.Gates, y, yStride, 0, Shape.Blocks * Shape.Gates, scratch);

    /// <summary>The product for the gates [<paramref name="gateStart"/>, <paramref name="gateEnd"/>) and, among their
    /// output columns (numbered block by block, the range's gates within each, as the float32 kernel numbers them),
    /// [<paramref name="columnStart"/>, <paramref name="columnEnd"/>), which must be whole blocks: every output exactly
    /// as the whole product computes it.</summary>
    public void MultiplyAdd<T>(ReadOnlySpan<float> x, int xStride, int rows, int gateStart, int gateEnd,
        Span<float> y, int yStride, int columnStart, int columnEnd, Span<byte> scratch)
        where T : struct, IBlock<T>
    {
        int perBlock = gateEnd - gateStart;
        if (perBlock <= 0 || columnStart % perBlock != 0 || columnEnd % perBlock != 0)
            throw new ArgumentOutOfRangeException(nameof(columnStart), $"Columns [{columnStart}, {columnEnd}) of gates [{gateStart}, {gateEnd}) are not whole blocks.");
        int blockStart = columnStart / perBlock, blockEnd = columnEnd / perBlock;
        if (Precision == WeightPrecision.Int8)
            Int8Kernels.MultiplyAdd(x, xStride, rows, System.Runtime.InteropServices.MemoryMarshal.Cast<uint, int>(_lanes.Span), _scales, _sums, Shape,
                gateStart, gateEnd, blockStart, blockEnd, scratch, y, yStride, Int8Kernels.HasVnni);
        else
            BFloat16Kernels.MultiplyAdd<T>(x, xStride, rows, _lanes, Shape, gateStart, gateEnd, blockStart, blockEnd, y, yStride);
    }

    /// <summary>The stored value of weight (unit <paramref name="unit"/>, gate <paramref name="gate"/>, input
    /// <paramref name="input"/>): the bfloat16's 16 bits, or the int8 value.</summary>
    public int Stored(int unit, int gate, int input)
    {
        var (lane, shift) = LaneOf(unit, gate, input);
        return Precision == WeightPrecision.Int8 ? (sbyte)(_lanes.Span[lane] >> shift) : (ushort)(_lanes.Span[lane] >> shift);
    }

    /// <summary>The scale of output row (<paramref name="unit"/>, <paramref name="gate"/>): int8 weights stand for
    /// value·scale (1 for bfloat16).</summary>
    public float Scale(int unit, int gate) => Precision == WeightPrecision.Int8 ? _scales.Span[Shape.RowIndexOf(unit, gate)] : 1f;

    /// <summary>The float32 value the product uses for a weight: the bfloat16 widened, or the int8 value times its row's scale.</summary>
    public float Value(int unit, int gate, int input) => Precision == WeightPrecision.Int8
        ? Stored(unit, gate, input) * Scale(unit, gate)
        : BFloat16.ToSingle((ushort)Stored(unit, gate, input));

    /// <summary>A matrix from stored values (a file's): <paramref name="stored"/>(unit, gate, input) gives each real
    /// weight's bfloat16 bits or int8 value, <paramref name="scale"/>(unit, gate) each int8 row's scale. A value or
    /// scale that cannot be one the quantization makes is an <see cref="InvalidDataException"/> naming it.</summary>
    public static QuantizedMatrix FromStored(InterleavedShape shape, int units, WeightPrecision precision,
        Func<int, int, int, int> stored, Func<int, int, float> scale, string name)
    {
        var matrix = new QuantizedMatrix(shape, precision);
        bool int8 = precision == WeightPrecision.Int8;
        for (int j = 0; j < units; j++)
            for (int g = 0; g < shape.Gates; g++)
            {
                int row = shape.RowIndexOf(j, g), sum = 0;
                if (int8)
                {
                    float s = scale(j, g);
                    if (!float.IsFinite(s) || s < 0)
                        throw new InvalidDataException($"Tensor '{name}': the scale of row {g * units + j} is {s}; a scale is finite and not negative.");
                    matrix._scales.Span[row] = s;
                }
                for (int k = 0; k < shape.Inputs; k++)
                {
                    int value = stored(j, g, k);
                    if (int8 ? value is < -127 or > 127 : value is < 0 or > ushort.MaxValue)
                        throw new InvalidDataException($"Tensor '{name}': weight ({g * units + j}, {k}) is {value}, outside {(int8 ? "[−127, 127]" : "the 16 bits of a bfloat16")}.");
                    sum += value;
                    var (lane, shift) = matrix.LaneOf(j, g, k);
                    matrix._lanes.Span[lane] |= (uint)(int8 ? (byte)(sbyte)value : (ushort)value) << shift;
                }
                if (int8)
                    matrix._sums.Span[row] = sum;
            }
        return matrix;
    }

    /// <summary>The lane and bit offset of a weight in the packed layout.</summary>
    private (int Lane, int Shift) LaneOf(int unit, int gate, int input)
    {
        if ((uint)unit >= (uint)(Shape.Blocks * W) || (uint)gate >= (uint)Shape.Gates || (uint)input >= (uint)Shape.Inputs)
            throw new ArgumentOutOfRangeException(nameof(unit), $"Weight ({unit}, {gate}, {input}) is outside {Shape}.");
        int b = unit / W, u = unit % W, gates = Shape.Gates;
        return Precision == WeightPrecision.Int8
            ? (((b * Int8Kernels.Quads(Shape) + input / 4) * gates + gate) * W + u, 8 * (input % 4))
            : (((b * BFloat16Kernels.Pairs(Shape) + input / 2) * gates + gate) * W + u, 16 * (input % 2));
    }
}
