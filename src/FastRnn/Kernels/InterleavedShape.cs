using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace FastRnn.Kernels;

/// <summary>
/// The shape of a gate-interleaved weight matrix: <see cref="Inputs"/> inputs feeding <see cref="Gates"/> gates of
/// <see cref="Blocks"/>·16 units. Element (unit j = 16·b + u, gate g, input k) is stored at
/// <c>((b·Inputs + k)·Gates + g)·16 + u</c>, so for one block of units the weights of every gate for one input are
/// adjacent: one pass over the matrix computes all gates of a block, and a cell update can follow in registers.
/// An output row (a vector of gate pre-activations) is stored as <c>[block][gate][16]</c>.
/// Padded units (past the real size) have zero weights and therefore stay zero; their gradients are zero too.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly record struct InterleavedShape(int Inputs, int Gates, int Blocks)
{
    public int Length => Blocks * Inputs * Gates * Block.Width;

    /// <summary>Floats in one output row: every gate of every block.</summary>
    public int RowLength => Blocks * Gates * Block.Width;

    /// <summary>Offset of the weights of (unit <paramref name="unit"/>, gate <paramref name="gate"/>, input <paramref name="input"/>).</summary>
    public int IndexOf(int unit, int gate, int input) =>
        ((unit / Block.Width * Inputs + input) * Gates + gate) * Block.Width + unit % Block.Width;

    /// <summary>The shape of this matrix's transpose as <see cref="InterleavedKernels.PackTransposed(ReadOnlySpan{float}, InterleavedShape, int, int, Span{float})"/> packs it: its
    /// inputs are the positions of an output row (every gate of every block), its outputs the (padded) inputs.</summary>
    public InterleavedShape Transposed => new(RowLength, 1, Block.Pad(Inputs) / Block.Width);

    /// <summary>Offset of (unit, gate) within an output row or a bias vector.</summary>
    public int RowIndexOf(int unit, int gate) => (unit / Block.Width * Gates + gate) * Block.Width + unit % Block.Width;

    // Written out: the generated one would print Transposed, whose Transposed prints its own, without end.
    public override string ToString() => $"{Inputs} inputs → {Gates} gate(s) × {Blocks} block(s) of {Block.Width}";
}
