using System;
using System.Text;

namespace FastRnn.Generators;

/// <summary>Writes indented C#: <see cref="Line"/> for one line, <see cref="Lines"/> for a multi-line template
/// (re-indented to the current level), <see cref="Block"/> for a braced block and <see cref="Indent"/> for one more
/// level without braces, both closed on dispose. The depth lives here only: callers never write leading spaces of
/// their own for the level they are at.</summary>
internal sealed class CodeWriter
{
    private readonly StringBuilder _text = new();
    private int _depth;

    public void Line(string line = "")
    {
        if (line.Length == 0)
        {
            _text.Append('\n');
            return;
        }
        _text.Append(' ', 4 * _depth).Append(line).Append('\n');
    }

    /// <summary>Writes the lines of an interpolated template (see <see cref="CodeTemplate"/>: values indented where they
    /// stand, empty values alone on a line removed with it) at the current indentation.</summary>
    public void Lines(CodeTemplate template) => Lines(template.ToString());

    /// <summary>Writes each line of <paramref name="template"/> at the current indentation (a template is written
    /// as if at depth 0; blank lines stay blank).</summary>
    public void Lines(string template)
    {
        foreach (var raw in template.Replace("\r\n", "\n").Split('\n'))
            Line(raw.TrimEnd());
    }

    /// <summary>One more level of indentation until the returned scope is disposed.</summary>
    public IDisposable Indent()
    {
        _depth++;
        return new Closer(this, null);
    }

    /// <summary>Writes <paramref name="header"/> (if any) and an opening brace; the closing brace comes on dispose.</summary>
    public IDisposable Block(string header) => Block(header, "{", "}");

    /// <summary>Writes <paramref name="header"/> (if any) and <paramref name="open"/>; <paramref name="close"/> (say "};"
    /// after a switch expression, "];" after a collection) comes on dispose.</summary>
    public IDisposable Block(string header, string open, string close)
    {
        if (header.Length > 0)
            Line(header);
        Line(open);
        _depth++;
        return new Closer(this, close);
    }

    public override string ToString() => _text.ToString();

    private sealed class Closer(CodeWriter writer, string? close) : IDisposable
    {
        public void Dispose()
        {
            writer._depth--;
            if (close is not null)
                writer.Line(close);
        }
    }
}
