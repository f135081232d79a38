namespace FastRnn.Generators;

internal enum CellKind
{
    Lstm,
    GruResetAfter,
    GruResetBefore,
}

internal enum InputKind
{
    Dense,
    Tokens,
}

// The enums below mirror the runtime's by member name (FastRnn.Activation, Readout, LossKind, GruVariant,
// Initialization, ParameterGroup, ConstraintKind): the parser reads an attribute's value as the name of its member and
// the emitter writes that name back, so no number is shared between the two.
internal enum HeadActivation
{
    Linear,
    Sigmoid,
    Softmax,
}

internal enum HeadReadout
{
    EveryStep,
    LastStep,
}

internal enum LossKind
{
    MeanSquaredError,
    BinaryCrossEntropy,
    SoftmaxCrossEntropy,
}

internal enum GruVariant
{
    ResetAfter,
    ResetBefore,
}

internal enum Initialization
{
    PyTorchDefault,
    GlorotUniform,
    KaimingUniform,
    Orthogonal,
}

internal enum ParameterGroup
{
    InputKernel,
    RecurrentKernel,
    Bias,
    HeadKernel,
    HeadBias,
    Embedding,
}

internal enum ConstraintKind
{
    None,
    MaxNorm,
    UnitNorm,
    NonNegative,
    MinMaxNorm,
}
