using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FastRnn.Kernels;

/// <summary>Which vector width models and optimizers constructed from now on use. Defaults to 512 bits where the
/// hardware runs them natively, else 256. <see cref="Override"/> forces either on the calling thread (tests check
/// both paths; 512 runs in software on AVX2 machines, so its speed there says nothing).</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class VectorPath
{
    private static readonly bool s_hardware512 = Vector512.IsHardwareAccelerated;

    [ThreadStatic]
#pragma warning disable IDE1006 // a thread-static field is t_camelCase (the naming rules cannot tell it from a static one)
    private static bool? t_override;
#pragma warning restore IDE1006

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
