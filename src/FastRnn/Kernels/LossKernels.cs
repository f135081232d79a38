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

    /// <summary>The head's activations, for <see cref="OutputGradient"/>.</summary>
    public enum Activation { Identity, Sigmoid, Softmax }

    /// <summary>∂L/∂logits from a caller's ∂L/∂outputs (<paramref name="outputGradient"/>, rows × width, dense) through
    /// the activation whose outputs are in <paramref name="outputs"/>: identity <c>g</c>; sigmoid <c>g⊙y(1 − y)</c>;
    /// softmax <c>y⊙(g − Σ_j g_j·y_j)</c> per row. <paramref name="dLogits"/> has rows of <paramref name="stride"/>.</summary>
    public static void OutputGradient(Activation activation, ReadOnlySpan<float> outputs, int stride, int rows, int width,
        ReadOnlySpan<float> outputGradient, Span<float> dLogits)
    {
        CheckTargets(outputGradient.Length, rows * width);
        for (int r = 0; r < rows; r++)
        {
            var y = outputs.Slice(r * stride, width);
            var g = outputGradient.Slice(r * width, width);
            var d = dLogits.Slice(r * stride, width);
            switch (activation)
            {
                case Activation.Identity:
                    g.CopyTo(d);
                    break;
                case Activation.Sigmoid:
                    for (int j = 0; j < width; j++)
                        d[j] = g[j] * y[j] * (1 - y[j]);
                    break;
                default:
                    double dot = 0;
                    for (int j = 0; j < width; j++)
                        dot += (double)g[j] * y[j];
                    for (int j = 0; j < width; j++)
                        d[j] = (float)(y[j] * (g[j] - dot));
                    break;
            }
        }
    }

    /// <summary>Zeroes the rows of <paramref name="d"/> (rows of <paramref name="stride"/>) that are padded steps.</summary>
    public static void ClearPaddedRows(Span<float> d, int stride, int rows, RealRows real)
    {
        for (int r = 0; r < rows; r++)
            if (!real.IsReal(r))
                d.Slice(r * stride, stride).Clear();
    }

    /// <summary>Mean of <c>(y − t)²</c> over rows × width; <paramref name="sigmoid"/> says y = σ(logit), so the
    /// gradient carries σ' = y(1 − y).</summary>
    public static float MeanSquaredError(ReadOnlySpan<float> outputs, int stride, int rows, int width,
        ReadOnlySpan<float> targets, Span<float> dLogits, bool sigmoid) =>
        MeanSquaredError(null, outputs, stride, rows, width, targets, dLogits, sigmoid);

    /// <inheritdoc cref="MeanSquaredError(ReadOnlySpan{float}, int, int, int, ReadOnlySpan{float}, Span{float}, bool)"/>
    public static float MeanSquaredError(ComputePool? pool, ReadOnlySpan<float> outputs, int stride, int rows, int width,
        ReadOnlySpan<float> targets, Span<float> dLogits, bool sigmoid) =>
        MeanSquaredError(pool, outputs, stride, rows, width, targets, dLogits, sigmoid, default);

    /// <summary><see cref="MeanSquaredError(ComputePool, ReadOnlySpan{float}, int, int, int, ReadOnlySpan{float}, Span{float}, bool)"/>
    /// over the real rows only (<paramref name="real"/>: the padded steps of rows of different lengths count in neither
    /// the mean nor any gradient).</summary>
    public static float MeanSquaredError(ComputePool? pool, ReadOnlySpan<float> outputs, int stride, int rows, int width,
        ReadOnlySpan<float> targets, Span<float> dLogits, bool sigmoid, RealRows real)
    {
        CheckTargets(targets.Length, rows * width);
        long elements = (long)real.Count(rows) * width;
        double sum = HeadRows.Run(pool, sigmoid ? HeadRows.Kind.SquaredErrorOfSigmoid : HeadRows.Kind.SquaredError,
            default, outputs, stride, rows, width, targets, default, dLogits, scale: 2f / elements, real: real);
        return (float)(sum / elements);
    }

    /// <summary>Binary cross-entropy from logits z (PyTorch <c>BCEWithLogitsLoss</c>): per element
    /// <c>max(z, 0) − z·t + log(1 + e^−|z|)</c>, gradient <c>σ(z) − t</c>, both over rows × width.</summary>
    public static float BinaryCrossEntropy(ReadOnlySpan<float> logits, ReadOnlySpan<float> outputs, int stride, int rows, int width,
        ReadOnlySpan<float> targets, Span<float> dLogits) =>
        BinaryCrossEntropy(null, logits, outputs, stride, rows, width, targets, dLogits);

    /// <inheritdoc cref="BinaryCrossEntropy(ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, int, ReadOnlySpan{float}, Span{float})"/>
    public static float BinaryCrossEntropy(ComputePool? pool, ReadOnlySpan<float> logits, ReadOnlySpan<float> outputs, int stride, int rows, int width,
        ReadOnlySpan<float> targets, Span<float> dLogits) =>
        BinaryCrossEntropy(pool, logits, outputs, stride, rows, width, targets, dLogits, default, default);

    /// <summary>Binary cross-entropy from logits with a weight on each output's positive term (PyTorch
    /// <c>BCEWithLogitsLoss(pos_weight=)</c>): per element <c>−[p·t·log σ(z) + (1 − t)·log(1 − σ(z))]</c>, computed as
    /// <c>(1 − t)·z + (1 + (p − 1)·t)·(log(1 + e^−|z|) + max(−z, 0))</c>, gradient <c>(1 + (p − 1)·t)·σ(z) − p·t</c>; mean
    /// over rows × width (the real rows only, given <paramref name="real"/>). Empty <paramref name="positiveWeights"/>:
    /// unweighted (the plain kernel, bit for bit).</summary>
    public static float BinaryCrossEntropy(ComputePool? pool, ReadOnlySpan<float> logits, ReadOnlySpan<float> outputs, int stride, int rows, int width,
        ReadOnlySpan<float> targets, Span<float> dLogits, ReadOnlySpan<float> positiveWeights, RealRows real = default)
    {
        CheckTargets(targets.Length, rows * width);
        if (!positiveWeights.IsEmpty && positiveWeights.Length != width)
            throw new ArgumentException($"pos_weight has {positiveWeights.Length} weights; the head has {width} outputs.", nameof(positiveWeights));
        long elements = (long)real.Count(rows) * width;
        double sum = HeadRows.Run(pool, HeadRows.Kind.BinaryCrossEntropy, logits, outputs, stride, rows, width, targets, default, dLogits,
            scale: 1f / elements, weights: positiveWeights, real: real);
        return (float)(sum / elements);
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
        ReadOnlySpan<int> targets, Span<float> dLogits) =>
        SoftmaxCrossEntropy(pool, logits, outputs, stride, rows, width, targets, dLogits, default, default);

    /// <summary>Softmax cross-entropy with a weight per class (PyTorch <c>CrossEntropyLoss(weight=)</c>): row r counts
    /// <c>w[t_r]</c> times, and the mean is over the weights of the rows not ignored, <c>Σ w[t_r]·(−log softmax(z_r)[t_r]) /
    /// Σ w[t_r]</c> (0, with zero gradients, when that sum is 0). Empty <paramref name="classWeights"/>: unweighted (the
    /// plain kernel, bit for bit). With <paramref name="real"/>, a padded step counts as an ignored target.</summary>
    public static float SoftmaxCrossEntropy(ComputePool? pool, ReadOnlySpan<float> logits, ReadOnlySpan<float> outputs, int stride, int rows, int width,
        ReadOnlySpan<int> targets, Span<float> dLogits, ReadOnlySpan<float> classWeights, RealRows real = default)
    {
        CheckTargets(targets.Length, rows);
        if (!classWeights.IsEmpty && classWeights.Length != width)
            throw new ArgumentException($"The class weights are {classWeights.Length}; the head has {width} classes.", nameof(classWeights));
        // Every target is checked before any gradient is written.
        double counted = 0;
        for (int r = 0; r < rows; r++)
        {
            int target = targets[r];
            if (target >= width)
                throw new ArgumentOutOfRangeException(nameof(targets), target, $"Target {r} is class {target}; classes run from 0 to {width - 1} (a negative id marks a padded step).");
            if (target >= 0 && real.IsReal(r))
                counted += classWeights.IsEmpty ? 1 : classWeights[target];
        }
        // every row ignored (or weighing 0): each clears its gradient, and the loss is 0
        double sum = HeadRows.Run(pool, HeadRows.Kind.SoftmaxCrossEntropy, logits, outputs, stride, rows, width, default, targets, dLogits,
            scale: counted == 0 ? 0f : classWeights.IsEmpty ? 1f / (float)counted : (float)(1 / counted), weights: classWeights, real: real);
        return counted == 0 ? 0f : (float)(sum / counted);
    }

    /// <summary>Checks weights for a loss (finite, not negative) and returns a copy, or null for none: what a model's
    /// <c>ClassWeights</c> or <c>PositiveWeights</c> setter keeps.</summary>
    public static float[]? CheckWeights(float[]? weights, int count, string name)
    {
        if (weights is null)
            return null;
        if (weights.Length != count)
            throw new ArgumentException($"{name} needs {count} weights (one per {(name == "ClassWeights" ? "class" : "output")}); got {weights.Length}.", name);
        for (int i = 0; i < weights.Length; i++)
            if (!float.IsFinite(weights[i]) || weights[i] < 0)
                throw new ArgumentOutOfRangeException(name, weights[i], $"{name}[{i}] is {weights[i]}; weights must be finite and not negative.");
        return (float[])weights.Clone();
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

    /// <summary>Σ of one row's binary cross-entropy terms, writing its ∂loss/∂logit (<paramref name="scale"/> = 1 / elements);
    /// with <paramref name="positive"/> (one weight per output, or empty) the positive terms are weighted.</summary>
    internal static double BinaryCrossEntropyRow(ReadOnlySpan<float> z, ReadOnlySpan<float> y, ReadOnlySpan<float> t, Span<float> d, float scale,
        ReadOnlySpan<float> positive)
    {
        double sum = 0;
        if (positive.IsEmpty)
        {
            for (int j = 0; j < z.Length; j++)
            {
                double logit = z[j];
                sum += Math.Max(logit, 0) - logit * t[j] + Math.Log(1 + Math.Exp(-Math.Abs(logit)));
                d[j] = scale * (y[j] - t[j]);
            }
            return sum;
        }
        for (int j = 0; j < z.Length; j++)
        {
            double logit = z[j], target = t[j], weight = 1 + (positive[j] - 1) * target;
            sum += (1 - target) * logit + weight * (Math.Log(1 + Math.Exp(-Math.Abs(logit))) + Math.Max(-logit, 0));
            d[j] = scale * (float)(weight * y[j] - positive[j] * target);
        }
        return sum;
    }

    /// <summary>One row's −log softmax(z)[t] (0 for an ignored row), writing its ∂loss/∂logit (<paramref name="scale"/> = 1 / counted
    /// rows); with <paramref name="weights"/> (one per class, or empty) the row's loss and gradient count w[t] times.</summary>
    internal static double SoftmaxCrossEntropyRow(ReadOnlySpan<float> z, ReadOnlySpan<float> y, int target, Span<float> d, float scale,
        ReadOnlySpan<float> weights)
    {
        if (target < 0)
        {
            d.Clear();
            return 0;
        }
        float probability = y[target];
        double loss = probability > 1e-30f ? -Math.Log(probability) : LogSumExp(z) - z[target];
        if (!weights.IsEmpty)
        {
            scale *= weights[target];
            loss *= weights[target];
        }
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
