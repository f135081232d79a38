using FastRnn.Kernels;
using Xunit;

namespace FastRnn.Tests;

/// <summary>
/// <see cref="QuantizedMatrix"/>, the product the quantized models call: a part of the product (a range of gates, a
/// range of blocks: a classic GRU's gates apart, one thread's share) gives the same bits as those outputs of the whole
/// product and writes nothing else; rows computed together give the same bits as each row alone (the bfloat16 kernel
/// takes two rows per pass at 512 bits); the stored values read back as they were quantized.
/// </summary>
public class QuantizedMatrixTests
{
    public static TheoryData<WeightPrecision, bool, int> Cases()
    {
        var data = new TheoryData<WeightPrecision, bool, int>();
        foreach (var precision in new[] { WeightPrecision.BFloat16, WeightPrecision.Int8 })
            foreach (bool wide in new[] { true, false })
                foreach (int gates in new[] { 1, 3, 4 })
                    data.Add(precision, wide, gates);
        return data;
    }

    private static (QuantizedMatrix Matrix, float[] X, int XStride, int YStride) Make(WeightPrecision precision, int inputs, int gates, int blocks, int rows, int seed)
    {
        var random = new Random(seed);
        var shape = new InterleavedShape(inputs, gates, blocks);
        var weights = new float[shape.Length];
        for (int j = 0; j < blocks * Block.Width - 3; j++)
            for (int g = 0; g < gates; g++)
                for (int k = 0; k < inputs; k++)
                    weights[shape.IndexOf(j, g, k)] = (float)(random.NextDouble() * 2 - 1);
        int xStride = inputs + 1, yStride = shape.RowLength + 16;
        var x = Enumerable.Range(0, rows * xStride).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        return (QuantizedMatrix.Quantize(weights, shape, precision), x, xStride, yStride);
    }

    /// <summary>The product added to y = i·0.001 (each element of a row its own start, so a write where none belongs shows; every row starts alike).</summary>
    private static float[] Product(QuantizedMatrix matrix, float[] x, int xStride, int rows, int yStride, int gateStart, int gateEnd, int columnStart, int columnEnd, bool wide)
    {
        var y = Start(rows, yStride);
        var scratch = new byte[matrix.ScratchLength(rows)];
        if (wide) matrix.MultiplyAdd<Block512>(x, xStride, rows, gateStart, gateEnd, y, yStride, columnStart, columnEnd, scratch);
        else matrix.MultiplyAdd<Block256>(x, xStride, rows, gateStart, gateEnd, y, yStride, columnStart, columnEnd, scratch);
        return y;
    }

    private static float[] Start(int rows, int yStride) => Enumerable.Range(0, rows * yStride).Select(i => i % yStride * 0.001f).ToArray();

    [Theory]
    [MemberData(nameof(Cases))]
    public void APartOfTheProductIsThosePartsOfTheWholeProduct(WeightPrecision precision, bool wide, int gates)
    {
        foreach (int inputs in new[] { 1, 2, 7, 33, 70 })
        {
            const int blocks = 5, rows = 3;
            var (matrix, x, xStride, yStride) = Make(precision, inputs, gates, blocks, rows, inputs * 13 + gates);
            var whole = Product(matrix, x, xStride, rows, yStride, 0, gates, 0, blocks * gates, wide);
            var untouched = Start(rows, yStride);
            for (int gateStart = 0; gateStart < gates; gateStart++)
                for (int gateEnd = gateStart + 1; gateEnd <= gates; gateEnd++)
                    foreach (var (blockStart, blockEnd) in new[] { (0, blocks), (1, 3), (4, 5), (2, 2) })
                    {
                        int perBlock = gateEnd - gateStart;
                        var part = Product(matrix, x, xStride, rows, yStride, gateStart, gateEnd, blockStart * perBlock, blockEnd * perBlock, wide);
                        for (int r = 0; r < rows; r++)
                            for (int i = 0; i < yStride; i++)
                            {
                                int block = i / (gates * Block.Width), gate = i / Block.Width % gates;
                                bool inside = i < matrix.Shape.RowLength && block >= blockStart && block < blockEnd && gate >= gateStart && gate < gateEnd;
                                int at = r * yStride + i;
                                Assert.Equal(inside ? whole[at] : untouched[at], part[at]);
                            }
                    }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void RowsTogetherAreEachRowAlone(WeightPrecision precision, bool wide, int gates)
    {
        foreach (int inputs in new[] { 1, 2, 5, 16, 69 })
        {
            const int blocks = 2, rows = 5;
            var (matrix, x, xStride, yStride) = Make(precision, inputs, gates, blocks, rows, inputs * 7 + gates);
            var together = Product(matrix, x, xStride, rows, yStride, 0, gates, 0, blocks * gates, wide);
            for (int r = 0; r < rows; r++)
            {
                var alone = Product(matrix, x.AsSpan(r * xStride, xStride).ToArray(), xStride, 1, yStride, 0, gates, 0, blocks * gates, wide);
                Assert.Equal(together.AsSpan(r * yStride, yStride).ToArray(), alone);
            }
        }
    }

    [Fact]
    public void StoredValuesReadBackAsQuantized()
    {
        var shape = new InterleavedShape(5, 3, 1);
        var weights = new float[shape.Length];
        for (int j = 0; j < 16; j++)
            for (int g = 0; g < 3; g++)
                for (int k = 0; k < 5; k++)
                    weights[shape.IndexOf(j, g, k)] = (j - 8) * 0.25f + g - k * 0.125f;
        var bfloat16 = QuantizedMatrix.Quantize(weights, shape, WeightPrecision.BFloat16);
        var int8 = QuantizedMatrix.Quantize(weights, shape, WeightPrecision.Int8);
        for (int j = 0; j < 16; j++)
            for (int g = 0; g < 3; g++)
            {
                float largest = Enumerable.Range(0, 5).Max(k => MathF.Abs(weights[shape.IndexOf(j, g, k)]));
                Assert.Equal(largest / 127f, int8.Scale(j, g));
                for (int k = 0; k < 5; k++)
                {
                    float w = weights[shape.IndexOf(j, g, k)];
                    Assert.Equal(BFloat16.ToSingle(BFloat16.FromSingle(w)), bfloat16.Value(j, g, k)); // these weights are bfloat16 exactly
                    Assert.Equal(w, bfloat16.Value(j, g, k));
                    Assert.True(Math.Abs(int8.Value(j, g, k) - w) <= int8.Scale(j, g) / 2 * 1.0001, $"{w} → {int8.Value(j, g, k)}");
                    var copy = QuantizedMatrix.FromStored(shape, 16, WeightPrecision.Int8, int8.Stored, int8.Scale, "w");
                    Assert.Equal(int8.Value(j, g, k), copy.Value(j, g, k));
                }
            }
        Assert.Equal(4L * (BFloat16Kernels.PackedLength(shape)), bfloat16.Bytes);
        Assert.Equal(4L * (Int8Kernels.PackedLength(shape) + 2 * shape.RowLength), int8.Bytes);
    }
}
