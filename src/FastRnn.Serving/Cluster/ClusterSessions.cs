using FastRnn.Serving.Models;
using FastRnn.Serving.Sessions;

namespace FastRnn.Serving.Cluster;

/// <summary>The backend of a server that is a silo of an Orleans cluster: its gRPC and HTTP faces are a gateway, and
/// every session is a <see cref="ISessionGrain"/>, active on whichever silo Orleans placed it (stepped there,
/// micro-batched with that silo's sessions, persisted to the cluster's storage).</summary>
public sealed class ClusterSessions(IGrainFactory grains, ModelCatalog models, string localSilo) : ISessionBackend
{
    private long _remote;

    public ModelCatalog Models { get; } = models;

    /// <summary>Frames whose session lived on another silo than this gateway's (one more hop each way).</summary>
    public long RemoteFrames => Interlocked.Read(ref _remote);

    public OpenedSession Open(string model) => throw new NotSupportedException("A cluster's sessions open asynchronously.");

    public async Task<OpenedSession> OpenAsync(string model)
    {
        var served = Models.Get(model);
        string id = Guid.NewGuid().ToString("N");
        await Call(() => grains.GetGrain<ISessionGrain>(id).Open(served.Name)).ConfigureAwait(false);
        return new OpenedSession(id, served);
    }

    public async ValueTask<FrameResult> RunAsync<TOutput>(string sessionId, long? position, IReadOnlyList<int> tokens, IReadOnlyList<float> features, TOutput output)
        where TOutput : IFrameOutput
    {
        var frame = new GrainFrame(position ?? -1, [.. tokens], [.. features]);
        var reply = await Call(() => grains.GetGrain<ISessionGrain>(sessionId).RunFrame(frame)).ConfigureAwait(false);
        if (reply.Rewound)
            return new FrameResult(0, reply.Position, reply.WeightsVersion, reply.PersistedPosition, Rewound: true);
        if (reply.Silo != localSilo)
            Interlocked.Increment(ref _remote);
        output.Write(reply.Outputs);
        return new FrameResult(reply.Steps, reply.Position, reply.WeightsVersion, reply.PersistedPosition);
    }

    public Task<long> CloseAsync(string sessionId) => Call(() => grains.GetGrain<ISessionGrain>(sessionId).Close());

    /// <summary>A failure of the cluster (a silo gone, a call timed out, the storage unreachable) as UNAVAILABLE: the
    /// client may retry (with the frame's position, safely); a refusal of the request stays what it is.</summary>
    private static async Task<T> Call<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not ServingException and (OrleansException or TimeoutException or IOException))
        {
            throw new ServingException(global::Grpc.Core.StatusCode.Unavailable, $"The cluster could not run the request ({e.GetType().Name}: {e.Message}); retry it.");
        }
    }

    public int SessionsOn(ServedModel model) => -1;

    public int SessionCount => -1;
}
