namespace FastRnn.Data;

/// <summary>A token ↔ id map. Ids are dense from 0; <see cref="Id"/> maps unknown tokens to <see cref="UnknownId"/>
/// (or throws when the vocabulary has no unknown token).</summary>
public sealed class Vocabulary
{
    private readonly Dictionary<string, int> _ids;

    private Vocabulary(IReadOnlyList<string> tokens, string? unknown)
    {
        Tokens = tokens;
        _ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < tokens.Count; i++)
            _ids.Add(tokens[i], i);
        UnknownId = unknown is null ? -1 : _ids[unknown];
    }

    public const string Unknown = "<unk>";
    public const string EndOfSentence = "<eos>";

    public IReadOnlyList<string> Tokens { get; }
    public int Count => Tokens.Count;
    public int UnknownId { get; }

    public int Id(string token) => _ids.TryGetValue(token, out int id) ? id
        : UnknownId >= 0 ? UnknownId
        : throw new KeyNotFoundException($"Token '{token}' is not in the vocabulary of {Count} tokens.");

    public bool Contains(string token) => _ids.ContainsKey(token);

    /// <summary>A vocabulary saved as its tokens in id order (<see cref="Tokens"/>), e.g. in a checkpoint; it maps unknown
    /// tokens to <c>&lt;unk&gt;</c> when it has one.</summary>
    public static Vocabulary FromTokens(IReadOnlyList<string> tokens)
    {
        if (tokens.Distinct(StringComparer.Ordinal).Count() != tokens.Count)
            throw new ArgumentException("A vocabulary's tokens must be distinct.", nameof(tokens));
        return new(tokens.ToList(), tokens.Contains(Unknown) ? Unknown : null);
    }

    /// <summary>Every distinct character of the text, in ordinal order (a character-level model's vocabulary).</summary>
    public static Vocabulary Characters(IEnumerable<string> texts) =>
        new(texts.SelectMany(t => t).Append('\n').Distinct().Order().Select(c => c.ToString()).ToList(), null);

    /// <summary>The <paramref name="size"/> − 2 most frequent training words (ties in ordinal order), then
    /// <c>&lt;unk&gt;</c> and <c>&lt;eos&gt;</c>: <paramref name="size"/> tokens in all, the Penn Treebank convention.</summary>
    public static Vocabulary Words(IEnumerable<string> trainingWords, int size)
    {
        if (size < 3)
            throw new ArgumentOutOfRangeException(nameof(size), size, "A word vocabulary needs room for <unk>, <eos> and a word.");
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string word in trainingWords)
            if (word != EndOfSentence)
                counts[word] = counts.GetValueOrDefault(word) + 1;
        var kept = counts.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal)
            .Take(size - 2).Select(p => p.Key).ToList();
        kept.Add(Unknown);
        kept.Add(EndOfSentence);
        return new Vocabulary(kept, Unknown);
    }
}
