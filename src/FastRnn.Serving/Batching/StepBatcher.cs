using System.Diagnostics;
using FastRnn.Serving.Diagnostics;
using FastRnn.Serving.Models;

namespace FastRnn.Serving.Batching;

/// <summary>
/// A model's micro-batcher: one thread that takes the steps sessions queue, up to <see cref="ServingOptions.MaxBatch"/>
/// at a time, and runs them as one batched step (the weights are read once for the whole batch). When fewer than that
/// are waiting it waits up to <see cref="ServingOptions.MaxWait"/> after the first arrived; steps that arrive while a
/// batch runs go into the next. Queueing, gathering and scattering allocate nothing.
/// </summary>
/// <remarks>
/// With no gathering window (MaxWait 0), a step that finds nothing queued and no batch running runs at once on its
/// caller's thread, as a batch of one: at low load a step then costs what it costs with batching off, instead of two
/// thread wake-ups (the batcher's, then the caller's continuation). Under load the batcher is busy, steps queue, and
/// batches form. Either way a step's bits are the same (see <see cref="ServedModel"/>).
/// </remarks>
internal sealed class StepBatcher : IDisposable
{
    private readonly ServedModel _model;
    private readonly ServingMetrics _metrics;
    private readonly BatchBuffers _buffers;
    private readonly long[] _waited; // each step's time from queueing to output, for the meter
    private readonly int _maxBatch;
    private readonly long _maxWaitTicks;
    private readonly object _gate = new();
    private readonly Thread _thread;
    private Stepper[] _queue;
    private int _head, _count;
    private bool _stopping;
    private bool _busy; // a batch runs now (on the batcher's thread, or inline on a caller's); guarded by _gate

    public StepBatcher(ServedModel model, ServingMetrics metrics)
    {
        _model = model;
        _metrics = metrics;
        _maxBatch = model.Options.MaxBatch;
        _maxWaitTicks = (long)(model.Options.MaxWait.TotalSeconds * Stopwatch.Frequency);
        _buffers = new BatchBuffers(model, _maxBatch);
        _waited = new long[_maxBatch];
        // A session has at most one step queued, so the queue grows only with the sessions (doubling, rarely).
        _queue = new Stepper[Math.Max(64, _maxBatch)];
        _thread = new Thread(Run) { IsBackground = true, Name = $"FastRnn batcher ({model.Name})" };
        _thread.Start();
        Running = true;
    }

    public bool Running { get; private set; }

    /// <summary>Runs <paramref name="request"/>'s step: queued for the next batch, or at once on this thread when
    /// nothing is queued or running and there is no gathering window. The request completes either way.</summary>
    public void Submit(Stepper request)
    {
        bool inline = false;
        lock (_gate)
        {
            if (_stopping)
                throw new ServingException(Grpc.Core.StatusCode.Unavailable, $"Model '{_model.Name}' is shutting down.");
            if (_maxWaitTicks == 0 && _count == 0 && !_busy)
            {
                _busy = inline = true;
            }
            else
            {
                if (_count == _queue.Length)
                    Grow();
                _queue[(_head + _count) % _queue.Length] = request;
                if (++_count == 1)
                    Monitor.Pulse(_gate);
            }
        }
        if (!inline)
            return;
        _buffers.Batch[0] = request;
        try
        {
            RunBatch(1);
        }
        finally
        {
            lock (_gate)
            {
                _busy = false;
                if (_count > 0)
                    Monitor.Pulse(_gate);
            }
        }
    }

    private void Grow()
    {
        var larger = new Stepper[_queue.Length * 2];
        for (int i = 0; i < _count; i++)
            larger[i] = _queue[(_head + i) % _queue.Length];
        _queue = larger;
        _head = 0;
    }

    private void Run()
    {
        while (true)
        {
            long firstQueued;
            lock (_gate)
            {
                while (_count == 0 || _busy)
                {
                    if (_stopping && _count == 0)
                        return;
                    Monitor.Wait(_gate);
                }
                _busy = true;
                firstQueued = _queue[_head].Queued;
            }
            // The gathering window: more steps may join until the batch is full or the first step has waited MaxWait.
            if (_maxWaitTicks > 0)
            {
                var spin = new SpinWait();
                while (Volatile.Read(ref _count) < _maxBatch && Stopwatch.GetTimestamp() - firstQueued < _maxWaitTicks)
                    spin.SpinOnce(sleep1Threshold: -1);
            }
            int count;
            lock (_gate)
            {
                count = Math.Min(_count, _maxBatch);
                for (int i = 0; i < count; i++)
                {
                    _buffers.Batch[i] = _queue[_head];
                    _queue[_head] = null!;
                    _head = (_head + 1) % _queue.Length;
                }
                _count -= count;
            }
            try
            {
                RunBatch(count);
            }
            finally
            {
                lock (_gate)
                    _busy = false;
            }
        }
    }

    private void RunBatch(int count)
    {
        var batch = _buffers.Batch;
        Exception? failure = null;
        try
        {
            _buffers.Run(count, _model.Weights);
        }
        catch (Exception e)
        {
            failure = e;
        }
        long now = Stopwatch.GetTimestamp();
        // Every step completes before anything is recorded: a meter listener that throws must not leave a step waiting.
        for (int i = 0; i < count; i++)
        {
            var request = batch[i];
            long queued = request.Queued;
            batch[i] = null!;
            if (failure is null) request.Complete();
            else request.Fail(failure);
            _waited[i] = now - queued;
        }
        _metrics.Batch(_model.Name, _waited.AsSpan(0, count));
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.Pulse(_gate);
        }
        // Run steps what is queued before it returns; Submit refuses anything after.
        _thread.Join();
        Running = false;
    }
}
