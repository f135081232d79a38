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

    /// <summary>PyTorch's <c>proj_size</c> (Sak et al. 2014's LSTMP): the layer's state h is projected to this many units,
    /// h(t) = W_hr·(o⊙tanh(c(t))) with <c>weight_hr_l{k}</c> [Projection, Hidden], and the recurrent product reads that
    /// projected h (weight_hh is [4·Hidden, Projection]); c keeps Hidden units. The layer above or the head reads the
    /// projected h. 0 (the default) is no projection; otherwise 1 to Hidden − 1 (FRNN028). Not with zoneout of h,
    /// recurrent dropout or a normalization (FRNN029); a projected layer's recurrence runs on one thread.</summary>
    public int Projection { get; set; }
}
