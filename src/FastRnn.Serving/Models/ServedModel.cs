using System.Diagnostics;
using System.Globalization;
using FastRnn.Serving.Batching;
using FastRnn.Serving.Diagnostics;

namespace FastRnn.Serving.Models;

/// <summary>
/// A model the server serves under a name: its declaration (a generated model type, made by <c>create</c>), the weights
/// it serves now (<see cref="Weights"/>, swapped atomically by <see cref="Swap"/>), and its step engine — the batcher that
/// gathers concurrent sessions' steps into one batched step, or, with batching off, each session's step on its own.
/// </summary>
/// <remarks>
/// Every step of a session is computed as a row of a batch of an even number of rows (an odd batch gets a row of
/// padding), so a session's outputs are the same bits whether it was batched with no other session or with a thousand,
/// and with batching on or off: the generated kernels give a row of a batch of 2, 4, … the same sums, while a lone row
/// (and a batch's odd last row) takes a differently ordered kernel.
/// </remarks>
public sealed class ServedModel : IDisposable
{
    private readonly Func<ISequenceModel> _create;
    private readonly WeightPrecision? _precision;
    private readonly ServingMetrics _metrics;
    private readonly ThreadLocal<BatchBuffers> _ownBuffers;
    private readonly Lock _swapGate = new();
    private ServedWeights _weights;

    /// <summary>Serves the weights in <paramref name="weightsFile"/> (a FastRnn checkpoint or a safetensors file of
    /// the model's tensors) on models made by <paramref name="create"/>, quantized to <paramref name="precision"/> when
    /// given. A file that does not fit the declaration throws <see cref="InvalidDataException"/>; a model that cannot be
    /// served (bidirectional, recurrently batch-normalized) throws <see cref="NotSupportedException"/>.</summary>
    public ServedModel(string name, Func<ISequenceModel> create, string weightsFile, ServingOptions options,
        WeightPrecision? precision = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(create);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Name = name;
        Options = options;
        _create = create;
        _precision = precision;
        _metrics = ServingMetrics.Shared;
        var (model, tokens) = Load(weightsFile);
        var architecture = model.Architecture ?? throw new NotSupportedException($"Model '{name}' ({model.GetType().Name}) is not generated from a declaration.");
        if (!model.CanStep)
            throw new NotSupportedException($"Model '{name}' ({model.GetType().Name}) cannot stream (a bidirectional layer), so it cannot be served by steps.");
        if (architecture.Layers.Any(l => l.RecurrentBatchNorm))
            throw new NotSupportedException($"Model '{name}' ({model.GetType().Name}) normalizes its recurrence by batch statistics; a row's step would depend on the other sessions in its batch.");
        InputWidth = model.InputWidth;
        OutputWidth = model.OutputWidth;
        TakesTokens = model.TakesTokens;
        Vocabulary = model.Vocabulary;
        Tokens = tokens;
        Rows = new StateRows(architecture);
        _weights = Serve(model, 1, weightsFile);
        _ownBuffers = new ThreadLocal<BatchBuffers>(() => new BatchBuffers(this, 1));
        if (options.Batching)
            Batcher = new StepBatcher(this, _metrics);
    }

    public string Name { get; }
    public ServingOptions Options { get; }
    public int InputWidth { get; }
    public int OutputWidth { get; }
    public bool TakesTokens { get; }

    /// <summary>Token ids run from 0 to this − 1 (0 for a dense model).</summary>
    public int Vocabulary { get; }

    /// <summary>The vocabulary the weights file names (its <c>fastrnn.tokens</c> header, or a checkpoint's), or null.</summary>
    public IReadOnlyList<string>? Tokens { get; }

    /// <summary>The weights served now. A step reads this once, so a swap never mixes two versions in one step.</summary>
    public ServedWeights Weights => Volatile.Read(ref _weights);

    internal StateRows Rows { get; }
    internal StepBatcher? Batcher { get; }

    /// <summary>True while the model can take steps (its batcher, when batching, is running).</summary>
    public bool Ready => Batcher is null || Batcher.Running;

    /// <summary>A state of <paramref name="rows"/> rows of this model, all zero.</summary>
    internal IRnnState NewState(int rows) => Weights.NewState(rows);

    /// <summary>Serves the weights in <paramref name="path"/> from the next step on and returns their version. Steps
    /// already running finish on the weights they started with; sessions keep their states. A file that does not fit
    /// (another declaration, a wrong shape, a corrupted checkpoint, a non-finite weight) throws
    /// <see cref="InvalidDataException"/>, and the weights served stay as they were.</summary>
    public long Swap(string path)
    {
        lock (_swapGate)
        {
            var (model, _) = Load(path);
            var next = Serve(model, _weights.Version + 1, path);
            Volatile.Write(ref _weights, next);
            _metrics.Swapped(Name);
            return next.Version;
        }
    }

    /// <summary>One step of one session, as a row of a batch with the other sessions' steps waiting now (batching on)
    /// or on its own (batching off). <paramref name="request"/> holds the input; its output is valid when the task ends.</summary>
    internal ValueTask StepAsync(Stepper request)
    {
        request.Queued = Stopwatch.GetTimestamp();
        if (Batcher is { } batcher)
        {
            var pending = request.Start();
            batcher.Submit(request);
            return pending;
        }
        var buffers = _ownBuffers.Value!;
        buffers.Batch[0] = request;
        try
        {
            buffers.Run(1, Weights);
        }
        finally
        {
            buffers.Batch[0] = null!;
        }
        _metrics.Batch(Name, [Stopwatch.GetTimestamp() - request.Queued]);
        return ValueTask.CompletedTask;
    }

    private ServedWeights Serve(ISequenceModel model, long version, string source) =>
        new(model, _precision is { } p ? model.Quantize(p) : null, version, source);

    /// <summary>A new model with the file's weights, checked: every parameter finite.</summary>
    private (ISequenceModel Model, IReadOnlyList<string>? Tokens) Load(string path)
    {
        if (!File.Exists(path))
            throw new InvalidDataException($"No weights file at '{path}'.");
        var model = _create();
        Dictionary<string, string> header;
        try
        {
            Safetensors.Read(path, out header);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"'{path}' is not a readable safetensors file: {e.Message}", e);
        }
        IReadOnlyList<string>? tokens;
        if (header.ContainsKey("format"))
        {
            var progress = Checkpoint.LoadWeights(path, model);
            tokens = progress.TryGetValue("vocabulary", out var saved) ? TokensOf(saved, progress.GetValueOrDefault("task") is "s3" or "zaremba-small" or "zaremba-medium") : null;
        }
        else
        {
            model.LoadSafetensors(path);
            tokens = header.TryGetValue("fastrnn.tokens", out var saved) ? TokensOf(saved, header.GetValueOrDefault("fastrnn.token_unit") == "word") : null;
        }
        if (FirstNonFinite(model.Parameters) is var bad and >= 0)
            throw new InvalidDataException($"'{path}' has a non-finite weight (parameter {bad.ToString(CultureInfo.InvariantCulture)}): refused.");
        if (FirstNonFinite(model.Statistics) is var stat and >= 0)
            throw new InvalidDataException($"'{path}' has a non-finite running statistic ({stat.ToString(CultureInfo.InvariantCulture)}): refused.");
        model.Options.Training = false;
        return (model, tokens);
    }

    private static string[] TokensOf(string saved, bool words) =>
        words ? saved.Split('\n') : saved.EnumerateRunes().Select(r => r.ToString()).ToArray();

    private static int FirstNonFinite(ReadOnlySpan<float> values)
    {
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i]))
                return i;
        return -1;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        Batcher?.Dispose();
        _ownBuffers.Dispose();
    }

    private int _disposed;
}
