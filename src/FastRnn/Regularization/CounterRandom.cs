using System.ComponentModel;
using System.Runtime.CompilerServices;

namespace FastRnn.Kernels;

/// <summary>
/// A counter-based random generator: every number is a pure function of (seed, stream, index), so any draw can be
/// regenerated without replaying the ones before it, and results do not depend on the order or thread of the draws.
/// The mix is SplitMix64's finalizer applied twice over the combined key.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class CounterRandom
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Hash(ulong seed, ulong stream, ulong index)
    {
        ulong z = Mix(seed + 0x9E3779B97F4A7C15UL * (stream + 1));
        return Mix(z ^ (index * 0xD1B54A32D192ED03UL + 0x8CB92BA72F3D8DD7UL));
    }

    /// <summary>A float uniform on [0, 1) with 24 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Uniform(ulong seed, ulong stream, ulong index) =>
        (Hash(seed, stream, index) >> 40) * (1f / (1 << 24));

    /// <summary>A standard normal draw (Box–Muller on two independent uniforms of the same key).</summary>
    public static float Normal(ulong seed, ulong stream, ulong index)
    {
        ulong h = Hash(seed, stream, index);
        double u1 = ((h >> 11) + 1) * (1.0 / 9007199254740993.0); // (0, 1]
        double u2 = (Hash(seed ^ 0x5851F42D4C957F2DUL, stream, index) >> 11) * (1.0 / 9007199254740992.0);
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
