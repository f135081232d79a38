using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FastRnn.Serving.Protocol;
using Grpc.Core;
using Xunit;

namespace FastRnn.Serving.Tests;

public sealed class SessionTests
{
    [Fact]
    public async Task HealthReadinessAndModelsAnswer()
    {
        var options = new ServingOptions();
        await using var server = await TestServer.StartAsync(options, Served.Kjv(options));
        Assert.Equal("ok", await server.Http.GetStringAsync("/healthz"));
        Assert.Equal("ready", await server.Http.GetStringAsync("/readyz"));
        var models = await server.Client.ModelsAsync(new ModelsRequest());
        var model = Assert.Single(models.Models);
        Assert.Equal(("kjv-char", 1L, 96, true), (model.Name, model.WeightsVersion, model.OutputWidth, model.TakesTokens));
        using var json = JsonDocument.Parse(await server.Http.GetStringAsync("/v1/models"));
        Assert.Equal("kjv-char.safetensors", json.RootElement[0].GetProperty("weightsFile").GetString());
    }

    /// <summary>The HTTP face: open, a frame by ids or by text (the vocabulary in the weights file), close; the same
    /// outputs as gRPC's.</summary>
    [Fact]
    public async Task TheHttpFaceStepsLikeTheGrpcOne()
    {
        var options = new ServingOptions();
        await using var server = await TestServer.StartAsync(options, Served.Kjv(options));
        var opened = await server.Http.PostAsJsonAsync("/v1/sessions", new { model = "kjv-char" });
        Assert.Equal(HttpStatusCode.Created, opened.StatusCode);
        string session = JsonDocument.Parse(await opened.Content.ReadAsStringAsync()).RootElement.GetProperty("session").GetString()!;
        var stepped = await server.Http.PostAsJsonAsync($"/v1/sessions/{session}/steps", new { text = "In the" });
        using var reply = JsonDocument.Parse(await stepped.Content.ReadAsStringAsync());
        Assert.Equal(6, reply.RootElement.GetProperty("steps").GetInt32());
        var outputs = reply.RootElement.GetProperty("outputs").EnumerateArray().Select(e => e.GetSingle()).ToArray();

        var tokens = "In the".Select(c => TokenOf(c)).ToArray();
        var info = await server.Client.OpenAsync(new OpenRequest { Model = "kjv-char" });
        var grpc = await server.Client.StepAsync(Served.Tokens(info.Session, tokens));
        Assert.True(Served.SameBits(grpc.Outputs, outputs));
        // the model, trained on the KJV, expects a space after "In the"
        Assert.Equal(TokenOf(' '), Enumerable.Range(0, 96).MaxBy(j => outputs[5 * 96 + j]));

        var closed = await server.Http.DeleteAsync($"/v1/sessions/{session}");
        Assert.Equal(HttpStatusCode.OK, closed.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Http.DeleteAsync($"/v1/sessions/{session}")).StatusCode);
        var unknown = await server.Http.PostAsJsonAsync($"/v1/sessions/{session}/steps", new { text = "x" });
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await server.Http.PostAsJsonAsync($"/v1/sessions/{info.Session}/steps", new { text = "ж" })).StatusCode);
    }

    private static int TokenOf(char c)
    {
        var header = ReadHeader(Served.ShippedFile);
        return header["fastrnn.tokens"].IndexOf(c, StringComparison.Ordinal);
    }

    private static Dictionary<string, string> ReadHeader(string path)
    {
        Safetensors.Read(path, out var metadata);
        return metadata;
    }

    [Fact]
    public async Task SessionsAreLimitedAndIdleOnesExpire()
    {
        var options = new ServingOptions { MaxSessions = 3, SessionIdleTimeout = TimeSpan.FromSeconds(3) };
        await using var server = await TestServer.StartAsync(options, Served.Kjv(options));
        var sessions = new List<string>();
        for (int i = 0; i < 3; i++)
            sessions.Add((await server.Client.OpenAsync(new OpenRequest { Model = "kjv-char" })).Session);
        await server.Client.StepAsync(Served.Tokens(sessions[0], 1));
        var full = await Assert.ThrowsAsync<RpcException>(async () => await server.Client.OpenAsync(new OpenRequest { Model = "kjv-char" }));
        Assert.Equal(StatusCode.ResourceExhausted, full.StatusCode);
        await server.Client.StepAsync(Served.Tokens(sessions[0], 1));
        Assert.Equal(HttpStatusCode.TooManyRequests, (await server.Http.PostAsJsonAsync("/v1/sessions", new { model = "kjv-char" })).StatusCode);

        // keep one busy; the other two go idle and expire, which frees their places
        var deadline = DateTime.UtcNow.AddSeconds(6);
        while (DateTime.UtcNow < deadline)
        {
            await server.Client.StepAsync(Served.Tokens(sessions[0], 1));
            await Task.Delay(50);
        }
        var gone = await Assert.ThrowsAsync<RpcException>(async () => await server.Client.StepAsync(Served.Tokens(sessions[1], 1)));
        Assert.Equal(StatusCode.NotFound, gone.StatusCode);
        long position = (await server.Client.StepAsync(Served.Tokens(sessions[0], 1))).Position;
        Assert.Equal(position + 1, (await server.Client.StepAsync(Served.Tokens(sessions[0], 2))).Position);
        await server.Client.OpenAsync(new OpenRequest { Model = "kjv-char" });
        await server.Client.OpenAsync(new OpenRequest { Model = "kjv-char" });
    }

    /// <summary>A client that vanishes mid-stream (its call cancelled, its connection gone) leaves the server serving
    /// everyone else, and its session stays, whole, for a client that comes back with its id.</summary>
    [Fact]
    public async Task AVanishedClientLeavesEveryoneElseAndItsSessionWhole()
    {
        var options = new ServingOptions();
        await using var server = await TestServer.StartAsync(options, Served.Kjv(options));
        var other = await server.Client.OpenAsync(new OpenRequest { Model = "kjv-char" });
        var leaving = await server.Client.OpenAsync(new OpenRequest { Model = "kjv-char" });
        using (var gone = new CancellationTokenSource())
        {
            var call = server.Client.Stream(cancellationToken: gone.Token);
            await call.RequestStream.WriteAsync(Served.Tokens(leaving.Session, 1, 2));
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            await call.RequestStream.WriteAsync(Served.Tokens(leaving.Session, 3));
            await gone.CancelAsync();
            call.Dispose();
        }
        for (int i = 0; i < 20; i++)
            Assert.Null((await server.Client.StepAsync(Served.Tokens(other.Session, i))).Error);

        // the session took 2 or 3 steps (the last frame may or may not have run); it continues from there
        var back = await server.Client.StepAsync(Served.Tokens(leaving.Session, 4));
        Assert.True(back.Position is 3 or 4, $"position {back.Position}");
        var model = Served.LoadKjv(Served.ShippedFile);
        int[] seen = back.Position == 3 ? [1, 2, 4] : [1, 2, 3, 4];
        Assert.True(Served.SameBits(Served.Reference(model, [seen])[0][^96..], back.Outputs));
    }
}
