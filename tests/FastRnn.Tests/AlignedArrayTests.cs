using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FastRnn.Kernels;
using Xunit;

namespace FastRnn.Tests;

/// <summary>The arenas and buffers the generated models read with vector loads start on a cache line (64 bytes), so a
/// 512-bit load of a weight row never straddles two lines; <see cref="AlignedArray{T}"/> gives them that.</summary>
public sealed class AlignedArrayTests
{
    [Fact]
    public void EveryLengthStartsOnALineZeroedAndInBounds()
    {
        // many allocations of every small length: the pinned heap places them at every offset a float can have
        var kept = new List<AlignedArray<float>>();
        for (int round = 0; round < 8; round++)
            for (int length = 0; length <= 40; length++)
            {
                var floats = new AlignedArray<float>(length);
                Assert.Equal(length, floats.Length);
                Assert.Equal(length, floats.Span.Length);
                Assert.Equal(0, Address(floats.Span) % 64);
                Assert.All(floats.Span.ToArray(), value => Assert.Equal(0f, value));
                kept.Add(floats);
            }
        // each one's floats are its own: writing all of one leaves the others zero
        kept[^1].Span.Fill(1f);
        Assert.All(kept.Take(kept.Count - 1), floats => Assert.All(floats.Span.ToArray(), value => Assert.Equal(0f, value)));
    }

    [Fact]
    public void OtherElementTypesStartOnALineToo()
    {
        for (int length = 0; length <= 70; length++)
        {
            var lanes = new AlignedArray<uint>(length);
            var bytes = new AlignedArray<byte>(length);
            Assert.Equal(0, Address(lanes.Span) % 64);
            Assert.Equal(0, Address(bytes.Span) % 64);
            Assert.Equal(length, lanes.Span.Length);
            Assert.Equal(length, bytes.Span.Length);
        }
    }

    [Fact]
    public void SlicesAndConversionsSeeTheSameFloats()
    {
        var floats = new AlignedArray<float>(37);
        for (int i = 0; i < floats.Length; i++)
            floats.Span[i] = i;
        Span<float> all = floats;
        ReadOnlySpan<float> read = floats;
        Assert.Equal(floats.Span.ToArray(), all.ToArray());
        Assert.Equal(floats.Span.ToArray(), read.ToArray());
        Assert.Equal([5f, 6f, 7f], floats.AsSpan(5, 3).ToArray());
        Assert.Equal(Enumerable.Range(30, 7).Select(i => (float)i), floats.AsSpan(30).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => floats.AsSpan(35, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AlignedArray<float>(-1));
    }

    [Fact]
    public void AGeneratedModelsArenasStartOnALine()
    {
        // every tensor sits at a multiple of 16 floats in the arena, so with the arena on a line every tensor is too
        for (int i = 0; i < 20; i++)
        {
            var model = new Lstm256(batchCapacity: 1 + i % 3, sequenceCapacity: 1 + i);
            Assert.Equal(0, Address(model.Parameters) % 64);
            Assert.Equal(0, Address(model.Gradients) % 64);
        }
    }

    private static long Address<T>(Span<T> elements) =>
        Unsafe.ByteOffset(ref Unsafe.NullRef<T>(), ref MemoryMarshal.GetReference(elements));
}
