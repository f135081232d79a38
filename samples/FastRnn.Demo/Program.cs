using System.Diagnostics;
using FastRnn;

// FastRnn demo: learn to continue a family of noisy waves, on data generated here, then time the streaming step.
// Every wave is a sum of two sines with random frequencies and phases; the model reads 40 steps and predicts the
// value at every next step. The loss should fall well below the data's variance (about 0.5).

const int Batch = 32, Steps = 40, Iterations = 300;
var model = new WaveModel(Batch, Steps, seed: 1);
var optimizer = new Adam(model, learningRate: 3e-3f);
var inputs = new float[Steps * Batch];
var targets = new float[Steps * Batch];
var random = new Random(7);

Console.WriteLine($"FastRnn demo: {nameof(WaveModel)} = input(1) → LSTM({WaveModel.HiddenSize(0)}) → dense(1), MSE, Adam; " +
                  $"{(model.UsesVector512 ? "512" : "256")}-bit kernels.");
Console.WriteLine($"Training {Iterations} iterations of {Batch} waves × {Steps} steps:");
var clock = Stopwatch.StartNew();
float first = 0, smoothed = 0;
for (int iteration = 1; iteration <= Iterations; iteration++)
{
    MakeWaves(random, inputs, targets);
    model.Forward(inputs, Batch, Steps);
    float loss = model.Loss(targets);
    model.ZeroGrad();
    model.Backward();
    optimizer.Step();
    smoothed = iteration == 1 ? loss : 0.9f * smoothed + 0.1f * loss;
    if (iteration == 1) first = loss;
    if (iteration == 1 || iteration % 30 == 0)
        Console.WriteLine($"  iteration {iteration,4}: loss {loss:F4} (smoothed {smoothed:F4})");
}
double seconds = clock.Elapsed.TotalSeconds;
Console.WriteLine($"Loss fell from {first:F4} to {smoothed:F4} (smoothed) in {seconds:F1} s " +
                  $"({Iterations * Batch * Steps / seconds:N0} steps·rows/s, one thread).");

// Streaming: one state, one step at a time, as a service would run it.
var state = model.CreateState();
Span<float> x = stackalloc float[1], y = stackalloc float[1];
for (int i = 0; i < 20_000; i++) { x[0] = MathF.Sin(i * 0.1f); model.Step(x, state, y); }
long allocated = GC.GetAllocatedBytesForCurrentThread();
long allocatedTotal = GC.GetTotalAllocatedBytes(precise: true);
const int Timed = 200_000;
clock.Restart();
for (int i = 0; i < Timed; i++) { x[0] = MathF.Sin(i * 0.1f); model.Step(x, state, y); }
double micro = clock.Elapsed.TotalMicroseconds / Timed;
allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
allocatedTotal = GC.GetTotalAllocatedBytes(precise: true) - allocatedTotal;
Console.WriteLine($"Streaming step (batch 1): {micro:F2} µs per step, {allocated} bytes allocated by this thread ({allocatedTotal} by the process) over {Timed:N0} steps.");
return smoothed < 0.5f * first ? 0 : 1;

static void MakeWaves(Random random, float[] inputs, float[] targets)
{
    for (int b = 0; b < Batch; b++)
    {
        double f1 = 0.05 + 0.25 * random.NextDouble(), f2 = 0.05 + 0.25 * random.NextDouble();
        double p1 = 2 * Math.PI * random.NextDouble(), p2 = 2 * Math.PI * random.NextDouble();
        for (int t = 0; t <= Steps; t++)
        {
            float value = (float)(0.6 * Math.Sin(f1 * t + p1) + 0.4 * Math.Sin(f2 * t + p2) + 0.02 * (random.NextDouble() - 0.5));
            if (t < Steps) inputs[t * Batch + b] = value;
            if (t > 0) targets[(t - 1) * Batch + b] = value;
        }
    }
}

[RnnModel, DenseInput(1), Lstm(64), Head(1), Loss(LossKind.MeanSquaredError)]
internal sealed partial class WaveModel;
