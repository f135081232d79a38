using System.Diagnostics;
using System.Runtime.InteropServices;

namespace FastRnn;

/// <summary>
/// How long a cache line written by a pool's calling thread takes to reach its first worker: the two bounce a counter
/// on a line of its own (<see cref="ComputePool.Together"/>, two parts), and half a round trip is the hand-over. On this
/// project's VM it is 50–90 ns when the host runs the two vCPUs on cores that share an L3 and 210–250 ns when they do
/// not; a shared recurrence pays it for every line of h(t) a share reads from another's cache.
/// </summary>
internal sealed class HandOverProbe : IParallelWork
{
    private const int RoundTrips = 200;

    // Give up (NaN) when the worker has not started after this long, or the round trips take longer than this together
    // (a millisecond each, where a processor of its own answers in well under a microsecond): the worker is not getting
    // a processor (more threads than processors, a loaded machine).
    private static readonly long s_limit = Stopwatch.Frequency / 5;

    private Counter _counter;
    private volatile bool _ready;
    private volatile bool _abandoned;
    private double _nanoseconds;

    /// <summary>The least of three probes, in nanoseconds one way (an interruption only ever adds time; NaN when the
    /// worker did not answer in time).</summary>
    public static double Measure(ComputePool pool)
    {
        Span<double> probes = stackalloc double[3];
        for (int i = 0; i < probes.Length; i++)
        {
            var probe = new HandOverProbe();
            pool.Together(2, probe);
            probes[i] = probe._nanoseconds;
        }
        probes.Sort();
        return probes[0];
    }

    public void Run(int index)
    {
        if (index == 0)
            Bounce();
        else
            Answer();
    }

    /// <summary>The caller: waits for the worker to start, then sends odd values and waits for each to come back one higher.</summary>
    private void Bounce()
    {
        long start = Stopwatch.GetTimestamp();
        while (!_ready)
        {
            if (Stopwatch.GetTimestamp() - start > s_limit)
            {
                Abandon();
                return;
            }
        }
        start = Stopwatch.GetTimestamp();
        for (long k = 1; k < 2 * RoundTrips; k += 2)
        {
            Volatile.Write(ref _counter.Value, k);
            for (int look = 0; Volatile.Read(ref _counter.Value) != k + 1; look++)
            {
                if ((look & 255) == 255 && Stopwatch.GetTimestamp() - start > s_limit)
                {
                    Abandon();
                    return;
                }
            }
        }
        _nanoseconds = Stopwatch.GetElapsedTime(start).TotalNanoseconds / (2 * RoundTrips);
    }

    /// <summary>The worker: answers each odd value with the next even one.</summary>
    private void Answer()
    {
        _ready = true;
        for (long k = 1; k < 2 * RoundTrips; k += 2)
        {
            while (Volatile.Read(ref _counter.Value) != k)
            {
                if (_abandoned)
                    return;
            }
            Volatile.Write(ref _counter.Value, k + 1);
        }
    }

    private void Abandon()
    {
        _nanoseconds = double.NaN;
        _abandoned = true;
    }

    /// <summary>The counter alone on a 64-byte line (with a line of padding before it).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 192)]
    private struct Counter
    {
        [FieldOffset(64)]
        public long Value;
    }
}
