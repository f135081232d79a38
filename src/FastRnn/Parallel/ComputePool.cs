using System.Runtime.ExceptionServices;

namespace FastRnn;

/// <summary>
/// The engine's own threads: persistent workers that run an <see cref="IParallelWork"/>'s indices with the calling
/// thread, with no allocation, task or closure per dispatch. Workers spin briefly for the next dispatch, then park.
/// A pool of one thread has no workers: <see cref="For"/> then runs the indices in order on the caller, exactly the
/// single-threaded code. One pool may serve several models and optimizers; dispatches from different threads take
/// turns. Results never depend on the thread count as long as the work is split by outputs (see
/// <see cref="IParallelWork"/>).
/// </summary>
public sealed class ComputePool : IDisposable
{
    // Looks a waiting thread takes at what it waits for, one Thread.SpinWait(1) apart (40–70 ns here: 4,000 of them
    // measured 0.16–0.29 ms), before it parks: longer than the gap between the dispatches of one training step, far
    // shorter than a scheduler quantum. One pause a look keeps a dispatch's and a barrier's latency near a cache line's
    // transfer (SpinWait(20) between looks, 0.9 µs, made an empty dispatch to 2 threads take 1.4 µs and a barrier
    // crossing 0.57 µs; now 0.5 and 0.3 µs).
    internal const int SpinPolls = 4000;

    private static ComputePool? s_shared;

    [ThreadStatic]
#pragma warning disable IDE1006 // a thread-static field is t_camelCase (the naming rules cannot tell it from a static one)
    private static ComputePool? t_running;
#pragma warning restore IDE1006

    private readonly Worker[] _workers;
    private readonly object _dispatch = new();
    private readonly Signal _done = new();
    private IParallelWork? _work;
    private int _count;
    private bool _oneEach;
    private int _next;
    private int _pending;
    private int _generation;
    private int _callerParked;
    private volatile bool _disposed;
    private ExceptionDispatchInfo? _failure;

    /// <summary>Creates a pool of <paramref name="threads"/> threads, the caller's included (0: one per processor).
    /// With <paramref name="pinWorkers"/> (the default) each worker stays on one processor (Linux; elsewhere the
    /// scheduler decides): worker i on the (i + 1)-th processor the process may use, the first left to the threads that
    /// dispatch. Turn it off when several pools or processes share the machine's processors.</summary>
    public ComputePool(int threads = 0, bool pinWorkers = true)
    {
        if (threads < 0)
            throw new ArgumentOutOfRangeException(nameof(threads), threads, "A pool needs at least 1 thread (0 for one per processor).");
        Threads = threads == 0 ? Environment.ProcessorCount : threads;
        _workers = new Worker[Threads - 1];
        // Worker i on the (i + 1)-th processor this process may use, round the list; the first is left to the callers.
        int[] processors = Threads > 1 && pinWorkers ? ThreadPinning.AllowedProcessors() : [];
        PinsWorkers = processors.Length > 1;
        for (int i = 0; i < _workers.Length; i++)
            _workers[i] = new Worker(this, i, processors.Length > 1 ? processors[(i + 1) % processors.Length] : -1);
        if (Threads > 1)
        {
            // (inside another pool's running index a dispatch runs in order on one thread: nothing to measure)
            HandOverNanoseconds = t_running is null ? HandOverProbe.Measure(this) : double.NaN;
            StreamsSharedWrites = HandOverNanoseconds >= FarHandOverNanoseconds;
        }
    }

    /// <summary>The hand-over (see <see cref="HandOverNanoseconds"/>) from which the pool's threads are taken to sit
    /// on cores that share no cache: on this project's VM 50–90 ns when they share an L3, 210–250 ns when not (`gaps`;
    /// the pool's probe, the least of five sets, 214–224 ns there).</summary>
    public const double FarHandOverNanoseconds = 150;

    /// <summary>A pool with one thread per processor, created on first use and kept for the process.</summary>
    public static ComputePool Shared
    {
        get
        {
            if (s_shared is { } pool)
                return pool;
            var created = new ComputePool();
            var existing = Interlocked.CompareExchange(ref s_shared, created, null);
            if (existing is null)
                return created;
            created.Dispose();
            return existing;
        }
    }

    /// <summary>Threads that run a dispatch: the workers and the caller.</summary>
    public int Threads { get; }

    /// <summary>Whether the workers were pinned to processors (see the constructor).</summary>
    public bool PinsWorkers { get; }

    /// <summary>How long a cache line written by the calling thread took to reach the first worker when the pool was
    /// created, in nanoseconds (half a round trip, the least of five sets of 200; 0 for a pool of one thread, NaN when
    /// the worker did not get a processor to answer on, or when the pool was created inside another pool's work).</summary>
    public double HandOverNanoseconds { get; }

    /// <summary>Whether an LSTM or (reset-after) GRU recurrence shared on this pool stores each step's h(t) past the
    /// caches (non-temporal stores; not under an active recurrent mask), so the other threads read it from memory rather
    /// than from the writer's cache: faster when the threads' cores share no cache (a two-thread batch-32 LSTM(256)
    /// <c>Forward</c> 5–11% here, perf/README §8), slower when they do.
    /// Set at creation from <see cref="HandOverNanoseconds"/> (at least <see cref="FarHandOverNanoseconds"/>); the
    /// results are the same bits either way. The host may move a VM's processors later: set it to choose.</summary>
    public bool StreamsSharedWrites { get; set; }

    /// <summary>Threads that can run parts of one work at the same time from the calling thread: <see cref="Threads"/>,
    /// or 1 inside a running index (a nested dispatch runs in order on that thread).</summary>
    public int Concurrency => t_running is null ? Threads : 1;

    /// <summary>Runs <paramref name="work"/> for every index in [0, <paramref name="count"/>) and returns when all are
    /// done. The caller runs indices too. An exception thrown by an index is rethrown here once every thread has
    /// stopped taking indices. A dispatch from inside a running index runs in order on that thread.</summary>
    public void For(int count, IParallelWork work) => Dispatch(count, work, oneEach: false);

    /// <summary>Runs the <paramref name="parts"/> indices of <paramref name="work"/> at the same time, each on its own
    /// thread, for work whose parts wait for each other (on a <see cref="ComputeBarrier"/> of
    /// <paramref name="parts"/>): <paramref name="parts"/> may not exceed <see cref="Concurrency"/>. Part 0 runs on the
    /// calling thread and part i on the pool's i-th worker, every time, so a part's data stays in its core's caches from
    /// one dispatch to the next.</summary>
    public void Together(int parts, IParallelWork work)
    {
        if (parts > Concurrency)
            throw new ArgumentOutOfRangeException(nameof(parts), parts, $"Only {Concurrency} thread(s) can run parts together here.");
        Dispatch(parts, work, oneEach: true);
    }

    private void Dispatch(int count, IParallelWork work, bool oneEach)
    {
        ArgumentNullException.ThrowIfNull(work);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (count == 0)
            return;
        if (_workers.Length == 0 || count == 1 || t_running is not null)
        {
            for (int i = 0; i < count; i++)
                work.Run(i);
            return;
        }
        lock (_dispatch)
        {
            _work = work;
            _count = count;
            _oneEach = oneEach;
            _next = 0;
            _failure = null;
            Volatile.Write(ref _pending, _workers.Length);
            // A full fence, then a look at each worker: one that parked after it missed the new generation is woken, one
            // still spinning sees the generation move (see Worker.Loop).
            Interlocked.Increment(ref _generation);
            foreach (var worker in _workers)
                worker.WakeIfParked();
            t_running = this;
            try
            {
                RunIndices(0);
            }
            finally
            {
                t_running = null;
            }
            // Spin briefly for the workers' last indices, then park. The count decides; the signal only parks the
            // caller (a stale set left by an earlier dispatch costs one more look at the count). The flag, set with a
            // full fence before the last look, tells the last worker to signal (see Worker.Loop's end).
            for (int round = 0; Volatile.Read(ref _pending) != 0; round++)
            {
                if (round < SpinPolls)
                {
                    Thread.SpinWait(1);
                    continue;
                }
                Interlocked.Exchange(ref _callerParked, 1);
                if (Volatile.Read(ref _pending) != 0)
                    _done.Wait();
                Volatile.Write(ref _callerParked, 0);
            }
            _work = null;
            var failure = _failure;
            _failure = null;
            failure?.Throw();
        }
    }

    /// <summary>Runs this thread's indices: for <see cref="Together"/>, index <paramref name="self"/> (0 for the caller,
    /// i + 1 for worker i), so a part of a repeated dispatch (a step's share of the weights) stays on one core and its
    /// caches; for <see cref="For"/>, indices taken in turn until none are left.</summary>
    private void RunIndices(int self)
    {
        var work = _work!;
        int count = _count;
        if (_oneEach)
        {
            if (self < count)
                RunIndex(work, self, count);
            return;
        }
        while (true)
        {
            int index = Interlocked.Increment(ref _next) - 1;
            if (index >= count || !RunIndex(work, index, count))
                return;
        }
    }

    /// <summary>Runs one index; false if it failed (recorded for the caller, and no index is taken after it).</summary>
    private bool RunIndex(IParallelWork work, int index, int count)
    {
        try
        {
            work.Run(index);
            return true;
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
            // Let the other threads stop early: no index after a failure is taken.
            Volatile.Write(ref _next, count);
            return false;
        }
    }

    /// <summary>Stops the workers (they finish the dispatch under way first). The shared pool is never disposed.</summary>
    public void Dispose()
    {
        if (ReferenceEquals(this, s_shared) || _disposed)
            return;
        lock (_dispatch)
        {
            _disposed = true;
            Interlocked.Increment(ref _generation);
            foreach (var worker in _workers)
                worker.Wake();
        }
        foreach (var worker in _workers)
            worker.Dispose();
    }

    /// <summary>An auto-reset signal on a monitor the pool creates up front. <see cref="ManualResetEventSlim"/> would
    /// allocate its lock object the first time a thread really blocks, which may be long after warm-up.</summary>
    private sealed class Signal
    {
        private readonly object _gate = new();
        private bool _set;

        public void Set()
        {
            lock (_gate)
            {
                _set = true;
                Monitor.Pulse(_gate);
            }
        }

        /// <summary>Returns once <see cref="Set"/> has been called since the last return.</summary>
        public void Wait()
        {
            lock (_gate)
            {
                while (!_set)
                    Monitor.Wait(_gate);
                _set = false;
            }
        }
    }

    /// <summary>One persistent worker thread: waits for the pool's generation to move, runs indices, reports done.</summary>
    private sealed class Worker : IDisposable
    {
        private readonly ComputePool _pool;
        private readonly Signal _wake = new();
        private readonly Thread _thread;

        private readonly int _processor;
        private readonly int _index;
        private int _parked;

        public Worker(ComputePool pool, int index, int processor)
        {
            _pool = pool;
            _index = index;
            _processor = processor;
            _thread = new Thread(Loop) { IsBackground = true, Name = $"FastRnn compute {index + 1}" };
            _thread.Start();
        }

        /// <summary>Wakes the thread (for <see cref="ComputePool.Dispose"/>).</summary>
        public void Wake() => _wake.Set();

        /// <summary>Wakes the thread if it parked; one that spins sees the generation move on its own. Called after the
        /// generation's full-fenced increment.</summary>
        public void WakeIfParked()
        {
            if (Volatile.Read(ref _parked) != 0)
                _wake.Set();
        }

        /// <summary>Waits for the thread to end (the pool has told it to).</summary>
        public void Dispose() => _thread.Join();

        private void Loop()
        {
            if (_processor >= 0)
                ThreadPinning.PinCurrentThread(_processor);
            int seen = 0;
            while (true)
            {
                // Spin briefly for the next dispatch, then park until the dispatcher wakes this worker. Parking raises a
                // flag with a full fence and looks once more: a dispatcher whose increment (also fenced) came first is
                // seen here; one whose came later sees the flag and signals. (Both may happen: a stale signal costs one
                // more look.)
                for (int round = 0; Volatile.Read(ref _pool._generation) == seen; round++)
                {
                    if (round < SpinPolls)
                    {
                        Thread.SpinWait(1);
                        continue;
                    }
                    Interlocked.Exchange(ref _parked, 1);
                    if (Volatile.Read(ref _pool._generation) == seen)
                        _wake.Wait();
                    Volatile.Write(ref _parked, 0);
                }
                seen = Volatile.Read(ref _pool._generation);
                if (_pool._disposed)
                    return;
                t_running = _pool;
                _pool.RunIndices(_index + 1);
                t_running = null;
                if (Interlocked.Decrement(ref _pool._pending) == 0 && Volatile.Read(ref _pool._callerParked) != 0)
                    _pool._done.Set();
            }
        }
    }
}
