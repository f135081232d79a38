using BenchmarkDotNet.Attributes;
using FastRnn;
using FastRnn.Kernels;

namespace FastRnn.Benchmarks;

/// <summary>One training segment of <c>fastrnn train --task kjv-char</c> as its trainer runs it: 32 rows × 100 steps
/// from the carried state, forward with dropout 0.2 at its three sites, cross-entropy, backward, global-norm clipping
/// at 1 and Adam (2e-3). <c>perf/pytorch_bench.py</c> runs the same model and settings. With 2 threads the model and
/// the optimizer share a <see cref="ComputePool"/> (the same bits as one thread). And one evaluation segment, as the
/// trainer's validation runs it.</summary>
[MemoryDiagnoser]
public class KjvCharBenchmarks
{
    public const int Batch = 32, Steps = 100;
    private static readonly int[] s_tokens = Enumerable.Range(0, Batch * Steps).Select(i => (i * 7919) % 96).ToArray();
    private static readonly int[] s_targets = Enumerable.Range(0, Batch * Steps).Select(i => (i * 104729 + 3) % 96).ToArray();
    private ISequenceModel _model = null!;
    private Adam _adam = null!;
    private IRnnState _state = null!;
    private ComputePool? _pool;

    [Params(256, 512)] public int Bits { get; set; }

    [Params(1, 2)] public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        using (VectorPath.Override(Bits == 512))
        {
            _model = new KjvCharModel(Batch, Steps, seed: 1);
            _adam = new Adam(_model, 2e-3f) { Clipping = { MaxGlobalNorm = 1f } };
        }
        _state = _model.NewState(Batch);
        _pool = Threads > 1 ? new ComputePool(Threads) : null;
        ((KjvCharModel)_model).Pool = _pool;
        _adam.Pool = _pool;
    }

    [GlobalCleanup]
    public void Cleanup() => _pool?.Dispose();

    [Benchmark(Description = "kjv-char training segment (2 × LSTM(256), dropout, B=32, T=100, Adam, clip 1)")]
    public float Segment()
    {
        _model.ForwardTokens(s_tokens, Batch, Steps, _state);
        float loss = _model.LossClasses(s_targets);
        _model.ZeroGrad();
        _model.Backward();
        _adam.Step();
        return loss;
    }

    [Benchmark(Description = "kjv-char evaluation segment (inference, the state carried, B=32, T=100)")]
    public float EvaluationSegment()
    {
        // as LanguageModelTrainer.Evaluate runs it: on the pool, split by rows of the batch
        _model.Options.Training = false;
        _model.ForwardTokens(s_tokens, Batch, Steps, _state);
        float loss = _model.LossClasses(s_targets);
        _model.Options.Training = true;
        return loss;
    }
}
