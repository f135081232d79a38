using System.Diagnostics;
using System.Globalization;
using FastRnn;
using TorchSharp;
using static TorchSharp.torch;

namespace FastRnn.TorchSharpPeer;

/// <summary>
/// perf/torchsharp.sh [rounds]: the char-LM training iteration (Embedding(96, 64) -> LSTM(256) -> Linear(96), batch 32 x 64,
/// cross-entropy, clip_grad_norm_(5), Adam 1e-3) in FastRnn and in TorchSharp (libtorch 2.10), at 1 and 2 threads, in
/// alternating rounds in one process (the machine's speed drifts from minute to minute): medians per round, the median
/// round, and TorchSharp / FastRnn (above 1, FastRnn is faster).
/// </summary>
public static class Program
{
    public static void Main(string[] args)
    {
        int rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 9;
        const int Batch = 32, Steps = 64, Calls = 20;
        int[] tokens = Enumerable.Range(0, Batch * Steps).Select(i => i * 7919 % 96).ToArray();
        int[] targets = Enumerable.Range(0, Batch * Steps).Select(i => (i * 104729 + 3) % 96).ToArray();

        Console.WriteLine($"char-LM training iteration (batch {Batch} x {Steps}, Adam, clip 5), medians of {Calls} calls per round, ms; torch {torch.__version__}");
        foreach (int threads in new[] { 1, 2 })
        {
            var fastRnn = new FastRnnSide(threads, tokens, targets);
            using var torchSide = new TorchSide(tokens, targets);
            torch.set_num_threads(threads);
            for (int warm = 0; warm < 3; warm++)
            {
                TimeMedian(fastRnn.Iteration, Calls);
                TimeMedian(torchSide.Iteration, Calls);
            }
            var fast = new double[rounds];
            var peer = new double[rounds];
            for (int round = 0; round < rounds; round++)
            {
                fast[round] = TimeMedian(fastRnn.Iteration, Calls);
                peer[round] = TimeMedian(torchSide.Iteration, Calls);
                Console.WriteLine($"  {threads} thread(s), round {round}: FastRnn {fast[round]:F2}  TorchSharp {peer[round]:F2}");
            }
            double f = MedianOf(fast), p = MedianOf(peer);
            Console.WriteLine($"{threads} thread(s): FastRnn {f:F2} ms ({Batch * Steps / f * 1000:N0} tokens/s), TorchSharp {p:F2} ms ({Batch * Steps / p * 1000:N0} tokens/s), TorchSharp / FastRnn {p / f:F2}");
            fastRnn.Dispose();
        }
    }

    private static double MedianOf(double[] values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }

    /// <summary>The median of <paramref name="calls"/> timed calls of <paramref name="action"/>, in milliseconds.</summary>
    private static double TimeMedian(Action action, int calls)
    {
        var times = new double[calls];
        for (int i = 0; i < calls; i++)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        return MedianOf(times);
    }
}

/// <summary>The benchmark project's character model (perf/FastRnn.Benchmarks/Models.cs) with Adam and clipping.</summary>
internal sealed class FastRnnSide : IDisposable
{
    private readonly CharLanguageModel _model = new(32, 64, seed: 1);
    private readonly Adam _adam;
    private readonly ComputePool? _pool;
    private readonly int[] _tokens, _targets;

    public FastRnnSide(int threads, int[] tokens, int[] targets)
    {
        _adam = new Adam(_model, 1e-3f) { Clipping = { MaxGlobalNorm = 5f } };
        _pool = threads > 1 ? new ComputePool(threads) : null;
        _model.Pool = _pool;
        _adam.Pool = _pool;
        (_tokens, _targets) = (tokens, targets);
    }

    public void Iteration()
    {
        var model = (ISequenceModel)_model;
        model.ForwardTokens(_tokens, 32, 64);
        model.LossClasses(_targets);
        model.ZeroGrad();
        model.Backward();
        _adam.Step();
    }

    public void Dispose() => _pool?.Dispose();
}

/// <summary>The same model, data and update in TorchSharp (as perf/pytorch_bench.py has it in PyTorch).</summary>
internal sealed class TorchSide : IDisposable
{
    private readonly CharModule _model = new();
    private readonly torch.optim.Optimizer _adam;
    private readonly Tensor _tokens, _targets;

    public TorchSide(int[] tokens, int[] targets)
    {
        _adam = torch.optim.Adam(_model.parameters(), lr: 1e-3);
        _tokens = torch.tensor(tokens.Select(t => (long)t).ToArray(), new long[] { 64, 32 });
        _targets = torch.tensor(targets.Select(t => (long)t).ToArray(), new long[] { 64 * 32 });
    }

    public void Iteration()
    {
        using var scope = torch.NewDisposeScope();
        _adam.zero_grad();
        var loss = nn.functional.cross_entropy(_model.call(_tokens).reshape(-1, 96), _targets);
        loss.backward();
        nn.utils.clip_grad_norm_(_model.parameters(), 5.0);
        _adam.step();
    }

    public void Dispose()
    {
        _model.Dispose();
        _tokens.Dispose();
        _targets.Dispose();
    }

    private sealed class CharModule : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> _embedding = nn.Embedding(96, 64);
        private readonly TorchSharp.Modules.LSTM _rnn = nn.LSTM(64, 256);
        private readonly nn.Module<Tensor, Tensor> _head = nn.Linear(256, 96);

        public CharModule() : base("CharModel") => RegisterComponents();

        public override Tensor forward(Tensor tokens)
        {
            var (output, _, _) = _rnn.call(_embedding.call(tokens));
            return _head.call(output);
        }
    }
}
