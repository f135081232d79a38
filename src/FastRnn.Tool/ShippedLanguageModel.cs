using System.Globalization;
using FastRnn.Data;
using FastRnn.Training;

namespace FastRnn.Tool;

/// <summary>A language model the tool trains, as its checkpoint (<c>train --out</c>) names it: the task, whether its
/// tokens are words or characters, the batch and BPTT length it trains with (evaluation uses the same stream layout, so
/// it reproduces the numbers training printed), and how to make the model and an optimizer of the type it saved.</summary>
internal sealed record ShippedLanguageModel(string Task, bool Words, int Batch, int Steps,
    Func<int, int, ISequenceModel> Create, Func<ISequenceModel, Optimizer> Optimizer)
{
    public static readonly ShippedLanguageModel KjvChar = new("kjv-char", false, CharTask.Batch, CharTask.Steps, (b, s) => new KjvCharModel(b, s), m => new Adam(m));
    public static readonly ShippedLanguageModel S3 = new("s3", true, WordTask.S3Batch, WordTask.S3Steps, (b, s) => new KjvWordModel(b, s), m => new Adam(m));
    public static readonly ShippedLanguageModel ZarembaSmall = new("zaremba-small", true, WordTask.ZarembaBatch, WordTask.ZarembaSteps,
        (b, s) => new ZarembaSmallModel(b, s), m => new Sgd(m, 1f));
    public static readonly ShippedLanguageModel ZarembaMedium = new("zaremba-medium", true, WordTask.ZarembaBatch, WordTask.ZarembaSteps,
        (b, s) => new ZarembaMediumModel(b, s), m => new Sgd(m, 1f));

    /// <summary>The character model of <c>train --text</c>: kjv-char's model on a user's text; its batch depends on the
    /// text's length and is saved with it.</summary>
    public static readonly ShippedLanguageModel Text = new("text", false, CharTask.Batch, CharTask.Steps, (b, s) => new KjvCharModel(b, s), m => new Adam(m));

    private static readonly ShippedLanguageModel[] s_all = [KjvChar, S3, ZarembaSmall, ZarembaMedium, Text];

    /// <summary>Saves the model, its optimizer and its vocabulary (characters concatenated, words one per line), and the
    /// batch it trained with when that is not the kind's own.</summary>
    public void Save(string path, ISequenceModel model, Optimizer optimizer, Vocabulary vocabulary, int? batch = null)
    {
        var progress = new Dictionary<string, string>
        {
            ["task"] = Task,
            ["vocabulary"] = Words ? string.Join('\n', vocabulary.Tokens) : string.Concat(vocabulary.Tokens),
        };
        if (batch is { } columns)
            progress["batch"] = columns.ToString(CultureInfo.InvariantCulture);
        Checkpoint.Save(path, model, optimizer, progress);
    }

    /// <summary>Opens <c>--model</c>: the kind of model it holds, that model (for whole segments or, with
    /// <paramref name="streaming"/>, for one token at a time) with the saved weights, and its vocabulary; a missing or
    /// unreadable file is a clear argument error.</summary>
    public static (ShippedLanguageModel Kind, ISequenceModel Model, Vocabulary Vocabulary) Open(Options options, bool streaming)
    {
        string path = options.Text("model", "");
        if (path.Length == 0 || !File.Exists(path))
            throw new ArgumentException($"--model: no checkpoint at '{path}' (write one with train --task kjv-char|s3|zaremba-small|zaremba-medium --out FILE, or train --text TEXT --out FILE).");
        try
        {
            Safetensors.Read(path, out var metadata);
            string task = metadata.GetValueOrDefault("progress.task") ?? "(none)";
            var kind = s_all.FirstOrDefault(k => k.Task == task)
                ?? throw new ArgumentException($"--model: '{path}' holds a model of task '{task}'; generate and evaluate read {string.Join(", ", s_all.Select(k => k.Task))}.");
            if (metadata.GetValueOrDefault("progress.batch") is { } batch)
                kind = kind with { Batch = int.Parse(batch, CultureInfo.InvariantCulture) };
            var model = streaming ? kind.Create(1, 1) : kind.Create(kind.Batch, kind.Steps);
            var progress = Checkpoint.Load(path, model, kind.Optimizer(model));
            string saved = progress["vocabulary"];
            var tokens = kind.Words ? saved.Split('\n') : Characters(saved);
            return (kind, model, Vocabulary.FromTokens(tokens));
        }
        catch (InvalidDataException e)
        {
            throw new ArgumentException(e.Message);
        }
    }

    /// <summary>A text as a character model's tokens: its characters (Unicode scalar values).</summary>
    public static string[] Characters(string text) => text.EnumerateRunes().Select(r => r.ToString()).ToArray();

    /// <summary>The ids of a text in this model's tokens; a character outside a character model's vocabulary reads as
    /// the unknown symbol when the vocabulary has one (a <c>--text</c> model's U+FFFD) and is an argument error naming
    /// <paramref name="what"/> otherwise (a word model reads it as <c>&lt;unk&gt;</c>).</summary>
    public int[] Encode(IEnumerable<string> tokens, Vocabulary vocabulary, string what) =>
        tokens.Select(t => vocabulary.Contains(t) || Words ? vocabulary.Id(t)
            : vocabulary.Contains(TextTask.UnknownSymbol) ? vocabulary.Id(TextTask.UnknownSymbol)
            : throw new ArgumentException($"{what} has '{t}', which the model's vocabulary lacks.")).ToArray();
}
