using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace FastRnn.Generators;

// The parser's output: plain values only (no symbols, no syntax), so the incremental pipeline can compare two
// runs structurally and skip the emitter when nothing the model depends on has changed.

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

// Values mirror FastRnn.Activation, FastRnn.Readout and FastRnn.LossKind.
internal enum HeadActivation
{
    Linear = 0,
    Sigmoid = 1,
    Softmax = 2,
}

internal enum HeadReadout
{
    EveryStep = 0,
    LastStep = 1,
}

internal enum LossKind
{
    MeanSquaredError = 0,
    BinaryCrossEntropy = 1,
    SoftmaxCrossEntropy = 2,
}

/// <summary>One recurrent layer after stacks are expanded. <see cref="Group"/> is the attribute it came from and
/// <see cref="IndexInGroup"/> its layer within that attribute's stack (PyTorch's <c>_l{k}</c> suffix).</summary>
internal sealed record LayerSpec(CellKind Cell, int Inputs, int Hidden, int Group, int IndexInGroup, DropoutSpec? InputDropout,
    double? RecurrentDropout, double? Zoneout, double? CellZoneout, double? WeightDrop,
    int InputInit = 0, int RecurrentInit = 0, bool UnitForgetBias = false, double? CandidateDropout = null, bool LayerNorm = false, bool OutputBatchNorm = false,
    bool RecurrentBatchNorm = false, int MaxSteps = 0)
{
    public bool HasZoneout => Zoneout is not null || CellZoneout is not null;

    /// <summary>The cell's products are normalized (layer norm or recurrent batch norm): it reads x̂ and ĥ through gains.</summary>
    public bool Normalized => LayerNorm || RecurrentBatchNorm;
}

/// <summary>A declared L1/L2 penalty on a parameter group (values mirror FastRnn.ParameterGroup); a coefficient not set
/// is not a run-time option.</summary>
internal sealed record PenaltySpec(int Group, double? L1, double? L2)
{
    public static readonly string[] GroupNames = ["InputKernel", "RecurrentKernel", "Bias", "HeadKernel", "HeadBias", "Embedding"];
    public string Name => GroupNames[Group];
}

/// <summary>A declared constraint on a parameter group; Kind and Group mirror FastRnn.ConstraintKind and ParameterGroup.</summary>
internal sealed record ConstraintSpec(int Group, int Kind, int Axis, double Min, double Max, double Rate)
{
    public static readonly string[] KindNames = ["None", "MaxNorm", "UnitNorm", "NonNegative", "MinMaxNorm"];
    public string Name => PenaltySpec.GroupNames[Group];
}

/// <summary>A declared dropout site: its default rate and whether its mask is locked (one per sequence) or fresh
/// at every step.</summary>
internal sealed record DropoutSpec(double Rate, bool Locked);

/// <summary>A type that encloses the model class: its keyword (<c>class</c>, <c>struct</c>, <c>record</c>) and name.</summary>
internal sealed record ContainingType(string Keyword, string Name);

internal sealed record ModelSpec(
    string? Namespace,
    EquatableArray<ContainingType> ContainingTypes,
    string Name,
    string Accessibility,
    InputKind Input,
    int InputSize,
    int Vocabulary,
    EquatableArray<LayerSpec> Layers,
    int GroupCount,
    int Outputs,
    HeadActivation Activation,
    HeadReadout Readout,
    LossKind Loss,
    double? EmbeddingDropout,
    DropoutSpec? HeadDropout,
    double? ActivationRegularization = null,
    double? TemporalActivationRegularization = null,
    EquatableArray<PenaltySpec> Penalties = default,
    EquatableArray<ConstraintSpec> Constraints = default)
{
    public bool HasMasks => EmbeddingDropout is not null || HeadDropout is not null ||
        Layers.Any(l => l.InputDropout is not null || l.RecurrentDropout is not null || l.HasZoneout || l.WeightDrop is not null ||
            l.CandidateDropout is not null);

    public bool HasOutputBatchNorm => Layers.Any(l => l.OutputBatchNorm);

    /// <summary>Some batch normalization keeps running statistics (between layers or in a cell).</summary>
    public bool HasStatistics => Layers.Any(l => l.OutputBatchNorm || l.RecurrentBatchNorm);

    public bool HasActivationPenalty => ActivationRegularization is not null || TemporalActivationRegularization is not null;


    public string FullName => (Namespace is null ? "" : Namespace + ".") +
        string.Concat(ContainingTypes.Select(t => t.Name + ".")) + Name;
}

/// <summary>A location that can be compared and stored: a file path and spans instead of a syntax tree.</summary>
internal sealed record LocationInfo(string FilePath, TextSpan Span, LinePositionSpan LineSpan)
{
    public Location ToLocation() => Location.Create(FilePath, Span, LineSpan);

    public static LocationInfo? From(Location? location) =>
        location is null || location.SourceTree is null
            ? null
            : new LocationInfo(location.SourceTree.FilePath, location.SourceSpan, location.GetLineSpan().Span);
}

/// <summary>A finding of the parser: the descriptor it reports, where, and the message's arguments as strings (so the
/// incremental pipeline can compare two runs; <see cref="DiagnosticDescriptor"/> is equatable).</summary>
internal sealed record DiagnosticInfo(DiagnosticDescriptor Descriptor, LocationInfo? Location, EquatableArray<StringValue> Arguments)
{
    public Diagnostic ToDiagnostic() =>
        Diagnostic.Create(Descriptor, Location?.ToLocation(), Arguments.Select(a => (object)a.Value).ToArray());
}

/// <summary>A string that satisfies <see cref="System.IEquatable{T}"/> for <see cref="EquatableArray{T}"/>.</summary>
internal readonly record struct StringValue(string Value);

internal sealed record ParseResult(ModelSpec? Model, EquatableArray<DiagnosticInfo> Diagnostics);
