using FastRnn.Kernels;
using Xunit;

namespace FastRnn.Tests;

/// <summary>
/// int8 (issue 13's first kernels): per-row symmetric quantization of the weights and dynamic per-row quantization of
/// the inputs against a scalar reference (every value within half a step of what it stands for, the largest at ±127,
/// the packed layout and each row's sum of weights), and the product on both paths — AVX-VNNI's VPDPBUSD and AVX2's
/// VPMADDWD, forced each in turn — against the scalar reference in double on every input count 1–70, unit counts on
/// and off the block, 1, 3 and 4 gates, 1–5 rows; the two paths give the same bits.
/// </summary>
public class Int8KernelTests
{
    /// <summary>Half a quantization step, and what float32's rounding of v / s adds to it: the quotient (|v / s| ≤ 127)
    /// is within 127·2⁻²⁴ ≈ 8e-6 of a step of the true one, so a value at a midpoint can round to the farther side.</summary>
    private const double HalfStep = 0.5 + 1e-5;

    /// <summary>The scalar reference of the quantization: q = round(v / s) (ties to even) in [−127, 127], s = max|v| / 127.</summary>
    private static (int[] Values, float Scale) Reference(float[] values)
    {
        float largest = values.Select(MathF.Abs).DefaultIfEmpty(0).Max();
        float scale = largest / 127f;
        return (values.Select(v => scale == 0 ? 0 : (int)Math.Clamp(Math.Round((double)(v / scale), MidpointRounding.ToEven), -127, 127)).ToArray(), scale);
    }

    public static TheoryData<int, int> Shapes()
    {
        var data = new TheoryData<int, int>();
        foreach (int units in new[] { 1, 15, 16, 17, 33, 70 })
            foreach (int gates in new[] { 1, 3, 4 })
                data.Add(units, gates);
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void QuantizationAndTheProductMatchTheScalarReferenceOnEveryInputCount(int units, int gates)
    {
        var random = new Random(units * 37 + gates);
        for (int inputs = 1; inputs <= 70; inputs++)
        {
            var shape = new InterleavedShape(inputs, gates, Block.Pad(units) / Block.Width);
            var weights = new float[shape.Length];
            for (int j = 0; j < units; j++)
                for (int g = 0; g < gates; g++)
                {
                    float range = (float)Math.Pow(10, random.Next(-3, 2)); // rows of different magnitudes
                    for (int k = 0; k < inputs; k++)
                        weights[shape.IndexOf(j, g, k)] = (float)(random.NextDouble() * 2 - 1) * range;
                }
            var packed = new int[Int8Kernels.PackedLength(shape)];
            var scales = new float[shape.RowLength];
            var sums = new int[shape.RowLength];
            Int8Kernels.Quantize(weights, shape, packed, scales, sums);

            // the weights: each row against the reference, in the packed layout; every value within half a step
            var quantized = new int[units, gates, inputs];
            for (int j = 0; j < units; j++)
                for (int g = 0; g < gates; g++)
                {
                    var row = Enumerable.Range(0, inputs).Select(k => weights[shape.IndexOf(j, g, k)]).ToArray();
                    var (expected, scale) = Reference(row);
                    int at = shape.RowIndexOf(j, g);
                    Assert.Equal(scale, scales[at]);
                    Assert.Equal(expected.Sum(), sums[at]);
                    Assert.Equal(127, expected.Max(Math.Abs));
                    for (int k = 0; k < inputs; k++)
                    {
                        int lane = packed[((j / Block.Width * Int8Kernels.Quads(shape) + k / 4) * gates + g) * Block.Width + j % Block.Width];
                        int value = (sbyte)(lane >> (8 * (k % 4)));
                        Assert.Equal(expected[k], value);
                        Assert.True(Math.Abs(value * (double)scale - row[k]) <= scale * HalfStep, $"weight {row[k]:R} → {value}·{scale:R}");
                        quantized[j, g, k] = value;
                    }
                }

            int rows = 1 + inputs % 5, xStride = inputs + 3, yStride = shape.RowLength + 16;
            var x = Enumerable.Range(0, rows * xStride).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
            if (inputs % 7 == 0)
                Array.Clear(x, 0, inputs); // a row of zeros adds nothing
            var y = Enumerable.Range(0, rows * yStride).Select(_ => (float)random.NextDouble()).ToArray();
            var scratch = new byte[Int8Kernels.ScratchLength(shape, rows)];
            var widened = (float[])y.Clone();
            Int8Kernels.MultiplyAdd(x, xStride, rows, packed, scales, sums, shape, scratch, widened, yStride, vnni: false);
            if (Int8Kernels.HasVnni)
            {
                var vnni = (float[])y.Clone();
                Int8Kernels.MultiplyAdd(x, xStride, rows, packed, scales, sums, shape, scratch, vnni, yStride, vnni: true);
                Assert.Equal(widened, vnni); // the same integers, the same float operations
            }

            for (int r = 0; r < rows; r++)
            {
                var (qx, inputScale) = Reference(x.Skip(r * xStride).Take(inputs).ToArray());
                for (int j = 0; j < shape.Blocks * Block.Width; j++)
                    for (int g = 0; g < gates; g++)
                    {
                        int at = r * yStride + shape.RowIndexOf(j, g);
                        if (j >= units || inputScale == 0)
                        {
                            Assert.Equal(y[at], widened[at]); // padded units (scale 0) and zero rows add nothing
                            continue;
                        }
                        long dot = 0;
                        for (int k = 0; k < inputs; k++)
                            dot += (long)qx[k] * quantized[j, g, k];
                        double expected = y[at] + (double)inputScale * scales[shape.RowIndexOf(j, g)] * dot;
                        double magnitude = Math.Abs(y[at]) + Math.Abs((double)inputScale * scales[shape.RowIndexOf(j, g)] * dot);
                        Assert.True(Math.Abs(widened[at] - expected) <= 1e-6 * magnitude + 1e-9,
                            $"{inputs} inputs, row {r}, unit {j}, gate {g}: expected {expected:R}, got {widened[at]:R}");
                    }
                for (int i = shape.RowLength; i < yStride; i++)
                    Assert.Equal(y[r * yStride + i], widened[r * yStride + i]);
            }
        }
    }

    [Fact]
    public void InputsQuantizeWithinHalfAStepAndPadWithZero()
    {
        var random = new Random(5);
        for (int inputs = 1; inputs <= 70; inputs++)
        {
            var x = Enumerable.Range(0, inputs).Select(_ => (float)(random.NextDouble() * 6 - 3)).ToArray();
            var bytes = new byte[(inputs + 3) / 4 * 4];
            float scale = Int8Kernels.QuantizeInput(x, inputs, bytes);
            var (expected, referenceScale) = Reference(x);
            Assert.Equal(referenceScale, scale);
            for (int k = 0; k < bytes.Length; k++)
            {
                int value = bytes[k] - 128;
                Assert.Equal(k < inputs ? expected[k] : 0, value);
                if (k < inputs)
                    Assert.True(Math.Abs(value * (double)scale - x[k]) <= scale * HalfStep);
            }
        }
    }
    [Fact]
    public void InputTiesRoundToEvenAndAZeroOrNonFiniteRowGivesNoBytes()
    {
        foreach (int inputs in new[] { 1, 7, 8, 31, 32, 33, 64, 70 })
        {
            // scale 1 (the largest is 127): every other value sits at a midpoint, which rounds to the even neighbor
            var x = Enumerable.Range(0, inputs).Select(k => k == inputs - 1 ? 127f : (k % 2 == 0 ? 1 : -1) * (k % 120 + 0.5f)).ToArray();
            var bytes = new byte[(inputs + 3) / 4 * 4];
            Assert.Equal(1f, Int8Kernels.QuantizeInput(x, inputs, bytes));
            Assert.Equal(Reference(x).Values, bytes.Take(inputs).Select(b => b - 128));
            Assert.All(bytes.Skip(inputs), b => Assert.Equal(128, b));

            // a row of zeros, and rows with an infinity or a NaN anywhere: every byte 128 (zero)
            foreach (var (poison, at) in new[] { (0f, -1), (float.PositiveInfinity, 0), (float.NegativeInfinity, inputs - 1), (float.NaN, inputs / 2), (float.NaN, inputs - 1) })
            {
                var row = at < 0 ? new float[inputs] : x.ToArray();
                if (at >= 0)
                    row[at] = poison;
                Array.Fill(bytes, (byte)7);
                float scale = Int8Kernels.QuantizeInput(row, inputs, bytes);
                if (at < 0)
                    Assert.Equal(0f, scale);
                else if (float.IsNaN(poison))
                    Assert.True(float.IsNaN(scale), $"{inputs} inputs, NaN at {at}: scale {scale}");
                else
                    Assert.Equal(float.PositiveInfinity, scale);
                Assert.All(bytes, b => Assert.Equal(128, b));
            }
        }
    }
}
