using System.Globalization;

namespace FastRnn.Training;

public enum MonitorMode
{
    /// <summary>Minimize names that are losses or errors (loss, perplexity, bpc, mse, rmse, mae), maximize accuracies.</summary>
    Auto = 0,
    Min = 1,
    Max = 2,
}

/// <summary>
/// Stops training when a monitored metric stops improving, with the semantics of Keras 3's
/// <c>keras.callbacks.EarlyStopping</c> (keras/src/callbacks/early_stopping.py): an epoch improves when
/// <c>value − min_delta &gt; best</c> (max mode) or <c>value + min_delta &lt; best</c> (min mode), with best starting at
/// ∓∞; each considered epoch adds one to the wait, and an improvement resets it only if it also beats the baseline
/// (when one is given); training stops at the first epoch after epoch 0 that does not improve while the wait has
/// reached <c>patience</c>; epochs before <c>start_from_epoch</c> are ignored. With <c>restore_best_weights</c> the
/// parameters and the batch-normalization running statistics of the best epoch (or of the first considered epoch,
/// before any improvement) are kept in a buffer allocated once, and <see cref="End"/> puts them back, whether or not
/// training stopped early. The trainers pass the metric named by <see cref="Monitor"/> and refuse a name they do not
/// report before training starts.
/// A NaN never improves.
/// </summary>
public sealed class EarlyStopping
{
    private readonly bool _minimize;
    private readonly float _minDelta;
    private IRnnModel? _model;
    private float[]? _bestWeights;
    private bool _hasBestWeights;

    public EarlyStopping(string monitor = "val_loss", MonitorMode mode = MonitorMode.Auto, float minDelta = 0, int patience = 0,
        float? baseline = null, bool restoreBestWeights = false, int startFromEpoch = 0)
    {
        if (patience < 0)
            throw new ArgumentOutOfRangeException(nameof(patience), patience, "Patience cannot be negative.");
        if (startFromEpoch < 0)
            throw new ArgumentOutOfRangeException(nameof(startFromEpoch), startFromEpoch, "The first epoch to monitor cannot be negative.");
        if (!float.IsFinite(minDelta))
            throw new ArgumentOutOfRangeException(nameof(minDelta), minDelta, "min_delta must be finite.");
        Monitor = monitor;
        _minimize = mode switch
        {
            MonitorMode.Min => true,
            MonitorMode.Max => false,
            _ => AutoMinimizes(monitor),
        };
        _minDelta = Math.Abs(minDelta);
        Patience = patience;
        Baseline = baseline;
        RestoreBestWeights = restoreBestWeights;
        StartFromEpoch = startFromEpoch;
        Reset();
    }

    public string Monitor { get; }
    public bool Minimizes => _minimize;
    public int Patience { get; }
    public float? Baseline { get; }
    public bool RestoreBestWeights { get; }
    public int StartFromEpoch { get; }

    public float Best { get; private set; }
    public int BestEpoch { get; private set; }
    public int Wait { get; private set; }

    /// <summary>The epoch training stopped at, or 0 when it has not stopped (as Keras's <c>stopped_epoch</c>).</summary>
    public int StoppedEpoch { get; private set; }

    /// <summary>Starts a run: clears the state and, with <see cref="RestoreBestWeights"/>, sizes the weight buffer for
    /// <paramref name="model"/> (the only allocation, reused by later runs on the same model).</summary>
    public void Begin(IRnnModel model)
    {
        _model = model;
        if (RestoreBestWeights && _bestWeights?.Length != KeptLength(model))
            _bestWeights = new float[KeptLength(model)];
        Reset();
    }

    /// <summary>Records the monitored <paramref name="value"/> at the end of <paramref name="epoch"/> (0-based);
    /// returns true when training should stop.</summary>
    public bool EndEpoch(int epoch, float value)
    {
        if (_model is null)
            throw new InvalidOperationException("Call Begin before EndEpoch.");
        if (epoch < StartFromEpoch)
            return false;
        if (RestoreBestWeights && !_hasBestWeights)
        {
            Snapshot();
            BestEpoch = epoch;
        }
        Wait++;
        if (Improves(value, Best))
        {
            Best = value;
            BestEpoch = epoch;
            if (RestoreBestWeights)
                Snapshot();
            if (Baseline is not { } baseline || Improves(value, baseline))
                Wait = 0;
            return false;
        }
        if (Wait >= Patience && epoch > 0)
        {
            StoppedEpoch = epoch;
            return true;
        }
        return false;
    }

    /// <summary>Ends the run: with <see cref="RestoreBestWeights"/>, copies the best epoch's parameters and running
    /// statistics back.</summary>
    public void End()
    {
        if (RestoreBestWeights && _hasBestWeights && _model is not null)
        {
            int parameters = _model.Parameters.Length;
            _bestWeights.AsSpan(0, parameters).CopyTo(_model.Parameters);
            _bestWeights.AsSpan(parameters).CopyTo(_model.Statistics);
        }
    }

    /// <summary>Floats the best weights take for <paramref name="model"/>: its parameters, then its running statistics.</summary>
    internal static int KeptLength(IRnnModel model) => model.Parameters.Length + model.Statistics.Length;

    /// <summary>The settings a resumed run must share with the one that saved its state.</summary>
    internal string Settings => string.Create(CultureInfo.InvariantCulture,
        $"monitor={Monitor} minimize={_minimize} min_delta={_minDelta:R} patience={Patience} baseline={Baseline?.ToString("R", CultureInfo.InvariantCulture) ?? "none"} " +
        $"restore_best_weights={RestoreBestWeights} start_from_epoch={StartFromEpoch}");

    /// <summary>The state a run backup keeps: the counters here, the best weights (when kept) as an array.</summary>
    internal void WriteState(IDictionary<string, string> state)
    {
        state["early_stopping.best"] = Best.ToString("R", CultureInfo.InvariantCulture);
        state["early_stopping.best_epoch"] = BestEpoch.ToString(CultureInfo.InvariantCulture);
        state["early_stopping.wait"] = Wait.ToString(CultureInfo.InvariantCulture);
        state["early_stopping.stopped_epoch"] = StoppedEpoch.ToString(CultureInfo.InvariantCulture);
        state["early_stopping.has_best_weights"] = _hasBestWeights ? "true" : "false";
    }

    /// <summary>The keys <see cref="WriteState"/> writes besides the settings (numbers and true/false).</summary>
    internal static readonly string[] StateKeys = ["early_stopping.best", "early_stopping.best_epoch", "early_stopping.wait",
        "early_stopping.stopped_epoch", "early_stopping.has_best_weights"];

    /// <summary>The best weights for a run backup, or null when none are kept yet.</summary>
    internal float[]? BestWeights => _hasBestWeights ? _bestWeights : null;

    /// <summary>Restores what <see cref="WriteState"/> wrote, after <see cref="Begin"/> (the caller has checked the
    /// settings and the weights' length).</summary>
    internal void ReadState(IReadOnlyDictionary<string, string> state, ReadOnlySpan<float> bestWeights)
    {
        Best = float.Parse(state["early_stopping.best"], CultureInfo.InvariantCulture);
        BestEpoch = int.Parse(state["early_stopping.best_epoch"], CultureInfo.InvariantCulture);
        Wait = int.Parse(state["early_stopping.wait"], CultureInfo.InvariantCulture);
        StoppedEpoch = int.Parse(state["early_stopping.stopped_epoch"], CultureInfo.InvariantCulture);
        _hasBestWeights = state["early_stopping.has_best_weights"] == "true";
        if (_hasBestWeights)
            bestWeights.CopyTo(_bestWeights);
    }

    private bool Improves(float value, float reference) =>
        _minimize ? value + _minDelta < reference : value - _minDelta > reference;

    private void Snapshot()
    {
        _model!.Parameters.CopyTo(_bestWeights);
        _model.Statistics.CopyTo(_bestWeights.AsSpan(_model.Parameters.Length));
        _hasBestWeights = true;
    }

    private void Reset()
    {
        Best = _minimize ? float.PositiveInfinity : float.NegativeInfinity;
        BestEpoch = 0;
        Wait = 0;
        StoppedEpoch = 0;
        _hasBestWeights = false;
    }

    private static bool AutoMinimizes(string monitor)
    {
        string name = monitor.StartsWith("val_", StringComparison.Ordinal) ? monitor[4..] : monitor;
        if (name is "loss" or "perplexity" or "bpc" or "mse" or "rmse" or "mae" || name.EndsWith("_loss", StringComparison.Ordinal))
            return true;
        if (name is "accuracy" or "acc")
            return false;
        throw new ArgumentException(
            $"Cannot tell whether '{monitor}' should fall or rise; pass MonitorMode.Min or MonitorMode.Max.", nameof(monitor));
    }
}
