namespace FastRnn;

/// <summary>An L1/L2 penalty on a parameter group with Keras' semantics (keras/src/regularizers/regularizers.py,
/// <c>L1L2</c>): the training loss adds <c>L1·Σ|w| + L2·Σw²</c> over the group's weights, so their gradient gains
/// <c>L1·sign(w) + 2·L2·w</c>, which the optimizer adds inside its update (before clipping). Declare one per group;
/// each coefficient set here is a run-time option (e.g. <c>RecurrentKernelL2</c>) defaulting to this value.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class PenaltyAttribute(ParameterGroup group) : Attribute
{
    public ParameterGroup Group { get; } = group;
    public double L1 { get; set; }
    public double L2 { get; set; }
}
