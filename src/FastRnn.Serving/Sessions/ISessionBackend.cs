using FastRnn.Serving.Models;

namespace FastRnn.Serving.Sessions;

/// <summary>Where a frame's outputs go: each step's OutputWidth floats, in order.</summary>
public interface IFrameOutput
{
    void Write(ReadOnlySpan<float> outputs);
}

/// <summary>What a frame did: its steps, the session's steps after it, the version of the weights of its last step,
/// and the position up to which the session's state is persisted (0 on a single server, which persists nothing).
/// <see cref="Rewound"/>: nothing ran — the frame named a position the session is not at (it is at
/// <see cref="Position"/>: after a lost silo, the client sends its frames again from there).</summary>
public readonly record struct FrameResult(int Steps, long Position, long WeightsVersion, long PersistedPosition = 0, bool Rewound = false);

/// <summary>A session just opened: its id and model.</summary>
public readonly record struct OpenedSession(string Id, ServedModel Model);

/// <summary>Where the server's sessions live: in this process (<see cref="FrameRunner"/> over a
/// <see cref="SessionStore"/>), or as grains of an Orleans cluster (<see cref="Cluster.ClusterSessions"/>). The gRPC
/// and HTTP faces speak to this.</summary>
public interface ISessionBackend
{
    /// <summary>The models served (in a cluster, every silo serves the same).</summary>
    ModelCatalog Models { get; }

    OpenedSession Open(string model);

    Task<OpenedSession> OpenAsync(string model) => Task.FromResult(Open(model));

    /// <summary>Runs one frame of a session: token ids for a token model, InputWidth floats per step for a dense one (the
    /// other list empty), starting at <paramref name="position"/> when given; each step's outputs go to
    /// <paramref name="output"/>. A refused frame throws <see cref="ServingException"/> and leaves the session as it was.</summary>
    ValueTask<FrameResult> RunAsync<TOutput>(string sessionId, long? position, IReadOnlyList<int> tokens, IReadOnlyList<float> features, TOutput output)
        where TOutput : IFrameOutput;

    /// <summary>Ends a session; returns its steps.</summary>
    Task<long> CloseAsync(string sessionId);

    /// <summary>Sessions open on <paramref name="model"/> here (−1 when the backend cannot tell: a cluster's).</summary>
    int SessionsOn(ServedModel model);

    /// <summary>Sessions open here (−1 when the backend cannot tell).</summary>
    int SessionCount { get; }
}
