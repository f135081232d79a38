using BenchmarkDotNet.Attributes;
using FastRnn;
using FastRnn.Kernels;

namespace FastRnn.Benchmarks;

[RnnModel, DenseInput(128), Lstm(512, Projection = 128), Head(1), Loss(LossKind.MeanSquaredError)] public sealed partial class ProjectedLstm512;
[RnnModel, DenseInput(256), Lstm(1024, Projection = 256), Head(1), Loss(LossKind.MeanSquaredError)] public sealed partial class ProjectedLstm1024;

/// <summary>The batch-1 step of a projected LSTM (PyTorch proj_size, input = projection) against the time to read its
/// weights once: W_ih 4H·P, W_hh 4H·P and W_hr P·H.</summary>
[MemoryDiagnoser]
public class ProjectedStepBenchmarks
{
    private ISequenceModel _model = null!;
    private IRnnState _state = null!;
    private float[] _input = null!, _output = null!, _weights = null!;

    [Params(512, 1024)] public int Hidden { get; set; }
    [Params(256, 512)] public int Bits { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        using (VectorPath.Override(Bits == 512))
            _model = Hidden == 512 ? new ProjectedLstm512(1, 1) : new ProjectedLstm1024(1, 1);
        int projection = Hidden / 4;
        _state = _model.NewState(1);
        _input = Enumerable.Range(0, projection).Select(i => MathF.Sin(i)).ToArray();
        _output = new float[1];
        _weights = new float[4 * Hidden * projection * 2 + projection * Hidden];
        // Written, so the pages are real: an untouched array reads from the shared zero page and looks too fast.
        for (int i = 0; i < _weights.Length; i++) _weights[i] = i % 7;
    }

    [Benchmark(Baseline = true, Description = "read weights (8-acc Vector256 sum)")]
    public float ReadWeights() => MachineLimits.Sum(_weights);

    [Benchmark(Description = "FastRnn Step, projected")]
    public float Step()
    {
        _model.StepDense(_input, _state, _output);
        return _output[0];
    }
}
