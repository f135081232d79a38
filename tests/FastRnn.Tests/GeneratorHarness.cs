using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.Loader;
using FastRnn.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace FastRnn.Tests;

/// <summary>Runs the generator on source text in memory, and compiles and loads the result.</summary>
internal static class GeneratorHarness
{
    private static readonly Lazy<ImmutableArray<MetadataReference>> s_references = new(() =>
    {
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p) is var f && (f.StartsWith("System.") || f is "netstandard.dll" or "mscorlib.dll"))
            .Append(typeof(RnnModelAttribute).Assembly.Location)
            .Append(typeof(System.Numerics.Tensors.TensorPrimitives).Assembly.Location)
            .Distinct();
        return paths.Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToImmutableArray();
    });

    public static CSharpParseOptions ParseOptions { get; } = new(LanguageVersion.Latest);

    public static CSharpCompilation Compilation(params string[] sources) =>
        CSharpCompilation.Create("InMemory" + Guid.NewGuid().ToString("N"),
            sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, ParseOptions, path: $"Model{i}.cs")),
            s_references.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable,
                optimizationLevel: OptimizationLevel.Release, warningLevel: 9999));

    public static GeneratorDriver Driver(bool track = false) =>
        CSharpGeneratorDriver.Create([new ModelGenerator().AsSourceGenerator()], parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: track));

    public sealed record Result(Compilation Output, ImmutableArray<Diagnostic> GeneratorDiagnostics, GeneratorRunResult Run)
    {
        public IEnumerable<Diagnostic> CompileDiagnostics => Output.GetDiagnostics();
        public string Source(string hintSuffix) => Run.GeneratedSources.Single(s => s.HintName.EndsWith(hintSuffix)).SourceText.ToString();
    }

    public static Result Run(params string[] sources)
    {
        var driver = Driver().RunGeneratorsAndUpdateCompilation(Compilation(sources), out var output, out var diagnostics);
        return new Result(output, diagnostics, driver.GetRunResult().Results.Single());
    }

    /// <summary>Generates, compiles (warnings are failures, as under TreatWarningsAsErrors) and loads the assembly.</summary>
    public static Assembly CompileAndLoad(params string[] sources)
    {
        var result = Run(sources);
        var problems = result.GeneratorDiagnostics.Concat(result.CompileDiagnostics)
            .Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        if (problems.Count > 0)
            throw new Xunit.Sdk.XunitException("Compilation failed:\n" + string.Join("\n", problems.Take(20)));
        using var stream = new MemoryStream();
        var emit = result.Output.Emit(stream);
        if (!emit.Success)
            throw new Xunit.Sdk.XunitException("Emit failed:\n" + string.Join("\n", emit.Diagnostics.Take(20)));
        stream.Position = 0;
        return new AssemblyLoadContext(null, isCollectible: true).LoadFromStream(stream);
    }
}
