using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FastRnn.Kernels;

[EditorBrowsable(EditorBrowsableState.Never)]
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
    public static unsafe void StoreNonTemporal(ref float destination, Block256 value)
    {
        float* line = (float*)Unsafe.AsPointer(ref destination);
        if (Avx.IsSupported && ((nuint)line & 63) == 0)
        {
            // the two halves fill one line
            Avx.StoreAlignedNonTemporal(line, value.Lo);
            Avx.StoreAlignedNonTemporal(line + 8, value.Hi);
        }
        else
        {
            Store(ref destination, value);
        }
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
