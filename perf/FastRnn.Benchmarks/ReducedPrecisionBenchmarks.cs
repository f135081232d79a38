using BenchmarkDotNet.Attributes;
using FastRnn;
using FastRnn.Kernels;

namespace FastRnn.Benchmarks;

/// <summary>Issue 13's kernels on a batch-1 step's product: one row of [x, h] (2H inputs) times an LSTM's four gates of
/// H units, the weights in float32 (4 bytes each), bfloat16 (2) and int8 (1, on AVX-VNNI's VPDPBUSD and on AVX2's
/// VPMADDWD). The step streams every weight once, so the time is the weights' bytes over the bandwidth of wherever they
/// live (H = 256: 2 MiB in float32; H = 1024: 32 MiB).</summary>
[MemoryDiagnoser]
public class ReducedPrecisionBenchmarks
{
    private InterleavedShape _shape;
    private float[] _x = null!, _y = null!, _weights = null!, _scales = null!;
    private uint[] _bf16 = null!;
    private int[] _int8 = null!, _sums = null!;
    private byte[] _scratch = null!;

    [Params(256, 1024)] public int H { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _shape = new InterleavedShape(2 * H, 4, H / Block.Width);
        _x = Enumerable.Range(0, 2 * H).Select(i => MathF.Sin(i)).ToArray();
        _y = new float[_shape.RowLength];
        _weights = Enumerable.Range(0, _shape.Length).Select(i => MathF.Cos(i) * 0.05f).ToArray();
        _bf16 = new uint[BFloat16Kernels.PackedLength(_shape)];
        BFloat16Kernels.Pack(_weights, _shape, _bf16);
        _int8 = new int[Int8Kernels.PackedLength(_shape)];
        _scales = new float[_shape.RowLength];
        _sums = new int[_shape.RowLength];
        Int8Kernels.Quantize(_weights, _shape, _int8, _scales, _sums);
        _scratch = new byte[Int8Kernels.ScratchLength(_shape, 1)];
    }

    [Benchmark(Baseline = true, Description = "float32 y += [x,h]·W, batch 1")]
    public void SinglePrecision() => InterleavedKernels.MultiplyAdd<Block512>(_x, _x.Length, 1, _weights, _shape, 0, 4, _y, _shape.RowLength);

    [Benchmark(Description = "bfloat16 y += [x,h]·W, batch 1")]
    public void BFloat16() => BFloat16Kernels.MultiplyAdd<Block512>(_x, _x.Length, 1, _bf16, _shape, _y, _shape.RowLength);

    [Benchmark(Description = "int8 (VNNI) y += [x,h]·W, batch 1")]
    public void Int8Vnni() => Int8Kernels.MultiplyAdd(_x, _x.Length, 1, _int8, _scales, _sums, _shape, _scratch, _y, _shape.RowLength, vnni: true);

    [Benchmark(Description = "int8 (AVX2) y += [x,h]·W, batch 1")]
    public void Int8Avx2() => Int8Kernels.MultiplyAdd(_x, _x.Length, 1, _int8, _scales, _sums, _shape, _scratch, _y, _shape.RowLength, vnni: false);
}
