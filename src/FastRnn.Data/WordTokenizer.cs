namespace FastRnn.Data;

/// <summary>The brief's word-level tokenization: lower-case, each of the punctuation marks <c>!'(),-.:;?</c> a token
/// of its own, words split at spaces, <c>&lt;eos&gt;</c> after every verse.</summary>
public static class WordTokenizer
{
    private const string Punctuation = "!'(),-.:;?";

    public static IEnumerable<string> Tokens(string verse)
    {
        int start = -1;
        for (int i = 0; i <= verse.Length; i++)
        {
            char c = i < verse.Length ? char.ToLowerInvariant(verse[i]) : ' ';
            bool mark = Punctuation.Contains(c);
            if (c == ' ' || mark)
            {
                if (start >= 0)
                {
                    yield return verse.Substring(start, i - start).ToLowerInvariant();
                    start = -1;
                }
                if (mark)
                    yield return c.ToString();
            }
            else if (start < 0)
                start = i;
        }
        yield return Vocabulary.EndOfSentence;
    }
}
