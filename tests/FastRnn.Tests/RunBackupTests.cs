using FastRnn.Training;
using Xunit;

namespace FastRnn.Tests;

/// <summary>Fit's run backup (Keras' BackupAndRestore): a run that crashes after some epochs and is resumed from its
/// backup by a fresh process (model and optimizer made anew, their weights and mask counter scrambled) ends with the
/// same weights, optimizer state, mask counter, records and early-stopping outcome, bit for bit, as the run that never
/// stopped; a finished run resumes to nothing more to do; a backup of another run (other data, rates, seed, optimizer
/// or early-stopping settings) is refused and changes nothing.</summary>
public class RunBackupTests : TemporaryDirectoryTest
{
    private sealed class Crash : Exception;

    private static TokenStream Stream(int count, int offset) =>
        new(Enumerable.Range(0, count).Select(i => (i * 7 + i / 3 + offset) % 10).ToArray(), 4);

    /// <summary>A fresh process's model: the run's seed, but other weights and another mask counter, which the backup
    /// must replace.</summary>
    private static T Scrambled<T>(T model) where T : ISequenceModel
    {
        Initializers.Uniform(model, 0.3f, seed: 1234);
        model.Options.Pass = 999;
        return model;
    }

    /// <summary>TinyLm (dropout, so the mask counter matters) under Adam; the rate jumps to 0.5 from epoch 3 on, which
    /// soon makes the validation loss worse, so the best epoch (3) lies before the crash and its weights, which early
    /// stopping restores at the end, must come from the backup. Patient enough to let all 7 epochs run.
    /// <paramref name="crashAfter"/> throws from the epoch hook after that many epochs, before their backup is written:
    /// the backup then holds one epoch fewer, as a crash mid-epoch would leave it.</summary>
    private static (TinyLm Model, Adam Optimizer, EarlyStopping Stopping, LanguageModelTrainer Trainer) LanguageRun(
        string? backup, bool fresh = false, int crashAfter = int.MaxValue)
    {
        var model = new TinyLm(4, 10, seed: 1);
        if (fresh)
            Scrambled(model);
        var optimizer = new Adam(model, 2e-2f);
        var trainer = new LanguageModelTrainer(model, optimizer, 10);
        var stopping = new EarlyStopping(patience: 10, restoreBestWeights: true);
        try
        {
            trainer.Fit(Stream(800, 0), Stream(240, 0), epochs: 7, e => e < 3 ? 2e-2f : 0.5f, stopping,
                onEpoch: r => { if (r.Epoch + 1 == crashAfter) throw new Crash(); }, backup: backup);
        }
        catch (Crash)
        {
        }
        return (model, optimizer, stopping, trainer);
    }

    private static byte[] Snapshot(ISequenceModel model, Optimizer optimizer, string path)
    {
        Checkpoint.Save(path, model, optimizer);
        return File.ReadAllBytes(path);
    }

    [Fact]
    public void AResumedLanguageModelRunEqualsTheUninterruptedOne()
    {
        var straight = LanguageRun(backup: null);
        Assert.Equal(7, straight.Trainer.History.Count);
        Assert.Equal(3, straight.Stopping.BestEpoch); // before the crash below: the best weights travel in the backup

        string backup = Path.Combine(Directory, "lm.run");
        LanguageRun(backup, crashAfter: 5); // the backup holds epochs 0–3
        var resumed = LanguageRun(backup, fresh: true);

        Assert.Equal(straight.Model.Parameters.ToArray(), resumed.Model.Parameters.ToArray());
        Assert.Equal(straight.Model.Options.Pass, resumed.Model.Options.Pass);
        Assert.Equal(straight.Optimizer.Steps, resumed.Optimizer.Steps);
        Assert.Equal(straight.Optimizer.LearningRate, resumed.Optimizer.LearningRate);
        Assert.Equal(straight.Trainer.History.Select(r => r with { Seconds = 0 }), resumed.Trainer.History.Select(r => r with { Seconds = 0 }));
        Assert.Equal((straight.Stopping.BestEpoch, straight.Stopping.Best, straight.Stopping.Wait),
            (resumed.Stopping.BestEpoch, resumed.Stopping.Best, resumed.Stopping.Wait));

        // resuming the finished run trains no further and ends on the same (best) weights
        var again = LanguageRun(backup, fresh: true);
        Assert.Equal(straight.Model.Parameters.ToArray(), again.Model.Parameters.ToArray());
        Assert.Equal(straight.Optimizer.Steps, again.Optimizer.Steps);
        Assert.Equal(7, again.Trainer.History.Count);
    }

    [Fact]
    public void ATrainerThatRanThePartBeforeKeepsOneRecordPerEpoch()
    {
        string backup = Path.Combine(Directory, "lm.run");
        var model = new TinyLm(4, 10, seed: 1);
        var trainer = new LanguageModelTrainer(model, new Adam(model, 2e-2f), 10);
        trainer.Fit(Stream(800, 0), Stream(240, 0), epochs: 2, backup: backup);
        trainer.Fit(Stream(800, 0), Stream(240, 0), epochs: 4, backup: backup); // continues the same run
        Assert.Equal([0, 1, 2, 3], trainer.History.Select(r => r.Epoch));
    }

    /// <summary>A shuffled classifier run with reduce-on-plateau (with a cooldown) and early stopping that ends it early.</summary>
    private static (GruClassic37x3 Model, Adam Optimizer, EarlyStopping Stopping, IReadOnlyList<SequenceEpoch> History) SequenceRun(
        string? backup, bool fresh = false, int crashAfter = int.MaxValue)
    {
        var model = new GruClassic37x3(16, 10, seed: 1);
        if (fresh)
            Scrambled(model);
        var optimizer = new Adam(model, 3e-2f);
        var trainer = new SequenceTrainer(model, optimizer, shuffleSeed: 3);
        var stopping = new EarlyStopping(patience: 6, restoreBestWeights: true, minDelta: 0.02f);
        var plateau = new ReduceOnPlateau(optimizer, factor: 0.5f, patience: 0, threshold: 0.1, cooldown: 1);
        try
        {
            trainer.Fit(SequenceTrainerTests.FirstStepTask(160, 1), SequenceTrainerTests.FirstStepTask(64, 2), epochs: 30,
                earlyStopping: stopping, plateau: plateau, onEpoch: r => { if (r.Epoch + 1 == crashAfter) throw new Crash(); }, backup: backup);
        }
        catch (Crash)
        {
        }
        return (model, optimizer, stopping, trainer.History);
    }

    [Fact]
    public void AResumedSequenceRunEqualsTheUninterruptedOne()
    {
        var straight = SequenceRun(backup: null);
        Assert.True(straight.Stopping.StoppedEpoch > 0 && straight.History.Count < 30, "early stopping should end this run");
        Assert.True(straight.History.Select(r => r.LearningRate).Distinct().Count() > 2, "the plateau should lower the rate more than once");
        string backup = Path.Combine(Directory, "seq.run");
        SequenceRun(backup, crashAfter: straight.History.Count - 1);
        var resumed = SequenceRun(backup, fresh: true);

        Assert.Equal(straight.Model.Parameters.ToArray(), resumed.Model.Parameters.ToArray());
        Assert.Equal(straight.Optimizer.Steps, resumed.Optimizer.Steps);
        Assert.Equal(straight.Optimizer.LearningRate, resumed.Optimizer.LearningRate);
        Assert.Equal(straight.History.Select(r => r with { Seconds = 0 }), resumed.History.Select(r => r with { Seconds = 0 }));
        Assert.Equal(straight.Stopping.StoppedEpoch, resumed.Stopping.StoppedEpoch);

        // the run early stopping ended stays ended: resumed again, it trains no further
        var again = SequenceRun(backup, fresh: true);
        Assert.Equal(straight.Optimizer.Steps, again.Optimizer.Steps);
        Assert.Equal(straight.History.Count, again.History.Count);
        Assert.Equal(straight.Model.Parameters.ToArray(), again.Model.Parameters.ToArray());
    }

    [Fact]
    public void ABackupOfAnotherRunIsRefusedAndChangesNothing()
    {
        string backup = Path.Combine(Directory, "lm.run");
        LanguageRun(backup, crashAfter: 3);

        void Refused(string expected, Action<TinyLm> change, int dataOffset = 0, float beta2 = 0.999f, int patience = 10)
        {
            var model = new TinyLm(4, 10, seed: 1);
            change(model);
            var optimizer = new Adam(model, 2e-2f, beta2: beta2);
            byte[] before = Snapshot(model, optimizer, Path.Combine(Directory, "before"));
            var trainer = new LanguageModelTrainer(model, optimizer, 10);
            var error = Assert.Throws<InvalidDataException>(() => trainer.Fit(Stream(800, dataOffset), Stream(240, 0), 7, e => e < 3 ? 2e-2f : 0.5f,
                new EarlyStopping(patience: patience, restoreBestWeights: true), backup: backup));
            Assert.Contains(expected, error.Message);
            Assert.Equal(before, Snapshot(model, optimizer, Path.Combine(Directory, "after")));
            Assert.Empty(trainer.History);
        }
        Refused("Layer0Dropout=0;", m => m.Options["Layer0Dropout"] = 0f);     // the plain arm of a regularized run
        Refused("mask seed 2", m => m.Options.Seed = 2);                         // another seed
        Refused("training stream", _ => { }, dataOffset: 1);                     // other data
        Refused("Beta2=0.99", _ => { }, beta2: 0.99f);                          // another optimizer setting
        Refused("patience=4", _ => { }, patience: 4);                            // another early-stopping setting

        // a checkpoint that is not a run backup
        var model = new TinyLm(4, 10, seed: 1);
        var optimizer = new Adam(model, 2e-2f);
        string plain = Path.Combine(Directory, "plain.ckpt");
        Checkpoint.Save(plain, model, optimizer);
        var error = Assert.Throws<InvalidDataException>(() => new LanguageModelTrainer(model, optimizer, 10).Fit(Stream(800, 0), null, 5, backup: plain));
        Assert.Contains("not one written by a trainer's Fit", error.Message);

        // a schedule and a plateau together; a plateau on another optimizer
        var trainer = new LanguageModelTrainer(model, optimizer, 10);
        Assert.Throws<ArgumentException>(() => trainer.Fit(Stream(80, 0), null, 1, learningRate: _ => 1e-3f, plateau: new ReduceOnPlateau(optimizer)));
        Assert.Throws<ArgumentException>(() => trainer.Fit(Stream(80, 0), null, 1, plateau: new ReduceOnPlateau(new Adam(model))));
    }
}
