using System.Diagnostics;
using FastRnn.Kernels;

namespace FastRnn.Benchmarks;

/// <summary><c>dotnet run -c Release --project perf/FastRnn.Benchmarks -- phases [rounds]</c>: where the char-LM training
/// iteration's time goes at 1 and 2 threads — its forward, loss, backward and optimizer step timed apart, in
/// alternating rounds in one process (so a slow stretch of the machine hits both thread counts), medians per round; at 2
/// threads twice, the LSTM's backward steps split by rows (the default) and by units (<c>SplitsBackwardByRows</c> off).
/// The phase whose 2-thread time is furthest from half its 1-thread time is what holds the iteration back. Each round
/// also prints how long a cache line takes to pass between the two processors right after it.</summary>
public static class IterationPhases
{
    private static readonly string[] s_names = ["forward", "loss", "backward", "update", "iteration"];

    public static void Run(TextWriter output, int rounds = 5, int calls = 40, int? onlyThreads = null)
    {
        Engine[] engines = onlyThreads is int only ? [new Engine(only)] : [new Engine(1), new Engine(2), new Engine(2, byRows: false)];
        var times = new double[engines.Length][];
        for (int e = 0; e < engines.Length; e++)
            times[e] = new double[s_names.Length];
        foreach (var engine in engines)
            engine.Time(calls); // warm-up: tiered JIT, caches, the pool's threads
        output.WriteLine($"char-LM iteration (batch {CharModelBatch.Batch} × {CharModelBatch.Steps}), medians of {calls} calls per round, ms: " +
            string.Join(" | ", s_names));
        for (int round = 0; round < rounds; round++)
        {
            for (int e = 0; e < engines.Length; e++)
                times[e] = engines[e].Time(calls);
            // the host places the two vCPUs near or far from each other and moves them: a cache line's hand-over time,
            // measured after the round, says which (SchedulingGaps.LineHandOver)
            double handOver = SchedulingGaps.LineHandOver(trips: 20_000, runs: 5);
            output.WriteLine($"round {round} (line hand-over {handOver:F0} ns): " + string.Join("; ", engines.Select((engine, e) =>
                $"{engine.Name} " + string.Join(" ", times[e].Select(t => t.ToString("F2", System.Globalization.CultureInfo.InvariantCulture))))) +
                string.Concat(Enumerable.Range(1, engines.Length - 1).Select(e => $"; {engines[e].Name} vs 1: " +
                    string.Join(" ", times[e].Zip(times[0], (two, one) => (two / one).ToString("F2", System.Globalization.CultureInfo.InvariantCulture))))));
        }
        foreach (var engine in engines)
            engine.Dispose();
    }

    private sealed class Engine : IDisposable
    {
        private readonly ISequenceModel _model;
        private readonly Adam _adam;
        private readonly ComputePool? _pool;

        public Engine(int threads, bool byRows = true)
        {
            Name = threads == 1 ? "1 thread" : $"{threads} threads{(byRows ? "" : " by units")}";
            using (VectorPath.Override(true))
            {
                _model = new CharLanguageModel(CharModelBatch.Batch, CharModelBatch.Steps, seed: 1) { SplitsBackwardByRows = byRows };
                _adam = new Adam(_model, 1e-3f);
            }
            _pool = threads > 1 ? new ComputePool(threads) : null;
            _model.Pool = _pool;
            _adam.Pool = _pool;
        }

        public string Name { get; }

        /// <summary>Median milliseconds of each phase over <paramref name="calls"/> iterations.</summary>
        public double[] Time(int calls)
        {
            var samples = new double[s_names.Length][];
            for (int k = 0; k < s_names.Length; k++)
                samples[k] = new double[calls];
            for (int call = 0; call < calls; call++)
            {
                long t0 = Stopwatch.GetTimestamp();
                _model.ForwardTokens(CharModelBatch.Tokens, CharModelBatch.Batch, CharModelBatch.Steps);
                long t1 = Stopwatch.GetTimestamp();
                _model.LossClasses(CharModelBatch.Targets);
                long t2 = Stopwatch.GetTimestamp();
                _model.ZeroGrad();
                _model.Backward();
                long t3 = Stopwatch.GetTimestamp();
                _adam.Step();
                long t4 = Stopwatch.GetTimestamp();
                long[] marks = [t0, t1, t2, t3, t4];
                for (int k = 0; k < 4; k++)
                    samples[k][call] = (marks[k + 1] - marks[k]) * 1000.0 / Stopwatch.Frequency;
                samples[4][call] = (t4 - t0) * 1000.0 / Stopwatch.Frequency;
            }
            return samples.Select(Median).ToArray();
        }

        private static double Median(double[] values)
        {
            var sorted = values.Order().ToArray();
            return sorted[sorted.Length / 2];
        }

        public void Dispose() => _pool?.Dispose();
    }
}
