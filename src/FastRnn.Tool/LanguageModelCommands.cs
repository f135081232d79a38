using System.Globalization;
using FastRnn.Data;
using FastRnn.Training;

namespace FastRnn.Tool;

/// <summary><c>fastrnn evaluate</c> and <c>fastrnn generate</c> on a checkpoint of any language model the tool trains.</summary>
public static class LanguageModelCommands
{
    /// <summary>Writes a checkpoint's model as ONNX (<c>--onnx FILE</c>, with <c>--lengths</c> a lengths input); a model
    /// ONNX cannot express (the s3 model's batch normalization) is an argument error naming what.</summary>
    public static int Export(Options options, TextWriter output)
    {
        string path = options.Text("onnx", "");
        if (path.Length == 0)
            throw new ArgumentException("--onnx: name the ONNX file to write (export --model CHECKPOINT --onnx FILE).");
        string folder = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        if (!Directory.Exists(folder))
            throw new ArgumentException($"--onnx: the folder '{folder}' does not exist.");
        var (kind, model, vocabulary) = ShippedLanguageModel.Open(options, streaming: true);
        try
        {
            model.SaveOnnx(path, new OnnxExportOptions { SequenceLengths = options.Given("lengths") });
        }
        catch (NotSupportedException e)
        {
            throw new ArgumentException($"--model: {e.Message}");
        }
        output.WriteLine($"Wrote {path}: the {kind.Task} model ({vocabulary.Count} {(kind.Words ? "words" : "characters")}, {model.LayerCount} layers) as ONNX.");
        return 0;
    }

    /// <summary>The loss of a checkpoint on a split of kjv.txt (<c>--split test|validation|train</c>; with
    /// <c>--max-chars</c> or <c>--max-verses</c> cut as training cut it): bits per character or perplexity.</summary>
    public static int Evaluate(Options options, TextWriter output)
    {
        var (kind, model, vocabulary) = ShippedLanguageModel.Open(options, streaming: false);
        var split = options.Text("split", "test") switch
        {
            "test" => Split.Test,
            "validation" => Split.Validation,
            "train" => Split.Train,
            var other => throw new ArgumentException($"--split must be test, validation or train; got '{other}'."),
        };
        string name = split.ToString().ToLowerInvariant();
        IEnumerable<string> tokens;
        if (options.Given("text"))
        {
            if (kind.Words)
                throw new ArgumentException($"--text: '{options.Text("model", "")}' is a word model ({kind.Task}); it is evaluated on kjv.txt.");
            var (train, validation, test) = TextTask.Split(TextTask.Read(options.Text("text", "")));
            tokens = split switch { Split.Train => train, Split.Validation => validation, _ => test };
        }
        else if (kind.Words)
            tokens = options.Verses(options.Corpus(), split).SelectMany(v => WordTokenizer.Tokens(v.Text));
        else
        {
            string text = CharTask.Text(options.Corpus(), split);
            int limit = options.WholeNumber("max-chars", int.MaxValue);
            if (text.Length > limit) text = text[..limit];
            tokens = ShippedLanguageModel.Characters(text);
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
        int length = options.WholeNumber("length", 400), seed = options.WholeNumber("seed", 1);
        float temperature = options.Number("temperature", 0.8f);
        var (kind, model, vocabulary) = ShippedLanguageModel.Open(options, streaming: true);
        string prime = options.Text("prime", "In the beginning");
        var primeTokens = kind.Words
            ? WordTokenizer.Tokens(prime).SkipLast(1).ToArray() // not the <eos> a verse ends with
            : ShippedLanguageModel.Characters(prime);
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
