using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using FastRnn.Tool;
using Xunit;

namespace FastRnn.Tests;

/// <summary>The fastrnn command line on System.CommandLine (unknown and misspelled names, typed values, help) and
/// training on a user's own files: <c>train --text FILE</c> and <c>train --csv FILE --target COLUMN</c>, with every
/// kind of bad file refused before anything is written.</summary>
public class ToolCliTests : TemporaryDirectoryTest
{
    private static (int Code, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = Cli.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    private static JsonElement Result(string output) =>
        JsonDocument.Parse(output.Split('\n').Single(l => l.StartsWith("RESULT ", StringComparison.Ordinal))["RESULT ".Length..]).RootElement;

    [Fact]
    public void AnUnknownOptionIsAnErrorAndNothingTrains()
    {
        var (code, output, error) = Run("train", "--epoch", "5");
        Assert.Equal(2, code);
        Assert.Contains("Unrecognized command or argument '--epoch'", error);
        Assert.Contains("--epochs", error); // the closest name is suggested
        Assert.DoesNotContain("epoch   1", output);
        Assert.Equal("", output);
    }

    [Theory]
    [InlineData("--out")]
    [InlineData("--plot")]
    [InlineData("--backup")]
    public void AnOutputInAFolderThatDoesNotExistIsRefusedBeforeTraining(string option)
    {
        string missing = Path.Combine(Directory, "no-such-folder", "file.out");
        var (code, output, error) = Run("train", "--task", "kjv-char", option, missing);
        Assert.Equal(2, code);
        Assert.Contains($"{option}: the folder '{Path.GetDirectoryName(missing)}' does not exist; nothing was run.", error);
        Assert.Equal("", output);
        Assert.False(System.IO.Directory.Exists(Path.GetDirectoryName(missing)));
    }

    [Fact]
    public void AMisspelledSubcommandIsAnErrorWithTheClosestName()
    {
        var (code, output, error) = Run("trian", "--epochs", "1");
        Assert.Equal(2, code);
        Assert.Contains("'trian' was not matched. Did you mean one of the following?", error);
        Assert.Matches(@"(?m)^train\r?$", error);
        Assert.Contains("See 'fastrnn --help'.", error);
        Assert.Equal("", output);
    }

    [Theory]
    [InlineData(new[] { "train", "--epochs", "abc" }, "--epochs must be an integer of at least 1; got 'abc'.")]
    [InlineData(new[] { "train", "--epochs", "0" }, "--epochs must be an integer of at least 1; got '0'.")]
    [InlineData(new[] { "train", "--seed", "1.5" }, "--seed must be an integer of at least 0; got '1.5'.")]
    [InlineData(new[] { "sweep", "--max-chars", "999" }, "--max-chars must be an integer of at least 1000; got '999'.")]
    [InlineData(new[] { "generate", "--temperature", "hot" }, "--temperature must be a number of at least 0; got 'hot'.")]
    [InlineData(new[] { "train", "--arm", "half" }, "--arm must be one of regularized, plain; got 'half'.")]
    [InlineData(new[] { "sweep", "--task", "s3" }, "--task must be one of kjv-char, s2, s4; got 's3'.")]
    [InlineData(new[] { "sweep", "--parallel", "both" }, "--parallel must be one of trials, steps; got 'both'.")]
    [InlineData(new[] { "train", "--csv", "x.csv" }, "--csv needs --target COLUMN")]
    [InlineData(new[] { "train", "--task", "adding", "--text", "x.txt" }, "Give one of --task, --text FILE and --csv FILE.")]
    [InlineData(new[] { "train", "--window", "5" }, "--target and --window go with --csv FILE.")]
    [InlineData(new[] { "train", "--text", "" }, "--text needs the path of a file.")]
    [InlineData(new[] { "train", "--text", "x.txt", "--max-chars", "5000" }, "--max-chars is an option of the built-in tasks; --text does not read it.")]
    [InlineData(new[] { "train", "--csv", "x.csv", "--target", "y", "--arm", "plain" }, "--arm is an option of the built-in tasks; --csv does not read it.")]
    public void BadValuesAreErrorsNamingTheOption(string[] args, string message)
    {
        var (code, output, error) = Run(args);
        Assert.Equal(2, code);
        Assert.Contains(message, error);
        Assert.Equal("", output);
    }

    [Theory]
    [InlineData("train", new[] { "--task", "--text", "--csv", "--target", "--window", "--strings", "--samples", "--epochs", "--seed", "--data",
        "--max-chars", "--max-verses", "--arm", "--out", "--plot", "--backup", "--threads", "--quantize" })]
    [InlineData("generate", new[] { "--model", "--length", "--temperature", "--prime", "--seed" })]
    [InlineData("evaluate", new[] { "--model", "--split", "--data", "--text", "--max-chars", "--max-verses" })]
    [InlineData("sweep", new[] { "--task", "--grid", "--random", "--epochs", "--max-chars", "--seed", "--data", "--plot", "--threads", "--parallel" })]
    [InlineData("export", new[] { "--model", "--onnx", "--lengths" })]
    [InlineData("quantize", new[] { "--model", "--precision", "--out", "--split", "--data", "--text", "--max-chars", "--max-verses" })]
    public void HelpDescribesEverySubcommandOption(string subcommand, string[] options)
    {
        var (code, output, error) = Run(subcommand, "--help");
        Assert.Equal(0, code);
        Assert.Equal("", error);
        Assert.Contains($"fastrnn {subcommand} [options]", output);
        // each option on a line of its own, with a description after its name and value
        var lines = output.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        foreach (string option in options)
        {
            // an option with a value (--model <FILE>) or a flag (--lengths)
            string? line = lines.SingleOrDefault(l => Regex.IsMatch(l, $@"^\s+{Regex.Escape(option)}( <|\s{{2,}})"));
            Assert.True(line is not null, $"{subcommand} --help does not list {option}:\n{output}");
            Assert.Matches(@"(>|[a-z])\s{2,}\S.{10,}", line!);
        }
    }

    [Fact]
    public void TheRootHelpListsTheSubcommands()
    {
        var (code, output, _) = Run("--help");
        Assert.Equal(0, code);
        foreach (string subcommand in new[] { "train", "generate", "evaluate", "sweep", "export", "quantize" })
            Assert.Matches($@"(?m)^\s+{subcommand}\s{{2,}}\S", output);
        // no arguments at all: the same help, and a usage error
        var (none, noneOutput, _) = Run();
        Assert.Equal(2, none);
        Assert.Contains("Commands:", noneOutput);
    }

    /// <summary>A text of a few hundred characters: words of a small alphabet, and a character only its test part has.</summary>
    private string SmallText(string name, int words = 120)
    {
        var random = new Random(7);
        string[] vocabulary = ["in", "the", "beginning", "god", "created", "heaven", "and", "earth", "naïve", "日本"];
        string text = string.Join(' ', Enumerable.Range(0, words).Select(_ => vocabulary[random.Next(vocabulary.Length)])) + " Q!";
        string path = Path.Combine(Directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void ExportWritesACheckpointAsOnnxThatOnnxRuntimeRuns()
    {
        string text = SmallText("export.txt"), checkpoint = Path.Combine(Directory, "export.ckpt"), onnx = Path.Combine(Directory, "export.onnx");
        var (code, output, error) = Run("train", "--text", text, "--epochs", "1", "--out", checkpoint);
        Assert.True(code == 0, output + error);
        (code, output, error) = Run("export", "--model", checkpoint, "--onnx", onnx, "--lengths");
        Assert.True(code == 0, output + error);
        Assert.Contains("as ONNX", output);
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(onnx);
        Assert.Equal(["tokens", "lengths", "initial_h.0", "initial_c.0"], session.InputMetadata.Keys.Take(4).ToArray());
        // a softmax over the vocabulary at every step
        const int Steps = 4;
        var inputs = session.InputMetadata.Select(pair => pair.Key switch
        {
            "tokens" => Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor("tokens", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(new long[] { 1, 2, 3, 4 }, [Steps, 1])),
            "lengths" => Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor("lengths", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<int>(new[] { Steps }, [1])),
            var state => Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor(state, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>([1, 1, pair.Value.Dimensions[2]])),
        }).ToList();
        using var results = session.Run(inputs);
        var probabilities = results.Single(r => r.Name == "output").AsTensor<float>();
        Assert.Equal(Steps, probabilities.Dimensions[0]);
        for (int t = 0; t < Steps; t++)
        {
            double sum = 0;
            for (int k = 0; k < probabilities.Dimensions[2]; k++)
                sum += probabilities[t, 0, k];
            Assert.Equal(1.0, sum, 4);
        }
        // a missing --onnx is a usage error
        (code, _, error) = Run("export", "--model", checkpoint);
        Assert.Equal(2, code);
        Assert.Contains("--onnx", error);
    }

    [Fact]
    public void TrainingOnMoreThreadsWritesTheSameCheckpoint()
    {
        string text = SmallText("threads.txt");
        var checkpoints = new List<byte[]>();
        foreach (string threads in new[] { "1", "2", "3" })
        {
            string checkpoint = Path.Combine(Directory, $"threads{threads}.ckpt");
            var (code, output, error) = Run("train", "--text", text, "--epochs", "1", "--threads", threads, "--out", checkpoint);
            Assert.True(code == 0, output + error);
            checkpoints.Add(File.ReadAllBytes(checkpoint));
        }
        Assert.Equal(checkpoints[0], checkpoints[1]);
        Assert.Equal(checkpoints[0], checkpoints[2]);
    }

    [Fact]
    public void TextTrainsTheCharacterModelOnAnyFileAndItsCheckpointEvaluatesAndGenerates()
    {
        string text = SmallText("small.txt"), checkpoint = Path.Combine(Directory, "text.ckpt");
        int characters = File.ReadAllText(text).EnumerateRunes().Count();
        Assert.InRange(characters, 200, 1500);
        var (code, output, error) = Run("train", "--text", text, "--epochs", "1", "--out", checkpoint);
        Assert.True(code == 0, output + error);
        // the documented split: the last n/20 characters test, the n/20 before validate, the rest trains
        int held = characters / 20;
        Assert.Contains($"{characters:N0} characters split {characters - 2 * held:N0} / {held:N0} / {held:N0}", output);
        // 'Q' and '!' come only at the end (the test part): the training part's vocabulary lacks them
        Assert.Matches(@"vocabulary: \d+ characters of the training part and U\+FFFD for any other \(2 validation and test characters", output);
        var result = Result(output);
        Assert.Equal("text", result.GetProperty("task").GetString());
        double testBits = result.GetProperty("test_bits").GetDouble();
        Assert.InRange(testBits, 0.1, 10);
        Assert.True(File.Exists(checkpoint));

        // evaluate --text splits the file the same way and reproduces the test bits per character training printed
        var (evaluated, evaluation, _) = Run("evaluate", "--model", checkpoint, "--text", text);
        Assert.Equal(0, evaluated);
        string printed = Regex.Match(output, @"test (\d+\.\d{3}) \(").Groups[1].Value;
        Assert.Contains($"test: {printed} bits per character over {held} characters", evaluation);

        // generate reads it; a prime character the model never saw reads as the unknown symbol
        var (generated, sample, generateError) = Run("generate", "--model", checkpoint, "--prime", "the Z", "--length", "30", "--seed", "3");
        Assert.True(generated == 0, generateError);
        string line = sample[..^Environment.NewLine.Length];
        Assert.StartsWith("the Z", line);
        Assert.Equal("the Z".Length + 30, line.EnumerateRunes().Count());
    }

    [Fact]
    public void TheTextVocabularyComesFromTheTrainingPartOnly()
    {
        string[] characters = [.. "abcabcabcab".Select(c => c.ToString()), .. Enumerable.Repeat("a", 187), "x", "y", "z", .. Enumerable.Repeat("b", 19)];
        Assert.Equal(220, characters.Length);
        var (train, validation, test) = TextTask.Split(characters);
        Assert.Equal((198, 11, 11), (train.Length, validation.Length, test.Length));
        var vocabulary = TextTask.Characters(train);
        Assert.Equal(new[] { "a", "b", "c", TextTask.UnknownSymbol }, vocabulary.Tokens);
        var ids = TextTask.Encode(["a", "x", "c", "\uFFFD"], vocabulary);
        Assert.Equal(new[] { 0, 3, 2, 3 }, ids); // x was never in training: it reads as U+FFFD, as U+FFFD itself does
        // more distinct characters than the model takes: the most frequent stay
        var many = Enumerable.Range(0, 200).SelectMany(i => Enumerable.Repeat(((char)(0x100 + i)).ToString(), i + 1)).ToArray();
        var kept = TextTask.Characters(many);
        Assert.Equal(TextTask.MaxCharacters + 1, kept.Count);
        Assert.True(kept.Contains(((char)(0x100 + 199)).ToString()) && !kept.Contains(((char)0x100).ToString()));
    }

    private const string Table = "date,level,station\n";

    /// <summary>60 rows: a date, a wave and a label column; only 'level' is numeric.</summary>
    private string SmallTable(string name)
    {
        var rows = Enumerable.Range(0, 60).Select(i =>
            $"2020-{i / 12 + 1:D2}-{i % 12 + 1:D2},{(10 + 5 * Math.Sin(i / 3.0)).ToString("F3", CultureInfo.InvariantCulture)},north");
        string path = Path.Combine(Directory, name);
        File.WriteAllText(path, Table + string.Join('\n', rows) + "\n");
        return path;
    }

    [Fact]
    public void CsvTrainsAForecasterAndReportsThePersistenceBaseline()
    {
        string table = SmallTable("levels.csv"), plot = Path.Combine(Directory, "levels.png"), checkpoint = Path.Combine(Directory, "levels.ckpt");
        var (code, output, error) = Run("train", "--csv", table, "--target", "level", "--window", "6", "--epochs", "3", "--plot", plot, "--out", checkpoint);
        Assert.True(code == 0, output + error);
        // 54 windows of 6 steps, split chronologically 70/15/15
        Assert.Contains("37 / 8 / 9 windows (chronological 70/15/15", output);
        Assert.Contains("persistence baseline (the last observed value)", output);
        var result = Result(output);
        Assert.Equal("level", result.GetProperty("target").GetString());
        Assert.Equal(3, result.GetProperty("epochs").GetInt32());
        Assert.True(result.GetProperty("test_rmse").GetDouble() > 0);
        // the baseline, computed here from the table: the test windows' targets are the last 9 rows
        var levels = File.ReadAllLines(table).Skip(1).Select(l => double.Parse(l.Split(',')[1], CultureInfo.InvariantCulture)).ToArray();
        var steps = Enumerable.Range(51, 9).Select(t => levels[t] - levels[t - 1]).ToArray();
        Assert.Equal(Math.Sqrt(steps.Average(d => d * d)), result.GetProperty("baseline_rmse").GetDouble(), 3);
        Assert.Equal(steps.Average(Math.Abs), result.GetProperty("baseline_mae").GetDouble(), 3);
        Assert.True(new FileInfo(plot).Length > 1000);
        Assert.True(File.Exists(checkpoint));
    }

    [Theory]
    [InlineData("empty.csv", "", "level", "is empty")]
    [InlineData("blank.csv", "\n \n", "level", "is empty")]
    [InlineData("header.csv", Table, "level", "has a header row but no rows of values")]
    [InlineData("cell.csv", Table + "2020-01,1.5,north\n2020-02,1.7,north\n2020-03,n/a,north\n", "level", "cell.csv:4: 'n/a' in column 'level' is not a number.")]
    [InlineData("hole.csv", Table + "2020-01,1.5,north\n2020-02,,north\n", "level", "hole.csv:3: the cell of column 'level' is empty.")]
    [InlineData("ragged.csv", Table + "2020-01,1.5,north\n2020-02,1.7\n", "level", "ragged.csv:3: 2 cells; the header names 3 columns.")]
    [InlineData("short.csv", Table + "2020-01,1.5,north\n2020-02,1.7,north\n2020-03,1.9,north\n", "level", "has 3 rows of values; windows of 6 steps")]
    [InlineData("column.csv", Table + "2020-01,1.5,north\n", "levels", "column.csv:1: no column 'levels' for --target; the columns are 'date', 'level', 'station'.")]
    public void ABadTableIsAClearErrorAndNothingIsWritten(string name, string content, string target, string message)
    {
        string path = Path.Combine(Directory, name);
        File.WriteAllText(path, content);
        AssertRefused(["train", "--csv", path, "--target", target, "--window", "6", "--epochs", "1"], message);
    }

    [Theory]
    [InlineData("empty.txt", "", "is empty")]
    [InlineData("spaces.txt", " \n\t\n", "holds only white space")]
    [InlineData("short.txt", "In the beginning God created the heaven and the earth.", "has 54 characters; splitting it into training, validation and test parts (90/5/5) takes at least 200")]
    public void ABadTextIsAClearErrorAndNothingIsWritten(string name, string content, string message)
    {
        string path = Path.Combine(Directory, name);
        File.WriteAllText(path, content);
        AssertRefused(["train", "--text", path, "--epochs", "1"], message);
    }

    [Fact]
    public void TextThatIsNotUtf8IsAnErrorNamingTheLine()
    {
        string path = Path.Combine(Directory, "latin1.txt");
        var bytes = new List<byte>();
        bytes.AddRange(System.Text.Encoding.ASCII.GetBytes(new string('a', 300) + "\nline two\ncaf"));
        bytes.Add(0xE9); // é in Latin-1: not UTF-8
        bytes.AddRange(System.Text.Encoding.ASCII.GetBytes("\n"));
        File.WriteAllBytes(path, bytes.ToArray());
        AssertRefused(["train", "--text", path, "--epochs", "1"], "latin1.txt:3: not UTF-8 text (byte 0xE9");
    }

    [Theory]
    [InlineData("--text")]
    [InlineData("--csv")]
    public void AMissingFileIsAClearErrorAndNothingIsWritten(string option)
    {
        string path = Path.Combine(Directory, "none", "missing.data");
        AssertRefused(option == "--csv" ? ["train", option, path, "--target", "level"] : ["train", option, path], $"{option}: no file at '{path}'");
    }

    /// <summary>The command fails with a usage error whose message has <paramref name="message"/>, and no checkpoint,
    /// plot or backup exists afterwards.</summary>
    private void AssertRefused(string[] args, string message)
    {
        string checkpoint = Path.Combine(Directory, "out.ckpt"), plot = Path.Combine(Directory, "curves.png"), backup = Path.Combine(Directory, "run.backup");
        var (code, output, error) = Run([.. args, "--out", checkpoint, "--plot", plot, "--backup", backup]);
        Assert.Equal(2, code);
        Assert.Contains(message, error);
        Assert.DoesNotContain("epoch", output);
        Assert.False(File.Exists(checkpoint), "a checkpoint was written");
        Assert.False(File.Exists(plot), "a plot was written");
        Assert.False(File.Exists(backup), "a backup was written");
    }
}
