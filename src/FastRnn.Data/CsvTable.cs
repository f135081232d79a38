using System.Globalization;

namespace FastRnn.Data;

/// <summary>A numeric CSV table: one header row, then rows of numbers. A bad file throws
/// <see cref="InvalidDataException"/> naming the file, line and problem.</summary>
public sealed class CsvTable
{
    private CsvTable(string[] columns, float[][] rows)
    {
        Columns = columns;
        Rows = rows;
    }

    public IReadOnlyList<string> Columns { get; }
    public IReadOnlyList<float[]> Rows { get; }

    public float[] Column(string name)
    {
        int index = Array.IndexOf((string[])Columns, name);
        if (index < 0)
            throw new ArgumentException($"No column '{name}'; the columns are {string.Join(", ", Columns)}.", nameof(name));
        return Rows.Select(r => r[index]).ToArray();
    }

    public static CsvTable Read(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"CSV file '{path}' does not exist.", path);
        using var reader = new StreamReader(path);
        string? header = reader.ReadLine();
        if (string.IsNullOrWhiteSpace(header))
            throw new InvalidDataException($"{path}:1: the header row is missing.");
        var columns = header.Split(',').Select(c => c.Trim().Trim('"')).ToArray();
        var rows = new List<float[]>();
        int lineNumber = 1;
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            lineNumber++;
            if (line.Length == 0)
                continue;
            var cells = line.Split(',');
            if (cells.Length != columns.Length)
                throw new InvalidDataException($"{path}:{lineNumber}: expected {columns.Length} values ({string.Join(", ", columns)}), found {cells.Length}.");
            var row = new float[cells.Length];
            for (int i = 0; i < cells.Length; i++)
                if (!float.TryParse(cells[i].Trim().Trim('"'), NumberStyles.Float, CultureInfo.InvariantCulture, out row[i]) || !float.IsFinite(row[i]))
                    throw new InvalidDataException($"{path}:{lineNumber}: '{cells[i]}' in column '{columns[i]}' is not a finite number.");
            rows.Add(row);
        }
        if (rows.Count == 0)
            throw new InvalidDataException($"{path}: no data rows after the header.");
        return new CsvTable(columns, rows.ToArray());
    }
}
