using Xunit;

namespace FastRnn.Tests;

/// <summary>Tests that need both processors to themselves: they run after every parallel test of this assembly, one at a
/// time.</summary>
[CollectionDefinition(nameof(AloneOnTheMachine), DisableParallelization = true)]
public sealed class AloneOnTheMachine;

/// <summary>A pool measures how far apart its threads are when it is created (a counter bounced between the caller and
/// its first worker) and streams shared writes past the caches when they are far.</summary>
[Collection(nameof(AloneOnTheMachine))]
public class HandOverProbeTests
{
    [Fact]
    public void APoolMeasuresHowFarApartItsThreadsAreAndStreamsSharedWritesWhenFar()
    {
        using var single = new ComputePool(1);
        Assert.Equal(0, single.HandOverNanoseconds);
        Assert.False(single.StreamsSharedWrites);
        if (Environment.ProcessorCount < 2)
            return; // a ping-pong needs two processors at once
        // a line's trip between two cores: tens to hundreds of nanoseconds here, never nothing; at most the probe's limit
        // (200 ms for 400 trips). NaN when the worker got no processor to answer on: this test runs with no other test of
        // this assembly beside it, but another test process may hold the cores, so a pool gets ten tries, a pause apart.
        using var pool = MeasuredPool();
        Assert.InRange(pool.HandOverNanoseconds, 5, 500_000);
        Assert.Equal(pool.HandOverNanoseconds >= ComputePool.FarHandOverNanoseconds, pool.StreamsSharedWrites);
        pool.StreamsSharedWrites = !pool.StreamsSharedWrites; // the caller may choose
        Assert.Equal(pool.HandOverNanoseconds < ComputePool.FarHandOverNanoseconds, pool.StreamsSharedWrites);
        // created inside another pool's running index, a pool cannot run two parts at once to measure: NaN, not streaming
        var inner = new CreatePoolWork();
        pool.Together(2, inner);
        Assert.True(double.IsNaN(inner.HandOver));
        Assert.False(inner.Streams);
    }

    private static ComputePool MeasuredPool()
    {
        var pool = new ComputePool(2);
        for (int attempt = 1; attempt < 10 && double.IsNaN(pool.HandOverNanoseconds); attempt++)
        {
            pool.Dispose();
            Thread.Sleep(200);
            pool = new ComputePool(2);
        }
        return pool;
    }

    private sealed class CreatePoolWork : IParallelWork
    {
        public double HandOver;
        public bool Streams;

        public void Run(int index)
        {
            if (index != 0)
                return;
            using var nested = new ComputePool(2);
            (HandOver, Streams) = (nested.HandOverNanoseconds, nested.StreamsSharedWrites);
        }
    }
}
