using FastRnn.Kernels;
using Xunit;

namespace FastRnn.Tests;

/// <summary>The products split across a <see cref="ComputePool"/> equal the serial products bit for bit, at 1 to 8
/// threads, on both vector widths, for every tail of columns, rows and inputs and for gate ranges.</summary>
public class ParallelKernelTests
{
    public static TheoryData<bool> Widths() => [false, true];

    private static float[] Random(int length, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
    }

    /// <summary>The serial product at one width or the other.</summary>
    private static void SerialMultiplyAdd(bool wide, ReadOnlySpan<float> x, int xStride, int rows, ReadOnlySpan<float> w,
        InterleavedShape shape, int gateStart, int gateEnd, Span<float> y, int yStride)
    {
        if (wide)
            InterleavedKernels.MultiplyAdd<Block512>(x, xStride, rows, w, shape, gateStart, gateEnd, y, yStride);
        else
            InterleavedKernels.MultiplyAdd<Block256>(x, xStride, rows, w, shape, gateStart, gateEnd, y, yStride);
    }

    /// <summary>Runs <paramref name="run"/> on a copy of <paramref name="initial"/> and asserts it leaves exactly
    /// <paramref name="expected"/>.</summary>
    private static void AssertWrites(float[] expected, float[] initial, Action<float[]> run, string what)
    {
        var actual = (float[])initial.Clone();
        run(actual);
        Assert.True(expected.AsSpan().SequenceEqual(actual), $"{what}: not bit-identical");
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void MultiplyAddOnAPoolEqualsTheSerialProduct(bool wide)
    {
        var pools = new[] { 1, 2, 3, 4, 8 }.Select(t => new ComputePool(t)).ToArray();
        try
        {
            int cases = 0;
            foreach (int rows in new[] { 1, 3, 4, 5, 17, 64 })
                foreach (int inputs in new[] { 1, 5, 33, 70 })
                    foreach (int gates in new[] { 1, 3, 4 })
                        foreach (int blocks in new[] { 1, 2, 3, 5, 16 })
                            foreach (var (start, end) in new[] { (0, gates), (gates - 1, gates), (0, Math.Max(1, gates - 1)) })
                            {
                                var shape = new InterleavedShape(inputs, gates, blocks);
                                int xStride = inputs + 3, yStride = shape.RowLength + 16;
                                // the operands sit at an offset inside their arrays, as the models' arenas do
                                var x = new ArraySegment<float>(Random(7 + rows * xStride, rows * 31 + inputs), 7, rows * xStride);
                                var w = new ArraySegment<float>(Random(16 + shape.Length, blocks * 7 + gates), 16, shape.Length);
                                float[] initial = Random(rows * yStride, 5);
                                var serial = (float[])initial.Clone();
                                SerialMultiplyAdd(wide, x, xStride, rows, w, shape, start, end, serial, yStride);
                                foreach (var pool in pools)
                                {
                                    var parallel = (float[])initial.Clone();
                                    if (wide)
                                        InterleavedKernels.MultiplyAdd<Block512>(pool, x, xStride, rows, w, shape, start, end, parallel, yStride);
                                    else
                                        InterleavedKernels.MultiplyAdd<Block256>(pool, x, xStride, rows, w, shape, start, end, parallel, yStride);
                                    Assert.True(serial.AsSpan().SequenceEqual(parallel),
                                        $"rows {rows}, inputs {inputs}, {gates} gates × {blocks} blocks, gates [{start}, {end}), {pool.Threads} threads: not bit-identical");
                                    cases++;
                                }
                            }
            Assert.True(cases > 1000, $"only {cases} cases");
        }
        finally
        {
            foreach (var pool in pools)
                pool.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void AffineEqualsTheBiasBroadcastThenTheProduct(bool wide)
    {
        // Affine adds its first chunk of inputs to the bias instead of to y: the same bits as storing the bias into every
        // row and adding the whole product to it, serial or split by columns or (few columns, many rows) by row slabs
        var pools = new ComputePool?[] { null }.Concat(new[] { 1, 2, 3, 8 }.Select(t => new ComputePool(t))).ToArray();
        try
        {
            int cases = 0;
            foreach (int rows in new[] { 1, 2, 3, 5, 64, 200 })
                foreach (int inputs in new[] { 1, 31, 32, 33, 70 })
                    foreach (int gates in new[] { 1, 4 })
                        foreach (int blocks in new[] { 1, 3, 16 })
                        {
                            var shape = new InterleavedShape(inputs, gates, blocks);
                            int xStride = inputs + 3, yStride = shape.RowLength + 16;
                            var x = new ArraySegment<float>(Random(7 + rows * xStride, rows * 31 + inputs), 7, rows * xStride);
                            var w = new ArraySegment<float>(Random(16 + shape.Length, blocks * 7 + gates), 16, shape.Length);
                            float[] bias = Random(shape.RowLength, inputs + gates);
                            float[] initial = Random(rows * yStride, 5);
                            var expected = (float[])initial.Clone();
                            InterleavedKernels.BroadcastRows(bias, expected, yStride, rows);
                            SerialMultiplyAdd(wide, x, xStride, rows, w, shape, 0, gates, expected, yStride);
                            foreach (var pool in pools)
                            {
                                AssertWrites(expected, initial, actual =>
                                {
                                    if (wide)
                                        InterleavedKernels.Affine<Block512>(pool, x, xStride, rows, w, shape, bias, actual, yStride);
                                    else
                                        InterleavedKernels.Affine<Block256>(pool, x, xStride, rows, w, shape, bias, actual, yStride);
                                }, $"rows {rows}, inputs {inputs}, {gates} gates × {blocks} blocks, {pool?.Threads ?? 0} threads");
                                cases++;
                            }
                        }
            Assert.True(cases > 800, $"only {cases} cases");
            var wrong = new InterleavedShape(4, 4, 2);
            var error = Assert.Throws<ArgumentException>(() => InterleavedKernels.Affine<Block256>(null, new float[4], 4, 1,
                new float[wrong.Length], wrong, new float[wrong.RowLength - 16], new float[wrong.RowLength], wrong.RowLength));
            Assert.Contains($"needs {wrong.RowLength} floats", error.Message);
        }
        finally
        {
            foreach (var pool in pools)
                pool?.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void MultiplyIsTheProductIntoAClearedRowBitForBitSplitByColumnsOrByEachStepsRows(bool wide)
    {
        // Multiply stores its first chunk of inputs instead of adding it to y: the same bits as clearing each row and
        // adding the product, serial, by columns or, given the rows per step, by each step's groups of 4 rows (a batch
        // that is no multiple of 4 falls back to the split by columns); the padding after each row is left alone
        var pools = new ComputePool?[] { null }.Concat(new[] { 1, 2, 3, 4, 8 }.Select(t => new ComputePool(t))).ToArray();
        try
        {
            int cases = 0;
            foreach (int batch in new[] { 1, 3, 4, 8, 10, 12, 16, 32 })
                foreach (int steps in new[] { 1, 2, 5 })
                    foreach (int inputs in new[] { 1, 33, 96 })
                        foreach (var (gates, blocks) in new[] { (1, 1), (1, 4), (4, 3), (1, 16) })
                        {
                            int rows = batch * steps;
                            var shape = new InterleavedShape(inputs, gates, blocks);
                            int xStride = inputs + 3, yStride = shape.RowLength + 16;
                            var x = new ArraySegment<float>(Random(7 + rows * xStride, rows * 31 + inputs), 7, rows * xStride);
                            var w = new ArraySegment<float>(Random(16 + shape.Length, blocks * 7 + gates), 16, shape.Length);
                            float[] initial = Random(rows * yStride, 5);
                            initial[0] = float.NaN; // overwritten, never read
                            var expected = (float[])initial.Clone();
                            for (int r = 0; r < rows; r++)
                                expected.AsSpan(r * yStride, shape.RowLength).Clear();
                            SerialMultiplyAdd(wide, x, xStride, rows, w, shape, 0, gates, expected, yStride);
                            foreach (var pool in pools)
                                foreach (int rowsPerStep in new[] { 0, batch })
                                {
                                    AssertWrites(expected, initial, actual =>
                                    {
                                        if (wide)
                                            InterleavedKernels.Multiply<Block512>(pool, x, xStride, rows, w, shape, actual, yStride, rowsPerStep);
                                        else
                                            InterleavedKernels.Multiply<Block256>(pool, x, xStride, rows, w, shape, actual, yStride, rowsPerStep);
                                    }, $"{steps} steps × {batch} rows (per step {rowsPerStep}), inputs {inputs}, {gates} gates × {blocks} blocks, {pool?.Threads ?? 0} threads");
                                    cases++;
                                }
                        }
            Assert.True(cases > 3000, $"only {cases} cases");
            var shape2 = new InterleavedShape(4, 1, 1);
            var error = Assert.Throws<ArgumentOutOfRangeException>(() => InterleavedKernels.Multiply<Block256>(pools[2], new float[12], 4, 3,
                new float[shape2.Length], shape2, new float[3 * shape2.RowLength], shape2.RowLength, rowsPerStep: 2));
            Assert.Contains("not whole steps of 2 rows", error.Message);
        }
        finally
        {
            foreach (var pool in pools)
                pool?.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void WeightGradientOnAPoolEqualsTheSerialOne(bool wide)
    {
        var pools = new[] { 1, 2, 3, 4, 8 }.Select(t => new ComputePool(t)).ToArray();
        try
        {
            int cases = 0;
            foreach (int rows in new[] { 1, 5, 17, 130, 300 })
                foreach (int inputs in new[] { 1, 5, 33, 70 })
                    foreach (int gates in new[] { 1, 3, 4 })
                        foreach (int blocks in new[] { 1, 2, 5, 16 })
                            foreach (var (start, end) in new[] { (0, gates), (gates - 1, gates) })
                            {
                                var shape = new InterleavedShape(inputs, gates, blocks);
                                int xStride = inputs + 3, dyStride = shape.RowLength + 16;
                                float[] x = Random(rows * xStride, rows * 13 + inputs), dy = Random(rows * dyStride, blocks * 5 + gates);
                                float[] initial = Random(shape.Length, 9);
                                int part = InterleavedKernels.OuterScratchLength(shape);
                                var serial = (float[])initial.Clone();
                                if (wide)
                                    InterleavedKernels.AccumulateOuter<Block512>(x, xStride, rows, dy, dyStride, serial, shape, start, end, new float[part]);
                                else
                                    InterleavedKernels.AccumulateOuter<Block256>(x, xStride, rows, dy, dyStride, serial, shape, start, end, new float[part]);
                                foreach (var pool in pools)
                                    // scratch for every thread, and for fewer (then fewer parts run)
                                    foreach (int scratchParts in new[] { pool.Threads, Math.Max(1, pool.Threads - 1) })
                                    {
                                        var parallel = (float[])initial.Clone();
                                        var scratch = new float[part * scratchParts];
                                        if (wide)
                                            InterleavedKernels.AccumulateOuter<Block512>(pool, x, xStride, rows, dy, dyStride, parallel, shape, start, end, scratch);
                                        else
                                            InterleavedKernels.AccumulateOuter<Block256>(pool, x, xStride, rows, dy, dyStride, parallel, shape, start, end, scratch);
                                        Assert.True(serial.AsSpan().SequenceEqual(parallel),
                                            $"rows {rows}, inputs {inputs}, {gates} gates × {blocks} blocks, gates [{start}, {end}), {pool.Threads} threads, scratch for {scratchParts}: not bit-identical");
                                        cases++;
                                    }
                            }
            Assert.True(cases > 1000, $"only {cases} cases");
        }
        finally
        {
            foreach (var pool in pools)
                pool.Dispose();
        }
    }

    /// <summary>The bias gradient summed on the way through the weight gradient (each column of dy as it is copied) has
    /// the bits of <c>AccumulateRows</c> over the gates in range and leaves the others alone; the weight gradient is the
    /// one without it; serial or on pools of 1–8 threads.</summary>
    [Theory]
    [MemberData(nameof(Widths))]
    public void TheBiasGradientSummedWithTheWeightGradientIsAccumulateRowsBitForBit(bool wide)
    {
        var pools = new ComputePool?[] { null, new(2), new(3), new(8) };
        try
        {
            int cases = 0;
            foreach (int rows in new[] { 1, 5, 17, 130, 300 })
                foreach (int inputs in new[] { 1, 5, 33 })
                    foreach (int gates in new[] { 1, 3, 4 })
                        foreach (int blocks in new[] { 1, 2, 5, 16 })
                            foreach (var (start, end) in new[] { (0, gates), (gates - 1, gates), (0, gates - 1) })
                            {
                                if (start == end)
                                    continue;
                                var shape = new InterleavedShape(inputs, gates, blocks);
                                int xStride = inputs + 3, dyStride = shape.RowLength + 16;
                                float[] x = Random(rows * xStride, rows * 13 + inputs), dy = Random(rows * dyStride, blocks * 5 + gates);
                                float[] initialW = Random(shape.Length, 9), initialB = Random(shape.RowLength, 10);
                                var sums = (float[])initialB.Clone();
                                if (wide) InterleavedKernels.AccumulateRows<Block512>(dy, dyStride, rows, shape.RowLength, sums);
                                else InterleavedKernels.AccumulateRows<Block256>(dy, dyStride, rows, shape.RowLength, sums);
                                var expectedB = (float[])initialB.Clone();
                                for (int b = 0; b < blocks; b++)
                                    for (int g = start; g < end; g++)
                                        Array.Copy(sums, (b * gates + g) * 16, expectedB, (b * gates + g) * 16, 16);
                                var expectedW = (float[])initialW.Clone();
                                int part = InterleavedKernels.OuterScratchLength(shape);
                                if (wide) InterleavedKernels.AccumulateOuter<Block512>(x, xStride, rows, dy, dyStride, expectedW, shape, start, end, new float[part]);
                                else InterleavedKernels.AccumulateOuter<Block256>(x, xStride, rows, dy, dyStride, expectedW, shape, start, end, new float[part]);
                                foreach (var pool in pools)
                                {
                                    var w = (float[])initialW.Clone();
                                    var bias = (float[])initialB.Clone();
                                    var scratch = new float[part * (pool?.Threads ?? 1)];
                                    if (wide) InterleavedKernels.AccumulateOuter<Block512>(pool, x, xStride, rows, dy, dyStride, w, shape, start, end, scratch, bias);
                                    else InterleavedKernels.AccumulateOuter<Block256>(pool, x, xStride, rows, dy, dyStride, w, shape, start, end, scratch, bias);
                                    string what = $"rows {rows}, inputs {inputs}, {gates} gates × {blocks} blocks, gates [{start}, {end}), {pool?.Threads ?? 0} threads";
                                    Assert.True(expectedB.AsSpan().SequenceEqual(bias), what + ": the bias gradient differs from AccumulateRows'");
                                    Assert.True(expectedW.AsSpan().SequenceEqual(w), what + ": the weight gradient changed");
                                    cases++;
                                }
                            }
            Assert.True(cases > 500, $"only {cases} cases");
            Assert.Throws<ArgumentException>(() => InterleavedKernels.AccumulateOuter<Block256>(new float[4], 4, 1, new float[32], 32,
                new float[new InterleavedShape(4, 2, 1).Length], new InterleavedShape(4, 2, 1), 0, 2, new float[InterleavedKernels.OuterScratchLength(new InterleavedShape(4, 2, 1))], new float[16]));
        }
        finally
        {
            foreach (var pool in pools)
                pool?.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void AColumnRangeOfAProductEqualsThoseColumnsOfTheWholeProduct(bool wide)
    {
        int tile = wide ? InterleavedKernels.ColumnTile<Block512>() : InterleavedKernels.ColumnTile<Block256>();
        // rows: odd and even, a last odd row in the first slab of 64 or in the second; gate ranges: all, or the classic
        // GRU's first two and last one
        foreach (int rows in new[] { 1, 2, 3, 4, 5, 7, 70, 71 })
            foreach (int gates in new[] { 1, 3, 4 })
                foreach (var (gateStart, gateEnd) in new[] { (0, gates), (0, Math.Max(1, gates - 1)), (gates - 1, gates) }.Distinct())
                    foreach (int inputs in new[] { 37, 64 })
                    {
                        var shape = new InterleavedShape(inputs, gates, 6);
                        int columns = (gateEnd - gateStart) * 6, xStride = inputs + 3, yStride = shape.RowLength;
                        float[] x = Random(rows * xStride, 3), w = Random(shape.Length, 4), initial = Random(rows * yStride, 5);
                        var whole = (float[])initial.Clone();
                        if (wide) InterleavedKernels.MultiplyAdd<Block512>(x, xStride, rows, w, shape, gateStart, gateEnd, whole, yStride);
                        else InterleavedKernels.MultiplyAdd<Block256>(x, xStride, rows, w, shape, gateStart, gateEnd, whole, yStride);
                        // in pieces of 2 tiles (cut on tile multiples), of 1, 2, 3 and 5 columns (cut anywhere, inside tiles
                        // and in the last columns that fill no tile), each direction
                        foreach (int width in new[] { 2 * tile, 1, 2, 3, 5 })
                            foreach (bool descending in new[] { false, true })
                            {
                                var pieces = (float[])initial.Clone();
                                for (int c = 0; c < columns; c += width)
                                {
                                    int end = Math.Min(columns, c + width);
                                    if (wide) InterleavedKernels.MultiplyAdd<Block512>(x, xStride, rows, w, shape, gateStart, gateEnd, pieces, yStride, c, end, descending);
                                    else InterleavedKernels.MultiplyAdd<Block256>(x, xStride, rows, w, shape, gateStart, gateEnd, pieces, yStride, c, end, descending);
                                }
                                Assert.True(whole.AsSpan().SequenceEqual(pieces),
                                    $"rows {rows}, gates [{gateStart}, {gateEnd}) of {gates}, {inputs} inputs, pieces of {width}, descending {descending}: not bit-identical");
                            }
                    }
    }

    /// <summary>The kernels that split otherwise: a product with fewer column tiles than threads by whole slabs of 64
    /// rows (a head of few classes), the bias sums by blocks of columns, the transposed copy by blocks.</summary>
    [Theory]
    [MemberData(nameof(Widths))]
    public void RowSlabsBiasSumsAndTransposesOnAPoolEqualTheSerialOnes(bool wide)
    {
        var pools = new[] { 2, 3, 8 }.Select(t => new ComputePool(t)).ToArray();
        try
        {
            foreach (int rows in new[] { 63, 64, 65, 200, 2048 })
                foreach (var shape in new[] { new InterleavedShape(40, 1, 1), new InterleavedShape(33, 3, 2), new InterleavedShape(70, 1, 6) })
                {
                    int xStride = shape.Inputs + 3, yStride = shape.RowLength + 16;
                    float[] x = Random(rows * xStride, rows + shape.Inputs), w = Random(shape.Length, shape.Blocks);
                    float[] initial = Random(rows * yStride, 5);
                    var serial = (float[])initial.Clone();
                    if (wide) InterleavedKernels.MultiplyAdd<Block512>(x, xStride, rows, w, shape, 0, shape.Gates, serial, yStride);
                    else InterleavedKernels.MultiplyAdd<Block256>(x, xStride, rows, w, shape, 0, shape.Gates, serial, yStride);
                    var sums = Random(shape.RowLength, 9);
                    var serialSums = (float[])sums.Clone();
                    if (wide) InterleavedKernels.AccumulateRows<Block512>(initial, yStride, rows, shape.RowLength, serialSums);
                    else InterleavedKernels.AccumulateRows<Block256>(initial, yStride, rows, shape.RowLength, serialSums);
                    var serialT = new float[shape.Transposed.Length];
                    InterleavedKernels.PackTransposed(w, shape, 0, shape.Gates, serialT);
                    foreach (var pool in pools)
                    {
                        var pooled = (float[])initial.Clone();
                        if (wide) InterleavedKernels.MultiplyAdd<Block512>(pool, x, xStride, rows, w, shape, 0, shape.Gates, pooled, yStride);
                        else InterleavedKernels.MultiplyAdd<Block256>(pool, x, xStride, rows, w, shape, 0, shape.Gates, pooled, yStride);
                        Assert.True(serial.AsSpan().SequenceEqual(pooled), $"product {rows} rows, {shape}, {pool.Threads} threads");
                        var pooledSums = (float[])sums.Clone();
                        if (wide) InterleavedKernels.AccumulateRows<Block512>(pool, initial, yStride, rows, shape.RowLength, pooledSums);
                        else InterleavedKernels.AccumulateRows<Block256>(pool, initial, yStride, rows, shape.RowLength, pooledSums);
                        Assert.True(serialSums.AsSpan().SequenceEqual(pooledSums), $"sums {rows} rows, {shape}, {pool.Threads} threads");
                        var pooledT = Random(shape.Transposed.Length, 3); // stale contents: the copy clears first
                        InterleavedKernels.PackTransposed(pool, w, shape, 0, shape.Gates, pooledT);
                        Assert.True(serialT.AsSpan().SequenceEqual(pooledT), $"transpose {shape}, {pool.Threads} threads");
                    }
                }
            // transposes large enough to split (at least 16,384 floats a part)
            foreach (var shape in new[] { new InterleavedShape(300, 4, 8), new InterleavedShape(129, 3, 20) })
            {
                float[] w = Random(shape.Length, shape.Inputs);
                var serialT = new float[shape.Transposed.Length];
                InterleavedKernels.PackTransposed(w, shape, 1, shape.Gates, serialT);
                foreach (var pool in pools)
                {
                    var pooledT = Random(shape.Transposed.Length, 3);
                    InterleavedKernels.PackTransposed(pool, w, shape, 1, shape.Gates, pooledT);
                    Assert.True(serialT.AsSpan().SequenceEqual(pooledT), $"transpose {shape}, {pool.Threads} threads");
                }
            }
        }
        finally
        {
            foreach (var pool in pools) pool.Dispose();
        }
    }
}
