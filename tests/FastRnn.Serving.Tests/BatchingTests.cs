using FastRnn.Serving.Diagnostics;
using FastRnn.Serving.Protocol;
using Xunit;

namespace FastRnn.Serving.Tests;

public sealed class BatchingTests
{
    /// <summary>Sessions streaming at once: each session's replies are the bits of its frames stepped alone (row 0 of
    /// a 2-row state), whatever the batches they ran in; and the steps did run in batches.</summary>
    [Theory]
    [InlineData(true, 0)]
    [InlineData(true, 20_000)]
    [InlineData(false, 0)]
    public async Task ConcurrentSessionsGetTheBitsOfTheirStepsAlone(bool batching, int waitMicroseconds)
    {
        var options = new ServingOptions { Batching = batching, MaxBatch = 8, MaxWait = TimeSpan.FromMicroseconds(waitMicroseconds) };
        await using var server = await TestServer.StartAsync(options, Served.Kjv(options));
        long steps0 = ServingMetrics.Shared.Steps, batches0 = ServingMetrics.Shared.Batches;
        const int Sessions = 12, Frames = 40;
        var frames = Enumerable.Range(0, Sessions).Select(s =>
        {
            var random = new Random(s);
            return Enumerable.Range(0, Frames).Select(_ => Enumerable.Range(0, random.Next(1, 4)).Select(_ => random.Next(96)).ToArray()).ToArray();
        }).ToArray();

        var replies = await Task.WhenAll(frames.Select(async sessionFrames =>
        {
            var info = await server.Client.OpenAsync(new OpenRequest { Model = "kjv-char" });
            using var call = server.Client.Stream();
            var got = new List<FrameReply>();
            foreach (var frame in sessionFrames)
            {
                await call.RequestStream.WriteAsync(Served.Tokens(info.Session, frame));
                Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
                got.Add(call.ResponseStream.Current);
            }
            await call.RequestStream.CompleteAsync();
            return got;
        }));

        var model = Served.LoadKjv(Served.ShippedFile);
        for (int s = 0; s < Sessions; s++)
        {
            var expected = Served.Reference(model, frames[s]);
            for (int f = 0; f < Frames; f++)
            {
                Assert.Null(replies[s][f].Error);
                Assert.Equal(frames[s][f].Length, replies[s][f].Steps);
                Assert.True(Served.SameBits(expected[f], replies[s][f].Outputs), $"session {s}, frame {f}");
            }
            Assert.Equal(frames[s].Sum(f => f.Length), replies[s][^1].Position);
        }
        long steps = ServingMetrics.Shared.Steps - steps0, batches = ServingMetrics.Shared.Batches - batches0;
        Assert.Equal(frames.Sum(s => s.Sum(f => f.Length)), steps);
        // With a gathering window the twelve sessions' steps must meet in batches; without one they meet when the batcher
        // is busy, which a loaded machine may never make happen (each step then runs at once on its caller's thread).
        if (waitMicroseconds > 0)
            Assert.True(batches < steps, $"{steps} steps ran in {batches} batches: nothing was batched");
        if (!batching)
            Assert.Equal(steps, batches);
    }

    /// <summary>The served outputs are the model's: the same as a plain batch-1 step to float32 rounding (the padded
    /// batch sums in another order), and a softmax over the vocabulary.</summary>
    [Fact]
    public async Task ServedOutputsAreTheModelsOutputs()
    {
        var options = new ServingOptions();
        await using var server = await TestServer.StartAsync(options, Served.Kjv(options));
        var info = await server.Client.OpenAsync(new OpenRequest { Model = "kjv-char" });
        int[] tokens = [5, 17, 33, 2, 60, 41, 9];
        var reply = await server.Client.StepAsync(Served.Tokens(info.Session, tokens));

        var model = Served.LoadKjv(Served.ShippedFile);
        var state = model.NewState(1);
        var output = new float[96];
        for (int t = 0; t < tokens.Length; t++)
        {
            model.StepTokens([tokens[t]], state, output);
            for (int j = 0; j < 96; j++)
                Assert.Equal(output[j], reply.Outputs[t * 96 + j], 5e-6f);
            Assert.Equal(1.0, reply.Outputs.Skip(t * 96).Take(96).Sum(v => (double)v), 1e-5);
        }
    }

    /// <summary>A dense model with an LSTM and a GRU layer (the gather and scatter of both kinds of state) served
    /// batched equals its steps alone.</summary>
    [Fact]
    public async Task DenseStacksGatherAndScatterEveryLayersState()
    {
        string folder = Served.Folder();
        string file = Served.DenseFile(folder, 3);
        var options = new ServingOptions { MaxWait = TimeSpan.FromMicroseconds(500) };
        await using var server = await TestServer.StartAsync(options, Served.Dense(options, file));
        var model = new DenseServedModel(1, 1);
        model.LoadSafetensors(file);
        var inputs = Enumerable.Range(0, 6).Select(s => Enumerable.Range(0, 30).Select(i => MathF.Sin(s * 7 + i * 0.3f)).ToArray()).ToArray();
        var replies = await Task.WhenAll(inputs.Select(async x =>
        {
            var info = await server.Client.OpenAsync(new OpenRequest { Model = "dense" });
            var outputs = new List<float>();
            for (int t = 0; t < 10; t++)
            {
                var frame = new Frame { Session = info.Session };
                frame.Features.Add(x.Skip(3 * t).Take(3));
                outputs.AddRange((await server.Client.StepAsync(frame)).Outputs);
            }
            return outputs;
        }));
        for (int s = 0; s < inputs.Length; s++)
        {
            var state = model.CreateState(2);
            var output = new float[4];
            var expected = new List<float>();
            for (int t = 0; t < 10; t++)
            {
                model.Step([.. inputs[s].Skip(3 * t).Take(3), 0, 0, 0], state, output);
                expected.AddRange(output.AsSpan(0, 2));
            }
            Assert.True(Served.SameBits(expected, replies[s]), $"session {s}");
        }
    }
}
