namespace FastRnn.Serving.Cluster;

/// <summary>
/// A client's side of a session grain that survives the loss of the silo it lived on. It keeps the frames the session
/// has not yet persisted (those after the last reply's <see cref="GrainFrameReply.PersistedPosition"/>); when the grain,
/// re-activated elsewhere from its persisted state, answers <see cref="GrainFrameReply.Rewound"/>, it sends those
/// frames again from the position the grain names, checks that each gives the same outputs, bit for bit, as the first
/// time (a model's step is a pure function of state and input; a frame replayed on other weights, after a swap, is
/// counted in <see cref="ReplayedOnOtherWeights"/> instead), and goes on. A call that fails because the silo went away
/// is retried. So the caller sees every frame's outputs once, in order, as if nothing had happened.
/// </summary>
public sealed class ResilientSession(IGrainFactory grains, string id)
{
    private readonly ISessionGrain _grain = grains.GetGrain<ISessionGrain>(id);
    private readonly List<(GrainFrame Frame, float[] Outputs, long Version)> _unpersisted = [];

    public string Id { get; } = id;

    /// <summary>Steps taken, as the client knows them.</summary>
    public long Position { get; private set; }

    /// <summary>Frames sent again after a silo was lost (each checked against its first outputs).</summary>
    public int Replayed { get; private set; }

    /// <summary>Frames sent again that ran on other weights than the first time (a swap in between): not checked.</summary>
    public int ReplayedOnOtherWeights { get; private set; }

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
                Trim(reply.PersistedPosition);
                return reply.Outputs;
            }
            await ReplayFrom(reply.Position).ConfigureAwait(false);
        }
    }

    public Task<long> CloseAsync() => Retry(_grain.Close);

    /// <summary>The grain lost the steps after <paramref name="position"/>: the kept frames from there, again. A frame
    /// is dropped from the kept ones only once persisted, so a replay that fails part-way can be taken up again.</summary>
    private async Task ReplayFrom(long position)
    {
        while (true)
        {
            int first = _unpersisted.FindIndex(f => f.Frame.Position == position);
            if (first < 0)
                throw new InvalidOperationException($"Session '{Id}' is at step {position} on the server and {Position} here, and the frames between are not kept: " +
                    "another client stepped it, or its persisted state is older than the client was told.");
            Position = position;
            long? rewound = null;
            long persisted = 0;
            for (int i = first; i < _unpersisted.Count && rewound is null; i++)
            {
                var (frame, outputs, version) = _unpersisted[i];
                var reply = await Retry(() => _grain.RunFrame(frame)).ConfigureAwait(false);
                if (reply.Rewound)
                {
                    rewound = reply.Position; // lost again while replaying: start over from where the grain is now
                    continue;
                }
                if (reply.WeightsVersion != version)
                    ReplayedOnOtherWeights++;
                else if (!System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>(reply.Outputs).SequenceEqual(System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>(outputs)))
                    throw new InvalidOperationException($"Session '{Id}': step {frame.Position} replayed gives other outputs than the first time.");
                Replayed++;
                _unpersisted[i] = (frame, reply.Outputs, reply.WeightsVersion);
                Position = reply.Position;
                Silo = reply.Silo;
                persisted = reply.PersistedPosition;
            }
            if (rewound is { } again)
            {
                position = again;
                continue;
            }
            Trim(persisted);
            return;
        }
    }

    private void Accept(GrainFrame frame, GrainFrameReply reply)
    {
        Position = reply.Position;
        Silo = reply.Silo;
        _unpersisted.Add((frame, reply.Outputs, reply.WeightsVersion));
    }

    /// <summary>Frames before <paramref name="persisted"/> are in the grain's persisted state: no longer needed.</summary>
    private void Trim(long persisted) => _unpersisted.RemoveAll(f => f.Frame.Position < persisted);

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
