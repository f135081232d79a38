using System.Diagnostics;
using FastRnn.Data;
using FastRnn.Training;

namespace FastRnn.Tool;

// The character language model of issue 4: 2 × LSTM(256) with dropout, on kjv.txt; ids are the corpus's characters.
[RnnModel, TokenInput(CharTask.MaxSymbols, 64), Lstm(256, Layers = 2, Dropout = 0.2), Head(CharTask.MaxSymbols, Activation.Softmax, Dropout = 0.2), Loss(LossKind.SoftmaxCrossEntropy)]
internal sealed partial class KjvCharModel;

/// <summary><c>fastrnn train --task kjv-char</c> trains the character model on kjv.txt (verses joined by newlines; the
/// chapter split of <see cref="KjvCorpus"/>) and reports bits per character; <c>fastrnn generate</c> samples from a
/// checkpoint it wrote.</summary>
public static class CharTask
{
    public const int MaxSymbols = 96;
    internal const int Batch = 32, Steps = 100;

    internal static string Text(KjvCorpus corpus, Split split) => string.Join('\n', corpus.In(split).Select(v => v.Text)) + "\n";

    /// <summary>The corpus's splits as id streams (each cut to <c>--max-chars</c>, validation and test to a tenth of it),
    /// and the character vocabulary.</summary>
    private static (Vocabulary Symbols, TokenStream Train, TokenStream Validation, TokenStream Test) Load(Options options)
    {
        int limit = options.WholeNumber("max-chars", int.MaxValue);
        var corpus = options.Corpus();
        string train = Text(corpus, Split.Train), valid = Text(corpus, Split.Validation), test = Text(corpus, Split.Test);
        if (train.Length > limit) train = train[..limit];
        if (valid.Length > limit / 10) valid = valid[..Math.Max(limit / 10, Batch * 3)];
        if (test.Length > limit / 10) test = test[..Math.Max(limit / 10, Batch * 3)];
        var vocabulary = Vocabulary.Characters([train, valid, test]);
        if (vocabulary.Count > MaxSymbols)
            throw new ArgumentException($"The corpus has {vocabulary.Count} distinct characters; the model takes {MaxSymbols}.");
        TokenStream Stream(string text) => new(text.Select(c => vocabulary.Id(c.ToString())).ToArray(), Batch);
        return (vocabulary, Stream(train), Stream(valid), Stream(test));
    }

    private static (KjvCharModel Model, Adam Optimizer, LanguageModelTrainer Trainer) Build(int seed)
    {
        var model = new KjvCharModel(Batch, Steps, (ulong)seed);
        var optimizer = new Adam(model, 2e-3f) { Clipping = { MaxGlobalNorm = 1f } };
        return (model, optimizer, new LanguageModelTrainer(model, optimizer, Steps));
    }

    /// <summary>Trains the model for <c>--epochs</c> (default 1); <c>--arm plain</c> sets its dropout to 0 (the same
    /// code, initialization and data order otherwise). Ends with train, validation and test bits per character in
    /// inference mode and a RESULT line.</summary>
    public static int Train(Options options, TextWriter output)
    {
        int epochs = options.WholeNumber("epochs", 1), seed = options.WholeNumber("seed", 1);
        bool plain = options.PlainArm();
        var (symbols, trainStream, validStream, testStream) = Load(options);
        var (model, optimizer, trainer) = Build(seed);
        trainer.Pool = options.Pool();
        if (plain)
            Options.SwitchOff(model.Options);
        output.WriteLine($"fastrnn train --task kjv-char --arm {(plain ? "plain" : "regularized")}: 2 × LSTM(256), dropout {(plain ? "off" : "0.2")}, {symbols.Count} characters, " +
            $"{trainStream.Targets:N0} training characters, batch {Batch}, BPTT {Steps}, Adam 2e-3, clip 1, seed {seed}");
        if (ProgressBar.Interactive(output))
        {
            var bar = new ProgressBar(output, "chars", (long)Batch * Steps);
            trainer.SegmentDone = bar.Report;
        }
        var clock = Stopwatch.StartNew();
        trainer.Fit(trainStream, validStream, epochs, backup: options.Backup(), onEpoch: r =>
            output.WriteLine($"epoch {r.Epoch + 1}/{epochs}  train {r.TrainLoss / Math.Log(2):F3} bits/char  valid {r.ValidationBitsPerToken:F3} bits/char  " +
                $"{trainStream.Targets / r.Seconds:N0} chars/s  {r.Seconds:F0} s"));
        double seconds = trainer.History.Sum(r => r.Seconds); // the epochs' own times: a resumed run counts its earlier epochs too
        double trainBits = trainer.Evaluate(trainStream) / Math.Log(2), validBits = trainer.Evaluate(validStream) / Math.Log(2);
        double testBits = trainer.Evaluate(testStream) / Math.Log(2);
        Plots.CurvesIfAsked(options, output, "kjv-char: 2 × LSTM(256)", "bits per character",
            ("train", trainer.History.Select(r => r.TrainLoss / Math.Log(2)).ToArray()),
            ("validation", trainer.History.Select(r => r.ValidationBitsPerToken!.Value).ToArray()));
        output.WriteLine($"bits per character (inference): train {trainBits:F3}, validation {validBits:F3}, test {testBits:F3} ({seconds:F0} s of epochs, {clock.Elapsed.TotalSeconds:F0} s in this process)");
        output.WriteLine("RESULT " + string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{{\"task\":\"kjv-char\",\"arm\":\"{(plain ? "plain" : "regularized")}\",\"seed\":{seed},\"epochs\":{trainer.History.Count},\"train_bits\":{trainBits:G6}," +
            $"\"valid_bits\":{validBits:G6},\"test_bits\":{testBits:G6},\"seconds\":{seconds:F1}}}"));
        if (options.Text("out", "") is { Length: > 0 } path)
        {
            ShippedLanguageModel.KjvChar.Save(path, model, optimizer, symbols);
            output.WriteLine($"saved {path}");
        }
        return 0;
    }

    /// <summary>A grid search over run-time options (<c>--grid "Layer0Dropout=0,0.2;HeadDropout=0,0.3"</c>), or with
    /// <c>--random N</c> a random search of N settings drawn from those values; each setting trained from the same initial
    /// weights with early stopping on the validation loss (patience 1, best weights restored), ending in a table ranked
    /// by the best validation bits per character (and a bar chart with <c>--plot</c>).</summary>
    public static int Sweep(Options options, TextWriter output)
    {
        int epochs = options.WholeNumber("epochs", 3), seed = options.WholeNumber("seed", 1);
        var settings = SweepGrid.Settings(options, "Layer0Dropout=0,0.2;HeadDropout=0,0.2", seed);
        var (_, train, validation, _) = Load(options);
        output.WriteLine($"fastrnn sweep --task kjv-char: {settings.Count} settings × up to {epochs} epochs, {train.Targets:N0} training characters, seed {seed}");
        var results = SweepGrid.Run(options, output, settings.Count, (i, pool) =>
        {
            var (model, _, trainer) = Build(seed);
            trainer.Pool = pool;
            string label = SweepGrid.Apply(model.Options, settings[i]);
            var clock = Stopwatch.StartNew();
            var stopping = new EarlyStopping(patience: 1, restoreBestWeights: true);
            var history = trainer.Fit(train, validation, epochs, earlyStopping: stopping);
            var best = history.MinBy(r => r.ValidationLoss!.Value)!;
            return new SweepGrid.Trial(label, best.ValidationBitsPerToken!.Value, best.Epoch + 1, clock.Elapsed.TotalSeconds,
                $"  {label}: best {best.ValidationBitsPerToken:F3} bits/char at epoch {best.Epoch + 1} ({clock.Elapsed.TotalSeconds:F0} s)");
        });
        SweepGrid.Report(options, output, "valid bits/char", "F3", results);
        return 0;
    }
}
