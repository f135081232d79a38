using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FastRnn.Kernels;
using Xunit;

namespace FastRnn.Tests;

/// <summary>The arenas and buffers the generated models read with vector loads start on a cache line (64 bytes), so a
/// 512-bit load of a weight row never straddles two lines; <see cref="AlignedFloats"/> gives them that.</summary>
public sealed class AlignedFloatsTests
{
    [Fact]
    public void EveryLengthStartsOnALineZeroedAndInBounds()
    {
        // many allocations of every small length: the pinned heap places them at every offset a float can have
        var kept = new List<AlignedFloats>();
        for (int round = 0; round < 8; round++)
            for (int length = 0; length <= 40; length++)
            {
                var floats = new AlignedFloats(length);
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
    public void SlicesAndConversionsSeeTheSameFloats()
    {
        var floats = new AlignedFloats(37);
        for (int i = 0; i < floats.Length; i++)
            floats.Span[i] = i;
        Span<float> all = floats;
        ReadOnlySpan<float> read = floats;
        Assert.Equal(floats.Span.ToArray(), all.ToArray());
        Assert.Equal(floats.Span.ToArray(), read.ToArray());
        Assert.Equal([5f, 6f, 7f], floats.AsSpan(5, 3).ToArray());
        Assert.Equal(Enumerable.Range(30, 7).Select(i => (float)i), floats.AsSpan(30).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => floats.AsSpan(35, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AlignedFloats(-1));
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

    private static long Address(Span<float> floats) =>
        Unsafe.ByteOffset(ref Unsafe.NullRef<float>(), ref MemoryMarshal.GetReference(floats));
}
