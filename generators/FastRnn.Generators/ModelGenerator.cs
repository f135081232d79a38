using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace FastRnn.Generators;

/// <summary>
/// The FastRnn incremental generator: for every class marked <c>[RnnModel]</c>, parse its attributes into a
/// <see cref="ModelSpec"/> (plain, structurally equatable values) and emit the model's specialized code. An edit
/// that leaves every model's spec unchanged regenerates nothing.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class ModelGenerator : IIncrementalGenerator
{
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var models = context.SyntaxProvider.ForAttributeWithMetadataName(
                Parser.ModelAttribute,
                predicate: static (node, _) => node is ClassDeclarationSyntax,
                transform: static (ctx, token) => Parser.Parse(ctx, token))
            .WithTrackingName("FastRnnModels");

        context.RegisterSourceOutput(models, static (spc, result) =>
        {
            foreach (var diagnostic in result.Diagnostics)
                spc.ReportDiagnostic(diagnostic.ToDiagnostic());
            if (result.Model is { } model)
                spc.AddSource(HintName(model), Emitter.Emit(model));
        });
    }

    private static string HintName(ModelSpec model) => model.FullName.Replace('<', '_').Replace('>', '_') + ".FastRnn.g.cs";
}
