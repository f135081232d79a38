using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FastRnn.Kernels;

/// <summary>
/// Sixteen float lanes: the unit of FastRnn's gate-interleaved layout. Every weight matrix stores its output units
/// in blocks of <see cref="Block.Width"/>, so one kernel source serves both hardware widths:
/// <see cref="Block256"/> holds the block in two <see cref="Vector256{T}"/> registers (AVX2),
/// <see cref="Block512"/> in one <see cref="Vector512{T}"/> (AVX-512). The JIT specializes each generic kernel
/// for the struct it is given, so the interface costs nothing at run time.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface IBlock<TSelf> where TSelf : struct, IBlock<TSelf>
{
    static abstract TSelf Zero { get; }
    static abstract TSelf One { get; }
    static abstract TSelf Load(ref readonly float source);
    static abstract void Store(ref float destination, TSelf value);

    /// <summary>Stores past the caches (a non-temporal store): the line goes to memory instead of staying modified in
    /// this core's cache, where another core would have to fetch it from. For data another thread reads next (a shared
    /// recurrence's h(t)) and this one does not. <paramref name="destination"/> must not move (the pinned heap, native
    /// memory); where it does not start a 64-byte line, or the processor has no such store, it is a plain store. The
    /// values are the same either way; a writer publishes them with a store fence before it signals the readers.</summary>
    static abstract void StoreNonTemporal(ref float destination, TSelf value);
    static abstract TSelf Create(float value);

    /// <summary><c>a·b + addend</c>, fused (one rounding).</summary>
    static abstract TSelf MultiplyAdd(TSelf a, TSelf b, TSelf addend);

    /// <summary><c>load(source)·b + addend</c>: the load sits inside the fused multiply-add, so the JIT can take it as
    /// the instruction's memory operand (no register copy, no separate load).</summary>
    static abstract TSelf MultiplyAdd(ref readonly float source, TSelf b, TSelf addend);
    static abstract TSelf operator +(TSelf a, TSelf b);
    static abstract TSelf operator -(TSelf a, TSelf b);
    static abstract TSelf operator *(TSelf a, TSelf b);
    static abstract TSelf operator /(TSelf a, TSelf b);
    static abstract TSelf Sqrt(TSelf x);
    /// <summary>−1, 0 or 1 by the sign of each lane (0 for ±0).</summary>
    static abstract TSelf Sign(TSelf x);
    static abstract TSelf Min(TSelf a, TSelf b);
    static abstract TSelf Max(TSelf a, TSelf b);
    static abstract TSelf Sigmoid(TSelf x);
    static abstract TSelf Tanh(TSelf x);
    static abstract float Sum(TSelf x);
}
