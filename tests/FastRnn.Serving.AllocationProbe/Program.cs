using FastRnn.Serving;
using FastRnn.Serving.Diagnostics;
using FastRnn.Serving.Models;
using FastRnn.Serving.Sessions;

// Usage: FastRnn.Serving.AllocationProbe <on|off> [--unpooled]
// Six sessions of the shipped model run frames of two steps at once through the step path (frame checks, the session's
// gate, the batcher or the caller's own step, gather, step, scatter, the caller resumed), warmed first; prints the bytes
// the whole process allocated for 100 and for 2,100 frames per session, the least difference of three tries last.
bool batching = args.Length == 0 || args[0] == "on";
// Without batching a driver steps on its own thread pool thread until its frames are done, so six drivers on a small
// machine starve the pool, and the threads it injects while a run is measured (half a second apart) are counted as
// that run's bytes (tens of kilobytes now and then). Every driver gets its thread from the start instead.
ThreadPool.GetMinThreads(out int workers, out int ports);
ThreadPool.SetMinThreads(Math.Max(workers, 6 + Environment.ProcessorCount), ports);
var options = new ServingOptions { Batching = batching, MaxBatch = 8, MaxWait = TimeSpan.Zero };
string file = Path.Combine(AppContext.BaseDirectory, "models", "kjv-char.safetensors");
using var model = new ServedModel("kjv-char", () => new KjvCharModel(1, 1), file, options);
var store = new SessionStore(new ModelCatalog([model]), options, ServingMetrics.Shared);
var frames = new FrameRunner(store, options, ServingMetrics.Shared);
var sessions = Enumerable.Range(0, 6).Select(_ => store.Open("kjv-char")).ToArray();
int[][] tokens = [.. Enumerable.Range(0, 6).Select(s => new[] { s, s + 1 })];
float[] features = [];

async Task Drive(Session session, int[] frame, int count)
{
    var sink = new Discard();
    for (int i = 0; i < count; i++)
        await frames.RunAsync(session.Id, frame, features, sink);
}

long Measure(int count)
{
    long before = GC.GetTotalAllocatedBytes(precise: true);
    Task.WhenAll(sessions.Select((s, i) => Task.Run(() => Drive(s, tokens[i], count)))).GetAwaiter().GetResult();
    return GC.GetTotalAllocatedBytes(precise: true) - before;
}

Measure(300);
Measure(300);
long least = long.MaxValue;
for (int attempt = 0; attempt < 3; attempt++)
    least = Math.Min(least, Measure(2100) - Measure(100));
Console.WriteLine($"frames 12000 bytes {least}");
return 0;

internal readonly struct Discard : IFrameOutput
{
    public void Write(ReadOnlySpan<float> outputs) { }
}
