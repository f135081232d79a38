using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastRnn.Kernels;

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
[EditorBrowsable(EditorBrowsableState.Never)]
public static class BatchNorm
{
    /// <summary>ε under the square root (PyTorch's <c>BatchNorm1d</c> default).</summary>
    public const float Epsilon = 1e-5f;

    /// <summary>The running statistics' momentum (PyTorch's default): running = (1 − m)·running + m·batch.</summary>
    public const float Momentum = 0.1f;

    private const int W = Block.Width;

    // Every kernel walks the rows in order and a row's columns contiguously, keeping per-column sums in the
    // statistic spans: a column-first walk would touch one cache line per row (rows are kilobytes apart) and was
    // measured 20% slower on the character model's training iteration with recurrent batch norm.

    /// <summary>The batch's per-column mean and 1/√(σ² + ε) of <paramref name="rows"/> rows of
    /// <paramref name="width"/> floats (the real ones only, given <paramref name="real"/>: rows of sequences of different
    /// lengths, the padded steps left out, as over PyTorch's packed data).</summary>
    public static void Statistics<T>(ReadOnlySpan<float> x, int stride, int rows, int width, Span<float> mean, Span<float> rstd,
        RealRows real = default)
        where T : struct, IBlock<T>
    {
        Check(x.Length, stride, rows, width, "x");
        CheckColumns(width, mean.Length, rstd.Length);
        if (rows < 1)
            throw new ArgumentOutOfRangeException(nameof(rows), rows, "Batch statistics need at least one row.");
        ref float x0 = ref MemoryMarshal.GetReference(x);
        ref float m0 = ref MemoryMarshal.GetReference(mean);
        ref float s0 = ref MemoryMarshal.GetReference(rstd);
        mean.Slice(0, width).Clear();
        for (int r = 0; r < rows; r++)
        {
            if (!real.IsReal(r))
                continue;
            ref float row = ref Unsafe.Add(ref x0, r * stride);
            for (int c = 0; c < width; c += W)
                T.Store(ref Unsafe.Add(ref m0, c), T.Load(in Unsafe.Add(ref m0, c)) + T.Load(in Unsafe.Add(ref row, c)));
        }
        T inverseCount = T.Create(1f / real.Count(rows));
        for (int c = 0; c < width; c += W)
            T.Store(ref Unsafe.Add(ref m0, c), T.Load(in Unsafe.Add(ref m0, c)) * inverseCount);
        // σ² = Σ(x − μ)²/N, a second pass (no cancellation between E[x²] and μ²)
        rstd.Slice(0, width).Clear();
        for (int r = 0; r < rows; r++)
        {
            if (!real.IsReal(r))
                continue;
            ref float row = ref Unsafe.Add(ref x0, r * stride);
            for (int c = 0; c < width; c += W)
            {
                T d = T.Load(in Unsafe.Add(ref row, c)) - T.Load(in Unsafe.Add(ref m0, c));
                T.Store(ref Unsafe.Add(ref s0, c), T.MultiplyAdd(d, d, T.Load(in Unsafe.Add(ref s0, c))));
            }
        }
        T epsilon = T.Create(Epsilon);
        for (int c = 0; c < width; c += W)
            T.Store(ref Unsafe.Add(ref s0, c), T.One / T.Sqrt(T.Load(in Unsafe.Add(ref s0, c)) * inverseCount + epsilon));
    }

    /// <summary>running = (1 − m)·running + m·batch for the mean and for the unbiased variance σ²·N/(N − 1), σ² taken
    /// back from <paramref name="rstd"/> (with N = 1 the batch variance is used as is). Widths are multiples of 16.</summary>
    public static void UpdateRunning<T>(ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, int rows, Span<float> runningMean, Span<float> runningVariance)
        where T : struct, IBlock<T>
    {
        int width = mean.Length;
        if (runningMean.Length < width || runningVariance.Length < width || rstd.Length < width || width % W != 0)
            throw new ArgumentException($"Running statistics need {width} columns (a multiple of {W}); they have {runningMean.Length} and {runningVariance.Length}.");
        T keep = T.Create(1 - Momentum), take = T.Create(Momentum), epsilon = T.Create(Epsilon);
        T unbias = T.Create(rows > 1 ? rows / (float)(rows - 1) : 1f);
        for (int c = 0; c < width; c += W)
        {
            T inverse = T.Load(in rstd[c]);
            T variance = T.Max(T.One / (inverse * inverse) - epsilon, T.Zero) * unbias;
            T.Store(ref runningMean[c], T.MultiplyAdd(T.Load(in runningMean[c]), keep, T.Load(in mean[c]) * take));
            T.Store(ref runningVariance[c], T.MultiplyAdd(T.Load(in runningVariance[c]), keep, variance * take));
        }
    }

    /// <summary>1/√(running variance + ε) per column: the inference-mode rstd.</summary>
    public static void RunningRstd<T>(ReadOnlySpan<float> runningVariance, Span<float> rstd) where T : struct, IBlock<T>
    {
        CheckColumns(runningVariance.Length, rstd.Length, runningVariance.Length);
        for (int c = 0; c < runningVariance.Length; c += W)
            T.Store(ref rstd[c], T.One / T.Sqrt(T.Load(in runningVariance[c]) + T.Create(Epsilon)));
    }

    /// <summary><c>y = γ⊙(x − μ)⊙rstd + β</c> for every row (<paramref name="y"/> may be <paramref name="x"/>).</summary>
    public static void Apply<T>(ReadOnlySpan<float> x, int stride, int rows, int width, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd,
        ReadOnlySpan<float> gain, ReadOnlySpan<float> bias, Span<float> y, int yStride) where T : struct, IBlock<T>
    {
        CheckColumns(width, gain.Length, bias.Length);
        Normalize<T>(x, stride, rows, width, mean, rstd, gain, bias, true, y, yStride);
    }

    /// <summary><c>(x − μ)⊙rstd</c>, times γ plus β when <paramref name="affine"/>.</summary>
    private static void Normalize<T>(ReadOnlySpan<float> x, int stride, int rows, int width, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd,
        ReadOnlySpan<float> gain, ReadOnlySpan<float> bias, bool affine, Span<float> y, int yStride) where T : struct, IBlock<T>
    {
        Check(x.Length, stride, rows, width, "x");
        Check(y.Length, yStride, rows, width, "y");
        CheckColumns(width, mean.Length, rstd.Length);
        ref float x0 = ref MemoryMarshal.GetReference(x);
        ref float y0 = ref MemoryMarshal.GetReference(y);
        ref float m0 = ref MemoryMarshal.GetReference(mean);
        ref float s0 = ref MemoryMarshal.GetReference(rstd);
        ref float g0 = ref MemoryMarshal.GetReference(gain);
        ref float b0 = ref MemoryMarshal.GetReference(bias);
        for (int r = 0; r < rows; r++)
        {
            ref float xr = ref Unsafe.Add(ref x0, r * stride);
            ref float yr = ref Unsafe.Add(ref y0, r * yStride);
            // y = (x − μ)·(γ·rstd) + β: subtracting first keeps a large rstd (a column of small spread) from
            // magnifying x's rounding, as x·γ·rstd + (β − μ·γ·rstd) would
            for (int c = 0; c < width; c += W)
            {
                T centered = T.Load(in Unsafe.Add(ref xr, c)) - T.Load(in Unsafe.Add(ref m0, c));
                T scale = T.Load(in Unsafe.Add(ref s0, c));
                T value = affine
                    ? T.MultiplyAdd(centered, T.Load(in Unsafe.Add(ref g0, c)) * scale, T.Load(in Unsafe.Add(ref b0, c)))
                    : centered * scale;
                T.Store(ref Unsafe.Add(ref yr, c), value);
            }
        }
    }

    /// <summary>Inference: <c>y = γ⊙(x − running mean)/√(running variance + ε) + β</c> for every row, the running rstd
    /// kept in <paramref name="rstd"/> (scratch of <paramref name="width"/> floats).</summary>
    public static void Infer<T>(ReadOnlySpan<float> x, int stride, int rows, int width, ReadOnlySpan<float> runningMean,
        ReadOnlySpan<float> runningVariance, ReadOnlySpan<float> gain, ReadOnlySpan<float> bias, Span<float> rstd, Span<float> y, int yStride)
        where T : struct, IBlock<T>
    {
        CheckColumns(width, runningMean.Length, runningVariance.Length);
        RunningRstd<T>(runningVariance.Slice(0, width), rstd);
        Apply<T>(x, stride, rows, width, runningMean, rstd, gain, bias, y, yStride);
    }

    /// <summary>Normalizes <paramref name="x"/>'s <paramref name="rows"/> rows into <paramref name="y"/> (which may be
    /// <paramref name="x"/>): with the batch's statistics in <paramref name="training"/> (the running statistics move
    /// towards them), with the running statistics otherwise; then γ and β when <paramref name="gain"/> is given (else
    /// y = x̂). <paramref name="mean"/> and <paramref name="rstd"/> receive the statistics used (backward needs them).</summary>
    public static void Forward<T>(ReadOnlySpan<float> x, Span<float> y, int stride, int rows, int width, bool training,
        Span<float> mean, Span<float> rstd, Span<float> runningMean, Span<float> runningVariance,
        ReadOnlySpan<float> gain = default, ReadOnlySpan<float> bias = default, RealRows real = default) where T : struct, IBlock<T>
    {
        if (training)
        {
            Statistics<T>(x, stride, rows, width, mean, rstd, real);
            UpdateRunning<T>(mean.Slice(0, width), rstd.Slice(0, width), real.Count(rows), runningMean, runningVariance);
        }
        else
        {
            runningMean.Slice(0, width).CopyTo(mean);
            RunningRstd<T>(runningVariance.Slice(0, width), rstd);
        }
        bool affine = !gain.IsEmpty;
        if (affine)
            CheckColumns(width, gain.Length, bias.Length);
        Normalize<T>(x, stride, rows, width, mean, rstd, gain, bias, affine, y, stride);
    }

    /// <summary>One time step of a recurrent batch normalization (Cooijmans et al. 2016): the batch at that step
    /// normalized without gain or bias, x̂ = (x − μ)⊙rstd, by <see cref="Forward{T}"/>; <paramref name="mean"/> is
    /// scratch, <paramref name="rstd"/> keeps the rstd used.</summary>
    public static void NormalizeStep<T>(ReadOnlySpan<float> x, Span<float> normalized, int stride, int rows, int width, bool training,
        Span<float> mean, Span<float> rstd, Span<float> runningMean, Span<float> runningVariance) where T : struct, IBlock<T> =>
        Forward<T>(x, normalized, stride, rows, width, training, mean, rstd, runningMean, runningVariance);

    /// <summary>From ∂y to ∂x (<paramref name="dx"/> may be <paramref name="dy"/>), adding to ∂γ and ∂β; x̂ is recomputed
    /// from <paramref name="x"/>, <paramref name="mean"/> and <paramref name="rstd"/>. With
    /// <paramref name="batchStatistics"/> false the forward used running statistics: the map was affine.
    /// <paramref name="scratch"/> holds 2·<paramref name="width"/> floats.</summary>
    public static void Backward<T>(ReadOnlySpan<float> dy, int dyStride, ReadOnlySpan<float> x, int stride, int rows, int width,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, ReadOnlySpan<float> gain, bool batchStatistics,
        Span<float> dx, int dxStride, Span<float> gainGradient, Span<float> biasGradient, Span<float> scratch, RealRows real = default) where T : struct, IBlock<T> =>
        Backward<T>(dy, dyStride, x, false, stride, rows, width, mean, rstd, gain, batchStatistics, dx, dxStride, gainGradient, biasGradient, scratch, real);

    /// <summary>As <see cref="Backward{T}(ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, int, int, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, bool, Span{float}, int, Span{float}, Span{float}, Span{float}, RealRows)"/>,
    /// given x̂ itself (<paramref name="normalized"/>, as <see cref="NormalizeStep{T}"/> wrote it) instead of x and μ.</summary>
    public static void BackwardNormalized<T>(ReadOnlySpan<float> dy, int dyStride, ReadOnlySpan<float> normalized, int stride, int rows, int width,
        ReadOnlySpan<float> rstd, ReadOnlySpan<float> gain, bool batchStatistics,
        Span<float> dx, int dxStride, Span<float> gainGradient, Span<float> biasGradient, Span<float> scratch) where T : struct, IBlock<T> =>
        Backward<T>(dy, dyStride, normalized, true, stride, rows, width, rstd, rstd, gain, batchStatistics, dx, dxStride, gainGradient, biasGradient, scratch, default);

    private static void Backward<T>(ReadOnlySpan<float> dy, int dyStride, ReadOnlySpan<float> x, bool xIsNormalized, int stride, int rows, int width,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, ReadOnlySpan<float> gain, bool batchStatistics,
        Span<float> dx, int dxStride, Span<float> gainGradient, Span<float> biasGradient, Span<float> scratch, RealRows real) where T : struct, IBlock<T>
    {
        Check(dy.Length, dyStride, rows, width, "dy");
        Check(x.Length, stride, rows, width, "x");
        Check(dx.Length, dxStride, rows, width, "dx");
        CheckColumns(width, mean.Length, rstd.Length);
        CheckColumns(width, gain.Length, gainGradient.Length);
        CheckColumns(2 * width, scratch.Length, 2 * width);
        CheckColumns(width, biasGradient.Length, width);
        ref float dy0 = ref MemoryMarshal.GetReference(dy);
        ref float x0 = ref MemoryMarshal.GetReference(x);
        ref float dx0 = ref MemoryMarshal.GetReference(dx);
        ref float m0 = ref MemoryMarshal.GetReference(mean);
        ref float s0 = ref MemoryMarshal.GetReference(rstd);
        ref float g0 = ref MemoryMarshal.GetReference(gain);
        // Σ∂y and Σ∂y⊙x̂ per column, in the scratch; x̂ = (x − μ)·rstd, or x itself when it is x̂ already
        Span<float> sums = scratch.Slice(0, width), sumsX = scratch.Slice(width, width);
        sums.Clear();
        sumsX.Clear();
        ref float sum0 = ref MemoryMarshal.GetReference(sums);
        ref float sumX0 = ref MemoryMarshal.GetReference(sumsX);
        for (int r = 0; r < rows; r++)
        {
            if (!real.IsReal(r))
                continue;
            ref float dr = ref Unsafe.Add(ref dy0, r * dyStride);
            ref float xr = ref Unsafe.Add(ref x0, r * stride);
            for (int c = 0; c < width; c += W)
            {
                T d = T.Load(in Unsafe.Add(ref dr, c));
                T xHat = XHat<T>(ref xr, ref m0, ref s0, c, xIsNormalized);
                T.Store(ref Unsafe.Add(ref sum0, c), T.Load(in Unsafe.Add(ref sum0, c)) + d);
                T.Store(ref Unsafe.Add(ref sumX0, c), T.MultiplyAdd(d, xHat, T.Load(in Unsafe.Add(ref sumX0, c))));
            }
        }
        for (int c = 0; c < width; c += W)
        {
            T.Store(ref gainGradient[c], T.Load(in gainGradient[c]) + T.Load(in Unsafe.Add(ref sumX0, c)));
            T.Store(ref biasGradient[c], T.Load(in biasGradient[c]) + T.Load(in Unsafe.Add(ref sum0, c)));
        }
        if (!batchStatistics)
        {
            // running statistics: y = γ·rstd·(x − μ) + β, a fixed affine map:  ∂x = γ·rstd·∂y
            for (int r = 0; r < rows; r++)
            {
                ref float dr = ref Unsafe.Add(ref dy0, r * dyStride);
                ref float outRow = ref Unsafe.Add(ref dx0, r * dxStride);
                if (!real.IsReal(r))
                {
                    MemoryMarshal.CreateSpan(ref outRow, width).Clear();
                    continue;
                }
                for (int c = 0; c < width; c += W)
                    T.Store(ref Unsafe.Add(ref outRow, c), T.Load(in Unsafe.Add(ref dr, c)) * T.Load(in Unsafe.Add(ref g0, c)) * T.Load(in Unsafe.Add(ref s0, c)));
            }
            return;
        }
        // ∂x = γ·rstd·(∂y − mean(∂y) − x̂·mean(∂y⊙x̂)) over the real rows; a padded row gets none
        T inverseCount = T.Create(1f / real.Count(rows));
        for (int c = 0; c < width; c += W)
        {
            T.Store(ref Unsafe.Add(ref sum0, c), T.Load(in Unsafe.Add(ref sum0, c)) * inverseCount);
            T.Store(ref Unsafe.Add(ref sumX0, c), T.Load(in Unsafe.Add(ref sumX0, c)) * inverseCount);
        }
        for (int r = 0; r < rows; r++)
        {
            ref float outRow = ref Unsafe.Add(ref dx0, r * dxStride);
            if (!real.IsReal(r))
            {
                MemoryMarshal.CreateSpan(ref outRow, width).Clear();
                continue;
            }
            ref float dr = ref Unsafe.Add(ref dy0, r * dyStride);
            ref float xr = ref Unsafe.Add(ref x0, r * stride);
            for (int c = 0; c < width; c += W)
            {
                T xHat = XHat<T>(ref xr, ref m0, ref s0, c, xIsNormalized);
                T d = T.Load(in Unsafe.Add(ref dr, c)) - T.Load(in Unsafe.Add(ref sum0, c)) - xHat * T.Load(in Unsafe.Add(ref sumX0, c));
                T.Store(ref Unsafe.Add(ref outRow, c), d * T.Load(in Unsafe.Add(ref g0, c)) * T.Load(in Unsafe.Add(ref s0, c)));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T XHat<T>(ref float row, ref float mean, ref float rstd, int c, bool isNormalized) where T : struct, IBlock<T> =>
        isNormalized
            ? T.Load(in Unsafe.Add(ref row, c))
            : (T.Load(in Unsafe.Add(ref row, c)) - T.Load(in Unsafe.Add(ref mean, c))) * T.Load(in Unsafe.Add(ref rstd, c));

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
