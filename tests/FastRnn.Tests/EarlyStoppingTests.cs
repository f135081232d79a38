using FastRnn.Training;
using Xunit;

namespace FastRnn.Tests;

/// <summary>Early stopping on scripted metric sequences, against Keras 3's EarlyStopping semantics.</summary>
public class EarlyStoppingTests
{
    private sealed class Weights(int length) : IRnnModel
    {
        public float[] P = new float[length];
        public Span<float> Parameters => P;
        public Span<float> Gradients => Span<float>.Empty;
        public IReadOnlyList<ParameterTensor> Tensors => [];
        public void ZeroGrad() { }
    }

    /// <summary>Feeds the values epoch by epoch (setting every weight to the epoch number first); returns the epoch
    /// that stopped, or −1.</summary>
    private static int Run(EarlyStopping stopping, float[] values, Weights? model = null)
    {
        model ??= new Weights(16);
        stopping.Begin(model);
        for (int epoch = 0; epoch < values.Length; epoch++)
        {
            Array.Fill(model.P, epoch);
            if (stopping.EndEpoch(epoch, values[epoch]))
            {
                stopping.End();
                return epoch;
            }
        }
        stopping.End();
        return -1;
    }

    [Fact]
    public void StopsWhenPatienceRunsOut()
    {
        var stopping = new EarlyStopping(patience: 2);
        Assert.Equal(3, Run(stopping, [5f, 4f, 4.5f, 4.6f, 3f]));
        Assert.Equal((4f, 1, 3), (stopping.Best, stopping.BestEpoch, stopping.StoppedEpoch));
    }

    [Fact]
    public void PatienceZeroStopsAtTheFirstEpochWithoutImprovement()
    {
        Assert.Equal(2, Run(new EarlyStopping(patience: 0), [3f, 2f, 2f, 1f]));
        Assert.Equal(-1, Run(new EarlyStopping(patience: 0), [3f, 2f, 1f, 0f]));
    }

    [Fact]
    public void MinDeltaIsTheSmallestChangeThatCounts()
    {
        Assert.Equal(1, Run(new EarlyStopping(minDelta: 0.1f, patience: 1), [1.0f, 0.95f, 0.5f]));
        Assert.Equal(-1, Run(new EarlyStopping(minDelta: -0.1f, patience: 1), [1.0f, 0.85f, 0.7f])); // |min_delta|, as Keras
    }

    [Fact]
    public void BaselineMustBeBeatenToResetTheWait()
    {
        // Improving but above the baseline: the wait keeps growing, yet Keras only stops on an epoch that does not improve.
        Assert.Equal(-1, Run(new EarlyStopping(patience: 2, baseline: 0.5f), [0.9f, 0.8f, 0.7f]));
        Assert.Equal(2, Run(new EarlyStopping(patience: 2, baseline: 0.5f), [0.9f, 0.8f, 0.85f]));
        // Beating the baseline resets the wait as usual.
        Assert.Equal(-1, Run(new EarlyStopping(patience: 2, baseline: 0.5f), [0.4f, 0.3f, 0.35f]));
    }

    [Fact]
    public void EpochsBeforeStartFromEpochAreIgnored()
    {
        var stopping = new EarlyStopping(patience: 1, startFromEpoch: 2);
        Assert.Equal(3, Run(stopping, [1f, 2f, 3f, 4f, 5f]));
        Assert.Equal((3f, 2), (stopping.Best, stopping.BestEpoch));
    }

    [Fact]
    public void MaxModeAndAutoModeByName()
    {
        Assert.Equal(2, Run(new EarlyStopping("val_accuracy", patience: 1), [0.5f, 0.6f, 0.55f]));
        Assert.False(new EarlyStopping("val_accuracy").Minimizes);
        Assert.True(new EarlyStopping("val_perplexity").Minimizes);
        Assert.Throws<ArgumentException>(() => new EarlyStopping("val_something"));
        Assert.Equal(2, Run(new EarlyStopping("val_something", MonitorMode.Max, patience: 1), [1f, 2f, 1f]));
    }

    [Fact]
    public void RestoresTheBestEpochsWeights()
    {
        var model = new Weights(16);
        // Best at epoch 3 (2.5); epochs 4 and 5 do not improve, so patience 2 stops at epoch 5.
        Assert.Equal(5, Run(new EarlyStopping(patience: 2, restoreBestWeights: true), [5f, 3f, 4f, 2.5f, 2.6f, 2.7f], model));
        Assert.All(model.P, v => Assert.Equal(3f, v));
    }

    [Fact]
    public void RestoresEvenWithoutAnEarlyStopAndNeverTakesNaN()
    {
        var model = new Weights(8);
        Assert.Equal(-1, Run(new EarlyStopping(patience: 5, restoreBestWeights: true), [2f, 1f, float.NaN, 1.5f], model));
        Assert.All(model.P, v => Assert.Equal(1f, v));
    }
}
