using BenchmarkDotNet.Attributes;
using FastRnn;
using FastRnn.Kernels;

namespace FastRnn.Benchmarks;

/// <summary>The float32 model and its two quantized copies, each with a state of its own, stepped on the same input: the
/// three benchmarks every class below runs on the models it makes.</summary>
public abstract class QuantizedSteps
{
    private ISequenceModel _model = null!;
    private IQuantizedModel _bfloat16 = null!, _int8 = null!;
    private IRnnState _state = null!, _bfloat16State = null!, _int8State = null!;
    private float[] _input = null!, _output = null!;

    /// <summary>The float32 model (made on the 512-bit path) and its quantized copies, states of <paramref name="batch"/> rows.</summary>
    protected ISequenceModel Use(Func<ISequenceModel> create, int batch, ComputePool? pool = null)
    {
        using (VectorPath.Override(true))
        {
            _model = create();
            _bfloat16 = _model.Quantize(WeightPrecision.BFloat16);
            _int8 = _model.Quantize(WeightPrecision.Int8);
        }
        (_state, _bfloat16State, _int8State) = (_model.NewState(batch), _bfloat16.NewState(batch), _int8.NewState(batch));
        if (pool is not null)
            foreach (var state in new[] { _state, _bfloat16State, _int8State })
                ((dynamic)state).Pool = pool;
        _input = Enumerable.Range(0, batch * _model.InputWidth).Select(i => MathF.Sin(i)).ToArray();
        _output = new float[batch * _model.OutputWidth];
        return _model;
    }

    [Benchmark(Baseline = true, Description = "float32 Step")]
    public float SinglePrecision()
    {
        _model.StepDense(_input, _state, _output);
        return _output[0];
    }

    [Benchmark(Description = "bfloat16 Step")]
    public float BFloat16()
    {
        _bfloat16.StepDense(_input, _bfloat16State, _output);
        return _output[0];
    }

    [Benchmark(Description = "int8 Step")]
    public float EightBit()
    {
        _int8.StepDense(_input, _int8State, _output);
        return _output[0];
    }
}

/// <summary>Issue 13's quantized models against the float32 model in one run (512-bit path, one thread): the streaming
/// step of LSTM and GRU layers (I = H) at batch 1, where the step reads every weight once, beside the time to read the
/// matrices' bytes at 4, 2 and 1 bytes per weight (<see cref="MachineLimits.Sum"/> over buffers of those sizes: the
/// bound of a step at each precision).</summary>
[MemoryDiagnoser]
public class QuantizedStepBenchmarks : QuantizedSteps
{
    private float[] _float32Bytes = null!, _bfloat16Bytes = null!, _int8Bytes = null!;

    [Params("LSTM", "GRU")] public string Cell { get; set; } = "LSTM";

    [Params(256, 512, 1024)] public int H { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var model = Use(() => StepModels.Create(Cell, H), 1);
        long weights = model.Tensors.Where(t => t.Storage == TensorStorage.InterleavedWeight).Sum(t => (long)t.StorageLength);
        // written, so each buffer has pages of its own (an untouched array reads the kernel's shared zero page, from cache)
        _float32Bytes = Enumerable.Repeat(1f, (int)weights).ToArray();
        _bfloat16Bytes = Enumerable.Repeat(1f, (int)(weights / 2)).ToArray();
        _int8Bytes = Enumerable.Repeat(1f, (int)(weights / 4)).ToArray();
    }

    [Benchmark(Description = "read the matrices at 4 B/weight")]
    public float ReadFloat32() => MachineLimits.Sum(_float32Bytes);

    [Benchmark(Description = "read the matrices at 2 B/weight")]
    public float ReadBFloat16() => MachineLimits.Sum(_bfloat16Bytes);

    [Benchmark(Description = "read the matrices at 1 B/weight")]
    public float ReadInt8() => MachineLimits.Sum(_int8Bytes);
}

/// <summary>The quantized models where the products are compute-bound: LSTM(256) and LSTM(1024) steps at batch 8 and 32,
/// and the inference Forward of LSTM(256) over batch 32 × 100 steps (the float32 model's <c>Forward</c>, which makes the
/// input products of every step in one product, against the quantized <c>Forward</c>, a step at a time).</summary>
[MemoryDiagnoser]
public class QuantizedBatchBenchmarks : QuantizedSteps
{
    [Params(256, 1024)] public int H { get; set; }

    [Params(8, 32)] public int Batch { get; set; }

    [GlobalSetup]
    public void Setup() => Use(() => H == 256 ? new Lstm256(Batch, 1) : new Lstm1024(Batch, 1), Batch);
}

/// <summary>The inference Forward of LSTM(256), batch 32 × 100 steps: the float32 model's against the quantized ones'.</summary>
[MemoryDiagnoser]
public class QuantizedForwardBenchmarks
{
    private const int Batch = 32, Steps = 100;
    private Lstm256 _model = null!;
    private Lstm256.Quantized _bfloat16 = null!, _int8 = null!;
    private Lstm256.State _bfloat16State = null!, _int8State = null!;
    private float[] _inputs = null!, _outputs = null!;

    [GlobalSetup]
    public void Setup()
    {
        using (VectorPath.Override(true))
        {
            _model = new Lstm256(Batch, Steps);
            _bfloat16 = _model.Quantize(WeightPrecision.BFloat16);
            _int8 = _model.Quantize(WeightPrecision.Int8);
        }
        _model.Options.Training = false;
        (_bfloat16State, _int8State) = (_bfloat16.CreateState(Batch), _int8.CreateState(Batch));
        _inputs = Enumerable.Range(0, Steps * Batch * Lstm256.InputSize).Select(i => MathF.Sin(i)).ToArray();
        _outputs = new float[Steps * Batch * Lstm256.OutputSize];
    }

    [Benchmark(Baseline = true, Description = "float32 Forward, 32 × 100")]
    public float SinglePrecision()
    {
        _model.Forward(_inputs, Batch, Steps);
        return _model.Output(Steps - 1, 0)[0];
    }

    [Benchmark(Description = "bfloat16 Forward, 32 × 100")]
    public float BFloat16()
    {
        _bfloat16State.Reset();
        _bfloat16.Forward(_inputs, Steps, _bfloat16State, _outputs);
        return _outputs[0];
    }

    [Benchmark(Description = "int8 Forward, 32 × 100")]
    public float EightBit()
    {
        _int8State.Reset();
        _int8.Forward(_inputs, Steps, _int8State, _outputs);
        return _outputs[0];
    }
}

/// <summary>The batch-1 step of the float32 and the quantized models on a state's pool of 1 and 2 threads (512-bit): each
/// layer's blocks of units split across the threads, so each reads its share of the weights.</summary>
[MemoryDiagnoser]
#pragma warning disable CA1001 // BenchmarkDotNet disposes the pool in [GlobalCleanup]; it needs the class unsealed
public class QuantizedSharedStepBenchmarks : QuantizedSteps
{
    private ComputePool? _pool;

    [Params("LSTM(256)", "LSTM(512)", "LSTM(1024)", "GRU(256)", "GRU(512)", "GRU(1024)")] public string Layer { get; set; } = "LSTM(256)";

    [Params(1, 2)] public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _pool = Threads > 1 ? new ComputePool(Threads) : null;
        Use(() => Layer switch
        {
            "LSTM(256)" => new Lstm256(1, 1),
            "LSTM(512)" => new Lstm512(1, 1),
            "LSTM(1024)" => new Lstm1024(1, 1),
            "GRU(256)" => new Gru256(1, 1),
            "GRU(512)" => new Gru512(1, 1),
            _ => new Gru1024(1, 1),
        }, 1, _pool);
    }

    [GlobalCleanup]
    public void Cleanup() => _pool?.Dispose();
}
#pragma warning restore CA1001
