namespace FastRnn.Serving.Cluster;

/// <summary>
/// A streaming session as an Orleans grain (keyed by the session's id): it holds one sequence's recurrent state on the
/// silo it is active on, steps it through that silo's shared model (micro-batched with the silo's other sessions), and
/// persists it through grain storage every <see cref="SessionPersistence.EverySteps"/> steps and when it deactivates.
/// If its silo is lost, the next call activates it on another silo from the last persisted state; a frame then finds
/// the session behind the client and is answered <see cref="GrainFrameReply.Rewound"/> with the persisted position,
/// from which the client sends its frames again (<see cref="ResilientSession"/> does this).
/// </summary>
public interface ISessionGrain : IGrainWithStringKey
{
    /// <summary>Opens the session on a model (again: a no-op on the same model); returns where it stands.</summary>
    Task<GrainSession> Open(string model);

    /// <summary>One frame, which must start at the session's position (<see cref="GrainFrame.Position"/>).</summary>
    Task<GrainFrameReply> RunFrame(GrainFrame frame);

    /// <summary>Ends the session and deletes its persisted state; returns its steps.</summary>
    Task<long> Close();
}

/// <summary>One frame for a session grain: the position the client believes the session is at (−1: wherever it is,
/// without the check that makes replays safe), and the steps' input (token ids for a token model, InputWidth floats per
/// step for a dense one).</summary>
[GenerateSerializer, Immutable]
public sealed record GrainFrame(
    [property: Id(0)] long Position,
    [property: Id(1)] int[] Tokens,
    [property: Id(2)] float[] Features);

/// <summary>A frame's reply: the outputs (steps × OutputWidth), its steps, the session's position after it, the position up to
/// which its state is persisted, the weights' version, and the silo that ran it. <see cref="Rewound"/>: nothing ran —
/// the session is at <see cref="Position"/>, not where the frame starts (its silo was lost after that persisted state).</summary>
[GenerateSerializer, Immutable]
public sealed record GrainFrameReply(
    [property: Id(0)] float[] Outputs,
    [property: Id(1)] int Steps,
    [property: Id(2)] long Position,
    [property: Id(3)] long PersistedPosition,
    [property: Id(4)] long WeightsVersion,
    [property: Id(5)] bool Rewound,
    [property: Id(6)] string Silo);

/// <summary>A session grain's model and where the session stands.</summary>
[GenerateSerializer, Immutable]
public sealed record GrainSession(
    [property: Id(0)] string Model,
    [property: Id(1)] int InputWidth,
    [property: Id(2)] int OutputWidth,
    [property: Id(3)] bool TakesTokens,
    [property: Id(4)] int Vocabulary,
    [property: Id(5)] long Position,
    [property: Id(6)] long PersistedPosition);

/// <summary>What a session grain persists: its model, position and recurrent state, and the last frame's reply (so a
/// frame retried after a lost reply gets its outputs again instead of stepping twice). The floats are stored as their
/// bytes (float32, little-endian): a storage provider that writes JSON (Orleans' Redis provider does) then writes
/// base64, a few times faster and smaller than a thousand numbers in text.</summary>
[GenerateSerializer]
public sealed class SessionSnapshot
{
    [Id(0)] public string Model { get; set; } = "";
    [Id(1)] public long Position { get; set; }
    [Id(2)] public byte[] State { get; set; } = [];
    [Id(3)] public long LastFramePosition { get; set; } = -1;
    [Id(4)] public byte[] LastOutputs { get; set; } = [];
    [Id(5)] public long LastWeightsVersion { get; set; }
    [Id(6)] public int LastSteps { get; set; }
    [Id(7)] public ulong LastInputHash { get; set; }
}

/// <summary>When a session grain persists its state.</summary>
public sealed class SessionPersistence
{
    /// <summary>The grain storage provider's name.</summary>
    public const string StorageName = "fastrnn-sessions";

    /// <summary>Persist after a frame once this many steps ran since the last write (1: after every frame), and
    /// always on deactivation. At most this many steps − 1 plus a frame are replayed after a silo is lost.</summary>
    public int EverySteps { get; set; } = 32;
}
