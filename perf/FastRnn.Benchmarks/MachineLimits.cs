using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FastRnn.Benchmarks;

/// <summary>The machine's own limits, measured in the same run as the kernels they bound.</summary>
public static class MachineLimits
{
    /// <summary>Reads <paramref name="buffer"/> once with 8 independent Vector256 accumulators: the time to stream
    /// a step's weights (the bandwidth bound of a batch-1 step).</summary>
    public static float Sum(float[] buffer)
    {
        ref float start = ref buffer[0];
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        int i = 0;
        for (; i + 64 <= buffer.Length; i += 64)
        {
            a0 += Vector256.LoadUnsafe(ref start, (nuint)i);
            a1 += Vector256.LoadUnsafe(ref start, (nuint)(i + 8));
            a2 += Vector256.LoadUnsafe(ref start, (nuint)(i + 16));
            a3 += Vector256.LoadUnsafe(ref start, (nuint)(i + 24));
            a4 += Vector256.LoadUnsafe(ref start, (nuint)(i + 32));
            a5 += Vector256.LoadUnsafe(ref start, (nuint)(i + 40));
            a6 += Vector256.LoadUnsafe(ref start, (nuint)(i + 48));
            a7 += Vector256.LoadUnsafe(ref start, (nuint)(i + 56));
        }
        float tail = 0;
        for (; i < buffer.Length; i++) tail += buffer[i];
        return Vector256.Sum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))) + tail;
    }

    /// <summary>FMA throughput: 12 independent Vector256 FMA chains, <paramref name="iterations"/> rounds:
    /// 12 · 8 · 2 = 192 flops a round.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static float FmaPeak256(int iterations)
    {
        var m = Vector256.Create(0.999f);
        var c = Vector256.Create(0.001f);
        Vector256<float> a0 = Vector256.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (int i = 0; i < iterations; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, m, c); a1 = Vector256.FusedMultiplyAdd(a1, m, c);
            a2 = Vector256.FusedMultiplyAdd(a2, m, c); a3 = Vector256.FusedMultiplyAdd(a3, m, c);
            a4 = Vector256.FusedMultiplyAdd(a4, m, c); a5 = Vector256.FusedMultiplyAdd(a5, m, c);
            a6 = Vector256.FusedMultiplyAdd(a6, m, c); a7 = Vector256.FusedMultiplyAdd(a7, m, c);
            a8 = Vector256.FusedMultiplyAdd(a8, m, c); a9 = Vector256.FusedMultiplyAdd(a9, m, c);
            a10 = Vector256.FusedMultiplyAdd(a10, m, c); a11 = Vector256.FusedMultiplyAdd(a11, m, c);
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    /// <summary>The same with 12 Vector512 chains: 12 · 16 · 2 = 384 flops a round.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static float FmaPeak512(int iterations)
    {
        var m = Vector512.Create(0.999f);
        var c = Vector512.Create(0.001f);
        Vector512<float> a0 = Vector512.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (int i = 0; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, c); a1 = Vector512.FusedMultiplyAdd(a1, m, c);
            a2 = Vector512.FusedMultiplyAdd(a2, m, c); a3 = Vector512.FusedMultiplyAdd(a3, m, c);
            a4 = Vector512.FusedMultiplyAdd(a4, m, c); a5 = Vector512.FusedMultiplyAdd(a5, m, c);
            a6 = Vector512.FusedMultiplyAdd(a6, m, c); a7 = Vector512.FusedMultiplyAdd(a7, m, c);
            a8 = Vector512.FusedMultiplyAdd(a8, m, c); a9 = Vector512.FusedMultiplyAdd(a9, m, c);
            a10 = Vector512.FusedMultiplyAdd(a10, m, c); a11 = Vector512.FusedMultiplyAdd(a11, m, c);
        }
        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }
}
