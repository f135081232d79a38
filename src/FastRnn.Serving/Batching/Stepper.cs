using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using FastRnn.Serving.Models;

namespace FastRnn.Serving.Batching;

/// <summary>
/// One sequence's place on a served model: its recurrent state (one row), its position, and the buffers of one step.
/// A session owns one, and so does a session grain. Put the step's input in <see cref="Token"/> or <see cref="Input"/>,
/// await <see cref="StepAsync"/>, read <see cref="Output"/>; the step runs as a row of a batch with the other sequences'
/// steps waiting on the same model (or alone, batching off). One step at a time; stepping allocates nothing.
/// </summary>
public sealed class Stepper : IValueTaskSource
{
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private readonly float[] _output;

    public Stepper(ServedModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        Model = model;
        State = model.NewState(1);
        Input = new float[model.TakesTokens ? 0 : model.InputWidth];
        _output = new float[model.OutputWidth];
    }

    public ServedModel Model { get; }

    /// <summary>A dense model's input for the next step: InputWidth floats.</summary>
    public float[] Input { get; }

    /// <summary>A token model's input for the next step.</summary>
    public int Token { get; set; }

    /// <summary>The last step's output (OutputWidth floats).</summary>
    public ReadOnlySpan<float> Output => _output;

    /// <summary>Steps taken.</summary>
    public long Position { get; private set; }

    /// <summary>The version of the weights that computed the last step.</summary>
    public long WeightsVersion { get; internal set; }

    /// <summary>Floats of <see cref="ExportState"/>: every layer's h, and c for LSTM layers.</summary>
    public int StateWidth => Model.Rows.Width;

    internal IRnnState State { get; }
    internal float[] OutputBuffer => _output;

    /// <summary>When the step was queued (<see cref="System.Diagnostics.Stopwatch"/> ticks).</summary>
    internal long Queued { get; set; }

    /// <summary>One step with <see cref="Token"/> or <see cref="Input"/>.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask StepAsync()
    {
        await Model.StepAsync(this).ConfigureAwait(false);
        Position++;
    }

    /// <summary>Remembers the state and position, for <see cref="Restore"/> (a frame that fails part-way is undone).</summary>
    internal void Save()
    {
        _saved ??= new float[StateWidth];
        ExportState(_saved);
        _savedPosition = Position;
    }

    /// <summary>Back to what <see cref="Save"/> remembered.</summary>
    internal void Restore() => ImportState(_saved!, _savedPosition);

    private float[]? _saved;
    private long _savedPosition;

    /// <summary>Copies the state (layer by layer: h, then c for an LSTM layer) to <paramref name="destination"/>.</summary>
    public void ExportState(Span<float> destination) => Model.Rows.Export(State, 0, destination);

    /// <summary>Restores a state <see cref="ExportState"/> wrote, and the position it was at.</summary>
    public void ImportState(ReadOnlySpan<float> source, long position)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        Model.Rows.Import(source, State, 0);
        Position = position;
    }

    internal ValueTask Start()
    {
        _core.Reset();
        return new ValueTask(this, _core.Version);
    }

    internal void Complete() => _core.SetResult(true);
    internal void Fail(Exception error) => _core.SetException(error);

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);
    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);
    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
