using System.Diagnostics;
using FastRnn.Kernels;

namespace FastRnn.Benchmarks;

/// <summary><c>dotnet run -c Release --project perf/FastRnn.Benchmarks -- phases [rounds]</c>: where the char-LM training
/// iteration's time goes at 1 and 2 threads — its forward, loss, backward and optimizer step timed apart, in
/// alternating rounds in one process (so a slow stretch of the machine hits both thread counts), medians per round; at 2
/// threads twice, the LSTM's backward steps split by rows (the default) and by units (<c>SplitsBackwardByRows</c> off).
/// The phase whose 2-thread time is furthest from half its 1-thread time is what holds the iteration back. Last, the
/// machine's limit for two threads: two independent models of half the batch (rows 0–15 and 16–31), each with its own
/// optimizer, iterating at the same time on two threads of their own, nothing shared — the slower thread's medians, as a
/// split that shared no data at all would wait for it. Each round also prints how long a cache line takes to pass
/// between the two processors right after it.</summary>
public static class IterationPhases
{
    private static readonly string[] s_names = ["forward", "loss", "backward", "update", "iteration"];

    public static void Run(TextWriter output, int rounds = 5, int calls = 40, int? onlyThreads = null)
    {
        ITimed[] engines = onlyThreads is int only ? [new Engine(only)] : [new Engine(1), new Engine(2), new Engine(2, byRows: false), new Halves()];
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

    private interface ITimed : IDisposable
    {
        string Name { get; }

        /// <summary>Median milliseconds of each phase over <paramref name="calls"/> iterations.</summary>
        double[] Time(int calls);
    }

    private sealed class Engine : ITimed
    {
        private readonly ISequenceModel _model;
        private readonly Adam _adam;
        private readonly ComputePool? _pool;
        private readonly int _batch;
        private readonly int[] _tokens, _targets;

        public Engine(int threads, bool byRows = true, int firstRow = 0, int batch = CharModelBatch.Batch)
        {
            Name = threads == 1 ? "1 thread" : $"{threads} threads{(byRows ? "" : " by units")}";
            using (VectorPath.Override(true))
            {
                _model = new CharLanguageModel(batch, CharModelBatch.Steps, seed: 1) { SplitsBackwardByRows = byRows };
                _adam = new Adam(_model, 1e-3f);
            }
            _pool = threads > 1 ? new ComputePool(threads) : null;
            _model.Pool = _pool;
            _adam.Pool = _pool;
            // the benchmark batch's rows [firstRow, firstRow + batch) of every step
            int rows = batch * CharModelBatch.Steps;
            _batch = batch;
            _tokens = Enumerable.Range(0, rows).Select(i => CharModelBatch.Tokens[i / batch * CharModelBatch.Batch + firstRow + i % batch]).ToArray();
            _targets = Enumerable.Range(0, rows).Select(i => CharModelBatch.Targets[i / batch * CharModelBatch.Batch + firstRow + i % batch]).ToArray();
        }

        public string Name { get; }

        public double[] Time(int calls)
        {
            var samples = new double[s_names.Length][];
            for (int k = 0; k < s_names.Length; k++)
                samples[k] = new double[calls];
            for (int call = 0; call < calls; call++)
            {
                long t0 = Stopwatch.GetTimestamp();
                _model.ForwardTokens(_tokens, _batch, CharModelBatch.Steps);
                long t1 = Stopwatch.GetTimestamp();
                _model.LossClasses(_targets);
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

    /// <summary>Two models of half the batch iterating at once on two threads of their own: the slower one's medians.</summary>
    private sealed class Halves : ITimed
    {
        private const int Half = CharModelBatch.Batch / 2;
        private readonly Engine[] _halves = [new Engine(1, firstRow: 0, batch: Half), new Engine(1, firstRow: Half, batch: Half)];

        public string Name => "2 independent halves";

        public double[] Time(int calls)
        {
            var times = new double[2][];
            var threads = Enumerable.Range(0, 2).Select(h => new Thread(() => times[h] = _halves[h].Time(calls))).ToArray();
            foreach (var thread in threads)
                thread.Start();
            foreach (var thread in threads)
                thread.Join();
            return times[0].Zip(times[1], Math.Max).ToArray();
        }

        public void Dispose()
        {
            foreach (var half in _halves)
                half.Dispose();
        }
    }
}
