using FastRnn.Kernels;
using FastRnn.Training;
using Xunit;

namespace FastRnn.Tests;

/// <summary>The language-model trainer: the batchified layout, state carried across segments (segment length does not
/// change the loss), learning a deterministic sequence, early stopping with restored weights, the schedule hook, and
/// zero allocation per epoch.</summary>
public class TrainerTests
{
    private static int[] Pattern(int count) => Enumerable.Range(0, count).Select(i => i % 10).ToArray();

    [Fact]
    public void TheStreamIsCutIntoContiguousColumns()
    {
        var stream = new TokenStream(Enumerable.Range(0, 23).ToArray(), 3);
        Assert.Equal(7, stream.Length); // 21 tokens used, 2 dropped
        Assert.Equal(18, stream.Targets);
        Assert.Equal(2, stream.Segments(4));
        var inputs = new int[12];
        var targets = new int[12];
        Assert.Equal(4, stream.Segment(0, 4, inputs, targets));
        Assert.Equal([0, 7, 14, 1, 8, 15, 2, 9, 16, 3, 10, 17], inputs);
        Assert.Equal([1, 8, 15, 2, 9, 16, 3, 10, 17, 4, 11, 18], targets);
        Assert.Equal(2, stream.Segment(1, 4, inputs, targets));
        Assert.Equal([4, 11, 18, 5, 12, 19], inputs.Take(6));
        Assert.Equal([5, 12, 19, 6, 13, 20], targets.Take(6));
        Assert.Throws<ArgumentOutOfRangeException>(() => stream.Segment(2, 4, inputs, targets));
    }

    [Fact]
    public void CarriedStateMakesTheSegmentLengthIrrelevant()
    {
        var model = new TinyLm(4, 60, seed: 2);
        var data = new TokenStream(Enumerable.Range(0, 4 * 50).Select(i => (i * 7 + i / 3) % 10).ToArray(), 4);
        double whole = new LanguageModelTrainer(model, new Sgd(model, 0.1f), 60).Evaluate(data);
        double pieces = new LanguageModelTrainer(model, new Sgd(model, 0.1f), 7).Evaluate(data);
        Assert.Equal(whole, pieces, 5);
        Assert.True(model.Options.Training); // Evaluate restores the mode
    }

    [Fact]
    public void ItLearnsADeterministicSequence()
    {
        var model = new TinyLm(4, 10, seed: 3);
        var trainer = new LanguageModelTrainer(model, new Adam(model, 1e-2f), 10);
        var history = trainer.Fit(new TokenStream(Pattern(2000), 4), new TokenStream(Pattern(400), 4), epochs: 4);
        Assert.Equal(4, history.Count);
        Assert.True(history[^1].ValidationLoss < 0.05, $"validation loss {history[^1].ValidationLoss}");
        Assert.True(history[0].TrainLoss > history[^1].TrainLoss);
        Assert.Equal(Math.Exp(history[^1].ValidationLoss!.Value), history[^1].ValidationPerplexity!.Value, 12);
    }

    [Fact]
    public void EarlyStoppingStopsAndRestoresTheBestWeights()
    {
        var model = new TinyLm(4, 10, seed: 3);
        var trainer = new LanguageModelTrainer(model, new Sgd(model, 1f), 10);
        var stopping = new EarlyStopping(patience: 2, restoreBestWeights: true);
        float[]? afterFirst = null;
        // lr 1 in epoch 0, then 0: the validation loss stops improving and the run stops two epochs later
        var history = trainer.Fit(new TokenStream(Pattern(400), 4), new TokenStream(Pattern(200), 4), epochs: 10,
            learningRate: e => e == 0 ? 1f : 0f, earlyStopping: stopping,
            onEpoch: r => { if (r.Epoch == 0) afterFirst = model.Parameters.ToArray(); });
        Assert.Equal(3, history.Count);
        Assert.Equal(2, stopping.StoppedEpoch);
        Assert.Equal([1f, 0f, 0f], history.Select(r => r.LearningRate));
        Assert.Equal(afterFirst, model.Parameters.ToArray());
    }

    [Fact]
    public void AnEpochAllocatesNothing()
    {
        var model = new TinyLm(4, 10, seed: 3);
        var trainer = new LanguageModelTrainer(model, new Adam(model), 10);
        var train = new TokenStream(Pattern(800), 4);
        trainer.TrainEpoch(train);
        trainer.Evaluate(train);
        long before = GC.GetAllocatedBytesForCurrentThread();
        trainer.TrainEpoch(train);
        trainer.Evaluate(train);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void ShapesAreChecked()
    {
        var model = new TinyLm(4, 10);
        Assert.Throws<ArgumentOutOfRangeException>(() => new LanguageModelTrainer(model, new Adam(model), 11));
        var trainer = new LanguageModelTrainer(model, new Adam(model), 10);
        var error = Assert.Throws<ArgumentException>(() => trainer.TrainEpoch(new TokenStream(Pattern(100), 3)));
        Assert.Contains("3 columns", error.Message);
        var dense = new LstmSmall(1, 1);
        Assert.Throws<ArgumentException>(() => new LanguageModelTrainer(dense, new Adam(dense), 1));
    }
}

/// <summary>Padded steps (target id <see cref="Losses.Ignore"/>, at the end of a row) count in neither the loss nor any
/// gradient: the loss is the mean over the real targets (PyTorch's ignore_index), and whatever the padded inputs hold,
/// the loss and every gradient stay bit for bit the same and equal those of the rows run alone at their own lengths.</summary>
public class PaddingTests
{
    [Fact]
    public void PaddedStepsCountInNeitherLossNorGradient()
    {
        const int Batch = 3, Steps = 6;
        int[] lengths = [6, 4, 2];
        var random = new Random(4);
        var tokens = Enumerable.Range(0, Batch * Steps).Select(_ => random.Next(10)).ToArray();
        var targets = Enumerable.Range(0, Batch * Steps).Select(_ => random.Next(10)).ToArray();
        for (int t = 0; t < Steps; t++)
            for (int r = 0; r < Batch; r++)
                if (t >= lengths[r])
                    targets[t * Batch + r] = Losses.Ignore;
        var model = new TinyLm(Batch, Steps, seed: 5);
        model.Options.Training = false; // no dropout masks: the rows run alone below must see the same network

        (float Loss, float[] Gradients) Run(int[] inputs)
        {
            model.Forward(inputs, Batch, Steps);
            float loss = model.Loss(targets);
            model.ZeroGrad();
            model.Backward();
            return (loss, model.Gradients.ToArray());
        }
        var (loss, gradients) = Run(tokens);
        var other = (int[])tokens.Clone();
        for (int t = 0; t < Steps; t++)
            for (int r = 0; r < Batch; r++)
                if (t >= lengths[r])
                    other[t * Batch + r] = (other[t * Batch + r] + 3) % 10;
        var (otherLoss, otherGradients) = Run(other);
        Assert.Equal(loss, otherLoss);
        Assert.Equal(gradients, otherGradients);

        // Each row alone at its own length: the padded batch's loss is their token-weighted mean, its gradient likewise.
        double expectedLoss = 0;
        var expectedGradients = new double[gradients.Length];
        int total = lengths.Sum();
        for (int r = 0; r < Batch; r++)
        {
            int n = lengths[r];
            var rowInputs = Enumerable.Range(0, n).Select(t => tokens[t * Batch + r]).ToArray();
            var rowTargets = Enumerable.Range(0, n).Select(t => targets[t * Batch + r]).ToArray();
            model.Forward(rowInputs, 1, n);
            expectedLoss += (double)model.Loss(rowTargets) * n / total;
            model.ZeroGrad();
            model.Backward();
            var g = model.Gradients;
            for (int i = 0; i < g.Length; i++)
                expectedGradients[i] += (double)g[i] * n / total;
        }
        Assert.Equal(expectedLoss, loss, 5);
        Close.Assert(expectedGradients.Select(v => (float)v).ToArray(), gradients, "padded batch gradient");
    }

    [Fact]
    public void AllTargetsIgnoredIsZero()
    {
        var logits = new float[8];
        var outputs = new float[8];
        LossKernels.Softmax(logits, outputs, 4, 2, 4);
        var gradient = Enumerable.Repeat(5f, 8).ToArray();
        Assert.Equal(0f, LossKernels.SoftmaxCrossEntropy(logits, outputs, 4, 2, 4, [Losses.Ignore, -7], gradient));
        Assert.All(gradient, g => Assert.Equal(0f, g));
    }
}

/// <summary>Rows of different lengths under a last-step head: the head reads each row at its own last real step.
/// Whatever the padding holds, outputs, loss and gradients stay bit for bit the same, and they equal the rows run
/// alone at their own lengths (batch 1).</summary>
public class LengthTests
{
    internal const int Batch = 3, Steps = 7, Inputs = 4;
    internal static readonly int[] Lengths = [7, 3, 5];

    /// <summary>Lstm37x2 and an input of three rows, <see cref="Lengths"/> steps long, padded to <see cref="Steps"/>.</summary>
    internal static (Lstm37x2 Model, float[] X) ThreeRows(bool wide)
    {
        Lstm37x2 model;
        using (VectorPath.Override(wide))
            model = new Lstm37x2(Batch, Steps, seed: 2);
        var random = new Random(9);
        return (model, Enumerable.Range(0, Steps * Batch * Inputs).Select(_ => (float)random.NextDouble() - 0.5f).ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EachRowIsReadAtItsOwnLength(bool wide)
    {
        var (model, x) = ThreeRows(wide);
        int[] lengths = Lengths;
        float[] targets = [1, 0, 1];

        (float Loss, float[] Outputs, float[] Gradients) Run(float[] inputs)
        {
            model.Forward(inputs, Batch, Steps, lengths);
            float loss = model.Loss(targets);
            model.ZeroGrad();
            model.Backward();
            return (loss, Enumerable.Range(0, Batch).Select(r => model.Output(r)[0]).ToArray(), model.Gradients.ToArray());
        }
        var (loss, outputs, gradients) = Run(x);
        var (paddedLoss, paddedOutputs, paddedGradients) = Run(Sequences.Pad(x, lengths, Batch, Inputs, 9f));
        Assert.Equal(loss, paddedLoss);
        Assert.Equal(outputs, paddedOutputs);
        Assert.Equal(gradients, paddedGradients);

        double expectedLoss = 0;
        var expectedGradients = new double[gradients.Length];
        for (int r = 0; r < Batch; r++)
        {
            int n = lengths[r];
            var row = Sequences.Row(x, Batch, Inputs, r, n);
            model.Forward(row, 1, n);
            Assert.Equal(model.Output(0)[0], outputs[r], 6);
            expectedLoss += model.Loss([targets[r]]) / Batch;
            model.ZeroGrad();
            model.Backward();
            var g = model.Gradients;
            for (int i = 0; i < g.Length; i++)
                expectedGradients[i] += (double)g[i] / Batch;
        }
        Assert.Equal(expectedLoss, loss, 5);
        Close.Assert(expectedGradients.Select(v => (float)v).ToArray(), gradients, "gradient with lengths");
        // without lengths the head reads the last step again
        model.Forward(x, Batch, Steps);
        Assert.NotEqual(outputs[1], model.Output(1)[0]);
    }

    [Fact]
    public void MasksStayFixedAndLengthsAreChecked()
    {
        const int Batch = 2, Steps = 4;
        var model = new DropoutGru(Batch, Steps, seed: 1); // head dropout, locked input dropout, recurrent dropout
        var x = Enumerable.Range(0, Steps * Batch * 12).Select(i => MathF.Sin(i)).ToArray();
        var padded = (float[])x.Clone();
        for (int k = 0; k < 12; k++)
            padded[(3 * Batch + 1) * 12 + k] = 5f; // row 1 is 3 steps long
        model.Forward(x, Batch, Steps, [4, 3]);
        float a = model.Output(1)[0];
        model.Options.Pass = 0;
        model.Forward(padded, Batch, Steps, [4, 3]);
        model.Options.Pass = 0;
        Assert.Equal(a, model.Output(1)[0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Forward(x, Batch, Steps, [4, 0]));
        Assert.Throws<ArgumentException>(() => model.Forward(x, Batch, Steps, [4]));
    }
}

/// <summary>The final state under per-row lengths is each row's state after its own last real step (PyTorch's packed
/// sequences), so a state carried to the next segment is right for every row (issue 11).</summary>
public class FinalStateLengthTests
{
    private const int Batch = LengthTests.Batch, Steps = LengthTests.Steps, Inputs = LengthTests.Inputs;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EachRowEndsAtItsOwnLastRealStep(bool wide)
    {
        var (model, x) = LengthTests.ThreeRows(wide);
        int[] lengths = LengthTests.Lengths;
        var state = model.CreateState(Batch);
        model.Forward(x, Batch, Steps, lengths, state);
        for (int r = 0; r < Batch; r++)
        {
            // the row alone, its own length, no padding
            int n = lengths[r];
            var row = Sequences.Row(x, Batch, Inputs, r, n);
            var alone = model.CreateState(1);
            model.Forward(row, 1, n, alone);
            foreach (var (batched, single, name) in new[]
            {
                (state.Layer0Hidden, alone.Layer0Hidden, "h0"), (state.Layer0Cell, alone.Layer0Cell, "c0"),
                (state.Layer1Hidden, alone.Layer1Hidden, "h1"), (state.Layer1Cell, alone.Layer1Cell, "c1"),
            })
            {
                int width = single.Length;
                Close.Assert(single, batched.AsSpan(r * width, width).ToArray(), $"row {r} {name}");
            }
        }
        // without lengths every row runs through the padding to step 7
        var through = model.CreateState(Batch);
        model.Forward(x, Batch, Steps, through);
        int w = through.Layer1Hidden.Length / Batch;
        Assert.NotEqual(state.Layer1Hidden.AsSpan(w, w).ToArray(), through.Layer1Hidden.AsSpan(w, w).ToArray());
        Assert.Equal(state.Layer1Hidden.AsSpan(0, w).ToArray(), through.Layer1Hidden.AsSpan(0, w).ToArray());
    }
}

// An every-step binary cross-entropy head, for lengths under every loss.
[RnnModel, DenseInput(3), Lstm(12), Head(2, Activation.Sigmoid), Loss(LossKind.BinaryCrossEntropy)]
public partial class EveryStepBce;

/// <summary>Per-row lengths under every-step heads (issue 11): the loss counts the real steps only, so whatever the padding
/// holds the loss and every gradient stay bit for bit the same; softmax cross-entropy with lengths is the same as with
/// the padded steps' targets ignored; the mean squared error equals the rows run alone, weighted by their real elements.</summary>
public class EveryStepLengthTests
{
    [Fact]
    public void MeanSquaredErrorCountsTheRealStepsOnly()
    {
        const int Batch = 3, Steps = 4, Inputs = 5, Outputs = 3;
        int[] lengths = [4, 2, 3];
        var model = new GruSmall(Batch, Steps, seed: 3);
        var random = new Random(2);
        var x = Enumerable.Range(0, Steps * Batch * Inputs).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        var y = Enumerable.Range(0, Steps * Batch * Outputs).Select(_ => (float)random.NextDouble()).ToArray();
        (float, float[], float[]) Run(float[] inputs, float[] targets)
        {
            var state = model.CreateState(Batch);
            model.Forward(inputs, Batch, Steps, lengths, state);
            float loss = model.Loss(targets);
            model.ZeroGrad();
            model.Backward();
            return (loss, model.Gradients.ToArray(), state.Layer0Hidden.ToArray());
        }
        var (loss, gradients, final) = Run(x, y);
        var (paddedLoss, paddedGradients, paddedFinal) = Run(Sequences.Pad(x, lengths, Batch, Inputs, 7f), Sequences.Pad(y, lengths, Batch, Outputs, -3f));
        Assert.Equal(loss, paddedLoss);
        Assert.Equal(gradients, paddedGradients);
        Assert.Equal(final, paddedFinal);

        double expectedLoss = 0;
        var expectedGradients = new double[gradients.Length];
        int total = lengths.Sum();
        for (int r = 0; r < Batch; r++)
        {
            int n = lengths[r];
            var rowX = Sequences.Row(x, Batch, Inputs, r, n);
            var rowY = Sequences.Row(y, Batch, Outputs, r, n);
            var state = model.CreateState(1);
            model.Forward(rowX, 1, n, state);
            expectedLoss += (double)model.Loss(rowY) * n / total;
            model.ZeroGrad();
            model.Backward();
            var g = model.Gradients;
            for (int i = 0; i < g.Length; i++)
                expectedGradients[i] += (double)g[i] * n / total;
            int width = state.Layer0Hidden.Length;
            Close.Assert(state.Layer0Hidden, final.AsSpan(r * width, width).ToArray(), $"row {r}'s final state");
        }
        Assert.Equal(expectedLoss, loss, 5);
        Close.Assert(expectedGradients.Select(v => (float)v).ToArray(), gradients, "gradient with lengths");
    }

    [Fact]
    public void ACallersGradientOnPaddedStepsIsIgnored()
    {
        const int Batch = 3, Steps = 4;
        int[] lengths = [4, 2, 3];
        var model = new GruSmall(Batch, Steps, seed: 3);
        var x = Enumerable.Range(0, Steps * Batch * 5).Select(i => MathF.Sin(i * 0.3f)).ToArray();
        var g = Enumerable.Range(0, Steps * Batch * 3).Select(i => MathF.Cos(i * 0.7f)).ToArray();
        float[] Run(float[] outputGradient)
        {
            model.Forward(x, Batch, Steps, lengths);
            model.ZeroGrad();
            model.Backward(outputGradient);
            return model.Gradients.ToArray();
        }
        var clean = (float[])g.Clone();
        for (int i = 0; i < Steps * Batch; i++)
            if (i / Batch >= lengths[i % Batch])
                Array.Clear(clean, i * 3, 3);
        Assert.Equal(Run(clean), Run(g));
    }

    [Fact]
    public void RecurrentBatchNormRefusesLengths()
    {
        var model = new RecurrentBatchNormFixture(2, 3, seed: 1);
        var error = Assert.Throws<NotSupportedException>(() => model.Forward(new float[3 * 2 * 5], 2, 3, [3, 1]));
        Assert.Contains("padded rows", error.Message);
    }

    [Fact]
    public void CrossEntropyWithLengthsIsCrossEntropyWithThePaddingIgnored()
    {
        const int Batch = 3, Steps = 5;
        int[] lengths = [5, 1, 3];
        var model = new TinyLm(Batch, Steps, seed: 5) { Options = { Training = false } };
        var random = new Random(6);
        int[] tokens = Enumerable.Range(0, Batch * Steps).Select(_ => random.Next(TinyLm.Vocabulary)).ToArray();
        int[] targets = Enumerable.Range(0, Batch * Steps).Select(_ => random.Next(TinyLm.OutputSize)).ToArray();
        model.Forward(tokens, Batch, Steps, lengths);
        float withLengths = model.Loss(targets);
        model.ZeroGrad();
        model.Backward();
        float[] gradients = model.Gradients.ToArray();
        int[] ignored = targets.Select((t, i) => i / Batch >= lengths[i % Batch] ? Losses.Ignore : t).ToArray();
        model.Forward(tokens, Batch, Steps);
        Assert.Equal(model.Loss(ignored), withLengths);
        model.ZeroGrad();
        model.Backward();
        Assert.Equal(model.Gradients.ToArray(), gradients);
    }

    [Fact]
    public void BinaryCrossEntropyCountsTheRealStepsOnly()
    {
        const int Batch = 2, Steps = 6;
        int[] lengths = [3, 6];
        var model = new EveryStepBce(Batch, Steps, seed: 1);
        var x = Enumerable.Range(0, Steps * Batch * 3).Select(i => MathF.Sin(i * 0.9f)).ToArray();
        var y = Enumerable.Range(0, Steps * Batch * 2).Select(i => (float)(i % 3 == 0 ? 1 : 0)).ToArray();
        (float, float[]) Run(float[] inputs, float[] targets)
        {
            model.Forward(inputs, Batch, Steps, lengths);
            float loss = model.Loss(targets);
            model.ZeroGrad();
            model.Backward();
            return (loss, model.Gradients.ToArray());
        }
        var (loss, gradients) = Run(x, y);
        var (padded, paddedGradients) = Run(Sequences.Pad(x, lengths, Batch, 3, -5f), Sequences.Pad(y, lengths, Batch, 2, 1f));
        Assert.Equal(loss, padded);
        Assert.Equal(gradients, paddedGradients);
        model.Forward(x, Batch, Steps);
        Assert.NotEqual(loss, model.Loss(y)); // without lengths the padding counts
    }
}

/// <summary>Batch normalization between layers under per-row lengths (issue 11): its statistics are over the real
/// steps only (as BatchNorm1d over PyTorch's packed data), so whatever the padding holds the outputs, the loss, every
/// gradient and the running statistics stay bit for bit the same.</summary>
public class BatchNormLengthTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void PaddingChangesNeitherTheStatisticsNorTheGradients(bool wide)
    {
        const int Batch = 3, Steps = 6, Inputs = 5;
        int[] lengths = [6, 2, 4];
        var random = new Random(7);
        var x = Enumerable.Range(0, Steps * Batch * Inputs).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        float[] targets = [1, 0, 1, 1, 0, 0];
        (float Loss, float[] Outputs, float[] Gradients, float[] Statistics) Run(float[] inputs)
        {
            BatchNormLast model;
            using (VectorPath.Override(wide))
                model = new BatchNormLast(Batch, Steps, seed: 3);
            model.Forward(inputs, Batch, Steps, lengths);
            float loss = model.Loss(targets);
            model.ZeroGrad();
            model.Backward();
            return (loss, Enumerable.Range(0, Batch).SelectMany(r => model.Output(r).ToArray()).ToArray(), model.Gradients.ToArray(), model.Statistics.ToArray());
        }
        var a = Run(x);
        var padded = (float[])x.Clone();
        for (int i = 0; i < Steps * Batch; i++)
            if (i / Batch >= lengths[i % Batch])
                Array.Fill(padded, 50f, i * Inputs, Inputs);
        var b = Run(padded);
        Assert.Equal(a.Loss, b.Loss);
        Assert.Equal(a.Outputs, b.Outputs);
        Assert.Equal(a.Gradients, b.Gradients);
        Assert.Equal(a.Statistics, b.Statistics);
        Assert.Contains(a.Statistics, v => v != 0f && v != 1f); // the running statistics moved
    }
}
