using System.Globalization;

namespace FastRnn.Serving;

/// <summary>The server's command line: a subcommand, then <c>--name value</c> pairs (a name may repeat). Unknown names
/// and malformed values are errors naming the option.</summary>
internal sealed class CommandLine
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _known;

    public CommandLine(string command, IEnumerable<string> arguments, IEnumerable<string> known)
    {
        Command = command;
        _known = [.. known];
        using var e = arguments.GetEnumerator();
        while (e.MoveNext())
        {
            string name = e.Current;
            if (!name.StartsWith("--", StringComparison.Ordinal) || !_known.Contains(name[2..]))
                throw new ArgumentException($"{command}: unknown option '{name}'; the options are {string.Join(", ", _known.Order().Select(k => "--" + k))}.");
            if (!e.MoveNext())
                throw new ArgumentException($"{command}: {name} needs a value.");
            if (!_values.TryGetValue(name[2..], out var list))
                _values[name[2..]] = list = [];
            list.Add(e.Current);
        }
    }

    public string Command { get; }

    public IReadOnlyList<string> All(string name) => _values.TryGetValue(name, out var list) ? list : [];

    public string? Text(string name) => _values.TryGetValue(name, out var list) ? list[^1] : null;

    public int Integer(string name, int fallback, int min = int.MinValue)
    {
        if (Text(name) is not { } text)
            return fallback;
        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) && value >= min
            ? value
            : throw new ArgumentException($"{Command}: --{name} takes a whole number of at least {min}; got '{text}'.");
    }

    public double Number(string name, double fallback, double min = 0)
    {
        if (Text(name) is not { } text)
            return fallback;
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && value >= min
            ? value
            : throw new ArgumentException($"{Command}: --{name} takes a number of at least {min}; got '{text}'.");
    }

    public bool Switch(string name, bool fallback) => Text(name) switch
    {
        null => fallback,
        "on" or "true" => true,
        "off" or "false" => false,
        var text => throw new ArgumentException($"{Command}: --{name} takes on or off; got '{text}'."),
    };
}
