using System.Runtime.CompilerServices;
using System.Text;

namespace FastRnn.Generators;

/// <summary>
/// An interpolated C# template, the emitter's one way to put code into code: each value is placed at the indentation
/// of the line it stands on, so a multi-line value (a fragment) is written without leading spaces of its own; and a
/// value that stands alone on its line and is empty takes its line with it, so an optional fragment needs no newline
/// tricks. Indentation of the template as a whole is the <see cref="CodeWriter"/>'s.
/// </summary>
[InterpolatedStringHandler]
internal struct CodeTemplate
{
    private readonly StringBuilder _text;
    // The last value was empty and nothing but indentation stands before it on its line: if the line ends there, it goes.
    private bool _emptyAlone;

    public CodeTemplate(int literalLength, int formattedCount)
    {
        _text = new StringBuilder(literalLength + 32 * formattedCount);
        _emptyAlone = false;
    }

    public void AppendLiteral(string literal)
    {
        if (_emptyAlone)
        {
            _emptyAlone = false;
            if (literal.StartsWith("\n", System.StringComparison.Ordinal))
            {
                RemoveIndentation();
                literal = literal.Substring(1);
            }
        }
        _text.Append(literal);
    }

    public void AppendFormatted(string? value)
    {
        int lineStart = LineStart();
        int indentEnd = lineStart;
        while (indentEnd < _text.Length && _text[indentEnd] == ' ')
            indentEnd++;
        if (string.IsNullOrEmpty(value))
        {
            _emptyAlone = indentEnd == _text.Length;
            return;
        }
        _emptyAlone = false;
        string indent = new(' ', indentEnd - lineStart);
        _text.Append(indent.Length == 0 ? value : value!.Replace("\n", "\n" + indent));
    }

    public void AppendFormatted<T>(T value) => AppendFormatted(value?.ToString());

    public override string ToString()
    {
        if (_emptyAlone)
        {
            // The template ends with an empty value alone on its line: the line and the newline before it go.
            RemoveIndentation();
            if (_text.Length > 0 && _text[_text.Length - 1] == '\n')
                _text.Length--;
            _emptyAlone = false;
        }
        return _text.ToString();
    }

    private int LineStart()
    {
        for (int i = _text.Length - 1; i >= 0; i--)
            if (_text[i] == '\n')
                return i + 1;
        return 0;
    }

    private void RemoveIndentation() => _text.Length = LineStart();
}
