using System.Globalization;
using FastRnn.Serving.Batching;
using FastRnn.Serving.Diagnostics;
using FastRnn.Serving.Models;

namespace FastRnn.Serving.Sessions;

/// <summary>
/// Runs frames — one or more steps of one session — for every transport. A frame is checked whole before its first
/// step (the session exists; a token model gets ids in range, a dense model a whole number of steps of InputWidth
/// floats; at most <see cref="ServingOptions.MaxStepsPerFrame"/> steps; NaN or ∞ as <see cref="ServingOptions.NonFinite"/>
/// says), so a refused frame leaves its session as it was. Frames of one session run one at a time, in arrival order.
/// This is the backend of a single server: sessions in this process's <see cref="SessionStore"/>.
/// </summary>
public sealed class FrameRunner(SessionStore sessions, ServingOptions options, ServingMetrics metrics) : ISessionBackend
{
    public SessionStore Sessions { get; } = sessions;

    public ModelCatalog Models => Sessions.Catalog;

    public OpenedSession Open(string model)
    {
        var session = Sessions.Open(model);
        return new OpenedSession(session.Id, session.Model);
    }

    public Task<long> CloseAsync(string sessionId) => Sessions.CloseAsync(sessionId);

    public int SessionsOn(ServedModel model) => Sessions.CountOf(model);

    public int SessionCount => Sessions.Count;

    ValueTask<FrameResult> ISessionBackend.RunAsync<TOutput>(string sessionId, long? position, IReadOnlyList<int> tokens, IReadOnlyList<float> features, TOutput output) =>
        RunAsync(sessionId, tokens, features, output, position);

    /// <summary>Runs one frame of session <paramref name="sessionId"/>: token ids for a token model, InputWidth floats per
    /// step for a dense one (the other list empty); each step's outputs go to <paramref name="output"/>. The frame's
    /// state machine comes from a pool, so a frame allocates nothing once the pool is warm.</summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<FrameResult> RunAsync<TOutput>(string sessionId, IReadOnlyList<int> tokens, IReadOnlyList<float> features, TOutput output,
        long? position = null)
        where TOutput : IFrameOutput
    {
        Session session;
        int steps;
        try
        {
            session = Sessions.Find(sessionId);
            steps = Check(session.Model, tokens, features, options);
        }
        catch (ServingException e)
        {
            metrics.Refused(e.Code);
            throw;
        }
        await session.Gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (session.Closed)
                throw ServingException.NotFound($"Session '{sessionId}' was closed.");
            if (position is { } at && at != session.Position)
                return new FrameResult(0, session.Position, session.Stepper.WeightsVersion, Rewound: true);
            long version = await Run(session.Stepper, tokens, features, steps, output).ConfigureAwait(false);
            session.Touch();
            return new FrameResult(steps, session.Position, version);
        }
        finally
        {
            session.Gate.Release();
        }
    }

    /// <summary>Steps <paramref name="stepper"/> through a checked frame of <paramref name="steps"/> steps (NaN and ∞
    /// read as 0: the checks refused them unless the policy says so); returns the weights' version of the last step. A
    /// frame that fails part-way (its model shutting down) is undone: the session is as it was before it.</summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    internal static async ValueTask<long> Run<TOutput>(Stepper stepper, IReadOnlyList<int> tokens, IReadOnlyList<float> features, int steps, TOutput output)
        where TOutput : IFrameOutput
    {
        var model = stepper.Model;
        int width = model.InputWidth;
        if (steps > 1)
            stepper.Save();
        for (int t = 0; t < steps; t++)
        {
            if (model.TakesTokens)
                stepper.Token = tokens[t];
            else
                for (int i = 0; i < width; i++)
                {
                    float value = features[t * width + i];
                    stepper.Input[i] = float.IsFinite(value) ? value : 0f;
                }
            try
            {
                await stepper.StepAsync().ConfigureAwait(false);
            }
            catch when (t > 0)
            {
                stepper.Restore();
                throw;
            }
            output.Write(stepper.Output);
        }
        return stepper.WeightsVersion;
    }

    /// <summary>The frame's steps, or a <see cref="ServingException"/> saying what is wrong with it.</summary>
    internal static int Check(ServedModel model, IReadOnlyList<int> tokens, IReadOnlyList<float> features, ServingOptions options)
    {
        int steps;
        if (model.TakesTokens)
        {
            if (features.Count > 0)
                throw ServingException.Invalid($"Model '{model.Name}' takes token ids; the frame holds {features.Count} features.");
            steps = tokens.Count;
            for (int t = 0; t < Math.Min(steps, options.MaxStepsPerFrame); t++)
                if ((uint)tokens[t] >= (uint)model.Vocabulary)
                    throw ServingException.Invalid($"Token {tokens[t].ToString(CultureInfo.InvariantCulture)} at step {t} is outside model '{model.Name}''s vocabulary, 0 to {model.Vocabulary - 1}.");
        }
        else
        {
            if (tokens.Count > 0)
                throw ServingException.Invalid($"Model '{model.Name}' takes {model.InputWidth} features per step; the frame holds {tokens.Count} token ids.");
            if (features.Count % model.InputWidth != 0)
                throw ServingException.Invalid($"Model '{model.Name}' takes {model.InputWidth} features per step; the frame holds {features.Count}, not a whole number of steps.");
            steps = features.Count / model.InputWidth;
            if (options.NonFinite == NonFinitePolicy.Reject && steps <= options.MaxStepsPerFrame)
                for (int i = 0; i < features.Count; i++)
                    if (!float.IsFinite(features[i]))
                        throw ServingException.Invalid($"Feature {i % model.InputWidth} of step {i / model.InputWidth} is {features[i].ToString(CultureInfo.InvariantCulture)}; " +
                            "this server refuses non-finite inputs (NonFinite = Reject).");
        }
        if (steps == 0)
            throw ServingException.Invalid("The frame holds no step.");
        if (steps > options.MaxStepsPerFrame)
            throw new ServingException(Grpc.Core.StatusCode.OutOfRange, $"The frame holds {steps} steps; this server takes at most {options.MaxStepsPerFrame} per frame.");
        return steps;
    }
}
