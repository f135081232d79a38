using FastRnn.Training;
using Xunit;

namespace FastRnn.Tests;

/// <summary>The last-step trainer: learning a task that needs the first step of variable-length sequences, a shuffle
/// order that follows the seed, metrics equal to a one-batch computation, and zero allocation per minibatch.</summary>
public class SequenceTrainerTests
{
    // Class 1 when the first step's first feature is positive: the model must carry it to each row's own last step.
    internal static SequenceSet FirstStepTask(int count, int seed)
    {
        var random = new Random(seed);
        var set = new SequenceSet(count, steps: 10, width: 4, tokens: false, outputs: 2, classes: true);
        for (int i = 0; i < count; i++)
        {
            set.Lengths[i] = random.Next(3, 11);
            for (int k = 0; k < 10 * 4; k++)
                set.Dense[i * 40 + k] = (float)(random.NextDouble() * 2 - 1);
            set.Classes[i] = set.Dense[i * 40] > 0 ? 1 : 0;
        }
        return set;
    }

    [Fact]
    public void ItLearnsATaskOfVariableLengthSequences()
    {
        var model = new GruClassic37x3(16, 10, seed: 1);
        var trainer = new SequenceTrainer(model, new Adam(model, 1e-2f), shuffleSeed: 3);
        var history = trainer.Fit(FirstStepTask(640, 1), FirstStepTask(200, 2), epochs: 12);
        var last = history[^1].Validation!;
        Assert.True(last.Accuracy > 0.95, $"validation accuracy {last.Accuracy}");
        Assert.True(history[0].Validation!.Loss > last.Loss);
    }

    [Fact]
    public void TheShuffleFollowsTheSeed()
    {
        float[] Train(ulong seed)
        {
            var model = new GruClassic37x3(16, 10, seed: 1);
            var trainer = new SequenceTrainer(model, new Adam(model, 1e-2f), shuffleSeed: seed);
            trainer.Fit(FirstStepTask(100, 1), null, epochs: 2);
            return model.Parameters.ToArray();
        }
        Assert.Equal(Train(5), Train(5));
        Assert.NotEqual(Train(5), Train(6));
    }

    [Fact]
    public void MetricsEqualAOneBatchComputation()
    {
        // float targets: MAE and RMSE over batches of 16 against one batch of all 40 samples in another instance
        var set = new SequenceSet(40, 6, 4, tokens: false, outputs: 1, classes: false);
        var random = new Random(3);
        for (int i = 0; i < set.Dense.Length; i++) set.Dense[i] = (float)random.NextDouble() - 0.5f;
        for (int i = 0; i < 40; i++) { set.Lengths[i] = 1 + i % 6; set.Values[i] = i % 2; }
        var small = new Lstm37x2(16, 6, seed: 4);
        var metrics = new SequenceTrainer(small, new Sgd(small, 0.1f)).Evaluate(set);

        var big = new Lstm37x2(40, 6, seed: 4);
        var inputs = new float[6 * 40 * 4];
        for (int i = 0; i < 40; i++)
            for (int t = 0; t < 6; t++)
                set.Dense.AsSpan((i * 6 + t) * 4, 4).CopyTo(inputs.AsSpan((t * 40 + i) * 4));
        big.Options.Training = false;
        big.Forward(inputs, 40, 6, set.Lengths);
        double loss = big.Loss(set.Values);
        var outputs = Enumerable.Range(0, 40).Select(r => (double)big.Output(r)[0]).ToArray();
        double mae = outputs.Select((y, i) => Math.Abs(y - set.Values[i])).Average();
        double rmse = Math.Sqrt(outputs.Select((y, i) => (y - set.Values[i]) * (y - set.Values[i])).Average());
        Assert.Equal(loss, metrics.Loss, 5);
        Assert.Equal(mae, metrics.MeanAbsoluteError!.Value, 5);
        Assert.Equal(rmse, metrics.RootMeanSquaredError!.Value, 5);
        Assert.Null(metrics.Accuracy);
    }

    [Fact]
    public void MinibatchesAllocateNothingAndMismatchesAreClear()
    {
        var model = new GruClassic37x3(16, 10, seed: 1);
        var trainer = new SequenceTrainer(model, new Adam(model));
        var set = FirstStepTask(64, 1);
        trainer.TrainEpoch(set, 0);
        trainer.Evaluate(set);
        // Steady state means no JIT work: a window in which the runtime compiled a method (tier-1 recompilation lands
        // whenever its background thread gets to it, later when other test processes share the cores) is measured again,
        // at most twenty times.
        long allocated = 0;
        for (int window = 1; window <= 20; window++)
        {
            long compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
            long before = GC.GetAllocatedBytesForCurrentThread();
            trainer.TrainEpoch(set, window);
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (allocated == 0 || System.Runtime.JitInfo.GetCompiledMethodCount() == compiled)
                break;
        }
        Assert.Equal(0, allocated);
        // Evaluate allocates its result record only: the same on 4 minibatches as on 16
        var large = FirstStepTask(256, 2);
        trainer.Evaluate(large);
        long start = GC.GetAllocatedBytesForCurrentThread();
        trainer.Evaluate(set);
        long small = GC.GetAllocatedBytesForCurrentThread() - start;
        start = GC.GetAllocatedBytesForCurrentThread();
        trainer.Evaluate(large);
        Assert.Equal(small, GC.GetAllocatedBytesForCurrentThread() - start);
        Assert.True(small < 100, $"{small} bytes");

        var wrong = new SequenceSet(4, 10, 5, tokens: false, outputs: 2, classes: true);
        Assert.Contains("does not fit the model", Assert.Throws<ArgumentException>(() => trainer.Evaluate(wrong)).Message);
        var lm = new TinyLm(2, 2);
        Assert.Throws<ArgumentException>(() => new SequenceTrainer(lm, new Adam(lm)));
    }
}
