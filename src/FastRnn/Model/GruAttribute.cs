namespace FastRnn;

/// <summary>A GRU layer (gate order r, z, n) of <paramref name="hidden"/> units, stacked
/// <see cref="RecurrentLayerAttribute.Layers"/> times. The properties it shares with <see cref="LstmAttribute"/> are
/// <see cref="RecurrentLayerAttribute"/>'s.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class GruAttribute(int hidden) : RecurrentLayerAttribute(hidden)
{
    /// <summary>Where the reset gate acts on the recurrent candidate; PyTorch's placement by default.</summary>
    public GruVariant Variant { get; set; } = GruVariant.ResetAfter;
}

/// <summary>Where the GRU's reset gate acts on the recurrent candidate.</summary>
public enum GruVariant
{
    /// <summary>PyTorch's GRU (ONNX <c>linear_before_reset=1</c>, Keras <c>reset_after=True</c>):
    /// <c>n = tanh(W_n·x + b_in + r⊙(U_n·h + b_hn))</c>.</summary>
    ResetAfter = 0,

    /// <summary>The classic GRU (ONNX <c>linear_before_reset=0</c>, Keras <c>reset_after=False</c>):
    /// <c>n = tanh(W_n·x + b_in + U_n·(r⊙h) + b_hn)</c>, with PyTorch's tensor names and shapes.</summary>
    ResetBefore = 1,
}
