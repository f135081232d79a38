using FastRnn.Training;
using Xunit;

namespace FastRnn.Tests;

/// <summary>NT-ASGD in the trainers (issue 11's review), as AWD-LSTM's main.py runs it: plain SGD until the
/// non-monotone trigger fires on a validation loss, then ASGD(lr, t0 = 0, λ = 0) from the next epoch, every later
/// evaluation with the averaged weights, and the averaged weights as the result.</summary>
public class NtAsgdTests
{
    // One pattern; the validation stream is a later stretch of it.
    private static TokenStream Stream(int count, int from) =>
        new(Enumerable.Range(from, count).Select(i => (i * 7 + i / 3) % 10).ToArray(), 4);

    /// <summary>The model, its plain SGD (learning rate 1, global-norm clipping 0.5) and a trainer of 10-step segments.</summary>
    private static (TinyLm Model, Sgd Sgd, LanguageModelTrainer Trainer) ClippedSgd(float weightDecay = 0f)
    {
        var model = new TinyLm(4, 10, seed: 3);
        var sgd = new Sgd(model, 1f, weightDecay: weightDecay);
        sgd.Clipping.MaxGlobalNorm = 0.5f;
        return (model, sgd, new LanguageModelTrainer(model, sgd, 10));
    }

    [Fact]
    public void TheTrainerSwitchesToAveragedSgdAndEvaluatesWithTheAverage()
    {
        var (model, sgd, trainer) = ClippedSgd(weightDecay: 1e-4f);
        var (train, valid) = (Stream(800, 0), Stream(200, 800));
        var trigger = new NonMonotoneTrigger(1);
        // two epochs at lr 1, one far too fast (its validation loss rises above the first: the trigger fires), two at lr 1
        var history = trainer.Fit(train, valid, epochs: 5, learningRate: e => e == 2 ? 40f : 1f, averaging: trigger);
        Assert.True(trigger.Triggered);
        Assert.True(history[2].ValidationLoss > history[0].ValidationLoss);
        var averaged = Assert.IsType<Asgd>(trainer.Optimizer);
        Assert.Equal(2 * train.Segments(10), averaged.Steps);
        Assert.Equal((0f, 0d, 1e-4f, 0.5f), (averaged.Lambda, averaged.T0, averaged.WeightDecay, averaged.Clipping.MaxGlobalNorm));
        Assert.Equal(3 * train.Segments(10), sgd.Steps);
        // the result is the average, and the last epoch's validation loss was measured with it
        Assert.Equal(averaged.Average.ToArray(), model.Parameters.ToArray());
        Assert.Equal(history[^1].ValidationLoss!.Value, trainer.Evaluate(valid), 12);
    }

    [Fact]
    public void WithRestoredBestWeightsTheBestEpochsAverageIsKept()
    {
        var (model, sgd, trainer) = ClippedSgd();
        var (train, valid) = (Stream(800, 0), Stream(200, 800));
        var stopping = new EarlyStopping(patience: 10, restoreBestWeights: true);
        // three good epochs, one far too fast (the trigger fires), then ten averaged ones that get below the best SGD epoch
        var history = trainer.Fit(train, valid, epochs: 14, learningRate: e => e == 3 ? 40f : 1f, averaging: new NonMonotoneTrigger(1),
            earlyStopping: stopping);
        Assert.True(trainer.Optimizer is Asgd, string.Join(", ", history.Select(e => e.ValidationLoss!.Value.ToString("F4"))));
        Assert.True(stopping.BestEpoch >= 4, $"best epoch {stopping.BestEpoch}: the test needs one after the switch; {string.Join(", ", history.Select(e => e.ValidationLoss!.Value.ToString("F4")))}");
        Assert.Equal((float)history.Min(e => e.ValidationLoss!.Value), stopping.Best);
        // the restored weights are the ones that epoch was evaluated with: its average
        Assert.Equal((double)stopping.Best, trainer.Evaluate(valid), 5);
    }

    [Fact]
    public void AfterTheSwitchLaterFitsAverageAndKeepTheRefusals()
    {
        var (model, sgd, trainer) = ClippedSgd();
        var (train, valid) = (Stream(800, 0), Stream(200, 800));
        trainer.Fit(train, valid, epochs: 5, learningRate: e => e == 3 ? 40f : 1f, averaging: new NonMonotoneTrigger(1));
        var averaged = Assert.IsType<Asgd>(trainer.Optimizer);
        long steps = averaged.Steps, sgdSteps = sgd.Steps;
        // a later Fit trains the averaged optimizer, with or without the trigger
        trainer.Fit(train, valid, epochs: 1);
        Assert.Equal(steps + train.Segments(10), averaged.Steps);
        Assert.Equal(sgdSteps, sgd.Steps);
        // and what holds on to the first optimizer stays refused
        Assert.Throws<ArgumentException>(() => trainer.Fit(train, valid, 1, plateau: new ReduceOnPlateau(sgd)));
        Assert.Throws<ArgumentException>(() => trainer.Fit(train, valid, 1, backup: Path.Combine(Path.GetTempPath(), $"{Guid.NewGuid():N}.backup")));
    }

    [Fact]
    public void AsgdTakesItsStepSizeFromTheRateAtItsFirstStep()
    {
        // torch.optim.ASGD sets η = lr when its state starts, at the first step: a rate set before that counts
        var model = new ArenaModel(Enumerable.Range(0, 32).Select(i => i * 0.1f).ToArray());
        Array.Fill(model.G, 1f);
        var asgd = new Asgd(model, 0.1f, lambda: 0f, t0: 0) { LearningRate = 0.5f };
        float[] before = (float[])model.P.Clone();
        asgd.Step();
        Assert.Equal(before.Select(p => p - 0.5f), model.P);
    }

    [Fact]
    public void WhatNtAsgdCannotRunWithIsRefusedBeforeTraining()
    {
        var model = new TinyLm(4, 10, seed: 3);
        var before = model.Parameters.ToArray();
        var (train, valid) = (Stream(400, 0), Stream(200, 800));
        var adam = new LanguageModelTrainer(model, new Adam(model), 10);
        Assert.Contains("plain SGD", Assert.Throws<ArgumentException>(() => adam.Fit(train, valid, 2, averaging: new NonMonotoneTrigger())).Message);
        var momentum = new LanguageModelTrainer(model, new Sgd(model, 1f, momentum: 0.9f), 10);
        Assert.Throws<ArgumentException>(() => momentum.Fit(train, valid, 2, averaging: new NonMonotoneTrigger()));
        var sgd = new LanguageModelTrainer(model, new Sgd(model, 1f), 10);
        Assert.Contains("validation", Assert.Throws<ArgumentException>(() => sgd.Fit(train, null, 2, averaging: new NonMonotoneTrigger())).Message);
        Assert.Throws<ArgumentException>(() => sgd.Fit(train, valid, 2, averaging: new NonMonotoneTrigger(), backup: Path.Combine(Path.GetTempPath(), $"{Guid.NewGuid():N}.backup")));
        Assert.Equal(before, model.Parameters.ToArray());
    }
}
