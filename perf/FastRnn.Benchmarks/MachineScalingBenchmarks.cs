using BenchmarkDotNet.Attributes;
using FastRnn;

namespace FastRnn.Benchmarks;

/// <summary>What a second thread can add on this machine, measured on the engine's own <see cref="ComputePool"/>: the
/// same total work split over 1 or 2 threads, for FMA throughput (12 Vector512 chains per thread) and for reading a
/// buffer of each size (each thread its own half, 32 times). The ratio of the two rows is the limit a parallel kernel
/// of that kind can reach here.</summary>
[MemoryDiagnoser]
#pragma warning disable CA1001 // BenchmarkDotNet disposes the pool in [GlobalCleanup]; it needs the class unsealed
public class MachineScalingBenchmarks
{
    private const int FmaRounds = 4_000_000, Reads = 32;
    private readonly Work _work = new();
    private ComputePool _pool = null!;

    [Params(1, 2)] public int Threads { get; set; }

    [Params(256, 1024, 4096)] public int KiB { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _pool = new ComputePool(Threads);
        _work.Halves = [new float[KiB * 128], new float[KiB * 128]];
        foreach (var half in _work.Halves)
            for (int i = 0; i < half.Length; i++) half[i] = i % 7;
    }

    [GlobalCleanup]
    public void Cleanup() => _pool?.Dispose();

    [Benchmark(Description = "FMA peak, Vector512, 1.54 GFLOP split over the threads")]
    public float Fma()
    {
        _work.Fma = true;
        _pool.For(2, _work);
        return _work.Sink;
    }

    [Benchmark(Description = "read KiB 32 times, split over the threads")]
    public float Read()
    {
        _work.Fma = false;
        _pool.For(2, _work);
        return _work.Sink;
    }

    private sealed class Work : IParallelWork
    {
        public float[][] Halves = [];
        public bool Fma;
        public float Sink;

        public void Run(int index)
        {
            float s = 0;
            if (Fma)
                s = MachineLimits.FmaPeak512(FmaRounds / 2);
            else
                for (int r = 0; r < Reads; r++)
                    s += MachineLimits.Sum(Halves[index]);
            Sink = s;
        }
    }
}
#pragma warning restore CA1001
