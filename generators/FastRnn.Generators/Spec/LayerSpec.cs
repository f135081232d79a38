namespace FastRnn.Generators;

/// <summary>One recurrent layer after stacks are expanded. <see cref="Group"/> is the attribute it came from and
/// <see cref="IndexInGroup"/> its layer within that attribute's stack (PyTorch's <c>_l{k}</c> suffix).
/// A rate or coefficient is null where it is not declared (its technique is then not in the generated code).
/// A bidirectional layer is two of these, the forward direction and then its <see cref="Reverse"/> one (which reads
/// the same input, through the forward direction's input dropout, so it declares none of its own). A projected LSTM
/// (<see cref="Projection"/> above 0) keeps <see cref="Hidden"/> units and a state h of <see cref="StateSize"/>.</summary>
internal sealed record LayerSpec(
    CellKind Cell,
    int Inputs,
    int Hidden,
    int Group,
    int IndexInGroup,
    DropoutSpec? InputDropout,
    double? RecurrentDropout,
    double? Zoneout,
    double? CellZoneout,
    double? WeightDrop,
    Initialization InputInit,
    Initialization RecurrentInit,
    bool UnitForgetBias,
    double? CandidateDropout,
    bool LayerNorm,
    bool OutputBatchNorm,
    bool RecurrentBatchNorm,
    int MaxSteps,
    bool Bidirectional = false,
    bool Reverse = false,
    int Projection = 0)
{
    /// <summary>The width of the layer's state h: its projection's, or its units'.</summary>
    public int StateSize => Projection > 0 ? Projection : Hidden;

    public bool HasZoneout => Zoneout is not null || CellZoneout is not null;

    /// <summary>The cell's products are normalized (layer norm or recurrent batch norm): it reads x̂ and ĥ through gains.</summary>
    public bool Normalized => LayerNorm || RecurrentBatchNorm;
}
