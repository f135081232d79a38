using FastRnn.Kernels;
using Xunit;

namespace FastRnn.Tests;

/// <summary>
/// bfloat16 (issue 13's first kernels): rounding to bfloat16 against an oracle that picks the nearer of the two
/// neighbours in double arithmetic (ties to the even one) and against PyTorch's own conversion of a state dict
/// (tools/make_fixtures.py pytorch); the packed product against a scalar reference in double on every input count 1–70,
/// unit counts on and off the block, 1, 3 and 4 gates, 1–5 rows, both vector widths.
/// </summary>
public class BFloat16KernelTests
{
    /// <summary>The oracle: of the two bfloat16 values around <paramref name="value"/>, the nearer, ties to the one with
    /// an even last bit; NaN stays NaN.</summary>
    private static float Nearest(float value)
    {
        if (float.IsNaN(value) || float.IsInfinity(value))
            return value;
        uint bits = BitConverter.SingleToUInt32Bits(value);
        float down = BitConverter.UInt32BitsToSingle(bits & 0xFFFF_0000);                    // toward zero
        float up = BitConverter.UInt32BitsToSingle((bits & 0xFFFF_0000) + 0x1_0000);          // away from zero (may be ∞)
        // past the largest bfloat16 the next value up is ∞, and rounding treats it as 2^128 (an unbounded exponent)
        double upValue = float.IsInfinity(up) ? Math.CopySign(Math.Pow(2, 128), value) : up;
        double toDown = Math.Abs((double)value - down), toUp = Math.Abs((double)value - upValue);
        if (toDown < toUp)
            return down;
        if (toUp < toDown)
            return up;
        return ((bits >> 16) & 1) == 0 ? down : up;
    }

    [Fact]
    public void RoundsToTheNearestBFloat16TiesToEven()
    {
        float[] special =
        [
            0f, -0f, 1f, -1f, float.Epsilon, -float.Epsilon, float.MaxValue, -float.MaxValue, float.PositiveInfinity, float.NegativeInfinity,
            BitConverter.UInt32BitsToSingle(0x3F80_8000), // 1 + 2^-8: exactly halfway, even below → 1
            BitConverter.UInt32BitsToSingle(0x3F81_8000), // halfway, even above → 1 + 2^-6
            BitConverter.UInt32BitsToSingle(0x3F80_8001), // just past halfway → up
            BitConverter.UInt32BitsToSingle(0x7F7F_8000), // halfway between the largest bfloat16 and 2^128 → ∞
            BitConverter.UInt32BitsToSingle(0x7F7F_7FFF), // just below it → the largest
            BitConverter.UInt32BitsToSingle(0x0000_8000), // a subnormal halfway → 0
            BitConverter.UInt32BitsToSingle(0x0001_8000), // a subnormal halfway, even above
        ];
        var random = new Random(13);
        var values = special.Concat(Enumerable.Range(0, 200_000).Select(_ => BitConverter.Int32BitsToSingle(random.Next() ^ (random.Next(2) << 31))));
        foreach (float value in values.Where(v => !float.IsNaN(v)))
        {
            float expected = Nearest(value);
            float actual = BFloat16.ToSingle(BFloat16.FromSingle(value));
            Assert.True(BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(actual),
                $"{value:R} (0x{BitConverter.SingleToUInt32Bits(value):X8}): expected {expected:R}, got {actual:R}");
        }
        Assert.True(float.IsNaN(BFloat16.ToSingle(BFloat16.FromSingle(float.NaN))));
        Assert.True(float.IsNaN(BFloat16.ToSingle(BFloat16.FromSingle(BitConverter.UInt32BitsToSingle(0x7F80_0001))))); // a NaN whose payload is all in the dropped bits
    }

    [Fact]
    public void RoundsAsPyTorchDoes()
    {
        // StLstm_BF16.safetensors: the float32 state dict converted by torch's .to(torch.bfloat16)
        var reference = Safetensors.Read(FixtureFiles.PathOf("PtReference.safetensors"));
        var torch = Safetensors.Read(FixtureFiles.PathOf("StLstm_BF16.safetensors"));
        int compared = 0;
        foreach (var (name, entry) in torch)
        {
            var source = reference["F32." + name].Data;
            for (int i = 0; i < source.Length; i++, compared++)
                Assert.Equal(BitConverter.SingleToUInt32Bits(entry.Data[i]), BitConverter.SingleToUInt32Bits(BFloat16.ToSingle(BFloat16.FromSingle(source[i]))));
        }
        Assert.True(compared > 2000);
    }

    public static TheoryData<bool, int, int> Shapes()
    {
        var data = new TheoryData<bool, int, int>();
        foreach (bool wide in new[] { false, true })
            foreach (int units in new[] { 1, 15, 16, 17, 33, 70 })
                foreach (int gates in new[] { 1, 3, 4 })
                    data.Add(wide, units, gates);
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void TheProductMatchesTheScalarReferenceOnEveryInputCount(bool wide, int units, int gates)
    {
        var random = new Random(units * 31 + gates);
        for (int inputs = 1; inputs <= 70; inputs++)
        {
            var shape = new InterleavedShape(inputs, gates, Block.Pad(units) / Block.Width);
            var weights = new float[shape.Length];
            for (int j = 0; j < units; j++)
                for (int g = 0; g < gates; g++)
                    for (int k = 0; k < inputs; k++)
                        weights[shape.IndexOf(j, g, k)] = (float)(random.NextDouble() * 2 - 1);
            var packed = new uint[BFloat16Kernels.PackedLength(shape)];
            BFloat16Kernels.Pack(weights, shape, packed);
            int rows = 1 + inputs % 5, xStride = inputs + 3, yStride = shape.RowLength + 16;
            var x = Enumerable.Range(0, rows * xStride).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
            var y = Enumerable.Range(0, rows * yStride).Select(_ => (float)random.NextDouble()).ToArray();
            var before = (float[])y.Clone();
            if (wide) BFloat16Kernels.MultiplyAdd<Block512>(x, xStride, rows, packed, shape, y, yStride);
            else BFloat16Kernels.MultiplyAdd<Block256>(x, xStride, rows, packed, shape, y, yStride);
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < shape.Blocks * Block.Width; j++)
                    for (int g = 0; g < gates; g++)
                    {
                        int at = r * yStride + shape.RowIndexOf(j, g);
                        if (j >= units)
                        {
                            Assert.Equal(before[at], y[at]); // a padded unit's weights are zero
                            continue;
                        }
                        double sum = before[at], magnitude = Math.Abs(before[at]);
                        for (int k = 0; k < inputs; k++)
                        {
                            double term = (double)x[r * xStride + k] * BFloat16.ToSingle(BFloat16.FromSingle(weights[shape.IndexOf(j, g, k)]));
                            sum += term;
                            magnitude += Math.Abs(term);
                        }
                        // float32 products and sums of the bfloat16 weights: within float32's rounding of the terms
                        Assert.True(Math.Abs(y[at] - sum) <= 2e-6 * magnitude + 1e-7,
                            $"{inputs} inputs, row {r}, unit {j}, gate {g}: expected {sum:R}, got {y[at]:R} (scale {magnitude:R})");
                    }
            // the padding between rows is not written
            for (int r = 0; r < rows; r++)
                for (int i = shape.RowLength; i < yStride; i++)
                    Assert.Equal(before[r * yStride + i], y[r * yStride + i]);
        }
    }
}
