using FastRnn.Training;
using Xunit;

namespace FastRnn.Tests;

/// <summary>Fit's run backup (Keras' BackupAndRestore): a run that crashes after some epochs and is resumed from its
/// backup by a fresh process (model and optimizer made anew, other seeds) ends with the same weights, optimizer state,
/// mask counter, records and early-stopping outcome, bit for bit, as the run that never stopped; a finished run resumes
/// to nothing more to do; a backup that does not fit the Fit is refused and changes nothing.</summary>
public class RunBackupTests : TemporaryDirectoryTest
{
    private sealed class Crash : Exception;

    private static TokenStream Stream(int count, int offset) =>
        new(Enumerable.Range(0, count).Select(i => (i * 7 + i / 3 + offset) % 10).ToArray(), 4);

    /// <summary>TinyLm (dropout, so the mask counter matters) under Adam with a step-decay schedule and early stopping
    /// that restores its best weights (patient enough to let all 7 epochs run); <paramref name="crashAfter"/> throws from the epoch hook after that many epochs,
    /// before their backup is written: the backup then holds one epoch fewer, as a crash mid-epoch would leave it.</summary>
    private static (TinyLm Model, Adam Optimizer, EarlyStopping Stopping, IReadOnlyList<EpochRecord> History) LanguageRun(
        ulong seed, string? backup, int crashAfter = int.MaxValue)
    {
        var model = new TinyLm(4, 10, seed);
        var optimizer = new Adam(model, 2e-2f);
        var trainer = new LanguageModelTrainer(model, optimizer, 10);
        var stopping = new EarlyStopping(patience: 10, restoreBestWeights: true);
        var schedule = new StepDecay(2e-2f, 0.5f, every: 2);
        try
        {
            trainer.Fit(Stream(800, 0), Stream(200, 3), epochs: 7, schedule.At, stopping,
                onEpoch: r => { if (r.Epoch + 1 == crashAfter) throw new Crash(); }, backup: backup);
        }
        catch (Crash)
        {
        }
        return (model, optimizer, stopping, trainer.History);
    }

    private static void AssertSameRecords<T>(IReadOnlyList<T> expected, IReadOnlyList<T> actual, Func<T, object> withoutTime)
    {
        Assert.Equal(expected.Count, actual.Count);
        Assert.Equal(expected.Select(withoutTime), actual.Select(withoutTime));
    }

    [Fact]
    public void AResumedLanguageModelRunEqualsTheUninterruptedOne()
    {
        var straight = LanguageRun(seed: 1, backup: null);
        string backup = Path.Combine(Directory, "lm.run");
        var crashed = LanguageRun(seed: 1, backup, crashAfter: 4);
        Assert.Equal(4, crashed.History.Count);
        var resumed = LanguageRun(seed: 77, backup); // other weights and mask seed: the backup must bring them

        Assert.Equal(straight.Model.Parameters.ToArray(), resumed.Model.Parameters.ToArray());
        Assert.Equal(straight.Model.Options.Pass, resumed.Model.Options.Pass);
        Assert.Equal(straight.Model.Options.Seed, resumed.Model.Options.Seed);
        Assert.Equal(straight.Optimizer.Steps, resumed.Optimizer.Steps);
        Assert.Equal(straight.Optimizer.LearningRate, resumed.Optimizer.LearningRate);
        AssertSameRecords(straight.History, resumed.History, r => r with { Seconds = 0 });
        Assert.Equal((straight.Stopping.BestEpoch, straight.Stopping.Best, straight.Stopping.Wait, straight.Stopping.StoppedEpoch),
            (resumed.Stopping.BestEpoch, resumed.Stopping.Best, resumed.Stopping.Wait, resumed.Stopping.StoppedEpoch));
        Assert.Equal(7, straight.History.Count); // the comparison covers the schedule's decays, not only a first epoch

        // resuming the finished run trains no further and ends on the same (best) weights
        var again = LanguageRun(seed: 5, backup);
        Assert.Equal(straight.Model.Parameters.ToArray(), again.Model.Parameters.ToArray());
        Assert.Equal(straight.Optimizer.Steps, again.Optimizer.Steps);
        Assert.Equal(7, again.History.Count);
    }

    /// <summary>A shuffled classifier run with reduce-on-plateau and early stopping that ends the run early.</summary>
    private static (GruClassic37x3 Model, Adam Optimizer, EarlyStopping Stopping, IReadOnlyList<SequenceEpoch> History) SequenceRun(
        ulong seed, string? backup, int crashAfter = int.MaxValue)
    {
        var model = new GruClassic37x3(16, 10, seed);
        var optimizer = new Adam(model, 3e-2f);
        var trainer = new SequenceTrainer(model, optimizer, shuffleSeed: 3);
        var stopping = new EarlyStopping(patience: 3, restoreBestWeights: true, minDelta: 0.02f);
        var plateau = new ReduceOnPlateau(optimizer, factor: 0.5f, patience: 0, threshold: 0.1);
        try
        {
            trainer.Fit(SequenceTrainerTests.FirstStepTask(160, 1), SequenceTrainerTests.FirstStepTask(64, 2), epochs: 30, earlyStopping: stopping, plateau: plateau,
                onEpoch: r => { if (r.Epoch + 1 == crashAfter) throw new Crash(); }, backup: backup);
        }
        catch (Crash)
        {
        }
        return (model, optimizer, stopping, trainer.History);
    }

    [Fact]
    public void AResumedSequenceRunEqualsTheUninterruptedOne()
    {
        var straight = SequenceRun(seed: 1, backup: null);
        Assert.True(straight.Stopping.StoppedEpoch > 0 && straight.History.Count < 30, "early stopping should end this run");
        Assert.True(straight.History.Select(r => r.LearningRate).Distinct().Count() > 1, "the plateau should lower the rate");
        string backup = Path.Combine(Directory, "seq.run");
        int crashAt = straight.History.Count - 1;
        SequenceRun(seed: 1, backup, crashAfter: crashAt);
        var resumed = SequenceRun(seed: 9, backup);

        Assert.Equal(straight.Model.Parameters.ToArray(), resumed.Model.Parameters.ToArray());
        Assert.Equal(straight.Optimizer.Steps, resumed.Optimizer.Steps);
        Assert.Equal(straight.Optimizer.LearningRate, resumed.Optimizer.LearningRate);
        AssertSameRecords(straight.History, resumed.History, r => r with { Seconds = 0 });
        Assert.Equal(straight.Stopping.StoppedEpoch, resumed.Stopping.StoppedEpoch);
    }

    [Fact]
    public void ABackupThatDoesNotFitIsRefusedAndChangesNothing()
    {
        string backup = Path.Combine(Directory, "seq.run");
        SequenceRun(seed: 1, backup, crashAfter: 2);

        // another early-stopping setting
        var model = new GruClassic37x3(16, 10, seed: 4);
        var before = model.Parameters.ToArray();
        var trainer = new SequenceTrainer(model, new Adam(model, 3e-2f), shuffleSeed: 3);
        var error = Assert.Throws<InvalidDataException>(() => trainer.Fit(SequenceTrainerTests.FirstStepTask(160, 1), null, 5,
            earlyStopping: new EarlyStopping(patience: 4, restoreBestWeights: true, minDelta: 0.02f), backup: backup));
        Assert.Contains("patience=3", error.Message);
        Assert.Contains("patience=4", error.Message);
        Assert.Equal(before, model.Parameters.ToArray());

        // no plateau where the run had one
        error = Assert.Throws<InvalidDataException>(() => trainer.Fit(SequenceTrainerTests.FirstStepTask(160, 1), null, 5,
            earlyStopping: new EarlyStopping(patience: 3, restoreBestWeights: true, minDelta: 0.02f), backup: backup));
        Assert.Contains("reduce-on-plateau", error.Message);
        Assert.Equal(before, model.Parameters.ToArray());

        // a checkpoint that is not a run backup
        string plain = Path.Combine(Directory, "plain.ckpt");
        var optimizer = new Adam(model, 3e-2f);
        Checkpoint.Save(plain, model, optimizer);
        error = Assert.Throws<InvalidDataException>(() => new SequenceTrainer(model, optimizer).Fit(SequenceTrainerTests.FirstStepTask(160, 1), null, 5, backup: plain));
        Assert.Contains("not one written by a trainer's Fit", error.Message);

        // a corrupted backup
        var bytes = File.ReadAllBytes(backup);
        bytes[^5] ^= 0x40;
        File.WriteAllBytes(backup, bytes);
        error = Assert.Throws<InvalidDataException>(() => new SequenceTrainer(model, optimizer).Fit(SequenceTrainerTests.FirstStepTask(160, 1), null, 5, backup: backup));
        Assert.Contains("corrupted", error.Message);
        Assert.Equal(before, model.Parameters.ToArray());

        // a schedule and a plateau together
        Assert.Throws<ArgumentException>(() => new SequenceTrainer(model, optimizer).Fit(SequenceTrainerTests.FirstStepTask(16, 1), null, 1,
            learningRate: _ => 1e-3f, plateau: new ReduceOnPlateau(optimizer)));
    }
}
