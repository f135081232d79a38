using FastRnn.Data;
using Xunit;

namespace FastRnn.Tests;

/// <summary>Data readers on the real files in ../shared/data (present beside the repository in CI), and on bad input.</summary>
public class DataTests : TemporaryDirectoryTest
{
    private static string Shared(string relative)
    {
        string? root = FixtureFiles.SharedData;
        Assert.True(root is not null, "../shared/data is missing: the data tests read the shared public-domain files.");
        return Path.Combine(root!, relative);
    }

    private static readonly Lazy<KjvCorpus> s_kjv = new(() => KjvCorpus.Load(Shared("kjv.txt")));

    [Fact]
    public void KjvHasEveryBookChapterAndVerse()
    {
        var kjv = s_kjv.Value;
        Assert.Equal(1189, kjv.ChapterCount);
        Assert.Equal(31102, kjv.Verses.Count);
        Assert.Equal(66, kjv.Verses.Select(v => v.Book).Distinct().Count());
        Assert.Equal("In the beginning God created the heaven and the earth.", kjv.Verses[0].Text);
        Assert.Equal((65, 22), (kjv.Verses[^1].Book, kjv.Verses[^1].Chapter));
        Assert.Equal(150, kjv.Verses.Where(v => v.Book == 18).Select(v => v.Chapter).Distinct().Count()); // Psalms
    }

    [Fact]
    public void SplitIsByWholeChaptersAndDeterministic()
    {
        var kjv = s_kjv.Value;
        var chapters = kjv.Verses.GroupBy(v => v.ChapterIndex).ToList();
        Assert.All(chapters, c => Assert.Single(c.Select(v => KjvCorpus.SplitOf(v.ChapterIndex)).Distinct()));
        Assert.Equal(59, chapters.Count(c => KjvCorpus.SplitOf(c.Key) == Split.Validation));
        Assert.Equal(59, chapters.Count(c => KjvCorpus.SplitOf(c.Key) == Split.Test));
        Assert.Equal(Split.Train, KjvCorpus.SplitOf(0));
        Assert.Equal(Split.Validation, KjvCorpus.SplitOf(19));
        Assert.Equal(Split.Test, KjvCorpus.SplitOf(20));
        Assert.Equal(kjv.Verses.Count, kjv.In(Split.Train).Count() + kjv.In(Split.Validation).Count() + kjv.In(Split.Test).Count());
    }

    [Theory]
    [InlineData(0, 0, 0)]    // Genesis: Old Testament, Law
    [InlineData(5, 0, 1)]    // Joshua: History
    [InlineData(16, 0, 1)]   // Esther
    [InlineData(21, 0, 2)]   // Song of Solomon: Wisdom
    [InlineData(26, 0, 3)]   // Daniel: Major Prophets
    [InlineData(38, 0, 4)]   // Malachi: Minor Prophets
    [InlineData(39, 1, 5)]   // Matthew: New Testament, Gospels
    [InlineData(43, 1, 6)]   // Acts
    [InlineData(56, 1, 7)]   // Philemon: Pauline Epistles
    [InlineData(64, 1, 8)]   // Jude: General Epistles
    [InlineData(65, 1, 9)]   // Revelation
    public void LabelsFollowTheBrief(int book, int testament, int group)
    {
        Assert.Equal(testament, KjvCorpus.Testament(book));
        Assert.Equal(group, KjvCorpus.Group(book));
    }

    [Fact]
    public void WordTokensAndTheTenThousandWordVocabulary()
    {
        Assert.Equal(["and", "god", "said", ",", "let", "there", "be", "light", ":", "and", "there", "was", "light", ".", "<eos>"],
            WordTokenizer.Tokens("And God said, Let there be light: and there was light.").ToArray());
        Assert.Equal(["the", "lord", "'", "s", "house", "<eos>"], WordTokenizer.Tokens("the LORD's house").ToArray());

        var kjv = s_kjv.Value;
        var train = kjv.In(Split.Train).SelectMany(v => WordTokenizer.Tokens(v.Text)).ToList();
        var vocabulary = Vocabulary.Words(train, 10_000);
        Assert.Equal(10_000, vocabulary.Count);
        Assert.True(vocabulary.Contains("<unk>") && vocabulary.Contains("<eos>") && vocabulary.Contains("the"));
        Assert.InRange(train.Count, 800_000, 950_000); // words and punctuation of 90% of the verses
        var validation = kjv.In(Split.Validation).SelectMany(v => WordTokenizer.Tokens(v.Text)).ToList();
        double unknown = validation.Count(w => vocabulary.Id(w) == vocabulary.UnknownId) / (double)validation.Count;
        Assert.InRange(unknown, 0.001, 0.05);
    }

    [Fact]
    public void CharacterVocabularyCoversTheText()
    {
        var vocabulary = Vocabulary.Characters(s_kjv.Value.Verses.Select(v => v.Text));
        Assert.InRange(vocabulary.Count, 60, 73);
        Assert.True(vocabulary.Contains("\n") && vocabulary.Contains(" ") && vocabulary.Contains("a") && vocabulary.Contains("?"));
        Assert.Throws<KeyNotFoundException>(() => vocabulary.Id("#"));
    }

    [Theory]
    [InlineData("Genesis 1\nIn the beginning.\nGenesis 3\nAnd.\n", 3, "does not follow Genesis 1")]
    [InlineData("Before any heading.\nGenesis 1\n", 1, "text before the first heading")]
    [InlineData("Genesis 1\nGenesis 2\nText.\n", 2, "chapter Genesis 1 has no verses")]
    [InlineData("Genesis 1\nText.\n\nMore.\n", 3, "empty line")]
    [InlineData("Genesis 1\nText.\n", 2, "not after a verse of Revelation")]
    public void BadKjvFilesNameTheLine(string text, int line, string problem)
    {
        string path = Path.Combine(Directory, "kjv.txt");
        File.WriteAllText(path, text);
        var error = Assert.Throws<InvalidDataException>(() => KjvCorpus.Load(path));
        Assert.Contains($"{path}:{line}:", error.Message);
        Assert.Contains(problem, error.Message);
    }

    [Fact]
    public void SunspotWindowsAreChronologicalAndNormalizedOnTrainingOnly()
    {
        var table = CsvTable.Read(Shared("timeseries/sunspot_month.csv"));
        Assert.Equal(["year", "month", "sunspots"], table.Columns);
        Assert.Equal(3177, table.Rows.Count);
        var series = table.Column("sunspots").Select(v => new[] { v }).ToArray();
        var windows = new ForecastWindows(series, window: 24);
        int total = series.Length - 24;
        Assert.Equal(total, windows.TrainCount + windows.ValidationCount + windows.TestCount);
        Assert.Equal((int)(total * 0.7), windows.TrainCount);

        // Statistics come from the training part alone (the values its windows read and predict).
        var trainValues = series.Take(windows.TrainCount + 24).Select(r => (double)r[0]).ToArray();
        Assert.Equal(trainValues.Average(), windows.Mean[0], 3);
        Assert.NotEqual(series.Average(r => r[0]), windows.Mean[0], 1);

        // Each target is the value right after its window, and the parts follow each other in time.
        var inputs = new float[24];
        var target = new float[1];
        windows.Get(Split.Validation, 0, inputs, target);
        Assert.Equal(series[windows.TrainCount + 24][0], target[0] * windows.Scale[0] + windows.Mean[0], 2);
        Assert.Equal(series[windows.TrainCount][0], inputs[0] * windows.Scale[0] + windows.Mean[0], 2);
        windows.Get(Split.Test, windows.TestCount - 1, inputs, target);
        Assert.Equal(series[^1][0], target[0] * windows.Scale[0] + windows.Mean[0], 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => windows.Get(Split.Test, windows.TestCount, inputs, target));
    }

    [Fact]
    public void EuStockLogReturns()
    {
        var table = CsvTable.Read(Shared("timeseries/eu_stock_markets.csv"));
        var levels = table.Rows.Select(r => r[1..]).ToArray();
        var returns = ForecastWindows.LogReturns(levels);
        Assert.Equal(1859, returns.Length);
        Assert.Equal(4, returns[0].Length);
        Assert.Equal(Math.Log(1613.63 / 1628.75), returns[0][0], 5);
        var windows = new ForecastWindows(returns, window: 30);
        Assert.Equal(4, windows.Features);
    }

    [Theory]
    [InlineData("a,b\n1,2\n3\n", "bad.csv:3: expected 2 values (a, b), found 1")]
    [InlineData("a,b\n1,x\n", "bad.csv:2: 'x' in column 'b' is not a finite number")]
    [InlineData("a,b\n", "no data rows")]
    [InlineData("", "bad.csv:1: the header row is missing")]
    public void BadCsvFilesNameTheLineAndProblem(string text, string expected)
    {
        string path = Path.Combine(Directory, "bad.csv");
        File.WriteAllText(path, text);
        var error = Assert.Throws<InvalidDataException>(() => CsvTable.Read(path));
        Assert.Contains(expected, error.Message);
    }
}
