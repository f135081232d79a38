using BenchmarkDotNet.Attributes;
using FastRnn.Kernels;
using Microsoft.ML.OnnxRuntime;

namespace FastRnn.Benchmarks;

/// <summary>
/// FastRnn against ONNX Runtime (<c>Microsoft.ML.OnnxRuntime</c>, CPU, IOBinding to preallocated buffers) on the same
/// shapes at the same thread count, in one run: the batch-1 step of LSTM(256), LSTM(1024) and GRU(1024), and the
/// 100-step sequence forward of LSTM(256) at batch 1 and 32. The peer runs PyTorch's own nn.LSTM / nn.GRU exported by
/// <c>torch.onnx.export</c> (<c>perf/peers/export_onnx.py</c>; <c>perf/run.sh</c> writes the files to
/// <c>perf/peers/onnx/</c>, or set FASTRNN_ONNX_DIR); FastRnn runs its 512-bit kernels, the step on a state's pool
/// and the forward on the model's pool. ONNX Runtime's intra-op pool gets the same thread count and may spin.
/// FastRnn's models carry a Linear(1) head the peer's graph does not (one dot product per row and step).
/// </summary>
[MemoryDiagnoser]
#pragma warning disable CA1001 // disposed in [GlobalCleanup]
public class PeerBenchmarks
#pragma warning restore CA1001
{
    private ISequenceModel _model = null!;
    private IRnnState _state = null!;
    private float[] _input = [], _output = [];
    private ComputePool? _pool;
    private InferenceSession? _session;
    private OrtIoBinding? _binding;
    private RunOptions? _runOptions;
    private readonly List<OrtValue> _values = [];
    private int _batch, _steps, _hidden;

    /// <summary>What is run: a batch-1 step of a layer, or a 100-step forward at a batch.</summary>
    [Params("step LSTM(256)", "step LSTM(1024)", "step GRU(1024)", "forward LSTM(256) b1", "forward LSTM(256) b32")]
    public string Shape { get; set; } = "step LSTM(256)";

    [Params(1, 2)] public int Threads { get; set; }

    /// <summary>Whether ONNX Runtime's intra-op threads spin after a run (its default, kept here); <see cref="PeerRounds"/>
    /// turns it off, since its spinning threads would take the processors from FastRnn's rounds that follow.</summary>
    public bool OnnxSpinning { get; set; } = true;

    private bool IsStep => Shape.StartsWith("step", StringComparison.Ordinal);

    private bool IsLstm => Shape.Contains("LSTM", StringComparison.Ordinal);

    [GlobalSetup]
    public void Setup()
    {
        _hidden = Shape.Contains("1024", StringComparison.Ordinal) ? 1024 : 256;
        (_batch, _steps) = IsStep ? (1, 1) : Shape.EndsWith("b32", StringComparison.Ordinal) ? (32, 100) : (1, 100);
        _pool = Threads > 1 ? new ComputePool(Threads) : null;
        using (VectorPath.Override(true))
            _model = (_hidden, IsLstm) switch
            {
                (1024, true) => new Lstm1024(_batch, _steps),
                (1024, false) => new Gru1024(_batch, _steps),
                (_, true) => new Lstm256(_batch, _steps),
                _ => new Gru256(_batch, _steps),
            };
        _input = Enumerable.Range(0, _steps * _batch * _hidden).Select(i => MathF.Sin(i * 0.01f)).ToArray();
        if (IsStep)
        {
            _state = _model.NewState(1);
            ((dynamic)_state).Pool = _pool;
            _output = new float[1];
        }
        else
        {
            _model.Pool = _pool;
            _model.Options.Training = false;
        }
        SetupPeer();
    }

    private void SetupPeer()
    {
        string folder = Environment.GetEnvironmentVariable("FASTRNN_ONNX_DIR") ?? Path.Combine(RepositoryRoot(), "perf", "peers", "onnx");
        string path = Path.Combine(folder, $"{(IsLstm ? "lstm" : "gru")}{_hidden}.onnx");
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path} is missing: run /usr/bin/python3 perf/peers/export_onnx.py {folder} (perf/run.sh does).", path);
        var options = new SessionOptions
        {
            IntraOpNumThreads = Threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        if (!OnnxSpinning)
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        _session = new InferenceSession(path, options);
        _runOptions = new RunOptions();
        _binding = _session.CreateIoBinding();
        OrtValue Tensor(float[] data, params long[] shape)
        {
            var value = OrtValue.CreateTensorValueFromMemory(data, shape);
            _values.Add(value);
            return value;
        }
        _binding.BindInput("x", Tensor(_input, _steps, _batch, _hidden));
        _binding.BindInput("h0", Tensor(new float[_batch * _hidden], 1, _batch, _hidden));
        _binding.BindOutput("y", Tensor(new float[_steps * _batch * _hidden], _steps, _batch, _hidden));
        _binding.BindOutput("hn", Tensor(new float[_batch * _hidden], 1, _batch, _hidden));
        if (IsLstm)
        {
            _binding.BindInput("c0", Tensor(new float[_batch * _hidden], 1, _batch, _hidden));
            _binding.BindOutput("cn", Tensor(new float[_batch * _hidden], 1, _batch, _hidden));
        }
        _session.RunWithBinding(_runOptions, _binding); // the first run plans the graph
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "FastRnn.sln")))
                return dir.FullName;
        return Directory.GetCurrentDirectory();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _binding?.Dispose();
        foreach (var value in _values) value.Dispose();
        _session?.Dispose();
        _runOptions?.Dispose();
        _pool?.Dispose();
    }

    [Benchmark(Baseline = true, Description = "FastRnn")]
    public float FastRnn()
    {
        if (IsStep)
        {
            _model.StepDense(_input, _state, _output);
            return _output[0];
        }
        _model.ForwardDense(_input, _batch, _steps);
        return 0f;
    }

    [Benchmark(Description = "ONNX Runtime")]
    public void OnnxRuntime() => _session!.RunWithBinding(_runOptions!, _binding!);
}
