using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Globalization;

namespace FastRnn.Tool;

/// <summary>The <c>fastrnn</c> command tree on System.CommandLine: the subcommands <c>train</c>, <c>generate</c>,
/// <c>evaluate</c> and <c>sweep</c>, each option typed and described (its help is <c>fastrnn SUBCOMMAND --help</c>),
/// every action writing to the given output and turning an <see cref="ArgumentException"/> of a task (a bad value or
/// a bad file) into its message on the error writer and exit code 2.</summary>
internal static class ToolCommands
{
    /// <summary>The tasks of <c>fastrnn train --task</c>.</summary>
    public static readonly string[] TrainTasks = ["reber", "adding", "kjv-char", "s1", "s2", "s3", "s4", "s5", "zaremba-small", "zaremba-medium"];

    /// <summary>The tasks of <c>fastrnn sweep --task</c>.</summary>
    public static readonly string[] SweepTasks = ["kjv-char", "s2", "s4"];

    /// <summary>The root command with its subcommands; the actions write to <paramref name="output"/> and
    /// <paramref name="error"/>.</summary>
    public static Command Build(TextWriter output, TextWriter error)
    {
        // A command named fastrnn, not a RootCommand (whose name is the executable's, FastRnn.Tool): help's usage lines
        // name the command a user types.
        var root = new Command("fastrnn", "fastrnn: trains and samples the FastRnn models (LSTM and GRU code that the FastRnn source generator " +
            "specializes to each model). The built-in tasks read ../shared/data; train --text and --csv read your own files.")
        {
            new HelpOption(), new VersionOption(),
            Train(output, error), Generate(output, error), Evaluate(output, error), Sweep(output, error), Export(output, error),
            Quantize(output, error),
        };
        return root;
    }

    private static Command Train(TextWriter output, TextWriter error)
    {
        var task = Choice("--task", "The built-in task: reber (the default: an LSTM(32) on the embedded Reber grammar, until 99% " +
            "held-out next-symbol accuracy), adding (the adding problem, 100 steps), kjv-char (2 × LSTM(256) characters of kjv.txt, bits per " +
            "character), s1 / s5 (verse → testament / book group), s2 / s4 (sunspots / EuStockMarkets forecasts with early stopping, beside a " +
            "naive baseline), s3 (word language model with batch normalization), zaremba-small / zaremba-medium (Zaremba et al.'s " +
            "2 × LSTM(200) and 2 × LSTM(650) with dropout on KJV words).", "TASK", TrainTasks);
        var text = new Option<string>("--text")
        {
            Description = "Train the character model (2 × LSTM(256), as kjv-char) on FILE, any UTF-8 text instead of a task. The text is split " +
                "by characters: the first 90% trains, the next 5% validates, the last 5% tests (at least " +
                $"{TextTask.MinimumCharacters} characters). The vocabulary is the training part's characters (the {TextTask.MaxCharacters} " +
                $"most frequent if it has more); any other character reads as the unknown symbol U+FFFD. Reports bits per character; " +
                "--out writes a checkpoint for generate and evaluate.",
            HelpName = "FILE",
        };
        var csv = new Option<string>("--csv")
        {
            Description = "Train a forecaster (LSTM(32) → Dense(1)) on FILE, a CSV table instead of a task: a header row of column names, one " +
                "row per time step, oldest first. Only the --target column is read (it must be numeric; other columns may hold anything " +
                "without commas). Windows of --window steps predict the next value; split chronologically 70/15/15, standardized on the " +
                "training part, early stopping on the validation loss. Reports test RMSE and MAE beside the persistence baseline " +
                "(the last observed value).",
            HelpName = "FILE",
        };
        var target = new Option<string>("--target") { Description = "With --csv: the name of the column to forecast.", HelpName = "COLUMN" };
        var window = WholeNumber("--window", 1, $"With --csv: steps per window (default {CsvTask.DefaultWindow}).");
        var command = new Command("train", "Train a model: a built-in --task, your own text (--text FILE) or your own numeric table " +
            "(--csv FILE --target COLUMN). With no options, an LSTM on the embedded Reber grammar (generated here).")
        {
            task, text, csv, target, window,
            WholeNumber("--strings", 100, "reber: training strings (default 4000)."),
            WholeNumber("--samples", 100, "adding: training sequences (default 10000)."),
            WholeNumber("--epochs", 1, "Epochs to train (at most, with early stopping); the default depends on the task (reber 40, adding 30, " +
                $"kjv-char and --text 1, s1 10, s2 60, s3 2, s4 30, s5 8, zaremba 6, --csv {CsvTask.DefaultEpochs})."),
            WholeNumber("--seed", 0, "Seed of the initial weights, data order and masks (default 1)."),
            PathOption("--data", "kjv-char, s1, s3, s5, zaremba: kjv.txt (default ../shared/data/kjv.txt); s2, s4: the folder of the CSV files " +
                "(default ../shared/data/timeseries).", "FILE|FOLDER"),
            WholeNumber("--max-chars", 1000, "kjv-char: train on the first N characters of the training split (validation and test: a tenth)."),
            WholeNumber("--max-verses", 100, "s1, s3, s5, zaremba: train on the first N verses of the training split (validation and test: a tenth, " +
                "at least 100)."),
            Choice("--arm", "s1–s5, kjv-char, zaremba-medium, --text: regularized (the default: the model as declared) or plain (every regularizer " +
                "switched off at run time).", "ARM", "regularized", "plain"),
            PathOption("--out", "kjv-char, s3, zaremba, --text: write a checkpoint of the trained model to FILE (for generate and evaluate); " +
                "--csv: the forecaster's checkpoint.", "FILE"),
            PathOption("--plot", "Write the training and validation curves to FILE (PNG).", "FILE"),
            PathOption("--backup", "Every task but reber and adding: save the run to FILE after each epoch and, when FILE exists, resume it there " +
                "(the same command again continues an interrupted run, bit for bit).", "FILE"),
            WholeNumber("--threads", 0, "Threads that share the training (default 1; 0: one per processor). The results are the same bits at " +
                "any thread count."),
            new Option<bool>("--quantize") { Description = "s1, s5: afterwards, the test accuracy of the trained model's bfloat16 and int8 copies " +
                "(Quantize), each test verse streamed a token at a time, beside the float32 model streamed the same way." },
        };
        command.Validators.Add(result =>
        {
            bool Has(Option option) => result.GetResult(option) is not null;
            int sources = (Has(task) ? 1 : 0) + (Has(text) ? 1 : 0) + (Has(csv) ? 1 : 0);
            if (sources > 1)
                result.AddError("Give one of --task, --text FILE and --csv FILE.");
            if (Has(csv) && !Has(target))
                result.AddError("--csv needs --target COLUMN: the name of the column to forecast.");
            if (!Has(csv) && (Has(target) || Has(window)))
                result.AddError("--target and --window go with --csv FILE.");
            // a user's own file: the built-in tasks' options would be silently ignored, so they are errors
            string[] builtIn = Has(csv) ? ["--strings", "--samples", "--data", "--max-chars", "--max-verses", "--arm"]
                : Has(text) ? ["--strings", "--samples", "--data", "--max-chars", "--max-verses"] : [];
            foreach (var option in command.Options.Where(o => builtIn.Contains(o.Name) && Has(o)))
                result.AddError($"{option.Name} is an option of the built-in tasks; {(Has(csv) ? "--csv" : "--text")} does not read it.");
        });
        command.SetAction(Action(error, options =>
            options.Given("text") ? TextTask.Train(options, output)
            : options.Given("csv") ? CsvTask.Train(options, output)
            : options.Text("task", "reber") switch
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
                var other => throw new ArgumentException($"Unknown task '{other}' ({string.Join(", ", TrainTasks)})."),
            }));
        return command;
    }

    private static Command Generate(TextWriter output, TextWriter error)
    {
        var command = new Command("generate", "Sample text from a language model's checkpoint (train --task kjv-char|s3|zaremba-small|" +
            "zaremba-medium or --text, with --out FILE): characters, or words (lower case, <eos> ends a line).")
        {
            PathOption("--model", "The checkpoint to sample from.", "FILE"),
            WholeNumber("--length", 1, "Tokens to sample after the prime (default 400)."),
            Number("--temperature", 0, "Softmax temperature: the logits are divided by T; 0 takes the most likely token (default 0.8)."),
            new Option<string>("--prime") { Description = "The text the sample continues (default \"In the beginning\").", HelpName = "TEXT" },
            WholeNumber("--seed", 0, "Seed of the sampling (default 1)."),
        };
        command.SetAction(Action(error, options => LanguageModelCommands.Generate(options, output)));
        return command;
    }

    private static Command Evaluate(TextWriter output, TextWriter error)
    {
        var command = new Command("evaluate", "Bits per character or perplexity of a language model's checkpoint on a split of kjv.txt, " +
            "or for a character model on a split of a text file (--text FILE, split as train --text splits it).")
        {
            PathOption("--model", "The checkpoint to evaluate.", "FILE"),
            Choice("--split", "The split to measure: test (the default), validation or train.", "SPLIT", "test", "validation", "train"),
            PathOption("--data", "kjv.txt (default ../shared/data/kjv.txt).", "FILE"),
            PathOption("--text", "A character model on FILE's split instead of kjv.txt's (first 90% train, next 5% validation, last 5% test).", "FILE"),
            WholeNumber("--max-chars", 1000, "A character model: the split cut to N characters, as train --max-chars cut it (a tenth for " +
                "validation and test)."),
            WholeNumber("--max-verses", 100, "A word model: the split's verses cut as train --max-verses cut them."),
        };
        command.SetAction(Action(error, options => LanguageModelCommands.Evaluate(options, output)));
        return command;
    }

    private static Command Export(TextWriter output, TextWriter error)
    {
        var command = new Command("export", "Write a language model's checkpoint (train --task kjv-char|zaremba-small|zaremba-medium or " +
            "--text, with --out FILE) as safetensors weights (--safetensors) or as an ONNX graph of standard operators (Gather, LSTM/GRU, MatMul, Add, Softmax) that any ONNX " +
            "runtime runs: inputs tokens [steps, batch] and initial_h.k / initial_c.k, outputs output and final_h.k / final_c.k.")
        {
            PathOption("--model", "The checkpoint to export.", "FILE"),
            PathOption("--onnx", "The ONNX file to write.", "FILE"),
            PathOption("--safetensors", "Also (or instead) write the weights as safetensors in PyTorch's names, with the task and " +
                "vocabulary in the header: the file the model server (src/FastRnn.Serving) serves.", "FILE"),
            new Option<bool>("--lengths") { Description = "Add an input lengths (int32 [batch]): each row's real steps, for batches of sequences of different lengths." },
        };
        command.SetAction(Action(error, options => LanguageModelCommands.Export(options, output)));
        return command;
    }

    private static Command Quantize(TextWriter output, TextWriter error)
    {
        var command = new Command("quantize", "Make a serving copy of a language model's checkpoint with its weight matrices in bfloat16 or " +
            "int8 (--out FILE writes it as safetensors, without float32 matrices), and measure what that costs: the loss of the float32 " +
            "and the quantized model on a split of kjv.txt (or --text's), streamed a step at a time in the same columns, and the drift " +
            "of the quantized states from the float32 ones over the split's first 1,000 tokens.")
        {
            PathOption("--model", "The checkpoint to quantize.", "FILE"),
            Choice("--precision", "The weight matrices' precision: int8 (the default: per-row scales, inputs quantized per step) or bfloat16.",
                "PRECISION", "int8", "bfloat16"),
            PathOption("--out", "Write the quantized model to FILE (safetensors).", "FILE"),
            Choice("--split", "The split to measure: test (the default), validation or train.", "SPLIT", "test", "validation", "train"),
            PathOption("--data", "kjv.txt (default ../shared/data/kjv.txt).", "FILE"),
            PathOption("--text", "A character model on FILE's split instead of kjv.txt's.", "FILE"),
            WholeNumber("--max-chars", 1000, "A character model: the split cut to N characters."),
            WholeNumber("--max-verses", 100, "A word model: the split's verses cut as train --max-verses cut them."),
        };
        command.SetAction(Action(error, options => LanguageModelCommands.Quantize(options, output)));
        return command;
    }

    private static Command Sweep(TextWriter output, TextWriter error)
    {
        var command = new Command("sweep", "Grid (or --random) search over a model's run-time rates and coefficients, each setting trained " +
            "from the same initial weights with early stopping; a table ranked by the best validation loss (kjv-char: bits per " +
            "character; s2, s4: MSE).")
        {
            Choice("--task", "The model: kjv-char (the default), s2 or s4.", "TASK", SweepTasks),
            new Option<string>("--grid")
            {
                Description = "The values of each run-time option, \"Name=v1,v2;Other=v1,v2\" (default for kjv-char: " +
                    "\"Layer0Dropout=0,0.2;HeadDropout=0,0.2\"; s2: S2's L2 coefficients; s4: L2 and dropout).",
                HelpName = "GRID",
            },
            WholeNumber("--random", 0, "Draw N settings from the grid's values instead of taking every combination."),
            WholeNumber("--epochs", 1, "Epochs per setting, at most (default kjv-char 3, s2 60, s4 30)."),
            WholeNumber("--max-chars", 1000, "kjv-char: the first N training characters (validation: a tenth)."),
            WholeNumber("--seed", 0, "Seed of the initial weights, data order and draws (default 1)."),
            PathOption("--data", "kjv-char: kjv.txt; s2, s4: the folder of the CSV files (defaults in ../shared/data).", "FILE|FOLDER"),
            PathOption("--plot", "Draw the ranking as a bar chart to FILE (PNG).", "FILE"),
            WholeNumber("--threads", 0, "Threads for the whole sweep (default 0: one per processor). The results are the same bits at any " +
                "thread count and layout."),
            Choice("--parallel", "How the threads are used: trials (the default: up to --threads settings trained side by side, one thread " +
                "each) or steps (one setting at a time, each training step split across the threads).", "LAYOUT", "trials", "steps"),
        };
        command.SetAction(Action(error, options => options.Text("task", "kjv-char") switch
        {
            "kjv-char" => CharTask.Sweep(options, output),
            "s2" => ForecastTasks.SweepS2(options, output),
            "s4" => ForecastTasks.SweepS4(options, output),
            var other => throw new ArgumentException($"Unknown task '{other}' for sweep ({string.Join(", ", SweepTasks)})."),
        }));
        return command;
    }

    /// <summary>A command's action: the task's exit code, or its argument error's message and 2; a file that cannot be
    /// written (a full disk, no permission) is its message and 1.</summary>
    private static Func<ParseResult, int> Action(TextWriter error, Func<Options, int> run) => result =>
    {
        try
        {
            using var options = new Options(result);
            options.CheckOutputFolders();
            return run(options);
        }
        catch (ArgumentException e)
        {
            error.WriteLine(e.Message);
            return 2;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine(e.Message);
            return 1;
        }
    };

    /// <summary>An integer option of at least <paramref name="min"/>; anything else is a parse error naming it.</summary>
    private static Option<int?> WholeNumber(string name, int min, string description) => new(name)
    {
        Description = description,
        HelpName = "N",
        CustomParser = result =>
        {
            string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) && value >= min)
                return value;
            result.AddError($"{name} must be an integer of at least {min}; got '{text}'.");
            return null;
        },
    };

    /// <summary>A number option of at least <paramref name="min"/>; anything else is a parse error naming it.</summary>
    private static Option<float?> Number(string name, float min, string description) => new(name)
    {
        Description = description,
        HelpName = "T",
        CustomParser = result =>
        {
            string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            if (float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out float value) && float.IsFinite(value) && value >= min)
                return value;
            result.AddError($"{name} must be a number of at least {min.ToString(CultureInfo.InvariantCulture)}; got '{text}'.");
            return null;
        },
    };

    /// <summary>A text option that takes one of <paramref name="values"/>; anything else is a parse error naming the
    /// option and listing them.</summary>
    private static Option<string> Choice(string name, string description, string helpName, params string[] values)
    {
        var option = new Option<string>(name) { Description = description, HelpName = helpName };
        option.Validators.Add(result =>
        {
            string? value = result.GetValueOrDefault<string>();
            if (value is not null && !values.Contains(value, StringComparer.Ordinal))
                result.AddError($"{name} must be one of {string.Join(", ", values)}; got '{value}'.");
        });
        return option;
    }

    /// <summary>A file or folder path option.</summary>
    private static Option<string> PathOption(string name, string description, string helpName) =>
        new(name) { Description = description, HelpName = helpName };
}
