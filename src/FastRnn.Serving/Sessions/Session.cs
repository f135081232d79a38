using FastRnn.Serving.Batching;
using FastRnn.Serving.Models;

namespace FastRnn.Serving.Sessions;

/// <summary>One client's sequence on one model: its <see cref="Batching.Stepper"/> (state, position, step buffers) and
/// when it was last used. Frames of a session run one at a time, in the order they arrive.</summary>
public sealed class Session
{
    internal Session(string id, ServedModel model)
    {
        Id = id;
        Model = model;
        Stepper = new Stepper(model);
        Touch();
    }

    public string Id { get; }
    public ServedModel Model { get; }

    /// <summary>Steps taken so far.</summary>
    public long Position => Stepper.Position;

    /// <summary>The session's state and step buffers.</summary>
    internal Stepper Stepper { get; }

    /// <summary>Held while a frame of this session runs.</summary>
    internal SemaphoreSlim Gate { get; } = new(1, 1);

    internal bool Closed { get; set; }

    /// <summary>When the session last took a frame (<see cref="Environment.TickCount64"/>).</summary>
    internal long LastActive { get; private set; }

    internal void Touch() => LastActive = Environment.TickCount64;
}
