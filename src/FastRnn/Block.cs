using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FastRnn;

/// <summary>
/// Sixteen float lanes: the unit of FastRnn's gate-interleaved layout. Every weight matrix stores its output units
/// in blocks of <see cref="Block.Width"/>, so one kernel source serves both hardware widths:
/// <see cref="Block256"/> holds the block in two <see cref="Vector256{T}"/> registers (AVX2),
/// <see cref="Block512"/> in one <see cref="Vector512{T}"/> (AVX-512). The JIT specializes each generic kernel
/// for the struct it is given, so the interface costs nothing at run time.
/// </summary>
public interface IBlock<TSelf> where TSelf : struct, IBlock<TSelf>
{
    static abstract TSelf Zero { get; }
    static abstract TSelf One { get; }
    static abstract TSelf Load(ref readonly float source);
    static abstract void Store(ref float destination, TSelf value);
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

public static class Block
{
    /// <summary>Units per block of the interleaved layout; every padded size is a multiple of it.</summary>
    public const int Width = 16;

    /// <summary>Rounds <paramref name="size"/> up to a whole number of blocks.</summary>
    public static int Pad(int size) => (size + Width - 1) / Width * Width;
}

/// <summary>Which vector width models and optimizers constructed from now on use. Defaults to 512 bits where the
/// hardware runs them natively, else 256. <see cref="Override"/> forces either on the calling thread (tests check
/// both paths; 512 runs in software on AVX2 machines, so its speed there says nothing).</summary>
public static class VectorPath
{
    private static readonly bool s_hardware512 = Vector512.IsHardwareAccelerated;

    [ThreadStatic]
    private static bool? t_override;

    /// <summary>True when an object constructed now on this thread will use the 512-bit kernels.</summary>
    public static bool Use512 => t_override ?? s_hardware512;

    /// <summary>Forces the width for objects constructed on this thread until the returned scope is disposed.</summary>
    public static IDisposable Override(bool use512)
    {
        var scope = new Scope(t_override);
        t_override = use512;
        return scope;
    }

    private sealed class Scope(bool? previous) : IDisposable
    {
        public void Dispose() => t_override = previous;
    }
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

public struct Block256 : IBlock<Block256>
{
    public Vector256<float> Lo;
    public Vector256<float> Hi;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Block256(Vector256<float> lo, Vector256<float> hi) { Lo = lo; Hi = hi; }

    public static Block256 Zero
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => default;
    }

    public static Block256 One
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => new(Vector256<float>.One, Vector256<float>.One);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block256 Load(ref readonly float source) =>
        new(Vector256.LoadUnsafe(in source), Vector256.LoadUnsafe(in source, 8));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(ref float destination, Block256 value)
    {
        value.Lo.StoreUnsafe(ref destination);
        value.Hi.StoreUnsafe(ref destination, 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block256 Create(float value)
    {
        var v = Vector256.Create(value);
        return new(v, v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block256 MultiplyAdd(Block256 a, Block256 b, Block256 addend) =>
        new(Vector256.FusedMultiplyAdd(a.Lo, b.Lo, addend.Lo), Vector256.FusedMultiplyAdd(a.Hi, b.Hi, addend.Hi));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block256 MultiplyAdd(ref readonly float source, Block256 b, Block256 addend) =>
        new(Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(in source), b.Lo, addend.Lo),
            Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(in source, 8), b.Hi, addend.Hi));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block256 operator +(Block256 a, Block256 b) => new(a.Lo + b.Lo, a.Hi + b.Hi);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block256 operator -(Block256 a, Block256 b) => new(a.Lo - b.Lo, a.Hi - b.Hi);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block256 operator *(Block256 a, Block256 b) => new(a.Lo * b.Lo, a.Hi * b.Hi);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block256 operator /(Block256 a, Block256 b) => new(a.Lo / b.Lo, a.Hi / b.Hi);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block256 Sqrt(Block256 x) => new(Vector256.Sqrt(x.Lo), Vector256.Sqrt(x.Hi));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block256 Min(Block256 a, Block256 b) => new(Vector256.Min(a.Lo, b.Lo), Vector256.Min(a.Hi, b.Hi));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block256 Sign(Block256 x) => new(Sign(x.Lo), Sign(x.Hi));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Sign(Vector256<float> x) =>
        (Vector256.GreaterThan(x, Vector256<float>.Zero) & Vector256<float>.One) -
        (Vector256.LessThan(x, Vector256<float>.Zero) & Vector256<float>.One);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block256 Max(Block256 a, Block256 b) => new(Vector256.Max(a.Lo, b.Lo), Vector256.Max(a.Hi, b.Hi));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block256 Sigmoid(Block256 x) => new(Sigmoid(x.Lo), Sigmoid(x.Hi));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block256 Tanh(Block256 x) => new(Tanh(x.Lo), Tanh(x.Hi));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Block256 x) => Vector256.Sum(x.Lo + x.Hi);

    // σ(x) = 1 / (1 + e^−x): exact in the tails (e^−x overflows to ∞ and the quotient to 0).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Sigmoid(Vector256<float> x) =>
        Vector256<float>.One / (Vector256<float>.One + Vector256.Exp(-x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Tanh(Vector256<float> x)
    {
        var magnitude = Vector256.Abs(x);
        var e = Vector256.Exp(magnitude * Vector256.Create(-2f));
        var large = (Vector256<float>.One - e) / (Vector256<float>.One + e);
        var x2 = x * x;
        var poly = Vector256.FusedMultiplyAdd(x2, Vector256.Create(Activations.TanhC9), Vector256.Create(Activations.TanhC7));
        poly = Vector256.FusedMultiplyAdd(x2, poly, Vector256.Create(Activations.TanhC5));
        poly = Vector256.FusedMultiplyAdd(x2, poly, Vector256.Create(Activations.TanhC3));
        var small = Vector256.FusedMultiplyAdd(x * x2, poly, x);
        var isSmall = Vector256.LessThan(magnitude, Vector256.Create(Activations.SmallTanhLimit));
        return Vector256.ConditionalSelect(isSmall, small, Vector256.CopySign(large, x));
    }
}

public struct Block512 : IBlock<Block512>
{
    public Vector512<float> V;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Block512(Vector512<float> v) { V = v; }

    public static Block512 Zero
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => default;
    }

    public static Block512 One
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => new(Vector512<float>.One);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block512 Load(ref readonly float source) => new(Vector512.LoadUnsafe(in source));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(ref float destination, Block512 value) => value.V.StoreUnsafe(ref destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block512 Create(float value) => new(Vector512.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block512 MultiplyAdd(Block512 a, Block512 b, Block512 addend) =>
        new(Vector512.FusedMultiplyAdd(a.V, b.V, addend.V));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block512 MultiplyAdd(ref readonly float source, Block512 b, Block512 addend) =>
        new(Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(in source), b.V, addend.V));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block512 operator +(Block512 a, Block512 b) => new(a.V + b.V);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block512 operator -(Block512 a, Block512 b) => new(a.V - b.V);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block512 operator *(Block512 a, Block512 b) => new(a.V * b.V);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block512 operator /(Block512 a, Block512 b) => new(a.V / b.V);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block512 Sqrt(Block512 x) => new(Vector512.Sqrt(x.V));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block512 Min(Block512 a, Block512 b) => new(Vector512.Min(a.V, b.V));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block512 Sign(Block512 x) =>
        new((Vector512.GreaterThan(x.V, Vector512<float>.Zero) & Vector512<float>.One) -
            (Vector512.LessThan(x.V, Vector512<float>.Zero) & Vector512<float>.One));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block512 Max(Block512 a, Block512 b) => new(Vector512.Max(a.V, b.V));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block512 Sigmoid(Block512 x) =>
        new(Vector512<float>.One / (Vector512<float>.One + Vector512.Exp(-x.V)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block512 Tanh(Block512 x)
    {
        var v = x.V;
        var magnitude = Vector512.Abs(v);
        var e = Vector512.Exp(magnitude * Vector512.Create(-2f));
        var large = (Vector512<float>.One - e) / (Vector512<float>.One + e);
        var x2 = v * v;
        var poly = Vector512.FusedMultiplyAdd(x2, Vector512.Create(Activations.TanhC9), Vector512.Create(Activations.TanhC7));
        poly = Vector512.FusedMultiplyAdd(x2, poly, Vector512.Create(Activations.TanhC5));
        poly = Vector512.FusedMultiplyAdd(x2, poly, Vector512.Create(Activations.TanhC3));
        var small = Vector512.FusedMultiplyAdd(v * x2, poly, v);
        var isSmall = Vector512.LessThan(magnitude, Vector512.Create(Activations.SmallTanhLimit));
        return new(Vector512.ConditionalSelect(isSmall, small, Vector512.CopySign(large, v)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Block512 x) => Vector512.Sum(x.V);
}
