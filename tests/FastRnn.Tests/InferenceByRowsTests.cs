using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using FastRnn.Kernels;
using Xunit;

namespace FastRnn.Tests;

/// <summary>An inference Forward on a pool split by rows of the batch (each thread its rows through every layer and the
/// head, in a shard of its own): the outputs are the bits one thread gives, for batches that split evenly, unevenly and
/// with rows after the last group of 4, at 2, 3, 4 and 8 threads, on both widths; and a backward after it (which runs
/// the forward again on the model's own buffers) gives one thread's gradients.</summary>
public class InferenceByRowsTests
{
    public static TheoryData<bool> Widths() => [false, true];

    private static readonly int[] s_batches = [8, 10, 13, 16];

    /// <summary>Every technique (batch normalization with its running statistics, zoneout's inference κ, weight drop,
    /// every dropout off) on tokens, a head on every step.</summary>
    [Theory]
    [MemberData(nameof(Widths))]
    public void EveryTechniqueInfersTheSameBitsSplitByRows(bool wide) =>
        AssertSplitByRowsIsSerial(() => new EveryTechniqueModel(16, 7, seed: 3), wide, lengths: false);

    /// <summary>Bidirectional and projected layers, a last-step head, per-row lengths.</summary>
    [Theory]
    [MemberData(nameof(Widths))]
    public void DirectionsAndLengthsInferTheSameBitsSplitByRows(bool wide) =>
        AssertSplitByRowsIsSerial(() => new DirectionsAndProjectionModel(16, 6, seed: 4), wide, lengths: true);

    /// <summary>Normalized cells (layer and recurrent batch normalization) and the classic GRU.</summary>
    [Theory]
    [MemberData(nameof(Widths))]
    public void NormalizedCellsInferTheSameBitsSplitByRows(bool wide) =>
        AssertSplitByRowsIsSerial(() => new NormalizedCellsModel(16, 6, seed: 5), wide, lengths: false);

    /// <summary>Two segments carried by a state (truncated-BPTT evaluation): each shard loads its rows of the state and
    /// stores their final states back; the state after both, the outputs of both and the gradients of a backward of the
    /// second are one thread's.</summary>
    [Theory]
    [MemberData(nameof(Widths))]
    public void SegmentsCarriedByAStateInferTheSameBitsSplitByRows(bool wide) =>
        AssertSplitByRowsIsSerial(() => new EveryTechniqueModel(16, 5, seed: 2), wide, lengths: false, segments: 2);

    /// <summary>Dense input and a mean-squared-error head on every step.</summary>
    [Theory]
    [MemberData(nameof(Widths))]
    public void DenseInputInfersTheSameBitsSplitByRows(bool wide) =>
        AssertSplitByRowsIsSerial(() => new SharedBatchStepModel(16, 5, seed: 6), wide, lengths: false);

    /// <summary>Per model: one training pass first (so the running statistics are not their initial values), then, for
    /// each batch, an inference forward and loss at one thread and on pools of 2, 3, 4 and 8 threads (the same model
    /// moved between them, so its shards are made again for each), then a backward: outputs, loss and gradients hash
    /// the same. The forward on a pool must have run on shards (checked), or the test proves nothing; and another
    /// batch's forward before it leaves the model's own buffers stale, so the backward proves they were filled again.</summary>
    private static void AssertSplitByRowsIsSerial(Func<ISequenceModel> create, bool wide, bool lengths, int segments = 0)
    {
        ISequenceModel model;
        using (VectorPath.Override(wide))
            model = create();
        int steps = model.SequenceCapacity;
        var random = new Random(17);
        var tokens = Enumerable.Range(0, 2 * model.BatchCapacity * steps).Select(_ => random.Next(Math.Max(1, model.Vocabulary))).ToArray();
        var dense = Enumerable.Range(0, model.BatchCapacity * steps * model.InputWidth).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        var rowLengths = Enumerable.Range(0, model.BatchCapacity).Select(r => r % 3 == 0 ? steps : random.Next(1, steps + 1)).ToArray();
        int targetRows = model.EveryStep ? model.BatchCapacity * steps : model.BatchCapacity;
        var classTargets = Enumerable.Range(0, targetRows).Select(_ => random.Next(model.OutputWidth)).ToArray();
        var floatTargets = Enumerable.Range(0, targetRows * model.OutputWidth).Select(_ => (float)random.NextDouble()).ToArray();

        // segment k of a state's sequence reads the tokens after segment k − 1's
        float Forward(int batch, IRnnState? state = null, int segment = 0)
        {
            if (model.TakesTokens && lengths)
                model.ForwardTokens(tokens.AsSpan(0, batch * steps), batch, steps, rowLengths.AsSpan(0, batch));
            else if (model.TakesTokens)
                model.ForwardTokens(tokens.AsSpan(segment * batch * steps, batch * steps), batch, steps, state);
            else
                model.ForwardDense(dense.AsSpan(0, batch * steps * model.InputWidth), batch, steps);
            int rows = model.EveryStep ? batch * steps : batch;
            return model.ClassTargets ? model.LossClasses(classTargets.AsSpan(0, rows)) : model.LossDense(floatTargets.AsSpan(0, rows * model.OutputWidth));
        }

        model.Options.Training = true;
        Forward(model.BatchCapacity);
        model.Backward(); // the running statistics moved by a training forward
        model.Options.Training = false;
        var outputs = new float[targetRows * model.OutputWidth];
        foreach (int batch in s_batches)
        {
            string Run(int threads)
            {
                // another batch first, on this thread: the model's own buffers then hold nothing of the forward below
                model.Pool = null;
                Forward(batch == 16 ? 13 : 16);
                using var pool = threads > 1 ? new ComputePool(threads) : null;
                model.Pool = pool;
                using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var state = segments > 0 ? model.NewState(batch) : null;
                for (int segment = 0; segment < segments - 1; segment++)
                {
                    sha.AppendData(BitConverter.GetBytes(Forward(batch, state, segment)));
                    sha.AppendData(MemoryMarshal.AsBytes(outputs.AsSpan(0, model.CopyOutputs(outputs))));
                }
                float loss = Forward(batch, state, Math.Max(0, segments - 1));
                if (pool is not null)
                    Assert.True(RanOnShards(model), $"{threads} threads, batch {batch}: the forward did not split by rows");
                int written = model.CopyOutputs(outputs);
                model.ZeroGrad();
                model.Backward();
                model.Pool = null;
                for (int layer = 0; state is not null && layer < model.LayerCount; layer++)
                {
                    for (int r = 0; r < batch; r++)
                    {
                        sha.AppendData(MemoryMarshal.AsBytes(state.Hidden(layer, r)));
                        if (layer < 2) // EveryTechniqueModel's LSTM layers; its GRUs have no cell state
                            sha.AppendData(MemoryMarshal.AsBytes(state.Cell(layer, r)));
                    }
                }
                sha.AppendData(MemoryMarshal.AsBytes(outputs.AsSpan(0, written)));
                sha.AppendData(BitConverter.GetBytes(loss));
                sha.AppendData(MemoryMarshal.AsBytes(model.Gradients));
                return Convert.ToHexStringLower(sha.GetHashAndReset());
            }
            string serial = Run(1);
            foreach (int threads in new[] { 2, 3, 4, 8 })
                Assert.True(serial == Run(threads), $"{model.GetType().Name}, batch {batch}, {threads} threads: not the bits of one thread ({(wide ? 512 : 256)}-bit)");
        }
    }

    /// <summary>Whether the model's last Forward ran on shards: its private flag (the shards leave no public trace).</summary>
    private static bool RanOnShards(ISequenceModel model) =>
        (bool)model.GetType().GetField("_sharded", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(model)!;

    /// <summary>A caller's backward (∂L/∂outputs given, a state's final-state gradient too) after a Forward split by rows,
    /// from a state: the parameter gradients, ∂L/∂inputs and ∂L/∂(initial state) are one thread's.</summary>
    [Fact]
    public void ACallersBackwardAfterASplitForwardGivesOneThreadsGradients()
    {
        const int Batch = 13, Steps = 4;
        var random = new Random(9);
        var x = Enumerable.Range(0, Batch * Steps * SharedBatchStepModel.InputSize).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        var dy = Enumerable.Range(0, Batch * Steps * SharedBatchStepModel.OutputSize).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        float[] Run(int threads)
        {
            var model = new SharedBatchStepModel(16, Steps, seed: 8);
            using var pool = threads > 1 ? new ComputePool(threads) : null;
            model.Pool = pool;
            model.Options.Training = false;
            var state = model.CreateState(Batch);
            for (int r = 0; r < Batch; r++)
                state.Hidden(0, r).Fill(0.1f * r);
            var finalGradient = model.CreateState(Batch);
            for (int r = 0; r < Batch; r++)
                finalGradient.Cell(1, r).Fill(0.01f * r);
            model.Forward(x, Batch, Steps, state);
            Assert.Equal(pool is not null, RanOnShards(model));
            model.ZeroGrad();
            model.Backward(dy, finalGradient);
            var inputGradient = new float[x.Length];
            model.CopyInputGradient(inputGradient);
            var initialGradient = model.CreateState(Batch);
            model.CopyInitialStateGradient(initialGradient);
            var hidden = Enumerable.Range(0, Batch).SelectMany(r => initialGradient.Hidden(0, r).ToArray().Concat(initialGradient.Cell(1, r).ToArray()));
            return [.. model.Gradients.ToArray(), .. inputGradient, .. hidden];
        }
        float[] serial = Run(1);
        Assert.Contains(serial, v => v != 0f);
        Assert.Equal(serial, Run(2));
        Assert.Equal(serial, Run(3));
    }

    /// <summary>Which models split an inference forward by rows (the generated source has the switch and the shards):
    /// those whose recurrent matrices are at most 4 MiB, or that have a layer whose recurrence cannot split by units (a
    /// normalized cell); not a model with an LSTM(1024) or a GRU(1024) (16 and 12 MiB of W_hh, which every shard would read
    /// at every step), nor a headless one.</summary>
    [Theory]
    [InlineData("DenseInput(8), Lstm(512), Head(1)", true)]
    [InlineData("DenseInput(8), Gru(590), Head(1)", true)]
    [InlineData("DenseInput(8), Lstm(1024), Head(1)", false)]
    [InlineData("DenseInput(8), Lstm(256), Lstm(1024), Head(1)", false)]
    [InlineData("DenseInput(8), Gru(1024, Variant = GruVariant.ResetBefore), Head(1)", false)]
    [InlineData("DenseInput(8), Lstm(1024, LayerNorm = true), Head(1)", true)]
    [InlineData("DenseInput(8), Lstm(256)", false)]
    public void TheRowSplitIsGeneratedWhereItPays(string layers, bool splits)
    {
        string loss = layers.EndsWith("Head(1)", StringComparison.Ordinal) ? ", Loss(LossKind.MeanSquaredError)" : "";
        var result = GeneratorHarness.Run($"using FastRnn;\nnamespace Shapes;\n[RnnModel, {layers}{loss}]\npublic partial class M;");
        Assert.Empty(result.GeneratorDiagnostics);
        Assert.Equal(splits, result.Source("Shapes.M.FastRnn.g.cs").Contains("public bool SplitsInferenceByRows", StringComparison.Ordinal));
    }

    /// <summary>Split by rows or by units (SplitsInferenceByRows off), the same outputs; a training forward on a pool never
    /// splits by rows; a batch of one group of 4 does not either.</summary>
    [Fact]
    public void TheSwitchTrainingAndSmallBatchesKeepTheUnitSplit()
    {
        var model = new SharedBatchStepModel(12, 4, seed: 8);
        using var pool = new ComputePool(2);
        model.Pool = pool;
        var random = new Random(5);
        var x = Enumerable.Range(0, 12 * 4 * SharedBatchStepModel.InputSize).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        model.Options.Training = false;
        model.Forward(x, 12, 4);
        Assert.True(RanOnShards(model));
        var byRows = Enumerable.Range(0, 12).Select(r => model.Output(3, r).ToArray()).ToArray();
        model.SplitsInferenceByRows = false;
        model.Forward(x, 12, 4);
        Assert.False(RanOnShards(model));
        for (int r = 0; r < 12; r++)
            Assert.Equal(byRows[r], model.Output(3, r).ToArray());
        model.SplitsInferenceByRows = true;
        model.Forward(x.AsSpan(0, 4 * 4 * SharedBatchStepModel.InputSize), 4, 4);
        Assert.False(RanOnShards(model));
        model.Options.Training = true;
        model.Forward(x, 12, 4);
        Assert.False(RanOnShards(model));
    }
}
