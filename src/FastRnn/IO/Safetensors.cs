using FastRnn.Kernels;
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
/// writes F32 tensors (and a quantized model's BF16 and I8) and reads F32, F16, BF16, F64 and I8 (converted to float32:
/// all exactly but F64, which is rounded to nearest, as PyTorch's <c>.float()</c> does); the optional <c>__metadata__</c> entry holds string pairs. As the
/// reference implementation requires, the tensors' byte ranges tile the data exactly: no gap, no overlap, nothing after.
/// </summary>
public static class Safetensors
{
    private const long MaxHeaderBytes = 100_000_000;

    /// <summary>Writes tensors to <paramref name="path"/> atomically: to a temporary file beside it first, flushed, then
    /// renamed over the target and the directory flushed, so a crash never leaves a half-written file under the final
    /// name; a write that fails leaves no temporary file behind and the target unchanged.</summary>
    public static void Write(string path, IEnumerable<(string Name, int[] Shape, float[] Data)> tensors,
        IReadOnlyDictionary<string, string>? metadata = null) =>
        Write(path, tensors.Select(t => (t.Name, "F32", t.Shape, t.Data)), metadata);

    /// <summary>As <see cref="Write(string, IEnumerable{ValueTuple{string, int[], float[]}}, IReadOnlyDictionary{string, string})"/>,
    /// each tensor in its own dtype: F32, BF16 (every value must be a bfloat16 exactly) or I8 (every value an integer in
    /// [−128, 127]); a value the dtype cannot hold exactly throws before anything is written.</summary>
    public static void Write(string path, IEnumerable<(string Name, string DType, int[] Shape, float[] Data)> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        foreach (var (name, dtype, _, data) in list)
            CheckRepresentable(name, dtype, data);
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
            foreach (var (name, dtype, shape, data) in list)
            {
                long count = shape.Aggregate(1L, (a, d) => a * d);
                if (count != data.Length)
                    throw new ArgumentException($"Tensor '{name}' has shape ({string.Join(", ", shape)}) = {count} elements but {data.Length} values.");
                long bytes = SizeOf(dtype) * (long)data.Length;
                json.WriteStartObject(name);
                json.WriteString("dtype", dtype);
                json.WriteStartArray("shape");
                foreach (int d in shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
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
            foreach (var (_, dtype, _, data) in list)
                WriteValues(file, dtype, data);
        });
    }

    /// <summary>Bytes per value of a dtype FastRnn writes or reads (0 for any other).</summary>
    private static int SizeOf(string dtype) => dtype switch { "F32" => 4, "F16" or "BF16" => 2, "F64" => 8, "I8" => 1, _ => 0 };

    private static void CheckRepresentable(string name, string dtype, float[] data)
    {
        if (dtype is not ("F32" or "BF16" or "I8"))
            throw new ArgumentException($"Tensor '{name}': FastRnn writes F32, BF16 and I8, not {dtype}.");
        for (int i = 0; i < data.Length; i++)
        {
            float v = data[i];
            bool exact = dtype switch
            {
                "BF16" => BitConverter.SingleToUInt32Bits(v) == BitConverter.SingleToUInt32Bits(BFloat16.ToSingle(BFloat16.FromSingle(v))) || float.IsNaN(v),
                "I8" => v == MathF.Round(v) && v is >= -128 and <= 127,
                _ => true,
            };
            if (!exact)
                throw new ArgumentException($"Tensor '{name}': value {i}, {v:R}, is not exactly a {dtype}.");
        }
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
                int size = SizeOf(dtype);
                if (size == 0)
                    throw Bad(source, $"tensor '{name}' has dtype {dtype}; FastRnn reads F32, F16, BF16, F64 and I8");
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
            case "I8":
                for (int i = 0; i < data.Length; i++)
                    data[i] = (sbyte)raw[i];
                break;
            default:
                throw new ArgumentException($"Unknown dtype {dtype}.", nameof(dtype));
        }
    }

    private static void WriteValues(Stream stream, string dtype, float[] data)
    {
        if (dtype == "F32" && BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(data.AsSpan()));
            return;
        }
        var buffer = new byte[SizeOf(dtype)];
        foreach (float value in data)
        {
            switch (dtype)
            {
                case "F32": BinaryPrimitives.WriteSingleLittleEndian(buffer, value); break;
                case "BF16": BinaryPrimitives.WriteUInt16LittleEndian(buffer, BFloat16.FromSingle(value)); break;
                default: buffer[0] = (byte)(sbyte)value; break;
            }
            stream.Write(buffer);
        }
    }

    private static InvalidDataException Bad(string source, string problem) =>
        new($"Safetensors file '{source}' is invalid: {problem}.");
}
