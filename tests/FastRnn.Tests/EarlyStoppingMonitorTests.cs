using FastRnn.Training;
using Xunit;

namespace FastRnn.Tests;

/// <summary>Early stopping inside the trainers (issue 11's review findings): it watches the metric it names, among
/// those the trainer reports; a name the trainer does not report is refused before anything trains; restoring the
/// best weights restores batch normalization's running statistics too.</summary>
public class EarlyStoppingMonitorTests
{
    [Fact]
    public void ItWatchesTheMetricItNames()
    {
        foreach (string monitor in new[] { "val_accuracy", "val_loss", "loss" })
        {
            var model = new GruClassic37x3(16, 10, seed: 1);
            var trainer = new SequenceTrainer(model, new Adam(model, 1e-2f), shuffleSeed: 3);
            var stopping = new EarlyStopping(monitor, patience: 10, restoreBestWeights: true);
            var weights = new List<float[]>();
            var history = trainer.Fit(SequenceTrainerTests.FirstStepTask(160, 1), SequenceTrainerTests.FirstStepTask(100, 2), epochs: 5,
                earlyStopping: stopping, onEpoch: _ => weights.Add(model.Parameters.ToArray()));
            var values = history.Select(e => (float)(monitor switch
            {
                "val_accuracy" => e.Validation!.Accuracy!.Value,
                "val_loss" => e.Validation!.Loss,
                _ => e.TrainLoss,
            })).ToList();
            // Keras: an epoch improves when it beats the best strictly, so the best is the first extreme
            float best = monitor == "val_accuracy" ? values.Max() : values.Min();
            Assert.Equal(monitor != "val_accuracy", stopping.Minimizes);
            Assert.Equal(best, stopping.Best);
            Assert.Equal(values.IndexOf(best), stopping.BestEpoch);
            Assert.Equal(weights[stopping.BestEpoch], model.Parameters.ToArray());
        }
    }

    [Fact]
    public void AMetricTheTrainerDoesNotReportIsRefusedBeforeTraining()
    {
        var model = new GruClassic37x3(16, 10, seed: 1);
        float[] before = model.Parameters.ToArray();
        var trainer = new SequenceTrainer(model, new Adam(model, 1e-2f), shuffleSeed: 3);
        var train = SequenceTrainerTests.FirstStepTask(32, 1);
        var error = Assert.Throws<ArgumentException>(() => trainer.Fit(train, SequenceTrainerTests.FirstStepTask(16, 2), epochs: 2,
            earlyStopping: new EarlyStopping("val_acuracy", MonitorMode.Max)));
        Assert.Contains("'val_acuracy'", error.Message);
        Assert.Contains("'val_accuracy'", error.Message);
        error = Assert.Throws<ArgumentException>(() => trainer.Fit(train, null, epochs: 2, earlyStopping: new EarlyStopping("val_loss")));
        Assert.Contains("validation set", error.Message);
        // a forecaster reports errors, not accuracy
        var forecast = new SequenceSet(8, 10, 4, tokens: false, outputs: 2, classes: false);
        Assert.Throws<ArgumentException>(() => trainer.Fit(forecast, forecast, epochs: 2, earlyStopping: new EarlyStopping("val_accuracy")));
        Assert.Equal(before, model.Parameters.ToArray());
        Assert.Empty(trainer.History);

        var lm = new TinyLm(4, 10, seed: 3);
        var lmTrainer = new LanguageModelTrainer(lm, new Adam(lm), 10);
        var stream = new TokenStream(Enumerable.Range(0, 400).Select(i => i % 10).ToArray(), 4);
        error = Assert.Throws<ArgumentException>(() => lmTrainer.Fit(stream, stream, epochs: 1, earlyStopping: new EarlyStopping("val_accuracy")));
        Assert.Contains("'val_bpc'", error.Message);
    }

    [Fact]
    public void ALanguageModelCanStopOnBitsPerToken()
    {
        var model = new TinyLm(4, 10, seed: 3);
        var trainer = new LanguageModelTrainer(model, new Sgd(model, 1f), 10);
        var stopping = new EarlyStopping("val_bpc", patience: 5);
        var data = new TokenStream(Enumerable.Range(0, 400).Select(i => i % 10).ToArray(), 4);
        var history = trainer.Fit(data, data, epochs: 3, learningRate: e => e == 0 ? 1f : 0.1f, earlyStopping: stopping);
        Assert.Equal((float)history.Min(e => e.ValidationBitsPerToken!.Value), stopping.Best);
    }

    [Fact]
    public void RestoringTheBestWeightsRestoresBatchNormStatistics()
    {
        var model = new BatchNormLm(4, 10, seed: 5);
        Assert.False(model.Statistics.IsEmpty);
        var sgd = new Sgd(model, 0.5f);
        sgd.Clipping.MaxGlobalNorm = 1f;
        var trainer = new LanguageModelTrainer(model, sgd, 10);
        var stopping = new EarlyStopping(patience: 10, restoreBestWeights: true);
        var kept = new List<(float[] Parameters, float[] Statistics)>();
        var data = new TokenStream(Enumerable.Range(0, 800).Select(i => (i * 7 + i / 3) % 20).ToArray(), 4);
        // two useful epochs, then steps far too long (clipped to finite ones) that make things worse
        trainer.Fit(data, data, epochs: 4, learningRate: e => e < 2 ? 0.5f : 30f, earlyStopping: stopping,
            onEpoch: _ => kept.Add((model.Parameters.ToArray(), model.Statistics.ToArray())));
        Assert.True(stopping.BestEpoch < 3, $"best epoch {stopping.BestEpoch}: the test needs a best epoch before the last");
        Assert.NotEqual(kept[stopping.BestEpoch].Statistics, kept[^1].Statistics);
        Assert.Equal(kept[stopping.BestEpoch].Parameters, model.Parameters.ToArray());
        Assert.Equal(kept[stopping.BestEpoch].Statistics, model.Statistics.ToArray());
    }
}
