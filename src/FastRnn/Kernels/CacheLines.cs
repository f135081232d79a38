using System.ComponentModel;
using System.Runtime.Intrinsics.X86;

namespace FastRnn.Kernels;

/// <summary>
/// Asks for every cache line of a product's inputs at once, before the product walks them one by one. On a pool a step's
/// inputs (h(t−1), the layer below's h(t)) were just written in part by the other threads: each such line comes from
/// another core's cache (50–250 ns on this project's VM, by where the host places the two vCPUs), and a product that
/// reaches them in turn, a few per hundred instructions, waits for them one after another. Asked for together, they
/// arrive together (also the gate gradients of a shared backward step). Speed only: no result depends on it.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class CacheLines
{
    private const int FloatsPerLine = 16;

    /// <summary>Orders the non-temporal stores this thread made (<c>StoreNonTemporal</c>) before its later stores, so
    /// a barrier crossed next publishes them: a store fence (nothing where there are no such stores).</summary>
    public static void PublishStreamed()
    {
        if (Sse.IsSupported)
            Sse.StoreFence();
    }

    /// <summary>Prefetches the lines of <paramref name="rows"/> rows of <paramref name="length"/> floats of
    /// <paramref name="x"/>, <paramref name="stride"/> apart (nothing on a processor without SSE, or past the span).</summary>
    public static unsafe void Prefetch(ReadOnlySpan<float> x, int rows, int stride, int length)
    {
        if (!Sse.IsSupported || length <= 0)
            return;
        fixed (float* x0 = x)
        {
            for (int r = 0; r < rows; r++)
            {
                int start = r * stride;
                if (start + length > x.Length)
                    return;
                float* row = x0 + start;
                for (int k = 0; k < length; k += FloatsPerLine)
                    Sse.Prefetch0(row + k);
                Sse.Prefetch0(row + length - 1); // the last line, when the row does not start a line
            }
        }
    }
}
