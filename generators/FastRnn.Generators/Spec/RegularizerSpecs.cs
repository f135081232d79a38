namespace FastRnn.Generators;

/// <summary>A declared L1/L2 penalty on a parameter group; a coefficient not set is not a run-time option.</summary>
internal sealed record PenaltySpec(ParameterGroup Group, double? L1, double? L2)
{
    public string Name => Group.ToString();
}

/// <summary>A declared constraint on a parameter group.</summary>
internal sealed record ConstraintSpec(ParameterGroup Group, ConstraintKind Kind, int Axis, double Min, double Max, double Rate)
{
    public string Name => Group.ToString();

    /// <summary>The constraint has a largest norm (MaxNorm, MinMaxNorm).</summary>
    public bool HasMax => Kind is ConstraintKind.MaxNorm or ConstraintKind.MinMaxNorm;
}

/// <summary>A declared dropout site: its default rate and whether its mask is locked (one per sequence) or fresh
/// at every step.</summary>
internal sealed record DropoutSpec(double Rate, bool Locked);
