namespace FastRnn.Serving.Models;

/// <summary>The models a server (or a silo) serves, by name.</summary>
public sealed class ModelCatalog : IDisposable
{
    private readonly Dictionary<string, ServedModel> _models;

    public ModelCatalog(IEnumerable<ServedModel> models)
    {
        ArgumentNullException.ThrowIfNull(models);
        _models = new Dictionary<string, ServedModel>(StringComparer.Ordinal);
        foreach (var model in models)
            if (!_models.TryAdd(model.Name, model))
                throw new ArgumentException($"Two models are named '{model.Name}'.", nameof(models));
        if (_models.Count == 0)
            throw new ArgumentException("Serve at least one model.", nameof(models));
    }

    public IReadOnlyCollection<ServedModel> All => _models.Values;

    /// <summary>The model named <paramref name="name"/>, or NOT_FOUND naming the ones there are.</summary>
    public ServedModel Get(string? name) => _models.TryGetValue(name ?? "", out var model)
        ? model
        : throw ServingException.NotFound($"No model '{name}'; this server serves {string.Join(", ", _models.Keys.Select(k => $"'{k}'"))}.");

    public void Dispose()
    {
        foreach (var model in _models.Values)
            model.Dispose();
    }
}
