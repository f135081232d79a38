using FastRnn.Generators;
using Xunit;

namespace FastRnn.Tests;

/// <summary>The emitter's one indentation mechanism: the writer's depth, and templates whose values take the
/// indentation of the line they stand on (<see cref="CodeTemplate"/>).</summary>
public class CodeWriterTests
{
    private static string Template(CodeTemplate template) => template.ToString();

    [Fact]
    public void AValueTakesTheIndentationOfItsLine()
    {
        string fragment = "a();\nif (x)\n    b();";
        Assert.Equal("{\n    a();\n    if (x)\n        b();\n}", Template($"{{\n    {fragment}\n}}"));
    }

    [Fact]
    public void AValueAtALineEndContinuesAtThatLinesIndentation()
    {
        string more = "\nc();\nd();";
        Assert.Equal("  a(); b();\n  c();\n  d();", Template($"  a(); b();{more}"));
    }

    [Fact]
    public void AnEmptyValueAloneOnItsLineTakesTheLineWithIt()
    {
        string empty = "";
        Assert.Equal("a\nb", Template($"a\n    {empty}\nb"));
        Assert.Equal("a", Template($"a\n    {empty}"));
        Assert.Equal("b", Template($"{empty}\nb"));
    }

    [Fact]
    public void AnEmptyValueBesideOtherTextKeepsItsLine()
    {
        string empty = "";
        Assert.Equal("a\n    x;\nb", Template($"a\n    x;{empty}\nb"));
        string text = "y";
        Assert.Equal("a\n    y\nb", Template($"a\n    {empty}{text}\nb"));
    }

    [Fact]
    public void WriterIndentsTemplatesAndScopes()
    {
        var w = new CodeWriter();
        using (w.Block("class C"))
        {
            string body = "int x = 1;\nreturn x;";
            using (w.Block("int F()"))
                w.Lines($"// two lines\n{body}");
            using (w.Indent())
                w.Line("// deeper");
            w.Line();
        }
        Assert.Equal("class C\n{\n    int F()\n    {\n        // two lines\n        int x = 1;\n        return x;\n    }\n        // deeper\n\n}\n", w.ToString());
    }
}
