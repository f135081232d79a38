using BenchmarkDotNet.Attributes;
using FastRnn;
using FastRnn.Kernels;

namespace FastRnn.Benchmarks;

/// <summary>One optimizer update of the kjv-char model's arena (2 × LSTM(256) on a 96-symbol embedding, 0.89 M floats):
/// Adam with global-norm clipping at 1, on the calling thread alone and on a <see cref="ComputePool"/> of 2 threads
/// (the arena's tensors scanned and updated in parallel, bit-identical to one thread).</summary>
[MemoryDiagnoser]
public class OptimizerBenchmarks
{
    private KjvCharModel _model = null!;
    private Adam _adam = null!;
    private ComputePool? _pool;

    [Params(1, 2)] public int Threads { get; set; }

    [Params(512)] public int Bits { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        using (VectorPath.Override(Bits == 512))
        {
            _model = new KjvCharModel(KjvCharBenchmarks.Batch, KjvCharBenchmarks.Steps, seed: 1);
            _adam = new Adam(_model, 2e-3f) { Clipping = { MaxGlobalNorm = 1f } };
        }
        var random = new Random(5);
        var g = _model.Gradients;
        for (int i = 0; i < g.Length; i++)
            g[i] = (float)(random.NextDouble() - 0.5) * 1e-3f;
        _pool = Threads > 1 ? new ComputePool(Threads) : null;
        _adam.Pool = _pool;
    }

    [GlobalCleanup]
    public void Cleanup() => _pool?.Dispose();

    [Benchmark(Description = "Adam update with clipping, kjv-char arena")]
    public bool Update() => _adam.Step();
}
