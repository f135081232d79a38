using System.Diagnostics;

namespace FastRnn.Training;

/// <summary>
/// Trains a token-input, every-step, softmax language model with truncated BPTT: each epoch walks the stream's
/// segments in order, carrying the recurrent state from one to the next (reset at the start of an epoch) and taking one
/// optimizer step per segment. Validation runs in inference mode with the state carried the same way. Nothing is
/// allocated per segment.
/// </summary>
public sealed class LanguageModelTrainer
{
    private readonly ISequenceModel _model;
    private readonly Optimizer _optimizer;
    private readonly FitState _fit = new();
    private readonly int[] _inputs;
    private readonly int[] _targets;
    private readonly IRnnState _state;
    private readonly List<EpochRecord> _history = [];

    public LanguageModelTrainer(ISequenceModel model, Optimizer optimizer, int steps)
    {
        if (!model.TakesTokens || !model.EveryStep || !model.ClassTargets)
            throw new ArgumentException("A language model takes tokens and predicts a class at every step.", nameof(model));
        if (steps < 1 || steps > model.SequenceCapacity)
            throw new ArgumentOutOfRangeException(nameof(steps), steps, $"The segment length must be 1 to the model's sequence capacity ({model.SequenceCapacity}).");
        _model = model;
        _optimizer = optimizer;
        Steps = steps;
        _inputs = new int[steps * model.BatchCapacity];
        _targets = new int[steps * model.BatchCapacity];
        _state = model.NewState(model.BatchCapacity);
    }

    /// <summary>Steps per segment (the BPTT length).</summary>
    public int Steps { get; }

    public IReadOnlyList<EpochRecord> History => _history;

    /// <summary>The optimizer that trains: the one the trainer was made with, or the averaged SGD a Fit with
    /// <c>averaging</c> switched to (it stays for later Fits).</summary>
    public Optimizer Optimizer => _fit.Current(_optimizer);

    /// <summary>Threads that share the training (the model's work and the optimizer's update; null: the calling thread
    /// alone). The results are the same bits at any thread count. The trainer does not own the pool.</summary>
    public ComputePool? Pool
    {
        get => _model.Pool;
        set
        {
            _model.Pool = value;
            _optimizer.Pool = value;
            if (_fit.Switched is { } averaged)
                averaged.Pool = value;
        }
    }

    /// <summary>Called after each training segment with (segments done, segments in the epoch): for progress display.</summary>
    public Action<int, int>? SegmentDone { get; set; }

    /// <summary>One pass over <paramref name="data"/> in training mode; returns the mean objective per token.</summary>
    public double TrainEpoch(TokenStream data) => Pass(data, training: true);

    /// <summary>The mean loss per token over <paramref name="data"/> in inference mode (the weights do not change).</summary>
    public double Evaluate(TokenStream data) => Pass(data, training: false);

    private double Pass(TokenStream data, bool training)
    {
        var state = CheckBatch(data);
        state.Reset();
        using var mode = new ModeScope(_model.Options, training);
        double total = 0;
        int segments = data.Segments(Steps);
        for (int s = 0; s < segments; s++)
        {
            int n = data.Segment(s, Steps, _inputs, _targets);
            int rows = n * data.Batch;
            _model.ForwardTokens(_inputs.AsSpan(0, rows), data.Batch, n, state);
            total += (double)_model.LossClasses(_targets.AsSpan(0, rows)) * rows;
            if (training)
            {
                EpochLoop.Update(_model, _optimizer, _fit);
                SegmentDone?.Invoke(s + 1, segments);
            }
        }
        return total / data.Targets;
    }

    private IRnnState CheckBatch(TokenStream data)
    {
        if (data.Batch != _state.Batch)
            throw new ArgumentException($"The stream has {data.Batch} columns; the trainer was made for the model's batch capacity ({_state.Batch}).", nameof(data));
        return _state;
    }

    /// <summary>Trains for up to <paramref name="epochs"/> epochs. <paramref name="learningRate"/>, when given, sets the
    /// optimizer's rate at the start of each epoch (e.g. <c>StepDecay.At</c>); <paramref name="learningRatePerIteration"/>
    /// instead sets it before every optimizer step, numbered from 0 over the whole run (e.g. <c>OneCycle.At</c>,
    /// <c>LinearWarmup.At</c>); <paramref name="plateau"/> instead lowers
    /// it after epochs in which the validation loss (the training loss without validation data) did not improve;
    /// <paramref name="earlyStopping"/> watches the metric it names — "loss" (training), or with validation data
    /// "val_loss", "val_perplexity", "val_bpc" here and "val_loss", "val_accuracy" (class targets) or "val_mae" and
    /// "val_rmse" (float targets) in <see cref="SequenceTrainer"/>; any other name is refused before training starts — and
    /// may stop the run and restore the best epoch's weights and batch-normalization statistics;
    /// <paramref name="onEpoch"/> sees each epoch's record as it ends.
    /// <para><paramref name="backup"/> makes the run resumable, as Keras' BackupAndRestore: after every epoch the whole
    /// run (weights, optimizer state, mask counter, epoch, records, early-stopping and plateau state with the best
    /// weights) is written there atomically, and when the file exists as Fit starts, the run continues from it — the
    /// same weights, bit for bit, as an uninterrupted Fit on the same vector width (the shuffling and schedules are
    /// functions of the epoch). A backup of a finished run resumes to nothing more to do. A backup of another run — other
    /// model or optimizer type or settings, clipping, rates, mask seed, BPTT length or shuffle seed, training or
    /// validation data, early-stopping or plateau settings — is refused with <see cref="InvalidDataException"/> naming
    /// the difference, before anything changes.</para></summary>
    public IReadOnlyList<EpochRecord> Fit(TokenStream train, TokenStream? validation, int epochs,
        Func<int, float>? learningRate = null, EarlyStopping? earlyStopping = null, Action<EpochRecord>? onEpoch = null,
        ReduceOnPlateau? plateau = null, string? backup = null, Func<int, float>? learningRatePerIteration = null,
        NonMonotoneTrigger? averaging = null)
    {
        using var schedule = _fit.For(learningRatePerIteration);
        EpochLoop.Run(_model, _optimizer, epochs, new FitHooks(learningRate, earlyStopping, plateau, backup,
            () => $"language-model trainer, BPTT {Steps}; training {train.Fingerprint()}; validation {validation?.Fingerprint() ?? "none"}",
            validation is null ? ["loss"] : ["loss", "val_loss", "val_perplexity", "val_bpc"], _fit, train.Segments(Steps), averaging), _history, onEpoch, epoch =>
        {
            var clock = Stopwatch.StartNew();
            double trainLoss = TrainEpoch(train);
            double? validationLoss;
            using (_fit.Averaging())
                validationLoss = validation is null ? null : Evaluate(validation);
            var record = new EpochRecord(epoch, trainLoss, validationLoss, Optimizer.LearningRate, clock.Elapsed.TotalSeconds);
            return (record, new EpochMetrics(trainLoss, validationLoss).WithValidation("perplexity", record.ValidationPerplexity).WithValidation("bpc", record.ValidationBitsPerToken));
        });
        return _history;
    }
}

/// <summary>Sets a model's mode for a pass and puts the previous one back when disposed.</summary>
internal readonly struct ModeScope : IDisposable
{
    private readonly IRunOptions _options;
    private readonly bool _previous;

    public ModeScope(IRunOptions options, bool training)
    {
        _options = options;
        _previous = options.Training;
        options.Training = training;
    }

    public void Dispose() => _options.Training = _previous;
}
