namespace FastRnn;

/// <summary>
/// A generated model seen without its type, for trainers, tools and tests that handle any model. Every generated
/// model implements it explicitly; its typed members (<c>Forward</c>, <c>Loss</c>, <c>Step</c>, <c>State</c>) are the
/// ones to call from code that knows the model. Calling the dense form on a token model (or the reverse) throws
/// <see cref="InvalidOperationException"/>.
/// </summary>
public interface ISequenceModel : IRnnModel
{
    int BatchCapacity { get; }

    /// <summary>Run-time settings: mode, mask seed and counter, and every declared technique's rate by name.</summary>
    IRunOptions Options { get; }

    /// <summary>Debug: the dropout multipliers the last forward pass used, by site (see the model's <c>ExportMasks</c>).</summary>
    IReadOnlyDictionary<string, float[]> ExportMasks();
    int SequenceCapacity { get; }

    /// <summary>Floats per step and row for dense input; 1 (one token id) for token input.</summary>
    int InputWidth { get; }

    /// <summary>Head outputs per row (and per step when <see cref="EveryStep"/>).</summary>
    int OutputWidth { get; }

    /// <summary>Rows of the embedding table for token input; 0 for dense input.</summary>
    int Vocabulary { get; }

    bool TakesTokens { get; }

    /// <summary>True when the loss takes one class id per target row, false when it takes <see cref="OutputWidth"/> floats.</summary>
    bool ClassTargets { get; }

    /// <summary>True when the head reads every step, false when it reads only the last.</summary>
    bool EveryStep { get; }

    int LayerCount { get; }
    int HiddenSizeOf(int layer);

    IRnnState NewState(int batch);
    void ForwardDense(ReadOnlySpan<float> inputs, int batch, int steps, IRnnState? state = null);
    void ForwardTokens(ReadOnlySpan<int> inputs, int batch, int steps, IRnnState? state = null);

    /// <summary>Right-padded rows of different lengths, for a head that reads the last step (see the model's
    /// <c>Forward(…, lengths, …)</c>); a head that reads every step throws <see cref="NotSupportedException"/>.</summary>
    void ForwardDense(ReadOnlySpan<float> inputs, int batch, int steps, ReadOnlySpan<int> lengths, IRnnState? state = null);
    void ForwardTokens(ReadOnlySpan<int> inputs, int batch, int steps, ReadOnlySpan<int> lengths, IRnnState? state = null);
    float LossDense(ReadOnlySpan<float> targets);
    float LossClasses(ReadOnlySpan<int> targets);
    void Backward();

    /// <summary>Copies the head outputs of the last forward, [head rows, OutputWidth], into <paramref name="destination"/>;
    /// returns the number of floats written.</summary>
    int CopyOutputs(Span<float> destination);

    /// <summary>False for a model with a bidirectional layer: it cannot stream (its reverse direction needs the whole
    /// sequence), and <see cref="StepDense"/> and <see cref="StepTokens"/> throw <see cref="NotSupportedException"/>.</summary>
    bool CanStep { get; }

    void StepDense(ReadOnlySpan<float> input, IRnnState state, Span<float> output);
    void StepTokens(ReadOnlySpan<int> input, IRnnState state, Span<float> output);

    /// <summary>A serving copy with every weight matrix in <paramref name="precision"/> (the model's <c>Quantize</c>);
    /// a model that cannot stream throws <see cref="NotSupportedException"/>.</summary>
    IQuantizedModel Quantize(WeightPrecision precision) =>
        throw new NotSupportedException($"{GetType().Name} cannot stream, so it has no quantized copy.");
}
