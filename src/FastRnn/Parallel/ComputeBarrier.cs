namespace FastRnn;

/// <summary>
/// A reusable barrier for the parts of a <see cref="ComputePool.Together"/> dispatch: each part calls
/// <see cref="SignalAndWait"/> after a phase (a time step), and none goes on until all have arrived. Waiters spin as
/// briefly as the pool's workers do, then park; nothing is allocated after construction. If a part fails it calls
/// <see cref="Break"/>, and every waiter (now and later) throws instead of waiting for it forever.
/// </summary>
public sealed class ComputeBarrier
{
    private readonly object _gate = new();
    private int _participants;
    private int _remaining;
    private int _phase;
    private int _parked;
    private volatile bool _broken;

    /// <summary>Starts a new round of phases for <paramref name="participants"/> parts. Call it before the dispatch,
    /// never while parts are waiting.</summary>
    public void Reset(int participants)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(participants, 1);
        // no writes when a finished round left it as asked: the parts keep reading its line from their own caches
        if (_participants == participants && Volatile.Read(ref _remaining) == participants && !_broken)
            return;
        _participants = participants;
        Volatile.Write(ref _remaining, participants);
        _broken = false;
    }

    /// <summary>Arrives at the end of a phase and returns when every participant has arrived.</summary>
    public void SignalAndWait()
    {
        int phase = Volatile.Read(ref _phase);
        if (Interlocked.Decrement(ref _remaining) == 0)
        {
            Volatile.Write(ref _remaining, _participants);
            // a full fence, then the parked count: a waiter that counted itself after it is sure to see the new phase
            Interlocked.Exchange(ref _phase, phase + 1);
            if (Volatile.Read(ref _parked) != 0)
            {
                lock (_gate)
                    Monitor.PulseAll(_gate);
            }
            return;
        }
        for (int round = 0; Volatile.Read(ref _phase) == phase; round++)
        {
            if (_broken)
                throw new InvalidOperationException("Another part of this parallel work failed.");
            if (round < ComputePool.SpinPolls)
            {
                Thread.SpinWait(1);
                continue;
            }
            // counted with a full fence before the last look under the lock (the arriving part pulses under it)
            Interlocked.Increment(ref _parked);
            lock (_gate)
            {
                while (Volatile.Read(ref _phase) == phase && !_broken)
                    Monitor.Wait(_gate);
            }
            Interlocked.Decrement(ref _parked);
        }
    }

    /// <summary>Releases every waiter with an exception: a part has failed and will not arrive.</summary>
    public void Break()
    {
        lock (_gate)
        {
            _broken = true;
            Monitor.PulseAll(_gate);
        }
    }
}
