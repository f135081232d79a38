using Xunit;

namespace FastRnn.Tests;

public class ConcurrencyTests
{
    /// <summary>Many states stepping at once over one model's weights give exactly the serial results.</summary>
    [Theory]
    [InlineData(nameof(Lstm37x2))]
    [InlineData(nameof(Mixed))]
    [InlineData(nameof(LstmStack3))]
    public void ConcurrentStatesMatchSerial(string name)
    {
        const int Streams = 8, Steps = 300;
        var model = TestModels.Create(name, 1, 1, seed: 9);
        int width = model.InputWidth, outputs = model.OutputWidth;
        var inputs = new float[Streams][];
        var tokens = new int[Streams][];
        for (int s = 0; s < Streams; s++)
        {
            var random = new Random(s);
            inputs[s] = Enumerable.Range(0, Steps * width).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            tokens[s] = Enumerable.Range(0, Steps).Select(_ => random.Next(Math.Max(1, model.Vocabulary))).ToArray();
        }

        float[] Run(int s)
        {
            var state = model.NewState(1);
            var output = new float[outputs];
            var trace = new float[Steps * outputs];
            for (int t = 0; t < Steps; t++)
            {
                if (model.TakesTokens) model.StepTokens(tokens[s].AsSpan(t, 1), state, output);
                else model.StepDense(inputs[s].AsSpan(t * width, width), state, output);
                output.CopyTo(trace, t * outputs);
            }
            return trace;
        }

        var serial = Enumerable.Range(0, Streams).Select(Run).ToArray();
        var parallel = new float[Streams][];
        using var start = new Barrier(Streams);
        var threads = Enumerable.Range(0, Streams).Select(s => new Thread(() => { start.SignalAndWait(); parallel[s] = Run(s); })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        for (int s = 0; s < Streams; s++)
            Assert.Equal(serial[s], parallel[s]);
        // Different inputs gave different traces (the comparison above is not vacuous).
        Assert.NotEqual(serial[0], serial[1]);
    }
}
