using System.ComponentModel;
using System.Numerics.Tensors;

namespace FastRnn.Kernels;

/// <summary>
/// AWD-LSTM's activation penalties on the top layer's output over a sequence of rows (time-major: row r of step t is
/// t·batch + r): activation regularization <c>α·mean(h̃²)</c> on the output as the head reads it (after its dropout),
/// and temporal activation regularization <c>β·mean((h(t) − h(t−1))²)</c> on the raw output, t from 1 within the
/// segment (Merity et al. 2017, <c>alpha</c> and <c>beta</c> of the AWD-LSTM training script).
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class ActivationPenalty
{
    /// <summary>Σ x² over rows × width elements (columns width … stride untouched), in double.</summary>
    public static double SumOfSquares(ReadOnlySpan<float> x, int stride, int width, int rows)
    {
        double sum = 0;
        for (int r = 0; r < rows; r++)
            sum += TensorPrimitives.SumOfSquares(x.Slice(r * stride, width));
        return sum;
    }

    /// <summary>Σ (x[r] − x[r − lag])² over rows r ≥ lag, in double (lag = the batch: the same row one step earlier).</summary>
    public static double SumOfSquaredDifferences(ReadOnlySpan<float> x, int stride, int width, int rows, int lag)
    {
        double sum = 0;
        for (int r = lag; r < rows; r++)
        {
            var now = x.Slice(r * stride, width);
            var before = x.Slice((r - lag) * stride, width);
            for (int k = 0; k < width; k++)
            {
                double d = now[k] - before[k];
                sum += d * d;
            }
        }
        return sum;
    }

    /// <summary>∂(c·Σx²)/∂x = 2c·x, added to dx.</summary>
    public static void AddSquaresGradient(ReadOnlySpan<float> x, Span<float> dx, int stride, int width, int rows, float coefficient)
    {
        for (int r = 0; r < rows; r++)
            TensorPrimitives.MultiplyAdd(x.Slice(r * stride, width), 2 * coefficient, dx.Slice(r * stride, width), dx.Slice(r * stride, width));
    }

    /// <summary>∂(c·Σ(x[r] − x[r − lag])²): 2c·d added to row r and subtracted from row r − lag, d = x[r] − x[r − lag].</summary>
    public static void AddDifferencesGradient(ReadOnlySpan<float> x, Span<float> dx, int stride, int width, int rows, int lag, float coefficient)
    {
        float twice = 2 * coefficient;
        for (int r = lag; r < rows; r++)
        {
            int now = r * stride, before = (r - lag) * stride;
            for (int k = 0; k < width; k++)
            {
                float g = twice * (x[now + k] - x[before + k]);
                dx[now + k] += g;
                dx[before + k] -= g;
            }
        }
    }

    /// <summary>Throws unless <paramref name="value"/> is a finite coefficient of at least 0.</summary>
    public static float CheckCoefficient(float value, string name) =>
        float.IsFinite(value) && value >= 0f
            ? value
            : throw new ArgumentOutOfRangeException(name, value, $"{name} is a penalty coefficient: it must be finite and at least 0.");
}
