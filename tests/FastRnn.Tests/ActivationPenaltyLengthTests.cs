using FastRnn.Kernels;
using Xunit;

namespace FastRnn.Tests;

// AR and TAR on an every-step head, no dropout: a row run alone is the same computation as that row in a batch.
[RnnModel, TokenInput(9, 5), Lstm(11), Head(9, Activation.Softmax, ActivationRegularization = 2, TemporalActivationRegularization = 1), Loss(LossKind.SoftmaxCrossEntropy)]
public partial class PenalizedTagger;

/// <summary>AWD-LSTM's activation penalties under per-row lengths (issue 11): AR averages over the real steps, TAR over the
/// pairs of consecutive real steps of each row. Whatever the padding holds, the loss and every gradient stay bit for bit the
/// same; and the batch equals its rows run alone, each term weighted by what the row counts in it (cross-entropy and AR by
/// the row's steps, TAR by its steps − 1, so a row of one step adds no TAR).</summary>
public class ActivationPenaltyLengthTests
{
    private const int Batch = 3, Steps = 5;
    private static readonly int[] s_lengths = [5, 1, 4];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void PenaltiesCountTheRealStepsOnly(bool wide)
    {
        PenalizedTagger model;
        using (VectorPath.Override(wide))
            model = new PenalizedTagger(Batch, Steps, seed: 4);
        var random = new Random(8);
        int[] tokens = Enumerable.Range(0, Steps * Batch).Select(_ => random.Next(PenalizedTagger.Vocabulary)).ToArray();
        int[] targets = Enumerable.Range(0, Steps * Batch).Select(_ => random.Next(PenalizedTagger.OutputSize)).ToArray();
        (double Loss, float[] Gradients) Run(int[] x, int[] y, int batch, int steps, int[]? lengths, float ar = 2f, float tar = 1f)
        {
            model.Options.ActivationRegularization = ar;
            model.Options.TemporalActivationRegularization = tar;
            if (lengths is null)
                model.Forward(x, batch, steps);
            else
                model.Forward(x, batch, steps, lengths);
            float loss = model.Loss(y);
            model.ZeroGrad();
            model.Backward();
            return (loss, model.Gradients.ToArray());
        }

        var (loss, gradients) = Run(tokens, targets, Batch, Steps, s_lengths);
        var (paddedLoss, paddedGradients) = Run(Sequences.Pad(tokens, s_lengths, Batch, 1, 7), Sequences.Pad(targets, s_lengths, Batch, 1, 2), Batch, Steps, s_lengths);
        Assert.Equal(loss, paddedLoss);
        Assert.Equal(gradients, paddedGradients);

        int steps = s_lengths.Sum(), pairs = s_lengths.Sum(n => n - 1);
        double expectedLoss = 0;
        var expected = new double[gradients.Length];
        for (int r = 0; r < Batch; r++)
        {
            int n = s_lengths[r];
            var x = Sequences.Row(tokens, Batch, 1, r, n);
            var y = Sequences.Row(targets, Batch, 1, r, n);
            var (data, dData) = Run(x, y, 1, n, null, 0f, 0f);
            var (withAr, dWithAr) = Run(x, y, 1, n, null, 2f, 0f);
            var (withTar, dWithTar) = Run(x, y, 1, n, null, 0f, 1f);
            if (n == 1)
                Assert.Equal(data, withTar); // one step has no pair
            expectedLoss += (data + (withAr - data)) * n / steps + (withTar - data) * (n - 1) / pairs;
            for (int i = 0; i < expected.Length; i++)
                expected[i] += ((double)dData[i] + ((double)dWithAr[i] - dData[i])) * n / steps + ((double)dWithTar[i] - dData[i]) * (n - 1) / pairs;
        }
        Assert.Equal(expectedLoss, loss, 5);
        Close.Assert(expected.Select(v => (float)v).ToArray(), gradients, "gradient of AR and TAR with lengths");
        // the penalties are there: without them the loss is lower
        Assert.True(Run(tokens, targets, Batch, Steps, s_lengths, 0f, 0f).Loss < loss - 1e-3);
    }
}
