namespace FastRnn;

/// <summary>How <see cref="ModelWeights.LoadSafetensors(IRnnModel, string, WeightLoadOptions)"/> and
/// <see cref="ModelWeights.LoadPyTorch"/> match a file's tensor names to the model's.</summary>
public sealed class WeightLoadOptions
{
    /// <summary>True (the default), as PyTorch's <c>load_state_dict(strict=True)</c>: a model tensor the file lacks, or a
    /// file tensor the model lacks (under the prefix in use), refuses the file. False: what matches is loaded, and the
    /// report lists the missing and unexpected names. A shape that differs is refused either way.</summary>
    public bool Strict { get; init; } = true;

    /// <summary>Renames the file's modules to the model's (<c>rnn</c>, <c>head</c>, <c>embedding</c>, …) by leading
    /// dotted components: <c>{ ["lstm"] = "rnn", ["fc"] = "head" }</c> reads <c>lstm.weight_ih_l0</c> as
    /// <c>rnn.weight_ih_l0</c>. Keys may span components (<c>"encoder.lstm"</c>); the longest that matches wins.</summary>
    public IReadOnlyDictionary<string, string>? NameMap { get; init; }

    /// <summary>The prefix in front of every name the model reads (<c>"module."</c> of DataParallel, <c>"model_state_dict."</c>
    /// of a training checkpoint). Null (the default): found by itself, as the prefix under which the most model names
    /// appear; an empty string: none.</summary>
    public string? Prefix { get; init; }
}

/// <summary>What a load matched: the prefix it used, and (non-strict loads) the model tensors the file lacked, which kept
/// their values, and the file's tensors under that prefix the model has no place for.</summary>
public sealed record WeightLoadReport(string Prefix, IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected);
