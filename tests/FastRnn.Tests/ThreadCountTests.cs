using System.Runtime.InteropServices;
using System.Security.Cryptography;
using FastRnn.Kernels;
using Xunit;

namespace FastRnn.Tests;

// Every regularizer the engine has, in layers whose recurrence is split across the pool, forward and backward: an LSTM
// with weight drop and recurrent dropout, an LSTM with zoneout of h and c and Semeniuta's candidate dropout, a GRU with
// recurrent and candidate dropout, a GRU with batch normalization after it. 128 units are 8 blocks: up to 8 shares of
// the LSTM's forward steps, 2 of the GRU's and of the backward steps at 512 bits, 4 at 256.
[RnnModel, TokenInput(40, 16, EmbeddingDropout = 0.1), Lstm(128, Dropout = 0.2, WeightDrop = 0.3, RecurrentDropout = 0.15),
 Lstm(128, Zoneout = 0.1, CellZoneout = 0.05, CandidateDropout = 0.1), Gru(128, RecurrentDropout = 0.2, Dropout = 0.1, CandidateDropout = 0.1),
 Gru(128, BatchNorm = true),
 Head(40, Activation.Softmax, Dropout = 0.2), Loss(LossKind.SoftmaxCrossEntropy)]
public sealed partial class EveryTechniqueModel;

// A stack whose batch-1 step a state's pool can share: a dense LSTM and a GRU of different widths (4 and 3 blocks).
[RnnModel, DenseInput(20), Lstm(64), Gru(48), Head(3, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]
public sealed partial class SharedStepModel;

[RnnModel, TokenInput(30, 8), Gru(40), Lstm(70), Head(30, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]
public sealed partial class SharedStepTokenModel;

// Wide enough that a batched step's shares are real on both widths: a GRU of 13 blocks (groups of 4 or 2 blocks) and an
// LSTM of 7.
[RnnModel, DenseInput(24), Gru(200), Lstm(100), Head(5), Loss(LossKind.MeanSquaredError)]
public sealed partial class SharedBatchStepModel;

// Issue 11's layers on the pool: bidirectional layers (both directions split, with their masks), a projected LSTM (one
// thread for its recurrence, the pool for its products), a last-step head over a bidirectional top, per-row lengths.
[RnnModel, TokenInput(40, 16), Lstm(128, Bidirectional = true, Dropout = 0.2, RecurrentDropout = 0.15, WeightDrop = 0.2),
 Lstm(96, Projection = 48, CellZoneout = 0.1, CandidateDropout = 0.1), Gru(64, Bidirectional = true, Zoneout = 0.1),
 Head(40, Activation.Softmax, Readout = Readout.LastStep), Loss(LossKind.SoftmaxCrossEntropy)]
public sealed partial class DirectionsAndProjectionModel;

// The classic GRU's recurrence on the pool (two barriers a step): wide enough for several shares at both widths and a
// share with the blocks after the last whole group; recurrent and candidate dropout, zoneout, weight drop, a reverse
// direction, per-row lengths.
[RnnModel, TokenInput(30, 8), Gru(160, Variant = GruVariant.ResetBefore, RecurrentDropout = 0.15, CandidateDropout = 0.1),
 Gru(136, Variant = GruVariant.ResetBefore, Bidirectional = true, WeightDrop = 0.2, Zoneout = 0.1), Head(30, Activation.Softmax, Readout = Readout.LastStep),
 Loss(LossKind.SoftmaxCrossEntropy)]
public sealed partial class ClassicGruModel;

// Normalized cells (their per-step products on the pool by columns) and the classic GRU's backward products.
[RnnModel, TokenInput(30, 8), Lstm(128, LayerNorm = true, Zoneout = 0.1), Gru(96, LayerNorm = true, RecurrentDropout = 0.1),
 Lstm(80, RecurrentBatchNorm = true, MaxSteps = 12), Gru(72, RecurrentBatchNorm = true, MaxSteps = 12), Gru(64, Variant = GruVariant.ResetBefore, Zoneout = 0.1),
 Head(30, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]
public sealed partial class NormalizedCellsModel;

/// <summary>Issue 10's proof: training gives the same bits at any thread count. 20 Adam iterations (global-norm
/// clipping, the model's and the optimizer's pool) with every kind of dropout, weight drop, zoneout and batch
/// normalization on: the outputs, loss, every gradient and the weights after each iteration hash the same at 1, 2,
/// 3, 4 and 8 threads (more threads than this machine's cores must still be right), on both vector widths.</summary>
public class ThreadCountTests
{
    public static TheoryData<bool> Widths() => [false, true];

    [Theory]
    [MemberData(nameof(Widths))]
    public void TwentyIterationsAreBitIdenticalAtAnyThreadCount(bool wide)
    {
        AssertTheSameAtEveryThreadCount(threads => Train(wide, threads), wide);
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void NormalizedCellsTrainBitIdenticallyAtAnyThreadCount(bool wide)
    {
        AssertTheSameAtEveryThreadCount(threads => TrainNormalized(wide, threads), wide);
    }

    private static string TrainNormalized(bool wide, int threads)
    {
        using var pool = threads > 1 ? new ComputePool(threads) : null;
        using (VectorPath.Override(wide))
            return TrainEveryStep(new NormalizedCellsModel(6, 12, seed: 9), pool, seed: 19, iterations: 6);
    }

    private static string Train(bool wide, int threads, bool? streamSharedWrites = null)
    {
        using var pool = threads > 1 ? new ComputePool(threads) : null;
        if (pool is not null && streamSharedWrites is bool stream)
            pool.StreamsSharedWrites = stream;
        using (VectorPath.Override(wide))
            return TrainEveryStep(new EveryTechniqueModel(8, 12, seed: 7), pool, seed: 11, iterations: 20);
    }

    /// <summary>Whether a shared recurrence stores h(t) past the caches (the pool decides from its cores' distance)
    /// changes no bit: both ways, at every thread count, on both widths, against one thread.</summary>
    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void StreamedOrCachedSharedWritesTrainBitIdentically(bool wide, bool stream)
    {
        AssertTheSameAtEveryThreadCount(threads => Train(wide, threads, stream), wide);
    }

    /// <summary>Iterations of a token model with a head on every step on <paramref name="pool"/>: random tokens and
    /// class targets.</summary>
    internal static string TrainEveryStep(ISequenceModel model, ComputePool? pool, int seed, int iterations)
    {
        int batch = model.BatchCapacity, steps = model.SequenceCapacity;
        model.Pool = pool;
        var random = new Random(seed);
        var tokens = new int[batch * steps];
        var targets = new int[batch * steps];
        return HashTraining(model, pool, iterations, iteration =>
        {
            for (int i = 0; i < tokens.Length; i++)
            {
                tokens[i] = random.Next(model.Vocabulary);
                targets[i] = random.Next(model.OutputWidth);
            }
            model.ForwardTokens(tokens, batch, steps);
            return model.LossClasses(targets);
        });
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void BidirectionalAndProjectedLayersTrainBitIdenticallyAtAnyThreadCount(bool wide)
    {
        AssertTheSameAtEveryThreadCount(threads => TrainBoth(wide, threads), wide);
    }

    private static string TrainBoth(bool wide, int threads)
    {
        using var pool = threads > 1 ? new ComputePool(threads) : null;
        using (VectorPath.Override(wide))
            return TrainWithLengths(new DirectionsAndProjectionModel(6, 10, seed: 5), pool, seed: 13, iterations: 8);
    }

    /// <summary>Iterations of a token model with a last-step head on <paramref name="pool"/>: random tokens, class
    /// targets and per-row lengths (the first row full).</summary>
    internal static string TrainWithLengths(ISequenceModel model, ComputePool? pool, int seed, int iterations)
    {
        int batch = model.BatchCapacity, steps = model.SequenceCapacity;
        model.Pool = pool;
        var random = new Random(seed);
        var tokens = new int[batch * steps];
        var targets = new int[batch];
        var lengths = new int[batch];
        return HashTraining(model, pool, iterations, iteration =>
        {
            for (int i = 0; i < tokens.Length; i++)
                tokens[i] = random.Next(model.Vocabulary);
            for (int r = 0; r < batch; r++)
            {
                targets[r] = random.Next(model.OutputWidth);
                lengths[r] = r == 0 ? steps : random.Next(1, steps + 1);
            }
            model.ForwardTokens(tokens, batch, steps, lengths);
            return model.LossClasses(targets);
        });
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void ClassicGruTrainsBitIdenticallyAtAnyThreadCount(bool wide)
    {
        AssertTheSameAtEveryThreadCount(threads => TrainClassic(wide, threads), wide);
    }

    private static string TrainClassic(bool wide, int threads)
    {
        using var pool = threads > 1 ? new ComputePool(threads) : null;
        using (VectorPath.Override(wide))
            return TrainWithLengths(new ClassicGruModel(5, 9, seed: 3), pool, seed: 17, iterations: 6);
    }

    /// <summary>The hash of a training run at 2, 3, 4 and 8 threads (more than this machine's cores) equals its hash at 1.</summary>
    private static void AssertTheSameAtEveryThreadCount(Func<int, string> train, bool wide)
    {
        string serial = train(1);
        foreach (int threads in new[] { 2, 3, 4, 8 })
            Assert.True(serial == train(threads), $"{threads} threads: not bit-identical to 1 thread ({(wide ? 512 : 256)}-bit)");
    }

    /// <summary>Adam iterations (global-norm clipping, on <paramref name="pool"/>), each a pass's mask counter, its forward
    /// and loss from <paramref name="forwardAndLoss"/>, then backward and the update: a hash of every iteration's outputs,
    /// loss, gradients and weights.</summary>
    internal static string HashTraining(ISequenceModel model, ComputePool? pool, int iterations, Func<int, float> forwardAndLoss)
    {
        var adam = new Adam(model, learningRate: 3e-3f) { Pool = pool };
        adam.Clipping.MaxGlobalNorm = 1f;
        var outputs = new float[model.BatchCapacity * model.SequenceCapacity * model.OutputWidth];
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (int iteration = 0; iteration < iterations; iteration++)
        {
            model.Options.Pass = (ulong)iteration;
            float loss = forwardAndLoss(iteration);
            int written = model.CopyOutputs(outputs);
            model.ZeroGrad();
            model.Backward();
            adam.Step();
            sha.AppendData(MemoryMarshal.AsBytes(outputs.AsSpan(0, written)));
            sha.AppendData(BitConverter.GetBytes(loss));
            sha.AppendData(MemoryMarshal.AsBytes(model.Gradients));
            sha.AppendData(MemoryMarshal.AsBytes(model.Parameters));
        }
        Assert.True(float.IsFinite(model.Parameters[0]));
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>A final-state gradient under per-row lengths joins each row's carry at its own last real step, each
    /// share its own units: the parameter and initial-state gradients are the same bits at any thread count.</summary>
    [Theory]
    [MemberData(nameof(Widths))]
    public void StateGradientsUnderLengthsAreBitIdenticalOnAPool(bool wide)
    {
        const int Batch = 4, Steps = 6;
        int[] lengths = [6, 2, 4, 5];
        string Run(int threads)
        {
            using var pool = threads > 1 ? new ComputePool(threads) : null;
            EveryTechniqueModel model;
            using (VectorPath.Override(wide))
                model = new EveryTechniqueModel(Batch, Steps, seed: 5);
            model.Pool = pool;
            model.Options.Pass = 3;
            var random = new Random(4);
            int[] tokens = Enumerable.Range(0, Batch * Steps).Select(_ => random.Next(EveryTechniqueModel.Vocabulary)).ToArray();
            var final = model.CreateState(Batch);
            float[][] finals = [final.Layer0Hidden, final.Layer0Cell, final.Layer1Hidden, final.Layer1Cell, final.Layer2Hidden, final.Layer3Hidden];
            foreach (var array in finals)
                for (int i = 0; i < array.Length; i++)
                    array[i] = MathF.Sin(i * 0.37f); // padding columns too: they must not count
            model.Forward(tokens, Batch, Steps, lengths);
            model.ZeroGrad();
            model.Backward(new float[Batch * Steps * EveryTechniqueModel.OutputSize], final);
            var initial = model.CreateState(Batch);
            model.CopyInitialStateGradient(initial);
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            sha.AppendData(MemoryMarshal.AsBytes(model.Gradients));
            foreach (var array in new[] { initial.Layer0Hidden, initial.Layer0Cell, initial.Layer1Hidden, initial.Layer1Cell, initial.Layer2Hidden, initial.Layer3Hidden })
                sha.AppendData(MemoryMarshal.AsBytes(array.AsSpan()));
            Assert.Contains(model.Gradients.ToArray(), g => g != 0f);
            return Convert.ToHexStringLower(sha.GetHashAndReset());
        }
        string serial = Run(1);
        foreach (int threads in new[] { 2, 3, 8 })
            Assert.True(serial == Run(threads), $"{threads} threads: not bit-identical to 1 thread ({(wide ? 512 : 256)}-bit)");
    }

    /// <summary>Streaming states stepped from several threads at once, while another model trains on a pool in the
    /// background: every stream's outputs equal the same stream stepped alone.</summary>
    [Fact]
    public async Task StreamsSteppedWhileAnotherModelTrainsOnThePoolMatchSerialOnes()
    {
        const int Streams = 4, Steps = 50;
        var server = new EveryTechniqueModel(1, 1, seed: 3) { Options = { Training = false } };
        int[][] inputs = Enumerable.Range(0, Streams).Select(s => Enumerable.Range(0, Steps).Select(t => (s * 7 + t * 3) % 40).ToArray()).ToArray();
        float[][] Serve()
        {
            var results = new float[Streams][];
            Parallel.For(0, Streams, new ParallelOptions { MaxDegreeOfParallelism = Streams }, s =>
            {
                var state = server.CreateState();
                var output = new float[EveryTechniqueModel.OutputSize];
                var all = new float[Steps * output.Length];
                for (int t = 0; t < Steps; t++)
                {
                    server.Step(inputs[s].AsSpan(t, 1), state, output);
                    output.CopyTo(all, t * output.Length);
                }
                results[s] = all;
            });
            return results;
        }
        var alone = Serve();

        using var pool = new ComputePool(2);
        var trainer = new EveryTechniqueModel(8, 12, seed: 5) { Pool = pool };
        var adam = new Adam(trainer, 1e-3f) { Pool = pool };
        var tokens = Enumerable.Range(0, 96).Select(i => i % 40).ToArray();
        using var stop = new CancellationTokenSource();
        var training = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                trainer.Forward(tokens, 8, 12);
                trainer.Loss(tokens);
                trainer.ZeroGrad();
                trainer.Backward();
                adam.Step();
            }
        });
        try
        {
            for (int round = 0; round < 3; round++)
            {
                var busy = Serve();
                for (int s = 0; s < Streams; s++)
                    Assert.True(alone[s].AsSpan().SequenceEqual(busy[s]), $"stream {s}, round {round}: differs while another model trains");
            }
        }
        finally
        {
            await stop.CancelAsync();
            await training;
        }
    }

    /// <summary>A state's batch-1 steps on a pool of 2, 3, 4 and 8 threads: every output and the final states equal the
    /// same steps on one thread, bit for bit, on both widths.</summary>
    [Theory]
    [MemberData(nameof(Widths))]
    public void AStatesStepsOnAPoolAreBitIdentical(bool wide)
    {
        const int Steps = 60;
        SharedStepModel dense;
        SharedStepTokenModel tokens;
        using (VectorPath.Override(wide))
        {
            dense = new SharedStepModel(1, 1, seed: 3) { Options = { Training = false } };
            tokens = new SharedStepTokenModel(1, 1, seed: 4) { Options = { Training = false } };
        }
        var inputs = Enumerable.Range(0, Steps * SharedStepModel.InputSize).Select(i => MathF.Sin(i * 0.37f)).ToArray();
        float[] RunDense(ComputePool? pool)
        {
            var state = dense.CreateState();
            state.Pool = pool;
            var all = new float[Steps * SharedStepModel.OutputSize + 64 + 48];
            for (int t = 0; t < Steps; t++)
                dense.Step(inputs.AsSpan(t * SharedStepModel.InputSize, SharedStepModel.InputSize), state, all.AsSpan(t * SharedStepModel.OutputSize, SharedStepModel.OutputSize));
            state.Hidden(0, 0).CopyTo(all.AsSpan(Steps * SharedStepModel.OutputSize));
            state.Hidden(1, 0).CopyTo(all.AsSpan(Steps * SharedStepModel.OutputSize + 64));
            return all;
        }
        float[] RunTokens(ComputePool? pool)
        {
            var state = tokens.CreateState();
            state.Pool = pool;
            var all = new float[Steps * SharedStepTokenModel.OutputSize];
            for (int t = 0; t < Steps; t++)
                tokens.Step([t * 7 % 30], state, all.AsSpan(t * SharedStepTokenModel.OutputSize, SharedStepTokenModel.OutputSize));
            return all;
        }
        float[] serialDense = RunDense(null), serialTokens = RunTokens(null);
        foreach (int threads in new[] { 2, 3, 4, 8 })
        {
            using var pool = new ComputePool(threads);
            Assert.True(serialDense.AsSpan().SequenceEqual(RunDense(pool)), $"dense, {threads} threads");
            Assert.True(serialTokens.AsSpan().SequenceEqual(RunTokens(pool)), $"tokens, {threads} threads");
        }
    }

    /// <summary>A state's steps at batch 3 and 6 on a pool of 2, 3, 4 and 8 threads (each thread its columns of both
    /// products and its units): every output and every row's final state equal one thread's, bit for bit.</summary>
    [Theory]
    [MemberData(nameof(Widths))]
    public void AStatesBatchedStepsOnAPoolAreBitIdentical(bool wide)
    {
        const int Steps = 25;
        foreach (int batch in new[] { 3, 6 })
        {
            ISequenceModel[] models;
            using (VectorPath.Override(wide))
                models = [new SharedStepModel(batch, 1, seed: 3), new SharedStepTokenModel(batch, 1, seed: 4), new SharedBatchStepModel(batch, 1, seed: 5)];
            foreach (var model in models)
            {
                model.Options.Training = false;
                float[] Run(ComputePool? pool)
                {
                    var state = model.NewState(batch);
                    ((dynamic)state).Pool = pool;
                    var all = new List<float>();
                    var output = new float[batch * model.OutputWidth];
                    for (int t = 0; t < Steps; t++)
                    {
                        if (model.TakesTokens)
                            model.StepTokens([.. Enumerable.Range(0, batch).Select(r => (t * 7 + r * 5) % 30)], state, output);
                        else
                            model.StepDense([.. Enumerable.Range(0, batch * model.InputWidth).Select(i => MathF.Sin((t * 131 + i) * 0.37f))], state, output);
                        all.AddRange(output);
                    }
                    for (int layer = 0; layer < 2; layer++)
                        for (int r = 0; r < batch; r++)
                            all.AddRange(state.Hidden(layer, r).ToArray());
                    return [.. all];
                }
                float[] serial = Run(null);
                foreach (int threads in new[] { 2, 3, 4, 8 })
                {
                    using var pool = new ComputePool(threads);
                    Assert.True(serial.AsSpan().SequenceEqual(Run(pool)), $"{model.GetType().Name}, batch {batch}, {threads} threads");
                }
            }
        }
    }

    /// <summary>The fused batch-1 kernels visit their blocks last to first on every other step of a state (the weights
    /// read last are still in the caches). The order must not change a bit: 12 steps with the order alternating (the
    /// default), always ascending and always descending give the same outputs and states, serial and on a pool of 2 and
    /// 3 threads (each thread its share of the blocks, in the order of the step).</summary>
    [Theory]
    [MemberData(nameof(Widths))]
    public void TheFusedStepsBlockOrderChangesNoBit(bool wide)
    {
        const int Steps = 12;
        SharedStepModel dense;
        SharedStepTokenModel tokens;
        using (VectorPath.Override(wide))
            (dense, tokens) = (new SharedStepModel(1, 1, seed: 6), new SharedStepTokenModel(1, 1, seed: 7));
        float[] Run(ISequenceModel model, ComputePool? pool, bool? descending)
        {
            var state = model.NewState(1);
            ((dynamic)state).Pool = pool;
            var all = new List<float>();
            var output = new float[model.OutputWidth];
            for (int t = 0; t < Steps; t++)
            {
                if (descending is bool order)
                {
                    if (state is SharedStepModel.State d)
                        d.Descending = order;
                    else
                        ((SharedStepTokenModel.State)state).Descending = order;
                }
                if (model.TakesTokens)
                    model.StepTokens([(t * 7 + 3) % 30], state, output);
                else
                    model.StepDense([.. Enumerable.Range(0, model.InputWidth).Select(i => MathF.Sin((t * 131 + i) * 0.37f))], state, output);
                all.AddRange(output);
            }
            for (int layer = 0; layer < 2; layer++)
                all.AddRange(state.Hidden(layer, 0).ToArray());
            return [.. all];
        }
        foreach (ISequenceModel model in new ISequenceModel[] { dense, tokens })
        {
            float[] alternating = Run(model, null, null);
            Assert.True(alternating.AsSpan().SequenceEqual(Run(model, null, false)), $"{model.GetType().Name}: ascending");
            Assert.True(alternating.AsSpan().SequenceEqual(Run(model, null, true)), $"{model.GetType().Name}: descending");
            foreach (int threads in new[] { 2, 3 })
            {
                using var pool = new ComputePool(threads);
                Assert.True(alternating.AsSpan().SequenceEqual(Run(model, pool, null)), $"{model.GetType().Name}, {threads} threads");
                Assert.True(alternating.AsSpan().SequenceEqual(Run(model, pool, true)), $"{model.GetType().Name}, {threads} threads, descending");
            }
        }
    }
}
