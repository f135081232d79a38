using FastRnn.Serving.Protocol;
using FastRnn.Serving.Sessions;
using Google.Protobuf.Collections;
using Grpc.Core;

namespace FastRnn.Serving.Rpc;

/// <summary>The gRPC face of the server (Protos/serving.proto): sessions opened and closed, frames one at a time or
/// streamed both ways. A refused frame in a stream is answered in the stream (its reply's <c>error</c>), and the
/// stream goes on; a refused unary call ends with the status.</summary>
public sealed class SessionsService(ISessionBackend sessions) : Protocol.Sessions.SessionsBase
{
    public override async Task<SessionInfo> Open(OpenRequest request, ServerCallContext context)
    {
        var (id, model) = await Call(() => sessions.OpenAsync(request.Model)).ConfigureAwait(false);
        return new SessionInfo
        {
            Session = id,
            Model = model.Name,
            InputWidth = model.InputWidth,
            OutputWidth = model.OutputWidth,
            TakesTokens = model.TakesTokens,
            Vocabulary = model.Vocabulary,
        };
    }

    public override async Task<CloseReply> Close(SessionRef request, ServerCallContext context) =>
        new() { Steps = await Call(() => sessions.CloseAsync(request.Session)).ConfigureAwait(false) };

    public override async Task<FrameReply> Step(Frame request, ServerCallContext context)
    {
        var reply = await RunAsync(request).ConfigureAwait(false);
        return reply.Error is { } error ? throw new RpcException(new Status((StatusCode)error.Code, error.Message)) : reply;
    }

    public override async Task Stream(IAsyncStreamReader<Frame> requestStream, IServerStreamWriter<FrameReply> responseStream, ServerCallContext context)
    {
        while (await requestStream.MoveNext(context.CancellationToken).ConfigureAwait(false))
            await responseStream.WriteAsync(await RunAsync(requestStream.Current).ConfigureAwait(false)).ConfigureAwait(false);
    }

    public override Task<ModelsReply> Models(ModelsRequest request, ServerCallContext context)
    {
        var reply = new ModelsReply();
        foreach (var model in sessions.Models.All)
        {
            var weights = model.Weights;
            reply.Models.Add(new ModelInfo
            {
                Name = model.Name,
                WeightsVersion = weights.Version,
                WeightsFile = Path.GetFileName(weights.Source),
                InputWidth = model.InputWidth,
                OutputWidth = model.OutputWidth,
                TakesTokens = model.TakesTokens,
                Vocabulary = model.Vocabulary,
                Sessions = sessions.SessionsOn(model),
            });
        }
        return Task.FromResult(reply);
    }

    /// <summary>One frame's reply: its outputs, or the error that refused it.</summary>
    private async ValueTask<FrameReply> RunAsync(Frame frame)
    {
        var reply = new FrameReply { Session = frame.Session, Sequence = frame.Sequence };
        try
        {
            var result = await sessions.RunAsync(frame.Session, frame.HasPosition ? frame.Position : null, frame.Tokens, frame.Features,
                new Outputs(reply.Outputs)).ConfigureAwait(false);
            reply.Steps = result.Steps;
            reply.Position = result.Position;
            reply.WeightsVersion = result.WeightsVersion;
            reply.PersistedPosition = result.PersistedPosition;
            reply.Rewound = result.Rewound;
        }
        catch (ServingException e)
        {
            reply.Outputs.Clear();
            reply.Error = new Error { Code = (int)e.Code, Message = e.Message };
        }
        return reply;
    }

    /// <summary>A refusal as the call's status.</summary>
    private static async Task<T> Call<T>(Func<Task<T>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (ServingException e)
        {
            throw new RpcException(new Status(e.Code, e.Message));
        }
    }

    /// <summary>A frame's outputs appended to its reply.</summary>
    private readonly struct Outputs(RepeatedField<float> field) : IFrameOutput
    {
        public void Write(ReadOnlySpan<float> outputs)
        {
            foreach (float value in outputs)
                field.Add(value);
        }
    }
}
