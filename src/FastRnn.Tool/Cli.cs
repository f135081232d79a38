using System.Diagnostics;
using System.Globalization;
using FastRnn.Data;
using FastRnn.Training;

namespace FastRnn.Tool;

/// <summary>The <c>fastrnn</c> command line. <c>fastrnn train</c> with no other arguments learns the embedded Reber
/// grammar (a classic long-range-dependency task it generates itself) and reports next-symbol accuracy on held-out
/// strings.</summary>
public static class Cli
{
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            output.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        try
        {
            var options = Options.Parse(args.AsSpan(1));
            return args[0] switch
            {
                "train" => options.Text("task", "reber") switch
                {
                    "reber" => ReberTask.Train(options, output),
                    "adding" => AddingTask.Train(options, output),
                    "kjv-char" => CharTask.Train(options, output),
                    "s1" => VerseTasks.TrainS1(options, output),
                    "s2" => ForecastTasks.TrainS2(options, output),
                    "s3" => WordTask.TrainS3(options, output),
                    "s4" => ForecastTasks.TrainS4(options, output),
                    "s5" => VerseTasks.TrainS5(options, output),
                    "zaremba-small" => WordTask.TrainZaremba(options, output, medium: false),
                    "zaremba-medium" => WordTask.TrainZaremba(options, output, medium: true),
                    var task => throw new ArgumentException($"Unknown task '{task}' (reber, adding, kjv-char, s1, s2, s3, s4, s5, zaremba-small, zaremba-medium)."),
                },
                "generate" => LanguageModelCommands.Generate(options, output),
                "evaluate" => LanguageModelCommands.Evaluate(options, output),
                "sweep" => options.Text("task", "kjv-char") switch
                {
                    "kjv-char" => CharTask.Sweep(options, output),
                    "s2" => ForecastTasks.SweepS2(options, output),
                    "s4" => ForecastTasks.SweepS4(options, output),
                    var task => throw new ArgumentException($"Unknown task '{task}' for sweep (kjv-char, s2, s4)."),
                },
                _ => Fail(error, $"Unknown subcommand '{args[0]}'.\n{Usage}"),
            };
        }
        catch (ArgumentException e)
        {
            return Fail(error, e.Message);
        }
    }

    private static int Fail(TextWriter error, string message)
    {
        error.WriteLine(message);
        return 2;
    }

    public const string Usage = """
        usage: fastrnn train [--task reber|adding|kjv-char|s1…s5|zaremba-small|zaremba-medium] [--strings N | --samples N] [--epochs N] [--seed N]
                             [--data kjv.txt|folder] [--max-chars N | --max-verses N] [--arm regularized|plain]
                             [--out checkpoint] [--plot curves.png] [--backup run.backup]
               fastrnn generate --model checkpoint [--length N] [--temperature T] [--prime TEXT] [--seed N]
               fastrnn evaluate --model checkpoint [--split test|validation|train] [--data kjv.txt] [--max-chars N | --max-verses N]
               fastrnn sweep [--task kjv-char|s2|s4] [--grid "Layer0Dropout=0,0.2;HeadDropout=0,0.2"] [--random N]
                             [--epochs N] [--max-chars N] [--seed N] [--plot ranking.png]

          train   trains a model; with no options, an LSTM on the embedded Reber grammar (generated here), until
                  held-out next-symbol accuracy reaches 99% or the epochs run out. --task adding: the adding problem
                  with sequences of 100 steps, until the validation MSE is below 0.01 (predicting the mean scores ~0.17).
                  --task kjv-char: a 2 × LSTM(256) character model on ../shared/data/kjv.txt, reporting bits per character.
                  --task s2 / s4: the brief's reference models S2 (monthly sunspots, 24 → 1) and S4 (EuStockMarkets log
                  returns, 30 → 4) on ../shared/data/timeseries, with early stopping; --arm plain switches every
                  regularizer off at run time; the test RMSE is reported beside the naive baseline.
                  --task s1 / s5: S1 (verse → testament) and S5 (verse → ten book groups) on kjv.txt, accuracy beside
                  the majority class. --task s3: S3, a word-level language model (10k words) with batch normalization,
                  reporting perplexity. --task zaremba-small / zaremba-medium: Zaremba et al.'s 2 × LSTM(200) without
                  dropout and 2 × LSTM(650) with dropout 0.5 (--arm plain: without) on KJV words, SGD, 6 epochs.
                  --backup FILE (every task but reber and adding) saves the run after each epoch and, when FILE exists,
                  resumes it there: stop a long run and give the same command again to continue it bit for bit
          generate samples text from a language model's checkpoint (train --task kjv-char|s3|zaremba-small|zaremba-medium
                   --out FILE) at a temperature: characters, or words (lower case, <eos> ends a line)
          evaluate bits per character or perplexity of such a checkpoint on a split of kjv.txt
          sweep    grid (or --random) search over a model's run-time rates and coefficients with early stopping; a
                   ranked table (kjv-char by validation bits per character; s2, s4 by validation MSE, by default over
                   S2's L2 coefficients)
        """;
}

/// <summary><c>--name value</c> pairs after the subcommand.</summary>
public sealed class Options
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public static Options Parse(ReadOnlySpan<string> args)
    {
        var options = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                throw new ArgumentException($"Expected '--name value' pairs; got '{args[i]}'.");
            options._values[args[i][2..]] = args[++i];
        }
        return options;
    }

    public int Int(string name, int fallback, int min)
    {
        if (!_values.TryGetValue(name, out var text))
            return fallback;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) || value < min)
            throw new ArgumentException($"--{name} must be an integer of at least {min}; got '{text}'.");
        return value;
    }

    public string Text(string name, string fallback) => _values.GetValueOrDefault(name, fallback);

    /// <summary><c>--backup FILE</c>: the run is saved there after every epoch and, when the file exists, resumed from
    /// it (see <see cref="LanguageModelTrainer.Fit"/>); null without the option.</summary>
    public string? Backup() => Text("backup", "") is { Length: > 0 } path ? path : null;

    /// <summary><c>--arm regularized|plain</c> of the reference tasks: true for plain.</summary>
    public bool PlainArm()
    {
        string arm = Text("arm", "regularized");
        return arm is "regularized" or "plain"
            ? arm == "plain"
            : throw new ArgumentException($"--arm must be 'regularized' or 'plain'; got '{arm}'.");
    }

    /// <summary>The plain arm: every declared rate and coefficient set to 0 and every max-norm limit to float.MaxValue
    /// at run time, so the model runs the same code without its regularizers.</summary>
    public static void SwitchOff(IRunOptions options)
    {
        foreach (string name in options.Names)
            options[name] = name.EndsWith("MaxNorm", StringComparison.Ordinal) ? float.MaxValue : 0f;
    }

    /// <summary>kjv.txt from <c>--data</c> (default ../shared/data/kjv.txt), or a clear error.</summary>
    public KjvCorpus Corpus()
    {
        string data = Text("data", Path.Combine("..", "shared", "data", "kjv.txt"));
        if (!File.Exists(data))
            throw new ArgumentException($"--data: no corpus at '{Path.GetFullPath(data)}' (kjv.txt of ../shared/data).");
        return KjvCorpus.Load(data);
    }

    /// <summary>The verses of a split, the training part cut to <c>--max-verses</c> and the others to a tenth of it
    /// (at least 100).</summary>
    public List<Verse> Verses(KjvCorpus corpus, Split split)
    {
        int limit = Int("max-verses", int.MaxValue, 100);
        return corpus.In(split).Take(split == Split.Train ? limit : Math.Max(100, limit / 10)).ToList();
    }
}

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
        int strings = options.Int("strings", 4000, 100), epochs = options.Int("epochs", 40, 1), seed = options.Int("seed", 1, 0);
        var random = new Random(seed);
        var train = Stream(strings, random);
        var validation = Stream(Math.Max(100, strings / 8), random);
        var test = Enumerable.Range(0, 1000).Select(_ => Reber.Generate(random)).ToArray();

        var model = new ReberModel(Batch, Steps, (ulong)seed);
        var trainer = new LanguageModelTrainer(model, new Adam(model, 1e-2f), Steps);
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
        int samples = options.Int("samples", 10_000, 100), epochs = options.Int("epochs", 30, 1), seed = options.Int("seed", 1, 0);
        var random = new Random(seed);
        var train = Make(samples, random);
        var validation = Make(Math.Max(100, samples / 10), random);
        var model = new AddingModel(Batch, Steps, (ulong)seed);
        var optimizer = new Adam(model, 2e-3f) { Clipping = { MaxGlobalNorm = 1f } };
        var trainer = new SequenceTrainer(model, optimizer, (ulong)seed);
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
