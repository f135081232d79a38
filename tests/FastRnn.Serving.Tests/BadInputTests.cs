using System.Net;
using System.Net.Http.Json;
using FastRnn.Serving.Protocol;
using Grpc.Core;
using Xunit;

namespace FastRnn.Serving.Tests;

/// <summary>Bad frames get a clear status and leave their session as it was: after any number of refused frames, the
/// session's next outputs are those of a session that never saw them.</summary>
public sealed class BadInputTests
{
    [Fact]
    public async Task RefusedFramesInAStreamAreAnsweredAndTheStreamAndSessionGoOn()
    {
        string folder = Served.Folder();
        string file = Served.DenseFile(folder, 4);
        var options = new ServingOptions { MaxStepsPerFrame = 4 };
        await using var server = await TestServer.StartAsync(options, Served.Dense(options, file), Served.Kjv(options));
        var info = await server.Client.OpenAsync(new OpenRequest { Model = "dense" });
        var tokenSession = await server.Client.OpenAsync(new OpenRequest { Model = "kjv-char" });
        using var call = server.Client.Stream();

        async Task<FrameReply> Send(Frame frame)
        {
            await call.RequestStream.WriteAsync(frame);
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            return call.ResponseStream.Current;
        }
        Frame Features(string session, params float[] values)
        {
            var frame = new Frame { Session = session };
            frame.Features.Add(values);
            return frame;
        }

        var good = await Send(Features(info.Session, 0.1f, 0.2f, 0.3f));
        Assert.Null(good.Error);
        var refused = new (Frame Frame, StatusCode Code, string Says)[]
        {
            (Features(info.Session, 0.1f, 0.2f), StatusCode.InvalidArgument, "3 features per step"),
            (Features(info.Session, 0.1f, float.NaN, 0.3f), StatusCode.InvalidArgument, "NaN"),
            (Features(info.Session, 0.1f, float.PositiveInfinity, 0.3f, 1, 1, 1), StatusCode.InvalidArgument, "Infinity"),
            (Features(info.Session, [.. Enumerable.Repeat(0.5f, 15)]), StatusCode.OutOfRange, "at most 4"),
            (Features(info.Session), StatusCode.InvalidArgument, "no step"),
            (Served.Tokens(info.Session, 1), StatusCode.InvalidArgument, "token ids"),
            (Features("no-such-session", 1, 2, 3), StatusCode.NotFound, "No session"),
            (Served.Tokens(tokenSession.Session, 96), StatusCode.InvalidArgument, "outside"),
            (Served.Tokens(tokenSession.Session, -1), StatusCode.InvalidArgument, "outside"),
            (Features(tokenSession.Session, 1, 2, 3), StatusCode.InvalidArgument, "token ids"),
        };
        foreach (var (frame, code, says) in refused)
        {
            var reply = await Send(frame);
            Assert.NotNull(reply.Error);
            Assert.Equal((int)code, reply.Error.Code);
            Assert.Contains(says, reply.Error.Message, StringComparison.Ordinal);
            Assert.Empty(reply.Outputs);
        }
        var next = await Send(Features(info.Session, 0.4f, 0.5f, 0.6f));
        Assert.Null(next.Error);
        Assert.Equal(2, next.Position);
        await call.RequestStream.CompleteAsync();

        // the same two frames on a session that never saw the refused ones
        var clean = await server.Client.OpenAsync(new OpenRequest { Model = "dense" });
        await server.Client.StepAsync(Features(clean.Session, 0.1f, 0.2f, 0.3f));
        var expected = await server.Client.StepAsync(Features(clean.Session, 0.4f, 0.5f, 0.6f));
        Assert.True(Served.SameBits(expected.Outputs, next.Outputs));

        // a unary call ends with the status instead
        var error = await Assert.ThrowsAsync<RpcException>(async () => await server.Client.StepAsync(Features(info.Session, 1)));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(async () => await server.Client.OpenAsync(new OpenRequest { Model = "nope" }))).StatusCode);
    }

    /// <summary>Policy Zero reads NaN and ∞ as 0 (the frame steps as if it held zeros).</summary>
    [Fact]
    public async Task ThePolicyZeroStepsNonFiniteValuesAsZero()
    {
        string file = Served.DenseFile(Served.Folder(), 5);
        var options = new ServingOptions { NonFinite = NonFinitePolicy.Zero };
        await using var server = await TestServer.StartAsync(options, Served.Dense(options, file));
        var a = await server.Client.OpenAsync(new OpenRequest { Model = "dense" });
        var b = await server.Client.OpenAsync(new OpenRequest { Model = "dense" });
        var withNaN = new Frame { Session = a.Session };
        withNaN.Features.Add([float.NaN, 0.5f, float.NegativeInfinity]);
        var withZero = new Frame { Session = b.Session };
        withZero.Features.Add([0f, 0.5f, 0f]);
        Assert.True(Served.SameBits((await server.Client.StepAsync(withZero)).Outputs, (await server.Client.StepAsync(withNaN)).Outputs));
    }

    /// <summary>A gRPC message over the size limit is refused by the transport (RESOURCE_EXHAUSTED), an HTTP body over it
    /// with 413, malformed JSON with 400; the server goes on serving.</summary>
    [Fact]
    public async Task OversizedAndMalformedMessagesAreRefused()
    {
        var options = new ServingOptions { MaxMessageBytes = 4096 };
        await using var server = await TestServer.StartAsync(options, Served.Kjv(options));
        var info = await server.Client.OpenAsync(new OpenRequest { Model = "kjv-char" });
        var huge = Served.Tokens(info.Session, [.. Enumerable.Repeat(5, 5000)]);
        var error = await Assert.ThrowsAsync<RpcException>(async () => await server.Client.StepAsync(huge));
        Assert.True(error.StatusCode == StatusCode.ResourceExhausted, error.ToString());

        using var big = new StringContent("{\"tokens\":[" + string.Join(",", Enumerable.Repeat(5, 5000)) + "]}", System.Text.Encoding.UTF8, "application/json");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await server.Http.PostAsync($"/v1/sessions/{info.Session}/steps", big)).StatusCode);
        // a JSON body dressed as gRPC is still an HTTP body, with its limit
        using var disguised = new StringContent("{\"tokens\":[5]" + new string(' ', 5000) + "}", System.Text.Encoding.UTF8, "application/grpc+json");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await server.Http.PostAsync($"/v1/sessions/{info.Session}/steps", disguised)).StatusCode);
        using var malformed = new StringContent("{\"tokens\":[5", System.Text.Encoding.UTF8, "application/json");
        var bad = await server.Http.PostAsync($"/v1/sessions/{info.Session}/steps", malformed);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("InvalidArgument", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var wrongType = new StringContent("{\"tokens\":\"five\"}", System.Text.Encoding.UTF8, "application/json");
        Assert.Equal(HttpStatusCode.BadRequest, (await server.Http.PostAsync($"/v1/sessions/{info.Session}/steps", wrongType)).StatusCode);

        var reply = await server.Client.StepAsync(Served.Tokens(info.Session, 5));
        Assert.Equal(1, reply.Position);
        // the limit is per message: a stream carries any number of them
        using (var call = server.Client.Stream())
        {
            for (int i = 0; i < 400; i++)
            {
                await call.RequestStream.WriteAsync(Served.Tokens(info.Session, 1, 2, 3));
                Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
                Assert.Null(call.ResponseStream.Current.Error);
            }
            await call.RequestStream.CompleteAsync();
        }
        var http = await server.Http.PostAsJsonAsync($"/v1/sessions/{info.Session}/steps", new { tokens = new[] { 6 } });
        Assert.Equal(HttpStatusCode.OK, http.StatusCode);
    }
}
