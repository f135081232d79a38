using System.Diagnostics;
using System.Globalization;
using FastRnn.Data;
using FastRnn.Training;

namespace FastRnn.Tool;

[RnnModel, TokenInput(Reber.Symbols, 8), Lstm(32), Head(Reber.Symbols, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]
internal sealed partial class ReberModel;

/// <summary>Learning the embedded Reber grammar as a language model over its 7 symbols: training strings are
/// concatenated into one stream (truncated BPTT, state carried); accuracy counts, on held-out strings stepped one after
/// another as the same kind of stream, the positions whose most likely next symbol is one the grammar allows there —
/// including the step after the inner string, which must recall the second symbol. (Stepped from a zero state instead,
/// a string's "B P" is ambiguous with the inner string's start, which the stream-trained model never saw at a
/// string's beginning.)</summary>
public static class ReberTask
{
    private const int Batch = 16, Steps = 24;

    public static int Train(Options options, TextWriter output)
    {
        int strings = options.WholeNumber("strings", 4000), epochs = options.WholeNumber("epochs", 40), seed = options.WholeNumber("seed", 1);
        var random = new Random(seed);
        var train = Stream(strings, random);
        var validation = Stream(Math.Max(100, strings / 8), random);
        var test = Enumerable.Range(0, 1000).Select(_ => Reber.Generate(random)).ToArray();

        var model = new ReberModel(Batch, Steps, (ulong)seed);
        var trainer = new LanguageModelTrainer(model, new Adam(model, 1e-2f), Steps) { Pool = options.Pool() };
        output.WriteLine($"fastrnn train: embedded Reber grammar, LSTM(32), {strings} training strings ({train.Targets} tokens), " +
            $"batch {Batch}, BPTT {Steps}, Adam 1e-2, seed {seed}");
        var clock = Stopwatch.StartNew();
        double accuracy = 0, longRange = 0;
        int epoch = 0;
        for (; epoch < epochs && accuracy < 0.99; epoch++)
        {
            trainer.Fit(train, validation, 1);
            (accuracy, longRange) = Accuracy(model, test);
            var record = trainer.History[^1];
            double rate = train.Targets * (epoch + 1) / clock.Elapsed.TotalSeconds;
            output.WriteLine($"epoch {epoch + 1,3}/{epochs}  train loss {record.TrainLoss:F4}  valid loss {record.ValidationLoss:F4}  " +
                $"held-out accuracy {accuracy:P2} (long-range step {longRange:P1})  {rate:N0} tokens/s  eta {Eta(clock.Elapsed, epoch + 1, epochs)}");
        }
        Plots.CurvesIfAsked(options, output, "embedded Reber grammar: LSTM(32)", "loss (nats per symbol)",
            ("train", trainer.History.Select(r => r.TrainLoss).ToArray()),
            ("validation", trainer.History.Select(r => r.ValidationLoss!.Value).ToArray()));
        bool reached = accuracy >= 0.99;
        output.WriteLine(reached
            ? $"reached {accuracy:P2} next-symbol accuracy on 1,000 held-out strings after {epoch} epochs in {clock.Elapsed.TotalSeconds:F1} s"
            : $"stopped at {accuracy:P2} after {epoch} epochs ({clock.Elapsed.TotalSeconds:F1} s); the target is 99%");
        return reached ? 0 : 1;
    }

    private static string Eta(TimeSpan elapsed, int done, int total) =>
        TimeSpan.FromSeconds(elapsed.TotalSeconds / done * (total - done)).ToString(@"m\:ss", CultureInfo.InvariantCulture) + " at most";

    private static TokenStream Stream(int count, Random random)
    {
        var tokens = new List<int>();
        for (int i = 0; i < count; i++)
            tokens.AddRange(Reber.Generate(random).Symbols);
        return new TokenStream(tokens.ToArray(), Batch);
    }

    /// <summary>(all positions, the long-range step alone): the share whose argmax prediction the grammar allows.</summary>
    public static (double All, double LongRange) Accuracy(ISequenceModel model, (int[] Symbols, int[] Allowed)[] strings)
    {
        var state = model.NewState(1);
        var probabilities = new float[Reber.Symbols];
        int correct = 0, total = 0, longCorrect = 0;
        state.Reset();
        foreach (var (symbols, allowed) in strings)
        {
            for (int i = 0; i < symbols.Length; i++)
            {
                model.StepTokens(symbols.AsSpan(i, 1), state, probabilities);
                if (i == symbols.Length - 1)
                    break; // the final E: what follows is the next string's B, not part of this one
                int best = 0;
                for (int s = 1; s < Reber.Symbols; s++)
                    if (probabilities[s] > probabilities[best])
                        best = s;
                bool ok = (allowed[i] >> best & 1) == 1;
                correct += ok ? 1 : 0;
                total++;
                if (i == symbols.Length - 3)
                    longCorrect += ok ? 1 : 0;
            }
        }
        return ((double)correct / total, (double)longCorrect / strings.Length);
    }
}
