using BenchmarkDotNet.Attributes;
using FastRnn;
using FastRnn.Kernels;

namespace FastRnn.Benchmarks;

/// <summary>The interleaved matrix kernels on the training benchmark's shapes: 2048 rows (batch 32 × 64 steps),
/// LSTM(256) recurrent matrix (256 inputs → 4 gates × 256 units). Each is 2·2048·256·1024 = 1.07 GFLOP.</summary>
public class KernelBenchmarks
{
    private const int Rows = 2048, Inputs = 256, Hidden = 256, Gates = 4;
    private static readonly InterleavedShape s_shape = new(Inputs, Gates, Hidden / Block.Width);
    private readonly float[] _x = Enumerable.Range(0, Rows * Inputs).Select(i => MathF.Sin(i)).ToArray();
    private readonly float[] _w = Enumerable.Range(0, s_shape.Length).Select(i => MathF.Cos(i) * 0.05f).ToArray();
    private readonly float[] _y = new float[Rows * s_shape.RowLength];
    private readonly float[] _dw = new float[s_shape.Length];
    private readonly float[] _scratch = new float[InterleavedKernels.OuterScratchLength(s_shape)];

    private readonly float[] _transposed = new float[s_shape.Transposed.Length];

    [Params(256, 512)] public int Bits { get; set; }

    [Benchmark(Description = "PackTransposed (once per backward pass)")]
    public void PackTransposed() => InterleavedKernels.PackTransposed(_w, s_shape, 0, Gates, _transposed);

    [Benchmark(Description = "MultiplyAdd y += x·W (1.07 GFLOP)")]
    public void MultiplyAdd()
    {
        if (Bits == 512) InterleavedKernels.MultiplyAdd<Block512>(_x, Inputs, Rows, _w, s_shape, 0, Gates, _y, s_shape.RowLength);
        else InterleavedKernels.MultiplyAdd<Block256>(_x, Inputs, Rows, _w, s_shape, 0, Gates, _y, s_shape.RowLength);
    }

    [Benchmark(Description = "AccumulateOuter dW += xᵀ·dy (1.07 GFLOP)")]
    public void AccumulateOuter()
    {
        if (Bits == 512) InterleavedKernels.AccumulateOuter<Block512>(_x, Inputs, Rows, _y, s_shape.RowLength, _dw, s_shape, 0, Gates, _scratch);
        else InterleavedKernels.AccumulateOuter<Block256>(_x, Inputs, Rows, _y, s_shape.RowLength, _dw, s_shape, 0, Gates, _scratch);
    }
}
