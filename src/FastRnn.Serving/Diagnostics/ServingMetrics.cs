using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace FastRnn.Serving.Diagnostics;

/// <summary>
/// The server's instruments, on the meter <c>FastRnn.Serving</c> (read them with <c>dotnet-counters monitor -n
/// FastRnn.Serving --counters FastRnn.Serving</c>, OpenTelemetry, or a <see cref="MeterListener"/>): steps, the batch
/// sizes and step latency (from queueing to the output), open sessions, refused requests by reason, and weight swaps;
/// each tagged with the model's name. Recording allocates nothing. One instance serves the process
/// (<see cref="Shared"/>), as the meter's name is the process's.
/// </summary>
public sealed class ServingMetrics : IDisposable
{
    public const string MeterName = "FastRnn.Serving";

    /// <summary>The process's instruments.</summary>
    public static ServingMetrics Shared { get; } = new();

    private static readonly double s_millisecondsPerTick = 1000.0 / Stopwatch.Frequency;
    private readonly Meter _meter;
    private readonly Counter<long> _steps;
    private readonly Histogram<int> _batchSize;
    private readonly Histogram<double> _stepLatency;
    private readonly UpDownCounter<long> _sessions;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _swaps;
    private long _stepCount, _batchCount;

    private ServingMetrics()
    {
        _meter = new Meter(MeterName);
        _steps = _meter.CreateCounter<long>("fastrnn.serving.steps", "{step}", "Steps taken (one per session per time step).");
        _batchSize = _meter.CreateHistogram<int>("fastrnn.serving.batch_size", "{step}", "Steps run together in one batched step.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256] });
        _stepLatency = _meter.CreateHistogram<double>("fastrnn.serving.step.duration", "ms", "From a step's queueing to its output.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100] });
        _sessions = _meter.CreateUpDownCounter<long>("fastrnn.serving.sessions", "{session}", "Open sessions.");
        _refused = _meter.CreateCounter<long>("fastrnn.serving.refused", "{request}", "Requests refused, by reason (a gRPC status name).");
        _swaps = _meter.CreateCounter<long>("fastrnn.serving.swaps", "{swap}", "Weights swapped in.");
    }

    /// <summary>Records a batch that ran: its steps, each one's time from queueing to output (Stopwatch ticks), and its
    /// size. Called after the steps completed; a meter listener that throws is the listener's failure, not theirs.</summary>
    internal void Batch(string model, ReadOnlySpan<long> waited)
    {
        var tag = new KeyValuePair<string, object?>("model", model);
        Interlocked.Add(ref _stepCount, waited.Length);
        Interlocked.Increment(ref _batchCount);
        try
        {
            foreach (long ticks in waited)
            {
                _steps.Add(1, tag);
                _stepLatency.Record(ticks * s_millisecondsPerTick, tag);
            }
            _batchSize.Record(waited.Length, tag);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // a listener's failure is the listener's
        }
    }

    /// <summary>Disposes the meter (the process's instruments end with it).</summary>
    public void Dispose() => _meter.Dispose();

    /// <summary>Steps taken since the server started (all models).</summary>
    public long Steps => Interlocked.Read(ref _stepCount);

    /// <summary>Batched steps run since the server started (all models): <see cref="Steps"/> / this is the mean batch.</summary>
    public long Batches => Interlocked.Read(ref _batchCount);

    internal void SessionOpened(string model) => _sessions.Add(1, new KeyValuePair<string, object?>("model", model));
    internal void SessionClosed(string model) => _sessions.Add(-1, new KeyValuePair<string, object?>("model", model));
    internal void Swapped(string model) => _swaps.Add(1, new KeyValuePair<string, object?>("model", model));
    internal void Refused(Grpc.Core.StatusCode reason) => _refused.Add(1, new KeyValuePair<string, object?>("reason", reason.ToString()));
}
