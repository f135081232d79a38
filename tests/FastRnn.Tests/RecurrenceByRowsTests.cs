using System.Runtime.InteropServices;
using System.Security.Cryptography;
using FastRnn.Kernels;
using Xunit;

namespace FastRnn.Tests;

// Plain LSTM layers, whose backward steps a pool splits by rows of the batch: two layers with dropout on their inputs and
// the head's (drawn outside the recurrence) and weight drop (the pass's dropped matrix, the same for every row).
[RnnModel, TokenInput(40, 16, EmbeddingDropout = 0.1), Lstm(64, Layers = 2, Dropout = 0.2, WeightDrop = 0.2),
 Head(40, Activation.Softmax, Dropout = 0.1), Loss(LossKind.SoftmaxCrossEntropy)]
public sealed partial class RowRecurrenceModel;

// A bidirectional plain LSTM (both directions' backward steps by rows) under a GRU (by units), a last-step head, per-row lengths.
[RnnModel, TokenInput(30, 8), Lstm(48, Bidirectional = true), Gru(32), Head(30, Activation.Softmax, Readout = Readout.LastStep),
 Loss(LossKind.SoftmaxCrossEntropy)]
public sealed partial class RowRecurrenceDirectionsModel;

/// <summary>Backward steps split by rows (each thread every unit of its rows, from a multiple of 4) train to the same bits
/// as one thread and as the split by units, at any thread count, on both widths; a final-state gradient under per-row
/// lengths joins each share's rows; the generator gives the split only to the layers it suits.</summary>
public class RecurrenceByRowsTests
{
    public static TheoryData<bool> Widths() => [false, true];

    /// <summary>Batches of 2, 2½, 3¼ and 4 groups of 4 rows.</summary>
    private static readonly int[] s_batches = [8, 10, 13, 16];

    [Theory]
    [MemberData(nameof(Widths))]
    public void TrainingSplitByRowsIsBitIdenticalAtAnyThreadCount(bool wide) =>
        AssertEveryBatch(wide, (batch, byRows) => new RowRecurrenceModel(batch, 9, seed: 7) { SplitsBackwardByRows = byRows },
            (model, pool) => ThreadCountTests.TrainEveryStep(model, pool, seed: 11, iterations: 8));

    [Theory]
    [MemberData(nameof(Widths))]
    public void BidirectionalLayersWithLengthsSplitByRowsAreBitIdentical(bool wide) =>
        AssertEveryBatch(wide, (batch, byRows) => new RowRecurrenceDirectionsModel(batch, 7, seed: 5) { SplitsBackwardByRows = byRows },
            (model, pool) => ThreadCountTests.TrainWithLengths(model, pool, seed: 13, iterations: 6));

    /// <summary>For every batch of <see cref="s_batches"/>: a model made by <paramref name="create"/> (batch, split by
    /// rows or not) on <paramref name="wide"/> vectors and trained by <paramref name="train"/> hashes the same at every
    /// thread count, by rows and by units (<see cref="AssertTheSame"/>).</summary>
    private static void AssertEveryBatch(bool wide, Func<int, bool, ISequenceModel> create, Func<ISequenceModel, ComputePool?, string> train)
    {
        foreach (int batch in s_batches)
            AssertTheSame((threads, byRows) =>
            {
                using var pool = threads > 1 ? new ComputePool(threads) : null;
                ISequenceModel model;
                using (VectorPath.Override(wide))
                    model = create(batch, byRows);
                return train(model, pool);
            }, batch, wide);
    }

    /// <summary>The caller's final-state gradient under per-row lengths joins each row's carries at its own last real
    /// step, in the share that runs the row: the parameter and initial-state gradients are the same bits.</summary>
    [Theory]
    [MemberData(nameof(Widths))]
    public void AFinalStateGradientUnderLengthsJoinsEachSharesRows(bool wide)
    {
        const int Batch = 13, Steps = 6;
        int[] lengths = [6, 2, 4, 5, 1, 6, 3, 3, 5, 2, 6, 4, 1];
        string Run(int threads, bool byRows = true)
        {
            using var pool = threads > 1 ? new ComputePool(threads) : null;
            RowRecurrenceDirectionsModel model;
            using (VectorPath.Override(wide))
                model = new RowRecurrenceDirectionsModel(Batch, Steps, seed: 5) { SplitsBackwardByRows = byRows };
            model.Pool = pool;
            var random = new Random(4);
            int[] tokens = Enumerable.Range(0, Batch * Steps).Select(_ => random.Next(RowRecurrenceDirectionsModel.Vocabulary)).ToArray();
            var final = model.CreateState(Batch);
            float[][] finals = [final.Layer0Hidden, final.Layer0Cell, final.Layer1Hidden];
            foreach (var array in finals)
                for (int i = 0; i < array.Length; i++)
                    array[i] = MathF.Sin(i * 0.37f);
            model.Forward(tokens, Batch, Steps, lengths);
            model.ZeroGrad();
            model.Backward(new float[Batch * RowRecurrenceDirectionsModel.OutputSize].Select((_, i) => MathF.Cos(i * 0.11f)).ToArray(), final);
            var initial = model.CreateState(Batch);
            model.CopyInitialStateGradient(initial);
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            sha.AppendData(MemoryMarshal.AsBytes(model.Gradients));
            foreach (var array in new[] { initial.Layer0Hidden, initial.Layer0Cell, initial.Layer1Hidden })
                sha.AppendData(MemoryMarshal.AsBytes(array.AsSpan()));
            Assert.Contains(initial.Layer0Cell, g => g != 0f);
            return Convert.ToHexStringLower(sha.GetHashAndReset());
        }
        AssertTheSame(Run, Batch, wide);
    }

    /// <summary>At 2, 3, 4 and 8 threads split by rows, and at 2 split by units, the same hash as one thread.</summary>
    private static void AssertTheSame(Func<int, bool, string> run, int batch, bool wide)
    {
        string serial = run(1, true);
        foreach (int threads in new[] { 2, 3, 4, 8 })
            Assert.True(serial == run(threads, true), $"batch {batch}, {threads} threads by rows: not bit-identical to 1 thread ({(wide ? 512 : 256)}-bit)");
        Assert.True(serial == run(2, false), $"batch {batch}, 2 threads by units: not bit-identical to 1 thread ({(wide ? 512 : 256)}-bit)");
    }

    /// <summary>Plain LSTM layers within 2 MiB of recurrent weights get the backward split by rows; a layer with recurrent dropout,
    /// zoneout, a candidate mask, a projection or normalization, a GRU and larger LSTMs do not.</summary>
    [Theory]
    [InlineData("DenseInput(8), Lstm(64), Head(1)", true)]
    [InlineData("TokenInput(30, 8), Lstm(256, Layers = 2, Dropout = 0.2, WeightDrop = 0.1), Head(30, Activation.Softmax)", true)]
    [InlineData("DenseInput(8), Lstm(64, Bidirectional = true)", true)]
    [InlineData("DenseInput(8), Lstm(362), Head(1)", true)]
    [InlineData("DenseInput(8), Lstm(363), Head(1)", false)]
    [InlineData("DenseInput(8), Lstm(1024), Head(1)", false)]
    [InlineData("DenseInput(8), Lstm(64, RecurrentDropout = 0.1), Head(1)", false)]
    [InlineData("DenseInput(8), Lstm(64, Zoneout = 0.1), Head(1)", false)]
    [InlineData("DenseInput(8), Lstm(64, CandidateDropout = 0.1), Head(1)", false)]
    [InlineData("DenseInput(8), Lstm(64, Projection = 32), Head(1)", false)]
    [InlineData("DenseInput(8), Lstm(64, LayerNorm = true), Head(1)", false)]
    [InlineData("DenseInput(8), Gru(64), Head(1)", false)]
    public void TheRowSplitOfTheBackwardStepsIsGeneratedWhereItSuits(string layers, bool splits)
    {
        string loss = layers.EndsWith("Head(1)", StringComparison.Ordinal) ? ", Loss(LossKind.MeanSquaredError)"
            : layers.Contains("Softmax", StringComparison.Ordinal) ? ", Loss(LossKind.SoftmaxCrossEntropy)" : "";
        var result = GeneratorHarness.Run($"using FastRnn;\nnamespace Shapes;\n[RnnModel, {layers}{loss}]\npublic partial class M;");
        Assert.Empty(result.GeneratorDiagnostics);
        Assert.Equal(splits, result.Source("Shapes.M.FastRnn.g.cs").Contains("case 0 when byRows:", StringComparison.Ordinal));
    }
}
