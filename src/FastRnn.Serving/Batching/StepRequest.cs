using System.Threading.Tasks.Sources;
using FastRnn.Serving.Sessions;

namespace FastRnn.Serving.Batching;

/// <summary>One step of one session waiting for its batch: the step's input and, when done, its output. Each session
/// owns one and reuses it for every step (a session takes one step at a time), so awaiting a step allocates nothing.</summary>
internal sealed class StepRequest : IValueTaskSource
{
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };

    public StepRequest(Session session, int inputWidth, int outputWidth)
    {
        Session = session;
        Input = new float[inputWidth];
        Output = new float[outputWidth];
    }

    public Session Session { get; }

    /// <summary>The step's input: InputWidth floats, or the token id in <see cref="Token"/>.</summary>
    public float[] Input { get; }
    public int Token { get; set; }

    /// <summary>The step's output (OutputWidth floats), valid once the step completed.</summary>
    public float[] Output { get; }

    /// <summary>The version of the weights that computed the step.</summary>
    public long WeightsVersion { get; set; }

    /// <summary>When the step was queued (<see cref="System.Diagnostics.Stopwatch"/> ticks).</summary>
    public long Queued { get; set; }

    public ValueTask Start()
    {
        _core.Reset();
        return new ValueTask(this, _core.Version);
    }

    public void Complete() => _core.SetResult(true);
    public void Fail(Exception error) => _core.SetException(error);

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);
    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);
    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
