namespace FastRnn.Tool;

/// <summary>Training curves as PNG files (ScottPlot, drawn by SkiaSharp).</summary>
public static class Plots
{
    /// <summary>Writes one line per series against the epoch (1, 2, …) to <paramref name="path"/>.</summary>
    public static void Curves(string path, string title, string yLabel, params (string Name, double[] Values)[] series)
    {
        var plot = new ScottPlot.Plot();
        foreach (var (name, values) in series)
        {
            if (values.Length == 0)
                continue;
            var line = plot.Add.Scatter(Enumerable.Range(1, values.Length).Select(i => (double)i).ToArray(), values);
            line.LegendText = name;
        }
        plot.Title(title);
        plot.XLabel("epoch");
        plot.YLabel(yLabel);
        plot.ShowLegend();
        plot.SavePng(path, 800, 500);
    }

    /// <summary>With <c>--plot FILE</c>, writes the curves there and says so; otherwise does nothing.</summary>
    public static void CurvesIfAsked(Options options, TextWriter output, string title, string yLabel, params (string Name, double[] Values)[] series)
    {
        if (options.Text("plot", "") is not { Length: > 0 } path)
            return;
        Curves(path, title, yLabel, series);
        output.WriteLine($"plot: {path}");
    }

    /// <summary>One horizontal bar per labelled value, the first at the top (a sweep's ranking, best first).</summary>
    public static void Bars(string path, string title, string xLabel, params (string Label, double Value)[] bars)
    {
        var plot = new ScottPlot.Plot();
        var positions = Enumerable.Range(0, bars.Length).Select(i => (double)(bars.Length - 1 - i)).ToArray();
        var barPlot = plot.Add.Bars(positions, bars.Select(b => b.Value).ToArray());
        barPlot.Horizontal = true;
        plot.Axes.Left.SetTicks(positions, bars.Select(b => b.Label).ToArray());
        plot.Axes.Margins(left: 0);
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.SavePng(path, 900, 120 + 60 * bars.Length);
    }
}

/// <summary>A one-line progress bar with rate and ETA, redrawn in place (only on an interactive console).</summary>
public sealed class ProgressBar(TextWriter output, string unit, long unitsPerStep)
{
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private int _lastPercent = -1;
    private int _first;

    /// <summary>True when the output is a terminal (a redirected or captured output gets per-epoch lines only).</summary>
    public static bool Interactive(TextWriter output) => ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;

    /// <summary>Reports <paramref name="done"/> of <paramref name="total"/> steps; the first step of a pass starts the clock.</summary>
    public void Report(int done, int total)
    {
        if (done == 1)
        {
            _clock.Restart();
            _first = 1;
            _lastPercent = -1;
            return;
        }
        int percent = (int)(100L * done / total);
        if (percent == _lastPercent)
            return;
        _lastPercent = percent;
        double seconds = _clock.Elapsed.TotalSeconds;
        double perStep = seconds / (done - _first);
        double rate = unitsPerStep / Math.Max(perStep, 1e-9);
        var eta = TimeSpan.FromSeconds(perStep * (total - done));
        string bar = new string('#', percent / 5).PadRight(20, '.');
        output.Write($"\r  [{bar}] {percent,3}%  {rate:N0} {unit}/s  eta {eta:m\\:ss}   ");
        if (done == total)
            output.Write("\r" + new string(' ', 70) + "\r");
    }
}
