using BenchmarkDotNet.Attributes;
using FastRnn;
using FastRnn.Kernels;

namespace FastRnn.Benchmarks;

/// <summary>The LSTM(256) sequence forward (batch 32 × 100 steps) with its input product on a <see cref="ComputePool"/>
/// of 1 and 2 threads (the recurrence still runs on one): what issue 10's first wiring buys, bit-identical results.</summary>
[MemoryDiagnoser]
public class PoolForwardBenchmarks
{
    private const int Batch = 32, Steps = 100, H = 256;
    private readonly float[] _inputs = Enumerable.Range(0, Batch * Steps * H).Select(i => MathF.Sin(i * 0.01f)).ToArray();
    private Lstm256 _model = null!;
    private ComputePool? _pool;

    [Params(1, 2)] public int Threads { get; set; }

    [Params(512)] public int Bits { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        using (VectorPath.Override(Bits == 512))
            _model = new Lstm256(Batch, Steps);
        _pool = Threads > 1 ? new ComputePool(Threads) : null;
        _model.Pool = _pool;
    }

    [GlobalCleanup]
    public void Cleanup() => _pool?.Dispose();

    [Benchmark(Description = "FastRnn Forward B=32 T=100 H=256, input product on the pool")]
    public void Forward() => _model.Forward(_inputs, Batch, Steps);
}
