using FastRnn.Kernels;
using Xunit;
using static FastRnn.Tests.ScalarReference;

namespace FastRnn.Tests;

/// <summary>
/// Zoneout at inference (h(t) = p·h(t−1) + (1 − p)·h̃(t), likewise c) in the sequence forward and in both streaming-step
/// paths, against the scalar reference; rate 0 against the model without zoneout; the statistics of κ in training.
/// (Training-mode gradients: CompileAndRunTests E6/E7 and the PyTorch fixtures.)
/// </summary>
public class ZoneoutTests
{
    private const int Batch = 3, Steps = 7, Inputs = 6;
    private static readonly Spec s_spec = new(false, 0, Inputs, [(Cell.Lstm, 20, 0, 0), (Cell.Gru, 16, 1, 0)], 2, "Linear", true, "MeanSquaredError");

    private static float[] Inputs_(int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, Steps * Batch * Inputs).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void InferenceWeighsThePreviousStateByTheRate(bool wide)
    {
        ZoneoutStack model;
        using (VectorPath.Override(wide))
            model = new ZoneoutStack(Batch, Steps, seed: 3);
        model.Options.Training = false;
        model.Options.Layer0CellZoneout = 0.35f; // a run-time rate, not the attribute's
        var x = Inputs_(1);
        var targets = new float[Steps * Batch * 2];
        model.Forward(x, Batch, Steps);
        Assert.Empty(model.ExportMasks());
        model.Loss(targets);

        var reference = new ScalarReference(s_spec, model)
        {
            Masks = new Dictionary<string, float[]>
            {
                ["layer0.zoneout"] = Enumerable.Repeat(0.3f, Steps * Batch * 20).ToArray(),
                ["layer0.cellzoneout"] = Enumerable.Repeat(0.35f, Steps * Batch * 20).ToArray(),
                ["layer1.zoneout"] = Enumerable.Repeat(0.4f, Steps * Batch * 16).ToArray(),
            },
        };
        reference.Loss(x, [], Batch, Steps, targets, [], out var expected);
        var outputs = new float[expected.Length];
        ((ISequenceModel)model).CopyOutputs(outputs);
        Close.Assert(expected.Select(v => (float)v).ToArray(), outputs, "zoneout at inference");

        // The streaming step (batch 1: the fused kernel; batch 3: the batched one) gives the same outputs.
        foreach (int rows in new[] { 1, Batch })
        {
            var state = model.CreateState(rows);
            var output = new float[rows * 2];
            for (int t = 0; t < Steps; t++)
            {
                var input = new float[rows * Inputs];
                for (int r = 0; r < rows; r++)
                    x.AsSpan((t * Batch + r) * Inputs, Inputs).CopyTo(input.AsSpan(r * Inputs));
                model.Step(input, state, output);
                for (int r = 0; r < rows; r++)
                    for (int o = 0; o < 2; o++)
                        Assert.Equal(model.Output(t, r)[o], output[r * 2 + o], 5);
            }
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void RateZeroIsTheModelWithoutZoneout(bool training)
    {
        var model = new ZoneoutStack(Batch, Steps, seed: 5);
        var twin = new ZoneoutTwin(Batch, Steps, seed: 5);
        model.Parameters.CopyTo(twin.Parameters);
        foreach (var name in model.Options.Names)
            model.Options[name] = 0f;
        model.Options.Training = training;
        var x = Inputs_(2);
        var targets = Enumerable.Range(0, Steps * Batch * 2).Select(i => (float)Math.Sin(i)).ToArray();
        Twins.AssertSameTraining(model, twin, m => m.ForwardDense(x, Batch, Steps), m => m.LossDense(targets));
        var state = model.CreateState(1);
        var twinState = twin.CreateState(1);
        var a = new float[2];
        var b = new float[2];
        for (int t = 0; t < Steps; t++)
        {
            model.Step(x.AsSpan(t * Batch * Inputs, Inputs), state, a);
            twin.Step(x.AsSpan(t * Batch * Inputs, Inputs), twinState, b);
            Assert.Equal(b, a);
        }
    }

    [Fact]
    public void TrainingKeepsThePreviousStateAtTheRate()
    {
        const int B = 64, T = 50;
        var model = new ZoneoutStack(B, T, seed: 9);
        var random = new Random(4);
        model.Forward(Enumerable.Range(0, T * B * Inputs).Select(_ => (float)random.NextDouble()).ToArray(), B, T);
        var masks = model.ExportMasks();
        foreach (var (site, rate) in new[] { ("layer0.zoneout", 0.3), ("layer0.cellzoneout", 0.2), ("layer1.zoneout", 0.4) })
        {
            var kappa = masks[site];
            Assert.All(kappa, k => Assert.True(k is 0f or 1f));
            double kept = kappa.Average(k => (double)k);
            double sigma = Math.Sqrt(rate * (1 - rate) / kappa.Length);
            Assert.True(Math.Abs(kept - rate) < 5 * sigma, $"{site}: kept {kept:F4}, expected {rate} ± {5 * sigma:F4}");
        }
        // a fresh κ at every step: steps 0 and 1 differ
        var h = masks["layer0.zoneout"];
        Assert.NotEqual(h.AsSpan(0, B * 20).ToArray(), h.AsSpan(B * 20, B * 20).ToArray());
    }
}
