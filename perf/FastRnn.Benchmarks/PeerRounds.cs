using System.Diagnostics;
using System.Globalization;

namespace FastRnn.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release --project perf/FastRnn.Benchmarks -- peers [rounds]</c>: <see cref="PeerBenchmarks"/>' shapes
/// with FastRnn and ONNX Runtime timed in alternating rounds in one process (each round a fixed number of calls of one,
/// then of the other), so that both see the same machine: this VM's speed drifts by up to 2× from minute to minute,
/// which BenchmarkDotNet's one-benchmark-after-another runs turn into a biased ratio. A pause precedes every round, and
/// ONNX Runtime's threads do not spin after a run here: its spinning threads, pinned to their processors, went on
/// long enough to take them from FastRnn's next round (its 2-thread rows 2–4× slower). That costs ONNX Runtime on the
/// smallest shapes, so read these rounds beside the BenchmarkDotNet run (which keeps its spinning). Prints each side's median round,
/// and the ratio of the medians (ONNX Runtime / FastRnn: above 1, FastRnn is faster).
/// </summary>
public static class PeerRounds
{
    public static void Run(TextWriter output, int rounds)
    {
        output.WriteLine($"{"shape",-22} {"threads",7} {"FastRnn",12} {"ONNX Runtime",13} {"ORT/FastRnn",11}");
        foreach (string shape in new[] { "step LSTM(256)", "step LSTM(1024)", "step GRU(1024)", "forward LSTM(256) b1", "forward LSTM(256) b32" })
        {
            foreach (int threads in new[] { 1, Environment.ProcessorCount })
            {
                var bench = new PeerBenchmarks { Shape = shape, Threads = threads, OnnxSpinning = false };
                bench.Setup();
                try
                {
                    // Tiered compilation first: a method reaches optimized code after 30 calls and a quiet 100 ms, so
                    // both sides are called well past that before anything is timed.
                    for (int pass = 0; pass < 3; pass++)
                    {
                        Time(() => bench.FastRnn(), 60);
                        Time(() => bench.OnnxRuntime(), 60);
                        Thread.Sleep(200);
                    }
                    // calls per round: about 20 ms of work
                    int calls = Math.Max(1, (int)(20_000 / Time(() => bench.FastRnn(), 5)));
                    var fast = new double[rounds];
                    var peer = new double[rounds];
                    for (int r = 0; r < rounds; r++)
                    {
                        // a pause before each side: the other side's threads stop spinning and park (ONNX Runtime's
                        // intra-op threads spin after a run, FastRnn's workers for 0.2 ms), so neither competes with them
                        Thread.Sleep(20);
                        fast[r] = Time(() => bench.FastRnn(), calls);
                        Thread.Sleep(20);
                        peer[r] = Time(() => bench.OnnxRuntime(), calls);
                    }
                    double f = Median(fast), o = Median(peer);
                    output.WriteLine($"{shape,-22} {threads,7} {Format(f),12} {Format(o),13} {(o / f).ToString("F2", CultureInfo.InvariantCulture),11}");
                }
                finally
                {
                    bench.Cleanup();
                }
            }
        }
    }

    /// <summary>Microseconds per call over <paramref name="calls"/> calls.</summary>
    private static double Time(Action work, int calls)
    {
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < calls; i++) work();
        return clock.Elapsed.TotalMilliseconds * 1000 / calls;
    }

    private static double Median(double[] values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string Format(double microseconds) => microseconds >= 1000
        ? (microseconds / 1000).ToString("F2", CultureInfo.InvariantCulture) + " ms"
        : microseconds.ToString("F1", CultureInfo.InvariantCulture) + " µs";
}
