namespace FastRnn;

/// <summary>Marks a <c>partial</c> class as a FastRnn model: the generator emits its parameters, step,
/// sequence forward, backward through time and the glue an optimizer needs. The other attributes on the
/// class declare, in order, the input, the recurrent layers, the head and the loss.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class RnnModelAttribute : Attribute
{
    /// <summary>For a model without a head (no <see cref="HeadAttribute"/>, no <see cref="LossAttribute"/>): whether its
    /// outputs are the top layer's states at every step, or only each row's final state (an encoder's summary: the state
    /// after the row's last real step; over a bidirectional top layer, both directions' final states). A model with a
    /// head declares its readout on the head.</summary>
    public Readout Readout { get; set; } = Readout.EveryStep;
}
