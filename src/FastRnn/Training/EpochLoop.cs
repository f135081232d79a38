using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FastRnn.Training;

/// <summary>The epoch loop both trainers share: the learning-rate hook before each epoch, the record kept and shown,
/// reduce-on-plateau and early stopping on the epoch's monitored value (restoring the best weights at the end when it
/// is asked to), and, with a backup path, the run saved after every epoch and resumed from that file.</summary>
internal static class EpochLoop
{
    /// <summary>One optimizer step from the loss just computed: clear the gradients, backpropagate, update (at the rate
    /// of <paramref name="schedule"/>'s next iteration when a Fit gave one).</summary>
    public static void Update(ISequenceModel model, Optimizer optimizer, FitState schedule)
    {
        model.ZeroGrad();
        model.Backward();
        optimizer = schedule.Current(optimizer);
        if (schedule.Rate is { } rate)
            optimizer.LearningRate = rate(schedule.Next++);
        optimizer.Step();
    }

    private const string BackupFormat = "fastrnn-run-1";
    private const string BestWeights = "early_stopping.best_weights";

    private static readonly JsonSerializerOptions s_recordJson = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>Runs the epochs. <paramref name="epoch"/> trains one and returns its record and the metrics it reports
    /// by name (<see cref="FitHooks.Reported"/>: "loss", and with a validation set "val_loss" and the trainer's others);
    /// early stopping watches the one it monitors, reduce-on-plateau the validation loss (the training loss without a
    /// validation set).</summary>
    public static void Run<TRecord>(ISequenceModel model, Optimizer optimizer, int epochs, FitHooks hooks, List<TRecord> history,
        Action<TRecord>? onEpoch, Func<int, (TRecord Record, EpochMetrics Metrics)> epoch)
    {
        var (earlyStopping, plateau, backup) = (hooks.EarlyStopping, hooks.Plateau, hooks.Backup);
        if ((hooks.LearningRate is not null ? 1 : 0) + (hooks.State.Rate is not null ? 1 : 0) + (plateau is not null ? 1 : 0) > 1)
            throw new ArgumentException("Give one of a per-epoch schedule, a per-iteration schedule and reduce-on-plateau: each sets the rate.");
        if (plateau is not null && plateau.Optimizer != optimizer)
            throw new ArgumentException("The reduce-on-plateau schedule was made for another optimizer than the trainer's.", nameof(hooks));
        if (earlyStopping is not null && !hooks.Reported.Contains(earlyStopping.Monitor, StringComparer.Ordinal))
            throw new ArgumentException($"Early stopping monitors '{earlyStopping.Monitor}', which this Fit does not report; it reports " +
                $"{string.Join(", ", hooks.Reported.Select(name => $"'{name}'"))}" +
                (earlyStopping.Monitor.StartsWith("val_", StringComparison.Ordinal) && !hooks.Reported.Contains("val_loss", StringComparer.Ordinal)
                    ? " (the 'val_' metrics need a validation set)." : "."), nameof(hooks));
        if (hooks.Averaging is not null || hooks.State.Switched is not null)
            CheckAveraging(optimizer, hooks);
        earlyStopping?.Begin(model);
        var run = new List<TRecord>();
        int start = 0;
        bool stopped = false;
        string? identity = null;
        if (backup is not null)
        {
            identity = Identity(model, optimizer, hooks);
            if (File.Exists(backup))
            {
                (start, stopped) = Resume(backup, model, optimizer, earlyStopping, plateau, identity, run);
                // A trainer that ran the first part itself already holds those records.
                if (history.Count < run.Count || !history[^run.Count..].SequenceEqual(run))
                    history.AddRange(run);
            }
        }
        for (int e = start; e < epochs && !stopped; e++)
        {
            if (hooks.LearningRate is not null)
                hooks.State.Current(optimizer).LearningRate = hooks.LearningRate(e);
            hooks.State.Next = e * hooks.IterationsPerEpoch;
            var (record, metrics) = epoch(e);
            history.Add(record);
            run.Add(record);
            onEpoch?.Invoke(record);
            plateau?.Step(metrics.ValidationLoss ?? metrics.Loss);
            // early stopping keeps the weights the epoch was evaluated with: the average, once NT-ASGD has switched
            using (hooks.State.Averaging())
                stopped = earlyStopping is not null && earlyStopping.EndEpoch(e, (float)metrics[earlyStopping.Monitor]);
            if (hooks.Averaging is { } trigger && hooks.State.Switched is null && trigger.Observe(metrics.ValidationLoss!.Value))
                hooks.State.Switched = SwitchToAverage(model, (Sgd)optimizer);
            if (backup is not null)
                Save(backup, model, optimizer, earlyStopping, plateau, identity!, run, e + 1, stopped);
        }
        // NT-ASGD's result is the averaged model (AWD-LSTM saves and tests it); restored best weights replace it
        if (hooks.State.Switched is { Steps: > 0 } averaged)
            averaged.Average.CopyTo(model.Parameters);
        earlyStopping?.End();
    }

    /// <summary>NT-ASGD needs what AWD-LSTM has: plain SGD to switch from, a validation loss for the trigger, and no
    /// other hook that holds on to the first optimizer.</summary>
    private static void CheckAveraging(Optimizer optimizer, FitHooks hooks)
    {
        if (hooks.Plateau is not null || hooks.Backup is not null)
            throw new ArgumentException("NT-ASGD replaces the optimizer during the run; reduce-on-plateau and run backups hold on to the first one, so neither can be combined with it yet (nor used after the switch).", nameof(hooks));
        if (hooks.State.Switched is not null)
            return; // an earlier Fit switched already: this one goes on averaging
        if (optimizer is not Sgd { Momentum: 0f, Nesterov: false })
            throw new ArgumentException($"NT-ASGD switches from plain SGD (no momentum), as AWD-LSTM does; this trainer's optimizer is {optimizer.GetType().Name}.", nameof(hooks));
        if (!hooks.Reported.Contains("val_loss", StringComparer.Ordinal))
            throw new ArgumentException("NT-ASGD's trigger watches the validation loss: give a validation set.", nameof(hooks));
    }

    /// <summary>AWD-LSTM's switch: <c>ASGD(lr, t0=0, lambd=0, weight_decay)</c> from the SGD's rate and weight decay, with
    /// the same clipping and pool.</summary>
    private static Asgd SwitchToAverage(IRnnModel model, Sgd sgd)
    {
        var averaged = new Asgd(model, sgd.LearningRate, lambda: 0f, t0: 0, weightDecay: sgd.WeightDecay) { Pool = sgd.Pool };
        averaged.Clipping.MaxValue = sgd.Clipping.MaxValue;
        averaged.Clipping.MaxTensorNorm = sgd.Clipping.MaxTensorNorm;
        averaged.Clipping.MaxGlobalNorm = sgd.Clipping.MaxGlobalNorm;
        averaged.Clipping.NonFinite = sgd.Clipping.NonFinite;
        return averaged;
    }

    /// <summary>What a resumed run must share with the one that saved it, beyond the model and optimizer types the
    /// checkpoint checks: the trainer and its data (<see cref="FitHooks.Trainer"/>), the optimizer's settings and
    /// clipping, the model's rates and mask seed, and the early-stopping and plateau settings.</summary>
    private static string Identity(ISequenceModel model, Optimizer optimizer, FitHooks hooks)
    {
        var rates = string.Join(" ", model.Options.Names.Select(n => $"{n}={model.Options[n].ToString("R", CultureInfo.InvariantCulture)}"));
        return $"{hooks.Trainer()}\noptimizer {Settings(optimizer)}; clipping {Settings(optimizer.Clipping)}\n" +
            $"model rates {rates}; mask seed {model.Options.Seed}\n" +
            $"early stopping {hooks.EarlyStopping?.Settings ?? "none"}\nreduce-on-plateau {hooks.Plateau?.Settings ?? "none"}";
    }

    /// <summary>An object's public settable or constructor-given scalar properties (rates, betas, flags), the run's
    /// state (learning rate, step counts, last norm) aside: it travels in the checkpoint.</summary>
    private static string Settings(object settings) => string.Join(" ", settings.GetType()
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.Name is not ("LearningRate" or "Steps" or "SkippedSteps" or "LastGradientNorm")
            && (p.PropertyType.IsPrimitive || p.PropertyType.IsEnum || Nullable.GetUnderlyingType(p.PropertyType) is { IsPrimitive: true }))
        .OrderBy(p => p.Name, StringComparer.Ordinal)
        .Select(p => $"{p.Name}={Convert.ToString(p.GetValue(settings), CultureInfo.InvariantCulture)}"));

    /// <summary>Everything the loop needs to continue where it stopped, in one checkpoint written atomically: the
    /// model, the optimizer and the mask counter (as <see cref="Checkpoint"/> keeps them), the next epoch, whether
    /// early stopping ended the run, this run's records, the early-stopping and plateau state with the best weights,
    /// and the run's identity. The learning-rate schedule and the shuffling are functions of the epoch.</summary>
    private static void Save<TRecord>(string path, ISequenceModel model, Optimizer optimizer, EarlyStopping? earlyStopping,
        ReduceOnPlateau? plateau, string identity, List<TRecord> run, int nextEpoch, bool stopped)
    {
        var progress = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["run.format"] = BackupFormat,
            ["run.identity"] = identity,
            ["run.next_epoch"] = nextEpoch.ToString(CultureInfo.InvariantCulture),
            ["run.stopped"] = stopped ? "true" : "false",
            ["run.records"] = JsonSerializer.Serialize(run, s_recordJson),
        };
        var arrays = new Dictionary<string, float[]>(StringComparer.Ordinal);
        earlyStopping?.WriteState(progress);
        if (earlyStopping?.BestWeights is { } best)
            arrays[BestWeights] = best;
        plateau?.WriteState(progress);
        Checkpoint.Save(path, model, optimizer, progress, arrays);
    }

    private static (int NextEpoch, bool Stopped) Resume<TRecord>(string path, ISequenceModel model, Optimizer optimizer,
        EarlyStopping? earlyStopping, ReduceOnPlateau? plateau, string identity, List<TRecord> run)
    {
        List<TRecord>? records = null;
        int nextEpoch = 0;
        // Every check and every parse happens here, before Checkpoint.Load changes anything.
        void Validate(IReadOnlyDictionary<string, string> progress, IReadOnlyDictionary<string, float[]> arrays)
        {
            InvalidDataException Refuse(string why) => new($"Run backup '{path}' cannot resume this Fit: {why}.");
            string Need(string key) => progress.TryGetValue(key, out var value) ? value : throw Refuse($"it lacks '{key}'");
            if (progress.GetValueOrDefault("run.format") != BackupFormat)
                throw Refuse("it is a checkpoint but not one written by a trainer's Fit");
            var saved = Need("run.identity").Split('\n');
            var current = identity.Split('\n');
            for (int i = 0; i < current.Length; i++)
                if (i >= saved.Length || saved[i] != current[i])
                    throw Refuse($"the run it holds had\n  {(i < saved.Length ? saved[i] : "(nothing)")}\nwhere this Fit has\n  {current[i]}");
            foreach (string key in (earlyStopping is null ? [] : EarlyStopping.StateKeys).Concat(plateau is null ? [] : ReduceOnPlateau.StateKeys))
                if (!double.TryParse(Need(key), NumberStyles.Float, CultureInfo.InvariantCulture, out _) && Need(key) is not ("true" or "false"))
                    throw Refuse($"'{key}' is '{Need(key)}'");
            if (earlyStopping?.RestoreBestWeights == true && Need("early_stopping.has_best_weights") == "true"
                && arrays.GetValueOrDefault(BestWeights)?.Length != EarlyStopping.KeptLength(model))
                throw Refuse($"its best weights are not {EarlyStopping.KeptLength(model)} floats");
            if (!int.TryParse(Need("run.next_epoch"), NumberStyles.None, CultureInfo.InvariantCulture, out nextEpoch) || Need("run.stopped") is not ("true" or "false"))
                throw Refuse("its epoch count or stop flag is malformed");
            try
            {
                records = JsonSerializer.Deserialize<List<TRecord>>(Need("run.records"), s_recordJson);
            }
            catch (JsonException e)
            {
                throw Refuse($"its epoch records are not those of this trainer ({e.Message})");
            }
            if (records is null || records.Count != nextEpoch)
                throw Refuse("its epoch records do not match its epoch count");
        }
        var progress = Checkpoint.Load(path, model, optimizer, Validate, out var arrays);
        earlyStopping?.ReadState(progress, arrays.GetValueOrDefault(BestWeights));
        plateau?.ReadState(progress);
        run.AddRange(records!);
        return (nextEpoch, progress["run.stopped"] == "true");
    }
}

/// <summary>The optional parts of a Fit, as its parameters document them, and the trainer's description of itself and
/// its data for a run backup (computed only when there is one).</summary>
internal readonly record struct FitHooks(Func<int, float>? LearningRate, EarlyStopping? EarlyStopping, ReduceOnPlateau? Plateau, string? Backup,
    Func<string> Trainer, string[] Reported, FitState State, int IterationsPerEpoch, NonMonotoneTrigger? Averaging);

/// <summary>What a trainer keeps for its Fits: the per-iteration learning rate of the Fit under way (none outside a Fit
/// that gives one) and the next iteration's number, counted from 0 over the whole run (epoch e starts at e × the
/// iterations per epoch, so a resumed run continues the same schedule); and, once NT-ASGD has switched, the averaged
/// optimizer that trains from then on.</summary>
internal sealed class FitState
{
    public Func<int, float>? Rate;
    public int Next;
    public Asgd? Switched;

    /// <summary>The optimizer that trains: the trainer's own, or the averaged one NT-ASGD switched to.</summary>
    public Optimizer Current(Optimizer own) => (Optimizer?)Switched ?? own;

    /// <summary>The averaged weights in the model while the scope lasts, once the switched optimizer has stepped (AWD-LSTM
    /// evaluates with them); otherwise nothing.</summary>
    public Asgd.AverageScope? Averaging() => Switched is { Steps: > 0 } averaged ? averaged.UseAverage() : null;

    /// <summary>Sets <paramref name="rate"/> for the Fit; disposing the scope takes it away again.</summary>
    public Scope For(Func<int, float>? rate)
    {
        Rate = rate;
        Next = 0;
        return new Scope(this);
    }

    public readonly struct Scope(FitState owner) : IDisposable
    {
        public void Dispose() => owner.Rate = null;
    }
}

/// <summary>The metrics one epoch reports, by the names early stopping monitors (Keras' names: "loss" for the training
/// objective, "val_" and the metric for the validation set).</summary>
internal sealed class EpochMetrics
{
    private readonly Dictionary<string, double> _values = new(StringComparer.Ordinal);

    /// <summary>The training objective as "loss", and the validation loss as "val_loss" when there is one.</summary>
    public EpochMetrics(double loss, double? validationLoss)
    {
        _values["loss"] = loss;
        WithValidation("loss", validationLoss);
    }

    public double Loss => _values["loss"];

    public double? ValidationLoss => _values.TryGetValue("val_loss", out double value) ? value : null;

    /// <summary>Adds a validation metric (name without "val_") when it was measured.</summary>
    public EpochMetrics WithValidation(string name, double? value)
    {
        if (value is { } measured)
            _values["val_" + name] = measured;
        return this;
    }

    public double this[string name] => _values[name];
}

/// <summary>A short SHA-256 digest of a data set's arrays, to tell a run backup's data from other data.</summary>
internal static class RunFingerprint
{
    public static string Of(string shape, params Array[] arrays)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes(shape));
        foreach (var array in arrays)
            switch (array)
            {
                case int[] ints:
                    hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(ints.AsSpan()));
                    break;
                case float[] floats:
                    hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(floats.AsSpan()));
                    break;
                default:
                    throw new ArgumentException($"No digest for {array.GetType().Name}.", nameof(arrays));
            }
        return $"{shape} {Convert.ToHexString(hash.GetHashAndReset())[..16]}";
    }
}
