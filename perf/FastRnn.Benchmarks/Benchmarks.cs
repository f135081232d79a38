using BenchmarkDotNet.Attributes;
using FastRnn;
using FastRnn.Kernels;

namespace FastRnn.Benchmarks;

/// <summary>The batch-1 streaming step against the time to read its weights once (the bandwidth bound).</summary>
[MemoryDiagnoser]
public class StepBenchmarks
{
    private ISequenceModel _model = null!;
    private IRnnState _state = null!;
    private float[] _input = null!, _output = null!, _weights = null!;

    [Params("LSTM", "GRU")] public string Cell { get; set; } = "LSTM";
    [Params(128, 256, 512)] public int Hidden { get; set; }
    [Params(256, 512)] public int Bits { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        using (VectorPath.Override(Bits == 512))
            _model = StepModels.Create(Cell, Hidden);
        _state = _model.NewState(1);
        _input = Enumerable.Range(0, Hidden).Select(i => MathF.Sin(i)).ToArray();
        _output = new float[1];
        // Exactly the step's weights: (4 or 3)·H·(I + H) with I = H.
        _weights = new float[(Cell == "LSTM" ? 4 : 3) * Hidden * 2 * Hidden];
        // Written, so the pages are real: an untouched array reads from the shared zero page and looks too fast.
        for (int i = 0; i < _weights.Length; i++) _weights[i] = i % 7;
    }

    [Benchmark(Baseline = true, Description = "read weights (8-acc Vector256 sum)")]
    public float ReadWeights() => MachineLimits.Sum(_weights);

    [Benchmark(Description = "FastRnn Step")]
    public float Step()
    {
        _model.StepDense(_input, _state, _output);
        return _output[0];
    }
}

/// <summary>LSTM(256) batch-1 step: FastRnn against the straightforward and the scalar implementations.</summary>
[MemoryDiagnoser]
public class StepBaselineBenchmarks
{
    private const int H = 256;
    private ISequenceModel _model = null!;
    private IRnnState _state = null!;
    private readonly float[] _x = Enumerable.Range(0, H).Select(i => MathF.Sin(i)).ToArray();
    private readonly float[] _h = new float[H], _c = new float[H], _hNext = new float[H], _output = new float[1];
    private readonly float[] _weights = new float[4 * H * 2 * H];
    private readonly TensorPrimitivesLstm _tensorPrimitives = new(H, H);
    private readonly ScalarLstm _scalar = new(H, H);

    [GlobalSetup]
    public void Setup()
    {
        using (VectorPath.Override(false))
            _model = StepModels.Create("LSTM", H);
        _state = _model.NewState(1);
        // Written, so the pages are real: an untouched array reads from the shared zero page and looks too fast.
        for (int i = 0; i < _weights.Length; i++) _weights[i] = i % 7;
    }

    [Benchmark(Baseline = true, Description = "read weights")]
    public float ReadWeights() => MachineLimits.Sum(_weights);

    [Benchmark(Description = "FastRnn Step (256-bit)")]
    public float FastRnn()
    {
        _model.StepDense(_x, _state, _output);
        return _output[0];
    }

    [Benchmark(Description = "TensorPrimitives LSTM step")]
    public float TensorPrimitives()
    {
        _tensorPrimitives.Step(_x, _h, _c, _hNext);
        return _hNext[0];
    }

    [Benchmark(Description = "scalar LSTM step")]
    public float Scalar()
    {
        _scalar.Step(_x, _h, _c, _hNext);
        return _hNext[0];
    }
}

/// <summary>Sequence forward, batch 32, length 100, LSTM(256) (8·H·(I+H) = 1.05 MFLOP per row and step, 3.36 GFLOP
/// a call), beside the FMA peak measured in the same run (12 chains, 2·10⁸ rounds).</summary>
public class ForwardBenchmarks
{
    private const int Batch = 32, Steps = 100, H = 256;
    public const int PeakRounds = 10_000_000;
    private Lstm256 _model = null!;
    private readonly float[] _inputs = Enumerable.Range(0, Batch * Steps * H).Select(i => MathF.Sin(i * 0.01f)).ToArray();
    private readonly TensorPrimitivesLstm _tensorPrimitives = new(H, H);
    private readonly ScalarLstm _scalar = new(H, H);
    private readonly float[] _h = new float[H], _c = new float[H], _hNext = new float[H], _x = new float[H];

    [Params(256, 512)] public int Bits { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        using (VectorPath.Override(Bits == 512))
            _model = new Lstm256(Batch, Steps);
    }

    [Benchmark(Description = "FMA peak, Vector256 (1.92 GFLOP)")]
    public float Peak256() => MachineLimits.FmaPeak256(PeakRounds);

    [Benchmark(Description = "FMA peak, Vector512 (3.84 GFLOP)")]
    public float Peak512() => MachineLimits.FmaPeak512(PeakRounds);

    [Benchmark(Description = "FastRnn Forward B=32 T=100 H=256 (3.36 GFLOP)")]
    public void Forward() => _model.Forward(_inputs, Batch, Steps);

    [Benchmark(Description = "TensorPrimitives LSTM, row by row (3.36 GFLOP)")]
    public float TensorPrimitivesForward()
    {
        for (int t = 0; t < Steps; t++)
            for (int b = 0; b < Batch; b++)
                _tensorPrimitives.Step(_inputs.AsSpan((t * Batch + b) * H, H), _h, _c, _hNext);
        return _hNext[0];
    }

    [Benchmark(Description = "scalar LSTM, row by row (3.36 GFLOP)")]
    public float ScalarForward()
    {
        for (int t = 0; t < Steps; t++)
            for (int b = 0; b < Batch; b++)
            {
                _inputs.AsSpan((t * Batch + b) * H, H).CopyTo(_x);
                _scalar.Step(_x, _h, _c, _hNext);
            }
        return _hNext[0];
    }
}

/// <summary>One training iteration of a character language model: Embedding(96, 64) → LSTM(256) → Linear(96),
/// softmax cross-entropy, batch 32, length 64, Adam: 2048 tokens a call.</summary>
[MemoryDiagnoser]
public class TrainingBenchmarks
{
    private const int Batch = CharModelBatch.Batch, Steps = CharModelBatch.Steps;
    private CharLanguageModel _model = null!;
    private Adam _adam = null!;
    private readonly int[] _tokens = CharModelBatch.Tokens, _targets = CharModelBatch.Targets;

    [Params(256, 512)] public int Bits { get; set; }

    private TensorPrimitivesCharModel _baseline = null!, _scalarBaseline = null!;

    [GlobalSetup]
    public void Setup()
    {
        using (VectorPath.Override(Bits == 512))
        {
            _model = new CharLanguageModel(Batch, Steps, seed: 1);
            _adam = new Adam(_model, 1e-3f);
        }
        _baseline = new TensorPrimitivesCharModel(_model, 96, 64, 256, Batch, Steps);
        _scalarBaseline = new TensorPrimitivesCharModel(_model, 96, 64, 256, Batch, Steps, scalar: true);
        // The baselines must compute the same thing: two iterations from the same weights give the same losses
        // (the second one also checks their gradients and Adam step).
        var vectorCheck = new TensorPrimitivesCharModel(_model, 96, 64, 256, Batch, Steps);
        var scalarCheck = new TensorPrimitivesCharModel(_model, 96, 64, 256, Batch, Steps, scalar: true);
        for (int i = 0; i < 2; i++)
        {
            float expected = Iteration();
            foreach (var (check, name) in new[] { (vectorCheck, "TensorPrimitives"), (scalarCheck, "scalar") })
            {
                float actual = check.Iteration(_tokens, _targets);
                if (Math.Abs(expected - actual) > 1e-4f * Math.Abs(expected))
                    throw new InvalidOperationException($"The {name} baseline disagrees with FastRnn at iteration {i}: {actual} vs {expected}.");
            }
        }
    }

    [Benchmark(Description = "scalar straightforward iteration (row by row)")]
    public float Scalar() => _scalarBaseline.Iteration(_tokens, _targets);

    [Benchmark(Description = "TensorPrimitives straightforward iteration (row by row)")]
    public float Straightforward() => _baseline.Iteration(_tokens, _targets);

    [Benchmark(Description = "FastRnn forward and loss only")]
    public float ForwardAndLoss()
    {
        _model.Forward(_tokens, Batch, Steps);
        return _model.Loss(_targets);
    }

    [Benchmark(Description = "FastRnn training iteration (forward, loss, backward, Adam)")]
    public float Iteration() => CharModelBatch.Iteration(_model, _adam);
}

/// <summary>The character language model's benchmark batch (32 rows × 64 steps of fixed pseudo-random tokens and
/// targets) and one training iteration on it, shared by the training and regularization benchmarks.</summary>
public static class CharModelBatch
{
    public const int Batch = 32, Steps = 64;
    public static readonly int[] Tokens = Enumerable.Range(0, Batch * Steps).Select(i => (i * 7919) % 96).ToArray();
    public static readonly int[] Targets = Enumerable.Range(0, Batch * Steps).Select(i => (i * 104729 + 3) % 96).ToArray();

    /// <summary>Forward, loss, backward and the optimizer step; returns the loss.</summary>
    public static float Iteration(ISequenceModel model, Optimizer optimizer)
    {
        model.ForwardTokens(Tokens, Batch, Steps);
        float loss = model.LossClasses(Targets);
        model.ZeroGrad();
        model.Backward();
        optimizer.Step();
        return loss;
    }
}
