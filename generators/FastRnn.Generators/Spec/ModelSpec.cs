using System.Linq;

namespace FastRnn.Generators;

/// <summary>A type that encloses the model class: its keyword (<c>class</c>, <c>struct</c>, <c>record</c>) and name.</summary>
internal sealed record ContainingType(string Keyword, string Name);

/// <summary>The parser's output and the emitter's only input: plain values (no symbols, no syntax), so the
/// incremental pipeline can compare two runs structurally and skip the emitter when nothing the model depends on has
/// changed. Layers are in declaration order with stacks expanded. A model without a head (<see cref="HasHead"/> false)
/// declares no loss: its outputs are its top layer's states at every step (<see cref="Outputs"/> wide), the Linear,
/// every-step, mean-squared-error values of the head's fields standing for nothing.</summary>
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
    EquatableArray<ConstraintSpec> Constraints = default,
    bool HasHead = true)
{
    public bool HasOutputBatchNorm => Layers.Any(l => l.OutputBatchNorm);

    /// <summary>Some batch normalization keeps running statistics (between layers or in a cell).</summary>
    public bool HasStatistics => Layers.Any(l => l.OutputBatchNorm || l.RecurrentBatchNorm);

    public bool HasActivationPenalty => ActivationRegularization is not null || TemporalActivationRegularization is not null;

    public string FullName => (Namespace is null ? "" : Namespace + ".") +
        string.Concat(ContainingTypes.Select(t => t.Name + ".")) + Name;
}

/// <summary>What the parser found: a model, or the diagnostics that stop it.</summary>
internal sealed record ParseResult(ModelSpec? Model, EquatableArray<DiagnosticInfo> Diagnostics);
