using FastRnn.Data;
using FastRnn.Tool;
using Xunit;

namespace FastRnn.Tests;

/// <summary>The fastrnn tool end to end (in process), and the Reber grammar it trains on.</summary>
public class ToolTests : TemporaryDirectoryTest
{
    [Fact]
    public void TheCharacterModelTrainsSavesAndGenerates()
    {
        string? root = FixtureFiles.SharedData;
        Assert.True(root is not null, "../shared/data is missing: this test reads kjv.txt.");
        string checkpoint = Path.Combine(Directory, "kjv.ckpt");
        var output = new StringWriter();
        int code = Cli.Run(["train", "--task", "kjv-char", "--data", Path.Combine(root!, "kjv.txt"), "--max-chars", "20000", "--out", checkpoint],
            output, new StringWriter());
        Assert.True(code == 0, output.ToString());
        Assert.Matches(@"bits per character \(inference\): train \d\.\d{3}, validation \d\.\d{3}, test \d\.\d{3}", output.ToString());
        Assert.True(File.Exists(checkpoint));

        // evaluate reads the checkpoint back: on the same test slice (20000 / 10 characters) it gives the same bits/char
        var evaluation = new StringWriter();
        Assert.Equal(0, Cli.Run(["evaluate", "--model", checkpoint, "--data", Path.Combine(root!, "kjv.txt"), "--max-chars", "2000"], evaluation, new StringWriter()));
        string Bits(string text, string pattern) => System.Text.RegularExpressions.Regex.Match(text, pattern).Groups[1].Value;
        Assert.Equal(Bits(output.ToString(), @"test (\d\.\d{3}) \("), Bits(evaluation.ToString(), @"test: (\d\.\d{3}) bits"));

        // quantize: the int8 copy's file, and on the same test slice its loss beside the float32 model's, both streamed
        string quantized = Path.Combine(Directory, "kjv.int8.safetensors");
        var quantization = new StringWriter();
        Assert.Equal(0, Cli.Run(["quantize", "--model", checkpoint, "--precision", "int8", "--out", quantized, "--data", Path.Combine(root!, "kjv.txt"),
            "--max-chars", "2000"], quantization, new StringWriter()));
        var report = quantization.ToString();
        Assert.True(File.Exists(quantized));
        Assert.Equal("int8", Safetensors.Read(quantized, out var metadata).Count > 0 ? metadata[QuantizedWeights.PrecisionKey] : "");
        // streaming a step at a time in the same columns reproduces what evaluate printed (to rounding), and int8 stays close
        double Number(string pattern) => double.Parse(System.Text.RegularExpressions.Regex.Match(report, pattern).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        double streamed = Number(@"float32 (\d\.\d{4}) bits"), reduced = Number(@"int8 (\d\.\d{4}) bits");
        Assert.True(Math.Abs(double.Parse(Bits(evaluation.ToString(), @"test: (\d\.\d{3}) bits"), System.Globalization.CultureInfo.InvariantCulture) - streamed) <= 0.0015, report);
        Assert.True(Math.Abs(reduced - streamed) < 0.05, report);
        Assert.Matches(@"state drift over [\d,]+ steps at batch 1 \(relative error of every h and c\): step 1: \d\.\d{2}E[-+]\d{3}", report);

        var generated = new StringWriter();
        Assert.Equal(0, Cli.Run(["generate", "--model", checkpoint, "--length", "120", "--prime", "And God", "--seed", "4"], generated, new StringWriter()));
        string text = generated.ToString()[..^Environment.NewLine.Length]; // the sample itself may end in a newline
        Assert.StartsWith("And God", text);
        Assert.Equal("And God".Length + 120, text.Length);
        // greedy sampling is deterministic
        var first = new StringWriter();
        var second = new StringWriter();
        Cli.Run(["generate", "--model", checkpoint, "--temperature", "0", "--length", "50"], first, new StringWriter());
        Cli.Run(["generate", "--model", checkpoint, "--temperature", "0", "--length", "50", "--seed", "9"], second, new StringWriter());
        Assert.Equal(first.ToString(), second.ToString());
        var error = new StringWriter();
        Assert.Equal(2, Cli.Run(["generate", "--model", Path.Combine(Directory, "none.ckpt")], new StringWriter(), error));
        Assert.Contains("no checkpoint", error.ToString());
    }

    [Fact]
    public void SweepRanksTheSettings()
    {
        string? root = FixtureFiles.SharedData;
        Assert.True(root is not null, "../shared/data is missing: this test reads kjv.txt.");
        string data = Path.Combine(root!, "kjv.txt");
        var output = new StringWriter();
        Assert.Equal(0, Cli.Run(["sweep", "--data", data, "--grid", "HeadDropout=0,0.3", "--epochs", "1", "--max-chars", "8000"], output, new StringWriter()));
        var table = output.ToString().Split('\n').SkipWhile(l => !l.StartsWith("rank")).Skip(1).Where(l => l.Length > 0).ToArray();
        Assert.Equal(2, table.Length);
        Assert.StartsWith("   1", table[0]);
        var bits = table.Select(l => double.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.True(bits[0] <= bits[1]);
        // random search: N settings drawn from the grid's values, and the ranking as a bar chart
        string plot = Path.Combine(Directory, "sweep.png");
        var random = new StringWriter();
        Assert.Equal(0, Cli.Run(["sweep", "--data", data, "--grid", "HeadDropout=0,0.1,0.2,0.3;Layer1Dropout=0,0.5", "--random", "3",
            "--epochs", "1", "--max-chars", "8000", "--plot", plot], random, new StringWriter()));
        Assert.Equal(3, random.ToString().Split('\n').SkipWhile(l => !l.StartsWith("rank")).Skip(1).Count(l => l.StartsWith("   ")));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(plot)[..4]);
        var error = new StringWriter();
        Assert.Equal(2, Cli.Run(["sweep", "--data", data, "--grid", "Dropout=0.1", "--max-chars", "8000"], new StringWriter(), error));
        Assert.Contains("no run-time option 'Dropout'", error.ToString());
    }

    [Fact]
    public void ASweepGivesTheSameResultsInEveryLayout()
    {
        string? root = FixtureFiles.SharedData;
        Assert.True(root is not null, "../shared/data is missing: this test reads kjv.txt.");
        string data = Path.Combine(root!, "kjv.txt");
        // each trial's lines and the ranking, without the seconds (the only thing a layout may change)
        string[] Sweep(params string[] layout)
        {
            var output = new StringWriter();
            Assert.Equal(0, Cli.Run(["sweep", "--data", data, "--grid", "HeadDropout=0,0.3;Layer0Dropout=0,0.4", "--epochs", "1",
                "--max-chars", "6000", .. layout], output, new StringWriter()));
            return [.. output.ToString().Split('\n').Where(l => l.StartsWith("  ") || System.Text.RegularExpressions.Regex.IsMatch(l, @"^\s+\d+\s+\d"))
                .Select(l => System.Text.RegularExpressions.Regex.Replace(l, @"\(\d+ s\)|\s+\d+\s+(?=HeadDropout)", " "))];
        }
        string[] serial = Sweep("--threads", "1");
        Assert.Equal(8, serial.Length); // four trial lines in setting order, four ranks
        Assert.Equal(serial, Sweep("--threads", "2", "--parallel", "trials"));
        Assert.Equal(serial, Sweep("--threads", "3", "--parallel", "trials")); // more lanes than cores, fewer than trials
        Assert.Equal(serial, Sweep("--threads", "2", "--parallel", "steps"));
    }

    [Fact]
    public void TrainLearnsTheEmbeddedReberGrammar()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = Cli.Run(["train", "--strings", "1500", "--epochs", "20", "--seed", "3"], output, error);
        Assert.True(code == 0, output.ToString() + error);
        Assert.Contains("reached", output.ToString());
        Assert.Contains("epoch   1/20", output.ToString());
    }

    [Fact]
    public void TheAddingTaskRunsEndToEnd()
    {
        // A small budget: it runs and reports, without the time to reach the target (exit code 1 says so).
        var output = new StringWriter();
        string plot = Path.Combine(Directory, "adding.png");
        int code = Cli.Run(["train", "--task", "adding", "--samples", "200", "--epochs", "2", "--plot", plot], output, new StringWriter());
        Assert.Equal(1, code);
        Assert.Contains("epoch   2/2", output.ToString());
        Assert.Contains("the target is < 0.01", output.ToString());
        // the curves, as a PNG file
        var bytes = File.ReadAllBytes(plot);
        Assert.True(bytes.Length > 5000);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
    }

    [Fact]
    public void AddingSamplesMarkOneStepInEachHalf()
    {
        var set = AddingTask.Make(500, new Random(2));
        double sum = 0;
        for (int i = 0; i < set.Count; i++)
        {
            var marked = Enumerable.Range(0, 100).Where(t => set.Dense[(i * 100 + t) * 2 + 1] == 1f).ToArray();
            Assert.Equal(2, marked.Length);
            Assert.True(marked[0] < 50 && marked[1] >= 50);
            Assert.Equal(set.Dense[(i * 100 + marked[0]) * 2] + set.Dense[(i * 100 + marked[1]) * 2], set.Values[i]);
            sum += set.Values[i];
        }
        Assert.InRange(sum / set.Count, 0.9, 1.1); // the mean target is 1
    }

    [Theory]
    [InlineData("s1", "majority class")]
    [InlineData("s5", "majority class")]
    public void TheVerseReferenceModelsTrainBothArms(string task, string baseline)
    {
        string? root = FixtureFiles.SharedData;
        Assert.True(root is not null, "../shared/data is missing: this test reads kjv.txt.");
        foreach (string arm in new[] { "regularized", "plain" })
        {
            var output = new StringWriter();
            int code = Cli.Run(["train", "--task", task, "--arm", arm, "--epochs", "1", "--max-verses", "400", "--data", Path.Combine(root!, "kjv.txt")],
                output, new StringWriter());
            Assert.True(code == 0, output.ToString());
            Assert.Contains(baseline, output.ToString());
            var result = System.Text.Json.JsonDocument.Parse(output.ToString().Split('\n').Single(l => l.StartsWith("RESULT ", StringComparison.Ordinal))["RESULT ".Length..]);
            Assert.InRange(result.RootElement.GetProperty("test_accuracy").GetDouble(), 0, 1);
        }
    }

    [Fact]
    public void TheWordLanguageModelTrainsBothArms()
    {
        string? root = FixtureFiles.SharedData;
        Assert.True(root is not null, "../shared/data is missing: this test reads kjv.txt.");
        foreach (string arm in new[] { "regularized", "plain" })
        {
            var output = new StringWriter();
            int code = Cli.Run(["train", "--task", "s3", "--arm", arm, "--epochs", "1", "--max-verses", "300", "--data", Path.Combine(root!, "kjv.txt")],
                output, new StringWriter());
            Assert.True(code == 0, output.ToString());
            var result = System.Text.Json.JsonDocument.Parse(output.ToString().Split('\n').Single(l => l.StartsWith("RESULT ", StringComparison.Ordinal))["RESULT ".Length..]);
            double perplexity = result.RootElement.GetProperty("test_perplexity").GetDouble();
            Assert.True(perplexity > 1 && perplexity < 10_001, $"test perplexity {perplexity} (a 10,000-word vocabulary bounds a uniform guess)");
        }
    }

    [Theory]
    [InlineData("zaremba-small", "plain")]
    [InlineData("zaremba-medium", "regularized")]
    [InlineData("zaremba-medium", "plain")]
    public void ZarembasConfigurationsTrain(string task, string arm)
    {
        string? root = FixtureFiles.SharedData;
        Assert.True(root is not null, "../shared/data is missing: this test reads kjv.txt.");
        var output = new StringWriter();
        int code = Cli.Run(["train", "--task", task, "--arm", arm, "--epochs", "1", "--max-verses", "200", "--data", Path.Combine(root!, "kjv.txt")],
            output, new StringWriter());
        Assert.True(code == 0, output.ToString());
        var result = System.Text.Json.JsonDocument.Parse(output.ToString().Split('\n').Single(l => l.StartsWith("RESULT ", StringComparison.Ordinal))["RESULT ".Length..]).RootElement;
        Assert.Equal(task == "zaremba-medium" && arm == "regularized" ? "dropout" : "plain", result.GetProperty("arm").GetString());
        double perplexity = result.GetProperty("test_perplexity").GetDouble();
        // one epoch of 12 segments at lr 20 may land anywhere (even worse than uniform on the held-out verses); it must be a number
        Assert.True(perplexity > 1 && double.IsFinite(perplexity), $"test perplexity {perplexity}");
        Assert.Contains("lr 20 ", output.ToString()); // Zaremba's lr 1 on the loss summed over 20 steps
    }

    [Fact]
    public void AWordModelCheckpointEvaluatesAndGenerates()
    {
        string? root = FixtureFiles.SharedData;
        Assert.True(root is not null, "../shared/data is missing: this test reads kjv.txt.");
        string checkpoint = Path.Combine(Directory, "small.ckpt"), data = Path.Combine(root!, "kjv.txt");
        var output = new StringWriter();
        Assert.Equal(0, Cli.Run(["train", "--task", "zaremba-small", "--epochs", "1", "--max-verses", "300", "--data", data, "--out", checkpoint], output, new StringWriter()));
        // evaluate reads it back and, on the same verses, reproduces the test perplexity training printed
        var evaluation = new StringWriter();
        Assert.Equal(0, Cli.Run(["evaluate", "--model", checkpoint, "--data", data, "--max-verses", "300"], evaluation, new StringWriter()));
        string trained = System.Text.RegularExpressions.Regex.Match(output.ToString(), @"test (\d+\.\d);").Groups[1].Value;
        Assert.NotEmpty(trained);
        Assert.Contains($"test: perplexity {trained} over", evaluation.ToString());

        var generated = new StringWriter();
        Assert.Equal(0, Cli.Run(["generate", "--model", checkpoint, "--length", "40", "--prime", "And God said", "--seed", "2"], generated, new StringWriter()));
        string text = generated.ToString()[..^Environment.NewLine.Length];
        Assert.StartsWith("and god said", text);
        int words = text.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries).Length, ends = text.Count(c => c == '\n');
        Assert.Equal(3 + 40, words + ends); // the prime's three words, then 40 tokens: words, or <eos> as a line end

        // a file that is not a checkpoint of a shipped language model is a clear error
        var error = new StringWriter();
        File.WriteAllText(Path.Combine(Directory, "bad.ckpt"), "not a checkpoint");
        Assert.Equal(2, Cli.Run(["generate", "--model", Path.Combine(Directory, "bad.ckpt")], new StringWriter(), error));
        Assert.Contains("bad.ckpt", error.ToString());
    }

    [Fact]
    public void AnInterruptedRunResumesFromItsBackup()
    {
        string? root = FixtureFiles.SharedData;
        Assert.True(root is not null, "../shared/data is missing: this test reads kjv.txt.");
        string Result(params string[] extra)
        {
            var output = new StringWriter();
            int code = Cli.Run(["train", "--task", "kjv-char", "--data", Path.Combine(root!, "kjv.txt"), "--max-chars", "6000", .. extra], output, new StringWriter());
            Assert.True(code == 0, output.ToString());
            string line = output.ToString().Split('\n').Single(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
            return System.Text.RegularExpressions.Regex.Replace(line, @",""seconds"":[0-9.]+", "");
        }
        string backup = Path.Combine(Directory, "char.backup");
        string straight = Result("--epochs", "3");
        Result("--epochs", "1", "--backup", backup); // the run stops after one epoch
        Assert.True(File.Exists(backup));
        Assert.Equal(straight, Result("--epochs", "3", "--backup", backup)); // and continues to the same bits per character
    }

    [Fact]
    public void SweepRanksTheForecastSettings()
    {
        string? root = FixtureFiles.SharedData;
        Assert.True(root is not null, "../shared/data is missing: this test reads timeseries/.");
        string plot = Path.Combine(Directory, "ranking.png");
        var output = new StringWriter();
        int code = Cli.Run(["sweep", "--task", "s2", "--grid", "InputKernelL2=0,1e-3;RecurrentKernelL2=0,1e-2", "--epochs", "2",
            "--data", Path.Combine(root!, "timeseries"), "--plot", plot], output, new StringWriter());
        Assert.True(code == 0, output.ToString());
        var ranks = output.ToString().Split('\n').Where(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^\s+\d+\s+\d\.\d{4}")).ToList();
        Assert.Equal(4, ranks.Count);
        var values = ranks.Select(l => double.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(values.Order(), values); // ranked, lowest validation MSE first
        Assert.True(new FileInfo(plot).Length > 1000);
    }

    [Theory]
    [InlineData("s2", "persistence")]
    [InlineData("s4", "zero return")]
    public void TheForecastReferenceModelsTrainBothArms(string task, string baseline)
    {
        string? root = FixtureFiles.SharedData;
        Assert.True(root is not null, "../shared/data is missing: this test reads timeseries/.");
        foreach (string arm in new[] { "regularized", "plain" })
        {
            var output = new StringWriter();
            int code = Cli.Run(["train", "--task", task, "--arm", arm, "--epochs", "2", "--data", Path.Combine(root!, "timeseries")], output, new StringWriter());
            Assert.True(code == 0, output.ToString());
            string text = output.ToString();
            Assert.Contains(baseline, text);
            var result = System.Text.Json.JsonDocument.Parse(text.Split('\n').Single(l => l.StartsWith("RESULT ", StringComparison.Ordinal))["RESULT ".Length..]);
            Assert.Equal(arm, result.RootElement.GetProperty("arm").GetString());
            Assert.True(result.RootElement.GetProperty("test_rmse").GetDouble() > 0);
            Assert.Equal(2, result.RootElement.GetProperty("epochs").GetInt32());
        }
    }

    [Theory]
    [InlineData(new[] { "train", "--task", "s2", "--arm", "half" }, "--arm must be one of regularized, plain; got 'half'.")]
    [InlineData(new[] { "sweep", "--task", "s2", "--grid", "NoSuchRate=0,1", "--epochs", "1" }, "NoSuchRate")]
    [InlineData(new[] { "fly" }, "Unrecognized command or argument 'fly'")]
    [InlineData(new[] { "train", "--strings" }, "Required argument missing for option: '--strings'")]
    [InlineData(new[] { "train", "--strings", "ten" }, "--strings must be an integer of at least 100; got 'ten'")]
    [InlineData(new[] { "train", "--strings", "99" }, "--strings must be an integer of at least 100; got '99'")]
    [InlineData(new[] { "train", "--task", "copy" }, "--task must be one of reber, adding, kjv-char, s1, s2, s3, s4, s5, zaremba-small, zaremba-medium; got 'copy'.")]
    [InlineData(new[] { "generate", "--temperature", "-1" }, "--temperature must be a number of at least 0; got '-1'")]
    [InlineData(new[] { "evaluate", "--split", "dev" }, "--split must be one of test, validation, train; got 'dev'.")]
    public void BadArgumentsAreClearErrors(string[] args, string message)
    {
        var error = new StringWriter();
        Assert.Equal(2, Cli.Run(args, new StringWriter(), error));
        Assert.Contains(message, error.ToString());
    }

    [Fact]
    public void ReberStringsFollowTheGrammar()
    {
        var random = new Random(5);
        for (int n = 0; n < 2000; n++)
        {
            var (symbols, allowed) = Reber.Generate(random);
            Assert.Equal(symbols.Length - 1, allowed.Length);
            Assert.Equal(Reber.B, symbols[0]);
            Assert.Equal(Reber.E, symbols[^1]);
            Assert.Equal(symbols[1], symbols[^2]); // the long-range dependency
            Assert.Equal(Reber.B, symbols[2]);
            Assert.Equal(Reber.E, symbols[^3]);
            for (int i = 0; i < allowed.Length; i++)
                Assert.True((allowed[i] >> symbols[i + 1] & 1) == 1, $"symbol {i + 1} of {string.Concat(symbols.Select(s => Reber.Alphabet[s]))} is not allowed");
        }
    }
}
