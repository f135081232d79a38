using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FastRnn.Kernels;

[EditorBrowsable(EditorBrowsableState.Never)]
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
    public static unsafe void StoreNonTemporal(ref float destination, Block512 value)
    {
        float* line = (float*)Unsafe.AsPointer(ref destination);
        if (Avx512F.IsSupported && ((nuint)line & 63) == 0)
            Avx512F.StoreAlignedNonTemporal(line, value.V);
        else
            value.V.StoreUnsafe(ref destination);
    }

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
