namespace FastRnn;

/// <summary>How a named tensor is stored inside a model's parameter arena.</summary>
public enum TensorStorage
{
    /// <summary>Row-major, exactly as PyTorch stores it (the embedding table).</summary>
    Plain = 0,

    /// <summary>A PyTorch <c>(gates·units, inputs)</c> weight held in the gate-interleaved layout.</summary>
    InterleavedWeight = 1,

    /// <summary>A PyTorch <c>(gates·units)</c> bias held as <c>[block][gate][16]</c>.</summary>
    InterleavedBias = 2,

    /// <summary>A PyTorch <c>(inputs, gates·units)</c> tensor held as <c>inputs</c> consecutive rows laid out like
    /// <see cref="InterleavedBias"/> (per-time-step batch-normalization statistics: one row per step).</summary>
    InterleavedRows = 3,
}
