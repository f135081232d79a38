namespace FastRnn;

/// <summary>The precision of a served model's weight matrices (its states, activations, cell update and sums stay
/// float32). See the generated <c>Quantize</c> method and its <c>Quantized</c> model.</summary>
public enum WeightPrecision
{
    /// <summary>bfloat16: float32 with the low 16 bits of the mantissa rounded off (to nearest, ties to even), half
    /// the bytes; each weight is widened back to float32 exactly in a register.</summary>
    BFloat16 = 1,

    /// <summary>int8: each output row (one unit's gate) scaled symmetrically to [−127, 127], a quarter of the bytes;
    /// inputs quantized per row as they come, sums in int32, scaled back to float32 before the bias and activations.</summary>
#pragma warning disable CA1720 // the format's own name, as PyTorch and ONNX Runtime spell it
    Int8 = 2,
#pragma warning restore CA1720
}
