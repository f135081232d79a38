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
}
