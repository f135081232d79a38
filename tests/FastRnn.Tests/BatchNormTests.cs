using FastRnn.Kernels;
using Xunit;

namespace FastRnn.Tests;

/// <summary>The batch-normalization operator against a scalar double-precision spelling (forward, running statistics)
/// and central finite differences (backward, with batch and with running statistics), both widths; and the model-level
/// rules: running statistics move only in training, inference reads them, per-row lengths are refused.</summary>
public class BatchNormTests
{
    public static TheoryData<int, int> Shapes()
    {
        var data = new TheoryData<int, int>();
        foreach (int rows in new[] { 1, 2, 5, 17 })
            foreach (int width in new[] { 16, 48 })
                data.Add(rows, width);
        return data;
    }

    private static float[] Random(int count, int seed, double offset) =>
        Enumerable.Range(0, count).Select(i => (float)(offset + 2 * new Random(seed * 7919 + i).NextDouble() - 1)).ToArray();

    /// <summary>y = γ(x − μ)/√(σ² + ε) + β per column over the rows, in double.</summary>
    private static double[] Reference(float[] x, int stride, int rows, int width, float[] gain, float[] bias)
    {
        var y = new double[x.Length];
        for (int c = 0; c < width; c++)
        {
            double mean = Enumerable.Range(0, rows).Average(r => (double)x[r * stride + c]);
            double variance = Enumerable.Range(0, rows).Average(r => (x[r * stride + c] - mean) * (x[r * stride + c] - mean));
            for (int r = 0; r < rows; r++)
                y[r * stride + c] = gain[c] * (x[r * stride + c] - mean) / Math.Sqrt(variance + BatchNorm.Epsilon) + bias[c];
        }
        return y;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void ForwardBackwardAndRunningStatisticsMatchTheScalarFormulas(int rows, int width)
    {
        int stride = width + 16;
        var x = Random(rows * stride, rows * 100 + width, offset: 2);
        var gain = Random(width, 1, offset: 1);
        var bias = Random(width, 2, offset: 0);
        var dy = Random(rows * stride, 3, offset: 0);
        var expected = Reference(x, stride, rows, width, gain, bias);
        foreach (bool wide in new[] { false, true })
        {
            var mean = new float[width];
            var rstd = new float[width];
            var y = new float[x.Length];
            var dx = new float[x.Length];
            var dGain = new float[width];
            var dBias = new float[width];
            var scratch = new float[2 * width];
            if (wide)
            {
                BatchNorm.Statistics<Block512>(x, stride, rows, width, mean, rstd);
                BatchNorm.Apply<Block512>(x, stride, rows, width, mean, rstd, gain, bias, y, stride);
                BatchNorm.Backward<Block512>(dy, stride, x, stride, rows, width, mean, rstd, gain, true, dx, stride, dGain, dBias, scratch);
            }
            else
            {
                BatchNorm.Statistics<Block256>(x, stride, rows, width, mean, rstd);
                BatchNorm.Apply<Block256>(x, stride, rows, width, mean, rstd, gain, bias, y, stride);
                BatchNorm.Backward<Block256>(dy, stride, x, stride, rows, width, mean, rstd, gain, true, dx, stride, dGain, dBias, scratch);
            }
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < width; c++)
                {
                    int i = r * stride + c;
                    Assert.True(Math.Abs(y[i] - expected[i]) <= 2e-5 * (1 + Math.Abs(expected[i])), $"y[{r},{c}] {y[i]} vs {expected[i]}");
                    // L = Σ dy⊙y:  ∂L/∂x by central differences of the double-precision forward
                    double Loss(float shift)
                    {
                        var moved = (float[])x.Clone();
                        moved[i] += shift;
                        var yy = Reference(moved, stride, rows, width, gain, bias);
                        return Enumerable.Range(0, rows).Sum(rr => dy[rr * stride + c] * yy[rr * stride + c]);
                    }
                    const float H = 1e-3f;
                    double numeric = (Loss(H) - Loss(-H)) / (2 * H);
                    double scale = gain[c] * rstd[c] * dy.Max(Math.Abs);
                    Assert.True(Math.Abs(dx[i] - numeric) <= 1e-3 * (Math.Abs(numeric) + scale), $"∂x[{r},{c}] {dx[i]} vs {numeric} (wide {wide})");
                }
            for (int c = 0; c < width; c++)
            {
                double sum = Enumerable.Range(0, rows).Sum(r => (double)dy[r * stride + c]);
                double sumX = Enumerable.Range(0, rows).Sum(r => dy[r * stride + c] * (expected[r * stride + c] - bias[c]) / gain[c]);
                Assert.True(Math.Abs(dBias[c] - sum) <= 1e-5 * (1 + Math.Abs(sum)), $"∂β[{c}]");
                Assert.True(Math.Abs(dGain[c] - sumX) <= 1e-4 * (1 + Math.Abs(sumX)), $"∂γ[{c}] {dGain[c]} vs {sumX}");
            }

            // running = 0.9·running + 0.1·batch, the variance unbiased (N/(N − 1)), PyTorch's rule
            var runningMean = Enumerable.Repeat(0.5f, width).ToArray();
            var runningVariance = Enumerable.Repeat(2f, width).ToArray();
            if (wide) BatchNorm.UpdateRunning<Block512>(mean, rstd, rows, runningMean, runningVariance);
            else BatchNorm.UpdateRunning<Block256>(mean, rstd, rows, runningMean, runningVariance);
            for (int c = 0; c < width; c++)
            {
                double m = Enumerable.Range(0, rows).Average(r => (double)x[r * stride + c]);
                double v = Enumerable.Range(0, rows).Sum(r => (x[r * stride + c] - m) * (x[r * stride + c] - m)) / Math.Max(1, rows - 1);
                Assert.Equal(0.9 * 0.5 + 0.1 * m, runningMean[c], 1e-5);
                Assert.True(Math.Abs(runningVariance[c] - (0.9 * 2 + 0.1 * v)) <= 1e-4 * (1 + v), $"running variance [{c}] {runningVariance[c]} vs {0.9 * 2 + 0.1 * v}");
            }

            // inference: the running statistics in the batch's place, and backward through that affine map
            var inferred = new float[x.Length];
            if (wide) BatchNorm.Infer<Block512>(x, stride, rows, width, runningMean, runningVariance, gain, bias, new float[width], inferred, stride);
            else BatchNorm.Infer<Block256>(x, stride, rows, width, runningMean, runningVariance, gain, bias, new float[width], inferred, stride);
            var runningRstd = new float[width];
            if (wide) BatchNorm.RunningRstd<Block512>(runningVariance, runningRstd);
            else BatchNorm.RunningRstd<Block256>(runningVariance, runningRstd);
            Array.Clear(dx);
            if (wide) BatchNorm.Backward<Block512>(dy, stride, x, stride, rows, width, runningMean, runningRstd, gain, false, dx, stride, dGain, dBias, scratch);
            else BatchNorm.Backward<Block256>(dy, stride, x, stride, rows, width, runningMean, runningRstd, gain, false, dx, stride, dGain, dBias, scratch);
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < width; c++)
                {
                    int i = r * stride + c;
                    double scaleC = gain[c] / Math.Sqrt(runningVariance[c] + BatchNorm.Epsilon);
                    double value = (x[i] - runningMean[c]) * scaleC + bias[c];
                    Assert.True(Math.Abs(inferred[i] - value) <= 2e-5 * (1 + Math.Abs(value)), $"inferred [{r},{c}]");
                    Assert.True(Math.Abs(dx[i] - dy[i] * scaleC) <= 1e-5 * (1 + Math.Abs(dy[i] * scaleC)), $"affine ∂x [{r},{c}]");
                }
        }
    }

    [Fact]
    public void RunningStatisticsMoveOnlyInTrainingAndInferenceReadsThem()
    {
        var model = new BatchNormLm(2, 3, seed: 4);
        var tokens = new[] { 1, 2, 3, 4, 5, 6 };
        var before = model.Statistics.ToArray();
        model.Options.Training = false;
        model.Forward(tokens, 2, 3);
        Assert.Equal(before, model.Statistics.ToArray());
        var outputs = new float[6 * 20];
        ((ISequenceModel)model).CopyOutputs(outputs);
        // the streaming step at inference gives the same outputs
        var state = model.CreateState(2);
        var stepOutput = new float[2 * 20];
        for (int t = 0; t < 3; t++)
        {
            model.Step(tokens.AsSpan(t * 2, 2), state, stepOutput);
            for (int i = 0; i < stepOutput.Length; i++)
                Assert.True(Math.Abs(stepOutput[i] - outputs[t * 40 + i]) <= 1e-5f, $"step {t} output {i}");
        }
        model.Options.Training = true;
        model.Forward(tokens, 2, 3);
        Assert.NotEqual(before, model.Statistics.ToArray());
    }

    [Fact]
    public void StatisticsOverRealRowsLeaveThePaddedRowsOut()
    {
        // Rows of a time-major batch of 2 (lengths 3 and 1) over 3 steps: rows 0, 1 (step 0), 2 (step 1 of sequence 0)
        // and 4 (step 2 of sequence 0) are real; 3 and 5 are padding and hold values that would move any statistic.
        const int Width = 16;
        float[] values = [1, 2, 3, 100, 5, -100];
        var x = values.SelectMany(v => Enumerable.Repeat(v, Width)).ToArray();
        var mean = new float[Width];
        var rstd = new float[Width];
        BatchNorm.Statistics<Block512>(x, Width, 6, Width, mean, rstd, new RealRows([3, 1]));
        double m = (1 + 2 + 3 + 5) / 4.0, variance = new[] { 1.0, 2, 3, 5 }.Sum(v => (v - m) * (v - m)) / 4;
        Assert.All(mean, v => Assert.Equal(m, v, 5));
        Assert.All(rstd, v => Assert.Equal(1 / Math.Sqrt(variance + BatchNorm.Epsilon), v, 5));
        // the gradient of a padded row is zero, whatever arrives there
        var dy = Enumerable.Range(0, 6 * Width).Select(i => (float)Math.Sin(i)).ToArray();
        var dx = new float[dy.Length];
        var gain = Enumerable.Repeat(1f, Width).ToArray();
        BatchNorm.Backward<Block512>(dy, Width, x, Width, 6, Width, mean, rstd, gain, true, dx, Width, new float[Width], new float[Width], new float[2 * Width],
            new RealRows([3, 1]));
        Assert.All(dx.AsSpan(3 * Width, Width).ToArray(), v => Assert.Equal(0f, v));
        Assert.All(dx.AsSpan(5 * Width, Width).ToArray(), v => Assert.Equal(0f, v));
        Assert.Contains(dx.Take(Width), v => v != 0f);
    }
}

/// <summary>A last-step head over a batch-normalized top layer reads, under per-row lengths, each row's normalized output
/// at its own last real step: in inference (running statistics, so rows are independent) each row's output is the row run
/// alone, and lengths that are all full give what no lengths give. (ONNX Runtime on the exported model found this read
/// the wrong rows: the row index was not parenthesized in the generated offset.)</summary>
public class NormalizedTopLengthTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EachRowIsReadAtItsOwnLastStep(bool wide)
    {
        const int Batch = 3, Steps = 6, Inputs = 4;
        OnnxNormLast model;
        using (VectorPath.Override(wide))
            model = new OnnxNormLast(Batch, Steps, 18);
        var random = new Random(3);
        var x = Enumerable.Range(0, Steps * Batch * Inputs).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        for (int i = 0; i < 3; i++)
            model.Forward(x, Batch, Steps); // running statistics away from 0 and 1
        model.Options.Training = false;
        float[] Outputs(int batch) => Enumerable.Range(0, batch).SelectMany(r => model.Output(r).ToArray()).ToArray();

        model.Forward(x, Batch, Steps);
        var unpadded = Outputs(Batch);
        model.Forward(x, Batch, Steps, [Steps, Steps, Steps]);
        Assert.Equal(unpadded, Outputs(Batch));

        int[] lengths = [Steps, 2, 5];
        model.Forward(x, Batch, Steps, lengths);
        var batched = Outputs(Batch);
        for (int r = 0; r < Batch; r++)
        {
            model.Forward(Sequences.Row(x, Batch, Inputs, r, lengths[r]), 1, lengths[r]);
            Close.Assert(Outputs(1), batched.AsSpan(r * OnnxNormLast.OutputSize, OnnxNormLast.OutputSize).ToArray(), $"row {r}");
        }
    }
}
