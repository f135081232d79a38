using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastRnn.Kernels;

/// <summary>
/// Layer normalization over rows in the gate-interleaved layout (Ba, Kiros and Hinton 2016), the operator of the
/// layer-normalized LSTM and GRU cells. A row holds <c>gates</c> gates of <c>units</c> units each, stored
/// <c>[block][gate][16]</c> with the units padded to whole blocks; a row is normalized over its
/// <c>gates·units</c> real values (all gates together, as Ba et al. normalize <c>W·x</c> and <c>U·h</c>), the padded
/// lanes are neither counted nor written with anything but 0.
/// <para>Forward: <c>x̂ = (x − μ)·rstd</c>, <c>rstd = 1/√(σ² + ε)</c>, σ² the biased variance and ε = 1e-5 (PyTorch
/// <c>nn.LayerNorm</c>'s default). The gain and bias, <c>y = γ⊙x̂ + β</c>, are applied by the caller where it reads
/// x̂, so no pass writes y.</para>
/// <para>Backward: with <c>g = γ⊙∂y</c>, <c>∂x = rstd·(g − mean(g) − x̂·mean(g⊙x̂))</c>, and <c>∂γ += ∂y⊙x̂</c>,
/// <c>∂β += ∂y</c> in the same pass.</para>
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class LayerNorm
{
    /// <summary>ε under the square root (PyTorch's <c>nn.LayerNorm</c> and <c>F.layer_norm</c> default).</summary>
    public const float Epsilon = 1e-5f;

    private const int W = Block.Width;

    // 16 ones then 16 zeros: 16 floats loaded from index 16 − k are k ones followed by zeros (the real lanes of a
    // last block that holds k units).
    private static readonly float[] s_laneMasks = [.. Enumerable.Repeat(1f, W), .. Enumerable.Repeat(0f, W)];

    /// <summary>Normalizes each of <paramref name="rows"/> rows of <paramref name="source"/> into
    /// <paramref name="normalized"/> (which may be the same memory) and writes each row's 1/√(σ² + ε) to
    /// <paramref name="rstd"/>.</summary>
    public static void Normalize<T>(ReadOnlySpan<float> source, Span<float> normalized, int stride, int rows,
        int gates, int units, Span<float> rstd) where T : struct, IBlock<T>
    {
        var (blocks, width) = CheckRows(source.Length, normalized.Length, stride, rows, gates, units, rstd.Length, "Normalize");
        ref float x0 = ref MemoryMarshal.GetReference(source);
        ref float y0 = ref MemoryMarshal.GetReference(normalized);
        T lastMask = LastMask<T>(units, blocks);
        int last = (blocks - 1) * gates * W;
        float count = gates * units;
        for (int r = 0; r < rows; r++)
        {
            ref float x = ref Unsafe.Add(ref x0, r * stride);
            ref float y = ref Unsafe.Add(ref y0, r * stride);
            // μ = Σx / N over the real lanes
            T sum = T.Zero;
            for (int c = 0; c < last; c += W)
                sum += T.Load(in Unsafe.Add(ref x, c));
            for (int c = last; c < width; c += W)
                sum = T.MultiplyAdd(ref Unsafe.Add(ref x, c), lastMask, sum);
            T mean = T.Create(T.Sum(sum) / count);
            // σ² = Σ(x − μ)² / N, two passes (no cancellation between E[x²] and μ²)
            T squares = T.Zero;
            for (int c = 0; c < last; c += W)
            {
                T d = T.Load(in Unsafe.Add(ref x, c)) - mean;
                squares = T.MultiplyAdd(d, d, squares);
            }
            for (int c = last; c < width; c += W)
            {
                T d = (T.Load(in Unsafe.Add(ref x, c)) - mean) * lastMask;
                squares = T.MultiplyAdd(d, d, squares);
            }
            float inverse = 1f / MathF.Sqrt(T.Sum(squares) / count + Epsilon);
            rstd[r] = inverse;
            T scale = T.Create(inverse);
            for (int c = 0; c < last; c += W)
                T.Store(ref Unsafe.Add(ref y, c), (T.Load(in Unsafe.Add(ref x, c)) - mean) * scale);
            for (int c = last; c < width; c += W)
                T.Store(ref Unsafe.Add(ref y, c), (T.Load(in Unsafe.Add(ref x, c)) - mean) * scale * lastMask);
        }
    }

    /// <summary>From ∂y (<paramref name="dy"/>) of <c>y = γ⊙x̂ + β</c> to ∂x (<paramref name="dx"/>, which may be the
    /// same memory as <paramref name="dy"/>), adding <c>∂y⊙x̂</c> to <paramref name="gainGradient"/> and ∂y to
    /// <paramref name="biasGradient"/> (both one row long).</summary>
    public static void Backward<T>(ReadOnlySpan<float> dy, ReadOnlySpan<float> gain, ReadOnlySpan<float> normalized,
        ReadOnlySpan<float> rstd, Span<float> dx, int stride, int rows, int gates, int units,
        Span<float> gainGradient, Span<float> biasGradient) where T : struct, IBlock<T>
    {
        var (blocks, width) = CheckRows(dy.Length, dx.Length, stride, rows, gates, units, rstd.Length, "Backward");
        if (rows > 0 && normalized.Length < (rows - 1) * stride + width)
            throw new ArgumentException($"Backward needs {rows} normalized rows of {width} floats; the span has {normalized.Length}.", nameof(normalized));
        if (gain.Length < width || gainGradient.Length < width || biasGradient.Length < width)
            throw new ArgumentException($"The gain, its gradient and the bias gradient each need {width} floats; they have {gain.Length}, {gainGradient.Length} and {biasGradient.Length}.");
        ref float dy0 = ref MemoryMarshal.GetReference(dy);
        ref float n0 = ref MemoryMarshal.GetReference(normalized);
        ref float dx0 = ref MemoryMarshal.GetReference(dx);
        ref float gain0 = ref MemoryMarshal.GetReference(gain);
        ref float dGain0 = ref MemoryMarshal.GetReference(gainGradient);
        ref float dBias0 = ref MemoryMarshal.GetReference(biasGradient);
        T lastMask = LastMask<T>(units, blocks);
        int last = (blocks - 1) * gates * W;
        float count = gates * units;
        for (int r = 0; r < rows; r++)
        {
            ref float d = ref Unsafe.Add(ref dy0, r * stride);
            ref float xHat = ref Unsafe.Add(ref n0, r * stride);
            ref float dOut = ref Unsafe.Add(ref dx0, r * stride);
            // Σg and Σg⊙x̂ with g = γ⊙∂y (γ and x̂ are 0 on padded lanes, ∂y is masked so β's padding gets nothing);
            // ∂γ += ∂y⊙x̂ and ∂β += ∂y on the way
            T sumG = T.Zero, sumGx = T.Zero;
            for (int c = 0; c < width; c += W)
            {
                T grad = T.Load(in Unsafe.Add(ref d, c));
                if (c >= last)
                    grad *= lastMask;
                T x = T.Load(in Unsafe.Add(ref xHat, c));
                T g = grad * T.Load(in Unsafe.Add(ref gain0, c));
                sumG += g;
                sumGx = T.MultiplyAdd(g, x, sumGx);
                T.Store(ref Unsafe.Add(ref dGain0, c), T.MultiplyAdd(grad, x, T.Load(in Unsafe.Add(ref dGain0, c))));
                T.Store(ref Unsafe.Add(ref dBias0, c), T.Load(in Unsafe.Add(ref dBias0, c)) + grad);
            }
            T meanG = T.Create(T.Sum(sumG) / count), meanGx = T.Create(T.Sum(sumGx) / count);
            T scale = T.Create(rstd[r]);
            // ∂x = rstd·(g − mean(g) − x̂·mean(g⊙x̂)), 0 on padded lanes
            for (int c = 0; c < width; c += W)
            {
                T g = T.Load(in Unsafe.Add(ref d, c)) * T.Load(in Unsafe.Add(ref gain0, c));
                T x = T.Load(in Unsafe.Add(ref xHat, c));
                T value = (g - meanG - x * meanGx) * scale;
                if (c >= last)
                    value *= lastMask;
                T.Store(ref Unsafe.Add(ref dOut, c), value);
            }
        }
    }

    private static T LastMask<T>(int units, int blocks) where T : struct, IBlock<T> =>
        T.Load(in s_laneMasks[W - (units - (blocks - 1) * W)]);

    private static (int Blocks, int Width) CheckRows(int sourceLength, int destinationLength, int stride, int rows,
        int gates, int units, int rstdLength, string operation)
    {
        if (units < 1 || gates < 1)
            throw new ArgumentOutOfRangeException(nameof(units), $"{operation} needs at least one gate of one unit; got {gates} × {units}.");
        int blocks = Block.Pad(units) / W, width = blocks * gates * W;
        long needed = rows == 0 ? 0 : (long)(rows - 1) * stride + width;
        if (rows < 0 || stride < width || sourceLength < needed || destinationLength < needed)
            throw new ArgumentException(
                $"{operation} needs {rows} rows of {width} floats at stride {stride} ({needed} floats); the spans have {sourceLength} and {destinationLength}.");
        if (rstdLength < rows)
            throw new ArgumentException($"{operation} needs one rstd per row ({rows}); the span has {rstdLength}.");
        return (blocks, width);
    }
}
