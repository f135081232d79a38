using FastRnn.Kernels;
using Xunit;

namespace FastRnn.Tests;

/// <summary>Models that compose (issue 11): backward from a caller's ∂L/∂outputs and ∂L/∂(final states), and the
/// gradients handed back — of the initial states and of the inputs.</summary>
public class CompositionTests
{
    /// <summary>One sequence of 10 steps against the same sequence as two segments of 5 chained by their state: the
    /// second segment's loss, its initial-state gradient fed back as the first segment's final-state gradient (with a zero
    /// output gradient), gives the whole sequence's parameter gradients. This is how an encoder hands its final state to a
    /// decoder and takes the decoder's initial-state gradient back.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TwoSegmentsChainedByStateGradientsEqualOneSequence(bool wide)
    {
        const int Batch = 3, Half = 5;
        TinyLm model;
        using (VectorPath.Override(wide))
            model = new TinyLm(Batch, 2 * Half, seed: 4) { Options = { Training = false } }; // no dropout: the same network throughout
        var random = new Random(3);
        int[] tokens = Enumerable.Range(0, 2 * Half * Batch).Select(_ => random.Next(TinyLm.Vocabulary)).ToArray();
        // the loss reads the second half only
        int[] targets = Enumerable.Range(0, 2 * Half * Batch).Select(i => i < Half * Batch ? Losses.Ignore : random.Next(TinyLm.OutputSize)).ToArray();

        model.Forward(tokens, Batch, 2 * Half);
        float whole = model.Loss(targets);
        model.ZeroGrad();
        model.Backward();
        float[] expected = model.Gradients.ToArray();

        var state = model.CreateState(Batch);
        model.Forward(tokens.AsSpan(0, Half * Batch), Batch, Half, state);
        model.Forward(tokens.AsSpan(Half * Batch), Batch, Half, state);
        float second = model.Loss(targets.AsSpan(Half * Batch));
        model.ZeroGrad();
        model.Backward();
        float[] gradients = model.Gradients.ToArray();
        var handedBack = model.CreateState(Batch);
        model.CopyInitialStateGradient(handedBack);
        Assert.Contains(handedBack.Layer0Hidden, g => g != 0f);

        model.Forward(tokens.AsSpan(0, Half * Batch), Batch, Half);
        model.ZeroGrad();
        model.Backward(new float[Half * Batch * TinyLm.OutputSize], handedBack);
        var first = model.Gradients;
        for (int i = 0; i < gradients.Length; i++)
            gradients[i] += first[i];

        Assert.Equal(whole, second, 5);
        Close.Assert(expected, gradients, "chained segments");
    }

    /// <summary>Under per-row lengths: a first segment whose rows end at their own lengths hands each row's state (after
    /// its last real step) to a second segment; the second's loss, backpropagated into the first through the state
    /// gradients, gives what each row's whole sequence (its real first part, then the second segment) gives run alone.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SegmentsOfDifferentLengthsChainedByStateGradientsEqualTheRowsAlone(bool wide)
    {
        const int Batch = 3, First = 5, Second = 4;
        int[] lengths = [5, 2, 3];
        TinyLm model;
        using (VectorPath.Override(wide))
            model = new TinyLm(Batch, First + Second, seed: 6) { Options = { Training = false } };
        var random = new Random(8);
        int[] first = Enumerable.Range(0, First * Batch).Select(_ => random.Next(TinyLm.Vocabulary)).ToArray();
        int[] second = Enumerable.Range(0, Second * Batch).Select(_ => random.Next(TinyLm.Vocabulary)).ToArray();
        int[] targets = Enumerable.Range(0, Second * Batch).Select(_ => random.Next(TinyLm.OutputSize)).ToArray();

        var state = model.CreateState(Batch);
        model.Forward(first, Batch, First, lengths, state);
        model.Forward(second, Batch, Second, state);
        model.Loss(targets);
        model.ZeroGrad();
        model.Backward();
        float[] gradients = model.Gradients.ToArray();
        var handedBack = model.CreateState(Batch);
        model.CopyInitialStateGradient(handedBack);
        model.Forward(first, Batch, First, lengths);
        model.ZeroGrad();
        model.Backward(new float[First * Batch * TinyLm.OutputSize], handedBack);
        var chained = model.Gradients;
        for (int i = 0; i < gradients.Length; i++)
            gradients[i] += chained[i];

        // each row alone: its real first part, then the second segment, the loss on the second part (every row has
        // Second targets, so the batch's mean is the mean of the rows' means)
        var expected = new double[gradients.Length];
        for (int r = 0; r < Batch; r++)
        {
            int n = lengths[r];
            var tokens = Enumerable.Range(0, n).Select(t => first[t * Batch + r]).Concat(Enumerable.Range(0, Second).Select(t => second[t * Batch + r])).ToArray();
            var rowTargets = Enumerable.Repeat(Losses.Ignore, n).Concat(Enumerable.Range(0, Second).Select(t => targets[t * Batch + r])).ToArray();
            model.Forward(tokens, 1, n + Second);
            model.Loss(rowTargets);
            model.ZeroGrad();
            model.Backward();
            var g = model.Gradients;
            for (int i = 0; i < g.Length; i++)
                expected[i] += (double)g[i] / Batch;
        }
        Close.Assert(expected.Select(v => (float)v).ToArray(), gradients, "segments with lengths chained");
    }

    [Fact]
    public void BackwardFromTheLossGradientEqualsTheBuiltInLoss()
    {
        // softmax + cross-entropy: ∂L/∂y = −1/(N·y_t) at each counted row's target
        const int Batch = 2, Steps = 6;
        var model = new TinyLm(Batch, Steps, seed: 8) { Options = { Training = false } };
        var random = new Random(1);
        int[] tokens = Enumerable.Range(0, Batch * Steps).Select(_ => random.Next(TinyLm.Vocabulary)).ToArray();
        int[] targets = Enumerable.Range(0, Batch * Steps).Select(i => i % 5 == 4 ? Losses.Ignore : random.Next(TinyLm.OutputSize)).ToArray();
        model.Forward(tokens, Batch, Steps);
        model.Loss(targets);
        model.ZeroGrad();
        model.Backward();
        float[] builtIn = model.Gradients.ToArray();
        var outputs = new float[Batch * Steps * TinyLm.OutputSize];
        ((ISequenceModel)model).CopyOutputs(outputs);
        int counted = targets.Count(t => t >= 0);
        var dOutputs = new float[outputs.Length];
        for (int r = 0; r < targets.Length; r++)
            if (targets[r] >= 0)
                dOutputs[r * TinyLm.OutputSize + targets[r]] = -1f / (counted * outputs[r * TinyLm.OutputSize + targets[r]]);
        model.ZeroGrad();
        model.Backward(dOutputs);
        Close.Assert(builtIn, model.Gradients.ToArray(), "softmax cross-entropy through Backward(∂outputs)");

        // identity + mean squared error: ∂L/∂y = 2(y − t)/N, as the loss kernel computes it
        var dense = new GruSmall(Batch, Steps, seed: 2);
        var x = Enumerable.Range(0, Batch * Steps * 5).Select(i => MathF.Cos(i * 0.3f)).ToArray();
        var y = Enumerable.Range(0, Batch * Steps * 3).Select(i => MathF.Sin(i * 0.2f)).ToArray();
        dense.Forward(x, Batch, Steps);
        dense.Loss(y);
        dense.ZeroGrad();
        dense.Backward();
        builtIn = dense.Gradients.ToArray();
        var predictions = new float[y.Length];
        ((ISequenceModel)dense).CopyOutputs(predictions);
        float scale = 2f / y.Length;
        dense.ZeroGrad();
        dense.Backward(predictions.Select((p, i) => scale * (p - y[i])).ToArray());
        Assert.Equal(builtIn, dense.Gradients.ToArray());
    }

    [Fact]
    public void TheInputGradientMatchesFiniteDifferences()
    {
        const int Batch = 2, Steps = 4, Inputs = 5;
        var model = new GruSmall(Batch, Steps, seed: 6);
        var x = Enumerable.Range(0, Batch * Steps * Inputs).Select(i => MathF.Sin(i * 0.7f)).ToArray();
        var y = Enumerable.Range(0, Batch * Steps * 3).Select(i => 0.3f * MathF.Cos(i * 0.4f)).ToArray();
        double LossAt(float[] inputs)
        {
            model.Forward(inputs, Batch, Steps);
            return model.Loss(y);
        }
        LossAt(x);
        model.ZeroGrad();
        model.Backward();
        var analytic = new float[x.Length];
        model.CopyInputGradient(analytic);
        double largest = analytic.Max(Math.Abs);
        Assert.True(largest > 0);
        // the input gradient is that of the last backward, even after an optimizer step changes the weights
        new Sgd(model, 0.5f).Step();
        var later = new float[x.Length];
        model.CopyInputGradient(later);
        Assert.Equal(analytic, later);
        model = new GruSmall(Batch, Steps, seed: 6); // the weights before that step, for the differences
        const float H = 1e-2f;
        foreach (int i in new[] { 0, 3, 7, 12, 21, 33, 39 })
        {
            var plus = (float[])x.Clone();
            var minus = (float[])x.Clone();
            plus[i] += H;
            minus[i] -= H;
            double numeric = (LossAt(plus) - LossAt(minus)) / (2 * H);
            // central differences: O(h²) truncation, float32 loss rounding / h
            Assert.True(Math.Abs(numeric - analytic[i]) <= 1e-3 * largest + 1e-2 * Math.Abs(analytic[i]),
                $"input {i}: finite difference {numeric}, CopyInputGradient {analytic[i]}");
        }
    }

    [Fact]
    public void ABidirectionalLayerHandsBackInputAndInitialStateGradientsThatMatchFiniteDifferences()
    {
        // both directions read the input (∂x is their sum); the reverse direction's initial state enters at each row's
        // last real step, so its gradient is checked under lengths
        const int Batch = 3, Steps = 5, Inputs = 5;
        int[] lengths = [5, 2, 4];
        var model = new BiLstm(Batch, Steps, seed: 4);
        var x = Enumerable.Range(0, Batch * Steps * Inputs).Select(i => MathF.Sin(i * 0.7f)).ToArray();
        var y = Enumerable.Range(0, Batch * Steps * 3).Select(i => 0.3f * MathF.Cos(i * 0.4f)).ToArray();
        var initial = model.CreateState(Batch);
        for (int layer = 0; layer < 2; layer++)
            for (int r = 0; r < Batch; r++)
                for (int j = 0; j < 8; j++)
                    initial.Hidden(layer, r)[j] = 0.3f * MathF.Sin(layer * 11 + r * 5 + j);
        double LossAt(float[] inputs, BiLstm.State start)
        {
            var state = model.CreateState(Batch);
            for (int layer = 0; layer < 2; layer++)
                for (int r = 0; r < Batch; r++)
                {
                    start.Hidden(layer, r).CopyTo(state.Hidden(layer, r));
                    start.Cell(layer, r).CopyTo(state.Cell(layer, r));
                }
            model.Forward(inputs, Batch, Steps, lengths, state);
            return model.Loss(y);
        }
        LossAt(x, initial);
        model.ZeroGrad();
        model.Backward();
        var dInput = new float[x.Length];
        model.CopyInputGradient(dInput);
        var dInitial = model.CreateState(Batch);
        model.CopyInitialStateGradient(dInitial);
        double largest = dInput.Max(Math.Abs);
        Assert.True(largest > 0);
        const float H = 1e-2f;
        // rows 1 and 2 past their lengths take no gradient; the others are checked against central differences
        foreach (int i in new[] { 0, 3, 7, 12, 21, 33, 39, 52, 61, 70 })
        {
            var plus = (float[])x.Clone();
            var minus = (float[])x.Clone();
            plus[i] += H;
            minus[i] -= H;
            double numeric = (LossAt(plus, initial) - LossAt(minus, initial)) / (2 * H);
            Assert.True(Math.Abs(numeric - dInput[i]) <= 1e-3 * largest + 1e-2 * Math.Abs(dInput[i]),
                $"input {i}: finite difference {numeric}, CopyInputGradient {dInput[i]}");
        }
        for (int layer = 0; layer < 2; layer++)
            for (int r = 0; r < Batch; r++)
                foreach (int j in new[] { 0, 5 })
                {
                    float saved = initial.Hidden(layer, r)[j];
                    initial.Hidden(layer, r)[j] = saved + H;
                    double plus = LossAt(x, initial);
                    initial.Hidden(layer, r)[j] = saved - H;
                    double minus = LossAt(x, initial);
                    initial.Hidden(layer, r)[j] = saved;
                    double numeric = (plus - minus) / (2 * H), analytic = dInitial.Hidden(layer, r)[j];
                    Assert.True(Math.Abs(numeric - analytic) <= 1e-3 * largest + 1e-2 * Math.Abs(analytic),
                        $"initial h of layer {layer}, row {r}, unit {j}: finite difference {numeric}, CopyInitialStateGradient {analytic}");
                }
    }

    [Fact]
    public void MisuseIsRefused()
    {
        var model = new GruSmall(2, 4, seed: 6);
        var x = new float[2 * 4 * 5];
        var gradient = model.CreateState(2);
        Assert.Throws<InvalidOperationException>(() => model.Backward(new float[2 * 4 * 3]));
        model.Forward(x, 2, 4);
        var error = Assert.Throws<ArgumentException>(() => model.Backward(new float[5]));
        Assert.Contains("24 output gradients", error.Message);
        Assert.Throws<InvalidOperationException>(() => model.CopyInitialStateGradient(gradient));
        Assert.Throws<ArgumentException>(() => model.Backward(new float[24], model.CreateState(1)));
        model.Backward(new float[24]);
        Assert.Throws<ArgumentException>(() => model.CopyInputGradient(new float[3]));
        Assert.Throws<ArgumentException>(() => model.CopyInitialStateGradient(model.CreateState(1)));
        model.CopyInitialStateGradient(gradient);
        Assert.All(gradient.Layer0Hidden, g => Assert.Equal(0f, g)); // a zero output gradient reaches nothing
    }

    [Fact]
    public void ABackwardFromOutsideAllocatesNothing()
    {
        var model = new GruSmall(2, 4, seed: 6);
        var x = Enumerable.Range(0, 40).Select(i => MathF.Sin(i)).ToArray();
        var dOutputs = Enumerable.Range(0, 24).Select(i => 0.01f * i).ToArray();
        var states = model.CreateState(2);
        var input = new float[40];
        void Run()
        {
            model.Forward(x, 2, 4);
            model.ZeroGrad();
            model.Backward(dOutputs, states);
            model.CopyInitialStateGradient(states);
            model.CopyInputGradient(input);
        }
        Run();
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
