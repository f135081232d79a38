using System.Net;
using FastRnn.Serving.Cluster;
using FastRnn.Serving.Diagnostics;
using FastRnn.Serving.Rpc;
using FastRnn.Serving.Http;
using FastRnn.Serving.Models;
using FastRnn.Serving.Sessions;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace FastRnn.Serving;

/// <summary>Where the server listens: HTTP/1.1 (JSON, health) and HTTP/2 without TLS (gRPC), on one address.</summary>
public sealed record ServingEndpoints(IPAddress Address, int HttpPort, int GrpcPort)
{
    public static ServingEndpoints Loopback(int httpPort = 5050, int grpcPort = 5051) => new(IPAddress.Loopback, httpPort, grpcPort);
}

/// <summary>A server that is also a silo of an Orleans cluster whose membership and session state are in Redis: its
/// faces are a gateway to session grains placed anywhere in the cluster (docs/serving.md).</summary>
/// <param name="Redis">The Redis connection string (<c>127.0.0.1:6379</c>).</param>
/// <param name="SiloPort">The port silos talk to each other on.</param>
/// <param name="GatewayPort">The port Orleans clients talk to the silo on.</param>
/// <param name="ClusterId">Silos with the same id form one cluster.</param>
/// <param name="Persistence">When sessions persist their state.</param>
public sealed record ClusterSetup(string Redis, int SiloPort = 11111, int GatewayPort = 30000, string ClusterId = "fastrnn",
    SessionPersistence? Persistence = null);

/// <summary>Builds the server around models the caller made: <c>ServingHost.Build(options, [new ServedModel(…)],
/// endpoints)</c>, then <c>RunAsync</c>. The models are disposed when the server stops. With a
/// <see cref="ClusterSetup"/> the server is a silo and its sessions are grains.</summary>
public static class ServingHost
{
    public static WebApplication Build(ServingOptions options, IReadOnlyList<ServedModel> models, ServingEndpoints endpoints, string[]? args = null,
        ClusterSetup? cluster = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(models);
        options.Validate();
        var catalog = new ModelCatalog(models);

        var builder = WebApplication.CreateSlimBuilder(args ?? []);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // A gRPC stream's body is all of its messages, for as long as the session streams: gRPC limits each message
            // (MaxReceiveMessageSize below), and the HTTP endpoints limit their bodies (see LimitHttpBodies).
            kestrel.Limits.MaxRequestBodySize = null;
            // One connection carries every session of a client (a stream each).
            kestrel.Limits.Http2.MaxStreamsPerConnection = Math.Max(100, options.MaxSessions);
            kestrel.Listen(endpoints.Address, endpoints.HttpPort, listen => listen.Protocols = HttpProtocols.Http1);
            kestrel.Listen(endpoints.Address, endpoints.GrpcPort, listen => listen.Protocols = HttpProtocols.Http2);
        });
        builder.Services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = options.MaxMessageBytes;
            grpc.MaxSendMessageSize = null;
        });
        var metrics = ServingMetrics.Shared;
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(metrics);
        if (cluster is null)
        {
            var store = new SessionStore(catalog, options, metrics);
            builder.Services.AddSingleton(store);
            builder.Services.AddSingleton<ISessionBackend>(new FrameRunner(store, options, metrics));
            builder.Services.AddHostedService<SessionSweeper>();
        }
        else
        {
            builder.Host.UseOrleans(silo =>
            {
                silo.UseRedisClustering(cluster.Redis);
                silo.AddRedisGrainStorage(SessionPersistence.StorageName, redis =>
                {
                    redis.ConfigurationOptions = StackExchange.Redis.ConfigurationOptions.Parse(cluster.Redis);
                    // a closed session's state goes; an idle one's expires (each write renews it)
                    redis.DeleteStateOnClear = true;
                    redis.EntryExpiry = options.SessionIdleTimeout;
                });
                silo.Configure<Orleans.Configuration.ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (cluster.ClusterId, "fastrnn-serving"));
                silo.ConfigureEndpoints(endpoints.Address, cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: false);
                silo.AddFastRnnSessions(_ => catalog, options, cluster.Persistence ?? new SessionPersistence());
#pragma warning disable ORLEANSEXP003
                silo.AddDistributedGrainDirectory();
#pragma warning restore ORLEANSEXP003
            });
            builder.Services.AddSingleton<ISessionBackend>(services => new ClusterSessions(services.GetRequiredService<IGrainFactory>(), catalog,
                services.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToString()));
        }

        // A body that does not bind (malformed JSON, a wrong type, too large) is thrown, so the answer can say why.
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        var app = builder.Build();
        app.UseRouting();
        app.Use(AnswerRefusals);
        app.Use(LimitHttpBodies(options.MaxMessageBytes));
        app.MapGrpcService<SessionsService>();
        HttpEndpoints.Map(app);
        app.Lifetime.ApplicationStopped.Register(() =>
        {
            catalog.Dispose();
        });
        return app;
    }

    /// <summary>An HTTP request the server refuses (a <see cref="ServingException"/>) or the framework could not read gets
    /// its status and the reason: <c>{"error": {"code", "message"}}</c>. (gRPC calls answer their own refusals.)</summary>
    private static async Task AnswerRefusals(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (ServingException e) when (!context.Response.HasStarted)
        {
            await HttpEndpoints.Error(e.Code, e.Message).ExecuteAsync(context).ConfigureAwait(false);
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException e) when (!context.Response.HasStarted)
        {
            var code = e.StatusCode == StatusCodes.Status413PayloadTooLarge ? global::Grpc.Core.StatusCode.OutOfRange : global::Grpc.Core.StatusCode.InvalidArgument;
            await HttpEndpoints.Error(code, e.InnerException is { } inner ? $"{e.Message} {inner.Message}" : e.Message).ExecuteAsync(context).ConfigureAwait(false);
        }
    }

    /// <summary>Every request but a gRPC method's (told by the endpoint routing chose, not by a header the client sets)
    /// gets a body of at most <paramref name="limit"/> bytes (413 beyond).</summary>
    private static Func<HttpContext, RequestDelegate, Task> LimitHttpBodies(long limit) => (context, next) =>
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<global::Grpc.AspNetCore.Server.GrpcMethodMetadata>() is null
            && context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } body)
            body.MaxRequestBodySize = limit;
        return next(context);
    };
}
