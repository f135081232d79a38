using System.Globalization;
using FastRnn.Data;

namespace FastRnn.Tool;

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
