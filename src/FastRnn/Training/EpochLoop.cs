using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FastRnn.Training;

/// <summary>The epoch loop both trainers share: the learning-rate hook before each epoch, the record kept and shown,
/// reduce-on-plateau and early stopping on the epoch's monitored value (restoring the best weights at the end when it
/// is asked to), and, with a backup path, the run saved after every epoch and resumed from that file.</summary>
internal static class EpochLoop
{
    /// <summary>One optimizer step from the loss just computed: clear the gradients, backpropagate, update.</summary>
    public static void Update(ISequenceModel model, Optimizer optimizer)
    {
        model.ZeroGrad();
        model.Backward();
        optimizer.Step();
    }

    private const string BackupFormat = "fastrnn-run-1";
    private const string BestWeights = "early_stopping.best_weights";

    private static readonly JsonSerializerOptions RecordJson = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static void Run<TRecord>(ISequenceModel model, Optimizer optimizer, int epochs, FitHooks hooks, List<TRecord> history,
        Action<TRecord>? onEpoch, Func<int, (TRecord Record, double Monitored)> epoch)
    {
        if (hooks.LearningRate is not null && hooks.Plateau is not null)
            throw new ArgumentException("Give either a learning-rate schedule or reduce-on-plateau, not both: each sets the rate.");
        var (earlyStopping, plateau, backup) = (hooks.EarlyStopping, hooks.Plateau, hooks.Backup);
        earlyStopping?.Begin(model);
        var run = new List<TRecord>();
        int start = 0;
        bool stopped = false;
        if (backup is not null && File.Exists(backup))
        {
            (start, stopped) = Resume(backup, model, optimizer, earlyStopping, plateau, run);
            history.AddRange(run);
        }
        for (int e = start; e < epochs && !stopped; e++)
        {
            if (hooks.LearningRate is not null)
                optimizer.LearningRate = hooks.LearningRate(e);
            var (record, monitored) = epoch(e);
            history.Add(record);
            run.Add(record);
            onEpoch?.Invoke(record);
            plateau?.Step(monitored);
            stopped = earlyStopping is not null && earlyStopping.EndEpoch(e, (float)monitored);
            if (backup is not null)
                Save(backup, model, optimizer, earlyStopping, plateau, run, e + 1, stopped);
        }
        earlyStopping?.End();
    }

    /// <summary>Everything the loop needs to continue where it stopped, in one checkpoint written atomically: the
    /// model, the optimizer and the mask counter (as <see cref="Checkpoint"/> keeps them), the next epoch, whether
    /// early stopping ended the run, this run's records, and the early-stopping and plateau state with the best
    /// weights. The learning-rate schedule and the shuffling are functions of the epoch and need no state.</summary>
    private static void Save<TRecord>(string path, ISequenceModel model, Optimizer optimizer, EarlyStopping? earlyStopping,
        ReduceOnPlateau? plateau, List<TRecord> run, int nextEpoch, bool stopped)
    {
        var progress = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["run.format"] = BackupFormat,
            ["run.next_epoch"] = nextEpoch.ToString(CultureInfo.InvariantCulture),
            ["run.stopped"] = stopped ? "true" : "false",
            ["run.records"] = JsonSerializer.Serialize(run, RecordJson),
        };
        var arrays = new Dictionary<string, float[]>(StringComparer.Ordinal);
        earlyStopping?.WriteState(progress);
        if (earlyStopping?.BestWeights is { } best)
            arrays[BestWeights] = best;
        plateau?.WriteState(progress);
        Checkpoint.Save(path, model, optimizer, progress, arrays);
    }

    private static (int NextEpoch, bool Stopped) Resume<TRecord>(string path, ISequenceModel model, Optimizer optimizer,
        EarlyStopping? earlyStopping, ReduceOnPlateau? plateau, List<TRecord> run)
    {
        List<TRecord>? records = null;
        void Validate(IReadOnlyDictionary<string, string> progress, IReadOnlyDictionary<string, float[]> arrays)
        {
            InvalidDataException Refuse(string why) => new($"Run backup '{path}' cannot resume this Fit: {why}.");
            if (progress.GetValueOrDefault("run.format") != BackupFormat)
                throw Refuse("it is a checkpoint but not one written by a trainer's Fit");
            Same("early stopping", "early_stopping.settings", earlyStopping?.Settings);
            Same("reduce-on-plateau", "plateau.settings", plateau?.Settings);
            if (earlyStopping?.RestoreBestWeights == true && progress["early_stopping.has_best_weights"] == "true"
                && arrays.GetValueOrDefault(BestWeights)?.Length != model.Parameters.Length)
                throw Refuse($"its best weights are not {model.Parameters.Length} floats");
            try
            {
                records = JsonSerializer.Deserialize<List<TRecord>>(progress["run.records"], RecordJson);
            }
            catch (JsonException e)
            {
                throw Refuse($"its epoch records are not those of this trainer ({e.Message})");
            }
            if (records is null || records.Count != int.Parse(progress["run.next_epoch"], CultureInfo.InvariantCulture))
                throw Refuse("its epoch records do not match its epoch count");

            void Same(string what, string key, string? settings)
            {
                string? saved = progress.GetValueOrDefault(key);
                if (saved != settings)
                    throw Refuse($"its {what} was {saved ?? "not used"}, this Fit's is {settings ?? "not used"}");
            }
        }
        var progress = Checkpoint.Load(path, model, optimizer, Validate, out var arrays);
        earlyStopping?.ReadState(progress, arrays.GetValueOrDefault(BestWeights));
        plateau?.ReadState(progress);
        run.AddRange(records!);
        return (int.Parse(progress["run.next_epoch"], CultureInfo.InvariantCulture), progress["run.stopped"] == "true");
    }
}

/// <summary>The optional parts of a Fit, as its parameters document them.</summary>
internal readonly record struct FitHooks(Func<int, float>? LearningRate, EarlyStopping? EarlyStopping, ReduceOnPlateau? Plateau, string? Backup);
