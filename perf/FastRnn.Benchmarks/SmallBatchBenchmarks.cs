using BenchmarkDotNet.Attributes;
using FastRnn;
using FastRnn.Kernels;

namespace FastRnn.Benchmarks;

/// <summary>LSTM(256) over 100 steps at batch 1–4, on one thread and on a pool of two (the model's Pool; the streaming
/// Step stays on one thread): the sequence <c>Forward</c> and <c>Backward</c> against
/// 100 streaming steps (the fused batch-1 kernel) and against reading W_hh 100 times, the floor of a recurrence that
/// reads its recurrent weights once per step.</summary>
[MemoryDiagnoser]
#pragma warning disable CA1001 // BenchmarkDotNet disposes the pool in [GlobalCleanup]; it needs the class unsealed
public class SmallBatchBenchmarks
{
    private const int Steps = 100, H = 256;
    private Lstm256 _model = null!;
    private Lstm256.State _state = null!;
    private float[] _inputs = null!, _targets = null!, _output = null!, _recurrent = null!;

    [Params(1, 2, 4)] public int Batch { get; set; }

    [Params(256, 512)] public int Bits { get; set; }

    [Params(1, 2)] public int Threads { get; set; }

    private ComputePool? _pool;

    [GlobalSetup]
    public void Setup()
    {
        using (VectorPath.Override(Bits == 512))
            _model = new Lstm256(Batch, Steps, seed: 1);
        _pool = Threads > 1 ? new ComputePool(Threads) : null;
        _model.Pool = _pool;
        _inputs = Enumerable.Range(0, Batch * Steps * H).Select(i => MathF.Sin(i * 0.01f)).ToArray();
        _targets = Enumerable.Repeat(0.5f, Batch * Steps).ToArray(); // the head reads every step
        _state = _model.CreateState(Batch);
        _output = new float[Batch];
        // W_hh's size; written, so the pages are real.
        _recurrent = new float[4 * H * H];
        for (int i = 0; i < _recurrent.Length; i++) _recurrent[i] = i % 7;
    }

    [GlobalCleanup]
    public void Cleanup() => _pool?.Dispose();

    [Benchmark(Baseline = true, Description = "read W_hh 100 times")]
    public float ReadRecurrentWeights()
    {
        float s = 0;
        for (int t = 0; t < Steps; t++) s += MachineLimits.Sum(_recurrent);
        return s;
    }

    [Benchmark(Description = "100 streaming Steps")]
    public float Steps100()
    {
        for (int t = 0; t < Steps; t++)
            _model.Step(_inputs.AsSpan(t * Batch * H, Batch * H), _state, _output);
        return _output[0];
    }

    [Benchmark(Description = "Forward, 100 steps")]
    public void Forward() => _model.Forward(_inputs, Batch, Steps);

    [Benchmark(Description = "Forward, Loss and Backward, 100 steps")]
    public float ForwardBackward()
    {
        _model.Forward(_inputs, Batch, Steps);
        float loss = _model.Loss(_targets);
        _model.Backward();
        return loss;
    }
}
#pragma warning restore CA1001
