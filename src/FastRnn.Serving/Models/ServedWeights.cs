namespace FastRnn.Serving.Models;

/// <summary>One version of a served model's weights: the model that steps (float32, or its quantized copy), where the
/// weights came from and their version. Immutable once served; a swap serves a new one.</summary>
public sealed class ServedWeights
{
    private readonly ISequenceModel _model;
    private readonly IQuantizedModel? _quantized;

    internal ServedWeights(ISequenceModel model, IQuantizedModel? quantized, long version, string source)
    {
        _model = model;
        _quantized = quantized;
        Version = version;
        Source = source;
    }

    /// <summary>1 for the weights the server started with, one more for each swap.</summary>
    public long Version { get; }

    /// <summary>The file the weights were read from.</summary>
    public string Source { get; }

    /// <summary>The weight matrices' precision when the model is served quantized; null for float32.</summary>
    public WeightPrecision? Precision => _quantized?.Precision;

    /// <summary>A state of <paramref name="rows"/> rows, all zero (the quantized copy steps the float32 model's states).</summary>
    internal IRnnState NewState(int rows) => _model.NewState(rows);

    /// <summary>One step of every row of <paramref name="state"/>.</summary>
    internal void Step(ReadOnlySpan<int> tokens, ReadOnlySpan<float> features, IRnnState state, Span<float> output)
    {
        if (_model.TakesTokens)
        {
            if (_quantized is null) _model.StepTokens(tokens, state, output);
            else _quantized.StepTokens(tokens, state, output);
        }
        else if (_quantized is null) _model.StepDense(features, state, output);
        else _quantized.StepDense(features, state, output);
    }
}
