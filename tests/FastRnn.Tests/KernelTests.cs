using FastRnn.Kernels;
using Xunit;

namespace FastRnn.Tests;

/// <summary>The interleaved matrix kernels against plain loops in double, over every size that reaches a tail:
/// rows around the tile heights, inputs around the unroll and chunk lengths, column counts around the tile
/// widths, every gate range, and both widths.</summary>
public class KernelTests
{
    public static TheoryData<bool> Widths() => new() { false, true };

    private static float[] Random(int length, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
    }

    private static IEnumerable<(int Rows, int Inputs, int Gates, int Blocks, int GateStart, int GateEnd)> Shapes()
    {
        foreach (int rows in new[] { 1, 2, 3, 4, 5, 7, 13, 130 })
            foreach (int inputs in new[] { 1, 3, 4, 5, 9, 65 })
                foreach (int gates in new[] { 1, 3, 4 })
                    foreach (int blocks in new[] { 1, 2, 3 })
                        for (int start = 0; start < gates; start++)
                            for (int end = start + 1; end <= gates; end++)
                                if (rows <= 13 || (inputs == 65 && blocks == 2))
                                    yield return (rows, inputs, gates, blocks, start, end);
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void MultiplyAddMatchesPlainLoops(bool wide)
    {
        int cases = 0;
        foreach (var (rows, inputs, gates, blocks, start, end) in Shapes())
        {
            var shape = new InterleavedShape(inputs, gates, blocks);
            int xStride = inputs + 2, yStride = shape.RowLength + 16;
            var x = Random(rows * xStride, 1);
            var w = Random(shape.Length, 2);
            var y = Random(rows * yStride, 3);
            var expected = y.Select(v => (double)v).ToArray();
            for (int r = 0; r < rows; r++)
                for (int b = 0; b < blocks; b++)
                    for (int g = start; g < end; g++)
                        for (int u = 0; u < 16; u++)
                            for (int k = 0; k < inputs; k++)
                                expected[r * yStride + (b * gates + g) * 16 + u] += (double)x[r * xStride + k] * w[shape.IndexOf(b * 16 + u, g, k)];
            if (wide) InterleavedKernels.MultiplyAdd<Block512>(x, xStride, rows, w, shape, start, end, y, yStride);
            else InterleavedKernels.MultiplyAdd<Block256>(x, xStride, rows, w, shape, start, end, y, yStride);
            AssertClose(expected, y, $"MultiplyAdd rows {rows} inputs {inputs} gates {gates} [{start},{end}) blocks {blocks}");
            cases++;
        }
        Assert.True(cases > 300);
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void AccumulateOuterMatchesPlainLoops(bool wide)
    {
        foreach (var (rows, inputs, gates, blocks, start, end) in Shapes())
        {
            var shape = new InterleavedShape(inputs, gates, blocks);
            int xStride = inputs + 1, dyStride = shape.RowLength;
            var x = Random(rows * xStride, 4);
            var dy = Random(rows * dyStride, 5);
            var dw = Random(shape.Length, 6);
            var expected = dw.Select(v => (double)v).ToArray();
            for (int b = 0; b < blocks; b++)
                for (int g = start; g < end; g++)
                    for (int u = 0; u < 16; u++)
                        for (int k = 0; k < inputs; k++)
                            for (int r = 0; r < rows; r++)
                                expected[shape.IndexOf(b * 16 + u, g, k)] += (double)x[r * xStride + k] * dy[r * dyStride + (b * gates + g) * 16 + u];
            var scratch = new float[InterleavedKernels.OuterScratchLength(shape)];
            if (wide) InterleavedKernels.AccumulateOuter<Block512>(x, xStride, rows, dy, dyStride, dw, shape, start, end, scratch);
            else InterleavedKernels.AccumulateOuter<Block256>(x, xStride, rows, dy, dyStride, dw, shape, start, end, scratch);
            AssertClose(expected, dw, $"AccumulateOuter rows {rows} inputs {inputs} gates {gates} [{start},{end}) blocks {blocks}");
        }
    }

    /// <summary>The packed transpose holds w's element (unit, gate, input) at (input, unit of the gate's row) exactly,
    /// for the gates in range, and zero everywhere else (other gates, padded inputs): with whole tiles of 16 inputs (the
    /// 16 × 16 transpose in registers, where AVX-512 is there) and partial ones, over a destination that held values.</summary>
    [Fact]
    public void PackedTransposeIsTheTransposeElementForElement()
    {
        foreach (int inputs in new[] { 1, 5, 16, 17, 33, 64, 70 })
            foreach (int gates in new[] { 1, 3, 4 })
                foreach (int blocks in new[] { 1, 2, 3 })
                    for (int start = 0; start < gates; start++)
                        for (int end = start + 1; end <= gates; end++)
                        {
                            var shape = new InterleavedShape(inputs, gates, blocks);
                            var t = shape.Transposed;
                            var w = Random(shape.Length, inputs * 7 + gates);
                            var transposed = Random(t.Length, 3);
                            InterleavedKernels.PackTransposed(w, shape, start, end, transposed);
                            var expected = new float[t.Length];
                            for (int b = 0; b < blocks; b++)
                                for (int g = start; g < end; g++)
                                    for (int u = 0; u < 16; u++)
                                        for (int k = 0; k < inputs; k++)
                                            expected[t.IndexOf(k, 0, (b * gates + g) * 16 + u)] = w[shape.IndexOf(b * 16 + u, g, k)];
                            Assert.True(expected.AsSpan().SequenceEqual(transposed),
                                $"inputs {inputs}, {gates} gates × {blocks} blocks, gates [{start}, {end}): not the transpose");
                        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void PackedTransposeGivesTheBackwardProduct(bool wide)
    {
        foreach (var (rows, inputs, gates, blocks, start, end) in Shapes())
        {
            var shape = new InterleavedShape(inputs, gates, blocks);
            var transposed = new float[shape.Transposed.Length];
            var w = Random(shape.Length, 7);
            InterleavedKernels.PackTransposed(w, shape, start, end, transposed);
            int dxStride = Block.Pad(inputs);
            var dy = Random(rows * shape.RowLength, 8);
            var dx = new float[rows * dxStride];
            var expected = new double[dx.Length];
            for (int r = 0; r < rows; r++)
                for (int k = 0; k < inputs; k++)
                    for (int b = 0; b < blocks; b++)
                        for (int g = start; g < end; g++)
                            for (int u = 0; u < 16; u++)
                                expected[r * dxStride + k] += (double)dy[r * shape.RowLength + (b * gates + g) * 16 + u] * w[shape.IndexOf(b * 16 + u, g, k)];
            if (wide) InterleavedKernels.MultiplyAdd<Block512>(dy, shape.RowLength, rows, transposed, shape.Transposed, 0, 1, dx, dxStride);
            else InterleavedKernels.MultiplyAdd<Block256>(dy, shape.RowLength, rows, transposed, shape.Transposed, 0, 1, dx, dxStride);
            AssertClose(expected, dx, $"transposed product rows {rows} inputs {inputs} gates {gates} [{start},{end}) blocks {blocks}");
        }
    }

    [Fact]
    public void ShapesAreCheckedBeforeAnyWrite()
    {
        var shape = new InterleavedShape(4, 2, 1);
        var y = new float[shape.RowLength];
        var error = Assert.Throws<ArgumentException>(() =>
            InterleavedKernels.MultiplyAdd<Block256>(new float[3], 4, 1, new float[shape.Length], shape, 0, 2, y, shape.RowLength));
        Assert.Contains("'x' needs 1 rows of 4 floats", error.Message);
        Assert.All(y, v => Assert.Equal(0f, v));
        Assert.Throws<ArgumentException>(() =>
            InterleavedKernels.AccumulateOuter<Block256>(new float[4], 4, 1, new float[32], 32, new float[shape.Length], shape, 0, 2, new float[1]));
    }

    private static void AssertClose(double[] expected, float[] actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            double tolerance = 1e-5 * (1 + Math.Abs(expected[i])) * 8;
            if (Math.Abs(actual[i] - expected[i]) > tolerance)
                throw new Xunit.Sdk.XunitException($"{what}: element {i} is {actual[i]:R}, expected {expected[i]:R}.");
        }
    }
}
