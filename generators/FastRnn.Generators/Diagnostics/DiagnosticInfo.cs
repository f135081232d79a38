using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace FastRnn.Generators;

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
