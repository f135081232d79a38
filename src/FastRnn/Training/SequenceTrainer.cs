using System.Diagnostics;
using FastRnn.Kernels;

namespace FastRnn.Training;

/// <summary>
/// Trains a last-step model on a <see cref="SequenceSet"/>: minibatches of up to the model's batch capacity in an order
/// shuffled per epoch from a seed (a pure function of (seed, epoch), so a resumed run sees the same order), each
/// forwarded with its rows' lengths so padding counts nowhere; evaluation in inference mode reports loss and metric.
/// Nothing is allocated per minibatch.
/// </summary>
public sealed class SequenceTrainer
{
    private readonly ISequenceModel _model;
    private readonly Optimizer _optimizer;
    private readonly FitState _fit = new();
    private readonly float[] _dense;
    private readonly int[] _tokens;
    private readonly int[] _lengths;
    private readonly int[] _classes;
    private readonly float[] _values;
    private readonly float[] _outputs;
    private int[] _order = [];
    private readonly List<SequenceEpoch> _history = [];

    public SequenceTrainer(ISequenceModel model, Optimizer optimizer, ulong shuffleSeed = 0)
    {
        if (model.EveryStep)
            throw new ArgumentException("The sequence trainer is for models whose head reads the last step.", nameof(model));
        _model = model;
        _optimizer = optimizer;
        ShuffleSeed = shuffleSeed;
        int rows = model.BatchCapacity, steps = model.SequenceCapacity;
        _dense = model.TakesTokens ? [] : new float[rows * steps * model.InputWidth];
        _tokens = model.TakesTokens ? new int[rows * steps] : [];
        _lengths = new int[rows];
        _classes = new int[rows];
        _values = new float[rows * model.OutputWidth];
        _outputs = new float[rows * model.OutputWidth];
    }

    public ulong ShuffleSeed { get; }
    public IReadOnlyList<SequenceEpoch> History => _history;

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

    private void Check(SequenceSet set)
    {
        if (set.TakesTokens != _model.TakesTokens || set.Width != _model.InputWidth || set.Outputs != _model.OutputWidth ||
            set.HasClasses != _model.ClassTargets || set.Steps > _model.SequenceCapacity)
            throw new ArgumentException(
                $"The set ({(set.TakesTokens ? "tokens" : $"{set.Width} features")}, {set.Steps} steps, {set.Outputs} outputs, " +
                $"{(set.HasClasses ? "class" : "float")} targets) does not fit the model ({(_model.TakesTokens ? "tokens" : $"{_model.InputWidth} features")}, " +
                $"up to {_model.SequenceCapacity} steps, {_model.OutputWidth} outputs, {(_model.ClassTargets ? "class" : "float")} targets).", nameof(set));
    }

    /// <summary>The sample order of <paramref name="epoch"/>: a Fisher–Yates shuffle driven by the counter generator.</summary>
    private void Shuffle(int count, int epoch)
    {
        if (_order.Length < count) // sized by the largest training set seen, once
            _order = new int[count];
        for (int i = 0; i < count; i++)
            _order[i] = i;
        for (int i = count - 1; i > 0; i--)
        {
            int j = (int)(CounterRandom.Hash(ShuffleSeed, (ulong)epoch, (ulong)i) % (ulong)(i + 1));
            (_order[i], _order[j]) = (_order[j], _order[i]);
        }
    }

    /// <summary>Copies samples order[first …] into the time-major batch buffers; returns the rows filled.</summary>
    private int Gather(SequenceSet set, int first, bool shuffled)
    {
        int batch = Math.Min(_model.BatchCapacity, set.Count - first), steps = set.Steps, width = set.Width;
        for (int r = 0; r < batch; r++)
        {
            int sample = shuffled ? _order[first + r] : first + r;
            _lengths[r] = set.Lengths[sample];
            for (int t = 0; t < steps; t++)
            {
                if (set.TakesTokens)
                    _tokens[t * batch + r] = set.Tokens[sample * steps + t];
                else
                    set.Dense.AsSpan((sample * steps + t) * width, width).CopyTo(_dense.AsSpan((t * batch + r) * width, width));
            }
            if (set.HasClasses)
                _classes[r] = set.Classes[sample];
            else
                set.Values.AsSpan(sample * set.Outputs, set.Outputs).CopyTo(_values.AsSpan(r * set.Outputs));
        }
        if (set.TakesTokens)
            _model.ForwardTokens(_tokens.AsSpan(0, batch * steps), batch, steps, _lengths.AsSpan(0, batch));
        else
            _model.ForwardDense(_dense.AsSpan(0, batch * steps * width), batch, steps, _lengths.AsSpan(0, batch));
        return batch;
    }

    private float Loss(SequenceSet set, int batch) => set.HasClasses
        ? _model.LossClasses(_classes.AsSpan(0, batch))
        : _model.LossDense(_values.AsSpan(0, batch * set.Outputs));

    /// <summary>One epoch of minibatch steps in the epoch's shuffled order; returns the mean training objective per sample.</summary>
    public double TrainEpoch(SequenceSet set, int epoch)
    {
        Check(set);
        Shuffle(set.Count, epoch);
        using var mode = new ModeScope(_model.Options, training: true);
        double total = 0;
        for (int first = 0; first < set.Count; first += _model.BatchCapacity)
        {
            int batch = Gather(set, first, shuffled: true);
            total += (double)Loss(set, batch) * batch;
            EpochLoop.Update(_model, _optimizer, _fit);
        }
        return total / set.Count;
    }

    /// <summary>Loss per sample and the task's metric over <paramref name="set"/>, in inference mode.</summary>
    public SetMetrics Evaluate(SequenceSet set)
    {
        Check(set);
        using var mode = new ModeScope(_model.Options, training: false);
        double loss = 0, absolute = 0, squared = 0;
        long correct = 0;
        for (int first = 0; first < set.Count; first += _model.BatchCapacity)
        {
            int batch = Gather(set, first, shuffled: false);
            loss += (double)Loss(set, batch) * batch;
            int o = set.Outputs;
            _model.CopyOutputs(_outputs);
            for (int r = 0; r < batch; r++)
            {
                var row = _outputs.AsSpan(r * o, o);
                if (set.HasClasses)
                    correct += System.Numerics.Tensors.TensorPrimitives.IndexOfMax(row) == _classes[r] ? 1 : 0;
                else
                    for (int j = 0; j < o; j++)
                    {
                        double d = row[j] - _values[r * o + j];
                        absolute += Math.Abs(d);
                        squared += d * d;
                    }
            }
        }
        double n = set.Count, elements = (double)set.Count * set.Outputs;
        return set.HasClasses
            ? new SetMetrics(loss / n, correct / n, null, null)
            : new SetMetrics(loss / n, null, absolute / elements, Math.Sqrt(squared / elements));
    }

    /// <summary>The head's outputs (after its activation) for every sample of <paramref name="set"/>, in order and in
    /// inference mode: [set.Count, set.Outputs] into <paramref name="outputs"/>.</summary>
    public void Predict(SequenceSet set, Span<float> outputs)
    {
        Check(set);
        int width = set.Outputs;
        if (outputs.Length < set.Count * width)
            throw new ArgumentException($"Predict writes {set.Count * width} outputs ({set.Count} samples × {width}); the span has {outputs.Length}.", nameof(outputs));
        using var mode = new ModeScope(_model.Options, training: false);
        for (int first = 0; first < set.Count; first += _model.BatchCapacity)
        {
            int batch = Gather(set, first, shuffled: false);
            _model.CopyOutputs(_outputs);
            _outputs.AsSpan(0, batch * width).CopyTo(outputs.Slice(first * width));
        }
    }

    /// <summary>The metrics a Fit reports each epoch, by the names <see cref="EarlyStopping"/> monitors: "loss" (training),
    /// and with a validation set "val_loss" and "val_accuracy" (class targets) or "val_mae" and "val_rmse" (float targets).</summary>
    private static string[] Reported(SequenceSet? validation) => validation is null ? ["loss"]
        : validation.HasClasses ? ["loss", "val_loss", "val_accuracy"] : ["loss", "val_loss", "val_mae", "val_rmse"];

    /// <inheritdoc cref="LanguageModelTrainer.Fit"/>
    public IReadOnlyList<SequenceEpoch> Fit(SequenceSet train, SequenceSet? validation, int epochs,
        Func<int, float>? learningRate = null, EarlyStopping? earlyStopping = null, Action<SequenceEpoch>? onEpoch = null,
        ReduceOnPlateau? plateau = null, string? backup = null, Func<int, float>? learningRatePerIteration = null,
        NonMonotoneTrigger? averaging = null)
    {
        using var schedule = _fit.For(learningRatePerIteration);
        EpochLoop.Run(_model, _optimizer, epochs, new FitHooks(learningRate, earlyStopping, plateau, backup,
            () => $"sequence trainer, shuffle seed {ShuffleSeed}; training {train.Fingerprint()}; validation {validation?.Fingerprint() ?? "none"}",
            Reported(validation), _fit, (train.Count + _model.BatchCapacity - 1) / _model.BatchCapacity, averaging), _history, onEpoch, epoch =>
        {
            var clock = Stopwatch.StartNew();
            double trainLoss = TrainEpoch(train, epoch);
            SetMetrics? metrics;
            using (_fit.Averaging())
                metrics = validation is null ? null : Evaluate(validation);
            return (new SequenceEpoch(epoch, trainLoss, metrics, Optimizer.LearningRate, clock.Elapsed.TotalSeconds),
                new EpochMetrics(trainLoss, metrics?.Loss).WithValidation("accuracy", metrics?.Accuracy)
                    .WithValidation("mae", metrics?.MeanAbsoluteError).WithValidation("rmse", metrics?.RootMeanSquaredError));
        });
        return _history;
    }
}
