using BenchmarkDotNet.Attributes;
using FastRnn.Kernels;

namespace FastRnn.Benchmarks;

/// <summary>
/// The 10,000-word softmax head of the word-level language models (issue 4: it dominates their cost), alone: one
/// Zaremba minibatch (batch 20 × 20 steps = 400 rows) through Linear(H → 10,000) and softmax cross-entropy, forward and
/// backward, for H = 200 (Zaremba small) and 650 (medium). Each product is 2·400·H·10,000 FLOP (H = 650: 5.2 GFLOP;
/// H = 200: 1.6 GFLOP); the whole head step is three of them plus the softmax. <see cref="Threads"/> runs every piece
/// on a <see cref="ComputePool"/> of that many threads (the products split by output columns, the softmax by rows).
/// </summary>
[MemoryDiagnoser]
#pragma warning disable CA1001 // the pool is disposed in [GlobalCleanup]
public class SoftmaxHeadBenchmarks
#pragma warning restore CA1001
{
    private ComputePool? _pool;
    private const int Rows = 400, Vocabulary = 10_000;
    private InterleavedShape _shape;
    private float[] _x = [], _w = [], _transposed = [], _logits = [], _outputs = [], _dLogits = [], _dw = [], _dx = [], _scratch = [];
    private int[] _targets = [];

    [Params(200, 650)] public int Hidden { get; set; }

    [Params(256, 512)] public int Bits { get; set; }

    [Params(1, 2)] public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _pool = new ComputePool(Threads);
        _shape = new InterleavedShape(Hidden, 1, Vocabulary / Block.Width);
        int padded = Block.Pad(Hidden);
        _x = Enumerable.Range(0, Rows * padded).Select(i => i % padded < Hidden ? MathF.Sin(i) : 0f).ToArray();
        _w = Enumerable.Range(0, _shape.Length).Select(i => MathF.Cos(i) * 0.05f).ToArray();
        _transposed = new float[_shape.Transposed.Length];
        InterleavedKernels.PackTransposed(_w, _shape, 0, 1, _transposed);
        _logits = new float[Rows * Vocabulary];
        _outputs = new float[Rows * Vocabulary];
        _dLogits = new float[Rows * Vocabulary];
        _dw = new float[_shape.Length];
        _dx = new float[Rows * padded];
        _scratch = new float[InterleavedKernels.OuterScratchLength(_shape) * Threads];
        _targets = Enumerable.Range(0, Rows).Select(i => i * 7919 % Vocabulary).ToArray();
    }

    [GlobalCleanup]
    public void Cleanup() => _pool?.Dispose();

    [Benchmark(Description = "logits = x·W (forward product)")]
    public void Forward()
    {
        Array.Clear(_logits);
        if (Bits == 512) InterleavedKernels.MultiplyAdd<Block512>(_pool, _x, Block.Pad(Hidden), Rows, _w, _shape, 0, 1, _logits, Vocabulary);
        else InterleavedKernels.MultiplyAdd<Block256>(_pool, _x, Block.Pad(Hidden), Rows, _w, _shape, 0, 1, _logits, Vocabulary);
    }

    [Benchmark(Description = "softmax and cross-entropy with ∂logits")]
    public float Softmax()
    {
        LossKernels.Softmax(_pool, _logits, _outputs, Vocabulary, Rows, Vocabulary);
        return LossKernels.SoftmaxCrossEntropy(_pool, _logits, _outputs, Vocabulary, Rows, Vocabulary, _targets, _dLogits);
    }

    [Benchmark(Description = "∂W += xᵀ·∂logits (weight gradient)")]
    public void WeightGradient()
    {
        if (Bits == 512) InterleavedKernels.AccumulateOuter<Block512>(_pool, _x, Block.Pad(Hidden), Rows, _dLogits, Vocabulary, _dw, _shape, 0, 1, _scratch);
        else InterleavedKernels.AccumulateOuter<Block256>(_pool, _x, Block.Pad(Hidden), Rows, _dLogits, Vocabulary, _dw, _shape, 0, 1, _scratch);
    }

    [Benchmark(Description = "∂x = ∂logits·Wᵀ (input gradient)")]
    public void InputGradient()
    {
        Array.Clear(_dx);
        if (Bits == 512) InterleavedKernels.MultiplyAdd<Block512>(_pool, _dLogits, Vocabulary, Rows, _transposed, _shape.Transposed, 0, 1, _dx, Block.Pad(Hidden));
        else InterleavedKernels.MultiplyAdd<Block256>(_pool, _dLogits, Vocabulary, Rows, _transposed, _shape.Transposed, 0, 1, _dx, Block.Pad(Hidden));
    }

    [Benchmark(Description = "the head's whole step (the four above)")]
    public float Step()
    {
        Forward();
        float loss = Softmax();
        WeightGradient();
        InputGradient();
        return loss;
    }
}
