namespace FastRnn;

/// <summary>Token input: every time step carries one token id per row, looked up in an embedding table of
/// <paramref name="vocabulary"/> rows of <paramref name="embedding"/> floats (PyTorch <c>nn.Embedding</c>).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class TokenInputAttribute(int vocabulary, int embedding) : Attribute
{
    public int Vocabulary { get; } = vocabulary;
    public int Embedding { get; } = embedding;

    /// <summary>Embedding dropout (AWD-LSTM): whole rows of the table, i.e. word types, dropped for a training pass
    /// and the rest scaled by 1/(1 − rate). Setting it declares the technique; the value is the run-time default.</summary>
    public double EmbeddingDropout { get; set; }
}
