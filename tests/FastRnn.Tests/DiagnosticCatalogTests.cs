using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Xunit;

namespace FastRnn.Tests;

/// <summary>The generator's diagnostic catalog, its analyzer release tracking, README's table and the diagnostic tests
/// name the same IDs with the same titles: a new diagnostic that is not documented and tested fails here.</summary>
public partial class DiagnosticCatalogTests
{
    private static IReadOnlyList<DiagnosticDescriptor> Catalog()
    {
        var type = typeof(FastRnn.Generators.ModelGenerator).Assembly.GetType("FastRnn.Generators.Diagnostics", throwOnError: true)!;
        return type.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
            .Where(f => f.FieldType == typeof(DiagnosticDescriptor))
            .Select(f => (DiagnosticDescriptor)f.GetValue(null)!)
            .OrderBy(d => d.Id, StringComparer.Ordinal)
            .ToList();
    }

    private static Dictionary<string, string> Rows(string path, Regex row) =>
        File.ReadLines(path).Select(l => row.Match(l)).Where(m => m.Success)
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value.Trim());

    [Fact]
    public void IdsAreUniqueAndStable()
    {
        var catalog = Catalog();
        Assert.True(catalog.Count >= 26, $"only {catalog.Count} descriptors found");
        Assert.Equal(catalog.Count, catalog.Select(d => d.Id).Distinct().Count());
        Assert.All(catalog, d => Assert.Matches("^FRNN[0-9]{3}$", d.Id));
        Assert.All(catalog, d => Assert.Equal(DiagnosticSeverity.Error, d.DefaultSeverity));
    }

    [Fact]
    public void ReadmeTableListsEveryDiagnosticWithItsTitle()
    {
        var readme = Rows(Path.Combine(RepositoryFiles.Root, "README.md"), ReadmeRow());
        Assert.Equal(Catalog().ToDictionary(d => d.Id, d => d.Title.ToString()), readme);
    }

    [Fact]
    public void AnalyzerReleaseTrackingListsEveryDiagnostic()
    {
        var tracked = Rows(Path.Combine(RepositoryFiles.Root, "generators", "FastRnn.Generators", "AnalyzerReleases.Unshipped.md"), ReleaseRow());
        foreach (var shipped in Rows(Path.Combine(RepositoryFiles.Root, "generators", "FastRnn.Generators", "AnalyzerReleases.Shipped.md"), ReleaseRow()))
            tracked.Add(shipped.Key, shipped.Value);
        Assert.Equal(Catalog().ToDictionary(d => d.Id, d => d.Title.ToString()), tracked);
    }

    [Fact]
    public void EveryDiagnosticHasADeclarationThatRaisesIt()
    {
        var tested = typeof(GeneratorDiagnosticTests).GetMethod(nameof(GeneratorDiagnosticTests.InvalidDeclarationIsADiagnostic))!
            .GetCustomAttributes<InlineDataAttribute>()
            .SelectMany(a => a.GetData(null!))
            .Select(row => (string)row[0])
            .ToHashSet();
        var untested = Catalog().Select(d => d.Id).Where(id => !tested.Contains(id)).ToList();
        Assert.True(untested.Count == 0, "no declaration raises " + string.Join(", ", untested));
    }

    [GeneratedRegex(@"^\| `(FRNN\d{3})` \| (.*) \|$")]
    private static partial Regex ReadmeRow();

    [GeneratedRegex(@"^(FRNN\d{3}) \| FastRnn \| Error \| (.*)$")]
    private static partial Regex ReleaseRow();
}
