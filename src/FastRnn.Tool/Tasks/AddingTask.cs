using System.Diagnostics;
using FastRnn.Training;

namespace FastRnn.Tool;

[RnnModel, DenseInput(2), Lstm(64), Head(1, Readout = Readout.LastStep), Loss(LossKind.MeanSquaredError)]
internal sealed partial class AddingModel;

/// <summary>The adding problem (Hochreiter and Schmidhuber 1997): 100 steps of (value ~ U(0, 1), marker); two steps are
/// marked, one in each half; the target is the sum of their values. Predicting the mean (1) scores an MSE of 1/6.</summary>
public static class AddingTask
{
    private const int Steps = 100, Batch = 32;

    public static SequenceSet Make(int count, Random random)
    {
        var set = new SequenceSet(count, Steps, 2, tokens: false, outputs: 1, classes: false);
        for (int i = 0; i < count; i++)
        {
            int first = random.Next(Steps / 2), second = Steps / 2 + random.Next(Steps / 2);
            for (int t = 0; t < Steps; t++)
            {
                set.Dense[(i * Steps + t) * 2] = (float)random.NextDouble();
                set.Dense[(i * Steps + t) * 2 + 1] = t == first || t == second ? 1f : 0f;
            }
            set.Values[i] = set.Dense[(i * Steps + first) * 2] + set.Dense[(i * Steps + second) * 2];
        }
        return set;
    }

    public static int Train(Options options, TextWriter output)
    {
        int samples = options.WholeNumber("samples", 10_000), epochs = options.WholeNumber("epochs", 30), seed = options.WholeNumber("seed", 1);
        var random = new Random(seed);
        var train = Make(samples, random);
        var validation = Make(Math.Max(100, samples / 10), random);
        var model = new AddingModel(Batch, Steps, (ulong)seed);
        var optimizer = new Adam(model, 2e-3f) { Clipping = { MaxGlobalNorm = 1f } };
        var trainer = new SequenceTrainer(model, optimizer, (ulong)seed) { Pool = options.Pool() };
        output.WriteLine($"fastrnn train --task adding: LSTM(64), {samples} sequences of {Steps} steps, batch {Batch}, Adam 2e-3, clip 1, seed {seed}");
        var clock = Stopwatch.StartNew();
        double mse = double.PositiveInfinity;
        int epoch = 0;
        for (; epoch < epochs && mse >= 0.01; epoch++)
        {
            trainer.Fit(train, validation, 1);
            var record = trainer.History[^1];
            mse = record.Validation!.Loss;
            double rate = (double)samples * Steps * (epoch + 1) / clock.Elapsed.TotalSeconds;
            output.WriteLine($"epoch {epoch + 1,3}/{epochs}  train MSE {record.TrainLoss:F4}  valid MSE {mse:F4}  " +
                $"MAE {record.Validation.MeanAbsoluteError:F3}  {rate:N0} steps/s  elapsed {clock.Elapsed.TotalSeconds:F0} s");
        }
        Plots.CurvesIfAsked(options, output, "adding problem, 100 steps: LSTM(64)", "MSE",
            ("train", trainer.History.Select(r => r.TrainLoss).ToArray()),
            ("validation", trainer.History.Select(r => r.Validation!.Loss).ToArray()));
        bool reached = mse < 0.01;
        output.WriteLine(reached
            ? $"reached validation MSE {mse:F4} (< 0.01; the mean predictor scores ~0.167) after {epoch} epochs in {clock.Elapsed.TotalSeconds:F1} s"
            : $"stopped at validation MSE {mse:F4} after {epoch} epochs ({clock.Elapsed.TotalSeconds:F1} s); the target is < 0.01");
        return reached ? 0 : 1;
    }
}
