using System.Net;
using System.Net.Sockets;
using FastRnn.Serving;
using FastRnn.Serving.Models;
using FastRnn.Serving.Protocol;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;

namespace FastRnn.Serving.Tests;

// Models the tests serve beside the shipped one: a dense stack (LSTM then GRU) and one that cannot stream.
[RnnModel, DenseInput(3), Lstm(12), Gru(7), Head(2), Loss(LossKind.MeanSquaredError)]
public sealed partial class DenseServedModel;

[RnnModel, DenseInput(3), Lstm(4, Bidirectional = true), Head(2), Loss(LossKind.MeanSquaredError)]
public sealed partial class BidirectionalModel;

/// <summary>A server on two free loopback ports with a gRPC client and an HTTP client; stopped on dispose.</summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly GrpcChannel _channel;

    private TestServer(WebApplication app, int httpPort, int grpcPort)
    {
        _app = app;
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}", new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
            MaxSendMessageSize = null,
        });
        Client = new Protocol.Sessions.SessionsClient(_channel);
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}") };
    }

    public Protocol.Sessions.SessionsClient Client { get; }
    public HttpClient Http { get; }
    public IServiceProvider Services => _app.Services;

    public static async Task<TestServer> StartAsync(ServingOptions options, params ServedModel[] models)
    {
        int http = FreePort(), grpc = FreePort();
        var app = ServingHost.Build(options, models, new ServingEndpoints(IPAddress.Loopback, http, grpc));
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            foreach (var model in models)
                model.Dispose();
            throw;
        }
        return new TestServer(app, http, grpc);
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>A loopback port nothing listens on now.</summary>
    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}

/// <summary>Weights files and served models for the tests.</summary>
public static class Served
{
    /// <summary>The shipped model's file (copied beside the tests by the server project).</summary>
    public static string ShippedFile => Path.Combine(AppContext.BaseDirectory, "models", "kjv-char.safetensors");

    /// <summary>A folder of its own for a test's files.</summary>
    public static string Folder()
    {
        string folder = Path.Combine(Path.GetTempPath(), "fastrnn-serving-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        return folder;
    }

    /// <summary>A kjv-char weights file with freshly initialized weights (seed <paramref name="seed"/>).</summary>
    public static string KjvFile(string folder, ulong seed)
    {
        string path = Path.Combine(folder, $"kjv-{seed}.safetensors");
        new KjvCharModel(1, 1, seed).SaveSafetensors(path);
        return path;
    }

    public static string DenseFile(string folder, ulong seed)
    {
        string path = Path.Combine(folder, $"dense-{seed}.safetensors");
        new DenseServedModel(1, 1, seed).SaveSafetensors(path);
        return path;
    }

    public static ServedModel Kjv(ServingOptions options, string? file = null, string name = "kjv-char", WeightPrecision? precision = null) =>
        new(name, () => new KjvCharModel(1, 1), file ?? ShippedFile, options, precision);

    public static ServedModel Dense(ServingOptions options, string file, string name = "dense") =>
        new(name, () => new DenseServedModel(1, 1), file, options);

    /// <summary>What the server should answer: the frames of one session stepped by a model of the file's weights, as
    /// row 0 of a 2-row state (the server's rule: a row of an even batch).</summary>
    public static float[][] Reference(ISequenceModel model, IEnumerable<int[]> tokenFrames)
    {
        var state = model.NewState(2);
        var output = new float[2 * model.OutputWidth];
        var replies = new List<float[]>();
        foreach (var frame in tokenFrames)
        {
            var outputs = new List<float>();
            foreach (int token in frame)
            {
                model.StepTokens([token, 0], state, output);
                outputs.AddRange(output.AsSpan(0, model.OutputWidth));
            }
            replies.Add([.. outputs]);
        }
        return [.. replies];
    }

    public static ISequenceModel LoadKjv(string path)
    {
        var model = new KjvCharModel(1, 1);
        model.LoadSafetensors(path);
        return model;
    }

    public static bool SameBits(IReadOnlyList<float> a, IReadOnlyList<float> b) =>
        a.Count == b.Count && a.Select(BitConverter.SingleToInt32Bits).SequenceEqual(b.Select(BitConverter.SingleToInt32Bits));

    public static Frame Tokens(string session, params int[] tokens)
    {
        var frame = new Frame { Session = session };
        frame.Tokens.Add(tokens);
        return frame;
    }
}
