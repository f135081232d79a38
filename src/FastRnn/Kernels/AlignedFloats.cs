using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastRnn.Kernels;

/// <summary>
/// A zeroed array of floats whose first element sits on a 64-byte boundary (a cache line, and the width of a 512-bit
/// vector), for the parameter and gradient arenas: every tensor in them starts at a multiple of 16 floats, so with the
/// arena aligned every vector load of a weight row reads one cache line instead of straddling two. A managed
/// <c>float[]</c> starts wherever the allocator put it (24, 40 or 56 bytes past a line in this project's models), and a
/// straddling 512-bit load costs a batch-1 step of LSTM(1024), which streams 32 MiB of weights, about a third more time.
/// The floats live in an array on the pinned object heap (it never moves, so the alignment holds), 15 floats longer
/// than asked, used from the first aligned element on.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class AlignedFloats
{
    private const int LineBytes = 64;

    private readonly float[] _array;
    private readonly int _offset;

    /// <summary>Allocates <paramref name="length"/> zeroed floats starting on a cache line.</summary>
    public AlignedFloats(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        _array = GC.AllocateArray<float>(length + LineBytes / sizeof(float) - 1, pinned: true);
        Length = length;
        _offset = OffsetToLine(_array);
    }

    /// <summary>The number of floats.</summary>
    public int Length { get; }

    /// <summary>All the floats.</summary>
    public Span<float> Span => MemoryMarshal.CreateSpan(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_array), _offset), Length);

    /// <summary>The floats from <paramref name="start"/> on.</summary>
    public Span<float> AsSpan(int start) => Span[start..];

    /// <summary><paramref name="length"/> floats from <paramref name="start"/>.</summary>
    public Span<float> AsSpan(int start, int length) => Span.Slice(start, length);

    public static implicit operator Span<float>(AlignedFloats floats) => floats.Span;

    public static implicit operator ReadOnlySpan<float>(AlignedFloats floats) => floats.Span;

    /// <summary>How many floats past the array's start the first cache line begins (0–15).</summary>
    private static unsafe int OffsetToLine(float[] array)
    {
        // a pinned-heap array never moves: the address read here stays true for the array's lifetime
        nint address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        int bytes = (int)((LineBytes - address % LineBytes) % LineBytes);
        return bytes / sizeof(float);
    }
}
