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
