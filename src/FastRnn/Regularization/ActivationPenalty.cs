using System.ComponentModel;
using System.Numerics.Tensors;

namespace FastRnn.Kernels;

/// <summary>
/// AWD-LSTM's activation penalties on the top layer's output over a sequence of rows (time-major: row r of step t is
/// t·batch + r): activation regularization <c>α·mean(h̃²)</c> on the output as the head reads it (after its dropout),
/// and temporal activation regularization <c>β·mean((h(t) − h(t−1))²)</c> on the raw output, t from 1 within the
/// segment (Merity et al. 2017, <c>alpha</c> and <c>beta</c> of the AWD-LSTM training script). Under per-row lengths
/// (<see cref="RealRows"/>) only real steps count: AR over the real rows, TAR over the pairs of consecutive real steps of
/// a row, so padding changes nothing and a batch is the rows run alone, weighted by what each counts.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class ActivationPenalty
{
    /// <summary>Σ x² over the real rows' width elements (columns width … stride untouched), in double.</summary>
    public static double SumOfSquares(ReadOnlySpan<float> x, int stride, int width, int rows, RealRows real = default)
    {
        double sum = 0;
        for (int r = 0; r < rows; r++)
        {
            if (real.IsReal(r))
                sum += TensorPrimitives.SumOfSquares(x.Slice(r * stride, width));
        }
        return sum;
    }

    /// <summary>How many differences <see cref="SumOfSquaredDifferences"/> adds: the real rows r ≥ lag (a real row's
    /// step before it is real too).</summary>
    public static int DifferenceCount(int rows, int lag, RealRows real = default) => real.Count(rows) - real.Count(lag);

    /// <summary>Σ (x[r] − x[r − lag])² over real rows r ≥ lag, in double (lag = the batch: the same row one step earlier).</summary>
    public static double SumOfSquaredDifferences(ReadOnlySpan<float> x, int stride, int width, int rows, int lag, RealRows real = default)
    {
        double sum = 0;
        for (int r = lag; r < rows; r++)
        {
            if (!real.IsReal(r))
                continue;
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

    /// <summary>∂(c·Σx²)/∂x = 2c·x over the real rows, added to dx.</summary>
    public static void AddSquaresGradient(ReadOnlySpan<float> x, Span<float> dx, int stride, int width, int rows, float coefficient, RealRows real = default)
    {
        for (int r = 0; r < rows; r++)
        {
            if (real.IsReal(r))
                TensorPrimitives.MultiplyAdd(x.Slice(r * stride, width), 2 * coefficient, dx.Slice(r * stride, width), dx.Slice(r * stride, width));
        }
    }

    /// <summary>∂(c·Σ(x[r] − x[r − lag])²) over real rows r ≥ lag: 2c·d added to row r and subtracted from row r − lag,
    /// d = x[r] − x[r − lag].</summary>
    public static void AddDifferencesGradient(ReadOnlySpan<float> x, Span<float> dx, int stride, int width, int rows, int lag, float coefficient, RealRows real = default)
    {
        float twice = 2 * coefficient;
        for (int r = lag; r < rows; r++)
        {
            if (!real.IsReal(r))
                continue;
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
