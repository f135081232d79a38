using FastRnn.Kernels;
using Xunit;

namespace FastRnn.Tests;

/// <summary>The layer-normalization operator on gate-interleaved rows, against a scalar double-precision spelling of
/// Ba et al.'s formula (forward) and central finite differences of it (backward), for every unit count that leaves a
/// different tail in the last block, one to four gates, both vector widths. Padded lanes hold garbage on input and
/// must be ignored by the statistics and written (or accumulated) as 0.</summary>
public class LayerNormTests
{
    private const int Rows = 3;

    public static TheoryData<int, int> Shapes()
    {
        var data = new TheoryData<int, int>();
        foreach (int gates in new[] { 1, 3, 4 })
            foreach (int units in Enumerable.Range(1, 33).Append(64).Append(65))
                data.Add(gates, units);
        return data;
    }

    private static int Width(int gates, int units) => Block.Pad(units) / Block.Width * gates * Block.Width;

    private static bool IsReal(int column, int gates, int units) =>
        column / (gates * Block.Width) * Block.Width + column % Block.Width < units;

    /// <summary>Rows of random values with an offset (so the mean matters), padded lanes set to garbage.</summary>
    private static float[] RandomRows(Random random, int gates, int units, int stride, double offset)
    {
        var x = new float[Rows * stride];
        for (int r = 0; r < Rows; r++)
            for (int c = 0; c < stride; c++)
                x[r * stride + c] = c < Width(gates, units) && IsReal(c, gates, units) ? (float)(offset + 2 * random.NextDouble() - 1) : 7f;
        return x;
    }

    /// <summary>The scalar oracle: x̂ = (x − μ)/√(σ² + ε) over a row's real values, in double.</summary>
    private static double[] Reference(float[] x, int stride, int row, int gates, int units)
    {
        int width = Width(gates, units);
        var real = Enumerable.Range(0, width).Where(c => IsReal(c, gates, units)).ToArray();
        double mean = real.Average(c => (double)x[row * stride + c]);
        double variance = real.Average(c => (x[row * stride + c] - mean) * (x[row * stride + c] - mean));
        double scale = 1 / Math.Sqrt(variance + LayerNorm.Epsilon);
        var y = new double[width];
        foreach (int c in real)
            y[c] = (x[row * stride + c] - mean) * scale;
        return y;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void NormalizeMatchesTheScalarFormula(int gates, int units)
    {
        int width = Width(gates, units), stride = width + Block.Width;
        var random = new Random(gates * 100 + units);
        var x = RandomRows(random, gates, units, stride, offset: 3);
        foreach (bool wide in new[] { false, true })
            foreach (bool inPlace in new[] { false, true })
            {
                var source = (float[])x.Clone();
                var y = inPlace ? source : Enumerable.Repeat(5f, x.Length).ToArray();
                var rstd = new float[Rows];
                if (wide) LayerNorm.Normalize<Block512>(source, y, stride, Rows, gates, units, rstd);
                else LayerNorm.Normalize<Block256>(source, y, stride, Rows, gates, units, rstd);
                for (int r = 0; r < Rows; r++)
                {
                    var expected = Reference(x, stride, r, gates, units);
                    for (int c = 0; c < width; c++)
                    {
                        float actual = y[r * stride + c];
                        if (!IsReal(c, gates, units))
                            Assert.Equal(0f, actual);
                        else
                            Assert.True(Math.Abs(actual - expected[c]) <= 2e-6 * (1 + Math.Abs(expected[c])),
                                $"{gates}×{units} row {r} column {c}: {actual} vs {expected[c]} (wide {wide}, in place {inPlace})");
                    }
                    if (!inPlace) // the stride's gap beyond the row is not touched
                        Assert.Equal(5f, y[r * stride + width]);
                }
            }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void BackwardMatchesFiniteDifferences(int gates, int units)
    {
        int width = Width(gates, units), stride = width;
        var random = new Random(gates * 1000 + units);
        var x = RandomRows(random, gates, units, stride, offset: -1);
        var gain = new float[width];
        var bias = new float[width];
        var dy = new float[Rows * stride];
        for (int c = 0; c < width; c++)
            if (IsReal(c, gates, units))
            {
                gain[c] = (float)(0.5 + random.NextDouble());
                bias[c] = (float)(random.NextDouble() - 0.5);
            }
        for (int i = 0; i < dy.Length; i++)
            dy[i] = IsReal(i % stride, gates, units) ? (float)(2 * random.NextDouble() - 1) : 9f; // garbage on padding

        // L = Σ dy⊙(γ⊙x̂ + β): ∂L/∂x by central differences of the double-precision oracle
        double Loss(float[] input, int row)
        {
            var y = Reference(input, stride, row, gates, units);
            double sum = 0;
            for (int c = 0; c < width; c++)
                if (IsReal(c, gates, units))
                    sum += dy[row * stride + c] * (gain[c] * y[c] + bias[c]);
            return sum;
        }

        foreach (bool wide in new[] { false, true })
        {
            var normalized = new float[x.Length];
            var rstd = new float[Rows];
            var dx = new float[x.Length];
            var dGain = new float[width];
            var dBias = new float[width];
            if (wide)
            {
                LayerNorm.Normalize<Block512>(x, normalized, stride, Rows, gates, units, rstd);
                LayerNorm.Backward<Block512>(dy, gain, normalized, rstd, dx, stride, Rows, gates, units, dGain, dBias);
            }
            else
            {
                LayerNorm.Normalize<Block256>(x, normalized, stride, Rows, gates, units, rstd);
                LayerNorm.Backward<Block256>(dy, gain, normalized, rstd, dx, stride, Rows, gates, units, dGain, dBias);
            }
            for (int r = 0; r < Rows; r++)
            {
                // The terms ∂x is the difference of are of size rstd·|γ⊙∂y|: float32 rounds at that scale (for two
                // units ∂x is nearly all cancellation, ε/(σ² + ε) of it).
                double scale = rstd[r] * Enumerable.Range(0, width).Where(c => IsReal(c, gates, units)).Max(c => Math.Abs(gain[c] * dy[r * stride + c]));
                for (int c = 0; c < width; c++)
                {
                    int i = r * stride + c;
                    if (!IsReal(c, gates, units))
                    {
                        Assert.Equal(0f, dx[i]);
                        continue;
                    }
                    // x near 1 with steps of 1e-3: the oracle's differences are exact to ~1e-9 here
                    const float H = 1e-3f;
                    var plus = (float[])x.Clone();
                    var minus = (float[])x.Clone();
                    plus[i] += H;
                    minus[i] -= H;
                    double numeric = (Loss(plus, r) - Loss(minus, r)) / (plus[i] - minus[i]);
                    Assert.True(Math.Abs(dx[i] - numeric) <= 1e-3 * (Math.Abs(numeric) + scale),
                        $"{gates}×{units} row {r} column {c}: ∂x {dx[i]} vs {numeric} (wide {wide})");
                }
            }
            // ∂γ = Σ_rows ∂y⊙x̂, ∂β = Σ_rows ∂y over the real lanes; nothing reaches the padding
            for (int c = 0; c < width; c++)
            {
                double gainGradient = 0, biasGradient = 0;
                if (IsReal(c, gates, units))
                    for (int r = 0; r < Rows; r++)
                    {
                        gainGradient += dy[r * stride + c] * Reference(x, stride, r, gates, units)[c];
                        biasGradient += dy[r * stride + c];
                    }
                Assert.True(Math.Abs(dGain[c] - gainGradient) <= 1e-5 * (1 + Math.Abs(gainGradient)), $"∂γ[{c}] {dGain[c]} vs {gainGradient}");
                Assert.True(Math.Abs(dBias[c] - biasGradient) <= 1e-5 * (1 + Math.Abs(biasGradient)), $"∂β[{c}] {dBias[c]} vs {biasGradient}");
            }
        }
    }

    [Fact]
    public void WrongSizesThrowNamingThem()
    {
        var rstd = new float[2];
        var ex = Assert.Throws<ArgumentException>(() => LayerNorm.Normalize<Block256>(new float[40], new float[64], 32, 2, 1, 20, rstd));
        Assert.Contains("64 floats", ex.Message);
        Assert.Contains("40", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => LayerNorm.Normalize<Block256>(new float[64], new float[64], 32, 2, 1, 20, new float[1]));
        Assert.Contains("one rstd per row (2)", ex.Message);
    }
}
