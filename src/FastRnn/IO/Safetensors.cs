using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace FastRnn;

/// <summary>One tensor read from a safetensors file.</summary>
public sealed record SafetensorsEntry(string Name, string DType, int[] Shape, float[] Data);

/// <summary>
/// The safetensors format: an 8-byte little-endian header length, a JSON header mapping each name to its dtype,
/// shape and [begin, end) byte offsets into the data that follows, then the raw little-endian data. FastRnn reads and
/// writes F32 tensors and reads F32, F16, BF16 and F64 (converted to float32: F16 and BF16 exactly, F64 rounded to
/// nearest, as PyTorch's <c>.float()</c> does); the optional <c>__metadata__</c> entry holds string pairs. As the
/// reference implementation requires, the tensors' byte ranges tile the data exactly: no gap, no overlap, nothing after.
/// </summary>
public static class Safetensors
{
    private const long MaxHeaderBytes = 100_000_000;

    /// <summary>Writes tensors to <paramref name="path"/> atomically: to a temporary file beside it first, flushed, then
    /// renamed over the target and the directory flushed, so a crash never leaves a half-written file under the final
    /// name; a write that fails leaves no temporary file behind and the target unchanged.</summary>
    public static void Write(string path, IEnumerable<(string Name, int[] Shape, float[] Data)> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        using var headerStream = new MemoryStream();
        using (var json = new Utf8JsonWriter(headerStream))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
                    json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, shape, data) in list)
            {
                long count = shape.Aggregate(1L, (a, d) => a * d);
                if (count != data.Length)
                    throw new ArgumentException($"Tensor '{name}' has shape ({string.Join(", ", shape)}) = {count} elements but {data.Length} values.");
                json.WriteStartObject(name);
                json.WriteString("dtype", "F32");
                json.WriteStartArray("shape");
                foreach (int d in shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + 4L * data.Length);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += 4L * data.Length;
            }
            json.WriteEndObject();
        }
        // The header is padded with spaces to a multiple of 8 bytes so the data stays aligned.
        int headerLength = (int)((headerStream.Length + 7) / 8 * 8);
        var header = new byte[headerLength];
        header.AsSpan().Fill((byte)' ');
        headerStream.ToArray().CopyTo(header, 0);

        DurableFile.Write(path, file =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(length, headerLength);
            file.Write(length);
            file.Write(header);
            foreach (var (_, _, data) in list)
                WriteFloats(file, data);
        });
    }

    /// <summary>Reads every tensor of a safetensors file (F32, F16, BF16, F64). A malformed file throws
    /// <see cref="InvalidDataException"/> naming the file and the problem.</summary>
    public static Dictionary<string, SafetensorsEntry> Read(string path, out Dictionary<string, string> metadata)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (FileNotFoundException) { throw new FileNotFoundException($"Safetensors file '{path}' does not exist.", path); }
        return Parse(bytes, path, out metadata);
    }

    public static Dictionary<string, SafetensorsEntry> Read(string path) => Read(path, out _);

    internal static Dictionary<string, SafetensorsEntry> Parse(byte[] bytes, string source, out Dictionary<string, string> metadata)
    {
        if (bytes.Length < 8)
            throw Bad(source, $"it is {bytes.Length} bytes long, shorter than the 8-byte header length");
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        if (headerLength <= 0 || headerLength > MaxHeaderBytes || 8 + headerLength > bytes.Length)
            throw Bad(source, $"the header length {headerLength} does not fit in the file's {bytes.Length} bytes (truncated?)");
        long dataStart = 8 + headerLength;
        long dataLength = bytes.Length - dataStart;

        JsonDocument document;
        try { document = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength)); }
        catch (JsonException e) { throw Bad(source, "its header is not valid JSON: " + e.Message); }

        metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var result = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
        using (document)
        {
            try
            {
                ReadEntries(document, bytes, dataStart, dataLength, source, metadata, result);
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException or OverflowException)
            {
                // a value of the wrong JSON kind (a string where a number belongs, a number past int), or sizes that overflow
                throw Bad(source, "its header has a value of the wrong kind or size: " + e.Message);
            }
        }
        return result;
    }

    private static void ReadEntries(JsonDocument document, byte[] bytes, long dataStart, long dataLength, string source,
        Dictionary<string, string> metadata, Dictionary<string, SafetensorsEntry> result)
    {
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw Bad(source, "its header is not a JSON object");
            var ranges = new List<(long Begin, long End, string Name)>();
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                {
                    foreach (var pair in property.Value.EnumerateObject())
                        metadata[pair.Name] = pair.Value.GetString() ?? "";
                    continue;
                }
                var entry = property.Value;
                string name = property.Name;
                if (!entry.TryGetProperty("dtype", out var dtypeElement) || !entry.TryGetProperty("shape", out var shapeElement)
                    || !entry.TryGetProperty("data_offsets", out var offsetsElement))
                    throw Bad(source, $"tensor '{name}' lacks dtype, shape or data_offsets");
                string dtype = dtypeElement.GetString() ?? "";
                int size = dtype switch { "F32" => 4, "F16" or "BF16" => 2, "F64" => 8, _ => 0 };
                if (size == 0)
                    throw Bad(source, $"tensor '{name}' has dtype {dtype}; FastRnn reads F32, F16, BF16 and F64");
                int[] shape = shapeElement.EnumerateArray().Select(e => e.GetInt32()).ToArray();
                long[] offsets = offsetsElement.EnumerateArray().Select(e => e.GetInt64()).ToArray();
                if (shape.Any(d => d < 0))
                    throw Bad(source, $"tensor '{name}' has a negative dimension");
                long count = shape.Aggregate(1L, (a, d) => checked(a * d));
                if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0])
                    throw Bad(source, $"tensor '{name}' has invalid data_offsets");
                if (offsets[1] > dataLength)
                    throw Bad(source, $"tensor '{name}' ends at byte {offsets[1]} of the data but the data has {dataLength} bytes (truncated?)");
                if (offsets[1] - offsets[0] != checked(size * count))
                    throw Bad(source, $"tensor '{name}' of shape ({string.Join(", ", shape)}) needs {size * count} bytes but its offsets span {offsets[1] - offsets[0]}");
                var data = new float[count];
                Convert(bytes.AsSpan((int)(dataStart + offsets[0]), (int)(size * count)), dtype, data);
                ranges.Add((offsets[0], offsets[1], name));
                result[name] = new SafetensorsEntry(name, dtype, shape, data);
            }
            // The byte ranges must tile the data: sorted, each starts where the previous ended, the last ends the file.
            long end = 0;
            foreach (var (begin, stop, name) in ranges.OrderBy(r => r.Begin).ThenBy(r => r.End))
            {
                if (begin != end)
                    throw Bad(source, begin < end
                        ? $"tensor '{name}' overlaps the tensor before it (bytes {begin}..{stop} of the data)"
                        : $"the data has {begin - end} unused bytes before tensor '{name}'");
                end = stop;
            }
            if (end != dataLength)
                throw Bad(source, $"its tensors end at byte {end} of the data but {dataLength - end} more bytes follow (appended or damaged?)");
        }
    }

    /// <summary>Little-endian F32, F16, BF16 or F64 values to float32 (the last rounded to nearest even).</summary>
    internal static void Convert(ReadOnlySpan<byte> raw, string dtype, Span<float> data)
    {
        switch (dtype)
        {
            case "F32" when BitConverter.IsLittleEndian:
                raw.CopyTo(MemoryMarshal.AsBytes(data));
                break;
            case "F32":
                for (int i = 0; i < data.Length; i++)
                    data[i] = BinaryPrimitives.ReadSingleLittleEndian(raw[(4 * i)..]);
                break;
            case "F16":
                for (int i = 0; i < data.Length; i++)
                    data[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(raw[(2 * i)..]);
                break;
            case "BF16":
                // bfloat16 is the upper half of a float32: shifting its bits up is exact.
                for (int i = 0; i < data.Length; i++)
                    data[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(raw[(2 * i)..]) << 16);
                break;
            case "F64":
                for (int i = 0; i < data.Length; i++)
                    data[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(raw[(8 * i)..]);
                break;
            default:
                throw new ArgumentException($"Unknown dtype {dtype}.", nameof(dtype));
        }
    }

    private static void WriteFloats(Stream stream, float[] data)
    {
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(data.AsSpan()));
            return;
        }
        var buffer = new byte[4];
        foreach (float value in data)
        {
            BinaryPrimitives.WriteSingleLittleEndian(buffer, value);
            stream.Write(buffer);
        }
    }

    private static InvalidDataException Bad(string source, string problem) =>
        new($"Safetensors file '{source}' is invalid: {problem}.");
}
