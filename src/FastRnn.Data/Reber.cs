namespace FastRnn.Data;

/// <summary>
/// The embedded Reber grammar (Hochreiter and Schmidhuber 1997, after Reber 1967): strings <c>B T R T E</c> or
/// <c>B P R P E</c>, where R is a Reber string and the symbol after it must repeat the second symbol — a dependency
/// across the whole inner string. Symbols are ids 0–6 for B, T, P, S, X, V, E. The generator records, at every
/// position, which symbols the grammar allows next, so next-symbol accuracy can be measured exactly.
/// </summary>
public static class Reber
{
    public const int Symbols = 7;
    public const string Alphabet = "BTPSXVE";
    public const int B = 0, T = 1, P = 2, S = 3, X = 4, V = 5, E = 6;

    // The inner Reber automaton: from each state, two (symbol, next state) choices taken with probability ½; state 5
    // ends the inner string.
    private static readonly (int Symbol, int Next)[][] s_edges =
    [
        [(T, 1), (P, 2)], // 0 (after the inner B)
        [(S, 1), (X, 3)], // 1
        [(T, 2), (V, 4)], // 2
        [(X, 2), (S, 5)], // 3
        [(P, 3), (V, 5)], // 4
    ];

    /// <summary>One embedded Reber string and, for each position i &lt; length − 1, the bit set of symbols allowed at
    /// position i + 1 (bit s set when symbol s may follow).</summary>
    public static (int[] Symbols, int[] Allowed) Generate(Random random)
    {
        var symbols = new List<int> { B };
        var allowed = new List<int>();
        int outer = random.Next(2) == 0 ? T : P;
        allowed.Add(Bit(T) | Bit(P));
        symbols.Add(outer);
        allowed.Add(Bit(B));
        symbols.Add(B);
        int state = 0;
        while (state != 5)
        {
            var edges = s_edges[state];
            allowed.Add(Bit(edges[0].Symbol) | Bit(edges[1].Symbol));
            var (symbol, next) = edges[random.Next(2)];
            symbols.Add(symbol);
            state = next;
        }
        allowed.Add(Bit(E)); // the inner string ends with E
        symbols.Add(E);
        allowed.Add(Bit(outer)); // the long-range step: the outer symbol again
        symbols.Add(outer);
        allowed.Add(Bit(E));
        symbols.Add(E);
        return (symbols.ToArray(), allowed.ToArray());
    }

    private static int Bit(int symbol) => 1 << symbol;
}
