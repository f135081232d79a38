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
