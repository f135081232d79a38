using FastRnn.Serving.Batching;
using FastRnn.Serving.Models;
using FastRnn.Serving.Sessions;
using Grpc.Core;

namespace FastRnn.Serving.Cluster;

/// <summary>The session grain (see <see cref="ISessionGrain"/>). Its silo's models come from the silo's
/// <see cref="ModelCatalog"/>; its frames are checked as the gRPC and HTTP faces check them. It is placed on the silo
/// whose gateway opened it (and, after that silo is lost, on the silo of the gateway that calls it next).</summary>
[Orleans.Placement.PreferLocalPlacement]
public sealed class SessionGrain(
    [PersistentState("session", SessionPersistence.StorageName)] IPersistentState<SessionSnapshot> snapshot,
    ModelCatalog models,
    ServingOptions options,
    SessionPersistence persistence,
    SiloSessions active,
    ILocalSiloDetails silo) : Grain, ISessionGrain
{
    private long _lastActive = Environment.TickCount64;

    private Stepper? _stepper;
    private long _persisted;
    // The last frame's reply, the position it started at and a hash of its input: a frame retried after its reply was
    // lost (the same position, the same input) gets this again instead of stepping twice.
    private GrainFrameReply? _last;
    private long _lastPosition = -1;
    private ulong _lastInput;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        active.Activated();
        if (snapshot.RecordExists && snapshot.State.Model.Length > 0)
        {
            var saved = snapshot.State;
            _stepper = new Stepper(models.Get(saved.Model));
            _stepper.ImportState(Floats(saved.State), saved.Position);
            _stepper.WeightsVersion = saved.LastWeightsVersion;
            _persisted = saved.Position;
            if (saved.LastFramePosition >= 0)
            {
                _lastPosition = saved.LastFramePosition;
                _lastInput = saved.LastInputHash;
                _last = new GrainFrameReply(Floats(saved.LastOutputs), saved.LastSteps, saved.Position, saved.Position, saved.LastWeightsVersion, false, Silo);
            }
        }
        return Task.CompletedTask;
    }

    public async Task<GrainSession> Open(string model)
    {
        if (_stepper is null)
        {
            var served = models.Get(model);
            if (active.Active > options.MaxSessions)
            {
                DeactivateOnIdle();
                throw new ServingException(StatusCode.ResourceExhausted, $"This silo holds its limit of {options.MaxSessions} sessions; open the session through another server, or retry later.");
            }
            _stepper = new Stepper(served);
            await Persist();
        }
        else if (_stepper.Model.Name != model)
        {
            throw new ServingException(StatusCode.FailedPrecondition, $"Session '{this.GetPrimaryKeyString()}' is open on model '{_stepper.Model.Name}', not '{model}'.");
        }
        var m = _stepper.Model;
        return new GrainSession(m.Name, m.InputWidth, m.OutputWidth, m.TakesTokens, m.Vocabulary, _stepper.Position, _persisted);
    }

    public async Task<GrainFrameReply> RunFrame(GrainFrame frame)
    {
        if (_stepper is not { } stepper)
        {
            DeactivateOnIdle(); // an activation for an unknown id holds no place
            throw ServingException.NotFound($"No session '{this.GetPrimaryKeyString()}' (never opened, closed, or expired).");
        }
        if (Environment.TickCount64 - _lastActive > (long)options.SessionIdleTimeout.TotalMilliseconds)
        {
            await Close();
            throw ServingException.NotFound($"Session '{this.GetPrimaryKeyString()}' expired after {options.SessionIdleTimeout.TotalSeconds:0} s idle.");
        }
        _lastActive = Environment.TickCount64;
        if (frame.Position >= 0 && frame.Position != stepper.Position)
        {
            if (frame.Position == _lastPosition && _last is { } last && InputHash(frame) == _lastInput)
                return last with { PersistedPosition = _persisted };
            return new GrainFrameReply([], 0, stepper.Position, _persisted, stepper.WeightsVersion, Rewound: true, Silo);
        }
        long start = stepper.Position;
        int steps = FrameRunner.Check(stepper.Model, frame.Tokens, frame.Features, options);
        var outputs = new float[steps * stepper.Model.OutputWidth];
        long version = await FrameRunner.Run(stepper, frame.Tokens, frame.Features, steps, new ArrayOutput(outputs));
        _lastPosition = start;
        _lastInput = InputHash(frame);
        _last = new GrainFrameReply(outputs, steps, stepper.Position, 0, version, false, Silo);
        if (stepper.Position - _persisted >= persistence.EverySteps)
            await TryPersist();
        return _last with { PersistedPosition = _persisted };
    }

    public async Task<long> Close()
    {
        long steps = _stepper?.Position ?? 0;
        await snapshot.ClearStateAsync();
        _stepper = null;
        _last = null;
        _lastPosition = -1;
        DeactivateOnIdle();
        return steps;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        active.Deactivated();
        if (_stepper is { } stepper && stepper.Position != _persisted)
            await TryPersist();
    }

    private string Silo => silo.SiloAddress.ToString();

    /// <summary>Persists after a frame that already ran: a storage that fails is not the frame's failure (its reply
    /// reports the older persisted position, and the next frame or the deactivation tries again). A write that lost a
    /// race with another activation's (a stale etag) means this activation is not the session's any more: it goes.</summary>
    private async Task TryPersist()
    {
        try
        {
            await Persist();
        }
        catch (Orleans.Storage.InconsistentStateException)
        {
            DeactivateOnIdle();
        }
        catch (Exception e) when (e is TimeoutException or IOException or OrleansException || e.GetType().Namespace?.StartsWith("StackExchange.Redis", StringComparison.Ordinal) == true)
        {
            // the storage is unreachable now; the state persists later
        }
    }

    /// <summary>FNV-1a over a frame's input (token ids, and the features' bits), to tell a retried frame from another
    /// frame at the same position.</summary>
    private static ulong InputHash(GrainFrame frame)
    {
        ulong hash = 14695981039346656037;
        foreach (int token in frame.Tokens)
            hash = (hash ^ (uint)token) * 1099511628211;
        foreach (float value in frame.Features)
            hash = (hash ^ (uint)BitConverter.SingleToInt32Bits(value)) * 1099511628211;
        return (hash ^ (ulong)frame.Tokens.Length) * 1099511628211;
    }

    private async Task Persist()
    {
        var stepper = _stepper!;
        var state = new float[stepper.StateWidth];
        stepper.ExportState(state);
        snapshot.State = new SessionSnapshot
        {
            Model = stepper.Model.Name,
            Position = stepper.Position,
            State = Bytes(state),
            LastFramePosition = _last is null ? -1 : _lastPosition,
            LastOutputs = Bytes(_last?.Outputs ?? []),
            LastWeightsVersion = stepper.WeightsVersion,
            LastSteps = _last?.Steps ?? 0,
            LastInputHash = _lastInput,
        };
        await snapshot.WriteStateAsync();
        _persisted = stepper.Position;
    }

    private static byte[] Bytes(float[] values) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    private static float[] Floats(byte[] bytes) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray();

    /// <summary>A frame's outputs written into the reply's array.</summary>
    private sealed class ArrayOutput(float[] outputs) : IFrameOutput
    {
        private int _at;

        public void Write(ReadOnlySpan<float> stepOutputs)
        {
            stepOutputs.CopyTo(outputs.AsSpan(_at));
            _at += stepOutputs.Length;
        }
    }
}
