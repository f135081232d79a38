using FastRnn.Serving.Diagnostics;
using FastRnn.Serving.Models;
using FastRnn.Serving.Sessions;
using Grpc.Core;

namespace FastRnn.Serving.Http;

/// <summary>The plain HTTP/JSON face of the server: sessions, a frame per request, the models and their swaps,
/// health, readiness and a few process statistics. Errors are <c>{"error": {"code", "message"}}</c> with the HTTP
/// status of their gRPC code.</summary>
public static class HttpEndpoints
{
    public sealed record OpenBody(string? Model);
    public sealed record FrameBody(int[]? Tokens, float[]? Features, string? Text, long? Position);
    public sealed record SwapBody(string? File);
    public sealed record SessionReply(string Session, string Model, int InputWidth, int OutputWidth, bool TakesTokens, int Vocabulary);
    public sealed record FrameReplyBody(int Steps, long Position, long WeightsVersion, float[] Outputs, long PersistedPosition, bool Rewound);
    public sealed record ModelReply(string Name, long WeightsVersion, string WeightsFile, string Precision, int InputWidth, int OutputWidth,
        bool TakesTokens, int Vocabulary, int Sessions);
    public sealed record ErrorReply(ErrorDetail Error);
    public sealed record ErrorDetail(string Code, string Message);

    public static void Map(WebApplication app)
    {
        var sessions = app.Services.GetRequiredService<ISessionBackend>();
        var catalog = sessions.Models;
        var options = app.Services.GetRequiredService<ServingOptions>();
        var metrics = app.Services.GetRequiredService<ServingMetrics>();

        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapGet("/readyz", () => catalog.All.All(m => m.Ready)
            ? Results.Text("ready")
            : Results.Text("not ready: a model's batcher is not running", statusCode: StatusCodes.Status503ServiceUnavailable));

        // A ServingException thrown here is answered by ServingHost's middleware with its status and reason.
        app.MapPost("/v1/sessions", async (OpenBody body) =>
        {
            var (id, m) = await sessions.OpenAsync(body.Model ?? "").ConfigureAwait(false);
            return Results.Json(new SessionReply(id, m.Name, m.InputWidth, m.OutputWidth, m.TakesTokens, m.Vocabulary),
                statusCode: StatusCodes.Status201Created);
        });

        app.MapPost("/v1/sessions/{id}/steps", async (string id, FrameBody body) =>
        {
            var tokens = body.Tokens ?? (body.Text is { } text ? Encode(catalog, text) : []);
            var outputs = new ArrayOutput();
            var result = await sessions.RunAsync(id, body.Position, tokens, body.Features ?? [], outputs).ConfigureAwait(false);
            return Results.Json(new FrameReplyBody(result.Steps, result.Position, result.WeightsVersion, outputs.ToArray(), result.PersistedPosition, result.Rewound));
        });

        app.MapDelete("/v1/sessions/{id}", async (string id) => Results.Json(new { steps = await sessions.CloseAsync(id).ConfigureAwait(false) }));

        app.MapGet("/v1/models", () => catalog.All.Select(m => Describe(m, sessions)));

        app.MapPost("/v1/models/{name}/swap", (string name, SwapBody body) =>
        {
            var model = catalog.Get(name);
            string path = Resolve(options, body.File);
            try
            {
                model.Swap(path);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                metrics.Refused(StatusCode.FailedPrecondition);
                return Error(StatusCode.FailedPrecondition, $"Refused; version {model.Weights.Version} keeps serving: {e.Message}");
            }
            return Results.Json(Describe(model, sessions));
        });

        app.MapGet("/v1/stats", () => Results.Json(new
        {
            sessions = sessions.SessionCount,
            steps = metrics.Steps,
            batches = metrics.Batches,
            allocatedBytes = GC.GetTotalAllocatedBytes(precise: false),
            gen0Collections = GC.CollectionCount(0),
            gen1Collections = GC.CollectionCount(1),
            gen2Collections = GC.CollectionCount(2),
            remoteFrames = (sessions as Cluster.ClusterSessions)?.RemoteFrames ?? 0,
        }));
    }

    private static ModelReply Describe(ServedModel model, ISessionBackend sessions)
    {
        var weights = model.Weights;
        return new ModelReply(model.Name, weights.Version, Path.GetFileName(weights.Source), weights.Precision?.ToString() ?? "Float32",
            model.InputWidth, model.OutputWidth, model.TakesTokens, model.Vocabulary, sessions.SessionsOn(model));
    }

    /// <summary>A swap's file: a name inside the model folder, never a path out of it.</summary>
    private static string Resolve(ServingOptions options, string? file)
    {
        if (options.ModelDirectory is not { } folder)
            throw new ServingException(StatusCode.FailedPrecondition, "This server has no model folder (--model-dir); it swaps nothing.");
        if (string.IsNullOrWhiteSpace(file))
            throw ServingException.Invalid("Name the weights file to swap in: {\"file\": \"NAME.safetensors\"}.");
        string root = Path.GetFullPath(folder) + Path.DirectorySeparatorChar;
        string path = Path.GetFullPath(Path.Combine(root, file));
        if (!path.StartsWith(root, StringComparison.Ordinal))
            throw ServingException.Invalid($"'{file}' is outside the model folder.");
        return path;
    }

    /// <summary>A character (or word) model's text as token ids, by the vocabulary its weights file names (a server
    /// of one model; with several, send ids).</summary>
    private static int[] Encode(ModelCatalog catalog, string text)
    {
        if (catalog.All.Count != 1)
            throw ServingException.Invalid("This server serves several models; send token ids.");
        var model = catalog.All.First();
        var vocabulary = model.Tokens ?? throw ServingException.Invalid($"Model '{model.Name}' has no vocabulary in its weights file; send token ids.");
        var ids = new int[text.Length];
        int n = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            int id = IndexOf(vocabulary, rune.ToString());
            ids[n++] = id >= 0 ? id : throw ServingException.Invalid($"'{rune}' is not in model '{model.Name}''s vocabulary.");
        }
        return ids[..n];
    }

    private static int IndexOf(IReadOnlyList<string> tokens, string token)
    {
        for (int i = 0; i < tokens.Count; i++)
            if (tokens[i] == token)
                return i;
        return -1;
    }

    internal static IResult Error(StatusCode code, string message) =>
        Results.Json(new ErrorReply(new ErrorDetail(code.ToString(), message)), statusCode: code switch
        {
            StatusCode.InvalidArgument => StatusCodes.Status400BadRequest,
            StatusCode.NotFound => StatusCodes.Status404NotFound,
            StatusCode.ResourceExhausted => StatusCodes.Status429TooManyRequests,
            StatusCode.OutOfRange => StatusCodes.Status413PayloadTooLarge,
            StatusCode.FailedPrecondition => StatusCodes.Status422UnprocessableEntity,
            StatusCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
            _ => StatusCodes.Status500InternalServerError,
        });

    /// <summary>A frame's outputs gathered for the JSON reply.</summary>
    private sealed class ArrayOutput : IFrameOutput
    {
        private readonly List<float> _values = [];
        public void Write(ReadOnlySpan<float> outputs) => _values.AddRange(outputs);
        public float[] ToArray() => [.. _values];
    }
}
