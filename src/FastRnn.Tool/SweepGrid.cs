using System.Globalization;

namespace FastRnn.Tool;

/// <summary>What every <c>fastrnn sweep</c> shares: the <c>--grid "Name=v1,v2;Other=…"</c> of run-time option values,
/// the settings it spans (all combinations, or <c>--random N</c> draws from the values), and the ranked table and
/// bar chart at the end.</summary>
internal static class SweepGrid
{
    public static List<(string Name, float Value)[]> Settings(Options options, string defaultGrid, int seed)
    {
        var axes = options.Text("grid", defaultGrid).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(axis =>
        {
            var parts = axis.Split('=', 2);
            if (parts.Length != 2)
                throw new ArgumentException($"--grid: '{axis}' is not name=value,value,….");
            var values = parts[1].Split(',').Select(v => float.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out float x)
                ? x : throw new ArgumentException($"--grid: '{v}' in '{axis}' is not a number.")).ToArray();
            return (Name: parts[0].Trim(), Values: values);
        }).ToArray();
        var settings = axes.Aggregate(new[] { Array.Empty<(string, float)>() }.AsEnumerable(),
            (acc, axis) => acc.SelectMany(prefix => axis.Values.Select(v => prefix.Append((axis.Name, v)).ToArray()))).ToList();
        if (options.WholeNumber("random", 0) is > 0 and int draws)
        {
            var random = new Random(seed);
            settings = Enumerable.Range(0, draws).Select(_ => axes.Select(a => (a.Name, a.Values[random.Next(a.Values.Length)])).ToArray()).ToList();
        }
        return settings;
    }

    /// <summary>Applies a setting to a model's run-time options: an unknown name or an invalid value throws here,
    /// before any training.</summary>
    public static string Apply(IRunOptions runOptions, (string Name, float Value)[] setting)
    {
        foreach (var (name, value) in setting)
            runOptions[name] = value;
        return string.Join(" ", setting.Select(p => $"{p.Name}={p.Value.ToString(CultureInfo.InvariantCulture)}"));
    }

    /// <summary>One trial's outcome: its setting's label, its best validation value and epoch, its time, and the line
    /// that reports it.</summary>
    public readonly record struct Trial(string Setting, double Best, int Epoch, double Seconds, string Line);

    /// <summary>Runs <paramref name="trial"/> for every setting index on <c>--threads</c> threads (default: one per
    /// processor), laid out by <c>--parallel</c>: <c>trials</c> (the default) runs up to that many trials side by side,
    /// each on its own thread (a trial's share of threads when there are fewer trials than threads), <c>steps</c> runs
    /// them one after another, each on a pool of all the threads. A trial's result does not depend on the layout (every
    /// trial is seeded and bit-identical at any thread count); its line is written in setting order as soon as it and
    /// every earlier one are done. Returns the trials in setting order; the first trial that throws stops the rest
    /// (those running finish) and its exception is rethrown.</summary>
    public static Trial[] Run(Options options, TextWriter output, int count, Func<int, ComputePool?, Trial> trial)
    {
        int threads = options.WholeNumber("threads", 0) is var t && t > 0 ? t : Environment.ProcessorCount;
        bool sideBySide = options.Text("parallel", "trials") == "trials";
        int lanes = sideBySide ? Math.Max(1, Math.Min(threads, count)) : 1;
        int threadsPerLane = Math.Max(1, threads / lanes);
        var results = new Trial?[count];
        int next = -1, written = 0;
        System.Runtime.ExceptionServices.ExceptionDispatchInfo? failure = null;
        var gate = new object();

        void Lane()
        {
            using var pool = threadsPerLane > 1 ? new ComputePool(threadsPerLane) : null;
            int i;
            while (Volatile.Read(ref failure) is null && (i = Interlocked.Increment(ref next)) < count)
            {
                try
                {
                    var done = trial(i, pool);
                    lock (gate)
                    {
                        results[i] = done;
                        for (; written < count && results[written] is { } ready; written++)
                            output.WriteLine(ready.Line);
                    }
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref failure, System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e), null);
                }
            }
        }

        var workers = Enumerable.Range(1, lanes - 1).Select(_ => new Thread(Lane) { IsBackground = true }).ToArray();
        foreach (var worker in workers)
            worker.Start();
        Lane();
        foreach (var worker in workers)
            worker.Join();
        failure?.Throw();
        return [.. results.Select(r => r!.Value)];
    }

    /// <summary>The settings ranked by their best validation value (lower is better), and the bar chart if asked.</summary>
    public static void Report(Options options, TextWriter output, string metric, string format,
        IEnumerable<Trial> results)
    {
        var ranked = results.OrderBy(r => r.Best).ToList();
        output.WriteLine($"rank  {metric,15}  epoch  seconds  setting");
        foreach (var (r, i) in ranked.Select((r, i) => (r, i)))
            output.WriteLine($"{i + 1,4}  {r.Best.ToString(format, CultureInfo.InvariantCulture),15}  {r.Epoch,5}  {r.Seconds,7:F0}  {r.Setting}");
        if (options.Text("plot", "") is { Length: > 0 } plot)
        {
            Plots.Bars(plot, $"sweep: best {metric}", metric, ranked.Select(r => (r.Setting, r.Best)).ToArray());
            output.WriteLine($"plot: {plot}");
        }
    }
}
