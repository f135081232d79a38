using FastRnn.Kernels;
using Xunit;

namespace FastRnn.Tests;

/// <summary>Class weights for the cross-entropies (issue 11): CrossEntropyLoss(weight=) and BCEWithLogitsLoss(pos_weight=)
/// against PyTorch (tools/make_fixtures.py weighted), the model properties that set them, and their checks.</summary>
public class WeightedLossTests
{
    private static Dictionary<string, SafetensorsEntry> Fixture() => Safetensors.Read(FixtureFiles.PathOf("weighted_losses.safetensors"));

    /// <summary>The fixture's cross-entropy case: its logits ([rows, classes]), targets (negative: ignored) and their softmax.</summary>
    private static (Dictionary<string, SafetensorsEntry> F, float[] Logits, int Classes, int Rows, int[] Targets, float[] Outputs) CrossEntropyCase()
    {
        var f = Fixture();
        float[] logits = f["ce.logits"].Data;
        int classes = f["ce.weights"].Data.Length, rows = logits.Length / classes;
        int[] targets = f["ce.targets"].Data.Select(t => t < 0 ? Losses.Ignore : (int)t).ToArray();
        var outputs = new float[logits.Length];
        LossKernels.Softmax(logits, outputs, classes, rows, classes);
        return (f, logits, classes, rows, targets, outputs);
    }

    [Fact]
    public void ClassWeightedCrossEntropyMatchesTorch()
    {
        var (f, logits, classes, rows, targets, outputs) = CrossEntropyCase();
        var gradient = new float[logits.Length];
        float loss = LossKernels.SoftmaxCrossEntropy(null, logits, outputs, classes, rows, classes, targets, gradient, f["ce.weights"].Data);
        Assert.Equal(f["ce.loss"].Data[0], loss, 1e-5f * Math.Abs(loss));
        Close.Assert(f["ce.grad"].Data, gradient, "∂loss/∂logits");
    }

    [Fact]
    public void PositiveWeightedBinaryCrossEntropyMatchesTorch()
    {
        var f = Fixture();
        float[] logits = f["bce.logits"].Data;
        int outputs = f["bce.pos_weight"].Data.Length, rows = logits.Length / outputs;
        var probabilities = new float[logits.Length];
        var gradient = new float[logits.Length];
        LossKernels.Sigmoid(logits, probabilities, outputs, rows, outputs);
        float loss = LossKernels.BinaryCrossEntropy(null, logits, probabilities, outputs, rows, outputs, f["bce.targets"].Data, gradient,
            f["bce.pos_weight"].Data);
        Assert.Equal(f["bce.loss"].Data[0], loss, 1e-5f * Math.Abs(loss));
        Close.Assert(f["bce.grad"].Data, gradient, "∂loss/∂logits");
    }

    [Fact]
    public void UnitClassWeightsGiveTheUnweightedBits()
    {
        var (_, logits, classes, rows, targets, outputs) = CrossEntropyCase();
        var plain = new float[logits.Length];
        var unit = new float[logits.Length];
        float a = LossKernels.SoftmaxCrossEntropy(logits, outputs, classes, rows, classes, targets, plain);
        float b = LossKernels.SoftmaxCrossEntropy(null, logits, outputs, classes, rows, classes, targets, unit, Enumerable.Repeat(1f, classes).ToArray());
        Assert.Equal(a, b);
        Assert.Equal(plain, unit);
    }

    [Fact]
    public void AModelsClassWeightsWeighItsLoss()
    {
        const int Batch = 4, Steps = 10;
        var model = new TinyLm(Batch, Steps, seed: 3) { Options = { Training = false } }; // no dropout: every Forward the same
        var random = new Random(5);
        int[] inputs = Enumerable.Range(0, Batch * Steps).Select(_ => random.Next(TinyLm.Vocabulary)).ToArray();
        int[] targets = Enumerable.Range(0, Batch * Steps).Select(i => i % 7 == 3 ? Losses.Ignore : random.Next(TinyLm.OutputSize)).ToArray();
        float[] weights = Enumerable.Range(0, TinyLm.OutputSize).Select(c => 0.25f + c % 4).ToArray();
        model.Forward(inputs, Batch, Steps);
        float plain = model.Loss(targets);
        model.ZeroGrad();
        model.Backward();
        float[] plainGradients = model.Gradients.ToArray();

        model.ClassWeights = weights;
        weights[0] = 100f; // the model keeps its own copy
        model.Forward(inputs, Batch, Steps);
        float weighted = model.Loss(targets);
        model.ZeroGrad();
        model.Backward();
        // a plain double reference from the model's softmax outputs
        var probabilities = new float[Batch * Steps * TinyLm.OutputSize];
        ((ISequenceModel)model).CopyOutputs(probabilities);
        double sum = 0, total = 0;
        for (int r = 0; r < targets.Length; r++)
        {
            if (targets[r] < 0)
                continue;
            double w = 0.25 + targets[r] % 4;
            sum += w * -Math.Log(probabilities[r * TinyLm.OutputSize + targets[r]]);
            total += w;
        }
        Assert.Equal(sum / total, weighted, 1e-5);
        Assert.NotEqual(plain, weighted);
        Assert.NotEqual(plainGradients, model.Gradients.ToArray());
        Assert.Equal(0.25f, model.ClassWeights![0]);

        model.ClassWeights = null;
        model.Forward(inputs, Batch, Steps);
        Assert.Equal(plain, model.Loss(targets));
    }

    [Fact]
    public void AModelsPositiveWeightsWeighItsLoss()
    {
        const int Batch = 4, Steps = 5;
        var model = new BatchNormLast(Batch, Steps, seed: 2);
        var x = Enumerable.Range(0, Batch * Steps * 5).Select(i => MathF.Sin(i * 0.4f)).ToArray();
        float[] targets = [1, 0, 0, 1, 1, 1, 0, 0];
        float[] positive = [3f, 0.5f];
        model.PositiveWeights = positive;
        model.Forward(x, Batch, Steps);
        float loss = model.Loss(targets);
        // a plain double reference from the model's sigmoid outputs: −[p·t·log y + (1 − t)·log(1 − y)], mean over elements
        double sum = 0;
        for (int r = 0; r < Batch; r++)
            for (int j = 0; j < 2; j++)
            {
                double y = model.Output(r)[j], t = targets[r * 2 + j];
                sum -= positive[j] * t * Math.Log(y) + (1 - t) * Math.Log(1 - y);
            }
        Assert.Equal(sum / (Batch * 2), loss, 5);
    }

    [Fact]
    public void BadWeightsAreRefused()
    {
        var model = new TinyLm(4, 10, seed: 3);
        var error = Assert.Throws<ArgumentException>(() => model.ClassWeights = new float[3]);
        Assert.Contains($"needs {TinyLm.OutputSize} weights", error.Message);
        Assert.Contains("got 3", error.Message);
        var weights = Enumerable.Repeat(1f, TinyLm.OutputSize).ToArray();
        weights[2] = -1f;
        Assert.Throws<ArgumentOutOfRangeException>(() => model.ClassWeights = weights);
        weights[2] = float.NaN;
        Assert.Throws<ArgumentOutOfRangeException>(() => model.ClassWeights = weights);
        Assert.Null(model.ClassWeights);

        var binary = new BatchNormLast(2, 6, seed: 1);
        binary.PositiveWeights = [3f, 0.5f];
        Assert.Equal([3f, 0.5f], binary.PositiveWeights);
        Assert.Throws<ArgumentException>(() => binary.PositiveWeights = [1f]);
    }
}
