using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastRnn;

/// <summary>
/// Batch normalization of the columns of a block of rows (Ioffe and Szegedy 2015): each of <c>width</c> features is
/// normalized over <c>rows</c> rows, as PyTorch's <c>nn.BatchNorm1d</c> normalizes an [N, C] input. FastRnn uses it
/// between layers (rows = every step of every sequence, batch × time) and inside a recurrent-batch-normalized cell
/// (rows = the batch at one time step, Cooijmans et al. 2016).
/// <para>Training: <c>y = γ⊙(x − μ)⊙rstd + β</c> with the batch's mean μ and biased variance σ², rstd = 1/√(σ² + ε),
/// ε = 1e-5; the running statistics move by momentum 0.1 towards μ and the unbiased variance σ²·N/(N − 1) (PyTorch's
/// defaults and update rule). Inference: the running mean and variance take the batch's place.</para>
/// <para>Backward with batch statistics: <c>∂x = γ⊙rstd⊙(∂y − mean(∂y) − x̂⊙mean(∂y⊙x̂))</c> over the rows of each
/// column; with running statistics (a fixed affine map) <c>∂x = γ⊙rstd⊙∂y</c>. Both add <c>Σ ∂y⊙x̂</c> to ∂γ and
/// <c>Σ ∂y</c> to ∂β.</para>
/// Every width is a multiple of <see cref="Block.Width"/>; padded columns hold 0 in x and in γ, β and stay 0.
/// </summary>
public static class BatchNorm
{
    /// <summary>ε under the square root (PyTorch's <c>BatchNorm1d</c> default).</summary>
    public const float Epsilon = 1e-5f;

    /// <summary>The running statistics' momentum (PyTorch's default): running = (1 − m)·running + m·batch.</summary>
    public const float Momentum = 0.1f;

    private const int W = Block.Width;

    /// <summary>The batch's per-column mean and 1/√(σ² + ε) of <paramref name="rows"/> rows of
    /// <paramref name="width"/> floats.</summary>
    public static void Statistics<T>(ReadOnlySpan<float> x, int stride, int rows, int width, Span<float> mean, Span<float> rstd)
        where T : struct, IBlock<T>
    {
        Check(x.Length, stride, rows, width, "x");
        CheckColumns(width, mean.Length, rstd.Length);
        if (rows < 1)
            throw new ArgumentOutOfRangeException(nameof(rows), rows, "Batch statistics need at least one row.");
        ref float x0 = ref MemoryMarshal.GetReference(x);
        T count = T.Create(rows);
        for (int c = 0; c < width; c += W)
        {
            T sum = T.Zero;
            for (int r = 0; r < rows; r++)
                sum += T.Load(in Unsafe.Add(ref x0, r * stride + c));
            T mu = sum / count;
            // σ² = Σ(x − μ)²/N, two passes
            T squares = T.Zero;
            for (int r = 0; r < rows; r++)
            {
                T d = T.Load(in Unsafe.Add(ref x0, r * stride + c)) - mu;
                squares = T.MultiplyAdd(d, d, squares);
            }
            T.Store(ref mean[c], mu);
            T.Store(ref rstd[c], T.One / T.Sqrt(squares / count + T.Create(Epsilon)));
        }
    }

    /// <summary>running = (1 − m)·running + m·batch for the mean and for the unbiased variance σ²·N/(N − 1), σ² taken
    /// back from <paramref name="rstd"/> (with N = 1 the batch variance is used as is).</summary>
    public static void UpdateRunning(ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, int rows, Span<float> runningMean, Span<float> runningVariance)
    {
        if (runningMean.Length < mean.Length || runningVariance.Length < mean.Length || rstd.Length < mean.Length)
            throw new ArgumentException($"Running statistics need {mean.Length} columns; they have {runningMean.Length} and {runningVariance.Length}.");
        double unbias = rows > 1 ? rows / (double)(rows - 1) : 1;
        for (int c = 0; c < mean.Length; c++)
        {
            double variance = 1.0 / ((double)rstd[c] * rstd[c]) - Epsilon;
            runningMean[c] = (1 - Momentum) * runningMean[c] + Momentum * mean[c];
            runningVariance[c] = (float)((1 - Momentum) * runningVariance[c] + Momentum * Math.Max(0, variance) * unbias);
        }
    }

    /// <summary>1/√(running variance + ε) per column: the inference-mode rstd.</summary>
    public static void RunningRstd(ReadOnlySpan<float> runningVariance, Span<float> rstd)
    {
        for (int c = 0; c < runningVariance.Length; c++)
            rstd[c] = 1f / MathF.Sqrt(runningVariance[c] + Epsilon);
    }

    /// <summary><c>y = γ⊙(x − μ)⊙rstd + β</c> for every row (<paramref name="y"/> may be <paramref name="x"/>).</summary>
    public static void Apply<T>(ReadOnlySpan<float> x, int stride, int rows, int width, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd,
        ReadOnlySpan<float> gain, ReadOnlySpan<float> bias, Span<float> y, int yStride) where T : struct, IBlock<T>
    {
        Check(x.Length, stride, rows, width, "x");
        Check(y.Length, yStride, rows, width, "y");
        CheckColumns(width, mean.Length, rstd.Length);
        CheckColumns(width, gain.Length, bias.Length);
        ref float x0 = ref MemoryMarshal.GetReference(x);
        ref float y0 = ref MemoryMarshal.GetReference(y);
        for (int c = 0; c < width; c += W)
        {
            // y = (x − μ)·(γ·rstd) + β: subtracting first keeps a large rstd (a column of small spread) from
            // magnifying x's rounding, as x·γ·rstd + (β − μ·γ·rstd) would
            T scale = T.Load(in gain[c]) * T.Load(in rstd[c]);
            T mu = T.Load(in mean[c]), beta = T.Load(in bias[c]);
            for (int r = 0; r < rows; r++)
                T.Store(ref Unsafe.Add(ref y0, r * yStride + c), T.MultiplyAdd(T.Load(in Unsafe.Add(ref x0, r * stride + c)) - mu, scale, beta));
        }
    }

    /// <summary>Inference: <c>y = γ⊙(x − running mean)/√(running variance + ε) + β</c> for every row.</summary>
    public static void Infer<T>(ReadOnlySpan<float> x, int stride, int rows, int width, ReadOnlySpan<float> runningMean,
        ReadOnlySpan<float> runningVariance, ReadOnlySpan<float> gain, ReadOnlySpan<float> bias, Span<float> y, int yStride)
        where T : struct, IBlock<T>
    {
        CheckColumns(width, runningMean.Length, runningVariance.Length);
        // the running rstd on the stack (a width of a few thousand floats at most), then the training-mode map
        Span<float> rstd = width <= 4096 ? stackalloc float[width] : new float[width];
        for (int c = 0; c < width; c += W)
            T.Store(ref rstd[c], T.One / T.Sqrt(T.Load(in runningVariance[c]) + T.Create(Epsilon)));
        Apply<T>(x, stride, rows, width, runningMean, rstd, gain, bias, y, yStride);
    }

    /// <summary>One time step of a recurrent batch normalization (Cooijmans et al. 2016): <paramref name="x"/>'s
    /// <paramref name="rows"/> rows (the batch at that step) normalized into <paramref name="normalized"/> (which may be
    /// <paramref name="x"/>) without gain or bias, x̂ = (x − μ)⊙rstd; with the batch's statistics in training (the
    /// step's running statistics move towards them), with the step's running statistics at inference.
    /// <paramref name="rstd"/> receives the rstd used (backward needs it); <paramref name="mean"/> is scratch.</summary>
    public static void NormalizeStep<T>(ReadOnlySpan<float> x, Span<float> normalized, int stride, int rows, int width, bool training,
        Span<float> mean, Span<float> rstd, Span<float> runningMean, Span<float> runningVariance) where T : struct, IBlock<T>
    {
        if (training)
        {
            Statistics<T>(x, stride, rows, width, mean, rstd);
            UpdateRunning(mean.Slice(0, width), rstd.Slice(0, width), rows, runningMean, runningVariance);
        }
        else
        {
            runningMean.Slice(0, width).CopyTo(mean);
            RunningRstd(runningVariance.Slice(0, width), rstd);
        }
        Check(normalized.Length, stride, rows, width, "normalized");
        ref float x0 = ref MemoryMarshal.GetReference(x);
        ref float y0 = ref MemoryMarshal.GetReference(normalized);
        for (int c = 0; c < width; c += W)
        {
            T mu = T.Load(in mean[c]), inverse = T.Load(in rstd[c]);
            for (int r = 0; r < rows; r++)
                T.Store(ref Unsafe.Add(ref y0, r * stride + c), (T.Load(in Unsafe.Add(ref x0, r * stride + c)) - mu) * inverse);
        }
    }

    /// <summary>From ∂y to ∂x (<paramref name="dx"/> may be <paramref name="dy"/>), adding to ∂γ and ∂β; x̂ is recomputed
    /// from <paramref name="x"/>, <paramref name="mean"/> and <paramref name="rstd"/>. With
    /// <paramref name="batchStatistics"/> false the forward used running statistics: the map was affine.</summary>
    public static void Backward<T>(ReadOnlySpan<float> dy, int dyStride, ReadOnlySpan<float> x, int stride, int rows, int width,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, ReadOnlySpan<float> gain, bool batchStatistics,
        Span<float> dx, int dxStride, Span<float> gainGradient, Span<float> biasGradient) where T : struct, IBlock<T> =>
        Backward<T>(dy, dyStride, x, false, stride, rows, width, mean, rstd, gain, batchStatistics, dx, dxStride, gainGradient, biasGradient);

    /// <summary>As <see cref="Backward{T}(ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, int, int, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, bool, Span{float}, int, Span{float}, Span{float})"/>,
    /// given x̂ itself (<paramref name="normalized"/>, as <see cref="NormalizeStep{T}"/> wrote it) instead of x and μ.</summary>
    public static void BackwardNormalized<T>(ReadOnlySpan<float> dy, int dyStride, ReadOnlySpan<float> normalized, int stride, int rows, int width,
        ReadOnlySpan<float> rstd, ReadOnlySpan<float> gain, bool batchStatistics,
        Span<float> dx, int dxStride, Span<float> gainGradient, Span<float> biasGradient) where T : struct, IBlock<T> =>
        Backward<T>(dy, dyStride, normalized, true, stride, rows, width, rstd, rstd, gain, batchStatistics, dx, dxStride, gainGradient, biasGradient);

    private static void Backward<T>(ReadOnlySpan<float> dy, int dyStride, ReadOnlySpan<float> x, bool xIsNormalized, int stride, int rows, int width,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, ReadOnlySpan<float> gain, bool batchStatistics,
        Span<float> dx, int dxStride, Span<float> gainGradient, Span<float> biasGradient) where T : struct, IBlock<T>
    {
        Check(dy.Length, dyStride, rows, width, "dy");
        Check(x.Length, stride, rows, width, "x");
        Check(dx.Length, dxStride, rows, width, "dx");
        CheckColumns(width, mean.Length, rstd.Length);
        CheckColumns(width, gain.Length, gainGradient.Length);
        CheckColumns(width, biasGradient.Length, width);
        ref float dy0 = ref MemoryMarshal.GetReference(dy);
        ref float x0 = ref MemoryMarshal.GetReference(x);
        ref float dx0 = ref MemoryMarshal.GetReference(dx);
        T count = T.Create(rows);
        for (int c = 0; c < width; c += W)
        {
            // x̂ = (x − μ)·rstd, or x itself when it is x̂ already
            T mu = xIsNormalized ? T.Zero : T.Load(in mean[c]), inverse = T.Load(in rstd[c]), toHat = xIsNormalized ? T.One : inverse;
            // Σ∂y and Σ∂y⊙x̂ over the rows
            T sum = T.Zero, sumX = T.Zero;
            for (int r = 0; r < rows; r++)
            {
                T d = T.Load(in Unsafe.Add(ref dy0, r * dyStride + c));
                T xHat = (T.Load(in Unsafe.Add(ref x0, r * stride + c)) - mu) * toHat;
                sum += d;
                sumX = T.MultiplyAdd(d, xHat, sumX);
            }
            T.Store(ref gainGradient[c], T.Load(in gainGradient[c]) + sumX);
            T.Store(ref biasGradient[c], T.Load(in biasGradient[c]) + sum);
            T scale = T.Load(in gain[c]) * inverse;
            if (!batchStatistics)
            {
                for (int r = 0; r < rows; r++)
                    T.Store(ref Unsafe.Add(ref dx0, r * dxStride + c), T.Load(in Unsafe.Add(ref dy0, r * dyStride + c)) * scale);
                continue;
            }
            // ∂x = γ·rstd·(∂y − mean(∂y) − x̂·mean(∂y⊙x̂))
            T meanD = sum / count, meanDx = sumX / count;
            for (int r = 0; r < rows; r++)
            {
                T xHat = (T.Load(in Unsafe.Add(ref x0, r * stride + c)) - mu) * toHat;
                T d = T.Load(in Unsafe.Add(ref dy0, r * dyStride + c));
                T.Store(ref Unsafe.Add(ref dx0, r * dxStride + c), (d - meanD - xHat * meanDx) * scale);
            }
        }
    }

    private static void Check(int length, int stride, int rows, int width, string name)
    {
        long needed = rows <= 0 ? 0 : (long)(rows - 1) * stride + width;
        if (width % W != 0 || stride < width || length < needed)
            throw new ArgumentException(
                $"Batch normalization's '{name}' needs {rows} rows of {width} floats (a multiple of {W}) at stride {stride} ({needed} floats); it has {length}.");
    }

    private static void CheckColumns(int width, int a, int b)
    {
        if (a < width || b < width)
            throw new ArgumentException($"Batch normalization over {width} columns needs {width} floats per statistic; got {a} and {b}.");
    }
}
