namespace FastRnn.Serving.Sessions;

/// <summary>Closes idle sessions: every quarter of the idle timeout (between 0.1 s and 30 s).</summary>
internal sealed class SessionSweeper(SessionStore sessions, ServingOptions options) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var period = TimeSpan.FromTicks(Math.Clamp(options.SessionIdleTimeout.Ticks / 4, TimeSpan.FromMilliseconds(100).Ticks, TimeSpan.FromSeconds(30).Ticks));
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
                sessions.Expire();
        }
        catch (OperationCanceledException)
        {
            // the server is stopping
        }
    }
}
