using FastRnn.Kernels;
using Xunit;

namespace FastRnn.Tests;

/// <summary>A store past the caches writes what a plain store writes: on a line (a non-temporal store), off a line (a
/// plain store instead), at both widths, and leaves the neighbours alone.</summary>
public class NonTemporalStoreTests
{
    [Fact]
    public void AStorePastTheCachesWritesWhatAPlainStoreWrites()
    {
        foreach (int offset in new[] { 0, 16, 32, 1, 5, 15 })
        {
            Check<Block512>(offset);
            Check<Block256>(offset);
        }
    }

    private static void Check<T>(int offset) where T : struct, IBlock<T>
    {
        var source = new float[16];
        for (int i = 0; i < 16; i++)
            source[i] = MathF.Sin(i + offset) * 1e3f;
        var streamed = new AlignedArray<float>(64);
        var plain = new AlignedArray<float>(64);
        streamed.Span.Fill(-7f);
        plain.Span.Fill(-7f);
        T value = T.Load(in source[0]);
        T.StoreNonTemporal(ref streamed.Span[offset], value);
        CacheLines.PublishStreamed();
        T.Store(ref plain.Span[offset], value);
        Assert.Equal(plain.Span.ToArray(), streamed.Span.ToArray());
        Assert.Equal(source, streamed.Span.Slice(offset, 16).ToArray());
        Assert.Equal(-7f, streamed.Span[offset + 16]);
    }
}
