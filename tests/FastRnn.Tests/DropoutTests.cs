using FastRnn.Kernels;
using Xunit;

namespace FastRnn.Tests;

/// <summary>
/// Dropout masks: the vector kernel against a scalar spelling of the hash, the statistics of the draws (rate, scale,
/// independence across elements, sites and passes), locked versus per-step masks, inference mode, reproducibility
/// from the seed, and the run-time options that set them.
/// </summary>
public class DropoutTests
{
    // The mask function spelled out independently of src/FastRnn/Regularization/Masks.cs (same definition: two rounds of the
    // lowbias32 mix keyed by the two halves of the site key; keep when the top 24 bits reach round(rate·2²⁴)).
    private static uint Mix(uint x)
    {
        x ^= x >> 16;
        x = unchecked(x * 0x7FEB352Du);
        x ^= x >> 15;
        x = unchecked(x * 0x846CA68Bu);
        return x ^ (x >> 16);
    }

    private static float ScalarMultiplier(ulong key, uint index, float rate)
    {
        uint draw = Mix(unchecked(Mix(index ^ (uint)key) + (uint)(key >> 32))) >> 8;
        return draw >= (uint)Math.Round(rate * 16777216.0) ? 1f / (1f - rate) : 0f;
    }

    [Fact]
    public void VectorMaskMatchesScalarAtEveryLengthAndOffset()
    {
        var random = new Random(3);
        foreach (float rate in new[] { 0f, 0.3f, 0.5f, 0.999f })
            foreach (uint first in new uint[] { 0, 5, 1000, uint.MaxValue - 100 })
            {
                ulong key = Masks.Key(11, 2, MaskSite.LayerInput, 1);
                for (int length = 0; length <= 70; length++)
                {
                    var x = Enumerable.Range(0, length).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
                    var y = new float[length + 3];
                    y[length] = 42f;
                    Masks.Multiply(x, y, key, first, Masks.Threshold(rate), 1f / (1f - rate));
                    for (int k = 0; k < length; k++)
                        Assert.Equal(x[k] * ScalarMultiplier(key, first + (uint)k, rate), y[k]);
                    Assert.Equal(42f, y[length]); // nothing written past the source
                    // in place, as backward uses it
                    var z = (float[])x.Clone();
                    Masks.Multiply(z, z, key, first, Masks.Threshold(rate), 1f / (1f - rate));
                    Assert.Equal(y.Take(length), z);
                }
            }
    }

    [Theory]
    [InlineData(0.05f)]
    [InlineData(0.3f)]
    [InlineData(0.5f)]
    [InlineData(0.8f)]
    public void DrawsHaveTheRateAndScale(float rate)
    {
        const int N = 1 << 20;
        var ones = Enumerable.Repeat(1f, N).ToArray();
        var m = new float[N];
        var site = new DropoutSite();
        site.Begin(training: true, rate, seed: 5, pass: 9, MaskSite.HeadInput, 0);
        site.Apply(ones, m, N, N, 1, int.MaxValue);
        double dropped = m.Count(v => v == 0f) / (double)N;
        double sigma = Math.Sqrt(rate * (1 - rate) / N);
        Assert.True(Math.Abs(dropped - rate) < 5 * sigma, $"dropped {dropped:F5}, expected {rate} ± {5 * sigma:F5}");
        Assert.All(m.Where(v => v != 0f).Take(1000), v => Assert.Equal(1f / (1f - rate), v));
        // inverted dropout keeps the expectation: mean multiplier 1
        double mean = m.Average(v => (double)v);
        double meanSigma = Math.Sqrt(rate / (1 - rate) / N);
        Assert.True(Math.Abs(mean - 1) < 5 * meanSigma, $"mean multiplier {mean:F5}");
        // neighbours independent: P(both dropped) = rate²
        double both = Enumerable.Range(0, N - 1).Count(i => m[i] == 0f && m[i + 1] == 0f) / (double)(N - 1);
        Assert.True(Math.Abs(both - rate * rate) < 5 * Math.Sqrt(rate * rate * (1 - rate * rate) / N), $"P(both dropped) {both:F5}");
    }

    [Fact]
    public void SitesPassesAndSeedsDrawIndependently()
    {
        const float Rate = 0.5f;
        const int N = 1 << 16;
        float[] Draw(ulong seed, ulong pass, MaskSite site, int layer)
        {
            var s = new DropoutSite();
            s.Begin(true, Rate, seed, pass, site, layer);
            return s.Export(N, 1, int.MaxValue);
        }
        var reference = Draw(1, 0, MaskSite.LayerInput, 0);
        foreach (var other in new[] { Draw(2, 0, MaskSite.LayerInput, 0), Draw(1, 1, MaskSite.LayerInput, 0),
                     Draw(1, 0, MaskSite.LayerInput, 1), Draw(1, 0, MaskSite.HeadInput, 0) })
        {
            double agree = Enumerable.Range(0, N).Count(i => (reference[i] == 0) == (other[i] == 0)) / (double)N;
            Assert.True(Math.Abs(agree - 0.5) < 5 * Math.Sqrt(0.25 / N), $"masks agree on {agree:P2} of elements");
        }
        // one element across many passes: dropped at the rate
        int dropped = Enumerable.Range(0, 4000).Count(pass => Draw(7, (ulong)pass, MaskSite.LayerInput, 0)[123] == 0);
        Assert.InRange(dropped / 4000.0, 0.5 - 5 * Math.Sqrt(0.25 / 4000), 0.5 + 5 * Math.Sqrt(0.25 / 4000));
        Assert.Equal(reference, Draw(1, 0, MaskSite.LayerInput, 0));
    }

    [Fact]
    public void WeightDropMasksTheRecurrentMatrixInPyTorchOrderAtTheRate()
    {
        // A weight matrix in the interleaved layout, every element 1: the dropped copy holds the multipliers, which
        // must equal the exported PyTorch-layout mask element for element.
        const int Units = 40, Inputs = 40, Gates = 4;
        var shape = new InterleavedShape(Inputs, Gates, Block.Pad(Units) / Block.Width);
        var tensor = new ParameterTensor("w", ParameterRole.RecurrentKernel, 0, TensorStorage.InterleavedWeight, 0, Units, Gates, Inputs);
        var ones = new float[shape.Length];
        tensor.Import(Enumerable.Repeat(1f, Gates * Units * Inputs).ToArray(), ones);
        var site = new DropoutSite();
        site.Begin(true, 0.4f, seed: 3, pass: 1, MaskSite.WeightDrop, 0);
        var dropped = new float[shape.Length];
        site.ApplyInterleaved(ones, dropped, shape, Units);
        var pytorch = new float[Gates * Units * Inputs];
        tensor.Export(dropped, pytorch);
        Assert.Equal(site.ExportMatrix(Gates * Units, Inputs), pytorch);
        double rate = pytorch.Count(v => v == 0f) / (double)pytorch.Length;
        Assert.InRange(rate, 0.4 - 5 * Math.Sqrt(0.24 / pytorch.Length), 0.4 + 5 * Math.Sqrt(0.24 / pytorch.Length));
        Assert.All(pytorch.Where(v => v != 0f), v => Assert.Equal(1f / 0.6f, v));
        // the padding lanes (units 40 … 47) stay zero
        for (int i = 0; i < shape.Length; i++)
            if (i % Block.Width + i / (Block.Width * Gates * Inputs) * Block.Width >= Units)
                Assert.Equal(0f, dropped[i]);
    }

    [Fact]
    public void RatesOutsideTheUnitIntervalAreRejected()
    {
        Assert.Equal(0f, Masks.CheckRate(0f, "r"));
        Assert.Equal(0.99f, Masks.CheckRate(0.99f, "r"));
        foreach (float bad in new[] { -0.01f, 1f, 1.5f, float.NaN, float.PositiveInfinity })
            Assert.Throws<ArgumentOutOfRangeException>(() => Masks.CheckRate(bad, "r"));
    }

    private static (int[] Tokens, int[] Targets) LmData(int batch, int steps, int seed)
    {
        var random = new Random(seed);
        return (Enumerable.Range(0, batch * steps).Select(_ => random.Next(20)).ToArray(),
            Enumerable.Range(0, batch * steps).Select(_ => random.Next(20)).ToArray());
    }

    [Fact]
    public void LockedMasksRepeatOverStepsAndFreshOnesDoNot()
    {
        const int Batch = 3, Steps = 6;
        var model = new DropoutLm(Batch, Steps, seed: 4);
        var (tokens, _) = LmData(Batch, Steps, 1);
        model.Forward(tokens, Batch, Steps);
        var masks = model.ExportMasks();
        Assert.Equal(["embedding.rows", "head.input", "layer0.input", "layer0.recurrent", "layer0.weight_hh", "layer1.input", "layer1.recurrent", "layer1.weight_hh"], masks.Keys.Order());
        Assert.Equal(Batch * 16, masks["layer1.recurrent"].Length); // one [batch, hidden] mask for every step
        Assert.Equal(20, masks["embedding.rows"].Length);
        int width = 16 * Batch;
        var head = masks["head.input"];
        Assert.Equal(Steps * width, head.Length);
        for (int t = 1; t < Steps; t++)
            Assert.Equal(head.AsSpan(0, width).ToArray(), head.AsSpan(t * width, width).ToArray());
        var layer1 = masks["layer1.input"];
        Assert.NotEqual(layer1.AsSpan(0, width).ToArray(), layer1.AsSpan(width, width).ToArray());
        // rows of one step differ too (a mask per row, not per batch)
        Assert.NotEqual(head.AsSpan(0, 16).ToArray(), head.AsSpan(16, 16).ToArray());
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public void WithoutMasksTheModelEqualsItsTwinWithoutDropout(bool trainingWithZeroRates, bool wide)
    {
        const int Batch = 2, Steps = 5;
        DropoutLm model;
        PlainLm twin;
        using (VectorPath.Override(wide))
        {
            model = new DropoutLm(Batch, Steps, seed: 8);
            twin = new PlainLm(Batch, Steps, seed: 8);
        }
        model.Parameters.CopyTo(twin.Parameters);
        if (trainingWithZeroRates)
            foreach (var name in model.Options.Names)
                model.Options[name] = 0f;
        else
            model.Options.Training = false;
        var (tokens, targets) = LmData(Batch, Steps, 2);
        Twins.AssertSameTraining(model, twin, m => m.ForwardTokens(tokens, Batch, Steps), m => m.LossClasses(targets));
        Assert.Empty(model.ExportMasks());
        Assert.Equal(trainingWithZeroRates ? 1UL : 0UL, model.Options.Pass);
    }

    [Fact]
    public void TrainingModeDropsAndChangesTheLoss()
    {
        const int Batch = 2, Steps = 5;
        var model = new DropoutLm(Batch, Steps, seed: 8);
        var (tokens, targets) = LmData(Batch, Steps, 2);
        model.Options.Training = false;
        model.Forward(tokens, Batch, Steps);
        float inference = model.Loss(targets);
        model.Options.Training = true;
        model.Forward(tokens, Batch, Steps);
        Assert.NotEqual(inference, model.Loss(targets));
        Assert.Equal(1UL, model.Options.Pass);
    }

    private static float[] Train(ulong seed, int iterations, bool wide, ulong? maskSeed = null)
    {
        const int Batch = 4, Steps = 7;
        DropoutLm model;
        using (VectorPath.Override(wide))
            model = new DropoutLm(Batch, Steps, seed);
        if (maskSeed is { } s)
            model.Options.Seed = s;
        var optimizer = new Adam(model, 1e-2f);
        var state = model.CreateState(Batch);
        for (int i = 0; i < iterations; i++)
        {
            var (tokens, targets) = LmData(Batch, Steps, i);
            model.Forward(tokens, Batch, Steps, state);
            model.Loss(targets);
            model.ZeroGrad();
            model.Backward();
            optimizer.Step();
        }
        return model.Parameters.ToArray();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ARunIsBitIdenticalForItsSeedAndDiffersForAnother(bool wide)
    {
        var first = Train(1, 4, wide);
        Assert.Equal(first, Train(1, 4, wide));
        Assert.NotEqual(first, Train(1, 4, wide, maskSeed: 2)); // same initial weights, other masks
    }

    [Fact]
    public void RestoringTheCounterReplaysTheMasks()
    {
        const int Batch = 2, Steps = 3;
        var model = new DropoutLm(Batch, Steps, seed: 3);
        var (tokens, _) = LmData(Batch, Steps, 5);
        model.Forward(tokens, Batch, Steps);
        var first = model.ExportMasks();
        model.Forward(tokens, Batch, Steps);
        Assert.NotEqual(first["layer0.input"], model.ExportMasks()["layer0.input"]);
        model.Options.Pass = 0;
        model.Forward(tokens, Batch, Steps);
        var again = model.ExportMasks();
        foreach (var (site, mask) in first)
            Assert.Equal(mask, again[site]);
    }

    [Fact]
    public void OptionsDefaultToTheAttributesAndRejectBadValues()
    {
        var model = new DropoutLm(1, 1, seed: 12);
        var options = model.Options;
        Assert.True(options.Training);
        Assert.Equal(12UL, options.Seed);
        Assert.Equal(["EmbeddingDropout", "Layer0Dropout", "Layer0RecurrentDropout", "Layer0WeightDrop", "Layer1Dropout", "Layer1RecurrentDropout", "Layer1WeightDrop", "HeadDropout"], options.Names);
        Assert.Equal([0.1f, 0.3f, 0.2f, 0.4f, 0.3f, 0.2f, 0.4f, 0.5f], options.Names.Select(n => options[n]));
        options["Layer1Dropout"] = 0.6f;
        Assert.Equal(0.6f, options.Layer1Dropout);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => options.HeadDropout = 1f);
        Assert.Contains("HeadDropout", error.Message);
        Assert.Equal(0.5f, options.HeadDropout);
        Assert.Throws<ArgumentOutOfRangeException>(() => options["EmbeddingDropout"] = -0.5f);
        Assert.Equal(0.1f, options.EmbeddingDropout);
        var unknown = Assert.Throws<ArgumentException>(() => options["Dropout"] = 0.1f);
        Assert.Contains("EmbeddingDropout, Layer0Dropout, Layer0RecurrentDropout, Layer0WeightDrop, Layer1Dropout, Layer1RecurrentDropout, Layer1WeightDrop, HeadDropout", unknown.Message);
        Assert.Empty(((ISequenceModel)new PlainLm(1, 1)).Options.Names);
    }

    [Fact]
    public void StreamingStepIgnoresDropout()
    {
        // Step is the serving path: inference semantics whatever the mode, equal to a Forward in inference mode.
        const int Batch = 2, Steps = 4;
        var model = new DropoutGru(Batch, Steps, seed: 6);
        var random = new Random(1);
        var inputs = Enumerable.Range(0, Steps * Batch * 12).Select(_ => (float)random.NextDouble()).ToArray();
        model.Options.Training = false;
        model.Forward(inputs, Batch, Steps);
        var state = model.CreateState(Batch);
        var output = new float[Batch * 2];
        model.Options.Training = true;
        for (int t = 0; t < Steps; t++)
            model.Step(inputs.AsSpan(t * Batch * 12, Batch * 12), state, output);
        for (int r = 0; r < Batch; r++)
            for (int o = 0; o < 2; o++)
                Assert.Equal(model.Output(r)[o], output[r * 2 + o], 5);
    }
}

/// <summary>AR and TAR count in the training loss only: in inference mode (and at coefficient 0) the loss is the data
/// loss. (Their values and gradients: CompileAndRunTests E9/E10 and the PenaltyFixture PyTorch cases.)</summary>
public class ActivationPenaltyTests
{
    [Fact]
    public void PenaltiesApplyInTrainingOnly()
    {
        const int Batch = 2, Steps = 6;
        var model = new PenaltyFixture(Batch, Steps, seed: 3);
        var random = new Random(8);
        var tokens = Enumerable.Range(0, Batch * Steps).Select(_ => random.Next(20)).ToArray();
        var targets = Enumerable.Range(0, Batch * Steps).Select(_ => random.Next(20)).ToArray();
        float Loss(bool training, float ar, float tar)
        {
            model.Options.Training = training;
            model.Options.Pass = 0;
            model.Options.ActivationRegularization = ar;
            model.Options.TemporalActivationRegularization = tar;
            model.Forward(tokens, Batch, Steps);
            return model.Loss(targets);
        }
        float data = Loss(true, 0, 0);
        float withAr = Loss(true, 2, 0), withTar = Loss(true, 0, 1), both = Loss(true, 2, 1);
        Assert.True(withAr > data && withTar > data);
        Assert.Equal(both - data, (withAr - data) + (withTar - data), 4);
        Assert.Equal(Loss(false, 0, 0), Loss(false, 2, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Options.ActivationRegularization = -1f);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Options.TemporalActivationRegularization = float.NaN);
        Assert.Equal(2f, model.Options["ActivationRegularization"]);
    }
}
