namespace FastRnn;

/// <summary>An LSTM layer (PyTorch <c>nn.LSTM</c>, gate order i, f, g, o) of <paramref name="hidden"/> units,
/// stacked <see cref="RecurrentLayerAttribute.Layers"/> times. Layers are applied in the order their attributes are
/// written. The properties it shares with <see cref="GruAttribute"/> are <see cref="RecurrentLayerAttribute"/>'s.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class LstmAttribute(int hidden) : RecurrentLayerAttribute(hidden)
{
    /// <summary>Zoneout of c: each unit keeps c(t−1) with this probability instead of c̃(t) = f⊙c(t−1) + i⊙g;
    /// at inference c(t) = p·c(t−1) + (1 − p)·c̃(t).</summary>
    public double CellZoneout { get; set; }

    /// <summary>Keras' <c>unit_forget_bias</c>: the forget gate's bias starts at 1 and every other bias at 0
    /// (b_ih carries the 1, b_hh is 0).</summary>
    public bool UnitForgetBias { get; set; }
}
