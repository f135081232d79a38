using System.Diagnostics;

namespace FastRnn.Benchmarks;

/// <summary><c>dotnet run -c Release --project perf/FastRnn.Benchmarks -- gaps</c>: how much of the time a spinning thread
/// actually runs, alone and with a second thread spinning beside it. Each thread reads the clock in a loop and adds
/// up the gaps between reads longer than 50 µs: time the thread was not running. On a virtual machine whose vCPUs the
/// host deschedules, parallel work waits for the slower thread at every barrier, so these gaps bound what a second
/// thread can add (perf/README §8). Then how long a cache line takes to pass between the first two processors: two
/// threads pinned to them hand a counter back and forth (the host may place the two vCPUs in one L3 or in two, and
/// moves them: a share of a step that reads what another core just wrote pays this for every line).</summary>
public static class SchedulingGaps
{
    public static void Run(TextWriter output, double seconds = 2, int rounds = 3)
    {
        for (int round = 0; round < rounds; round++)
            output.WriteLine($"round {round}: a cache line between processors {LineHandOver():F0} ns (median of 9 runs of 100,000 round trips, half a round trip)");
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

    /// <summary>Half the median time of a round trip of a counter between the two threads of a <see cref="ComputePool"/>
    /// (its worker pinned to the second processor, the caller on the other), in ns.</summary>
    public static double LineHandOver(int trips = 100_000, int runs = 9)
    {
        using var pool = new ComputePool(2);
        var work = new HandOver(trips);
        var times = new double[runs];
        for (int run = 0; run < runs; run++)
        {
            pool.Together(2, work);
            times[run] = work.Nanoseconds;
        }
        Array.Sort(times);
        return times[runs / 2];
    }

    /// <summary>Part 0 writes an odd count and waits for part 1 to answer with the next even one, <c>trips</c> times.</summary>
    private sealed class HandOver(int trips) : IParallelWork
    {
        private readonly long[] _line = new long[32]; // the counter at [8], alone on its cache line
        public double Nanoseconds;

        public void Run(int index)
        {
            if (index == 0)
            {
                long start = Stopwatch.GetTimestamp();
                for (long value = 1; value < 2L * trips; value += 2)
                {
                    Volatile.Write(ref _line[8], value);
                    while (Volatile.Read(ref _line[8]) != value + 1)
                    {
                        // no pause: the probe times the line, not the spin
                    }
                }
                Nanoseconds = Stopwatch.GetElapsedTime(start).TotalNanoseconds / trips / 2;
                Volatile.Write(ref _line[8], 0);
            }
            else
            {
                for (long value = 1; value < 2L * trips; value += 2)
                {
                    while (Volatile.Read(ref _line[8]) != value)
                    {
                    }
                    Volatile.Write(ref _line[8], value + 1);
                }
            }
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
