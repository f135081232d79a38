using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace FastRnn.Tests;

public class GeneratorDiagnosticTests
{
    [Theory]
    [InlineData("FRNN001", "[RnnModel, DenseInput(2), Lstm(4), Head(1), Loss(LossKind.MeanSquaredError)] public class M;")]
    [InlineData("FRNN002", "[RnnModel, Lstm(4), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN002", "[RnnModel, DenseInput(2), TokenInput(5, 2), Lstm(4), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN003", "[RnnModel, DenseInput(2), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN004", "[RnnModel, DenseInput(2), Lstm(4), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN005", "[RnnModel, DenseInput(2), Lstm(4), Head(1)] public partial class M;")]
    [InlineData("FRNN006", "[RnnModel, DenseInput(0), Lstm(4), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN006", "[RnnModel, DenseInput(2), Lstm(-3), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN006", "[RnnModel, DenseInput(2), Gru(4, Layers = 0), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN006", "[RnnModel, TokenInput(0, 4), Lstm(4), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN006", "[RnnModel, DenseInput(2), Lstm(4), Head(0), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN007", "[RnnModel, DenseInput(2), Lstm(4), Head(3, Activation.Softmax), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN007", "[RnnModel, DenseInput(2), Lstm(4), Head(3), Loss(LossKind.SoftmaxCrossEntropy)] public partial class M;")]
    [InlineData("FRNN007", "[RnnModel, DenseInput(2), Lstm(4), Head(1), Loss(LossKind.BinaryCrossEntropy)] public partial class M;")]
    [InlineData("FRNN008", "[RnnModel, DenseInput(2), Lstm(4), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M<T>;")]
    [InlineData("FRNN009", "public class Outer { [RnnModel, DenseInput(2), Lstm(4), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M; }")]
    [InlineData("FRNN010", "[RnnModel, DenseInput(2), Gru(4, Variant = (GruVariant)7), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN010", "[RnnModel, DenseInput(2), Lstm(4), Head(1, (Activation)9), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN011", "[RnnModel, DenseInput(50000), Lstm(50000), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN012", "[RnnModel, DenseInput(2), Lstm(4), Head(1, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)] public partial class M;")]
    [InlineData("FRNN013", "[RnnModel, DenseInput(2), Lstm(4, Dropout = 1.0), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN013", "[RnnModel, DenseInput(2), Gru(4, LockedDropout = -0.1), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN013", "[RnnModel, TokenInput(9, 2, EmbeddingDropout = 1.5), Lstm(4), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN013", "[RnnModel, DenseInput(2), Lstm(4), Head(1, Dropout = double.NaN), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN014", "[RnnModel, DenseInput(2), Lstm(4, Dropout = 0.1, LockedDropout = 0.2), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN014", "[RnnModel, DenseInput(2), Lstm(4), Head(1, Dropout = 0.1, LockedDropout = 0.1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN015", "[RnnModel, DenseInput(2), Lstm(4, Zoneout = 0.1, RecurrentDropout = 0.2), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN015", "[RnnModel, DenseInput(2), Gru(4, RecurrentDropout = 0.2, Zoneout = 0.3), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN013", "[RnnModel, DenseInput(2), Lstm(4, CellZoneout = 1.0), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN010", "[RnnModel, DenseInput(2), Lstm(4, RecurrentInit = (Initialization)9), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN016", "[RnnModel, DenseInput(2), Lstm(4), Head(1, ActivationRegularization = -1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN016", "[RnnModel, DenseInput(2), Lstm(4), Head(1, TemporalActivationRegularization = double.PositiveInfinity), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN017", "[RnnModel, DenseInput(2), Lstm(4), Head(1, Readout = Readout.LastStep, ActivationRegularization = 1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN018", "[RnnModel, DenseInput(2), Lstm(4), Head(1), Loss(LossKind.MeanSquaredError), Penalty(ParameterGroup.Bias, L1 = 0.1), Penalty(ParameterGroup.Bias, L2 = 0.1)] public partial class M;")]
    [InlineData("FRNN019", "[RnnModel, DenseInput(2), Lstm(4), Head(1), Loss(LossKind.MeanSquaredError), Penalty(ParameterGroup.Embedding, L2 = 0.1)] public partial class M;")]
    [InlineData("FRNN016", "[RnnModel, DenseInput(2), Lstm(4), Head(1), Loss(LossKind.MeanSquaredError), Penalty(ParameterGroup.HeadBias, L1 = -1)] public partial class M;")]
    [InlineData("FRNN010", "[RnnModel, DenseInput(2), Lstm(4), Head(1), Loss(LossKind.MeanSquaredError), Penalty((ParameterGroup)9, L1 = 1)] public partial class M;")]
    [InlineData("FRNN020", "[RnnModel, DenseInput(2), Lstm(4), Head(1), Loss(LossKind.MeanSquaredError), Constraint(ParameterGroup.Bias, ConstraintKind.UnitNorm), Constraint(ParameterGroup.Bias, ConstraintKind.NonNegative)] public partial class M;")]
    [InlineData("FRNN021", "[RnnModel, DenseInput(2), Lstm(4), Head(1), Loss(LossKind.MeanSquaredError), Constraint(ParameterGroup.HeadBias, ConstraintKind.MaxNorm, Axis = 1)] public partial class M;")]
    [InlineData("FRNN021", "[RnnModel, DenseInput(2), Lstm(4), Head(1), Loss(LossKind.MeanSquaredError), Constraint(ParameterGroup.InputKernel, ConstraintKind.MaxNorm, Axis = 2)] public partial class M;")]
    [InlineData("FRNN022", "[RnnModel, DenseInput(2), Lstm(4), Head(1), Loss(LossKind.MeanSquaredError), Constraint(ParameterGroup.InputKernel, ConstraintKind.MinMaxNorm, Min = 2, Max = 1)] public partial class M;")]
    [InlineData("FRNN022", "[RnnModel, DenseInput(2), Lstm(4), Head(1), Loss(LossKind.MeanSquaredError), Constraint(ParameterGroup.InputKernel, ConstraintKind.MinMaxNorm, Rate = 1.5)] public partial class M;")]
    [InlineData("FRNN023", "[RnnModel, DenseInput(2), Gru(4, Variant = GruVariant.ResetBefore, LayerNorm = true), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN023", "[RnnModel, DenseInput(2), Gru(4, Variant = GruVariant.ResetBefore, RecurrentBatchNorm = true, MaxSteps = 3), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN024", "[RnnModel, DenseInput(2), Lstm(4, LayerNorm = true, RecurrentBatchNorm = true, MaxSteps = 3), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN025", "[RnnModel, DenseInput(2), Lstm(4, RecurrentBatchNorm = true), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN026", "[RnnModel, DenseInput(2), Gru(4, MaxSteps = 10), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN027", "[RnnModel, DenseInput(2), Gru(4, Bidirectional = true, BatchNorm = true), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN028", "[RnnModel, DenseInput(2), Lstm(4, Projection = 4), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN028", "[RnnModel, DenseInput(2), Lstm(4, Projection = -1), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN029", "[RnnModel, DenseInput(2), Lstm(8, Projection = 4, Zoneout = 0.1), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN029", "[RnnModel, DenseInput(2), Lstm(8, Projection = 4, RecurrentDropout = 0.1), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN019", "[RnnModel, DenseInput(2), Lstm(4), Head(1), Loss(LossKind.MeanSquaredError), Constraint(ParameterGroup.Embedding, ConstraintKind.UnitNorm)] public partial class M;")]
    [InlineData("FRNN030", "[RnnModel(Readout = Readout.LastStep), DenseInput(2), Lstm(4), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    [InlineData("FRNN030", "[RnnModel(Readout = Readout.EveryStep), DenseInput(2), Lstm(4), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;")]
    public void InvalidDeclarationIsADiagnostic(string id, string declaration)
    {
        var result = GeneratorHarness.Run("using FastRnn;\nnamespace N;\n" + declaration);
        var diagnostic = Assert.Single(result.GeneratorDiagnostics);
        Assert.Equal(id, diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        // The location survives the incremental pipeline as a file path and span (not a syntax tree).
        var span = diagnostic.Location.GetLineSpan();
        Assert.Equal("Model0.cs", span.Path);
        Assert.Equal(2, span.StartLinePosition.Line);
        Assert.Empty(result.Run.GeneratedSources);
    }

    [Fact]
    public void ValidDeclarationHasNoDiagnostics()
    {
        var result = GeneratorHarness.Run("using FastRnn;\nnamespace N;\n[RnnModel, DenseInput(2), Lstm(4), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;");
        Assert.Empty(result.GeneratorDiagnostics);
        Assert.DoesNotContain(result.CompileDiagnostics, d => d.Severity >= DiagnosticSeverity.Warning);
    }
}

public class GeneratorIncrementalTests
{
    private const string Model = """
        using FastRnn;
        namespace N;
        [RnnModel, DenseInput(3), Gru(8), Head(2), Loss(LossKind.MeanSquaredError)]
        public partial class M;
        """;

    [Fact]
    public void UnrelatedEditRegeneratesNothing()
    {
        var compilation = GeneratorHarness.Compilation(Model, "namespace N; public class Other { public int A; }");
        var driver = GeneratorHarness.Driver(track: true).RunGenerators(compilation);
        var first = driver.GetRunResult().Results.Single();
        Assert.Single(first.GeneratedSources);

        // Edit the other file: the model's spec is unchanged, so its output is served from the cache.
        var other = compilation.SyntaxTrees.Last();
        var edited = compilation.ReplaceSyntaxTree(other,
            CSharpSyntaxTree.ParseText("namespace N; public class Other { public int A; public int B; }", GeneratorHarness.ParseOptions, path: other.FilePath));
        driver = driver.RunGenerators(edited);
        var second = driver.GetRunResult().Results.Single();
        var steps = second.TrackedSteps["FastRnnModels"].SelectMany(s => s.Outputs).ToList();
        Assert.NotEmpty(steps);
        Assert.All(steps, o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"model step was {o.Reason}"));
        Assert.All(second.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
            o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"output step was {o.Reason}"));
    }

    [Fact]
    public void EditingTheModelRegeneratesIt()
    {
        var compilation = GeneratorHarness.Compilation(Model);
        var driver = GeneratorHarness.Driver(track: true).RunGenerators(compilation);
        var tree = compilation.SyntaxTrees.Single();
        var edited = compilation.ReplaceSyntaxTree(tree,
            CSharpSyntaxTree.ParseText(Model.Replace("Gru(8)", "Gru(9)"), GeneratorHarness.ParseOptions, path: tree.FilePath));
        driver = driver.RunGenerators(edited);
        var result = driver.GetRunResult().Results.Single();
        Assert.Contains(result.TrackedSteps["FastRnnModels"].SelectMany(s => s.Outputs), o => o.Reason == IncrementalStepRunReason.Modified);
        Assert.Contains("private const int L0Hidden = 9;", result.GeneratedSources.Single().SourceText.ToString());
    }
}

/// <summary>Hand-rolled snapshot tests of emitted source: the committed file under Snapshots/ is the expected text.
/// Set FASTRNN_UPDATE_SNAPSHOTS=1 to rewrite them after an intended change, and review the diff.</summary>
public class GeneratorSnapshotTests
{
    public static TheoryData<string, string> Models() => new()
    {
        { "LstmTwoLayers", "[RnnModel, DenseInput(3), Lstm(20, Layers = 2), Head(2, Activation.Sigmoid, Readout = Readout.LastStep), Loss(LossKind.BinaryCrossEntropy)]" },
        { "Headless", "[RnnModel, TokenInput(12, 4), Gru(8, Bidirectional = true, RecurrentDropout = 0.2), Lstm(6)]" },
        { "HeadlessLast", "[RnnModel(Readout = Readout.LastStep), DenseInput(3), Lstm(10, Layers = 2, Dropout = 0.1)]" },
        { "BidirectionalStack", "[RnnModel, TokenInput(30, 8), Lstm(20, Bidirectional = true, LockedDropout = 0.2, RecurrentDropout = 0.1), Gru(12, Bidirectional = true), Head(3, Activation.Softmax, Readout = Readout.LastStep), Loss(LossKind.SoftmaxCrossEntropy)]" },
        { "GruTokens", "[RnnModel, TokenInput(30, 8), Gru(16), Gru(24, Variant = GruVariant.ResetBefore), Head(30, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]" },
        { "LstmDropout", "[RnnModel, TokenInput(40, 8, EmbeddingDropout = 0.1), Lstm(16, Layers = 2, Dropout = 0.25, RecurrentDropout = 0.2), Head(40, Activation.Softmax, LockedDropout = 0.4), Loss(LossKind.SoftmaxCrossEntropy)]" },
        { "LstmZoneoutWeightDrop", "[RnnModel, TokenInput(20, 8), Lstm(16, Zoneout = 0.1, CellZoneout = 0.05, WeightDrop = 0.3, CandidateDropout = 0.2, InputInit = Initialization.GlorotUniform, RecurrentInit = Initialization.Orthogonal, UnitForgetBias = true), Head(20, Activation.Softmax, Dropout = 0.3, ActivationRegularization = 2, TemporalActivationRegularization = 1), Loss(LossKind.SoftmaxCrossEntropy), Penalty(ParameterGroup.RecurrentKernel, L2 = 1e-4), Constraint(ParameterGroup.InputKernel, ConstraintKind.MaxNorm, Max = 3)]" },
        { "GruRecurrentDropout", "[RnnModel, DenseInput(5), Gru(16, RecurrentDropout = 0.3), Gru(8, Variant = GruVariant.ResetBefore, RecurrentDropout = 0.2), Head(1), Loss(LossKind.MeanSquaredError)]" },
        { "LayerNormCells", "[RnnModel, DenseInput(4), Lstm(20, LayerNorm = true, Zoneout = 0.1), Gru(12, LayerNorm = true), Head(2), Loss(LossKind.MeanSquaredError)]" },
        { "RecurrentBatchNormCells", "[RnnModel, DenseInput(4), Lstm(20, RecurrentBatchNorm = true, MaxSteps = 10, CellZoneout = 0.1), Gru(12, RecurrentBatchNorm = true, MaxSteps = 10), Head(2), Loss(LossKind.MeanSquaredError)]" },
        { "BatchNormBetweenLayers", "[RnnModel, TokenInput(30, 8), Lstm(16, BatchNorm = true), Gru(12, BatchNorm = true), Head(30, Activation.Softmax, Dropout = 0.5, TemporalActivationRegularization = 1), Loss(LossKind.SoftmaxCrossEntropy)]" },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void EmittedSourceMatchesSnapshot(string name, string attributes)
    {
        var result = GeneratorHarness.Run($"using FastRnn;\nnamespace Snapshots;\n{attributes}\npublic partial class {name};");
        string actual = result.Source($"Snapshots.{name}.FastRnn.g.cs").Replace("\r\n", "\n");
        string file = Path.Combine(AppContext.BaseDirectory, "Snapshots", name + ".g.cs.txt");
        if (Environment.GetEnvironmentVariable("FASTRNN_UPDATE_SNAPSHOTS") == "1")
        {
            string source = Path.Combine(FindTestsFolder(), "Snapshots", name + ".g.cs.txt");
            File.WriteAllText(source, actual);
            return;
        }
        Assert.True(File.Exists(file), $"No snapshot {file}; run with FASTRNN_UPDATE_SNAPSHOTS=1 to create it.");
        string expected = File.ReadAllText(file).Replace("\r\n", "\n");
        if (expected != actual)
        {
            var e = expected.Split('\n');
            var a = actual.Split('\n');
            int line = Enumerable.Range(0, Math.Min(e.Length, a.Length)).FirstOrDefault(i => e[i] != a[i], Math.Min(e.Length, a.Length));
            Assert.Fail($"Emitted source differs from {name}.g.cs.txt at line {line + 1}:\n expected: {(line < e.Length ? e[line] : "<end>")}\n actual:   {(line < a.Length ? a[line] : "<end>")}");
        }
    }

    [Fact]
    public void EmissionIsDeterministic()
    {
        var (name, attributes) = ("Same", "[RnnModel, DenseInput(3), Lstm(20), Gru(5), Head(2), Loss(LossKind.MeanSquaredError)]");
        string source = $"using FastRnn;\nnamespace D;\n{attributes}\npublic partial class {name};";
        Assert.Equal(GeneratorHarness.Run(source).Source(".g.cs"), GeneratorHarness.Run(source).Source(".g.cs"));
    }

    private static string FindTestsFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "FastRnn.Tests.csproj")))
                return dir.FullName;
        throw new DirectoryNotFoundException("tests/FastRnn.Tests not found above the test output folder.");
    }
}
