using System.Globalization;

namespace FastRnn.Data;

/// <summary>
/// Forecasting windows over a multivariate series, split chronologically: the first <c>trainFraction</c> of the
/// windows' targets train, the next <c>validationFraction</c> validate, the rest test. Each feature is standardized
/// with the mean and standard deviation of the training part only (every value a training window reads or predicts).
/// </summary>
public sealed class ForecastWindows
{
    private readonly float[][] _values; // standardized, [time][feature]

    public ForecastWindows(float[][] series, int window, double trainFraction = 0.7, double validationFraction = 0.15)
    {
        if (window < 1 || series.Length < window + 3)
            throw new ArgumentException($"A window of {window} needs at least {window + 3} observations; the series has {series.Length}.");
        if (trainFraction <= 0 || validationFraction < 0 || trainFraction + validationFraction >= 1)
            throw new ArgumentOutOfRangeException(nameof(trainFraction), "The train and validation fractions must leave room for a test part.");
        Window = window;
        Features = series[0].Length;
        int windows = series.Length - window;
        TrainCount = (int)(windows * trainFraction);
        ValidationCount = (int)(windows * validationFraction);
        TestCount = windows - TrainCount - ValidationCount;
        // Training windows read series[0 .. TrainCount + window − 1] (the last one's target included).
        int trainEnd = TrainCount + window;
        Mean = new float[Features];
        Scale = new float[Features];
        for (int f = 0; f < Features; f++)
        {
            double sum = 0, squares = 0;
            for (int t = 0; t < trainEnd; t++) sum += series[t][f];
            double mean = sum / trainEnd;
            for (int t = 0; t < trainEnd; t++) squares += (series[t][f] - mean) * (series[t][f] - mean);
            Mean[f] = (float)mean;
            Scale[f] = (float)Math.Max(Math.Sqrt(squares / trainEnd), 1e-12);
        }
        _values = series.Select(row => row.Select((v, f) => (v - Mean[f]) / Scale[f]).ToArray()).ToArray();
    }

    public int Window { get; }
    public int Features { get; }
    public int TrainCount { get; }
    public int ValidationCount { get; }
    public int TestCount { get; }

    /// <summary>Per-feature mean and standard deviation of the training part (to undo the standardization).</summary>
    public float[] Mean { get; }
    public float[] Scale { get; }

    public int Count(Split split) => split switch { Split.Train => TrainCount, Split.Validation => ValidationCount, _ => TestCount };

    /// <summary>Writes window <paramref name="index"/> of <paramref name="split"/>: inputs [Window, Features] (a row per
    /// step) and the next step's values as the target [Features].</summary>
    public void Get(Split split, int index, Span<float> inputs, Span<float> target)
    {
        if ((uint)index >= (uint)Count(split))
            throw new ArgumentOutOfRangeException(nameof(index), index, $"The {split} part has {Count(split)} windows.");
        if (inputs.Length != Window * Features || target.Length != Features)
            throw new ArgumentException($"A window needs {Window * Features} inputs and {Features} targets; got {inputs.Length} and {target.Length}.");
        int start = index + split switch { Split.Train => 0, Split.Validation => TrainCount, _ => TrainCount + ValidationCount };
        for (int t = 0; t < Window; t++)
            _values[start + t].CopyTo(inputs.Slice(t * Features, Features));
        _values[start + Window].CopyTo(target);
    }

    /// <summary>Daily log returns <c>log(x[t] / x[t−1])</c> of each column (the S4 inputs).</summary>
    public static float[][] LogReturns(IReadOnlyList<float[]> levels) =>
        Enumerable.Range(1, levels.Count - 1)
            .Select(t => levels[t].Select((v, f) => (float)Math.Log(v / levels[t - 1][f])).ToArray()).ToArray();
}
