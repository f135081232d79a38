using System.Globalization;
using FastRnn.Data;
using FastRnn.Training;

namespace FastRnn.Tool;

/// <summary><c>fastrnn evaluate</c>, <c>generate</c>, <c>export</c> and <c>quantize</c> on a checkpoint of any language model the tool trains.</summary>
public static class LanguageModelCommands
{
    /// <summary>Writes a checkpoint's model as ONNX (<c>--onnx FILE</c>, with <c>--lengths</c> a lengths input) and/or as a
    /// safetensors file of its weights in PyTorch's names (<c>--safetensors FILE</c>, with the task and the vocabulary in
    /// its header: what the model server reads); a model ONNX cannot express (the s3 model's batch normalization) is an
    /// argument error naming what.</summary>
    public static int Export(Options options, TextWriter output)
    {
        string onnx = options.Text("onnx", ""), weights = options.Text("safetensors", "");
        if (onnx.Length == 0 && weights.Length == 0)
            throw new ArgumentException("--onnx or --safetensors: name the file to write (export --model CHECKPOINT --onnx FILE).");
        foreach (var (option, path) in new[] { ("onnx", onnx), ("safetensors", weights) })
            if (path.Length > 0 && Path.GetDirectoryName(Path.GetFullPath(path)) is { } folder && !Directory.Exists(folder))
                throw new ArgumentException($"--{option}: the folder '{folder}' does not exist.");
        var (kind, model, vocabulary) = ShippedLanguageModel.Open(options, streaming: true);
        string what = $"the {kind.Task} model ({vocabulary.Count} {(kind.Words ? "words" : "characters")}, {model.LayerCount} layers)";
        if (onnx.Length > 0)
        {
            try
            {
                model.SaveOnnx(onnx, new OnnxExportOptions { SequenceLengths = options.Given("lengths") });
            }
            catch (NotSupportedException e)
            {
                throw new ArgumentException($"--model: {e.Message}");
            }
            output.WriteLine($"Wrote {onnx}: {what} as ONNX.");
        }
        if (weights.Length > 0)
        {
            model.SaveSafetensors(weights, new Dictionary<string, string>
            {
                ["fastrnn.task"] = kind.Task,
                ["fastrnn.token_unit"] = kind.Words ? "word" : "character",
                ["fastrnn.tokens"] = kind.Words ? string.Join('\n', vocabulary.Tokens) : string.Concat(vocabulary.Tokens),
            });
            output.WriteLine($"Wrote {weights}: {what}'s weights as safetensors.");
        }
        return 0;
    }

    /// <summary>The loss of a checkpoint on a split of kjv.txt (<c>--split test|validation|train</c>; with
    /// <c>--max-chars</c> or <c>--max-verses</c> cut as training cut it): bits per character or perplexity.</summary>
    public static int Evaluate(Options options, TextWriter output)
    {
        var (kind, model, vocabulary) = ShippedLanguageModel.Open(options, streaming: false);
        var (name, ids) = SplitIds(options, kind, vocabulary);
        double loss = new LanguageModelTrainer(model, kind.Optimizer(model), kind.Steps).Evaluate(new TokenStream(ids, kind.Batch));
        output.WriteLine($"{name}: {Measure(kind, loss)} over {ids.Length:N0} {(kind.Words ? "words" : "characters")}");
        return 0;
    }

    /// <summary>Bits per character, or perplexity for a word model, of a mean loss in nats (<paramref name="fine"/>: one
    /// more digit, for differences between precisions).</summary>
    private static string Measure(ShippedLanguageModel kind, double loss, bool fine = false) => kind.Words
        ? $"perplexity {Math.Exp(loss).ToString(fine ? "F2" : "F1", CultureInfo.InvariantCulture)}"
        : $"{(loss / Math.Log(2)).ToString(fine ? "F4" : "F3", CultureInfo.InvariantCulture)} bits per character";

    /// <summary>The ids of <c>--split</c> (test by default) of kjv.txt or of <c>--text</c>, cut as training cut them.</summary>
    private static (string Name, int[] Ids) SplitIds(Options options, ShippedLanguageModel kind, Vocabulary vocabulary)
    {
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
        return (name, kind.Encode(tokens, vocabulary, $"The {name} text"));
    }

    /// <summary>Quantizes a checkpoint's model to <c>--precision</c> (bfloat16 or int8), writes it with <c>--out</c>, and
    /// measures what the precision costs on a split: the loss of the float32 and the quantized model through the same
    /// streaming evaluation (the stream in the checkpoint's batch of columns, a step at a time, the state carried), and
    /// over the split's first 1,000 tokens at batch 1 how far the quantized states drift from the float32 ones.</summary>
    public static int Quantize(Options options, TextWriter output)
    {
        var (kind, model, vocabulary) = ShippedLanguageModel.Open(options, streaming: true);
        var precision = options.Text("precision", "int8") switch
        {
            "bfloat16" => WeightPrecision.BFloat16,
            "int8" => WeightPrecision.Int8,
            var other => throw new ArgumentException($"--precision must be bfloat16 or int8; got '{other}'."),
        };
        var quantized = model.Quantize(precision);
        long floatBytes = 4L * model.Tensors.Where(t => t.Storage == TensorStorage.InterleavedWeight).Sum(t => (long)t.StorageLength);
        output.WriteLine($"{kind.Task}: weight matrices {floatBytes / 1024.0:N0} KiB in float32, {quantized.MatrixBytes / 1024.0:N0} KiB in {QuantizedWeights.Name(precision)} " +
            $"({(double)quantized.MatrixBytes / floatBytes:F3}×)");
        if (options.Text("out", "") is { Length: > 0 } path)
        {
            quantized.SaveSafetensors(path);
            output.WriteLine($"wrote {path} ({new FileInfo(path).Length / 1024.0:N0} KiB)");
        }
        var (name, ids) = SplitIds(options, kind, vocabulary);
        var stream = new TokenStream(ids, kind.Batch);
        double float32 = StreamedLoss(model.NewState, model.StepTokens, model.OutputWidth, stream, kind.Steps);
        double reduced = StreamedLoss(quantized.NewState, quantized.StepTokens, quantized.OutputWidth, stream, kind.Steps);
        output.WriteLine($"{name}, streamed ({stream.Targets:N0} predictions in {kind.Batch} columns): float32 {Measure(kind, float32, fine: true)}, " +
            $"{QuantizedWeights.Name(precision)} {Measure(kind, reduced, fine: true)}" +
            (kind.Words ? "" : $" ({((reduced - float32) / Math.Log(2)).ToString("+0.0000;-0.0000", CultureInfo.InvariantCulture)} bits per character)"));
        Drift(model, quantized, ids.AsSpan(0, Math.Min(ids.Length, 1000)), output);
        return 0;
    }

    /// <summary>Mean −ln p(next token) of a stream, stepped a token at a time in its columns with the state carried.</summary>
    private static double StreamedLoss(Func<int, IRnnState> newState, StepTokens step, int outputs, TokenStream stream, int steps)
    {
        var state = newState(stream.Batch);
        var inputs = new int[steps * stream.Batch];
        var targets = new int[steps * stream.Batch];
        var probabilities = new float[stream.Batch * outputs];
        double total = 0;
        for (int s = 0; s < stream.Segments(steps); s++)
        {
            int n = stream.Segment(s, steps, inputs, targets);
            for (int t = 0; t < n; t++)
            {
                step(inputs.AsSpan(t * stream.Batch, stream.Batch), state, probabilities);
                for (int b = 0; b < stream.Batch; b++)
                    total -= Math.Log(Math.Max(probabilities[b * outputs + targets[t * stream.Batch + b]], float.Epsilon));
            }
        }
        return total / stream.Targets;
    }

    /// <summary>Steps the float32 and the quantized model side by side over <paramref name="ids"/> at batch 1 and prints
    /// the relative error of the quantized states (every layer's h and c together, ‖Δ‖ / ‖float32‖) and the largest
    /// difference of an output probability, at steps along the way.</summary>
    private static void Drift(ISequenceModel model, IQuantizedModel quantized, ReadOnlySpan<int> ids, TextWriter output)
    {
        var reference = model.NewState(1);
        var state = quantized.NewState(1);
        var expected = new float[model.OutputWidth];
        var actual = new float[model.OutputWidth];
        double worst = 0, worstOutput = 0, sum = 0;
        var marks = new List<string>();
        for (int t = 0; t < ids.Length; t++)
        {
            model.StepTokens(ids.Slice(t, 1), reference, expected);
            quantized.StepTokens(ids.Slice(t, 1), state, actual);
            double difference = 0, norm = 0;
            for (int layer = 0; layer < model.LayerCount; layer++)
            {
                Accumulate(reference.Hidden(layer, 0), state.Hidden(layer, 0), ref difference, ref norm);
                if (model.Architecture?.Layers[layer].Cell == RecurrentCell.Lstm)
                    Accumulate(reference.Cell(layer, 0), state.Cell(layer, 0), ref difference, ref norm);
            }
            double relative = Math.Sqrt(difference / norm);
            worst = Math.Max(worst, relative);
            sum += relative;
            for (int i = 0; i < expected.Length; i++)
                worstOutput = Math.Max(worstOutput, Math.Abs(actual[i] - expected[i]));
            if (t + 1 is 1 or 10 or 100 or 250 or 500 or 750 or 1000)
                marks.Add($"step {t + 1}: {relative:E2}");
        }
        output.WriteLine($"state drift over {ids.Length:N0} steps at batch 1 (relative error of every h and c): {string.Join(", ", marks)}; " +
            $"mean {sum / ids.Length:E2}, largest {worst:E2}; largest output difference {worstOutput:E2}");
    }

    private static void Accumulate(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, ref double difference, ref double norm)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            difference += Math.Pow(actual[i] - expected[i], 2);
            norm += Math.Pow(expected[i], 2);
        }
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
