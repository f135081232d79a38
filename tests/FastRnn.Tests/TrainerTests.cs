using FastRnn.Training;
using Xunit;

namespace FastRnn.Tests;

/// <summary>The language-model trainer: the batchified layout, state carried across segments (segment length does not
/// change the loss), learning a deterministic sequence, early stopping with restored weights, the schedule hook, and
/// zero allocation per epoch.</summary>
public class TrainerTests
{
    private static int[] Pattern(int count) => Enumerable.Range(0, count).Select(i => i % 10).ToArray();

    [Fact]
    public void TheStreamIsCutIntoContiguousColumns()
    {
        var stream = new TokenStream(Enumerable.Range(0, 23).ToArray(), 3);
        Assert.Equal(7, stream.Length); // 21 tokens used, 2 dropped
        Assert.Equal(18, stream.Targets);
        Assert.Equal(2, stream.Segments(4));
        var inputs = new int[12];
        var targets = new int[12];
        Assert.Equal(4, stream.Segment(0, 4, inputs, targets));
        Assert.Equal([0, 7, 14, 1, 8, 15, 2, 9, 16, 3, 10, 17], inputs);
        Assert.Equal([1, 8, 15, 2, 9, 16, 3, 10, 17, 4, 11, 18], targets);
        Assert.Equal(2, stream.Segment(1, 4, inputs, targets));
        Assert.Equal([4, 11, 18, 5, 12, 19], inputs.Take(6));
        Assert.Equal([5, 12, 19, 6, 13, 20], targets.Take(6));
        Assert.Throws<ArgumentOutOfRangeException>(() => stream.Segment(2, 4, inputs, targets));
    }

    [Fact]
    public void CarriedStateMakesTheSegmentLengthIrrelevant()
    {
        var model = new TinyLm(4, 60, seed: 2);
        var data = new TokenStream(Enumerable.Range(0, 4 * 50).Select(i => (i * 7 + i / 3) % 10).ToArray(), 4);
        double whole = new LanguageModelTrainer(model, new Sgd(model, 0.1f), 60).Evaluate(data);
        double pieces = new LanguageModelTrainer(model, new Sgd(model, 0.1f), 7).Evaluate(data);
        Assert.Equal(whole, pieces, 5);
        Assert.True(model.Options.Training); // Evaluate restores the mode
    }

    [Fact]
    public void ItLearnsADeterministicSequence()
    {
        var model = new TinyLm(4, 10, seed: 3);
        var trainer = new LanguageModelTrainer(model, new Adam(model, 1e-2f), 10);
        var history = trainer.Fit(new TokenStream(Pattern(2000), 4), new TokenStream(Pattern(400), 4), epochs: 4);
        Assert.Equal(4, history.Count);
        Assert.True(history[^1].ValidationLoss < 0.05, $"validation loss {history[^1].ValidationLoss}");
        Assert.True(history[0].TrainLoss > history[^1].TrainLoss);
        Assert.Equal(Math.Exp(history[^1].ValidationLoss!.Value), history[^1].ValidationPerplexity!.Value, 12);
    }

    [Fact]
    public void EarlyStoppingStopsAndRestoresTheBestWeights()
    {
        var model = new TinyLm(4, 10, seed: 3);
        var trainer = new LanguageModelTrainer(model, new Sgd(model, 1f), 10);
        var stopping = new EarlyStopping(patience: 2, restoreBestWeights: true);
        float[]? afterFirst = null;
        // lr 1 in epoch 0, then 0: the validation loss stops improving and the run stops two epochs later
        var history = trainer.Fit(new TokenStream(Pattern(400), 4), new TokenStream(Pattern(200), 4), epochs: 10,
            learningRate: e => e == 0 ? 1f : 0f, earlyStopping: stopping,
            onEpoch: r => { if (r.Epoch == 0) afterFirst = model.Parameters.ToArray(); });
        Assert.Equal(3, history.Count);
        Assert.Equal(2, stopping.StoppedEpoch);
        Assert.Equal([1f, 0f, 0f], history.Select(r => r.LearningRate));
        Assert.Equal(afterFirst, model.Parameters.ToArray());
    }

    [Fact]
    public void AnEpochAllocatesNothing()
    {
        var model = new TinyLm(4, 10, seed: 3);
        var trainer = new LanguageModelTrainer(model, new Adam(model), 10);
        var train = new TokenStream(Pattern(800), 4);
        trainer.TrainEpoch(train);
        trainer.Evaluate(train);
        long before = GC.GetAllocatedBytesForCurrentThread();
        trainer.TrainEpoch(train);
        trainer.Evaluate(train);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void ShapesAreChecked()
    {
        var model = new TinyLm(4, 10);
        Assert.Throws<ArgumentOutOfRangeException>(() => new LanguageModelTrainer(model, new Adam(model), 11));
        var trainer = new LanguageModelTrainer(model, new Adam(model), 10);
        var error = Assert.Throws<ArgumentException>(() => trainer.TrainEpoch(new TokenStream(Pattern(100), 3)));
        Assert.Contains("3 columns", error.Message);
        var dense = new LstmSmall(1, 1);
        Assert.Throws<ArgumentException>(() => new LanguageModelTrainer(dense, new Adam(dense), 1));
    }
}
