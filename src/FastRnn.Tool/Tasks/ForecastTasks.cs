using System.Diagnostics;
using System.Globalization;
using FastRnn.Data;
using FastRnn.Training;

namespace FastRnn.Tool;

// S2 of the brief: LSTM(64, return sequences) → Dropout(0.2) → LSTM(32) → Dense(1); L1 and L2 on the kernels,
// recurrent dropout, max-norm constraints; MSE, Adam, early stopping. Monthly sunspots, 24 months → the next.
[RnnModel, DenseInput(1), Lstm(64, RecurrentDropout = 0.2), Lstm(32, Dropout = 0.2, RecurrentDropout = 0.2),
 Head(1, Readout = Readout.LastStep), Loss(LossKind.MeanSquaredError)]
[Penalty(ParameterGroup.InputKernel, L1 = 1e-5, L2 = 1e-4), Penalty(ParameterGroup.RecurrentKernel, L1 = 1e-5, L2 = 1e-4)]
[Constraint(ParameterGroup.InputKernel, ConstraintKind.MaxNorm, Max = 3), Constraint(ParameterGroup.RecurrentKernel, ConstraintKind.MaxNorm, Max = 3)]
internal sealed partial class SunspotModel;

// S4 of the brief: GRU(128) × 2 with dropout 0.1 and L2(0.001) on the kernels → Dense(4); MSE, Adam 1e-3, batch 32.
// EuStockMarkets: the last 30 days of the four indices' daily log returns → the next day's four.
[RnnModel, DenseInput(4), Gru(128, Layers = 2, Dropout = 0.1), Head(4, Readout = Readout.LastStep), Loss(LossKind.MeanSquaredError)]
[Penalty(ParameterGroup.InputKernel, L2 = 1e-3), Penalty(ParameterGroup.RecurrentKernel, L2 = 1e-3)]
internal sealed partial class StockModel;

/// <summary>The reference models S2 (sunspots) and S4 (EuStockMarkets): forecasting windows over a series of
/// ../shared/data/timeseries, split chronologically 70/15/15 and standardized on the training part
/// (<see cref="ForecastWindows"/>). <c>--arm regularized</c> (the default) trains the model as declared,
/// <c>--arm plain</c> the same model with every rate, coefficient and max-norm switched off at run time (the same
/// compiled code, the same budget). Both report the test error in the data's units beside the task's naive baseline,
/// and end with one <c>RESULT {json}</c> line for tools/run_reference.sh.</summary>
public static class ForecastTasks
{
    private const int Batch = 32;

    private sealed record Task(string Name, string Title, string File, int Window, int MaxEpochs, int Patience, string Baseline);

    private static readonly Task s_s2 = new("s2", "S2 sunspots: LSTM(64) → dropout 0.2 → LSTM(32) → Dense(1); L1/L2 1e-5/1e-4, recurrent dropout 0.2, max-norm 3",
        "sunspot_month.csv", 24, 60, 8, "persistence (next month = this month)");

    private static readonly Task s_s4 = new("s4", "S4 EuStockMarkets: GRU(128) × 2, dropout 0.1, L2 1e-3 → Dense(4)",
        "eu_stock_markets.csv", 30, 30, 6, "zero return");

    public static int TrainS2(Options options, TextWriter output) => Train(s_s2, options, output);

    public static int TrainS4(Options options, TextWriter output) => Train(s_s4, options, output);

    private static float[][] Series(Task task, string folder)
    {
        string path = Path.Combine(folder, task.File);
        if (!File.Exists(path))
            throw new ArgumentException($"--data: no '{task.File}' in '{Path.GetFullPath(folder)}' (../shared/data/timeseries).");
        var table = CsvTable.Read(path);
        return task == s_s2
            ? table.Column("sunspots").Select(v => new[] { v }).ToArray()
            : ForecastWindows.LogReturns(table.Rows.Select(r => new[] { r[1], r[2], r[3], r[4] }).ToArray()); // DAX, SMI, CAC, FTSE
    }

    private static SequenceSet Windows(ForecastWindows data, Split split)
    {
        int count = data.Count(split), steps = data.Window, features = data.Features;
        var set = new SequenceSet(count, steps, features, tokens: false, outputs: features, classes: false);
        for (int i = 0; i < count; i++)
        {
            data.Get(split, i, set.Dense.AsSpan(i * steps * features, steps * features), set.Values.AsSpan(i * features, features));
            set.Lengths[i] = steps;
        }
        return set;
    }

    /// <summary>Mean squared error in the data's units (the standardization undone) of the model's forecasts and of
    /// the naive baseline on <paramref name="set"/>.</summary>
    private static (double Model, double Baseline) TestErrors(SequenceTrainer trainer, SequenceSet set, ForecastWindows data, bool persistence)
    {
        int features = set.Outputs, steps = set.Steps;
        var forecasts = new float[set.Count * features];
        trainer.Predict(set, forecasts);
        double modelSquares = 0, baselineSquares = 0;
        for (int i = 0; i < set.Count; i++)
            for (int f = 0; f < features; f++)
            {
                double scale = data.Scale[f], mean = data.Mean[f];
                double target = set.Values[i * features + f] * scale + mean;
                double forecast = forecasts[i * features + f] * scale + mean;
                double naive = persistence ? set.Dense[(i * steps + steps - 1) * features + f] * scale + mean : 0;
                modelSquares += (forecast - target) * (forecast - target);
                baselineSquares += (naive - target) * (naive - target);
            }
        double n = (double)set.Count * features;
        return (modelSquares / n, baselineSquares / n);
    }

    public static int SweepS2(Options options, TextWriter output) => Sweep(s_s2, options, output);

    public static int SweepS4(Options options, TextWriter output) => Sweep(s_s4, options, output);

    /// <summary><c>fastrnn sweep --task s2|s4</c>: the regularized model once per setting of its run-time options (the
    /// brief's search over S2's penalty coefficients by default), ranked by the best validation MSE.</summary>
    private static int Sweep(Task task, Options options, TextWriter output)
    {
        int seed = options.WholeNumber("seed", 1), epochs = options.WholeNumber("epochs", task.MaxEpochs);
        string defaultGrid = task == s_s2 ? "InputKernelL2=0,1e-4,1e-3,1e-2;RecurrentKernelL2=0,1e-4,1e-3,1e-2" : "InputKernelL2=0,1e-4,1e-3,1e-2;Layer0Dropout=0,0.1,0.3";
        var settings = SweepGrid.Settings(options, defaultGrid, seed);
        var probe = Build(task, seed, plain: false).Model.Options;
        foreach (var setting in settings)
            SweepGrid.Apply(probe, setting); // every name and value checked before any data is read
        var data = new ForecastWindows(Series(task, options.Text("data", Path.Combine("..", "shared", "data", "timeseries"))), task.Window);
        var (train, validation) = (Windows(data, Split.Train), Windows(data, Split.Validation));
        output.WriteLine($"fastrnn sweep --task {task.Name}: {settings.Count} settings × up to {epochs} epochs (early stopping, patience {task.Patience}), seed {seed}");
        var results = SweepGrid.Run(options, output, settings.Count, (i, pool) =>
        {
            var (model, trainer, stopping) = Build(task, seed, plain: false, pool);
            string label = SweepGrid.Apply(model.Options, settings[i]);
            var clock = Stopwatch.StartNew();
            var history = trainer.Fit(train, validation, epochs, earlyStopping: stopping);
            int best = Enumerable.Range(0, history.Count).MinBy(e => history[e].Validation!.Loss);
            return new SweepGrid.Trial(label, history[best].Validation!.Loss, best + 1, clock.Elapsed.TotalSeconds,
                $"  {label}: best validation MSE {history[best].Validation!.Loss:F4} at epoch {best + 1} ({clock.Elapsed.TotalSeconds:F0} s)");
        });
        SweepGrid.Report(options, output, "valid MSE (std.)", "F4", results);
        return 0;
    }

    private static (ISequenceModel Model, SequenceTrainer Trainer, EarlyStopping Stopping) Build(Task task, int seed, bool plain, ComputePool? pool = null)
    {
        ISequenceModel model = task == s_s2 ? new SunspotModel(Batch, task.Window, (ulong)seed) : new StockModel(Batch, task.Window, (ulong)seed);
        if (plain)
            Options.SwitchOff(model.Options);
        var trainer = new SequenceTrainer(model, new Adam(model, 1e-3f), (ulong)seed) { Pool = pool };
        return (model, trainer, new EarlyStopping("val_loss", patience: task.Patience, restoreBestWeights: true));
    }

    private static int Train(Task task, Options options, TextWriter output)
    {
        int seed = options.WholeNumber("seed", 1), epochs = options.WholeNumber("epochs", task.MaxEpochs);
        bool plain = options.PlainArm();
        string arm = plain ? "plain" : "regularized";
        var series = Series(task, options.Text("data", Path.Combine("..", "shared", "data", "timeseries")));
        var data = new ForecastWindows(series, task.Window);
        var (train, validation, test) = (Windows(data, Split.Train), Windows(data, Split.Validation), Windows(data, Split.Test));
        var (_, trainer, stopping) = Build(task, seed, plain, options.Pool());
        output.WriteLine($"fastrnn train --task {task.Name} --arm {arm}: {task.Title}" + (plain ? " (all off at run time)" : ""));
        output.WriteLine($"  {train.Count} / {validation.Count} / {test.Count} windows of {task.Window} steps (chronological 70/15/15), " +
            $"batch {Batch}, Adam 1e-3, early stopping on validation loss (patience {task.Patience}, best weights restored), " +
            $"at most {epochs} epochs, seed {seed}");
        var clock = Stopwatch.StartNew();
        trainer.Fit(train, validation, epochs, earlyStopping: stopping, backup: options.Backup(), onEpoch: record =>
            output.WriteLine($"epoch {record.Epoch + 1,3}  train loss {record.TrainLoss:F4}  valid loss {record.Validation!.Loss:F4}  {record.Seconds:F1} s"));
        double seconds = clock.Elapsed.TotalSeconds;
        var history = trainer.History;
        int best = Enumerable.Range(0, history.Count).MinBy(i => history[i].Validation!.Loss);
        var trainMetrics = trainer.Evaluate(train);
        var validationMetrics = trainer.Evaluate(validation);
        var (testMse, baselineMse) = TestErrors(trainer, test, data, persistence: task == s_s2);
        Plots.CurvesIfAsked(options, output, $"{task.Name} ({arm})", "MSE (standardized)",
            ("train", history.Select(r => r.TrainLoss).ToArray()), ("validation", history.Select(r => r.Validation!.Loss).ToArray()));
        string units = task == s_s2 ? "sunspots" : "log return";
        output.WriteLine($"best epoch {best + 1} of {history.Count}; standardized MSE: train {trainMetrics.Loss:F4}, validation {validationMetrics.Loss:F4}");
        output.WriteLine($"test RMSE {Math.Sqrt(testMse):G4} {units} (MSE {testMse:G4}); {task.Baseline}: RMSE {Math.Sqrt(baselineMse):G4} (MSE {baselineMse:G4}); " +
            $"{seconds:F1} s");
        output.WriteLine("RESULT " + string.Create(CultureInfo.InvariantCulture,
            $"{{\"task\":\"{task.Name}\",\"arm\":\"{arm}\",\"seed\":{seed},\"epochs\":{history.Count},\"best_epoch\":{best + 1}," +
            $"\"train_mse\":{trainMetrics.Loss:G6},\"valid_mse\":{validationMetrics.Loss:G6},\"test_mse\":{testMse:G6},\"test_rmse\":{Math.Sqrt(testMse):G6}," +
            $"\"baseline_mse\":{baselineMse:G6},\"baseline_rmse\":{Math.Sqrt(baselineMse):G6},\"seconds\":{seconds:F1}}}"));
        return 0;
    }
}
