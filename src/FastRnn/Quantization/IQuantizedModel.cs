namespace FastRnn;

/// <summary>
/// A generated model's quantized copy (its nested <c>Quantized</c> type, from <see cref="ISequenceModel.Quantize"/>), seen
/// without the model's type: it steps the float32 model's states with bfloat16 or int8 weight matrices. The typed
/// members (<c>Step</c>, <c>Forward</c>, <c>CreateState</c>) are the ones to call from code that knows the model.
/// </summary>
public interface IQuantizedModel
{
    /// <summary>The weight matrices' precision.</summary>
    WeightPrecision Precision { get; }

    /// <summary>Bytes of the weight matrices as served.</summary>
    long MatrixBytes { get; }

    /// <summary>Floats per step and row for dense input; 1 (one token id) for token input.</summary>
    int InputWidth { get; }

    /// <summary>Outputs per row and step.</summary>
    int OutputWidth { get; }

    bool TakesTokens { get; }

    /// <summary>A state of <paramref name="batch"/> rows, all zero (the float32 model's state type).</summary>
    IRnnState NewState(int batch);

    void StepDense(ReadOnlySpan<float> input, IRnnState state, Span<float> output);
    void StepTokens(ReadOnlySpan<int> input, IRnnState state, Span<float> output);

    /// <summary>Writes the quantized weights as safetensors, without any float32 matrix.</summary>
    void SaveSafetensors(string path);
}
