using System.Diagnostics;

namespace FastRnn.Benchmarks;

/// <summary><c>dotnet run -c Release --project perf/FastRnn.Benchmarks -- gaps</c>: how much of the time a spinning thread
/// actually runs, alone and with a second thread spinning beside it. Each thread reads the clock in a loop and adds
/// up the gaps between reads longer than 50 µs: time the thread was not running. On a virtual machine whose vCPUs the
/// host deschedules, parallel work waits for the slower thread at every barrier, so these gaps bound what a second
/// thread can add (perf/README §8).</summary>
public static class SchedulingGaps
{
    public static void Run(TextWriter output, double seconds = 2, int rounds = 3)
    {
        for (int round = 0; round < rounds; round++)
        {
            var alone = Watch(seconds);
            (double Max, int Over, double Lost) a = default, b = default;
            var first = new Thread(() => a = Watch(seconds));
            var second = new Thread(() => b = Watch(seconds));
            first.Start();
            second.Start();
            first.Join();
            second.Join();
            output.WriteLine($"round {round}: 1 thread: {alone.Lost:F0} ms of {seconds * 1000:F0} not running (longest gap {alone.Max:F2} ms); " +
                $"2 threads: {a.Lost:F0} and {b.Lost:F0} ms (longest {Math.Max(a.Max, b.Max):F2} ms, {a.Over + b.Over} gaps over 1 ms)");
        }
    }

    private static (double Max, int Over, double Lost) Watch(double seconds)
    {
        long last = Stopwatch.GetTimestamp(), end = last + (long)(seconds * Stopwatch.Frequency);
        double max = 0, lost = 0;
        int over = 0;
        while (last < end)
        {
            long now = Stopwatch.GetTimestamp();
            double gap = (now - last) * 1000.0 / Stopwatch.Frequency;
            if (gap > 0.05)
            {
                lost += gap;
                if (gap > 1)
                    over++;
            }
            max = Math.Max(max, gap);
            last = now;
        }
        return (max, over, lost);
    }
}
