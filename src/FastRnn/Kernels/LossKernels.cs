using System.ComponentModel;
using System.Numerics.Tensors;

namespace FastRnn.Kernels;

/// <summary>
/// Head activations and losses over rows of logits (rows of <c>stride</c> floats, the first <c>width</c> real).
/// Each loss returns the mean and writes <c>∂loss/∂logit</c> into <c>dLogits</c>; sums run in double.
/// Targets are dense: <c>width</c> floats per row, or one class id per row; a negative class id
/// (<see cref="Losses.Ignore"/>) marks a padded step.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class LossKernels
{
    public static void Identity(ReadOnlySpan<float> logits, Span<float> outputs, int stride, int rows, int width)
    {
        for (int r = 0; r < rows; r++)
            logits.Slice(r * stride, width).CopyTo(outputs.Slice(r * stride, width));
    }

    public static void Sigmoid(ReadOnlySpan<float> logits, Span<float> outputs, int stride, int rows, int width)
    {
        for (int r = 0; r < rows; r++)
            TensorPrimitives.Sigmoid(logits.Slice(r * stride, width), outputs.Slice(r * stride, width));
    }

    /// <summary>Row-wise softmax, <c>exp(z − max z) / Σ exp(z − max z)</c>, vectorized.</summary>
    public static void Softmax(ReadOnlySpan<float> logits, Span<float> outputs, int stride, int rows, int width)
    {
        for (int r = 0; r < rows; r++)
        {
            var z = logits.Slice(r * stride, width);
            var y = outputs.Slice(r * stride, width);
            TensorPrimitives.Subtract(z, TensorPrimitives.Max(z), y);
            TensorPrimitives.Exp(y, y);
            TensorPrimitives.Multiply(y, 1f / TensorPrimitives.Sum(y), y);
        }
    }

    /// <summary>Mean of <c>(y − t)²</c> over rows × width; <paramref name="sigmoid"/> says y = σ(logit), so the
    /// gradient carries σ' = y(1 − y).</summary>
    public static float MeanSquaredError(ReadOnlySpan<float> outputs, int stride, int rows, int width,
        ReadOnlySpan<float> targets, Span<float> dLogits, bool sigmoid)
    {
        CheckTargets(targets.Length, rows * width);
        double sum = 0;
        float scale = 2f / (rows * width);
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < width; j++)
            {
                float y = outputs[r * stride + j];
                float difference = y - targets[r * width + j];
                sum += (double)difference * difference;
                float d = scale * difference;
                dLogits[r * stride + j] = sigmoid ? d * y * (1 - y) : d;
            }
        return (float)(sum / (rows * width));
    }

    /// <summary>Binary cross-entropy from logits z (PyTorch <c>BCEWithLogitsLoss</c>): per element
    /// <c>max(z, 0) − z·t + log(1 + e^−|z|)</c>, gradient <c>σ(z) − t</c>, both over rows × width.</summary>
    public static float BinaryCrossEntropy(ReadOnlySpan<float> logits, ReadOnlySpan<float> outputs, int stride, int rows, int width,
        ReadOnlySpan<float> targets, Span<float> dLogits)
    {
        CheckTargets(targets.Length, rows * width);
        double sum = 0;
        float scale = 1f / (rows * width);
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < width; j++)
            {
                double z = logits[r * stride + j];
                float t = targets[r * width + j];
                sum += Math.Max(z, 0) - z * t + Math.Log(1 + Math.Exp(-Math.Abs(z)));
                dLogits[r * stride + j] = scale * (outputs[r * stride + j] - t);
            }
        return (float)(sum / (rows * width));
    }

    /// <summary>Softmax cross-entropy with class ids (PyTorch <c>CrossEntropyLoss</c> on the logits): per row
    /// <c>−log softmax(z)[t]</c>, gradient <c>softmax(z) − onehot(t)</c>, mean over the rows whose target is not ignored
    /// (a negative id, see <see cref="Losses.Ignore"/>; as <c>ignore_index</c>), 0 when every target is. <paramref name="outputs"/>
    /// must hold the softmax of <paramref name="logits"/>; where the target's probability underflows, the row's loss is
    /// computed from the logits as <c>logsumexp(z) − z[t]</c>.</summary>
    public static float SoftmaxCrossEntropy(ReadOnlySpan<float> logits, ReadOnlySpan<float> outputs, int stride, int rows, int width,
        ReadOnlySpan<int> targets, Span<float> dLogits)
    {
        CheckTargets(targets.Length, rows);
        int counted = 0;
        for (int r = 0; r < rows; r++)
        {
            int target = targets[r];
            if (target >= width)
                throw new ArgumentOutOfRangeException(nameof(targets), target, $"Target {r} is class {target}; classes run from 0 to {width - 1} (a negative id marks a padded step).");
            if (target >= 0)
                counted++;
        }
        double sum = 0;
        float scale = counted == 0 ? 0f : 1f / counted;
        for (int r = 0; r < rows; r++)
        {
            int target = targets[r];
            if (target < 0)
            {
                dLogits.Slice(r * stride, width).Clear();
                continue;
            }
            var y = outputs.Slice(r * stride, width);
            float probability = y[target];
            sum += probability > 1e-30f ? -Math.Log(probability) : LogSumExp(logits.Slice(r * stride, width)) - logits[r * stride + target];
            TensorPrimitives.Multiply(y, scale, dLogits.Slice(r * stride, width));
            dLogits[r * stride + target] -= scale;
        }
        return counted == 0 ? 0f : (float)(sum / counted);
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
