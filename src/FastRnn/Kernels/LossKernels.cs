using System.ComponentModel;
using System.Numerics.Tensors;

namespace FastRnn.Kernels;

/// <summary>
/// Head activations and losses over rows of logits (rows of <c>stride</c> floats, the first <c>width</c> real).
/// Each loss returns the mean and writes <c>∂loss/∂logit</c> into <c>dLogits</c>; sums run in double, each row's
/// terms in order and then the rows' sums in order. Targets are dense: <c>width</c> floats per row, or one class id
/// per row; a negative class id (<see cref="Losses.Ignore"/>) marks a padded step.
/// <para>The overloads that take a <see cref="ComputePool"/> split the rows across its threads (every row is
/// independent; each part writes its rows' sums, which the caller adds in row order), so they return the same bits at
/// any thread count.</para>
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class LossKernels
{
    public static void Identity(ReadOnlySpan<float> logits, Span<float> outputs, int stride, int rows, int width) =>
        Identity(null, logits, outputs, stride, rows, width);

    public static void Identity(ComputePool? pool, ReadOnlySpan<float> logits, Span<float> outputs, int stride, int rows, int width) =>
        HeadRows.Run(pool, HeadRows.Kind.Identity, logits, outputs, stride, rows, width, default, default, default);

    public static void Sigmoid(ReadOnlySpan<float> logits, Span<float> outputs, int stride, int rows, int width) =>
        Sigmoid(null, logits, outputs, stride, rows, width);

    public static void Sigmoid(ComputePool? pool, ReadOnlySpan<float> logits, Span<float> outputs, int stride, int rows, int width) =>
        HeadRows.Run(pool, HeadRows.Kind.Sigmoid, logits, outputs, stride, rows, width, default, default, default);

    /// <summary>Row-wise softmax, <c>exp(z − max z) / Σ exp(z − max z)</c>, vectorized.</summary>
    public static void Softmax(ReadOnlySpan<float> logits, Span<float> outputs, int stride, int rows, int width) =>
        Softmax(null, logits, outputs, stride, rows, width);

    /// <inheritdoc cref="Softmax(ReadOnlySpan{float}, Span{float}, int, int, int)"/>
    public static void Softmax(ComputePool? pool, ReadOnlySpan<float> logits, Span<float> outputs, int stride, int rows, int width) =>
        HeadRows.Run(pool, HeadRows.Kind.Softmax, logits, outputs, stride, rows, width, default, default, default);

    /// <summary>Mean of <c>(y − t)²</c> over rows × width; <paramref name="sigmoid"/> says y = σ(logit), so the
    /// gradient carries σ' = y(1 − y).</summary>
    public static float MeanSquaredError(ReadOnlySpan<float> outputs, int stride, int rows, int width,
        ReadOnlySpan<float> targets, Span<float> dLogits, bool sigmoid) =>
        MeanSquaredError(null, outputs, stride, rows, width, targets, dLogits, sigmoid);

    /// <inheritdoc cref="MeanSquaredError(ReadOnlySpan{float}, int, int, int, ReadOnlySpan{float}, Span{float}, bool)"/>
    public static float MeanSquaredError(ComputePool? pool, ReadOnlySpan<float> outputs, int stride, int rows, int width,
        ReadOnlySpan<float> targets, Span<float> dLogits, bool sigmoid)
    {
        CheckTargets(targets.Length, rows * width);
        double sum = HeadRows.Run(pool, sigmoid ? HeadRows.Kind.SquaredErrorOfSigmoid : HeadRows.Kind.SquaredError,
            default, outputs, stride, rows, width, targets, default, dLogits, scale: 2f / (rows * width));
        return (float)(sum / (rows * width));
    }

    /// <summary>Binary cross-entropy from logits z (PyTorch <c>BCEWithLogitsLoss</c>): per element
    /// <c>max(z, 0) − z·t + log(1 + e^−|z|)</c>, gradient <c>σ(z) − t</c>, both over rows × width.</summary>
    public static float BinaryCrossEntropy(ReadOnlySpan<float> logits, ReadOnlySpan<float> outputs, int stride, int rows, int width,
        ReadOnlySpan<float> targets, Span<float> dLogits) =>
        BinaryCrossEntropy(null, logits, outputs, stride, rows, width, targets, dLogits);

    /// <inheritdoc cref="BinaryCrossEntropy(ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, int, ReadOnlySpan{float}, Span{float})"/>
    public static float BinaryCrossEntropy(ComputePool? pool, ReadOnlySpan<float> logits, ReadOnlySpan<float> outputs, int stride, int rows, int width,
        ReadOnlySpan<float> targets, Span<float> dLogits)
    {
        CheckTargets(targets.Length, rows * width);
        double sum = HeadRows.Run(pool, HeadRows.Kind.BinaryCrossEntropy, logits, outputs, stride, rows, width, targets, default, dLogits,
            scale: 1f / (rows * width));
        return (float)(sum / (rows * width));
    }

    /// <summary>Softmax cross-entropy with class ids (PyTorch <c>CrossEntropyLoss</c> on the logits): per row
    /// <c>−log softmax(z)[t]</c>, gradient <c>softmax(z) − onehot(t)</c>, mean over the rows whose target is not ignored
    /// (a negative id, see <see cref="Losses.Ignore"/>; as <c>ignore_index</c>), 0 when every target is. <paramref name="outputs"/>
    /// must hold the softmax of <paramref name="logits"/>; where the target's probability underflows, the row's loss is
    /// computed from the logits as <c>logsumexp(z) − z[t]</c>.</summary>
    public static float SoftmaxCrossEntropy(ReadOnlySpan<float> logits, ReadOnlySpan<float> outputs, int stride, int rows, int width,
        ReadOnlySpan<int> targets, Span<float> dLogits) =>
        SoftmaxCrossEntropy(null, logits, outputs, stride, rows, width, targets, dLogits);

    /// <inheritdoc cref="SoftmaxCrossEntropy(ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, int, ReadOnlySpan{int}, Span{float})"/>
    public static float SoftmaxCrossEntropy(ComputePool? pool, ReadOnlySpan<float> logits, ReadOnlySpan<float> outputs, int stride, int rows, int width,
        ReadOnlySpan<int> targets, Span<float> dLogits)
    {
        CheckTargets(targets.Length, rows);
        // Every target is checked before any gradient is written.
        int counted = 0;
        for (int r = 0; r < rows; r++)
        {
            int target = targets[r];
            if (target >= width)
                throw new ArgumentOutOfRangeException(nameof(targets), target, $"Target {r} is class {target}; classes run from 0 to {width - 1} (a negative id marks a padded step).");
            if (target >= 0)
                counted++;
        }
        // every row ignored: each clears its gradient, and the loss is 0
        double sum = HeadRows.Run(pool, HeadRows.Kind.SoftmaxCrossEntropy, logits, outputs, stride, rows, width, default, targets, dLogits,
            scale: counted == 0 ? 0f : 1f / counted);
        return counted == 0 ? 0f : (float)(sum / counted);
    }

    /// <summary>One row of <see cref="Softmax(ReadOnlySpan{float}, Span{float}, int, int, int)"/>.</summary>
    internal static void SoftmaxRow(ReadOnlySpan<float> z, Span<float> y)
    {
        TensorPrimitives.Subtract(z, TensorPrimitives.Max(z), y);
        TensorPrimitives.Exp(y, y);
        TensorPrimitives.Multiply(y, 1f / TensorPrimitives.Sum(y), y);
    }

    /// <summary>Σ (y − t)² over one row, writing the row's ∂loss/∂logit (<paramref name="scale"/> = 2 / elements).</summary>
    internal static double SquaredErrorRow(ReadOnlySpan<float> y, ReadOnlySpan<float> t, Span<float> d, float scale, bool sigmoid)
    {
        double sum = 0;
        for (int j = 0; j < y.Length; j++)
        {
            float difference = y[j] - t[j];
            sum += (double)difference * difference;
            float g = scale * difference;
            d[j] = sigmoid ? g * y[j] * (1 - y[j]) : g;
        }
        return sum;
    }

    /// <summary>Σ of one row's binary cross-entropy terms, writing its ∂loss/∂logit (<paramref name="scale"/> = 1 / elements).</summary>
    internal static double BinaryCrossEntropyRow(ReadOnlySpan<float> z, ReadOnlySpan<float> y, ReadOnlySpan<float> t, Span<float> d, float scale)
    {
        double sum = 0;
        for (int j = 0; j < z.Length; j++)
        {
            double logit = z[j];
            sum += Math.Max(logit, 0) - logit * t[j] + Math.Log(1 + Math.Exp(-Math.Abs(logit)));
            d[j] = scale * (y[j] - t[j]);
        }
        return sum;
    }

    /// <summary>One row's −log softmax(z)[t] (0 for an ignored row), writing its ∂loss/∂logit (<paramref name="scale"/> = 1 / counted rows).</summary>
    internal static double SoftmaxCrossEntropyRow(ReadOnlySpan<float> z, ReadOnlySpan<float> y, int target, Span<float> d, float scale)
    {
        if (target < 0)
        {
            d.Clear();
            return 0;
        }
        float probability = y[target];
        double loss = probability > 1e-30f ? -Math.Log(probability) : LogSumExp(z) - z[target];
        TensorPrimitives.Multiply(y, scale, d);
        d[target] -= scale;
        return loss;
    }

    private static double LogSumExp(ReadOnlySpan<float> z)
    {
        double max = double.NegativeInfinity;
        foreach (float v in z) max = Math.Max(max, v);
        double total = 0;
        foreach (float v in z) total += Math.Exp(v - max);
        return max + Math.Log(total);
    }

    private static void CheckTargets(int actual, int expected)
    {
        if (actual != expected)
            throw new ArgumentException($"Expected {expected} target values; got {actual}.");
    }
}
