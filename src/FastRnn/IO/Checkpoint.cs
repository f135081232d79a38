using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace FastRnn;

/// <summary>
/// A training run's state in one safetensors file: the weights and any batch-normalization statistics (PyTorch names
/// and layout, as
/// <see cref="ModelWeights"/> writes them), the optimizer's state arrays and scalars, the model's run-time options
/// (mode, mask seed and counter, every rate by name) and the caller's progress (epoch, batch, data-order counters…).
/// Restoring it into a fresh model and optimizer of the same types continues the run bit for bit.
/// <para>Written atomically (a temporary file renamed over the target: a crash mid-write leaves the previous checkpoint
/// whole). A SHA-256 of every tensor and metadata entry is stored in the header and checked on load; a truncated,
/// corrupted or mismatched file is rejected with a message saying what is wrong, before anything changes.</para>
/// </summary>
public static class Checkpoint
{
    private const string Format = "fastrnn-checkpoint-1";

    public static void Save(string path, ISequenceModel model, Optimizer optimizer, IReadOnlyDictionary<string, string>? progress = null) =>
        Save(path, model, optimizer, progress, arrays: null);

    /// <summary>As the public Save, with the caller's own arrays (a trainer's best weights) stored as <c>run.</c> tensors.</summary>
    internal static void Save(string path, ISequenceModel model, Optimizer optimizer, IReadOnlyDictionary<string, string>? progress,
        IReadOnlyDictionary<string, float[]>? arrays)
    {
        var tensors = new List<(string Name, int[] Shape, float[] Data)>();
        foreach (var tensor in model.Tensors)
        {
            var values = new float[tensor.Count];
            tensor.Export(model.Parameters, values);
            tensors.Add(("model." + tensor.Name, tensor.PyTorchShape, values));
        }
        foreach (var tensor in model.StatisticTensors)
        {
            var values = new float[tensor.Count];
            tensor.Export(model.Statistics, values);
            tensors.Add(("model." + tensor.Name, tensor.PyTorchShape, values));
        }
        foreach (var (name, values) in optimizer.StateArrays())
            tensors.Add(("optimizer." + name, [values.Length], (float[])values.Clone()));
        if (arrays is not null)
            foreach (var (name, values) in arrays)
                tensors.Add(("run." + name, [values.Length], values));

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = Format,
            ["model.type"] = model.GetType().FullName ?? model.GetType().Name,
            ["model.parameters"] = model.Parameters.Length.ToString(CultureInfo.InvariantCulture),
            ["optimizer.type"] = optimizer.GetType().Name,
            ["options.training"] = model.Options.Training ? "true" : "false",
            ["options.seed"] = model.Options.Seed.ToString(CultureInfo.InvariantCulture),
            ["options.pass"] = model.Options.Pass.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var name in model.Options.Names)
            metadata["options.rate." + name] = model.Options[name].ToString("R", CultureInfo.InvariantCulture);
        var scalars = new Dictionary<string, string>(StringComparer.Ordinal);
        optimizer.WriteScalars(scalars);
        foreach (var (key, value) in scalars)
            metadata["optimizer." + key] = value;
        if (progress is not null)
            foreach (var (key, value) in progress)
                metadata["progress." + key] = value;
        metadata["sha256"] = Digest(tensors, metadata);
        Safetensors.Write(path, tensors, metadata);
    }

    /// <summary>Restores a checkpoint into <paramref name="model"/> and <paramref name="optimizer"/> (which must be of the
    /// types that wrote it) and returns the caller's progress entries. Everything is validated first: on any problem
    /// this throws <see cref="InvalidDataException"/> and changes nothing.</summary>
    public static IReadOnlyDictionary<string, string> Load(string path, ISequenceModel model, Optimizer optimizer) =>
        Load(path, model, optimizer, validate: null, out _);

    /// <summary>As the public Load, also returning the caller's <c>run.</c> arrays; <paramref name="validate"/> sees the
    /// progress entries and those arrays after every other check and before anything changes, and throws
    /// <see cref="InvalidDataException"/> to refuse the file.</summary>
    internal static IReadOnlyDictionary<string, string> Load(string path, ISequenceModel model, Optimizer optimizer,
        Action<IReadOnlyDictionary<string, string>, IReadOnlyDictionary<string, float[]>>? validate, out IReadOnlyDictionary<string, float[]> arrays)
    {
        var entries = Open(path, out var metadata);
        string Need(string key) => Header(path, metadata, key);
        string modelType = model.GetType().FullName ?? model.GetType().Name;
        if (Need("model.type") != modelType || Need("model.parameters") != model.Parameters.Length.ToString(CultureInfo.InvariantCulture))
            throw new InvalidDataException($"Checkpoint '{path}' is of model {Need("model.type")} ({Need("model.parameters")} floats); this model is {modelType} ({model.Parameters.Length}).");
        if (Need("optimizer.type") != optimizer.GetType().Name)
            throw new InvalidDataException($"Checkpoint '{path}' holds {Need("optimizer.type")} state; the optimizer is {optimizer.GetType().Name}.");
        CheckModelTensors(path, entries, model);
        var optimizerArrays = optimizer.StateArrays().ToList();
        foreach (var (name, values) in optimizerArrays)
            if (!entries.TryGetValue("optimizer." + name, out var entry) || entry.Data.Length != values.Length)
                throw new InvalidDataException($"Checkpoint '{path}' lacks optimizer state '{name}' of {values.Length} floats (the optimizer's settings differ?).");
        var scalars = new Dictionary<string, string>(StringComparer.Ordinal);
        optimizer.WriteScalars(scalars);
        // Every header value parsed before anything changes: a malformed one is refused like a missing one.
        double Number(string key) => double.TryParse(Need(key), NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
            ? value : throw new InvalidDataException($"Checkpoint '{path}' has '{Need(key)}' for '{key}', not a number.");
        ulong Counter(string key) => ulong.TryParse(Need(key), NumberStyles.None, CultureInfo.InvariantCulture, out ulong value)
            ? value : throw new InvalidDataException($"Checkpoint '{path}' has '{Need(key)}' for '{key}', not a counter.");
        var storedScalars = scalars.Keys.ToDictionary(k => k, k => Need("optimizer." + k), StringComparer.Ordinal);
        foreach (var key in scalars.Keys)
            Number("optimizer." + key);
        var rates = model.Options.Names.ToDictionary(n => n, n => (float)Number("options.rate." + n));
        bool training = Need("options.training") == "true";
        ulong seed = Counter("options.seed");
        ulong pass = Counter("options.pass");

        var progress = Progress(metadata);
        arrays = entries.Values.Where(e => e.Name.StartsWith("run.", StringComparison.Ordinal))
            .ToDictionary(e => e.Name["run.".Length..], e => e.Data, StringComparer.Ordinal);
        validate?.Invoke(progress, arrays);

        // Everything checked: apply, the rates first (their setters validate; a refused one puts the others back).
        var previous = model.Options.Names.ToDictionary(n => n, n => model.Options[n]);
        try
        {
            foreach (var (name, rate) in rates)
                model.Options[name] = rate;
        }
        catch (ArgumentException e)
        {
            foreach (var (name, rate) in previous)
                model.Options[name] = rate;
            throw new InvalidDataException($"Checkpoint '{path}' holds a rate this model refuses: {e.Message}", e);
        }
        ImportModelTensors(entries, model);
        foreach (var (name, values) in optimizerArrays)
            entries["optimizer." + name].Data.CopyTo(values, 0);
        optimizer.ReadScalars(storedScalars);
        model.Options.Training = training;
        model.Options.Seed = seed;
        model.Options.Pass = pass;
        return progress;
    }

    /// <summary>Loads only the model's weights (and batch normalizations' running statistics) from a checkpoint, without
    /// its optimizer or run-time settings: to serve a training run's checkpoint. The file is verified as
    /// <see cref="Load(string, ISequenceModel, Optimizer)"/> verifies it (format, SHA-256 of the whole content), and the model
    /// must have exactly its tensors, by name and shape; the declaring type may differ (a server may declare the same model
    /// anew). Returns the progress entries (a language model's vocabulary, say). On any problem this throws
    /// <see cref="InvalidDataException"/> and changes nothing.</summary>
    public static IReadOnlyDictionary<string, string> LoadWeights(string path, IRnnModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var entries = Open(path, out var metadata);
        CheckModelTensors(path, entries, model);
        int stored = entries.Keys.Count(k => k.StartsWith("model.", StringComparison.Ordinal));
        int expected = model.Tensors.Count + model.StatisticTensors.Count;
        if (stored != expected)
            throw new InvalidDataException($"Checkpoint '{path}' holds {stored} model tensors; this model has {expected}.");
        ImportModelTensors(entries, model);
        return Progress(metadata);
    }

    /// <summary>Reads a checkpoint and checks its format and digest.</summary>
    private static Dictionary<string, SafetensorsEntry> Open(string path, out Dictionary<string, string> metadata)
    {
        Dictionary<string, SafetensorsEntry> entries;
        try
        {
            entries = Safetensors.Read(path, out metadata);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"Checkpoint '{path}' is not a readable safetensors file: {e.Message}", e);
        }
        if (Header(path, metadata, "format") != Format)
            throw new InvalidDataException($"'{path}' is not a FastRnn checkpoint (format '{metadata["format"]}', expected '{Format}').");
        var stored = entries.Values.Select(e => (e.Name, e.Shape, e.Data)).ToList();
        if (Digest(stored, metadata) != Header(path, metadata, "sha256"))
            throw new InvalidDataException($"Checkpoint '{path}' is corrupted: its content does not match the SHA-256 in its header.");
        return entries;
    }

    private static string Header(string path, Dictionary<string, string> metadata, string key) => metadata.TryGetValue(key, out var value)
        ? value
        : throw new InvalidDataException($"Checkpoint '{path}' lacks '{key}' in its header.");

    /// <summary>Every model tensor and statistic is in the file with its shape.</summary>
    private static void CheckModelTensors(string path, Dictionary<string, SafetensorsEntry> entries, IRnnModel model)
    {
        foreach (var tensor in model.Tensors.Concat(model.StatisticTensors))
        {
            if (!entries.TryGetValue("model." + tensor.Name, out var entry))
                throw new InvalidDataException($"Checkpoint '{path}' lacks tensor '{tensor.Name}'.");
            if (!entry.Shape.SequenceEqual(tensor.PyTorchShape))
                throw new InvalidDataException($"Tensor '{tensor.Name}' in '{path}' has shape ({string.Join(", ", entry.Shape)}); the model expects ({string.Join(", ", tensor.PyTorchShape)}).");
        }
    }

    private static void ImportModelTensors(Dictionary<string, SafetensorsEntry> entries, IRnnModel model)
    {
        foreach (var tensor in model.Tensors)
            tensor.Import(entries["model." + tensor.Name].Data, model.Parameters);
        foreach (var tensor in model.StatisticTensors)
            tensor.Import(entries["model." + tensor.Name].Data, model.Statistics);
    }

    private static Dictionary<string, string> Progress(Dictionary<string, string> metadata) =>
        metadata.Where(p => p.Key.StartsWith("progress.", StringComparison.Ordinal))
            .ToDictionary(p => p.Key["progress.".Length..], p => p.Value, StringComparer.Ordinal);

    /// <summary>SHA-256 over every tensor (name, shape, data) in name order and every metadata pair but the digest itself.</summary>
    private static string Digest(IEnumerable<(string Name, int[] Shape, float[] Data)> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, shape, data) in tensors.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            hash.AppendData(Encoding.UTF8.GetBytes($"{name}({string.Join(",", shape)})"));
            hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
        }
        foreach (var (key, value) in metadata.Where(p => p.Key != "sha256").OrderBy(p => p.Key, StringComparer.Ordinal))
            hash.AppendData(Encoding.UTF8.GetBytes($"{key}={value}\n"));
        return Convert.ToHexString(hash.GetHashAndReset());
    }
}
