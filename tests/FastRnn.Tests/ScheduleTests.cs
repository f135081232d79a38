using FastRnn.Kernels;
using FastRnn.Training;
using Xunit;

namespace FastRnn.Tests;

/// <summary>RMSprop, ASGD (with its averaged weights), AWD-LSTM's non-monotone trigger, and the learning-rate schedules,
/// against torch.optim and torch.optim.lr_scheduler (fixtures from tools/make_fixtures.py).</summary>
public class ScheduleTests
{
    private static Dictionary<string, SafetensorsEntry> Fixture() => Safetensors.Read(FixtureFiles.PathOf("optimizers.safetensors"));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RmsPropMatchesTorch(bool wide)
    {
        var entries = Fixture();
        var model = new ArenaModel((float[])entries["p0"].Data.Clone());
        RmsProp optimizer;
        using (VectorPath.Override(wide))
            optimizer = new RmsProp(model, 0.01f, alpha: 0.9f, epsilon: 1e-6f, weightDecay: 0.01f, momentum: 0.5f, centered: true);
        for (int step = 0; step < 3; step++)
        {
            entries[$"grad{step}"].Data.CopyTo(model.G, 0);
            optimizer.Step();
        }
        Close.Assert(entries["rmsprop"].Data, model.P, "rmsprop");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AsgdMatchesTorchAndEvaluatesWithTheAverage(bool wide)
    {
        var entries = Fixture();
        var model = new ArenaModel((float[])entries["p0"].Data.Clone());
        Asgd optimizer;
        using (VectorPath.Override(wide))
            optimizer = new Asgd(model, 0.05f, lambda: 1e-2f, alpha: 0.75f, t0: 1, weightDecay: 0.01f);
        foreach (int step in new[] { 0, 1, 2, 0 })
        {
            entries[$"grad{step}"].Data.CopyTo(model.G, 0);
            optimizer.Step();
        }
        Close.Assert(entries["asgd"].Data, model.P, "asgd weights");
        Close.Assert(entries["asgd.ax"].Data, optimizer.Average.ToArray(), "asgd average");
        var current = (float[])model.P.Clone();
        using (optimizer.UseAverage())
            Assert.Equal(optimizer.Average.ToArray(), model.P);
        Assert.Equal(current, model.P);
    }

    [Fact]
    public void ReduceOnPlateauMatchesTorch()
    {
        var entries = Fixture();
        var optimizer = new Sgd(new ArenaModel(new float[16]), 1f);
        var schedule = new ReduceOnPlateau(optimizer, factor: 0.5f, patience: 2, cooldown: 1, minRate: 0.2f);
        var lrs = entries["plateau.metrics"].Data.Select(m =>
        {
            schedule.Step(m);
            return optimizer.LearningRate;
        }).ToArray();
        Assert.Equal(entries["plateau.lrs"].Data, lrs);
    }

    [Fact]
    public void StepDecayMatchesStepLrAndZaremba()
    {
        var expected = Fixture()["steplr.lrs"].Data;
        var decay = new StepDecay(0.8f, 0.3f, every: 2);
        for (int epoch = 0; epoch < expected.Length; epoch++)
            Assert.Equal(expected[epoch], decay.At(epoch), 6);
        // Zaremba et al.: lr 1, halved every epoch after the 4th (1-based): 1, 1, 1, 1, 0.5, 0.25
        var zaremba = new StepDecay(1f, 0.5f, every: 1, delay: 3);
        Assert.Equal([1f, 1f, 1f, 1f, 0.5f, 0.25f], Enumerable.Range(0, 6).Select(zaremba.At));
    }

    /// <summary>The schedules against torch.optim.lr_scheduler, step by step (tools/make_fixtures.py schedules: torch's
    /// rates in float64, stored as float32; torch updates most of them recursively, these use the closed forms, so the
    /// last bit may differ).</summary>
    [Fact]
    public void SchedulesMatchTorch()
    {
        var entries = Safetensors.Read(FixtureFiles.PathOf("schedules.safetensors"));
        void Check(string name, Func<int, float> at)
        {
            var expected = entries[name].Data;
            for (int t = 0; t < expected.Length; t++)
                Assert.True(Math.Abs(at(t) - expected[t]) <= 1e-6 * Math.Abs(expected[t]), $"{name} step {t}: {at(t)} against torch's {expected[t]}");
        }
        Check("exponential", new ExponentialDecay(0.5f, 0.9f).At);
        Check("cosine", new CosineAnnealing(0.5f, period: 10, minimum: 0.01f).At);
        Check("restarts", new CosineWarmRestarts(0.5f, firstPeriod: 5, minimum: 0.02f).At);
        Check("restarts2", new CosineWarmRestarts(0.5f, firstPeriod: 3, periodFactor: 2).At);
        Check("linear", new LinearWarmup(0.5f, steps: 8, startFactor: 0.1f).At);
        Check("onecycle", new OneCycle(0.8f, totalSteps: 40).At);
        Check("onecycle_linear3", new OneCycle(0.8f, totalSteps: 37, warmupFraction: 0.25f, divFactor: 10, finalDivFactor: 100, cosine: false, threePhase: true).At);
        Assert.Throws<ArgumentOutOfRangeException>(() => new OneCycle(0.8f, 40).At(40));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineAnnealing(0.5f, 10).At(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineAnnealing(0.5f, 10, minimum: 0.6f));
    }

    [Fact]
    public void AFitCanScheduleTheRateByIteration()
    {
        var model = new GruClassic37x3(16, 10, seed: 1);
        var trainer = new SequenceTrainer(model, new Adam(model, 1e-2f), shuffleSeed: 3);
        var train = SequenceTrainerTests.FirstStepTask(40, 1); // 3 minibatches of 16, 16 and 8
        var cycle = new OneCycle(0.02f, totalSteps: 4 * 3);
        var history = trainer.Fit(train, null, epochs: 4, learningRatePerIteration: cycle.At);
        // each epoch's record holds the rate of its last step
        Assert.Equal(Enumerable.Range(1, 4).Select(e => cycle.At(e * 3 - 1)), history.Select(e => e.LearningRate));
        var error = Assert.Throws<ArgumentException>(() => trainer.Fit(train, null, epochs: 1, learningRate: _ => 1e-3f, learningRatePerIteration: cycle.At));
        Assert.Contains("per-iteration", error.Message);

        // the language-model trainer counts segments
        var lm = new TinyLm(4, 10, seed: 3);
        var lmTrainer = new LanguageModelTrainer(lm, new Sgd(lm, 1f), 10);
        var stream = new TokenStream(Enumerable.Range(0, 400).Select(i => i % 10).ToArray(), 4); // 99 targets a column: 10 segments
        var warmup = new LinearWarmup(0.5f, steps: 25, startFactor: 0.1f);
        var lmHistory = lmTrainer.Fit(stream, null, epochs: 3, learningRatePerIteration: warmup.At);
        Assert.Equal([warmup.At(9), warmup.At(19), warmup.At(29)], lmHistory.Select(e => e.LearningRate));
    }

    /// <summary>The per-iteration rate is the one each optimizer step uses: a Fit with a schedule ends on the same weights,
    /// bit for bit, as a hand-written loop that sets schedule(i) before step i.</summary>
    [Fact]
    public void EachStepUsesItsScheduledRate()
    {
        const int Batch = 4, Steps = 10, Epochs = 2;
        var stream = new TokenStream(Enumerable.Range(0, 400).Select(i => (i * 7 + i / 3) % 20).ToArray(), Batch);
        var cycle = new OneCycle(0.5f, totalSteps: Epochs * stream.Segments(Steps));

        var fitted = new GruTokens(Batch, Steps, seed: 4);
        new LanguageModelTrainer(fitted, new Sgd(fitted, 1f), Steps).Fit(stream, null, Epochs, learningRatePerIteration: cycle.At);

        var model = new GruTokens(Batch, Steps, seed: 4);
        var sgd = new Sgd(model, 1f);
        var inputs = new int[Batch * Steps];
        var targets = new int[Batch * Steps];
        int step = 0;
        for (int epoch = 0; epoch < Epochs; epoch++)
        {
            var state = model.CreateState(Batch);
            for (int segment = 0; segment < stream.Segments(Steps); segment++)
            {
                int n = stream.Segment(segment, Steps, inputs, targets);
                model.Forward(inputs.AsSpan(0, n * Batch), Batch, n, state);
                model.Loss(targets.AsSpan(0, n * Batch));
                model.ZeroGrad();
                model.Backward();
                sgd.LearningRate = cycle.At(step++);
                sgd.Step();
            }
        }
        Assert.Equal(model.Parameters.ToArray(), fitted.Parameters.ToArray());
    }

    [Fact]
    public void StepsAllocateNothing()
    {
        // On this thread (the process-wide count belongs in the allocation probe; the test host's threads allocate).
        var model = new ArenaModel(Enumerable.Range(0, 4096).Select(i => i * 1e-3f).ToArray());
        Array.Fill(model.G, 0.1f);
        var optimizers = new Optimizer[] { new RmsProp(model, momentum: 0.9f, centered: true), new Asgd(model, t0: 0) };
        var asgd = (Asgd)optimizers[1];
        foreach (var optimizer in optimizers)
            optimizer.Step();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
        {
            foreach (var optimizer in optimizers)
                optimizer.Step();
            using (asgd.UseAverage()) { }
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void NonMonotoneTriggerFollowsAwdLstm()
    {
        // AWD-LSTM: switch when len(logs) > n and loss > min(logs[:-n]); the loss is logged after the check.
        var trigger = new NonMonotoneTrigger(2);
        double[] losses = [5, 4, 3, 3.5, 2.9, 3.1, 3.2];
        var fired = losses.Select(trigger.Observe).ToArray();
        // logs before the 6th loss (3.1): [5, 4, 3, 3.5, 2.9]; min of all but the last 2 = 3 → 3.1 > 3 fires
        Assert.Equal([false, false, false, false, false, true, false], fired);
        Assert.True(trigger.Triggered);
    }
}
