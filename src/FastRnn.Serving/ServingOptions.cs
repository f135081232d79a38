namespace FastRnn.Serving;

/// <summary>What a frame holding a NaN or an infinity gets.</summary>
public enum NonFinitePolicy
{
    /// <summary>The frame is refused (INVALID_ARGUMENT, HTTP 400) before any step, and its session stays as it was.</summary>
    Reject = 0,

    /// <summary>Non-finite inputs read as 0 and the frame is stepped.</summary>
    Zero = 1,
}

/// <summary>The server's settings (the command line's options, or configuration section <c>Serving</c>).</summary>
public sealed class ServingOptions
{
    /// <summary>Gather concurrent sessions' steps on one model into one batched step (true), or step each session on
    /// its own (false: the baseline that shows what batching buys).</summary>
    public bool Batching { get; set; } = true;

    /// <summary>Rows of one batched step at most.</summary>
    public int MaxBatch { get; set; } = 64;

    /// <summary>How long the batcher waits for more steps after the first arrives, when fewer than
    /// <see cref="MaxBatch"/> are waiting. Zero (the default): it takes what is waiting — steps that arrive while a batch
    /// runs wait for the next, so batches form under load, and a step that finds the model idle runs at once on its
    /// caller's thread.</summary>
    public TimeSpan MaxWait { get; set; } = TimeSpan.Zero;

    /// <summary>Sessions open at once at most (all models); opening one more is refused with RESOURCE_EXHAUSTED / 429.</summary>
    public int MaxSessions { get; set; } = 10_000;

    /// <summary>A session not stepped for this long is closed.</summary>
    public TimeSpan SessionIdleTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Steps in one frame at most.</summary>
    public int MaxStepsPerFrame { get; set; } = 1024;

    /// <summary>Bytes of one gRPC message or HTTP request body at most.</summary>
    public int MaxMessageBytes { get; set; } = 4 << 20;

    /// <summary>What a frame with a NaN or an infinity gets.</summary>
    public NonFinitePolicy NonFinite { get; set; } = NonFinitePolicy.Reject;

    /// <summary>The folder the swap endpoint may read weights files from (null: swaps by path are refused).</summary>
    public string? ModelDirectory { get; set; }

    /// <summary>Checks every setting; throws <see cref="ArgumentException"/> naming the first bad one.</summary>
    public void Validate()
    {
        if (MaxBatch is < 1 or > 4096)
            throw new ArgumentException($"MaxBatch must be 1 to 4096; got {MaxBatch}.");
        if (MaxWait < TimeSpan.Zero || MaxWait > TimeSpan.FromSeconds(1))
            throw new ArgumentException($"MaxWait must be 0 to 1 s; got {MaxWait}.");
        if (MaxSessions < 1)
            throw new ArgumentException($"MaxSessions must be at least 1; got {MaxSessions}.");
        if (SessionIdleTimeout <= TimeSpan.Zero)
            throw new ArgumentException($"SessionIdleTimeout must be positive; got {SessionIdleTimeout}.");
        if (MaxStepsPerFrame < 1)
            throw new ArgumentException($"MaxStepsPerFrame must be at least 1; got {MaxStepsPerFrame}.");
        if (MaxMessageBytes < 1024)
            throw new ArgumentException($"MaxMessageBytes must be at least 1024; got {MaxMessageBytes}.");
    }
}
