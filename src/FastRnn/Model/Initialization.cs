namespace FastRnn;

/// <summary>How a weight tensor is initialized (see <see cref="Initializers.Apply"/>).</summary>
public enum Initialization
{
    /// <summary>PyTorch's default for the layer: U(−1/√H, 1/√H).</summary>
    PyTorchDefault = 0,
    GlorotUniform = 1,
    KaimingUniform = 2,
    Orthogonal = 3,
}
