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

    private static readonly ShippedLanguageModel[] All = [KjvChar, S3, ZarembaSmall, ZarembaMedium];

    /// <summary>Saves the model, its optimizer and its vocabulary (characters concatenated, words one per line).</summary>
    public void Save(string path, ISequenceModel model, Optimizer optimizer, Vocabulary vocabulary) =>
        Checkpoint.Save(path, model, optimizer, new Dictionary<string, string>
        {
            ["task"] = Task,
            ["vocabulary"] = Words ? string.Join('\n', vocabulary.Tokens) : string.Concat(vocabulary.Tokens),
        });

    /// <summary>Opens <c>--model</c>: the kind of model it holds, that model (for whole segments or, with
    /// <paramref name="streaming"/>, for one token at a time) with the saved weights, and its vocabulary; a missing or
    /// unreadable file is a clear argument error.</summary>
    public static (ShippedLanguageModel Kind, ISequenceModel Model, Vocabulary Vocabulary) Open(Options options, bool streaming)
    {
        string path = options.Text("model", "");
        if (path.Length == 0 || !File.Exists(path))
            throw new ArgumentException($"--model: no checkpoint at '{path}' (write one with train --task kjv-char|s3|zaremba-small|zaremba-medium --out FILE).");
        try
        {
            Safetensors.Read(path, out var metadata);
            string task = metadata.GetValueOrDefault("progress.task") ?? "(none)";
            var kind = All.FirstOrDefault(k => k.Task == task)
                ?? throw new ArgumentException($"--model: '{path}' holds a model of task '{task}'; generate and evaluate read {string.Join(", ", All.Select(k => k.Task))}.");
            var model = streaming ? kind.Create(1, 1) : kind.Create(kind.Batch, kind.Steps);
            var progress = Checkpoint.Load(path, model, kind.Optimizer(model));
            string saved = progress["vocabulary"];
            var tokens = kind.Words ? saved.Split('\n') : saved.Select(c => c.ToString()).ToArray();
            return (kind, model, Vocabulary.FromTokens(tokens));
        }
        catch (InvalidDataException e)
        {
            throw new ArgumentException(e.Message);
        }
    }

    /// <summary>The ids of a text in this model's tokens; a character outside a character model's vocabulary is an
    /// argument error naming <paramref name="what"/> (a word model reads it as <c>&lt;unk&gt;</c>).</summary>
    public int[] Encode(IEnumerable<string> tokens, Vocabulary vocabulary, string what) =>
        tokens.Select(t => vocabulary.Contains(t) || Words ? vocabulary.Id(t)
            : throw new ArgumentException($"{what} has '{t}', which the model's vocabulary lacks.")).ToArray();
}

/// <summary><c>fastrnn evaluate</c> and <c>fastrnn generate</c> on a checkpoint of any language model the tool trains.</summary>
public static class LanguageModelCommands
{
    /// <summary>The loss of a checkpoint on a split of kjv.txt (<c>--split test|validation|train</c>; with
    /// <c>--max-chars</c> or <c>--max-verses</c> cut as training cut it): bits per character or perplexity.</summary>
    public static int Evaluate(Options options, TextWriter output)
    {
        var (kind, model, vocabulary) = ShippedLanguageModel.Open(options, streaming: false);
        var corpus = options.Corpus();
        var split = options.Text("split", "test") switch
        {
            "test" => Split.Test,
            "validation" => Split.Validation,
            "train" => Split.Train,
            var other => throw new ArgumentException($"--split must be test, validation or train; got '{other}'."),
        };
        string name = split.ToString().ToLowerInvariant();
        IEnumerable<string> tokens;
        if (kind.Words)
            tokens = options.Verses(corpus, split).SelectMany(v => WordTokenizer.Tokens(v.Text));
        else
        {
            string text = CharTask.Text(corpus, split);
            int limit = options.Int("max-chars", int.MaxValue, 1000);
            if (text.Length > limit) text = text[..limit];
            tokens = text.Select(c => c.ToString());
        }
        var ids = kind.Encode(tokens, vocabulary, $"The {name} text");
        double loss = new LanguageModelTrainer(model, kind.Optimizer(model), kind.Steps).Evaluate(new TokenStream(ids, kind.Batch));
        output.WriteLine(kind.Words
            ? $"{name}: perplexity {Math.Exp(loss).ToString("F1", CultureInfo.InvariantCulture)} over {ids.Length:N0} words"
            : $"{name}: {(loss / Math.Log(2)).ToString("F3", CultureInfo.InvariantCulture)} bits per character over {ids.Length:N0} characters");
        return 0;
    }

    /// <summary>Samples <c>--length</c> tokens from a checkpoint after <c>--prime</c>, at <c>--temperature</c> (softmax
    /// of logits/T; a temperature of 0 takes the most likely token). A word model's text is lower case with
    /// punctuation marks as tokens, and <c>&lt;eos&gt;</c> ends a line.</summary>
    public static int Generate(Options options, TextWriter output)
    {
        int length = options.Int("length", 400, 1), seed = options.Int("seed", 1, 0);
        if (!float.TryParse(options.Text("temperature", "0.8"), NumberStyles.Float, CultureInfo.InvariantCulture, out float temperature) || temperature < 0)
            throw new ArgumentException($"--temperature must be a number of at least 0; got '{options.Text("temperature", "")}'.");
        var (kind, model, vocabulary) = ShippedLanguageModel.Open(options, streaming: true);
        string prime = options.Text("prime", "In the beginning");
        var primeTokens = kind.Words
            ? WordTokenizer.Tokens(prime).SkipLast(1).ToArray() // not the <eos> a verse ends with
            : prime.Select(c => c.ToString()).ToArray();
        if (primeTokens.Length == 0)
            throw new ArgumentException("--prime must hold at least one token.");
        var state = model.NewState(1);
        var probabilities = new float[model.OutputWidth];
        var random = new Random(seed);
        var text = new System.Text.StringBuilder(kind.Words ? string.Join(' ', primeTokens) : prime);
        foreach (int id in kind.Encode(primeTokens, vocabulary, "--prime"))
            model.StepTokens([id], state, probabilities);
        for (int i = 0; i < length; i++)
        {
            int next = Sample(probabilities.AsSpan(0, vocabulary.Count), temperature, random);
            string token = vocabulary.Tokens[next];
            text.Append(!kind.Words ? token : token == Vocabulary.EndOfSentence ? "\n" : text.Length > 0 && text[^1] != '\n' ? " " + token : token);
            model.StepTokens([next], state, probabilities);
        }
        output.WriteLine(text.ToString());
        return 0;
    }

    /// <summary>A draw from p^(1/T) renormalized (the softmax of logits/T); the argmax at T = 0.</summary>
    private static int Sample(ReadOnlySpan<float> probabilities, float temperature, Random random)
    {
        if (temperature == 0)
            return System.Numerics.Tensors.TensorPrimitives.IndexOfMax(probabilities);
        double total = 0;
        Span<double> weights = stackalloc double[probabilities.Length];
        for (int i = 0; i < probabilities.Length; i++)
            total += weights[i] = Math.Pow(Math.Max(probabilities[i], 1e-30), 1.0 / temperature);
        double u = random.NextDouble() * total;
        for (int i = 0; i < weights.Length; i++)
            if ((u -= weights[i]) <= 0)
                return i;
        return weights.Length - 1;
    }
}
