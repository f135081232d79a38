using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using FastRnn.Serving.Cluster;
using FastRnn.Serving.Protocol;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Xunit;

namespace FastRnn.Serving.Tests;

/// <summary>
/// The deployment as configured for real: servers that are silos of one Orleans cluster whose membership and session
/// state live in Redis (Orleans' Redis clustering and persistence providers). Two servers in this process, one Redis of
/// the test's own (redis-server from Debian's packages, which .ci/run installs; where it is not installed and CI is not
/// set, the test says so and does nothing).
/// </summary>
public sealed class RedisClusterTests
{
    [Fact]
    public async Task ASessionOpenedOnOneServerContinuesOnAnotherAfterTheFirstStops()
    {
        using var redis = RedisServer.Start();
        if (redis is null)
            return;
        string clusterId = "test-" + Guid.NewGuid().ToString("N")[..8];
        var options = new ServingOptions();
        var persistence = new SessionPersistence { EverySteps = 4 };
        var (a, aGrpc) = await StartSilo(redis.ConnectionString, clusterId, options, persistence);
        await using var stopA = new Stopper(a);
        var (b, bGrpc) = await StartSilo(redis.ConnectionString, clusterId, options, persistence);
        await using var stopB = new Stopper(b);
        using var aChannel = GrpcChannel.ForAddress(aGrpc);
        using var bChannel = GrpcChannel.ForAddress(bGrpc);
        var viaA = new Protocol.Sessions.SessionsClient(aChannel);
        var viaB = new Protocol.Sessions.SessionsClient(bChannel);

        var info = await viaA.OpenAsync(new OpenRequest { Model = "kjv-char" });
        var frames = Enumerable.Range(0, 12).Select(i => new[] { (i * 7) % 96, (i * 13 + 5) % 96 }).ToArray();
        var outputs = new List<float[]>();
        long position = 0, persisted = 0;
        async Task Send(Protocol.Sessions.SessionsClient client, int f)
        {
            var frame = Served.Tokens(info.Session, frames[f]);
            frame.Position = position;
            var reply = await client.StepAsync(frame);
            Assert.False(reply.Rewound, $"frame {f} rewound to {reply.Position}");
            outputs.Add([.. reply.Outputs]);
            position = reply.Position;
            persisted = reply.PersistedPosition;
        }
        for (int f = 0; f < 6; f++)
            await Send(f % 2 == 0 ? viaA : viaB, f); // either gateway reaches the grain
        Assert.True(persisted >= 8, $"persisted up to {persisted}");

        // the server the session lives on stops (gracefully: its grains persist as they deactivate)
        await stopA.DisposeAsync();
        for (int f = 6; f < 12; f++)
            await Send(viaB, f);
        Assert.Equal(24, position);

        var expected = Served.Reference(Served.LoadKjv(Served.ShippedFile), frames);
        for (int f = 0; f < frames.Length; f++)
            Assert.True(Served.SameBits(expected[f], outputs[f]), $"frame {f}");
        Assert.Equal(24, (await viaB.CloseAsync(new SessionRef { Session = info.Session })).Steps);
    }

    /// <summary>Stops and disposes a server once, whether the test got there or not.</summary>
    private sealed class Stopper(WebApplication app) : IAsyncDisposable
    {
        private bool _stopped;

        public async ValueTask DisposeAsync()
        {
            if (_stopped)
                return;
            _stopped = true;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private static async Task<(WebApplication App, string Grpc)> StartSilo(string redis, string clusterId, ServingOptions options, SessionPersistence persistence)
    {
        int http = TestServer.FreePort(), grpc = TestServer.FreePort(), silo = TestServer.FreePort(), gateway = TestServer.FreePort();
        var app = ServingHost.Build(options, [Served.Kjv(options)], new ServingEndpoints(IPAddress.Loopback, http, grpc),
            cluster: new ClusterSetup(redis, silo, gateway, clusterId, persistence));
        await app.StartAsync();
        return (app, $"http://127.0.0.1:{grpc}");
    }

    /// <summary>A redis-server of the test's own on a free port, without persistence; null (after saying why) where
    /// Redis is not installed outside CI.</summary>
    private sealed class RedisServer : IDisposable
    {
        private readonly Process _process;

        private RedisServer(Process process, int port)
        {
            _process = process;
            ConnectionString = $"127.0.0.1:{port}";
        }

        public string ConnectionString { get; }

        public static RedisServer? Start()
        {
            string? binary = new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists);
            if (binary is null)
            {
                Assert.True(Environment.GetEnvironmentVariable("CI") is null,
                    "redis-server is not installed; .ci/run installs it (apt-get install redis-server) for this test.");
                Console.WriteLine("RedisClusterTests: redis-server is not installed here (apt-get install redis-server); the test did nothing.");
                return null;
            }
            int port = TestServer.FreePort();
            var start = new ProcessStartInfo(binary) { UseShellExecute = false, RedirectStandardOutput = true };
            foreach (var arg in new[] { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--save", "", "--appendonly", "no" })
                start.ArgumentList.Add(arg);
            var process = Process.Start(start)!;
            process.OutputDataReceived += (_, _) => { }; // read and dropped: an unread pipe would fill
            process.BeginOutputReadLine();
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(10))
            {
                try
                {
                    using var client = new TcpClient("127.0.0.1", port);
                    return new RedisServer(process, port);
                }
                catch (SocketException)
                {
                    Thread.Sleep(50);
                }
            }
            process.Kill();
            throw new InvalidOperationException("redis-server did not start listening in 10 s.");
        }

        public void Dispose()
        {
            _process.Kill();
            _process.WaitForExit();
            _process.Dispose();
        }
    }
}
