using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FastRnn.Kernels;

/// <summary>The block of the gate-interleaved layout: its width in float lanes and padding to whole blocks.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class Block
{
    /// <summary>Units per block of the interleaved layout; every padded size is a multiple of it.</summary>
    public const int Width = 16;

    /// <summary>Rounds <paramref name="size"/> up to a whole number of blocks.</summary>
    public static int Pad(int size) => (size + Width - 1) / Width * Width;
}

/// <summary>Scalar pieces shared by both widths' activation functions.</summary>
internal static class Activations
{
    // tanh(x) for |x| < 0.25 from its odd Taylor series through x^9: the truncation error there is below 1e-8
    // relative, and (1 − e)/(1 + e) would lose digits to cancellation near zero.
    internal const float SmallTanhLimit = 0.25f;
    internal const float TanhC3 = -1f / 3f;
    internal const float TanhC5 = 2f / 15f;
    internal const float TanhC7 = -17f / 315f;
    internal const float TanhC9 = 62f / 2835f;
}
