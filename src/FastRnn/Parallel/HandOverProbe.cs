using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastRnn;

/// <summary>
/// How long a cache line written by a pool's calling thread takes to reach its first worker: the two bounce a counter
/// on a line of its own (<see cref="ComputePool.Together"/>, two parts), and half a round trip is the hand-over. On this
/// project's VM `gaps` times it at 50–90 ns when the host runs the two vCPUs on cores that share an L3 and 210–250 ns
/// when they do not (this probe, the least of five sets, 214–224 ns in the latter); a shared recurrence pays it for every line of
/// h(t) a share reads from another's cache.
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

    /// <summary>The least of five probes after one that warms up, in nanoseconds one way (an interruption only ever
    /// adds time); NaN when the worker did not answer in time (then no more probes are made).</summary>
    public static double Measure(ComputePool pool)
    {
        double least = double.NaN;
        for (int i = 0; i <= 5; i++)
        {
            var probe = new HandOverProbe();
            pool.Together(2, probe);
            if (double.IsNaN(probe._nanoseconds))
                return least;
            if (i > 0 && !(probe._nanoseconds >= least))
                least = probe._nanoseconds;
        }
        return least;
    }

    public void Run(int index)
    {
        if (index == 0)
            Bounce();
        else
            Answer();
    }

    /// <summary>The caller: waits for the worker to start, then sends odd values and waits for each to come back one higher.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // optimized from the first call: no unoptimized loop timed
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
