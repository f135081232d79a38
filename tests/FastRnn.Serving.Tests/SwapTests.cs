using System.Net;
using System.Net.Http.Json;
using FastRnn.Serving.Models;
using FastRnn.Serving.Protocol;
using Xunit;

namespace FastRnn.Serving.Tests;

public sealed class SwapTests
{
    /// <summary>A swap serves the new weights from the next step on; the session keeps its state: its steps after the
    /// swap are the new weights stepping the state the old ones left.</summary>
    [Fact]
    public async Task ASwapServesTheNewWeightsFromTheSessionsState()
    {
        string folder = Served.Folder();
        string v1 = Served.KjvFile(folder, 1), v2 = Served.KjvFile(folder, 2);
        var options = new ServingOptions { ModelDirectory = folder };
        await using var server = await TestServer.StartAsync(options, Served.Kjv(options, v1));
        var info = await server.Client.OpenAsync(new OpenRequest { Model = "kjv-char" });
        var before = await server.Client.StepAsync(Served.Tokens(info.Session, 3, 1, 4, 1, 5));
        Assert.Equal(1, before.WeightsVersion);

        var swapped = await server.Http.PostAsJsonAsync("/v1/models/kjv-char/swap", new { file = Path.GetFileName(v2) });
        Assert.Equal(HttpStatusCode.OK, swapped.StatusCode);
        var after = await server.Client.StepAsync(Served.Tokens(info.Session, 9, 2, 6));
        Assert.Equal(2, after.WeightsVersion);
        Assert.Equal(8, after.Position);

        var old = Served.LoadKjv(v1);
        var fresh = Served.LoadKjv(v2);
        var state = old.NewState(2);
        var output = new float[2 * 96];
        var expected = new List<float>();
        foreach (int token in new[] { 3, 1, 4, 1, 5 })
            old.StepTokens([token, 0], state, output);
        foreach (int token in new[] { 9, 2, 6 })
        {
            fresh.StepTokens([token, 0], state, output);
            expected.AddRange(output.AsSpan(0, 96));
        }
        Assert.True(Served.SameBits(expected, after.Outputs));
        // and they differ from what the old weights would have said
        var stale = Served.Reference(old, [[3, 1, 4, 1, 5, 9, 2, 6]])[0][(5 * 96)..];
        Assert.False(Served.SameBits(stale, after.Outputs));
    }

    /// <summary>Files that do not fit are refused with 422 and a reason; the old weights keep serving, unchanged.</summary>
    [Fact]
    public async Task AFileThatDoesNotFitIsRefusedAndTheOldWeightsKeepServing()
    {
        string folder = Served.Folder();
        string v1 = Served.KjvFile(folder, 1);
        string dense = Served.DenseFile(folder, 1);
        string corrupt = Path.Combine(folder, "corrupt.safetensors");
        var bytes = File.ReadAllBytes(v1);
        File.WriteAllBytes(corrupt, bytes[..(bytes.Length - 10)]);
        var poisoned = new KjvCharModel(1, 1, 3);
        poisoned.Parameters[1234] = float.NaN;
        string nan = Path.Combine(folder, "nan.safetensors");
        poisoned.SaveSafetensors(nan);
        var options = new ServingOptions { ModelDirectory = folder };
        await using var server = await TestServer.StartAsync(options, Served.Kjv(options, v1));
        var info = await server.Client.OpenAsync(new OpenRequest { Model = "kjv-char" });
        var first = await server.Client.StepAsync(Served.Tokens(info.Session, 7, 8));

        foreach (var (file, reason) in new[] { (dense, "the model does not"), (corrupt, "readable"), (nan, "non-finite"), ("missing.safetensors", "No weights file"), ("../x", "outside") })
        {
            var response = await server.Http.PostAsJsonAsync("/v1/models/kjv-char/swap", new { file });
            Assert.True(response.StatusCode is HttpStatusCode.UnprocessableEntity or HttpStatusCode.BadRequest, $"{file}: {response.StatusCode}");
            string body = await response.Content.ReadAsStringAsync();
            Assert.True(body.Contains(reason, StringComparison.Ordinal), body);
        }
        var next = await server.Client.StepAsync(Served.Tokens(info.Session, 9));
        Assert.Equal(1, next.WeightsVersion);
        var expected = Served.Reference(Served.LoadKjv(v1), [[7, 8, 9]])[0][(2 * 96)..];
        Assert.True(Served.SameBits(expected, next.Outputs));
        Assert.Equal(HttpStatusCode.NotFound, (await server.Http.PostAsJsonAsync("/v1/models/nope/swap", new { file = "x" })).StatusCode);
    }

    /// <summary>Swaps under load: every step runs on one version, each session's versions never go back, and every
    /// reply is the bits of its session's steps replayed alone with the version the reply names.</summary>
    [Fact]
    public async Task SwapsUnderLoadNeverMixVersionsOrCorruptAState()
    {
        string folder = Served.Folder();
        string[] files = [Served.KjvFile(folder, 1), Served.KjvFile(folder, 2), Served.KjvFile(folder, 3)];
        var options = new ServingOptions { ModelDirectory = folder, MaxBatch = 8 };
        await using var server = await TestServer.StartAsync(options, Served.Kjv(options, files[0]));
        using var stop = new CancellationTokenSource();
        var sessions = Enumerable.Range(0, 6).Select(s => Task.Run(async () =>
        {
            var info = await server.Client.OpenAsync(new OpenRequest { Model = "kjv-char" });
            using var call = server.Client.Stream();
            var random = new Random(s);
            var steps = new List<(int Token, long Version, float[] Outputs)>();
            while (!stop.IsCancellationRequested || steps.Count < 20)
            {
                int token = random.Next(96);
                await call.RequestStream.WriteAsync(Served.Tokens(info.Session, token));
                Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
                var reply = call.ResponseStream.Current;
                Assert.Null(reply.Error);
                steps.Add((token, reply.WeightsVersion, [.. reply.Outputs]));
            }
            await call.RequestStream.CompleteAsync();
            return steps;
        })).ToArray();
        for (int v = 1; v < 3; v++)
        {
            await Task.Delay(150);
            var response = await server.Http.PostAsJsonAsync("/v1/models/kjv-char/swap", new { file = Path.GetFileName(files[v]) });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        await Task.Delay(150);
        await stop.CancelAsync();
        var models = files.Select(Served.LoadKjv).ToArray();
        int versionsSeen = 0;
        foreach (var steps in await Task.WhenAll(sessions))
        {
            Assert.True(steps.Zip(steps.Skip(1)).All(p => p.First.Version <= p.Second.Version), "a session's version went back");
            versionsSeen = Math.Max(versionsSeen, steps.Select(s => s.Version).Distinct().Count());
            var state = models[0].NewState(2);
            var output = new float[2 * 96];
            foreach (var (token, version, outputs) in steps)
            {
                models[version - 1].StepTokens([token, 0], state, output);
                Assert.True(Served.SameBits(output.AsSpan(0, 96).ToArray(), outputs));
            }
        }
        Assert.True(versionsSeen >= 2, "no session saw a swap");
    }
}
