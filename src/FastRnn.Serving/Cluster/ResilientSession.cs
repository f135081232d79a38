namespace FastRnn.Serving.Cluster;

/// <summary>
/// A client's side of a session grain that survives the loss of the silo it lived on. It keeps the frames the session
/// has not yet persisted (those after the last reply's <see cref="GrainFrameReply.PersistedPosition"/>); when the grain,
/// re-activated elsewhere from its persisted state, answers <see cref="GrainFrameReply.Rewound"/>, it sends those
/// frames again from the position the grain names, checks that each gives the same outputs, bit for bit, as the first
/// time (a model's step is a pure function of state and input), and goes on. A call that fails because the silo went
/// away is retried. So the caller sees every frame's outputs once, in order, as if nothing had happened.
/// </summary>
public sealed class ResilientSession(IGrainFactory grains, string id)
{
    private readonly ISessionGrain _grain = grains.GetGrain<ISessionGrain>(id);
    private readonly List<(GrainFrame Frame, float[] Outputs)> _unpersisted = [];

    public string Id { get; } = id;

    /// <summary>Steps taken, as the client knows them.</summary>
    public long Position { get; private set; }

    /// <summary>Frames sent again after a silo was lost (each checked against its first outputs).</summary>
    public int Replayed { get; private set; }

    /// <summary>Calls retried after a silo was lost.</summary>
    public int Retried { get; private set; }

    /// <summary>The silo that ran the last frame.</summary>
    public string Silo { get; private set; } = "";

    /// <summary>How many times a call is tried before its failure is the caller's.</summary>
    public int Attempts { get; init; } = 20;

    public async Task<GrainSession> OpenAsync(string model)
    {
        var session = await Retry(() => _grain.Open(model)).ConfigureAwait(false);
        Position = session.Position;
        return session;
    }

    /// <summary>One frame of token ids (a token model) or features (a dense model); returns its outputs.</summary>
    public async Task<float[]> StepAsync(int[] tokens, float[] features)
    {
        var frame = new GrainFrame(Position, tokens, features);
        while (true)
        {
            var reply = await Retry(() => _grain.RunFrame(frame)).ConfigureAwait(false);
            if (!reply.Rewound)
            {
                Accept(frame, reply);
                return reply.Outputs;
            }
            await ReplayFrom(reply.Position).ConfigureAwait(false);
        }
    }

    public Task<long> CloseAsync() => Retry(_grain.Close);

    /// <summary>The grain lost the steps after <paramref name="position"/>: the kept frames from there, again.</summary>
    private async Task ReplayFrom(long position)
    {
        int first = _unpersisted.FindIndex(f => f.Frame.Position == position);
        if (first < 0)
            throw new InvalidOperationException($"Session '{Id}' is at step {position} on the server and {Position} here, and the frames between are not kept: " +
                "another client stepped it, or its persisted state is older than the client was told.");
        var frames = _unpersisted.Skip(first).ToList();
        _unpersisted.RemoveRange(first, _unpersisted.Count - first);
        Position = position;
        foreach (var (frame, outputs) in frames)
        {
            var reply = await Retry(() => _grain.RunFrame(frame)).ConfigureAwait(false);
            if (reply.Rewound)
            {
                // lost again while replaying: start over from where the grain is now
                _unpersisted.AddRange(frames.SkipWhile(f => f.Frame != frame));
                await ReplayFrom(reply.Position).ConfigureAwait(false);
                return;
            }
            if (!reply.Outputs.AsSpan().SequenceEqual(outputs))
                throw new InvalidOperationException($"Session '{Id}': step {frame.Position} replayed gives other outputs than the first time.");
            Replayed++;
            Accept(frame, reply);
        }
    }

    private void Accept(GrainFrame frame, GrainFrameReply reply)
    {
        Position = reply.Position;
        Silo = reply.Silo;
        _unpersisted.Add((frame, reply.Outputs));
        _unpersisted.RemoveAll(f => f.Frame.Position < reply.PersistedPosition);
    }

    private async Task<T> Retry<T>(Func<Task<T>> call)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await call().ConfigureAwait(false);
            }
            catch (Exception e) when (attempt < Attempts && Transient(e))
            {
                Retried++;
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, 50 * attempt))).ConfigureAwait(false);
            }
        }
    }

    /// <summary>A failure of the cluster, not of the request: the silo went away or did not answer in time.</summary>
    private static bool Transient(Exception e) => e is SiloUnavailableException or TimeoutException or OrleansMessageRejectionException
        || (e is OrleansException && e is not ServingException);
}
