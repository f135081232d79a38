using BenchmarkDotNet.Attributes;

namespace FastRnn.Benchmarks;

/// <summary>What the pool's synchronization costs on its own, the constants of perf/README §8's scaling model: one
/// dispatch of empty work (wake the workers, wait for all), and one <see cref="ComputeBarrier"/> crossing inside a
/// running <see cref="ComputePool.Together"/> (1,000 crossings per call, the per-step barrier of the recurrence with no
/// work between). 1 thread is the floor of the call itself.</summary>
[MemoryDiagnoser]
#pragma warning disable CA1001 // disposed in [GlobalCleanup]
public class PoolOverheadBenchmarks
#pragma warning restore CA1001
{
    private const int Crossings = 1000;
    private ComputePool _pool = null!;
    private readonly Nothing _nothing = new();
    private Crossing _crossing = null!;

    [Params(1, 2)] public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _pool = new ComputePool(Threads);
        _crossing = new Crossing();
    }

    [GlobalCleanup]
    public void Cleanup() => _pool.Dispose();

    [Benchmark(Description = "dispatch of empty work")]
    public void Dispatch() => _pool.For(Threads, _nothing);

    [Benchmark(Description = "1,000 barrier crossings", OperationsPerInvoke = Crossings)]
    public void Barrier()
    {
        _crossing.Barrier.Reset(Threads);
        _pool.Together(Threads, _crossing);
    }

    private sealed class Nothing : IParallelWork
    {
        public void Run(int index) { }
    }

    private sealed class Crossing : IParallelWork
    {
        public ComputeBarrier Barrier { get; } = new();

        public void Run(int index)
        {
            for (int i = 0; i < Crossings; i++)
                Barrier.SignalAndWait();
        }
    }
}
