using System.CommandLine;
using FastRnn.Data;

namespace FastRnn.Tool;

/// <summary>The options a subcommand was given, as the tasks read them: by name (without the leading <c>--</c>), with
/// the task's own default when the option was not given. The values were typed and checked when the command line was
/// parsed (<see cref="ToolCommands"/>): a task sees only values its option accepts.</summary>
public sealed class Options : IDisposable
{
    private readonly ParseResult _result;
    private ComputePool? _pool;

    /// <summary>The options of the subcommand <paramref name="result"/> parsed.</summary>
    public Options(ParseResult result) => _result = result;

    private T? Value<T>(string name)
    {
        var command = _result.CommandResult.Command;
        var option = command.Options.FirstOrDefault(o => o.Name == "--" + name)
            ?? throw new InvalidOperationException($"'{command.Name}' has no option --{name}.");
        if (option is not Option<T> typed)
            throw new InvalidOperationException($"--{name} of '{command.Name}' is not an option of type {typeof(T).Name}.");
        return _result.GetResult(option) is null ? default : _result.GetValue(typed);
    }

    /// <summary>The pool of <c>--threads N</c> (null for one thread, the default), created on first use and disposed
    /// with these options.</summary>
    public ComputePool? Pool()
    {
        if (!_result.CommandResult.Command.Options.Any(o => o.Name == "--threads"))
            return null;
        int threads = WholeNumber("threads", 1);
        if (threads == 1 || threads == 0 && Environment.ProcessorCount == 1)
            return null;
        return _pool ??= new ComputePool(threads);
    }

    /// <summary>Stops the pool's threads, if there is one.</summary>
    public void Dispose() => _pool?.Dispose();

    /// <summary>True when the option was given on the command line.</summary>
    public bool Given(string name) => _result.CommandResult.Command.Options.FirstOrDefault(o => o.Name == "--" + name) is { } option
        && _result.GetResult(option) is not null;

    /// <summary>An integer option's value, or <paramref name="fallback"/> when it was not given (its minimum was checked
    /// at parsing).</summary>
    public int WholeNumber(string name, int fallback) => Value<int?>(name) ?? fallback;

    /// <summary>A number option's value, or <paramref name="fallback"/> when it was not given.</summary>
    public float Number(string name, float fallback) => Value<float?>(name) ?? fallback;

    /// <summary>A text option's value, or <paramref name="fallback"/> when it was not given.</summary>
    public string Text(string name, string fallback) => Value<string>(name) ?? fallback;

    /// <summary>Refuses, before anything runs, an output file (<c>--out</c>, <c>--plot</c>, <c>--backup</c>) whose folder
    /// does not exist: a run must not train for an hour and then fail to save.</summary>
    public void CheckOutputFolders()
    {
        foreach (string name in new[] { "out", "plot", "backup" })
        {
            if (!Given(name) || Text(name, "") is not { Length: > 0 } path)
                continue;
            string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
            if (folder is not null && !Directory.Exists(folder))
                throw new ArgumentException($"--{name}: the folder '{folder}' does not exist; nothing was run.");
        }
    }

    /// <summary><c>--backup FILE</c>: the run is saved there after every epoch and, when the file exists, resumed from
    /// it (see <see cref="Training.LanguageModelTrainer.Fit"/>); null without the option.</summary>
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
        int limit = WholeNumber("max-verses", int.MaxValue);
        return corpus.In(split).Take(split == Split.Train ? limit : Math.Max(100, limit / 10)).ToList();
    }
}
