using System.Globalization;

namespace FastRnn;

/// <summary>Reduce-on-plateau as PyTorch's <c>ReduceLROnPlateau</c> (its defaults): after more than
/// <see cref="Patience"/> epochs without improvement (in "min" mode, relative threshold: better when
/// <c>metric &lt; best·(1 − threshold)</c>), multiply the optimizer's learning rate by <see cref="Factor"/> (not below
/// <see cref="MinRate"/>, and only when it changes by more than <see cref="Epsilon"/>), then wait
/// <see cref="Cooldown"/> epochs.</summary>
public sealed class ReduceOnPlateau(Optimizer optimizer, float factor = 0.1f, int patience = 10, double threshold = 1e-4,
    int cooldown = 0, float minRate = 0f, double epsilon = 1e-8, bool maximize = false)
{
    private double _best = maximize ? double.NegativeInfinity : double.PositiveInfinity;
    private int _bad;
    private int _cooldown;

    public float Factor { get; } = factor is > 0f and < 1f ? factor : throw new ArgumentOutOfRangeException(nameof(factor), factor, "The factor must lie in (0, 1).");
    public int Patience { get; } = patience;
    public double Threshold { get; } = threshold;
    public int Cooldown { get; } = cooldown;
    public float MinRate { get; } = minRate;
    public double Epsilon { get; } = epsilon;

    /// <summary>Records an epoch's metric; returns true when it lowered the learning rate.</summary>
    public bool Step(double metric)
    {
        bool better = maximize ? metric > _best * (1 + Threshold) : metric < _best * (1 - Threshold);
        if (better)
        {
            _best = metric;
            _bad = 0;
        }
        else
            _bad++;
        if (_cooldown > 0)
        {
            _cooldown--;
            _bad = 0;
        }
        if (_bad <= Patience)
            return false;
        _cooldown = Cooldown;
        _bad = 0;
        float old = optimizer.LearningRate, reduced = Math.Max(old * Factor, MinRate);
        if (old - reduced <= Epsilon)
            return false;
        optimizer.LearningRate = reduced;
        return true;
    }

    /// <summary>The settings a resumed run must share with the one that saved its state.</summary>
    internal string Settings => string.Create(CultureInfo.InvariantCulture,
        $"factor={Factor:R} patience={Patience} threshold={Threshold:R} cooldown={Cooldown} min_rate={MinRate:R} epsilon={Epsilon:R} maximize={maximize}");

    /// <summary>The state a run backup keeps (the learning rate itself travels with the optimizer).</summary>
    internal void WriteState(IDictionary<string, string> state)
    {
        state["plateau.best"] = _best.ToString("R", CultureInfo.InvariantCulture);
        state["plateau.bad_epochs"] = _bad.ToString(CultureInfo.InvariantCulture);
        state["plateau.cooldown"] = _cooldown.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>The keys <see cref="WriteState"/> writes besides the settings (numbers).</summary>
    internal static readonly string[] StateKeys = ["plateau.best", "plateau.bad_epochs", "plateau.cooldown"];

    /// <summary>The optimizer whose rate this lowers.</summary>
    internal Optimizer Optimizer => optimizer;

    internal void ReadState(IReadOnlyDictionary<string, string> state)
    {
        _best = double.Parse(state["plateau.best"], CultureInfo.InvariantCulture);
        _bad = int.Parse(state["plateau.bad_epochs"], CultureInfo.InvariantCulture);
        _cooldown = int.Parse(state["plateau.cooldown"], CultureInfo.InvariantCulture);
    }
}
