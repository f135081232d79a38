using Grpc.Core;

namespace FastRnn.Serving;

/// <summary>A request the server refuses, with the gRPC status it answers (HTTP maps it, see
/// <see cref="Http.HttpEndpoints"/>). Nothing a refused request names has changed.</summary>
[GenerateSerializer]
public sealed class ServingException(StatusCode code, string message) : Exception(message)
{
    [Id(0)]
    public StatusCode Code { get; } = code;

    internal static ServingException NotFound(string message) => new(StatusCode.NotFound, message);
    internal static ServingException Invalid(string message) => new(StatusCode.InvalidArgument, message);
}
