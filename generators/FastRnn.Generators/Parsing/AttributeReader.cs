using System;
using System.Globalization;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;

namespace FastRnn.Generators;

/// <summary>Reads one FastRnn attribute's arguments: sizes, named properties, rates and coefficients, enum values by
/// member name. Invalid values are reported through <see cref="Report"/> at the attribute's location.</summary>
internal sealed class AttributeReader(AttributeData attribute, Action<DiagnosticDescriptor, LocationInfo?, object[]> report,
    CancellationToken cancellationToken)
{
    /// <summary>The attribute class's name, e.g. <c>LstmAttribute</c>.</summary>
    public string Name { get; } = attribute.AttributeClass!.Name;

    /// <summary>The name as written in a declaration, e.g. <c>Lstm</c> (used in messages).</summary>
    public string ShortName => Name.EndsWith("Attribute", StringComparison.Ordinal) ? Name.Substring(0, Name.Length - "Attribute".Length) : Name;

    public LocationInfo? Location { get; } = LocationInfo.From(attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken).GetLocation());

    public void Report(DiagnosticDescriptor descriptor, params object[] arguments) => report(descriptor, Location, arguments);

    /// <summary>Constructor argument <paramref name="index"/> as a size: reported (FRNN006) unless it is positive.</summary>
    public int Positive(int index, string what)
    {
        int value = Argument(index) is { Value: int v } ? v : 0;
        if (value <= 0)
            Report(Diagnostics.NonPositiveSize, what, ShortName, value);
        return value;
    }

    /// <summary>The named property's value, or <paramref name="fallback"/> where it is not set.</summary>
    public T Named<T>(string property, T fallback) =>
        NamedArgument(property) is { Value: T value } ? value : fallback;

    /// <summary>A rate in [0, 1), or null where it is not declared (0 is declared: a run-time default of off).</summary>
    public double? Rate(string property) => Declared(property, v => v >= 0 && v < 1, Diagnostics.RateOutOfRange);

    /// <summary>A penalty coefficient: finite and at least 0, or null where it is not declared.</summary>
    public double? Coefficient(string property) => Declared(property, v => v >= 0 && !double.IsInfinity(v), Diagnostics.NegativeCoefficient);

    /// <summary>The input's dropout: <c>Dropout</c> (a fresh mask per step) or <c>LockedDropout</c> (one per sequence),
    /// not both (FRNN014).</summary>
    public DropoutSpec? Dropout()
    {
        double? fresh = Rate("Dropout"), locked = Rate("LockedDropout");
        if (fresh is not null && locked is not null)
            Report(Diagnostics.TwoDropoutMasks, ShortName);
        return fresh is { } f ? new DropoutSpec(f, Locked: false) : locked is { } l ? new DropoutSpec(l, Locked: true) : null;
    }

    /// <summary>An enum-typed constructor argument, read by its member's name into the generator's mirror of that
    /// enum: <paramref name="fallback"/> where it is absent, null (and reported) where no member has its value.</summary>
    public TEnum? EnumArgument<TEnum>(int index, string what, TEnum fallback) where TEnum : struct =>
        Argument(index) is { } argument ? EnumValue<TEnum>(argument, what) : fallback;

    /// <summary>An enum-typed named property, read like <see cref="EnumArgument"/>.</summary>
    public TEnum? EnumProperty<TEnum>(string property, TEnum fallback) where TEnum : struct =>
        NamedArgument(property) is { } argument ? EnumValue<TEnum>(argument, property) : fallback;

    /// <summary>Whether the named property is written in the declaration (even at its default value).</summary>
    public bool IsSet(string property) => NamedArgument(property) is not null;

    private TypedConstant? Argument(int index) =>
        attribute.ConstructorArguments.Length > index ? attribute.ConstructorArguments[index] : null;

    private TypedConstant? NamedArgument(string property)
    {
        foreach (var pair in attribute.NamedArguments)
            if (pair.Key == property)
                return pair.Value;
        return null;
    }

    /// <summary>A value of a FastRnn enum: the member whose constant it is, parsed by name. A number no member has
    /// (<c>(GruVariant)7</c>) is FRNN010.</summary>
    private TEnum? EnumValue<TEnum>(TypedConstant constant, string what) where TEnum : struct
    {
        string? member = constant.Type?.GetMembers().OfType<IFieldSymbol>()
            .FirstOrDefault(f => f.HasConstantValue && Equals(f.ConstantValue, constant.Value))?.Name;
        if (member is not null && Enum.TryParse(member, out TEnum value))
            return value;
        Report(Diagnostics.UnknownValue, what, ShortName, Convert.ToString(constant.Value, CultureInfo.InvariantCulture) ?? "null");
        return null;
    }

    private double? Declared(string property, Func<double, bool> valid, DiagnosticDescriptor invalid)
    {
        if (NamedArgument(property) is not { Value: double value })
            return null;
        if (!valid(value))
            Report(invalid, property, ShortName, value.ToString("R", CultureInfo.InvariantCulture));
        return value;
    }
}
