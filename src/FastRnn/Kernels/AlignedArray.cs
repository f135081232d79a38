using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastRnn.Kernels;

/// <summary>
/// A zeroed array whose first element sits on a 64-byte boundary (a cache line, and the width of a 512-bit vector):
/// the generated models' parameter and gradient arenas and buffers, and a quantized matrix's packed weights. Every
/// tensor in an arena starts at a multiple of 16 floats and every row of a buffer is a multiple of 16 floats long, so
/// with the array aligned every vector load reads one cache line instead of straddling two. A managed array starts
/// wherever the allocator put it (24, 40 or 56 bytes past a line in this project's models), and a straddling 512-bit
/// load costs a batch-1 step of LSTM(1024), which streams 32 MiB of weights, about a third more time.
/// The elements live in an array on the pinned object heap (it never moves, so the alignment holds), up to a line
/// longer than asked, used from the first aligned element on.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class AlignedArray<T>
    where T : unmanaged
{
    private const int LineBytes = 64;

    private readonly T[] _array;
    private readonly int _offset;

    /// <summary>Allocates <paramref name="length"/> zeroed elements starting on a cache line.</summary>
    public AlignedArray(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        _array = GC.AllocateArray<T>(length + LineBytes / Unsafe.SizeOf<T>(), pinned: true);
        Length = length;
        _offset = OffsetToLine(_array);
    }

    /// <summary>The number of elements.</summary>
    public int Length { get; }

    /// <summary>All the elements.</summary>
    public Span<T> Span => MemoryMarshal.CreateSpan(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_array), _offset), Length);

    /// <summary>The elements from <paramref name="start"/> on.</summary>
    public Span<T> AsSpan(int start) => Span[start..];

    /// <summary><paramref name="length"/> elements from <paramref name="start"/>.</summary>
    public Span<T> AsSpan(int start, int length) => Span.Slice(start, length);

    public static implicit operator Span<T>(AlignedArray<T> array) => array.Span;

    public static implicit operator ReadOnlySpan<T>(AlignedArray<T> array) => array.Span;

    /// <summary>How many elements past the array's start the first cache line begins.</summary>
    private static int OffsetToLine(T[] array)
    {
        // a pinned-heap array never moves: the address read here stays true for the array's lifetime
        nint address = Unsafe.ByteOffset(ref Unsafe.NullRef<T>(), ref MemoryMarshal.GetArrayDataReference(array));
        int bytes = (int)((LineBytes - address % LineBytes) % LineBytes);
        return bytes / Unsafe.SizeOf<T>();
    }
}
