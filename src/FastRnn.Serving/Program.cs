using FastRnn;
using FastRnn.Serving;
using FastRnn.Serving.Cluster;
using FastRnn.Serving.LoadTest;
using FastRnn.Serving.Models;

// fastrnn-serve: `serve` (the default) starts the server on the shipped model; `load` drives it with concurrent sessions.
try
{
    if (args.Contains("--help") || args.Contains("-h"))
        return Help();
    string command = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? args[0] : "serve";
    var rest = command == "serve" && (args.Length == 0 || args[0].StartsWith("--", StringComparison.Ordinal)) ? args : args[1..];
    return command switch
    {
        "serve" => await Serve(new CommandLine("serve", rest, s_serveOptions)),
        "load" => await LoadGenerator.RunAsync(new CommandLine("load", rest, LoadGenerator.Options), Console.Out),
        "help" => Help(),
        _ => throw new ArgumentException($"Unknown command '{command}'; the commands are serve (the default) and load."),
    };
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
catch (InvalidDataException e)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}

static int Help()
{
    Console.WriteLine("""
        FastRnn.Serving — a model server for FastRnn models.

          serve [--model [NAME=]FILE]... [--precision float32|bfloat16|int8] [--address 127.0.0.1] [--http-port 5050]
                [--grpc-port 5051] [--batching on|off] [--max-batch 64] [--max-wait-us 0] [--max-sessions 10000]
                [--idle-timeout-s 600] [--max-steps-per-frame 1024] [--max-message-bytes 4194304]
                [--non-finite reject|zero] [--model-dir DIR]
                [--cluster REDIS [--silo-port 11111] [--gateway-port 30000] [--cluster-id fastrnn] [--persist-every 32]]
              Serves kjv-char checkpoints or safetensors files (default: models/kjv-char.safetensors as kjv-char).
              With --cluster (a Redis connection string, e.g. 127.0.0.1:6379) the server is a silo of an Orleans
              cluster in that Redis, and its sessions are grains that survive the loss of their silo.
          load  [--grpc URL[,URL...] --http URL[,URL...]] [--model kjv-char] [--sessions 16] [--seconds 10]
                [--steps-per-frame 1] [--batching on|off] [--max-batch N] [--max-wait-us N] [--precision P]
                [--verify N] [--connections 4] [--seed 1] [--cluster REDIS --silos N]
              Drives servers with concurrent streaming sessions and prints latency percentiles and throughput;
              without --grpc it starts a server of its own (a child process), or with --cluster N silos of a
              cluster in that Redis, and stops them after.
        """);
    return 0;
}

static async Task<int> Serve(CommandLine line)
{
    var options = ServeSettings(line);
    var precision = line.Text("precision") switch
    {
        null or "float32" => (WeightPrecision?)null,
        "bfloat16" => WeightPrecision.BFloat16,
        "int8" => WeightPrecision.Int8,
        var p => throw new ArgumentException($"serve: --precision takes float32, bfloat16 or int8; got '{p}'."),
    };
    var specs = line.All("model").Count > 0 ? line.All("model") : [Path.Combine(AppContext.BaseDirectory, "models", "kjv-char.safetensors")];
    var models = new List<ServedModel>();
    foreach (var spec in specs)
    {
        int eq = spec.IndexOf('=', StringComparison.Ordinal);
        string name = eq > 0 ? spec[..eq] : "kjv-char", file = eq > 0 ? spec[(eq + 1)..] : spec;
        models.Add(new ServedModel(name, () => new KjvCharModel(1, 1), file, options, precision));
    }
    options.ModelDirectory ??= Path.GetDirectoryName(Path.GetFullPath(models[0].Weights.Source));
    var address = System.Net.IPAddress.Parse(line.Text("address") ?? "127.0.0.1");
    var endpoints = new ServingEndpoints(address, line.Integer("http-port", 5050, 0), line.Integer("grpc-port", 5051, 0));
    var cluster = line.Text("cluster") is { } redis
        ? new ClusterSetup(redis, line.Integer("silo-port", 11111, 1), line.Integer("gateway-port", 30000, 1), line.Text("cluster-id") ?? "fastrnn",
            new SessionPersistence { EverySteps = line.Integer("persist-every", 32, 1) })
        : null;
    var app = ServingHost.Build(options, models, endpoints, cluster: cluster);
    Console.WriteLine($"Serving {string.Join(", ", models.Select(m => $"{m.Name} ({Path.GetFileName(m.Weights.Source)}, {m.Weights.Precision?.ToString() ?? "float32"})"))}: " +
        $"HTTP on {address}:{endpoints.HttpPort}, gRPC on {address}:{endpoints.GrpcPort}" +
        (cluster is null ? "" : $", a silo of cluster '{cluster.ClusterId}' in Redis {cluster.Redis} (silo port {cluster.SiloPort}, gateway {cluster.GatewayPort})") + $"; batching {(options.Batching ? $"on (up to {options.MaxBatch}, {options.MaxWait.TotalMicroseconds:0} µs)" : "off")}.");
    await app.RunAsync();
    return 0;
}

static ServingOptions ServeSettings(CommandLine line) => new()
{
    Batching = line.Switch("batching", true),
    MaxBatch = line.Integer("max-batch", 64, 1),
    MaxWait = TimeSpan.FromMicroseconds(line.Number("max-wait-us", 0)),
    MaxSessions = line.Integer("max-sessions", 10_000, 1),
    SessionIdleTimeout = TimeSpan.FromSeconds(line.Number("idle-timeout-s", 600, 0.001)),
    MaxStepsPerFrame = line.Integer("max-steps-per-frame", 1024, 1),
    MaxMessageBytes = line.Integer("max-message-bytes", 4 << 20, 1024),
    NonFinite = line.Text("non-finite") switch
    {
        null or "reject" => NonFinitePolicy.Reject,
        "zero" => NonFinitePolicy.Zero,
        var p => throw new ArgumentException($"serve: --non-finite takes reject or zero; got '{p}'."),
    },
    ModelDirectory = line.Text("model-dir"),
};

internal static partial class Program
{
    private static readonly string[] s_serveOptions = ["model", "precision", "address", "http-port", "grpc-port", "batching", "max-batch",
        "max-wait-us", "max-sessions", "idle-timeout-s", "max-steps-per-frame", "max-message-bytes", "non-finite", "model-dir", "cluster", "silo-port",
        "gateway-port", "cluster-id", "persist-every"];
}
