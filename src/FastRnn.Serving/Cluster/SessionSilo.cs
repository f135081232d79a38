using FastRnn.Serving.Models;

namespace FastRnn.Serving.Cluster;

/// <summary>Makes a silo host session grains: its models (loaded once per silo and shared by its grains, each with
/// its micro-batcher), the frame limits, and when sessions persist. The silo must also have a grain storage provider
/// named <see cref="SessionPersistence.StorageName"/> (Redis in a deployment, see docs/serving.md).</summary>
public static class SessionSilo
{
    public static ISiloBuilder AddFastRnnSessions(this ISiloBuilder silo, Func<IServiceProvider, ModelCatalog> models,
        ServingOptions options, SessionPersistence persistence)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(models);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(persistence);
        options.Validate();
        if (persistence.EverySteps < 1)
            throw new ArgumentException($"SessionPersistence.EverySteps must be at least 1; got {persistence.EverySteps}.", nameof(persistence));
        silo.Services.AddSingleton(models);
        silo.Services.AddSingleton(options);
        silo.Services.AddSingleton(persistence);
        silo.Services.AddSingleton<SiloSessions>();
        return silo;
    }
}

/// <summary>The session grains active on this silo: a new session is refused beyond
/// <see cref="ServingOptions.MaxSessions"/> (one moving here from a lost silo never is).</summary>
public sealed class SiloSessions
{
    private int _active;

    public int Active => Volatile.Read(ref _active);

    internal void Activated() => Interlocked.Increment(ref _active);
    internal void Deactivated() => Interlocked.Decrement(ref _active);
}
