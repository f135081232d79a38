using FastRnn.Kernels;
using Xunit;

namespace FastRnn.Tests;

public class LossTests
{
    [Fact]
    public void SoftmaxCrossEntropyIsExactWhenTheTargetProbabilityUnderflows()
    {
        float[] logits = [0f, -200f, 0f, 5f];
        var outputs = new float[4];
        var gradient = new float[4];
        LossKernels.Softmax(logits, outputs, 4, 1, 4);
        Assert.Equal(0f, outputs[1]);
        float loss = LossKernels.SoftmaxCrossEntropy(logits, outputs, 4, 1, 4, [1], gradient);
        double expected = Math.Log(Math.Exp(0) + Math.Exp(-200) + Math.Exp(0) + Math.Exp(5)) + 200;
        Assert.Equal(expected, loss, 3);
        Assert.Equal(-1f, gradient[1], 6);
    }

    [Fact]
    public void BinaryCrossEntropyIsStableForLargeLogits()
    {
        float[] logits = [80f, -80f];
        var outputs = new float[2];
        var gradient = new float[2];
        LossKernels.Sigmoid(logits, outputs, 2, 1, 2);
        float loss = LossKernels.BinaryCrossEntropy(logits, outputs, 2, 1, 2, [0f, 1f], gradient);
        Assert.Equal(80.0, loss, 3); // each element loses 80 nats; the mean is 80
        Assert.True(float.IsFinite(gradient[0]) && float.IsFinite(gradient[1]));
    }

    [Fact]
    public void WrongTargetCountsAndClassesAreRejected()
    {
        var buffer = new float[4];
        Assert.Throws<ArgumentException>(() => LossKernels.MeanSquaredError(buffer, 4, 1, 4, new float[3], buffer, false));
        Assert.Throws<ArgumentOutOfRangeException>(() => LossKernels.SoftmaxCrossEntropy(buffer, buffer, 4, 1, 4, [4], new float[4]));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(8)]
    public void HeadRowsOnAPoolGiveTheSerialBits(int threads)
    {
        const int rows = 301, width = 130, stride = 144; // 39,130 elements: split on every pool here
        var random = new Random(7);
        float[] logits = [.. Enumerable.Range(0, rows * stride).Select(_ => (float)(random.NextDouble() * 8 - 4))];
        float[] dense = [.. Enumerable.Range(0, rows * width).Select(_ => (float)random.NextDouble())];
        int[] classes = [.. Enumerable.Range(0, rows).Select(r => r % 7 == 0 ? Losses.Ignore : random.Next(width))];
        using var pool = new ComputePool(threads);

        (float[] Outputs, float[] Gradient, float Loss) Run(ComputePool? p, string kind)
        {
            var outputs = new float[rows * stride];
            var gradient = new float[rows * stride];
            float loss;
            switch (kind)
            {
                case "softmax":
                    LossKernels.Softmax(p, logits, outputs, stride, rows, width);
                    loss = LossKernels.SoftmaxCrossEntropy(p, logits, outputs, stride, rows, width, classes, gradient);
                    break;
                case "sigmoid":
                    LossKernels.Sigmoid(p, logits, outputs, stride, rows, width);
                    loss = LossKernels.BinaryCrossEntropy(p, logits, outputs, stride, rows, width, dense, gradient)
                        + LossKernels.MeanSquaredError(p, outputs, stride, rows, width, dense, gradient, sigmoid: true);
                    break;
                default:
                    LossKernels.Identity(p, logits, outputs, stride, rows, width);
                    loss = LossKernels.MeanSquaredError(p, outputs, stride, rows, width, dense, gradient, sigmoid: false);
                    break;
            }
            return (outputs, gradient, loss);
        }

        foreach (string kind in new[] { "softmax", "sigmoid", "identity" })
        {
            var serial = Run(null, kind);
            var pooled = Run(pool, kind);
            Assert.Equal(serial.Outputs, pooled.Outputs);
            Assert.Equal(serial.Gradient, pooled.Gradient);
            Assert.Equal(BitConverter.SingleToInt32Bits(serial.Loss), BitConverter.SingleToInt32Bits(pooled.Loss));
        }

        // The split loss is still the loss: softmax cross-entropy against a plain double reference.
        double sum = 0;
        int counted = 0;
        for (int r = 0; r < rows; r++)
        {
            if (classes[r] < 0)
                continue;
            double max = double.NegativeInfinity, total = 0;
            for (int j = 0; j < width; j++) max = Math.Max(max, logits[r * stride + j]);
            for (int j = 0; j < width; j++) total += Math.Exp(logits[r * stride + j] - max);
            sum += max + Math.Log(total) - logits[r * stride + classes[r]];
            counted++;
        }
        Assert.Equal(sum / counted, Run(pool, "softmax").Loss, 1e-5);
    }
}
