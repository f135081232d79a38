using System.Collections.Concurrent;
using FastRnn.Serving.Cluster;
using FastRnn.Serving.Models;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.Runtime.Hosting;
using Orleans.Storage;
using Orleans.TestingHost;
using Xunit;

namespace FastRnn.Serving.Tests;

/// <summary>Grain storage that outlives silos, for in-process clusters: one dictionary for the whole process, as an
/// external store (Redis) is one for the whole cluster. Orleans' own memory storage keeps state in grains of the
/// cluster, which go down with their silo.</summary>
public sealed class SharedMemoryGrainStorage : IGrainStorage
{
    public static SharedMemoryGrainStorage Instance { get; } = new();

    private readonly ConcurrentDictionary<string, (object State, string ETag)> _store = new();
    private long _etag;

    private readonly ConcurrentDictionary<SiloAddress, bool> _cutOff = new();

    public int Writes => (int)Interlocked.Read(ref _writes);
    private long _writes;

    /// <summary>From now on <paramref name="silo"/> writes nothing (<see cref="SiloStorage"/> throws): a killed silo's
    /// process persists nothing more, whatever the in-process test cluster still runs of its shutdown.</summary>
    public void CutOff(SiloAddress silo) => _cutOff[silo] = true;

    public bool IsCutOff(SiloAddress silo) => _cutOff.ContainsKey(silo);

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (_store.TryGetValue($"{stateName}/{grainId}", out var entry))
        {
            grainState.State = (T)entry.State;
            grainState.ETag = entry.ETag;
            grainState.RecordExists = true;
        }
        return Task.CompletedTask;
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        string etag = Interlocked.Increment(ref _etag).ToString(System.Globalization.CultureInfo.InvariantCulture);
        _store[$"{stateName}/{grainId}"] = (grainState.State!, etag);
        grainState.ETag = etag;
        grainState.RecordExists = true;
        Interlocked.Increment(ref _writes);
        return Task.CompletedTask;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        _store.TryRemove($"{stateName}/{grainId}", out _);
        grainState.ETag = null;
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }
}

/// <summary>One silo's way to <see cref="SharedMemoryGrainStorage"/>: its writes fail with an <see cref="IOException"/>
/// once the silo is cut off.</summary>
public sealed class SiloStorage(SharedMemoryGrainStorage store, SiloAddress silo) : IGrainStorage
{
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        store.ReadStateAsync(stateName, grainId, grainState);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        CheckAlive();
        return store.WriteStateAsync(stateName, grainId, grainState);
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        CheckAlive();
        return store.ClearStateAsync(stateName, grainId, grainState);
    }

    private void CheckAlive()
    {
        if (store.IsCutOff(silo))
            throw new IOException($"Silo {silo} is cut off from the storage.");
    }
}

/// <summary>Each silo of the test cluster: the shipped model, sessions persisted every 8 steps to the shared store.</summary>
public sealed class SessionSiloConfigurator : ISiloConfigurator
{
    public const int PersistEvery = 8;

    public void Configure(ISiloBuilder siloBuilder)
    {
        var options = new ServingOptions { MaxBatch = 16 };
        siloBuilder.Services.AddGrainStorage(SessionPersistence.StorageName,
            (services, _) => new SiloStorage(SharedMemoryGrainStorage.Instance, services.GetRequiredService<ILocalSiloDetails>().SiloAddress));
        siloBuilder.AddFastRnnSessions(_ => new ModelCatalog([Served.Kjv(options)]), options, new SessionPersistence { EverySteps = PersistEvery });
    }
}

/// <summary>A silo that holds two sessions at most, idle for 1.5 s at most.</summary>
public sealed class TightSiloConfigurator : ISiloConfigurator
{
    public void Configure(ISiloBuilder siloBuilder)
    {
        var options = new ServingOptions { MaxSessions = 2, SessionIdleTimeout = TimeSpan.FromSeconds(1.5) };
        siloBuilder.Services.AddGrainStorage(SessionPersistence.StorageName, (_, _) => SharedMemoryGrainStorage.Instance);
        siloBuilder.AddFastRnnSessions(_ => new ModelCatalog([Served.Kjv(options)]), options, new SessionPersistence());
    }
}

/// <summary>Sessions as grains on a three-silo in-process cluster: a silo stopped or killed mid-stream, and every session
/// that lived there continues on another silo with every output the bits of its steps alone.</summary>
public sealed class ClusterTests(Xunit.Abstractions.ITestOutputHelper log)
{
    private static async Task<TestCluster> StartCluster()
    {
        var builder = new TestClusterBuilder(3);
        builder.Options.ConfigureFileLogging = false;
        builder.AddSiloBuilderConfigurator<SessionSiloConfigurator>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    /// <summary>A silo refuses a new session beyond its limit, and a session idle past the timeout is gone.</summary>
    [Fact]
    public async Task ASiloLimitsItsSessionsAndIdleOnesExpire()
    {
        var builder = new TestClusterBuilder(1);
        builder.Options.ConfigureFileLogging = false;
        builder.AddSiloBuilderConfigurator<TightSiloConfigurator>();
        await using var cluster = builder.Build();
        await cluster.DeployAsync();
        var grains = Enumerable.Range(0, 3).Select(i => cluster.Client.GetGrain<ISessionGrain>($"tight-{i}-{Guid.NewGuid():N}")).ToArray();
        await grains[0].Open("kjv-char");
        await grains[1].Open("kjv-char");
        var refused = await Assert.ThrowsAsync<ServingException>(() => grains[2].Open("kjv-char"));
        Assert.Equal(global::Grpc.Core.StatusCode.ResourceExhausted, refused.Code);

        await grains[0].RunFrame(new GrainFrame(0, [1], []));
        await Task.Delay(TimeSpan.FromSeconds(2));
        var expired = await Assert.ThrowsAsync<ServingException>(() => grains[0].RunFrame(new GrainFrame(1, [2], [])));
        Assert.Equal(global::Grpc.Core.StatusCode.NotFound, expired.Code);
        Assert.Contains("expired", expired.Message, StringComparison.Ordinal);
    }

    /// <summary>A frame retried after its reply was lost (the same position, the same input) gets that reply again and
    /// steps nothing; another frame claiming that position is answered rewound, not with the first frame's outputs.</summary>
    [Fact]
    public async Task ARetriedFrameIsAnsweredOnceAndAnotherFrameAtItsPositionIsRewound()
    {
        await using var cluster = await StartCluster();
        var grain = cluster.Client.GetGrain<ISessionGrain>("retry-" + Guid.NewGuid().ToString("N"));
        await grain.Open("kjv-char");
        var first = await grain.RunFrame(new GrainFrame(0, [4, 5, 6], []));
        var again = await grain.RunFrame(new GrainFrame(0, [4, 5, 6], []));
        Assert.False(again.Rewound);
        Assert.Equal(3, again.Position);
        Assert.True(Served.SameBits(first.Outputs, again.Outputs));
        var other = await grain.RunFrame(new GrainFrame(0, [4, 5, 7], []));
        Assert.True(other.Rewound);
        Assert.Equal(3, other.Position);
        var next = await grain.RunFrame(new GrainFrame(3, [8], []));
        Assert.Equal(4, next.Position);
        var expected = Served.Reference(Served.LoadKjv(Served.ShippedFile), [[4, 5, 6], [8]]);
        Assert.True(Served.SameBits(expected[1], next.Outputs));
        Assert.Equal(4, await grain.Close());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SessionsContinueOnAnotherSiloWhenTheirsGoes(bool kill)
    {
        await using var cluster = await StartCluster();
        const int Sessions = 12, Frames = 60;
        var sessions = Enumerable.Range(0, Sessions).Select(i => new ResilientSession(cluster.Client, $"{(kill ? "k" : "s")}-{i}-{Guid.NewGuid():N}")).ToArray();
        foreach (var session in sessions)
            await session.OpenAsync("kjv-char");
        var frames = Enumerable.Range(0, Sessions).Select(s =>
        {
            var random = new Random(s);
            return Enumerable.Range(0, Frames).Select(_ => Enumerable.Range(0, random.Next(1, 4)).Select(_ => random.Next(96)).ToArray()).ToArray();
        }).ToArray();
        var outputs = sessions.Select(_ => new List<float[]>()).ToArray();
        var silos = sessions.Select(_ => new List<string>()).ToArray();

        async Task Drive(int from, int to) => await Task.WhenAll(Enumerable.Range(0, Sessions).Select(async s =>
        {
            for (int f = from; f < to; f++)
            {
                outputs[s].Add(await sessions[s].StepAsync(frames[s][f], []));
                silos[s].Add(sessions[s].Silo);
            }
        }));

        await Drive(0, 20);
        // the secondary silo with the most sessions goes; the primary keeps the test cluster's membership table
        var hosting = silos.Select(l => l[^1]).ToList();
        var victim = cluster.SecondarySilos.OrderByDescending(s => hosting.Count(h => h == s.SiloAddress.ToString())).First();
        string victimAddress = victim.SiloAddress.ToString();
        var lived = Enumerable.Range(0, Sessions).Where(s => hosting[s] == victimAddress).ToArray();
        Assert.NotEmpty(lived);
        // A killed silo's process writes nothing more: cut it off from the storage first (the in-process cluster may
        // still run part of its shutdown, deactivations included), then give every session a frame, so each of the
        // victim's sessions holds steps it could not persist, and kill it while the next frames are in flight.
        if (kill) SharedMemoryGrainStorage.Instance.CutOff(victim.SiloAddress);
        await Drive(20, 21);
        var going = Drive(21, 40);
        if (kill) await cluster.KillSiloAsync(victim);
        else await cluster.StopSiloAsync(victim);
        await going;
        await Drive(40, Frames);

        var model = Served.LoadKjv(Served.ShippedFile);
        for (int s = 0; s < Sessions; s++)
        {
            var expected = Served.Reference(model, frames[s]);
            for (int f = 0; f < Frames; f++)
                Assert.True(Served.SameBits(expected[f], outputs[s][f]), $"session {s}, frame {f}");
            Assert.Equal(frames[s].Sum(f => f.Length), sessions[s].Position);
            Assert.NotEqual(victimAddress, silos[s][^1]);
        }
        // A stopped silo deactivates its grains, which persist: nothing is replayed. A killed one loses the steps after
        // each session's last persisted state, which its client sends again: the frames after the last persisted position
        // before the cut (fewer than PersistEvery, each frame a step at least), and those the victim answered after it.
        int replayed = sessions.Sum(s => s.Replayed);
        log.WriteLine($"{(kill ? "killed" : "stopped")} a silo with {lived.Length} of {Sessions} sessions: {replayed} frames replayed " +
            $"({string.Join(", ", sessions.Select(s => s.Replayed))}), {sessions.Sum(s => s.Retried)} calls retried, {SharedMemoryGrainStorage.Instance.Writes} state writes so far");
        if (kill)
        {
            for (int s = 0; s < Sessions; s++)
            {
                int answeredAfterCut = silos[s].Skip(20).Count(silo => silo == victimAddress);
                if (lived.Contains(s))
                    Assert.InRange(sessions[s].Replayed, 1, SessionSiloConfigurator.PersistEvery - 1 + answeredAfterCut);
                else
                    Assert.Equal(0, sessions[s].Replayed);
            }
        }
        else
        {
            Assert.Equal(0, replayed);
        }
        foreach (var session in sessions)
            Assert.Equal(session.Position, await session.CloseAsync());
    }
}
