using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace FastRnn.Generators;

/// <summary>Reads a model class's attributes into a <see cref="ModelSpec"/>, or into diagnostics when the
/// declaration is invalid. Nothing here survives into the model but plain values. One method per attribute and one
/// per cross-attribute rule; each attribute's arguments go through an <see cref="AttributeReader"/>.</summary>
internal sealed class Parser
{
    public const string ModelAttribute = "FastRnn.RnnModelAttribute";

    private readonly INamedTypeSymbol _type;
    private readonly ClassDeclarationSyntax _syntax;
    private readonly LocationInfo? _classLocation;
    private readonly List<DiagnosticInfo> _diagnostics = [];

    // What the attributes declared so far.
    private InputKind _input = InputKind.Dense;
    private int _inputSize, _vocabulary, _inputCount, _headCount, _lossCount, _groups, _outputs;
    private HeadActivation? _activation = HeadActivation.Linear;
    private HeadReadout _readout = HeadReadout.EveryStep;
    private HeadReadout? _modelReadout;
    private LocationInfo? _modelLocation;
    private LossKind? _loss = LossKind.MeanSquaredError;
    private double? _embeddingDropout, _activationRegularization, _temporalActivationRegularization;
    private DropoutSpec? _headDropout;
    private readonly List<LayerSpec> _layers = [];
    private readonly List<(PenaltySpec Penalty, LocationInfo? Location)> _penalties = [];
    private readonly List<(ConstraintSpec Constraint, LocationInfo? Location)> _constraints = [];

    private Parser(GeneratorAttributeSyntaxContext context)
    {
        _type = (INamedTypeSymbol)context.TargetSymbol;
        _syntax = (ClassDeclarationSyntax)context.TargetNode;
        _classLocation = LocationInfo.From(_syntax.Identifier.GetLocation());
    }

    public static ParseResult Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken) =>
        new Parser(context).Run(cancellationToken);

    private ParseResult Run(CancellationToken cancellationToken)
    {
        CheckClass();
        var containing = ContainingTypes();
        foreach (var attribute in ModelAttributes())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var reader = new AttributeReader(attribute, Report, cancellationToken);
            switch (reader.Name)
            {
                case "RnnModelAttribute": ParseModel(reader); break;
                case "DenseInputAttribute": ParseDenseInput(reader); break;
                case "TokenInputAttribute": ParseTokenInput(reader); break;
                case "LstmAttribute": ParseRecurrent(reader, CellKind.Lstm); break;
                case "GruAttribute": ParseRecurrent(reader, GruCell(reader)); break;
                case "HeadAttribute": ParseHead(reader); break;
                case "PenaltyAttribute": ParsePenalty(reader); break;
                case "ConstraintAttribute": ParseConstraint(reader); break;
                case "LossAttribute": ParseLoss(reader); break;
            }
        }
        CheckCounts();
        CheckHeadAndLoss();
        CheckGroupsExist();
        ConnectLayers();
        if (_diagnostics.Count == 0)
            CheckSize();
        return _diagnostics.Count > 0
            ? new ParseResult(null, _diagnostics.ToEquatableArray())
            : new ParseResult(Model(containing), default);
    }

    private void Report(DiagnosticDescriptor descriptor, LocationInfo? location, params object[] arguments) =>
        _diagnostics.Add(new DiagnosticInfo(descriptor, location ?? _classLocation,
            arguments.Select(a => new StringValue(a?.ToString() ?? "")).ToEquatableArray()));

    // ---- the class ---------------------------------------------------------------------------------------------

    private void CheckClass()
    {
        if (!_syntax.Modifiers.Any(SyntaxKind.PartialKeyword))
            Report(Diagnostics.NotPartial, _classLocation, _type.Name);
        if (_type.IsGenericType)
            Report(Diagnostics.Generic, _classLocation, _type.Name);
    }

    /// <summary>The types around the model class, outermost first; each must be partial (FRNN009).</summary>
    private List<ContainingType> ContainingTypes()
    {
        var containing = new List<ContainingType>();
        for (var parent = _syntax.Parent as TypeDeclarationSyntax; parent is not null; parent = parent.Parent as TypeDeclarationSyntax)
        {
            if (!parent.Modifiers.Any(SyntaxKind.PartialKeyword))
                Report(Diagnostics.ContainingTypeNotPartial, LocationInfo.From(parent.Identifier.GetLocation()), parent.Identifier.Text, _type.Name);
            string keyword = parent switch
            {
                RecordDeclarationSyntax record => record.ClassOrStructKeyword.IsKind(SyntaxKind.StructKeyword) ? "record struct" : "record",
                StructDeclarationSyntax => "struct",
                InterfaceDeclarationSyntax => "interface",
                _ => "class",
            };
            containing.Insert(0, new ContainingType(keyword, parent.Identifier.Text));
        }
        return containing;
    }

    /// <summary>The FastRnn attributes in the order they are written: that order is the order of the layers.</summary>
    private IEnumerable<AttributeData> ModelAttributes() => _type.GetAttributes()
        .Where(a => a.AttributeClass?.ContainingNamespace?.ToDisplayString() == "FastRnn")
        .OrderBy(a => a.ApplicationSyntaxReference?.SyntaxTree.FilePath, System.StringComparer.Ordinal)
        .ThenBy(a => a.ApplicationSyntaxReference?.Span.Start ?? 0);

    // ---- one method per attribute ------------------------------------------------------------------------------

    /// <summary>[RnnModel] itself: the readout of a model without a head (checked against the head in CheckCounts).</summary>
    private void ParseModel(AttributeReader a)
    {
        _modelReadout = a.IsSet("Readout") ? a.EnumProperty("Readout", HeadReadout.EveryStep) : null;
        _modelLocation = a.Location;
    }

    private void ParseDenseInput(AttributeReader a)
    {
        _inputCount++;
        _input = InputKind.Dense;
        _inputSize = a.Positive(0, "features");
    }

    private void ParseTokenInput(AttributeReader a)
    {
        _inputCount++;
        _input = InputKind.Tokens;
        _vocabulary = a.Positive(0, "vocabulary");
        _inputSize = a.Positive(1, "embedding");
        _embeddingDropout = a.Rate("EmbeddingDropout");
    }

    private static CellKind GruCell(AttributeReader a) =>
        a.EnumProperty("Variant", GruVariant.ResetAfter) == GruVariant.ResetBefore ? CellKind.GruResetBefore : CellKind.GruResetAfter;

    /// <summary>An <c>[Lstm]</c> or <c>[Gru]</c>: one layer per <c>Layers</c>, each with the attribute's settings.</summary>
    private void ParseRecurrent(AttributeReader a, CellKind cell)
    {
        int hidden = a.Positive(0, "hidden");
        int stack = a.Named("Layers", 1);
        if (stack <= 0)
            a.Report(Diagnostics.NonPositiveSize, "Layers", a.ShortName, stack);
        var layer = new LayerSpec(
            Cell: cell,
            Inputs: 0, // set by ConnectLayers
            Hidden: hidden,
            Group: _groups,
            IndexInGroup: 0,
            InputDropout: a.Dropout(),
            RecurrentDropout: a.Rate("RecurrentDropout"),
            Zoneout: a.Rate("Zoneout"),
            CellZoneout: a.Rate("CellZoneout"),
            WeightDrop: a.Rate("WeightDrop"),
            InputInit: a.EnumProperty("InputInit", Initialization.PyTorchDefault) ?? Initialization.PyTorchDefault,
            RecurrentInit: a.EnumProperty("RecurrentInit", Initialization.PyTorchDefault) ?? Initialization.PyTorchDefault,
            UnitForgetBias: a.Named("UnitForgetBias", false),
            CandidateDropout: a.Rate("CandidateDropout"),
            LayerNorm: a.Named("LayerNorm", false),
            OutputBatchNorm: a.Named("BatchNorm", false),
            RecurrentBatchNorm: a.Named("RecurrentBatchNorm", false),
            MaxSteps: a.Named("MaxSteps", 0),
            Bidirectional: a.Named("Bidirectional", false),
            Projection: a.Named("Projection", 0));
        CheckRecurrentTechniques(a, layer);
        for (int k = 0; k < stack; k++)
        {
            _layers.Add(layer with { IndexInGroup = k });
            // the reverse direction reads the forward one's (dropped) input: its own input dropout is the forward's
            if (layer.Bidirectional)
                _layers.Add(layer with { IndexInGroup = k, Reverse = true, InputDropout = null });
        }
        _groups++;
    }

    /// <summary>The pairs of techniques one layer cannot have together, and a projection's size (FRNN015, FRNN023–FRNN029).</summary>
    private static void CheckRecurrentTechniques(AttributeReader a, LayerSpec layer)
    {
        if (layer.Zoneout is not null && layer.RecurrentDropout is not null)
            a.Report(Diagnostics.ZoneoutWithRecurrentDropout, a.ShortName);
        if (layer.Normalized && layer.Cell == CellKind.GruResetBefore)
            a.Report(Diagnostics.LayerNormClassicGru, a.ShortName, layer.LayerNorm ? "LayerNorm" : "RecurrentBatchNorm");
        if (layer.LayerNorm && layer.RecurrentBatchNorm)
            a.Report(Diagnostics.TwoNormalizations, a.ShortName);
        if (layer.RecurrentBatchNorm && layer.MaxSteps < 1)
            a.Report(Diagnostics.BatchNormWithoutMaxSteps, a.ShortName, layer.MaxSteps);
        if (!layer.RecurrentBatchNorm && layer.MaxSteps != 0)
            a.Report(Diagnostics.MaxStepsWithoutBatchNorm, a.ShortName);
        if (layer.Projection != 0 && (layer.Projection < 0 || layer.Projection >= layer.Hidden))
            a.Report(Diagnostics.ProjectionSize, a.ShortName, layer.Projection, layer.Hidden);
        else if (layer.Projection > 0)
        {
            string? unsupported = layer.Zoneout is not null ? "Zoneout" : layer.RecurrentDropout is not null ? "RecurrentDropout"
                : layer.LayerNorm ? "LayerNorm" : layer.RecurrentBatchNorm ? "RecurrentBatchNorm" : layer.OutputBatchNorm ? "BatchNorm" : null;
            if (unsupported is not null)
                a.Report(Diagnostics.ProjectionTechnique, a.ShortName, unsupported);
        }
        if (layer.Bidirectional && layer.OutputBatchNorm)
            a.Report(Diagnostics.BidirectionalNormalization, a.ShortName);
    }

    private void ParseHead(AttributeReader a)
    {
        _headCount++;
        _outputs = a.Positive(0, "outputs");
        _activation = a.EnumArgument(1, "activation", HeadActivation.Linear);
        _readout = a.EnumProperty("Readout", HeadReadout.EveryStep) ?? HeadReadout.EveryStep;
        _headDropout = a.Dropout();
        _activationRegularization = a.Coefficient("ActivationRegularization");
        _temporalActivationRegularization = a.Coefficient("TemporalActivationRegularization");
        if ((_activationRegularization is not null || _temporalActivationRegularization is not null) && _readout != HeadReadout.EveryStep)
            a.Report(Diagnostics.PenaltyNeedsEveryStep);
    }

    private void ParseLoss(AttributeReader a)
    {
        _lossCount++;
        _loss = a.EnumArgument(0, "kind", LossKind.MeanSquaredError);
    }

    private void ParsePenalty(AttributeReader a)
    {
        var group = a.EnumArgument(0, "group", ParameterGroup.InputKernel) ?? ParameterGroup.InputKernel;
        var penalty = new PenaltySpec(group, L1: a.Coefficient("L1"), L2: a.Coefficient("L2"));
        if (_penalties.Any(p => p.Penalty.Group == group))
            a.Report(Diagnostics.PenaltyTwice, group);
        else
            _penalties.Add((penalty, a.Location));
    }

    private void ParseConstraint(AttributeReader a)
    {
        var group = a.EnumArgument(0, "group", ParameterGroup.InputKernel) ?? ParameterGroup.InputKernel;
        var kind = a.EnumArgument(1, "kind", ConstraintKind.None) ?? ConstraintKind.None;
        int axis = a.Named("Axis", 0);
        // Keras' defaults: MaxNorm(max_value=2), MinMaxNorm(min_value=0, max_value=1, rate=1).
        double max = a.Named("Max", double.NaN), min = a.Named("Min", 0.0), rate = a.Named("Rate", 1.0);
        if (double.IsNaN(max))
            max = kind == ConstraintKind.MaxNorm ? 2.0 : 1.0;
        bool vector = group is ParameterGroup.Bias or ParameterGroup.HeadBias;
        if (axis < 0 || axis > 1 || (vector && axis != 0))
            a.Report(Diagnostics.ConstraintAxis, axis, "ParameterGroup." + group);
        if (!(min >= 0 && max > 0 && min <= max && rate >= 0 && rate <= 1 && !double.IsInfinity(max)))
            a.Report(Diagnostics.ConstraintValues, "ParameterGroup." + group, kind, Invariant(min), Invariant(max), Invariant(rate));
        if (_constraints.Any(c => c.Constraint.Group == group))
            a.Report(Diagnostics.ConstraintTwice, group);
        else if (kind != ConstraintKind.None)
            _constraints.Add((new ConstraintSpec(group, kind, axis, min, max, rate), a.Location));
    }

    private static string Invariant(double value) => value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);

    // ---- rules across attributes -------------------------------------------------------------------------------

    /// <summary>A model without a head declares no loss either: its outputs are its top layer's states, for the caller's
    /// own code to read and to backpropagate into.</summary>
    private bool Headless => _headCount == 0 && _lossCount == 0;

    /// <summary>Exactly one input, at least one recurrent layer, and one head with one loss or neither (FRNN002–FRNN005).</summary>
    private void CheckCounts()
    {
        if (_inputCount != 1)
            Report(Diagnostics.InputCount, _classLocation, _type.Name, _inputCount);
        if (_groups == 0)
            Report(Diagnostics.NoRecurrentLayer, _classLocation, _type.Name);
        if (Headless)
        {
            _readout = _modelReadout ?? HeadReadout.EveryStep;
            return;
        }
        if (_modelReadout is not null)
            Report(Diagnostics.ModelReadoutWithHead, _modelLocation, _type.Name);
        if (_headCount != 1)
            Report(Diagnostics.HeadCount, _classLocation, _type.Name, _headCount);
        if (_lossCount != 1)
            Report(Diagnostics.LossCount, _classLocation, _type.Name, _lossCount);
    }

    /// <summary>The head's activation must suit the loss (FRNN007); softmax needs two classes (FRNN012). An unknown
    /// activation or loss is already reported (FRNN010): pairing it would only repeat that.</summary>
    private void CheckHeadAndLoss()
    {
        if (_headCount != 1 || _lossCount != 1 || _activation is not { } activation || _loss is not { } loss)
            return;
        bool supported = (activation, loss) switch
        {
            (HeadActivation.Linear, LossKind.MeanSquaredError) => true,
            (HeadActivation.Sigmoid, LossKind.MeanSquaredError) => true,
            (HeadActivation.Sigmoid, LossKind.BinaryCrossEntropy) => true,
            (HeadActivation.Softmax, LossKind.SoftmaxCrossEntropy) => true,
            _ => false,
        };
        if (!supported)
            Report(Diagnostics.UnsupportedHeadLoss, _classLocation, activation, loss);
        else if (loss == LossKind.SoftmaxCrossEntropy && _outputs == 1)
            Report(Diagnostics.SoftmaxNeedsClasses, _classLocation, _outputs);
    }

    /// <summary>A penalty or constraint on the embedding needs token input, on the head's kernel or bias a head (FRNN019).</summary>
    private void CheckGroupsExist()
    {
        bool Missing(ParameterGroup group) =>
            (group == ParameterGroup.Embedding && _input != InputKind.Tokens) ||
            (group is ParameterGroup.HeadKernel or ParameterGroup.HeadBias && Headless);
        foreach (var (penalty, location) in _penalties)
            if (Missing(penalty.Group))
                Report(Diagnostics.MissingGroup, location, $"Penalty(ParameterGroup.{penalty.Group})");
        foreach (var (constraint, location) in _constraints)
            if (Missing(constraint.Group))
                Report(Diagnostics.MissingGroup, location, $"Constraint(ParameterGroup.{constraint.Group})");
    }

    /// <summary>Each layer reads the one below it (both directions of a bidirectional layer below, 2·Hidden wide); the
    /// first reads the input (or the embedding); a reverse direction reads what its forward direction reads.</summary>
    private void ConnectLayers()
    {
        for (int i = 0; i < _layers.Count; i++)
            _layers[i] = _layers[i] with
            {
                Inputs = _layers[i].Reverse ? _layers[i - 1].Inputs : i == 0 ? _inputSize : OutputWidth(_layers[i - 1]),
            };
    }

    /// <summary>What the layer above (or the head) reads of a layer: a reverse direction stands for its whole layer.</summary>
    private static int OutputWidth(LayerSpec layer) => layer.Reverse ? 2 * layer.StateSize : layer.StateSize;

    /// <summary>The parameters must fit one arena (FRNN011).</summary>
    private void CheckSize()
    {
        long total = _input == InputKind.Tokens ? (long)_vocabulary * _inputSize : 0;
        foreach (var layer in _layers)
        {
            int gates = layer.Cell == CellKind.Lstm ? 4 : 3;
            long padded = (layer.Hidden + 15L) / 16 * 16;
            total += gates * padded * (layer.Inputs + layer.StateSize + 2) + (layer.Projection > 0 ? padded * layer.Hidden : 0) + (layer.Normalized ? 2 * gates * padded + (layer.Cell == CellKind.Lstm ? 2 * padded : 0) : 0) + (layer.OutputBatchNorm ? 2 * padded : 0);
        }
        total += (_outputs + 15L) / 16 * 16 * ((_layers.Count > 0 ? OutputWidth(_layers[_layers.Count - 1]) : _inputSize) + 1);
        if (total > int.MaxValue)
            Report(Diagnostics.SizeTooLarge, _classLocation, _type.Name, total);
    }

    private ModelSpec Model(List<ContainingType> containing)
    {
        string accessibility = _type.DeclaredAccessibility switch
        {
            Accessibility.Public => "public",
            Accessibility.Internal => "internal",
            Accessibility.Private => "private",
            Accessibility.Protected => "protected",
            Accessibility.ProtectedOrInternal => "protected internal",
            Accessibility.ProtectedAndInternal => "private protected",
            _ => "internal",
        };
        return new ModelSpec(
            Namespace: _type.ContainingNamespace.IsGlobalNamespace ? null : _type.ContainingNamespace.ToDisplayString(),
            ContainingTypes: containing.ToEquatableArray(),
            Name: _type.Name,
            Accessibility: accessibility,
            Input: _input,
            InputSize: _inputSize,
            Vocabulary: _vocabulary,
            Layers: _layers.ToEquatableArray(),
            GroupCount: _groups,
            Outputs: Headless ? OutputWidth(_layers[_layers.Count - 1]) : _outputs,
            Activation: _activation!.Value,
            Readout: _readout,
            Loss: _loss!.Value,
            EmbeddingDropout: _embeddingDropout,
            HeadDropout: _headDropout,
            ActivationRegularization: _activationRegularization,
            TemporalActivationRegularization: _temporalActivationRegularization,
            Penalties: _penalties.Select(p => p.Penalty).ToEquatableArray(),
            Constraints: _constraints.Select(c => c.Constraint).ToEquatableArray(),
            HasHead: !Headless);
    }
}
