using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using FastRnn.Data;
using FastRnn.Training;

namespace FastRnn.Tool;

/// <summary><c>fastrnn train --text FILE</c>: the character model of kjv-char (<see cref="KjvCharModel"/>, 2 × LSTM(256)
/// with dropout 0.2, Adam 2e-3, gradient norm clipped to 1, BPTT 100) on any UTF-8 text.
/// <para>The split, by characters (Unicode scalar values) in file order: the last <c>n/20</c> characters test, the
/// <c>n/20</c> before them validate, the rest (about 90%) trains; the text needs at least
/// <see cref="MinimumCharacters"/> characters. Each part is one stream of <c>min(32, n/200)</c> columns (truncated
/// BPTT, state carried).</para>
/// <para>The vocabulary comes from the training part only: its distinct characters (the <see cref="MaxCharacters"/>
/// most frequent when it has more; ties in ordinal order), in ordinal order, then the unknown symbol
/// <see cref="UnknownSymbol"/> (U+FFFD), which every other character — one the training part lacks, or a rare one past
/// the limit — reads as.</para></summary>
public static class TextTask
{
    /// <summary>The shortest text <c>--text</c> splits: 10 characters each for validation and test.</summary>
    public const int MinimumCharacters = 200;

    /// <summary>Characters the vocabulary keeps; the model's last id is the unknown symbol.</summary>
    public const int MaxCharacters = CharTask.MaxSymbols - 1;

    /// <summary>What a character outside the vocabulary reads as: U+FFFD, the replacement character.</summary>
    public const string UnknownSymbol = "\uFFFD";

    /// <summary>The columns of the streams of an <paramref name="characters"/>-character text: 32, fewer for a short
    /// text so that each part keeps at least 10 characters per column.</summary>
    public static int Batch(int characters) => Math.Clamp(characters / 200, 1, CharTask.Batch);

    /// <summary>The text of <paramref name="path"/> as its characters, checked: a missing, unreadable, empty or
    /// white-space-only file, bytes that are not UTF-8 (the message names the line) or a text shorter than
    /// <see cref="MinimumCharacters"/> are argument errors naming the file.</summary>
    public static string[] Read(string path)
    {
        if (path.Trim().Length == 0)
            throw new ArgumentException("--text needs the path of a file.");
        if (!File.Exists(path))
            throw new ArgumentException($"--text: no file at '{Path.GetFullPath(path)}'.");
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"--text: cannot read '{path}': {e.Message}");
        }
        int start = bytes.AsSpan().StartsWith("\uFEFF"u8) ? 3 : 0; // a byte order mark is not text
        int line = 1;
        for (int i = start; i < bytes.Length;)
        {
            if (Rune.DecodeFromUtf8(bytes.AsSpan(i), out var rune, out int consumed) != OperationStatus.Done)
                throw new ArgumentException($"{path}:{line}: not UTF-8 text (byte 0x{bytes[i]:X2} at offset {i}).");
            line += rune.Value == '\n' ? 1 : 0;
            i += consumed;
        }
        string text = Encoding.UTF8.GetString(bytes, start, bytes.Length - start);
        if (text.Length == 0)
            throw new ArgumentException($"--text: '{path}' is empty.");
        if (string.IsNullOrWhiteSpace(text))
            throw new ArgumentException($"--text: '{path}' holds only white space.");
        var characters = text.EnumerateRunes().Select(r => r.ToString()).ToArray();
        if (characters.Length < MinimumCharacters)
            throw new ArgumentException($"--text: '{path}' has {characters.Length} characters; splitting it into training, validation and test " +
                $"parts (90/5/5) takes at least {MinimumCharacters}.");
        return characters;
    }

    /// <summary>The documented split: (training, validation, test) characters.</summary>
    public static (string[] Train, string[] Validation, string[] Test) Split(string[] characters)
    {
        int n = characters.Length, held = n / 20;
        return (characters[..(n - 2 * held)], characters[(n - 2 * held)..(n - held)], characters[(n - held)..]);
    }

    /// <summary>The vocabulary of a training part: its characters (at most <see cref="MaxCharacters"/>, the most
    /// frequent), then <see cref="UnknownSymbol"/>.</summary>
    public static Vocabulary Characters(IEnumerable<string> training)
    {
        var kept = training.Where(c => c != UnknownSymbol).GroupBy(c => c, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Take(MaxCharacters).Select(g => g.Key).Order(StringComparer.Ordinal).ToList();
        kept.Add(UnknownSymbol);
        return Vocabulary.FromTokens(kept);
    }

    /// <summary>The ids of <paramref name="characters"/>; a character outside the vocabulary takes the unknown symbol's.</summary>
    public static int[] Encode(IEnumerable<string> characters, Vocabulary vocabulary)
    {
        int unknown = vocabulary.Id(UnknownSymbol);
        return characters.Select(c => vocabulary.Contains(c) ? vocabulary.Id(c) : unknown).ToArray();
    }

    /// <summary>Trains for <c>--epochs</c> (default 1; <c>--arm plain</c> switches the dropout off) and reports bits per
    /// character on each part in inference mode, ending with a RESULT line; <c>--out</c> saves a checkpoint that
    /// <c>generate</c> and <c>evaluate --text</c> read. A bad file stops it before anything is trained or written.</summary>
    public static int Train(Options options, TextWriter output)
    {
        string path = options.Text("text", "");
        int epochs = options.WholeNumber("epochs", 1), seed = options.WholeNumber("seed", 1);
        bool plain = options.PlainArm();
        var characters = Read(path);
        var (trainPart, validationPart, testPart) = Split(characters);
        var vocabulary = Characters(trainPart);
        int batch = Batch(characters.Length);
        TokenStream Stream(string[] part) => new(Encode(part, vocabulary), batch);
        var (train, validation, test) = (Stream(trainPart), Stream(validationPart), Stream(testPart));
        int unseen = validationPart.Concat(testPart).Count(c => !vocabulary.Contains(c));
        var model = new KjvCharModel(batch, CharTask.Steps, (ulong)seed);
        var optimizer = new Adam(model, 2e-3f) { Clipping = { MaxGlobalNorm = 1f } };
        if (plain)
            Options.SwitchOff(model.Options);
        var trainer = new LanguageModelTrainer(model, optimizer, CharTask.Steps) { Pool = options.Pool() };
        output.WriteLine($"fastrnn train --text {path}: 2 × LSTM(256), dropout {(plain ? "off" : "0.2")}, {characters.Length:N0} characters split " +
            $"{trainPart.Length:N0} / {validationPart.Length:N0} / {testPart.Length:N0} (first 90% train, next 5% validation, last 5% test)");
        output.WriteLine($"  vocabulary: {vocabulary.Count - 1} characters of the training part and U+FFFD for any other " +
            $"({unseen:N0} validation and test characters are such); batch {batch}, BPTT {CharTask.Steps}, Adam 2e-3, clip 1, seed {seed}");
        if (ProgressBar.Interactive(output))
            trainer.SegmentDone = new ProgressBar(output, "chars", (long)batch * CharTask.Steps).Report;
        var clock = Stopwatch.StartNew();
        trainer.Fit(train, validation, epochs, backup: options.Backup(), onEpoch: r =>
            output.WriteLine($"epoch {r.Epoch + 1}/{epochs}  train {r.TrainLoss / Math.Log(2):F3} bits/char  valid {r.ValidationBitsPerToken:F3} bits/char  " +
                $"{train.Targets / Math.Max(r.Seconds, 1e-9):N0} chars/s  {r.Seconds:F0} s"));
        double seconds = trainer.History.Sum(r => r.Seconds);
        double trainBits = trainer.Evaluate(train) / Math.Log(2), validBits = trainer.Evaluate(validation) / Math.Log(2);
        double testBits = trainer.Evaluate(test) / Math.Log(2);
        Plots.CurvesIfAsked(options, output, $"{System.IO.Path.GetFileName(path)}: 2 × LSTM(256)", "bits per character",
            ("train", trainer.History.Select(r => r.TrainLoss / Math.Log(2)).ToArray()),
            ("validation", trainer.History.Select(r => r.ValidationBitsPerToken!.Value).ToArray()));
        output.WriteLine($"bits per character (inference): train {trainBits:F3}, validation {validBits:F3}, test {testBits:F3} " +
            $"({seconds:F0} s of epochs, {clock.Elapsed.TotalSeconds:F0} s in this process)");
        output.WriteLine("RESULT " + string.Create(CultureInfo.InvariantCulture,
            $"{{\"task\":\"text\",\"arm\":\"{(plain ? "plain" : "regularized")}\",\"seed\":{seed},\"epochs\":{trainer.History.Count},\"characters\":{characters.Length}," +
            $"\"train_bits\":{trainBits:G6},\"valid_bits\":{validBits:G6},\"test_bits\":{testBits:G6},\"seconds\":{seconds:F1}}}"));
        if (options.Text("out", "") is { Length: > 0 } checkpoint)
        {
            ShippedLanguageModel.Text.Save(checkpoint, model, optimizer, vocabulary, batch);
            output.WriteLine($"saved {checkpoint}");
        }
        return 0;
    }
}
