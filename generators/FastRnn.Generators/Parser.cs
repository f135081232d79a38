using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace FastRnn.Generators;

/// <summary>Reads a model class's attributes into a <see cref="ModelSpec"/>, or into diagnostics when the
/// declaration is invalid. Nothing here survives into the model but plain values.</summary>
internal static class Parser
{
    public const string ModelAttribute = "FastRnn.RnnModelAttribute";

    public static ParseResult Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        var type = (INamedTypeSymbol)context.TargetSymbol;
        var syntax = (ClassDeclarationSyntax)context.TargetNode;
        var diagnostics = new List<DiagnosticInfo>();
        var classLocation = LocationInfo.From(syntax.Identifier.GetLocation());

        void Report(DiagnosticDescriptor descriptor, LocationInfo? location, params object[] arguments) =>
            diagnostics.Add(new DiagnosticInfo(descriptor, location ?? classLocation,
                arguments.Select(a => new StringValue(a?.ToString() ?? "")).ToEquatableArray()));

        if (!syntax.Modifiers.Any(SyntaxKind.PartialKeyword))
            Report(Diagnostics.NotPartial, classLocation, type.Name);
        if (type.IsGenericType)
            Report(Diagnostics.Generic, classLocation, type.Name);

        var containing = new List<ContainingType>();
        for (var parent = syntax.Parent as TypeDeclarationSyntax; parent is not null; parent = parent.Parent as TypeDeclarationSyntax)
        {
            if (!parent.Modifiers.Any(SyntaxKind.PartialKeyword))
                Report(Diagnostics.ContainingTypeNotPartial, LocationInfo.From(parent.Identifier.GetLocation()), parent.Identifier.Text, type.Name);
            string keyword = parent switch
            {
                RecordDeclarationSyntax record => record.ClassOrStructKeyword.IsKind(SyntaxKind.StructKeyword) ? "record struct" : "record",
                StructDeclarationSyntax => "struct",
                InterfaceDeclarationSyntax => "interface",
                _ => "class",
            };
            containing.Insert(0, new ContainingType(keyword, parent.Identifier.Text));
        }

        // Attributes in the order they are written: that order is the order of the layers.
        var attributes = type.GetAttributes()
            .Where(a => a.AttributeClass?.ContainingNamespace?.ToDisplayString() == "FastRnn")
            .OrderBy(a => a.ApplicationSyntaxReference?.SyntaxTree.FilePath, System.StringComparer.Ordinal)
            .ThenBy(a => a.ApplicationSyntaxReference?.Span.Start ?? 0)
            .ToList();

        InputKind input = InputKind.Dense;
        int inputSize = 0, vocabulary = 0, inputCount = 0, headCount = 0, lossCount = 0, groups = 0;
        int outputs = 0;
        HeadActivation activation = HeadActivation.Linear;
        HeadReadout readout = HeadReadout.EveryStep;
        LossKind loss = LossKind.MeanSquaredError;
        double? embeddingDropout = null;
        DropoutSpec? headDropout = null;
        double? activationRegularization = null, temporalActivationRegularization = null;
        var penalties = new List<PenaltySpec>();
        var penaltyLocations = new List<LocationInfo?>();
        var constraints = new List<ConstraintSpec>();
        var constraintLocations = new List<LocationInfo?>();
        var layers = new List<LayerSpec>();

        foreach (var attribute in attributes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string name = attribute.AttributeClass!.Name;
            string shortName = name.EndsWith("Attribute") ? name.Substring(0, name.Length - "Attribute".Length) : name;
            var location = LocationInfo.From(attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken).GetLocation());

            int Positive(int index, string what)
            {
                int value = attribute.ConstructorArguments.Length > index && attribute.ConstructorArguments[index].Value is int v ? v : 0;
                if (value <= 0)
                    Report(Diagnostics.NonPositiveSize, location, what, shortName, value);
                return value;
            }

            T Named<T>(string property, T fallback)
            {
                foreach (var pair in attribute.NamedArguments)
                    if (pair.Key == property && pair.Value.Value is T value)
                        return value;
                return fallback;
            }

            // A number is declared when its property is set at all (0 included: a run-time default of off); a value
            // outside its range is reported with the given diagnostic.
            double? Declared(string property, System.Func<double, bool> valid, DiagnosticDescriptor invalid)
            {
                foreach (var pair in attribute.NamedArguments)
                {
                    if (pair.Key != property || pair.Value.Value is not double value)
                        continue;
                    if (!valid(value))
                        Report(invalid, location, property, shortName, value.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
                    return value;
                }
                return null;
            }

            double? Rate(string property) => Declared(property, v => v >= 0 && v < 1, Diagnostics.RateOutOfRange);

            double? Coefficient(string property) => Declared(property, v => v >= 0 && !double.IsInfinity(v), Diagnostics.NegativeCoefficient);

            DropoutSpec? Dropout()
            {
                double? fresh = Rate("Dropout"), locked = Rate("LockedDropout");
                if (fresh is not null && locked is not null)
                    Report(Diagnostics.TwoDropoutMasks, location, shortName);
                return fresh is { } f ? new DropoutSpec(f, false) : locked is { } l ? new DropoutSpec(l, true) : null;
            }

            int Enum(object? raw, string what, int count)
            {
                int value = raw is int v ? v : 0;
                if (value < 0 || value >= count)
                    Report(Diagnostics.UnknownValue, location, what, shortName, value);
                return value;
            }

            switch (name)
            {
                case "DenseInputAttribute":
                    inputCount++;
                    input = InputKind.Dense;
                    inputSize = Positive(0, "features");
                    break;
                case "TokenInputAttribute":
                    inputCount++;
                    input = InputKind.Tokens;
                    vocabulary = Positive(0, "vocabulary");
                    inputSize = Positive(1, "embedding");
                    embeddingDropout = Rate("EmbeddingDropout");
                    break;
                case "LstmAttribute":
                case "GruAttribute":
                {
                    int hidden = Positive(0, "hidden");
                    int stack = Named("Layers", 1);
                    if (stack <= 0)
                        Report(Diagnostics.NonPositiveSize, location, "Layers", shortName, stack);
                    var cell = CellKind.Lstm;
                    if (name == "GruAttribute")
                        cell = Enum(Named<object?>("Variant", 0), "Variant", 2) == 1 ? CellKind.GruResetBefore : CellKind.GruResetAfter;
                    var dropout = Dropout();
                    double? recurrentDropout = Rate("RecurrentDropout"), zoneout = Rate("Zoneout"), cellZoneout = Rate("CellZoneout");
                    double? weightDrop = Rate("WeightDrop");
                    // Values mirror FastRnn.Initialization.
                    int inputInit = Enum(Named<object?>("InputInit", 0), "InputInit", 4);
                    int recurrentInit = Enum(Named<object?>("RecurrentInit", 0), "RecurrentInit", 4);
                    bool unitForgetBias = Named("UnitForgetBias", false);
                    double? candidateDropout = Rate("CandidateDropout");
                    if (zoneout is not null && recurrentDropout is not null)
                        Report(Diagnostics.ZoneoutWithRecurrentDropout, location, shortName);
                    bool layerNorm = Named("LayerNorm", false);
                    bool outputBatchNorm = Named("BatchNorm", false);
                    bool recurrentBatchNorm = Named("RecurrentBatchNorm", false);
                    int maxSteps = Named("MaxSteps", 0);
                    if ((layerNorm || recurrentBatchNorm) && cell == CellKind.GruResetBefore)
                        Report(Diagnostics.LayerNormClassicGru, location, shortName, layerNorm ? "LayerNorm" : "RecurrentBatchNorm");
                    if (layerNorm && recurrentBatchNorm)
                        Report(Diagnostics.TwoNormalizations, location, shortName);
                    if (recurrentBatchNorm && maxSteps < 1)
                        Report(Diagnostics.BatchNormWithoutMaxSteps, location, shortName, maxSteps);
                    if (!recurrentBatchNorm && maxSteps != 0)
                        Report(Diagnostics.MaxStepsWithoutBatchNorm, location, shortName);
                    for (int k = 0; k < stack; k++)
                        layers.Add(new LayerSpec(cell, 0, hidden, groups, k, dropout, recurrentDropout, zoneout, cellZoneout, weightDrop,
                            inputInit, recurrentInit, unitForgetBias, candidateDropout, layerNorm, outputBatchNorm, recurrentBatchNorm, maxSteps));
                    groups++;
                    break;
                }
                case "HeadAttribute":
                    headCount++;
                    outputs = Positive(0, "outputs");
                    activation = (HeadActivation)Enum(attribute.ConstructorArguments.Length > 1 ? attribute.ConstructorArguments[1].Value : 0, "activation", 3);
                    readout = (HeadReadout)Enum(Named<object?>("Readout", 0), "Readout", 2);
                    headDropout = Dropout();
                    activationRegularization = Coefficient("ActivationRegularization");
                    temporalActivationRegularization = Coefficient("TemporalActivationRegularization");
                    if ((activationRegularization is not null || temporalActivationRegularization is not null) && readout != HeadReadout.EveryStep)
                        Report(Diagnostics.PenaltyNeedsEveryStep, location);
                    break;
                case "PenaltyAttribute":
                {
                    int group = Enum(attribute.ConstructorArguments.Length > 0 ? attribute.ConstructorArguments[0].Value : 0, "group", 6);
                    var penalty = new PenaltySpec(group, Coefficient("L1"), Coefficient("L2"));
                    if (penalties.Any(p => p.Group == group))
                        Report(Diagnostics.PenaltyTwice, location, PenaltySpec.GroupNames[System.Math.Min(System.Math.Max(group, 0), 5)]);
                    else
                    {
                        penalties.Add(penalty);
                        penaltyLocations.Add(location);
                    }
                    break;
                }
                case "ConstraintAttribute":
                {
                    var args = attribute.ConstructorArguments;
                    int group = Enum(args.Length > 0 ? args[0].Value : 0, "group", 6);
                    int kind = Enum(args.Length > 1 ? args[1].Value : 0, "kind", 5);
                    int axis = Named("Axis", 0);
                    // Keras' defaults: MaxNorm(max_value=2), MinMaxNorm(min_value=0, max_value=1, rate=1).
                    double max = Named("Max", double.NaN), min = Named("Min", 0.0), rate = Named("Rate", 1.0);
                    if (double.IsNaN(max))
                        max = kind == 1 ? 2.0 : 1.0;
                    string groupName = PenaltySpec.GroupNames[System.Math.Min(System.Math.Max(group, 0), 5)];
                    bool vector = group is 2 or 4; // biases
                    if (axis < 0 || axis > 1 || (vector && axis != 0))
                        Report(Diagnostics.ConstraintAxis, location, axis, "ParameterGroup." + groupName);
                    if (!(min >= 0 && max > 0 && min <= max && rate >= 0 && rate <= 1 && !double.IsInfinity(max)))
                        Report(Diagnostics.ConstraintValues, location, "ParameterGroup." + groupName, ConstraintSpec.KindNames[System.Math.Min(System.Math.Max(kind, 0), 4)],
                            min.ToString("R", System.Globalization.CultureInfo.InvariantCulture), max.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
                            rate.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
                    if (constraints.Any(c => c.Group == group))
                        Report(Diagnostics.ConstraintTwice, location, groupName);
                    else if (kind != 0)
                    {
                        constraints.Add(new ConstraintSpec(group, kind, axis, min, max, rate));
                        constraintLocations.Add(location);
                    }
                    break;
                }
                case "LossAttribute":
                    lossCount++;
                    loss = (LossKind)Enum(attribute.ConstructorArguments.Length > 0 ? attribute.ConstructorArguments[0].Value : 0, "kind", 3);
                    break;
            }
        }

        if (inputCount != 1)
            Report(Diagnostics.InputCount, classLocation, type.Name, inputCount);
        if (groups == 0)
            Report(Diagnostics.NoRecurrentLayer, classLocation, type.Name);
        if (headCount != 1)
            Report(Diagnostics.HeadCount, classLocation, type.Name, headCount);
        if (lossCount != 1)
            Report(Diagnostics.LossCount, classLocation, type.Name, lossCount);
        // An unknown activation or loss is already reported (FRNN010); pairing it would only repeat that.
        if (headCount == 1 && lossCount == 1 && (int)activation is >= 0 and < 3 && (int)loss is >= 0 and < 3)
        {
            bool supported = (activation, loss) switch
            {
                (HeadActivation.Linear, LossKind.MeanSquaredError) => true,
                (HeadActivation.Sigmoid, LossKind.MeanSquaredError) => true,
                (HeadActivation.Sigmoid, LossKind.BinaryCrossEntropy) => true,
                (HeadActivation.Softmax, LossKind.SoftmaxCrossEntropy) => true,
                _ => false,
            };
            if (!supported)
                Report(Diagnostics.UnsupportedHeadLoss, classLocation, activation, loss);
            else if (loss == LossKind.SoftmaxCrossEntropy && outputs == 1)
                Report(Diagnostics.SoftmaxNeedsClasses, classLocation, outputs);
        }

        for (int i = 0; i < penalties.Count; i++)
            if (penalties[i].Group == 5 && input != InputKind.Tokens)
                Report(Diagnostics.MissingGroup, penaltyLocations[i], "Penalty(ParameterGroup.Embedding)");
        for (int i = 0; i < constraints.Count; i++)
            if (constraints[i].Group == 5 && input != InputKind.Tokens)
                Report(Diagnostics.MissingGroup, constraintLocations[i], "Constraint(ParameterGroup.Embedding)");

        // Each layer reads the one below it; the first reads the input (or the embedding).
        for (int i = 0; i < layers.Count; i++)
            layers[i] = layers[i] with { Inputs = i == 0 ? inputSize : layers[i - 1].Hidden };

        if (diagnostics.Count == 0)
        {
            long size = EstimateParameters(inputSize, vocabulary, input, layers, outputs);
            if (size > int.MaxValue)
                Report(Diagnostics.SizeTooLarge, classLocation, type.Name, size);
        }

        if (diagnostics.Count > 0)
            return new ParseResult(null, diagnostics.ToEquatableArray());

        string? ns = type.ContainingNamespace.IsGlobalNamespace ? null : type.ContainingNamespace.ToDisplayString();
        string accessibility = type.DeclaredAccessibility switch
        {
            Accessibility.Public => "public",
            Accessibility.Internal => "internal",
            Accessibility.Private => "private",
            Accessibility.Protected => "protected",
            Accessibility.ProtectedOrInternal => "protected internal",
            Accessibility.ProtectedAndInternal => "private protected",
            _ => "internal",
        };
        var model = new ModelSpec(ns, containing.ToEquatableArray(), type.Name, accessibility, input, inputSize, vocabulary,
            layers.ToEquatableArray(), groups, outputs, activation, readout, loss,
            embeddingDropout, headDropout, activationRegularization, temporalActivationRegularization, penalties.ToEquatableArray(),
            constraints.ToEquatableArray());
        return new ParseResult(model, default);
    }

    private static long EstimateParameters(int inputSize, int vocabulary, InputKind input, List<LayerSpec> layers, int outputs)
    {
        long total = input == InputKind.Tokens ? (long)vocabulary * inputSize : 0;
        int previous = inputSize;
        foreach (var layer in layers)
        {
            int gates = layer.Cell == CellKind.Lstm ? 4 : 3;
            long padded = (layer.Hidden + 15L) / 16 * 16;
            total += gates * padded * (previous + layer.Hidden + 2) + (layer.Normalized ? 2 * gates * padded + 2 * padded : 0) + (layer.OutputBatchNorm ? 2 * padded : 0);
            previous = layer.Hidden;
        }
        return total + (outputs + 15L) / 16 * 16 * (previous + 1);
    }
}
