using System.Diagnostics;
using System.Globalization;
using FastRnn.Data;
using FastRnn.Training;

namespace FastRnn.Tool;

// The forecaster of train --csv: the target's last W values (standardized) → LSTM(32) → the next value.
[RnnModel, DenseInput(1), Lstm(32), Head(1, Readout = Readout.LastStep), Loss(LossKind.MeanSquaredError)]
internal sealed partial class CsvForecastModel;

/// <summary><c>fastrnn train --csv FILE --target COLUMN [--window N]</c>: a forecaster of one column of a user's table.
/// <para>The file: a header row of column names, then one row per time step, oldest first, cells separated by commas
/// (no quoted commas; blank lines are skipped). Only the target column is read, and each of its cells must be a finite
/// number; the other columns may hold anything (dates, labels). The model sees the target series alone.</para>
/// <para>Windows of N consecutive values predict the next one; the windows are split chronologically 70/15/15
/// (<see cref="ForecastWindows"/>, standardized on the training part), so the table needs at least N + 7 rows. Adam 2e-3,
/// gradient norm clipped to 1, batch 32, early stopping on the validation loss (patience <see cref="Patience"/>, best
/// weights restored). It reports the test RMSE and MAE in the column's units beside the persistence baseline (the last
/// observed value as the forecast). A bad file is an argument error naming the file, the line and the problem, before
/// anything is trained or written.</para></summary>
public static class CsvTask
{
    /// <summary>Steps per window without <c>--window</c>.</summary>
    public const int DefaultWindow = 24;

    /// <summary>Epochs at most without <c>--epochs</c>.</summary>
    public const int DefaultEpochs = 50;

    /// <summary>Epochs without a better validation loss before the run stops.</summary>
    public const int Patience = 5;

    private const int Batch = 32;

    /// <summary>The numbers of column <paramref name="target"/> of the CSV file <paramref name="path"/>, oldest first.</summary>
    public static float[] ReadColumn(string path, string target)
    {
        if (path.Trim().Length == 0)
            throw new ArgumentException("--csv needs the path of a file.");
        if (!File.Exists(path))
            throw new ArgumentException($"--csv: no file at '{Path.GetFullPath(path)}'.");
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"--csv: cannot read '{path}': {e.Message}");
        }
        int headerLine = Array.FindIndex(lines, l => l.Trim().Length > 0);
        if (headerLine < 0)
            throw new ArgumentException($"--csv: '{path}' is empty; it needs a header row of column names, then one row of values per time step.");
        var columns = Cells(lines[headerLine]);
        int index = Array.IndexOf(columns, target);
        if (index < 0)
            throw new ArgumentException($"{path}:{headerLine + 1}: no column '{target}' for --target; the columns are {string.Join(", ", columns.Select(c => $"'{c}'"))}.");
        if (Array.IndexOf(columns, target, index + 1) >= 0)
            throw new ArgumentException($"{path}:{headerLine + 1}: two columns are named '{target}'.");
        var values = new List<float>();
        for (int i = headerLine + 1; i < lines.Length; i++)
        {
            if (lines[i].Trim().Length == 0)
                continue;
            var cells = Cells(lines[i]);
            if (cells.Length != columns.Length)
                throw new ArgumentException($"{path}:{i + 1}: {cells.Length} cells; the header names {columns.Length} columns.");
            string cell = cells[index];
            if (cell.Length == 0)
                throw new ArgumentException($"{path}:{i + 1}: the cell of column '{target}' is empty.");
            if (!float.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out float value) || !float.IsFinite(value))
                throw new ArgumentException($"{path}:{i + 1}: '{cell}' in column '{target}' is not a number.");
            values.Add(value);
        }
        if (values.Count == 0)
            throw new ArgumentException($"--csv: '{path}' has a header row but no rows of values.");
        return values.ToArray();
    }

    private static string[] Cells(string line) => line.Split(',').Select(c => c.Trim().Trim('"').Trim()).ToArray();

    /// <summary>The windows of <paramref name="series"/>, split and standardized, or an argument error when the series is
    /// too short to give each part a window.</summary>
    public static ForecastWindows Windows(float[] series, int window, string path)
    {
        int rows = window + 7; // 7 windows: 4 train, 1 validate, 2 test under the 70/15/15 split
        if (series.Length < rows)
            throw new ArgumentException($"--csv: '{path}' has {series.Length} rows of values; windows of {window} step{(window == 1 ? "" : "s")}, " +
                $"split 70/15/15 into training, validation and test windows, need at least {rows}{(window > 1 ? " (a smaller --window needs fewer)" : "")}.");
        var data = new ForecastWindows(series.Select(v => new[] { v }).ToArray(), window);
        if (data.TrainCount < 1 || data.ValidationCount < 1 || data.TestCount < 1)
            throw new ArgumentException($"--csv: '{path}' gives {data.TrainCount} / {data.ValidationCount} / {data.TestCount} windows; each part needs one.");
        return data;
    }

    private static SequenceSet Set(ForecastWindows data, Split split)
    {
        int count = data.Count(split), steps = data.Window;
        var set = new SequenceSet(count, steps, 1, tokens: false, outputs: 1, classes: false);
        for (int i = 0; i < count; i++)
        {
            data.Get(split, i, set.Dense.AsSpan(i * steps, steps), set.Values.AsSpan(i, 1));
            set.Lengths[i] = steps;
        }
        return set;
    }

    /// <summary>(RMSE, MAE) in the data's units of the model and of the persistence forecast over <paramref name="set"/>.</summary>
    private static ((double Rmse, double Mae) Model, (double Rmse, double Mae) Persistence) Errors(SequenceTrainer trainer, SequenceSet set, ForecastWindows data)
    {
        var forecasts = new float[set.Count];
        trainer.Predict(set, forecasts);
        double scale = data.Scale[0], mean = data.Mean[0];
        double squares = 0, absolute = 0, naiveSquares = 0, naiveAbsolute = 0;
        for (int i = 0; i < set.Count; i++)
        {
            double target = set.Values[i] * scale + mean;
            double model = forecasts[i] * scale + mean - target;
            double naive = set.Dense[i * set.Steps + set.Steps - 1] * scale + mean - target;
            squares += model * model;
            absolute += Math.Abs(model);
            naiveSquares += naive * naive;
            naiveAbsolute += Math.Abs(naive);
        }
        return ((Math.Sqrt(squares / set.Count), absolute / set.Count), (Math.Sqrt(naiveSquares / set.Count), naiveAbsolute / set.Count));
    }

    /// <summary>Reads and checks the file, trains with early stopping and reports the test errors beside persistence's,
    /// ending with a RESULT line; <c>--out</c> saves the model's checkpoint, <c>--plot</c> the curves.</summary>
    public static int Train(Options options, TextWriter output)
    {
        string path = options.Text("csv", ""), target = options.Text("target", "");
        int window = options.WholeNumber("window", DefaultWindow), epochs = options.WholeNumber("epochs", DefaultEpochs), seed = options.WholeNumber("seed", 1);
        var data = Windows(ReadColumn(path, target), window, path);
        var (train, validation, test) = (Set(data, Split.Train), Set(data, Split.Validation), Set(data, Split.Test));
        var model = new CsvForecastModel(Batch, window, (ulong)seed);
        var optimizer = new Adam(model, 2e-3f) { Clipping = { MaxGlobalNorm = 1f } };
        var trainer = new SequenceTrainer(model, optimizer, (ulong)seed) { Pool = options.Pool() };
        var stopping = new EarlyStopping("val_loss", patience: Patience, restoreBestWeights: true);
        output.WriteLine($"fastrnn train --csv {path} --target {target}: LSTM(32) → Dense(1) on the last {window} values of '{target}'");
        output.WriteLine($"  {train.Count} / {validation.Count} / {test.Count} windows (chronological 70/15/15, standardized on the training part), " +
            $"batch {Batch}, Adam 2e-3, clip 1, early stopping on validation loss (patience {Patience}, best weights restored), " +
            $"at most {epochs} epochs, seed {seed}");
        var clock = Stopwatch.StartNew();
        trainer.Fit(train, validation, epochs, earlyStopping: stopping, backup: options.Backup(), onEpoch: record =>
            output.WriteLine($"epoch {record.Epoch + 1,3}  train loss {record.TrainLoss:F4}  valid loss {record.Validation!.Loss:F4}  {record.Seconds:F1} s"));
        var history = trainer.History;
        int best = Enumerable.Range(0, history.Count).MinBy(i => history[i].Validation!.Loss);
        var (errors, persistence) = Errors(trainer, test, data);
        Plots.CurvesIfAsked(options, output, $"{Path.GetFileName(path)}: {target}", "MSE (standardized)",
            ("train", history.Select(r => r.TrainLoss).ToArray()), ("validation", history.Select(r => r.Validation!.Loss).ToArray()));
        output.WriteLine($"best epoch {best + 1} of {history.Count}; test ({test.Count} windows, in the units of '{target}'): " +
            $"RMSE {errors.Rmse:G4}, MAE {errors.Mae:G4}; persistence baseline (the last observed value): RMSE {persistence.Rmse:G4}, " +
            $"MAE {persistence.Mae:G4}; {clock.Elapsed.TotalSeconds:F1} s");
        output.WriteLine("RESULT " + string.Create(CultureInfo.InvariantCulture,
            $"{{\"task\":\"csv\",\"target\":{System.Text.Json.JsonSerializer.Serialize(target)},\"window\":{window},\"seed\":{seed}," +
            $"\"epochs\":{history.Count},\"best_epoch\":{best + 1},\"test_rmse\":{errors.Rmse:G6},\"test_mae\":{errors.Mae:G6}," +
            $"\"baseline_rmse\":{persistence.Rmse:G6},\"baseline_mae\":{persistence.Mae:G6},\"seconds\":{clock.Elapsed.TotalSeconds:F1}}}"));
        if (options.Text("out", "") is { Length: > 0 } checkpoint)
        {
            Checkpoint.Save(checkpoint, model, optimizer, new Dictionary<string, string>
            {
                ["task"] = "csv",
                ["target"] = target,
                ["window"] = window.ToString(CultureInfo.InvariantCulture),
                ["mean"] = data.Mean[0].ToString("R", CultureInfo.InvariantCulture),
                ["scale"] = data.Scale[0].ToString("R", CultureInfo.InvariantCulture),
            });
            output.WriteLine($"saved {checkpoint}");
        }
        return 0;
    }
}
