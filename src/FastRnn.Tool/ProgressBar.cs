namespace FastRnn.Tool;

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
