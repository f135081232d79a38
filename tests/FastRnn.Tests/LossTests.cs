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
}
