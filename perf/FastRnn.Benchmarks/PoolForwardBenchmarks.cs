using BenchmarkDotNet.Attributes;
using FastRnn;
using FastRnn.Kernels;

namespace FastRnn.Benchmarks;

/// <summary>The LSTM(256) and classic GRU(256) inference sequence forwards (batch 32 × 100 steps; on the pool split by
/// rows of the batch, and the LSTM's split by units as a training forward is, in one run), a layer-normalized LSTM(256)'s
/// training step (forward, loss, backward) and the char-LM training iteration (Embedding(96, 64) →
/// LSTM(256) → Linear(96), batch 32 × 64, Adam) with the model's and the optimizer's <see cref="ComputePool"/> of 1 and
/// 2 threads: everything the model's pool carries (products, recurrence, weight gradients, head, loss) and the update.
/// Results are bit-identical at both thread counts.</summary>
[MemoryDiagnoser]
public class PoolForwardBenchmarks
{
    private const int Batch = 32, Steps = 100, H = 256;
    private readonly float[] _inputs = Enumerable.Range(0, Batch * Steps * H).Select(i => MathF.Sin(i * 0.01f)).ToArray();
    private readonly float[] _targets = Enumerable.Range(0, Batch * Steps).Select(i => MathF.Cos(i * 0.1f)).ToArray();
    private Lstm256 _model = null!;
    private Lstm256 _byUnits = null!;
    private ClassicGru256 _classic = null!;
    private LayerNormLstm256 _normalized = null!;
    private CharLanguageModel _charModel = null!;
    private Adam _adam = null!;
    private ComputePool? _pool;

    [Params(1, 2)] public int Threads { get; set; }

    [Params(512)] public int Bits { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        using (VectorPath.Override(Bits == 512))
        {
            _model = new Lstm256(Batch, Steps);
            _byUnits = new Lstm256(Batch, Steps) { SplitsInferenceByRows = false };
            _classic = new ClassicGru256(Batch, Steps);
            _normalized = new LayerNormLstm256(Batch, Steps);
            _charModel = new CharLanguageModel(CharModelBatch.Batch, CharModelBatch.Steps, seed: 1);
            _adam = new Adam(_charModel, 1e-3f);
        }
        _pool = Threads > 1 ? new ComputePool(Threads) : null;
        _model.Pool = _pool;
        _byUnits.Pool = _pool;
        _model.Options.Training = false;
        _byUnits.Options.Training = false;
        _classic.Options.Training = false;
        _classic.Pool = _pool;
        _normalized.Pool = _pool;
        _charModel.Pool = _pool;
        _adam.Pool = _pool;
    }

    [GlobalCleanup]
    public void Cleanup() => _pool?.Dispose();

    [Benchmark(Description = "FastRnn Forward B=32 T=100 H=256 on the pool")]
    public void Forward() => _model.Forward(_inputs, Batch, Steps);

    [Benchmark(Description = "FastRnn Forward B=32 T=100 H=256 on the pool, split by units")]
    public void ForwardByUnits() => _byUnits.Forward(_inputs, Batch, Steps);

    [Benchmark(Description = "FastRnn classic GRU Forward B=32 T=100 H=256 on the pool")]
    public void ClassicGruForward() => _classic.Forward(_inputs, Batch, Steps);

    [Benchmark(Description = "FastRnn layer-normalized LSTM training step B=32 T=100 H=256 on the pool")]
    public void LayerNormTrainingStep()
    {
        _normalized.Forward(_inputs, Batch, Steps);
        _normalized.Loss(_targets);
        _normalized.ZeroGrad();
        _normalized.Backward();
    }

    [Benchmark(Description = "char-LM training iteration on the pool")]
    public float Iteration() => CharModelBatch.Iteration(_charModel, _adam);
}
