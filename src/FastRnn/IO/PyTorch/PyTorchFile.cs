using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace FastRnn;

/// <summary>The element types of PyTorch's typed storages.</summary>
internal enum TorchDType { Float32, Float16, BFloat16, Float64, Int64, Int32, Int16, Int8, UInt8, Bool }

/// <summary>
/// A <c>torch.save</c> file (the zip format of PyTorch 1.6 and later): <c>ROOT/data.pkl</c>, a pickle of the saved
/// object whose tensors refer by key to storages stored raw, little-endian, as <c>ROOT/data/KEY</c>. The pickle is read
/// by <see cref="PickleReader"/> (nothing in it runs); every dict in it is walked and each tensor named by its path of
/// keys joined with dots (<c>model_state_dict.rnn.weight_ih_l0</c>, as PyTorch's own names are joined). A tensor's values
/// are read only when asked for, from the storage bytes each is bounded by, so a file that claims gigabytes allocates
/// nothing it does not hold. Every problem is an <see cref="InvalidDataException"/> naming the file.
/// </summary>
internal sealed class PyTorchFile
{
    private const int MaxNesting = 64;

    private readonly string _source;
    private readonly Dictionary<string, byte[]> _storages;

    private PyTorchFile(string source, Dictionary<string, byte[]> storages, Dictionary<string, PickledTensor> tensors)
    {
        _source = source;
        _storages = storages;
        Tensors = tensors;
    }

    /// <summary>Every tensor of the file by its dotted name.</summary>
    public IReadOnlyDictionary<string, PickledTensor> Tensors { get; }

    public static PyTorchFile Read(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (FileNotFoundException) { throw new FileNotFoundException($"PyTorch file '{path}' does not exist.", path); }
        return Parse(bytes, path);
    }

    public static PyTorchFile Parse(byte[] bytes, string source)
    {
        if (bytes.Length >= 2 && bytes[0] == 0x80 && bytes[1] <= 5)
            throw new InvalidDataException(
                $"PyTorch file '{source}' is in the legacy torch.save format (PyTorch before 1.6, or saved with " +
                "_use_new_zipfile_serialization=False), which FastRnn does not read. Re-save it in PyTorch as a zip: " +
                "torch.save(torch.load(path), path).");
        if (bytes.Length < 4 || bytes[0] != (byte)'P' || bytes[1] != (byte)'K')
            throw new InvalidDataException($"PyTorch file '{source}' is not a torch.save zip archive (it does not start with 'PK').");
        if (!EndsWithDirectory(bytes))
            throw new InvalidDataException($"PyTorch file '{source}' does not end with a zip archive's end-of-directory record (truncated, or bytes appended?).");
        ZipArchive archive;
        try
        {
            archive = new ZipArchive(new MemoryStream(bytes, writable: false), ZipArchiveMode.Read);
        }
        catch (Exception e) when (IsZipError(e))
        {
            throw new InvalidDataException($"PyTorch file '{source}' is not a readable zip archive: {e.Message}", e);
        }
        using (archive)
            return Parse(archive, bytes.Length, source);
    }

    /// <summary>Whether the file ends exactly where a zip's end-of-central-directory record (22 bytes and its comment)
    /// does: zip readers search backwards for the record and would skip whatever follows it.</summary>
    private static bool EndsWithDirectory(byte[] bytes)
    {
        for (int at = bytes.Length - 22; at >= Math.Max(0, bytes.Length - 22 - ushort.MaxValue); at--)
            if (BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at)) == 0x06054b50
                && at + 22 + BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(at + 20)) == bytes.Length)
                return true;
        return false;
    }

    /// <summary>What System.IO.Compression throws for a damaged archive.</summary>
    private static bool IsZipError(Exception e) =>
        e is InvalidDataException or IOException or ArgumentException or NotSupportedException or InvalidOperationException or OverflowException or FormatException;

    private static PyTorchFile Parse(ZipArchive archive, long fileLength, string source)
    {
        IReadOnlyList<ZipArchiveEntry> all;
        try
        {
            all = archive.Entries;      // read lazily: damage in the central directory surfaces here
        }
        catch (Exception e) when (IsZipError(e))
        {
            throw new InvalidDataException($"PyTorch file '{source}' is not a readable zip archive: {e.Message}", e);
        }
        var pickles = all.Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) || e.FullName == "data.pkl").ToList();
        if (pickles.Count != 1)
            throw new InvalidDataException($"PyTorch file '{source}' has {pickles.Count} data.pkl entries; a torch.save archive has one.");
        string root = pickles[0].FullName[..^"data.pkl".Length];
        var entries = new Dictionary<string, ZipArchiveEntry>(StringComparer.Ordinal);
        foreach (var entry in all)
            entries.TryAdd(entry.FullName, entry);
        if (entries.TryGetValue(root + "byteorder", out var order))
        {
            string text = Encoding.ASCII.GetString(ReadEntry(order, 16, fileLength, source)).Trim();
            if (text != "little")
                throw new InvalidDataException($"PyTorch file '{source}' stores its tensors {text}-endian; FastRnn reads little-endian files.");
        }

        var storages = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var declared = new Dictionary<string, PickledStorage>(StringComparer.Ordinal);
        PickledStorage Persistent(object? id)
        {
            if (id is not object?[] { Length: 5 } tuple || tuple[0] as string != "storage" || tuple[1] is not PickledGlobal type
                || tuple[2] is not string key || tuple[4] is not long count || count < 0)
                throw new InvalidDataException($"PyTorch file '{source}' has a persistent id that is not ('storage', type, key, location, count).");
            var dtype = DTypeOf(type.Name, source);
            if (declared.TryGetValue(key, out var known))
                return known.DType == dtype && known.Count == count ? known
                    : throw new InvalidDataException($"PyTorch file '{source}' declares storage '{key}' twice, differently.");
            if (!entries.TryGetValue(root + "data/" + key, out var entry))
                throw new InvalidDataException($"PyTorch file '{source}' lacks the entry 'data/{key}' of a storage its tensors use.");
            long bytes = count > long.MaxValue / 8 ? long.MaxValue : count * SizeOf(dtype);
            if (entry.Length != bytes)
                throw new InvalidDataException($"PyTorch file '{source}' has storage '{key}' of {count} {dtype} elements ({bytes} bytes) in an entry of {entry.Length} bytes.");
            storages[key] = ReadEntry(entry, bytes, fileLength, source);
            return declared[key] = new PickledStorage(key, dtype, count);
        }

        byte[] pickle = ReadEntry(pickles[0], 64 << 20, fileLength, source);
        object? value = PickleReader.Load(pickle, source, Persistent);
        var tensors = new Dictionary<string, PickledTensor>(StringComparer.Ordinal);
        Collect(value, "", 0, tensors, source);
        return new PyTorchFile(source, storages, tensors);
    }

    /// <summary>Names every tensor under dicts (and lists, by index) with its dotted path.</summary>
    private static void Collect(object? value, string name, int depth, Dictionary<string, PickledTensor> tensors, string source)
    {
        if (depth > MaxNesting)
            throw new InvalidDataException($"PyTorch file '{source}' nests containers more than {MaxNesting} deep (at '{name}').");
        string Join(string key) => name.Length == 0 ? key : name + "." + key;
        switch (value)
        {
            case PickledTensor tensor:
                if (!tensors.TryAdd(name, tensor))
                    throw new InvalidDataException($"PyTorch file '{source}' names two tensors '{name}'.");
                break;
            case PickledDict dict:
                foreach (var (key, item) in dict.Items)
                    if (key is string or long)
                        Collect(item, Join(Convert.ToString(key, System.Globalization.CultureInfo.InvariantCulture)!), depth + 1, tensors, source);
                break;
            case List<object?> list:
                for (int i = 0; i < list.Count; i++)
                    Collect(list[i], Join(i.ToString(System.Globalization.CultureInfo.InvariantCulture)), depth + 1, tensors, source);
                break;
        }
    }

    /// <summary>A tensor's values as float32 in row-major order (float16 and bfloat16 exactly, float64 rounded to
    /// nearest), read through its offset and strides, which must stay inside its storage.</summary>
    public float[] Values(string name, PickledTensor tensor)
    {
        if (tensor.Storage.DType is not (TorchDType.Float32 or TorchDType.Float16 or TorchDType.BFloat16 or TorchDType.Float64))
            throw new InvalidDataException($"Tensor '{name}' in PyTorch file '{_source}' holds {tensor.Storage.DType}; FastRnn's parameters are floating point.");
        long count, last;
        bool contiguous = true;
        try
        {
            // last: the storage element the tensor's last element reads; contiguous: row-major strides
            count = 1;
            last = tensor.Offset;
            for (int d = tensor.Shape.Length - 1; d >= 0; d--)
            {
                contiguous &= tensor.Shape[d] == 1 || tensor.Stride[d] == count;
                count = checked(count * tensor.Shape[d]);
                last = checked(last + (tensor.Shape[d] - 1) * tensor.Stride[d]);
            }
        }
        catch (OverflowException)
        {
            throw new InvalidDataException($"Tensor '{name}' in PyTorch file '{_source}' has sizes and strides that overflow.");
        }
        if (count > Array.MaxLength)
            throw new InvalidDataException($"Tensor '{name}' in PyTorch file '{_source}' has {count} elements.");
        if (count > 0 && last >= tensor.Storage.Count)
            throw new InvalidDataException($"Tensor '{name}' in PyTorch file '{_source}' reaches element {last} of a storage of {tensor.Storage.Count}.");
        int size = SizeOf(tensor.Storage.DType);
        byte[] raw = _storages[tensor.Storage.Key];
        string dtype = tensor.Storage.DType switch
        {
            TorchDType.Float32 => "F32",
            TorchDType.Float16 => "F16",
            TorchDType.BFloat16 => "BF16",
            _ => "F64",
        };
        var values = new float[count];
        if (contiguous || count == 0)
        {
            Safetensors.Convert(raw.AsSpan((int)(tensor.Offset * size), (int)(count * size)), dtype, values);
            return values;
        }
        Span<long> index = stackalloc long[tensor.Shape.Length];
        for (long i = 0; i < count; i++)
        {
            long element = tensor.Offset;
            for (int d = 0; d < index.Length; d++)
                element += index[d] * tensor.Stride[d];
            Safetensors.Convert(raw.AsSpan((int)(element * size), size), dtype, values.AsSpan((int)i, 1));
            for (int d = index.Length - 1; d >= 0; d--)
            {
                if (++index[d] < tensor.Shape[d])
                    break;
                index[d] = 0;
            }
        }
        return values;
    }

    /// <summary>A tensor's sizes, as int (refused when a size does not fit).</summary>
    public int[] ShapeOf(string name, PickledTensor tensor) =>
        tensor.Shape.Select(d => d <= int.MaxValue ? (int)d
            : throw new InvalidDataException($"Tensor '{name}' in PyTorch file '{_source}' has a dimension of {d}.")).ToArray();

    private static byte[] ReadEntry(ZipArchiveEntry entry, long expected, long fileLength, string source)
    {
        // The central directory's sizes are claims: a stored entry cannot be longer than the file, a deflated one not
        // more than deflate's 1032:1 beyond it; then exactly the claimed bytes must come out.
        long limit = entry.CompressedLength * (entry.CompressedLength == entry.Length ? 1 : 1032);
        if (entry.Length > expected || entry.Length > limit || entry.CompressedLength > fileLength || entry.Length > Array.MaxLength)
            throw new InvalidDataException($"PyTorch file '{source}' has entry '{entry.FullName}' claiming {entry.Length} bytes, more than it can hold.");
        var bytes = new byte[entry.Length];
        int read = 0, more;
        try
        {
            using var stream = entry.Open();
            while (read < bytes.Length)
            {
                int n = stream.Read(bytes, read, bytes.Length - read);
                if (n == 0)
                    break;
                read += n;
            }
            more = stream.Read(new byte[1]);        // reading to the end: the archive checks what it can
        }
        catch (Exception e) when (IsZipError(e))
        {
            throw new InvalidDataException($"PyTorch file '{source}' has a damaged entry '{entry.FullName}': {e.Message}", e);
        }
        if (read < bytes.Length)
            throw new InvalidDataException($"PyTorch file '{source}' has entry '{entry.FullName}' shorter than its {entry.Length} bytes (truncated?).");
        if (more != 0)
            throw new InvalidDataException($"PyTorch file '{source}' has entry '{entry.FullName}' longer than its {entry.Length} bytes.");
        if (System.IO.Hashing.Crc32.HashToUInt32(bytes) != entry.Crc32)
            throw new InvalidDataException($"PyTorch file '{source}' has entry '{entry.FullName}' whose bytes do not match its CRC-32 (corrupted?).");
        return bytes;
    }

    private static TorchDType DTypeOf(string storage, string source) => storage switch
    {
        "FloatStorage" => TorchDType.Float32,
        "HalfStorage" => TorchDType.Float16,
        "BFloat16Storage" => TorchDType.BFloat16,
        "DoubleStorage" => TorchDType.Float64,
        "LongStorage" => TorchDType.Int64,
        "IntStorage" => TorchDType.Int32,
        "ShortStorage" => TorchDType.Int16,
        "CharStorage" => TorchDType.Int8,
        "ByteStorage" => TorchDType.UInt8,
        "BoolStorage" => TorchDType.Bool,
        _ => throw new InvalidDataException($"PyTorch file '{source}' has a storage of type '{storage}'."),
    };

    private static int SizeOf(TorchDType dtype) => dtype switch
    {
        TorchDType.Float64 or TorchDType.Int64 => 8,
        TorchDType.Float32 or TorchDType.Int32 => 4,
        TorchDType.Float16 or TorchDType.BFloat16 or TorchDType.Int16 => 2,
        _ => 1,
    };
}
