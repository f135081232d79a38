using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using FastRnn.Serving.Protocol;
using Grpc.Core;
using Grpc.Net.Client;

namespace FastRnn.Serving.LoadTest;

/// <summary>
/// <c>load</c>: drives a server with concurrent streaming sessions for a fixed time — each session a gRPC stream that
/// sends a frame, waits for its reply, and sends the next (closed loop) — and prints the frames' latency percentiles,
/// the throughput, and the server's managed allocations and collections per step (from its <c>/v1/stats</c>). With
/// <c>--verify N</c> it records the first N sessions' inputs and outputs and afterwards replays each alone, one frame at
/// a time, comparing every output bit for bit. Without <c>--grpc</c> it starts a server of its own as a child process,
/// or, with <c>--cluster REDIS --silos N</c>, N servers that are silos of one cluster in that Redis (sessions spread over
/// their gateways).
/// </summary>
internal static class LoadGenerator
{
    public static readonly string[] Options = ["grpc", "http", "model", "sessions", "seconds", "steps-per-frame", "batching", "max-batch",
        "max-wait-us", "precision", "verify", "connections", "seed", "cluster", "silos"];

    public static async Task<int> RunAsync(CommandLine line, TextWriter output)
    {
        int sessions = line.Integer("sessions", 16, 1), stepsPerFrame = line.Integer("steps-per-frame", 1, 1);
        int verify = line.Integer("verify", 0, 0), connections = line.Integer("connections", 4, 1), seed = line.Integer("seed", 1);
        double seconds = line.Number("seconds", 10, 0.1);
        string model = line.Text("model") ?? "kjv-char";
        var servers = new List<Process>();
        string[] grpcUrls, httpUrls;
        if (line.Text("grpc") is { } given)
        {
            grpcUrls = given.Split(',');
            httpUrls = (line.Text("http") ?? throw new ArgumentException("load: with --grpc, give the servers' --http addresses too (their statistics).")).Split(',');
        }
        else
        {
            grpcUrls = httpUrls = [];
        }
        try
        {
            if (grpcUrls.Length == 0)
            {
                // servers of our own: one, or --silos N silos of a cluster in the Redis of --cluster
                int silos = line.Text("cluster") is null ? 1 : line.Integer("silos", 1, 1);
                var started = new List<(string Grpc, string Http)>();
                for (int i = 0; i < silos; i++)
                {
                    var (process, grpc, http) = await StartServer(line).ConfigureAwait(false);
                    servers.Add(process);
                    started.Add((grpc, http));
                }
                grpcUrls = [.. started.Select(s => s.Grpc)];
                httpUrls = [.. started.Select(s => s.Http)];
            }
            var https = httpUrls.Select(u => new HttpClient { BaseAddress = new Uri(u) }).ToArray();
            var channels = grpcUrls.SelectMany(u => Enumerable.Range(0, connections).Select(_ => GrpcChannel.ForAddress(u, new GrpcChannelOptions
            {
                HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
            }))).ToArray();
            // session i talks to server i mod n, on one of that server's connections
            var clients = Enumerable.Range(0, sessions).Select(i => new Protocol.Sessions.SessionsClient(
                channels[(i % grpcUrls.Length) * connections + (i / grpcUrls.Length) % connections])).ToArray();
            var infos = new SessionInfo[sessions];
            for (int i = 0; i < sessions; i++)
                infos[i] = await clients[i].OpenAsync(new OpenRequest { Model = model }).ConfigureAwait(false);

            // A short warm-up (every batch size's first use, the JIT), then the measured run.
            await Drive(clients, infos, stepsPerFrame, TimeSpan.FromSeconds(Math.Min(2, seconds / 4)), seed + 1000, null).ConfigureAwait(false);
            var before = await Stats(https).ConfigureAwait(false);
            var records = Enumerable.Range(0, Math.Min(verify, sessions)).Select(_ => new Record()).ToArray();
            // The verified sessions start from zero: fresh sessions for them (the warmed ones closed).
            for (int i = 0; i < records.Length; i++)
            {
                await clients[i].CloseAsync(new SessionRef { Session = infos[i].Session }).ConfigureAwait(false);
                infos[i] = await clients[i].OpenAsync(new OpenRequest { Model = model }).ConfigureAwait(false);
            }
            var clock = Stopwatch.StartNew();
            var latencies = await Drive(clients, infos, stepsPerFrame, TimeSpan.FromSeconds(seconds), seed, records).ConfigureAwait(false);
            double elapsed = clock.Elapsed.TotalSeconds;
            var after = await Stats(https).ConfigureAwait(false);

            long frames = latencies.Length, steps = frames * stepsPerFrame;
            Array.Sort(latencies);
            double Ms(double q) => latencies.Length == 0 ? double.NaN : latencies[Math.Min(latencies.Length - 1, (int)(q * latencies.Length))] * 1000.0 / Stopwatch.Frequency;
            long serverSteps = after.Steps - before.Steps;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{(grpcUrls.Length > 1 ? $"{grpcUrls.Length} servers, " : "")}{sessions} sessions, {stepsPerFrame} step(s) per frame, {elapsed:F1} s: {frames:N0} frames, {steps / elapsed:N0} steps/s; " +
                $"latency per frame p50 {Ms(0.50):F3} ms, p99 {Ms(0.99):F3} ms, p99.9 {Ms(0.999):F3} ms, max {Ms(1.0):F3} ms"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"server: {serverSteps:N0} steps in {after.Batches - before.Batches:N0} batches (mean {(double)serverSteps / Math.Max(1, after.Batches - before.Batches):F1}), " +
                $"{(double)(after.AllocatedBytes - before.AllocatedBytes) / Math.Max(1, serverSteps):N0} managed bytes per step (gRPC, Kestrel and protobuf included), " +
                $"GCs gen0 {after.Gen0 - before.Gen0}, gen1 {after.Gen1 - before.Gen1}, gen2 {after.Gen2 - before.Gen2}"));

            int failed = 0;
            if (records.Length > 0)
            {
                failed = await Replay(clients[0], model, records).ConfigureAwait(false);
                output.WriteLine(failed == 0
                    ? $"replayed {records.Length} sessions alone, {records.Sum(r => r.Frames.Count):N0} frames: every output the same bits"
                    : $"replayed {records.Length} sessions alone: {failed} frames differ");
            }
            for (int i = 0; i < sessions; i++)
                await clients[i].CloseAsync(new SessionRef { Session = infos[i].Session }).ConfigureAwait(false);
            foreach (var channel in channels)
                channel.Dispose();
            foreach (var http in https)
                http.Dispose();
            return failed == 0 ? 0 : 1;
        }
        finally
        {
            foreach (var server in servers)
            {
                server.Kill(entireProcessTree: true);
                await server.WaitForExitAsync().ConfigureAwait(false);
                server.Dispose();
            }
        }
    }

    /// <summary>One recorded session: every frame's tokens and outputs.</summary>
    private sealed class Record
    {
        public List<(int[] Tokens, float[] Features, float[] Outputs)> Frames { get; } = [];
    }

    /// <summary>Every session streams frames until the time is up; returns every frame's latency (Stopwatch ticks).</summary>
    private static async Task<long[]> Drive(Protocol.Sessions.SessionsClient[] clients, SessionInfo[] infos, int stepsPerFrame, TimeSpan duration,
        int seed, Record[]? records)
    {
        long deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var tasks = infos.Select((info, i) => Task.Run(async () =>
        {
            var random = new Random(seed * 100_003 + i);
            var record = records is not null && i < records.Length ? records[i] : null;
            var latencies = new List<long>(4096);
            using var call = clients[i % clients.Length].Stream();
            ulong sequence = 0;
            while (Stopwatch.GetTimestamp() < deadline)
            {
                var frame = new Frame { Session = info.Session, Sequence = ++sequence };
                if (info.TakesTokens)
                    for (int t = 0; t < stepsPerFrame; t++)
                        frame.Tokens.Add(random.Next(info.Vocabulary));
                else
                    for (int t = 0; t < stepsPerFrame * info.InputWidth; t++)
                        frame.Features.Add((float)(random.NextDouble() * 2 - 1));
                long start = Stopwatch.GetTimestamp();
                await call.RequestStream.WriteAsync(frame).ConfigureAwait(false);
                if (!await call.ResponseStream.MoveNext(CancellationToken.None).ConfigureAwait(false))
                    throw new InvalidOperationException("The server ended the stream.");
                var reply = call.ResponseStream.Current;
                latencies.Add(Stopwatch.GetTimestamp() - start);
                if (reply.Error is { } error)
                    throw new InvalidOperationException($"The server refused a frame: {error.Message}");
                record?.Frames.Add(([.. frame.Tokens], [.. frame.Features], [.. reply.Outputs]));
            }
            await call.RequestStream.CompleteAsync().ConfigureAwait(false);
            while (await call.ResponseStream.MoveNext(CancellationToken.None).ConfigureAwait(false)) { }
            return latencies;
        })).ToArray();
        var all = await Task.WhenAll(tasks).ConfigureAwait(false);
        return [.. all.SelectMany(l => l)];
    }

    /// <summary>Each recorded session again, alone, frame by frame on a fresh session: the frames whose outputs differ.</summary>
    private static async Task<int> Replay(Protocol.Sessions.SessionsClient client, string model, Record[] records)
    {
        int differ = 0;
        foreach (var record in records)
        {
            var info = await client.OpenAsync(new OpenRequest { Model = model }).ConfigureAwait(false);
            foreach (var (tokens, features, outputs) in record.Frames)
            {
                var frame = new Frame { Session = info.Session };
                frame.Tokens.Add(tokens);
                frame.Features.Add(features);
                var reply = await client.StepAsync(frame).ConfigureAwait(false);
                if (!reply.Outputs.Select(BitConverter.SingleToInt32Bits).SequenceEqual(outputs.Select(BitConverter.SingleToInt32Bits)))
                    differ++;
            }
            await client.CloseAsync(new SessionRef { Session = info.Session }).ConfigureAwait(false);
        }
        return differ;
    }

    private sealed record ServerStats(long Steps, long Batches, long AllocatedBytes, int Gen0, int Gen1, int Gen2);

    /// <summary>The servers' statistics, summed.</summary>
    private static async Task<ServerStats> Stats(HttpClient[] servers)
    {
        var total = new ServerStats(0, 0, 0, 0, 0, 0);
        foreach (var http in servers)
        {
            using var document = JsonDocument.Parse(await http.GetStringAsync("/v1/stats").ConfigureAwait(false));
            var root = document.RootElement;
            total = new ServerStats(total.Steps + root.GetProperty("steps").GetInt64(), total.Batches + root.GetProperty("batches").GetInt64(),
                total.AllocatedBytes + root.GetProperty("allocatedBytes").GetInt64(), total.Gen0 + root.GetProperty("gen0Collections").GetInt32(),
                total.Gen1 + root.GetProperty("gen1Collections").GetInt32(), total.Gen2 + root.GetProperty("gen2Collections").GetInt32());
        }
        return total;
    }

    /// <summary>A server of this program's own, on two free loopback ports, ready when its /readyz says so.</summary>
    private static async Task<(Process Server, string Grpc, string Http)> StartServer(CommandLine line)
    {
        int httpPort = FreePort(), grpcPort = FreePort();
        var start = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false, RedirectStandardOutput = true };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
            start.ArgumentList.Add(typeof(LoadGenerator).Assembly.Location);
        foreach (var arg in new[] { "serve", "--http-port", httpPort.ToString(CultureInfo.InvariantCulture), "--grpc-port", grpcPort.ToString(CultureInfo.InvariantCulture) })
            start.ArgumentList.Add(arg);
        foreach (var name in new[] { "batching", "max-batch", "max-wait-us", "precision", "cluster" })
            if (line.Text(name) is { } value)
            {
                start.ArgumentList.Add("--" + name);
                start.ArgumentList.Add(value);
            }
        if (line.Text("cluster") is not null)
        {
            // every run a cluster of its own in that Redis
            foreach (var arg in new[] { "--silo-port", FreePort().ToString(CultureInfo.InvariantCulture), "--gateway-port", FreePort().ToString(CultureInfo.InvariantCulture),
                "--cluster-id", $"load-{Environment.ProcessId}" })
                start.ArgumentList.Add(arg);
        }
        start.RedirectStandardError = true;
        var server = Process.Start(start) ?? throw new InvalidOperationException("Could not start the server.");
        // its console, read and dropped (an unread pipe would fill and stall the server's logging)
        server.OutputDataReceived += (_, _) => { };
        server.ErrorDataReceived += (_, _) => { };
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        string http = $"http://127.0.0.1:{httpPort}";
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri(http), Timeout = TimeSpan.FromSeconds(2) };
            var clock = Stopwatch.StartNew();
            while (true)
            {
                if (server.HasExited)
                    throw new InvalidOperationException($"The server exited with code {server.ExitCode}.");
                try
                {
                    if ((await client.GetAsync("/readyz").ConfigureAwait(false)).StatusCode == HttpStatusCode.OK)
                        break;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    // not listening yet
                }
                if (clock.Elapsed > TimeSpan.FromSeconds(60))
                    throw new InvalidOperationException("The server did not become ready in 60 s.");
                await Task.Delay(100).ConfigureAwait(false);
            }
            return (server, $"http://127.0.0.1:{grpcPort}", http);
        }
        catch
        {
            server.Kill(entireProcessTree: true);
            server.Dispose();
            throw;
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
