using Xunit;

namespace FastRnn.Tests;

/// <summary>The compute pool: every index runs exactly once at any thread count (more threads than cores included),
/// failures reach the caller and leave the pool usable, nested and concurrent dispatches are safe; and an optimizer on a
/// pool gives the same bits as on one thread.</summary>
public class ComputePoolTests
{
    private sealed class CountingWork(int length) : IParallelWork
    {
        public readonly int[] Hits = new int[length];
        public int FailAt = -1;

        public void Run(int index)
        {
            if (index == FailAt)
                throw new InvalidOperationException($"index {index} failed");
            Interlocked.Increment(ref Hits[index]);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(8)]
    public void EveryIndexRunsExactlyOnce(int threads)
    {
        using var pool = new ComputePool(threads);
        Assert.Equal(threads, pool.Threads);
        foreach (int count in new[] { 0, 1, 2, 3, 7, 64, 1000 })
            for (int round = 0; round < 20; round++)
            {
                var work = new CountingWork(count);
                pool.For(count, work);
                Assert.All(work.Hits, h => Assert.Equal(1, h));
            }
    }

    [Fact]
    public void AFailureReachesTheCallerAndThePoolKeepsWorking()
    {
        using var pool = new ComputePool(3);
        var failing = new CountingWork(100) { FailAt = 37 };
        var e = Assert.Throws<InvalidOperationException>(() => pool.For(100, failing));
        Assert.Equal("index 37 failed", e.Message);
        var work = new CountingWork(100);
        pool.For(100, work);
        Assert.All(work.Hits, h => Assert.Equal(1, h));
    }

    /// <summary>Parts that sleep past the spinning (0.2 ms) before they count or cross a barrier, so the caller, the
    /// workers and the barrier's waiters all park and must be woken.</summary>
    private sealed class SleepyWork(int parts) : IParallelWork
    {
        public readonly ComputeBarrier Barrier = new();
        public readonly int[] Hits = new int[parts];
        public int Sleeper = -1;

        public void Run(int index)
        {
            if (index == Sleeper)
                Thread.Sleep(2);
            Interlocked.Increment(ref Hits[index]);
            Barrier.SignalAndWait();
            if (index == (Sleeper + 1) % Hits.Length)
                Thread.Sleep(2);
            Barrier.SignalAndWait();
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task ParkedCallersWorkersAndBarrierWaitersAreWoken(int threads)
    {
        var pool = new ComputePool(threads); // not disposed if a thread hangs: Dispose would wait for it
        var work = new SleepyWork(threads);
        var run = Task.Run(() =>
        {
            for (int round = 0; round < 30; round++)
            {
                if (round % 3 == 0)
                    Thread.Sleep(2); // the workers park between dispatches
                work.Sleeper = round % (threads + 1) - 1; // none, the caller's part, or a worker's
                work.Barrier.Reset(threads);
                pool.Together(threads, work);
            }
        });
        var finished = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(60)));
        Assert.True(finished == run, "a parked thread was not woken");
        await run;
        pool.Dispose();
        Assert.All(work.Hits, h => Assert.Equal(30, h));
    }

    [Fact]
    public void ADispatchInsideAnIndexRunsInOrderOnThatThread()
    {
        using var pool = new ComputePool(4);
        var inners = Enumerable.Range(0, 8).Select(_ => new CountingWork(5)).ToArray();
        var outer = new NestedWork(pool, inners);
        pool.For(inners.Length, outer);
        Assert.All(inners, inner => Assert.All(inner.Hits, h => Assert.Equal(1, h)));
    }

    private sealed class NestedWork(ComputePool pool, CountingWork[] inners) : IParallelWork
    {
        public void Run(int index) => pool.For(inners[index].Hits.Length, inners[index]);
    }

    [Fact]
    public void DispatchesFromSeveralThreadsTakeTurns()
    {
        using var pool = new ComputePool(2);
        var failures = new List<Exception>();
        var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
        {
            try
            {
                for (int round = 0; round < 200; round++)
                {
                    var work = new CountingWork(33);
                    pool.For(33, work);
                    if (work.Hits.Any(h => h != 1))
                        throw new InvalidOperationException("an index ran twice or never");
                }
            }
            catch (Exception e)
            {
                lock (failures)
                    failures.Add(e);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Empty(failures);
    }

    /// <summary>Records the processor each part ran on (the caller's part too).</summary>
    private sealed class WhereWork : IParallelWork
    {
        public readonly int[] Processor = new int[2];
        public readonly int[] ThreadId = new int[2];
        public readonly ComputeBarrier Barrier = new();

        public void Run(int index)
        {
            Barrier.SignalAndWait(); // both parts running at once, so each is on its own thread
            Processor[index] = Thread.GetCurrentProcessorId();
            ThreadId[index] = Environment.CurrentManagedThreadId;
        }
    }

    [Fact]
    public void WorkersArePinnedToTheProcessorsAfterTheFirst()
    {
        if (!OperatingSystem.IsLinux() || Environment.ProcessorCount < 2)
            return; // pinning is Linux-only, and needs a second processor
        // the processors this process may use ("Cpus_allowed_list: 0-1" or "0,2,5-7")
        string list = File.ReadAllLines("/proc/self/status").Single(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal)).Split(':')[1].Trim();
        int[] allowed = [.. list.Split(',').SelectMany(range => range.Split('-') is [var a, var b]
            ? Enumerable.Range(int.Parse(a), int.Parse(b) - int.Parse(a) + 1) : [int.Parse(range)])];
        using var pool = new ComputePool(2);
        Assert.True(pool.PinsWorkers);
        var work = new WhereWork();
        for (int round = 0; round < 20; round++)
        {
            work.Barrier.Reset(2);
            pool.Together(2, work);
            // the part the worker ran (not on this thread) ran on the second allowed processor
            int workerPart = work.ThreadId[0] == Environment.CurrentManagedThreadId ? 1 : 0;
            Assert.NotEqual(Environment.CurrentManagedThreadId, work.ThreadId[workerPart]);
            Assert.Equal(allowed[1], work.Processor[workerPart]);
        }
        using var unpinned = new ComputePool(2, pinWorkers: false);
        Assert.False(unpinned.PinsWorkers);
    }

    [Fact]
    public void DisposeStopsTheWorkersAndRefusesMoreWork()
    {
        var pool = new ComputePool(3);
        pool.For(10, new CountingWork(10));
        pool.Dispose();
        pool.Dispose();
        Assert.Throws<ObjectDisposedException>(() => pool.For(10, new CountingWork(10)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ComputePool(-1));
        Assert.Equal(Environment.ProcessorCount, new ComputePool().Threads);
    }

    public static TheoryData<string> Optimizers() => ["sgd", "nesterov", "adam", "adamw", "rmsprop", "asgd"];

    private static Optimizer Create(string kind, IRnnModel model) => kind switch
    {
        "sgd" => new Sgd(model, 0.05f, momentum: 0.9f, weightDecay: 1e-3f),
        "nesterov" => new Sgd(model, 0.05f, momentum: 0.9f, nesterov: true),
        "adam" => new Adam(model, 1e-2f, weightDecay: 1e-3f),
        "adamw" => new Adam(model, 1e-2f, weightDecay: 1e-2f, decoupled: true),
        "rmsprop" => new RmsProp(model, 1e-2f, momentum: 0.5f, centered: true),
        _ => new Asgd(model, 1e-2f, t0: 5),
    };

    /// <summary>20 steps with clipping (value, per-tensor and global norm), penalties and every constraint kind, and one
    /// non-finite gradient skipped: the weights after each step are bit-identical at 1, 2, 3, 4 and 8 threads.</summary>
    [Theory]
    [MemberData(nameof(Optimizers))]
    public void AnOptimizerOnAPoolGivesTheSameBitsAsOneThread(string kind)
    {
        var reference = Run(kind, pool: null);
        foreach (int threads in new[] { 1, 2, 3, 4, 8 })
        {
            using var pool = new ComputePool(threads);
            var weights = Run(kind, pool);
            for (int step = 0; step < reference.Count; step++)
                Assert.True(reference[step].AsSpan().SequenceEqual(weights[step]), $"{kind}: the weights after step {step + 1} differ at {threads} threads");
        }
    }

    private static List<float[]> Run(string kind, ComputePool? pool)
    {
        var models = new IRnnModel[] { new ConstrainedModel(1, 1, seed: 3), new PenalizedModel(1, 1, seed: 4) };
        var result = new List<float[]>();
        foreach (var model in models)
        {
            var optimizer = Create(kind, model);
            optimizer.Pool = pool;
            optimizer.Clipping.MaxValue = 0.8f;
            optimizer.Clipping.MaxTensorNorm = 2f;
            optimizer.Clipping.MaxGlobalNorm = 3f;
            optimizer.Clipping.NonFinite = NonFiniteGradientPolicy.SkipStep;
            var random = new Random(17);
            for (int step = 0; step < 20; step++)
            {
                var g = model.Gradients;
                foreach (var tensor in model.Tensors)
                    for (int i = 0; i < tensor.Count; i++)
                        g[tensor.ArenaIndexOf(i)] = (float)(random.NextDouble() - 0.5);
                if (step == 7)
                    g[model.Tensors[^1].ArenaIndexOf(0)] = float.NaN;
                bool applied = optimizer.Step();
                Assert.Equal(step != 7, applied);
                result.Add(model.Parameters.ToArray());
            }
        }
        return result;
    }
}
