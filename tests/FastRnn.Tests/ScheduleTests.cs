using FastRnn.Kernels;
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
