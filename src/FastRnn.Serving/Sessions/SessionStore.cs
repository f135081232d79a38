using System.Collections.Concurrent;
using FastRnn.Serving.Diagnostics;
using FastRnn.Serving.Models;
using Grpc.Core;

namespace FastRnn.Serving.Sessions;

/// <summary>The open sessions of every served model, by id: opening (within <see cref="ServingOptions.MaxSessions"/>),
/// finding, closing, and closing those idle longer than <see cref="ServingOptions.SessionIdleTimeout"/>.</summary>
public sealed class SessionStore
{
    private readonly ConcurrentDictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    private readonly ModelCatalog _models;
    private readonly ServingOptions _options;
    private readonly ServingMetrics _metrics;
    private int _open;

    public SessionStore(ModelCatalog models, ServingOptions options, ServingMetrics metrics)
    {
        _models = models;
        _options = options;
        _metrics = metrics;
    }

    public ModelCatalog Catalog => _models;

    public int Count => Volatile.Read(ref _open);

    public int CountOf(ServedModel model) => _sessions.Values.Count(s => s.Model == model);

    public Session Open(string modelName)
    {
        var model = _models.Get(modelName);
        if (Interlocked.Increment(ref _open) > _options.MaxSessions)
        {
            Interlocked.Decrement(ref _open);
            _metrics.Refused(StatusCode.ResourceExhausted);
            throw new ServingException(StatusCode.ResourceExhausted, $"The server holds its limit of {_options.MaxSessions} sessions; close one or retry later.");
        }
        var session = new Session(Guid.NewGuid().ToString("N"), model);
        _sessions[session.Id] = session;
        _metrics.SessionOpened(model.Name);
        return session;
    }

    public Session Find(string id) => _sessions.TryGetValue(id ?? "", out var session)
        ? session
        : throw ServingException.NotFound($"No session '{id}' (never opened, closed, or expired after {_options.SessionIdleTimeout.TotalSeconds:0} s idle).");

    /// <summary>Closes a session: its frame in progress, if any, finishes first. Returns its steps.</summary>
    public async Task<long> CloseAsync(string id)
    {
        var session = Find(id);
        await session.Gate.WaitAsync().ConfigureAwait(false);
        try
        {
            Remove(session);
            return session.Position;
        }
        finally
        {
            session.Gate.Release();
        }
    }

    /// <summary>Closes every session idle longer than the timeout (a session in a frame is never idle); returns how many.</summary>
    public int Expire()
    {
        long cutoff = Environment.TickCount64 - (long)_options.SessionIdleTimeout.TotalMilliseconds;
        int closed = 0;
        foreach (var session in _sessions.Values)
        {
            if (session.LastActive > cutoff || !session.Gate.Wait(0))
                continue;
            try
            {
                if (session.LastActive <= cutoff && !session.Closed)
                {
                    Remove(session);
                    closed++;
                }
            }
            finally
            {
                session.Gate.Release();
            }
        }
        return closed;
    }

    private void Remove(Session session)
    {
        if (session.Closed)
            return;
        session.Closed = true;
        _sessions.TryRemove(session.Id, out _);
        Interlocked.Decrement(ref _open);
        _metrics.SessionClosed(session.Model.Name);
    }
}
