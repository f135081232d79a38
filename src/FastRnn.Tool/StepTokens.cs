namespace FastRnn.Tool;

/// <summary>One streaming step of token input, as a float32 model (<see cref="ISequenceModel.StepTokens"/>) and its
/// quantized copy (<see cref="IQuantizedModel.StepTokens"/>) both take it: what the tool's side-by-side measurements step.</summary>
internal delegate void StepTokens(ReadOnlySpan<int> input, IRnnState state, Span<float> output);
