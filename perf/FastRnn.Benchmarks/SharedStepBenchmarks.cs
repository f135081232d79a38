using BenchmarkDotNet.Attributes;
using FastRnn;
using FastRnn.Kernels;

namespace FastRnn.Benchmarks;

/// <summary>The streaming step of a state on a pool of 1 or 2 threads (512-bit), at batch 1 and 32: each layer's blocks
/// of units split across the threads, so each reads its share of the weights (at batch 32 each computes its columns of
/// both products for every row).</summary>
[MemoryDiagnoser]
#pragma warning disable CA1001 // BenchmarkDotNet disposes the pool in [GlobalCleanup]; it needs the class unsealed
public class SharedStepBenchmarks
{
    private ISequenceModel _model = null!;
    private IRnnState _state = null!;
    private float[] _input = null!, _output = null!;
    private ComputePool? _pool;

    [Params("LSTM(256)", "LSTM(1024)", "GRU(1024)")] public string Layer { get; set; } = "LSTM(256)";

    [Params(1, 2)] public int Threads { get; set; }

    [Params(1, 32)] public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        using (VectorPath.Override(true))
            _model = Layer switch
            {
                "LSTM(256)" => new Lstm256(Batch, 1),
                "LSTM(1024)" => new Lstm1024(Batch, 1),
                _ => new Gru1024(Batch, 1),
            };
        _pool = Threads > 1 ? new ComputePool(Threads) : null;
        _state = _model.NewState(Batch);
        ((dynamic)_state).Pool = _pool;
        _input = Enumerable.Range(0, Batch * _model.InputWidth).Select(i => MathF.Sin(i)).ToArray();
        _output = new float[Batch];
    }

    [GlobalCleanup]
    public void Cleanup() => _pool?.Dispose();

    [Benchmark(Description = "Step")]
    public float Step()
    {
        _model.StepDense(_input, _state, _output);
        return _output[0];
    }
}
#pragma warning restore CA1001
