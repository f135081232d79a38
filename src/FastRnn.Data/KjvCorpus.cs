using System.Text.RegularExpressions;

namespace FastRnn.Data;

/// <summary>
/// The King James Version as <c>shared/data/kjv.txt</c> holds it: a heading line <c>BOOK N</c> before each chapter,
/// then one line per verse. The split is by whole chapters, so no passage is cut in two: counting chapters from 0 in
/// canonical order (1,189 of them), every chapter with index ≡ 19 (mod 20) goes to validation, the chapter after each
/// of those (index ≡ 0 mod 20, index &gt; 0) to test, the rest (90%) to training.
/// </summary>
public sealed partial class KjvCorpus
{
    /// <summary>The 66 books in canonical order, as the headings spell them.</summary>
    public static readonly IReadOnlyList<string> Books =
    [
        "Genesis", "Exodus", "Leviticus", "Numbers", "Deuteronomy", "Joshua", "Judges", "Ruth", "1 Samuel", "2 Samuel",
        "1 Kings", "2 Kings", "1 Chronicles", "2 Chronicles", "Ezra", "Nehemiah", "Esther", "Job", "Psalms", "Proverbs",
        "Ecclesiastes", "Song of Solomon", "Isaiah", "Jeremiah", "Lamentations", "Ezekiel", "Daniel", "Hosea", "Joel",
        "Amos", "Obadiah", "Jonah", "Micah", "Nahum", "Habakkuk", "Zephaniah", "Haggai", "Zechariah", "Malachi",
        "Matthew", "Mark", "Luke", "John", "Acts", "Romans", "1 Corinthians", "2 Corinthians", "Galatians", "Ephesians",
        "Philippians", "Colossians", "1 Thessalonians", "2 Thessalonians", "1 Timothy", "2 Timothy", "Titus", "Philemon",
        "Hebrews", "James", "1 Peter", "2 Peter", "1 John", "2 John", "3 John", "Jude", "Revelation",
    ];

    /// <summary>The ten book groups of the brief's S5 model, by first book index.</summary>
    public static readonly IReadOnlyList<string> Groups =
    [
        "Law", "History", "Wisdom", "Major Prophets", "Minor Prophets", "Gospels", "Acts", "Pauline Epistles",
        "General Epistles", "Revelation",
    ];

    // First book of each group: Genesis, Joshua, Job, Isaiah, Hosea, Matthew, Acts, Romans, Hebrews, Revelation.
    private static readonly int[] s_groupStarts = [0, 5, 17, 22, 27, 39, 43, 44, 57, 65];

    [GeneratedRegex(@"^((?:[123] )?[A-Z][a-z]+(?: of [A-Z][a-z]+)?) ([0-9]+)$")]
    private static partial Regex Heading();

    private KjvCorpus(List<Verse> verses, int chapters)
    {
        Verses = verses;
        ChapterCount = chapters;
    }

    public IReadOnlyList<Verse> Verses { get; }
    public int ChapterCount { get; }

    /// <summary>Reads and checks the file: headings in canonical order with chapters counting up from 1, and a verse
    /// under every heading. A deviation throws <see cref="InvalidDataException"/> naming the file, line and problem.</summary>
    public static KjvCorpus Load(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"KJV text '{path}' does not exist.", path);
        var verses = new List<Verse>();
        int book = -1, chapter = 0, chapterIndex = -1, lineNumber = 0, versesInChapter = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            var match = Heading().Match(line);
            if (match.Success)
            {
                if (chapterIndex >= 0 && versesInChapter == 0)
                    throw Bad(path, lineNumber, $"chapter {Books[book]} {chapter} has no verses");
                string name = match.Groups[1].Value;
                int number = int.Parse(match.Groups[2].Value);
                if (book >= 0 && name == Books[book] && number == chapter + 1)
                    chapter = number;
                else if (book + 1 < Books.Count && name == Books[book + 1] && number == 1)
                    (book, chapter) = (book + 1, 1);
                else
                    throw Bad(path, lineNumber, $"heading '{line}' does not follow {(book < 0 ? "the start" : $"{Books[book]} {chapter}")}");
                chapterIndex++;
                versesInChapter = 0;
                continue;
            }
            if (line.Length == 0)
                throw Bad(path, lineNumber, "empty line");
            if (book < 0)
                throw Bad(path, lineNumber, "text before the first heading");
            verses.Add(new Verse(book, chapter, chapterIndex, line));
            versesInChapter++;
        }
        if (book != Books.Count - 1 || versesInChapter == 0)
            throw Bad(path, lineNumber, $"the text ends in {(book < 0 ? "nothing" : Books[book])}, not after a verse of Revelation");
        return new KjvCorpus(verses, chapterIndex + 1);
    }

    public static Split SplitOf(int chapterIndex) =>
        chapterIndex % 20 == 19 ? Split.Validation : chapterIndex % 20 == 0 && chapterIndex > 0 ? Split.Test : Split.Train;

    public IEnumerable<Verse> In(Split split) => Verses.Where(v => SplitOf(v.ChapterIndex) == split);

    /// <summary>0 for the Old Testament (Genesis–Malachi), 1 for the New (Matthew–Revelation): the S1 label.</summary>
    public static int Testament(int book) => book < 39 ? 0 : 1;

    /// <summary>The S5 label: the index of the book's group in <see cref="Groups"/>.</summary>
    public static int Group(int book)
    {
        if ((uint)book >= (uint)Books.Count)
            throw new ArgumentOutOfRangeException(nameof(book), book, "Books run from 0 (Genesis) to 65 (Revelation).");
        int group = 0;
        while (group + 1 < s_groupStarts.Length && s_groupStarts[group + 1] <= book) group++;
        return group;
    }

    private static InvalidDataException Bad(string path, int line, string problem) => new($"{path}:{line}: {problem}.");
}
