using System.Diagnostics.Metrics;
using FastRnn.Serving.Diagnostics;
using FastRnn.Serving.Protocol;
using Xunit;

namespace FastRnn.Serving.Tests;

public sealed class OperationsTests
{
    /// <summary>A client that stops reading its replies (its HTTP/2 window fills, the server's writes to it wait) holds
    /// up no one else; when it reads again, every reply is there and right.</summary>
    [Fact]
    public async Task ASlowClientHoldsUpNoOneElse()
    {
        var options = new ServingOptions();
        await using var server = await TestServer.StartAsync(options, Served.Kjv(options));
        var slow = await server.Client.OpenAsync(new OpenRequest { Model = "kjv-char" });
        using var call = server.Client.Stream();
        // 8-step frames: 3 KB of outputs each, 1.5 MB in all, far more than the 64 KB the client's HTTP/2 stream window
        // holds while nothing reads it: the server's writes to this stream wait
        var frames = Enumerable.Range(0, 500).Select(i => Enumerable.Range(0, 8).Select(t => (i * 8 + t) * 31 % 96).ToArray()).ToArray();
        var writing = Task.Run(async () =>
        {
            foreach (var frame in frames)
                await call.RequestStream.WriteAsync(Served.Tokens(slow.Session, frame));
        });

        // meanwhile the others are served at their usual pace
        var other = await server.Client.OpenAsync(new OpenRequest { Model = "kjv-char" });
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        for (int i = 0; i < 200; i++)
            Assert.Null((await server.Client.StepAsync(Served.Tokens(other.Session, i % 96), deadline: deadline)).Error);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"200 frames of another session took {clock.Elapsed}");

        var replies = new List<FrameReply>();
        while (replies.Count < frames.Length && await call.ResponseStream.MoveNext(CancellationToken.None))
            replies.Add(call.ResponseStream.Current);
        await writing;
        await call.RequestStream.CompleteAsync();
        var expected = Served.Reference(Served.LoadKjv(Served.ShippedFile), frames);
        for (int f = 0; f < frames.Length; f++)
            Assert.True(Served.SameBits(expected[f], replies[f].Outputs), $"frame {f}");
    }

    /// <summary>The meter reports steps, batch sizes (above 1 when sessions step together), latency, sessions and swaps.</summary>
    [Fact]
    public async Task TheMeterReportsStepsBatchesLatencyAndSessions()
    {
        var measured = new System.Collections.Concurrent.ConcurrentDictionary<string, double>();
        var largest = new System.Collections.Concurrent.ConcurrentDictionary<string, double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == ServingMetrics.MeterName)
                l.EnableMeasurementEvents(instrument);
        };
        void Record(Instrument instrument, double value)
        {
            measured.AddOrUpdate(instrument.Name, value, (_, sum) => sum + value);
            largest.AddOrUpdate(instrument.Name, value, (_, max) => Math.Max(max, value));
        }
        listener.SetMeasurementEventCallback<long>((i, v, _, _) => Record(i, v));
        listener.SetMeasurementEventCallback<int>((i, v, _, _) => Record(i, v));
        listener.SetMeasurementEventCallback<double>((i, v, _, _) => Record(i, v));
        listener.Start();

        var options = new ServingOptions { MaxBatch = 8, MaxWait = TimeSpan.FromMilliseconds(20) };
        await using var server = await TestServer.StartAsync(options, Served.Kjv(options));
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async s =>
        {
            var info = await server.Client.OpenAsync(new OpenRequest { Model = "kjv-char" });
            for (int i = 0; i < 50; i++)
                await server.Client.StepAsync(Served.Tokens(info.Session, (s + i) % 96));
        }));
        Assert.Equal(400, measured["fastrnn.serving.steps"]);
        Assert.Equal(8, measured["fastrnn.serving.sessions"]);
        Assert.True(largest["fastrnn.serving.batch_size"] > 1, "no batch held two steps");
        Assert.Equal(400, measured["fastrnn.serving.batch_size"]);
        Assert.True(measured["fastrnn.serving.step.duration"] > 0);
    }

    /// <summary>A model served quantized steps with its int8 copy: the copy's outputs, bit for bit (a row of an even
    /// batch), and not the float32 model's.</summary>
    [Fact]
    public async Task AQuantizedModelServesItsQuantizedSteps()
    {
        var options = new ServingOptions();
        await using var server = await TestServer.StartAsync(options, Served.Kjv(options, precision: WeightPrecision.Int8));
        var info = await server.Client.OpenAsync(new OpenRequest { Model = "kjv-char" });
        int[] tokens = [12, 40, 3, 3, 77];
        var reply = await server.Client.StepAsync(Served.Tokens(info.Session, tokens));

        var model = Served.LoadKjv(Served.ShippedFile);
        var quantized = model.Quantize(WeightPrecision.Int8);
        var state = quantized.NewState(2);
        var output = new float[2 * 96];
        var expected = new List<float>();
        foreach (int token in tokens)
        {
            quantized.StepTokens([token, 0], state, output);
            expected.AddRange(output.AsSpan(0, 96));
        }
        Assert.True(Served.SameBits(expected, reply.Outputs));
        Assert.False(Served.SameBits(Served.Reference(model, [tokens])[0], reply.Outputs));
    }
}
