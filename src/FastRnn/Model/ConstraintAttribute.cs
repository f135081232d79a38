using FastRnn.Kernels;

namespace FastRnn;

/// <summary>A constraint on a parameter group, applied after every optimizer update with Keras' semantics and
/// constants (keras/src/constraints/constraints.py; see <see cref="Constraints"/>). <see cref="Axis"/> is Keras' axis on
/// the Keras-shaped tensor (kernels [inputs, gates·units]: 0 = each unit's incoming weights, 1 = each input's outgoing
/// weights; a bias has only 0). <see cref="Max"/>, <see cref="Min"/> and <see cref="Rate"/> are run-time options
/// (e.g. <c>RecurrentKernelMaxNorm</c>) defaulting to these values. One constraint per group.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class ConstraintAttribute(ParameterGroup group, ConstraintKind kind) : Attribute
{
    public ParameterGroup Group { get; } = group;
    public ConstraintKind Kind { get; } = kind;
    public int Axis { get; set; }

    /// <summary>MaxNorm's max_value (Keras default 2) or MinMaxNorm's max_value (default 1).</summary>
    public double Max { get; set; } = double.NaN;

    /// <summary>MinMaxNorm's min_value (Keras default 0).</summary>
    public double Min { get; set; }

    /// <summary>MinMaxNorm's rate (Keras default 1: strict).</summary>
    public double Rate { get; set; } = 1;
}
