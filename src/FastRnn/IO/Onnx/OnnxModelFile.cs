namespace FastRnn.IO.Onnx;

/// <summary>An ONNX node as read: operator, inputs and outputs by name, and the attributes an importer checks.</summary>
internal sealed record OnnxNodeInfo(string OpType, string[] Inputs, string[] Outputs, Dictionary<string, OnnxAttributeValue> Attributes)
{
    /// <summary>Input <paramref name="index"/>, or "" where it is absent (an optional input left out).</summary>
    public string Input(int index) => index < Inputs.Length ? Inputs[index] : "";
}

/// <summary>An attribute's value: an int, a float, a string, or a list of ints or floats (the kinds an importer reads).</summary>
internal sealed record OnnxAttributeValue(long? Int = null, float? Float = null, string? Text = null, long[]? Ints = null, float[]? Floats = null,
    string[]? Texts = null, OnnxTensorValue? Tensor = null);

/// <summary>A float tensor (float32 or float64 data, as float32), with its dims.</summary>
internal sealed record OnnxTensorValue(string Name, long[] Dims, float[]? Values, int DataType)
{
    public long Count => Dims.Aggregate(1L, (a, d) => a * d);
}

/// <summary>
/// The parts of an ONNX file (a serialized ModelProto) that carry a recurrent model: the graph's nodes in order and its
/// float initializers (and <c>Constant</c> nodes' tensors), read with onnx.proto's field numbers. The file is untrusted:
/// a malformed message, a tensor whose data does not match its dims, or external data is an
/// <see cref="InvalidDataException"/>.
/// </summary>
internal sealed class OnnxModelFile
{
    public List<OnnxNodeInfo> Nodes { get; } = [];

    public Dictionary<string, OnnxTensorValue> Tensors { get; } = new(StringComparer.Ordinal);

    public static OnnxModelFile Read(ReadOnlySpan<byte> bytes)
    {
        var file = new OnnxModelFile();
        bool graph = false;
        foreach (var field in new ProtoReader(bytes))
        {
            if (field.Number == 7 && field.WireType == 2) // ModelProto.graph
            {
                file.ReadGraph(field.Span);
                graph = true;
            }
        }
        if (!graph)
            throw new InvalidDataException("The file holds no ONNX graph (it is not an ONNX model).");
        return file;
    }

    private void ReadGraph(ReadOnlySpan<byte> graph)
    {
        foreach (var field in new ProtoReader(graph))
        {
            if (field.WireType != 2)
                continue;
            if (field.Number == 1) // node
                Nodes.Add(ReadNode(field.Span));
            else if (field.Number == 5) // initializer
            {
                var tensor = ReadTensor(field.Span);
                Tensors[tensor.Name] = tensor;
            }
        }
        // a Constant node's value is a tensor under its output's name
        foreach (var node in Nodes)
            if (node.OpType == "Constant" && node.Outputs.Length == 1 && node.Attributes.TryGetValue("value", out var value) && value.Tensor is { } t)
                Tensors[node.Outputs[0]] = t with { Name = node.Outputs[0] };
    }

    private static OnnxNodeInfo ReadNode(ReadOnlySpan<byte> node)
    {
        var inputs = new List<string>();
        var outputs = new List<string>();
        string op = "";
        var attributes = new Dictionary<string, OnnxAttributeValue>(StringComparer.Ordinal);
        foreach (var field in new ProtoReader(node))
        {
            switch (field.Number)
            {
                case 1: inputs.Add(field.Text); break;
                case 2: outputs.Add(field.Text); break;
                case 4: op = field.Text; break;
                case 5:
                    var (name, value) = ReadAttribute(field.Span);
                    attributes[name] = value;
                    break;
            }
        }
        return new OnnxNodeInfo(op, [.. inputs], [.. outputs], attributes);
    }

    private static (string Name, OnnxAttributeValue Value) ReadAttribute(ReadOnlySpan<byte> attribute)
    {
        string name = "";
        long? i = null;
        float? f = null;
        string? s = null;
        OnnxTensorValue? t = null;
        List<long>? ints = null;
        List<float>? floats = null;
        List<string>? texts = null;
        foreach (var field in new ProtoReader(attribute))
        {
            switch (field.Number)
            {
                case 1: name = field.Text; break;
                case 2: f = field.Float; break;
                case 3: i = field.Int64; break;
                case 4: s = field.Text; break;
                case 5: t = ReadTensor(field.Span); break;
                case 7: (floats ??= []).AddRange(ProtoReader.Floats(field)); break;
                case 8: (ints ??= []).AddRange(ProtoReader.Int64s(field)); break;
                case 9: (texts ??= []).Add(field.Text); break;
            }
        }
        return (name, new OnnxAttributeValue(i, f, s, ints?.ToArray(), floats?.ToArray(), texts?.ToArray(), t));
    }

    /// <summary>TensorProto: dims (1), data_type (2), float_data (4), name (8), raw_data (9), double_data (10),
    /// data_location (14). Float and double data are kept (as float32); other types keep their dims only.</summary>
    private static OnnxTensorValue ReadTensor(ReadOnlySpan<byte> tensor)
    {
        var dims = new List<long>();
        int type = 0;
        string name = "";
        byte[]? raw = null;
        List<float>? floats = null;
        List<double>? doubles = null;
        foreach (var field in new ProtoReader(tensor))
        {
            switch (field.Number)
            {
                case 1: dims.AddRange(ProtoReader.Int64s(field)); break;
                case 2: type = (int)field.Int64; break;
                case 4: (floats ??= []).AddRange(ProtoReader.Floats(field)); break;
                case 8: name = field.Text; break;
                case 9: raw = field.Span.ToArray(); break;
                case 10:
                    doubles ??= [];
                    if (field.WireType == 1)
                        doubles.Add(BitConverter.Int64BitsToDouble(field.Int64));
                    else
                    {
                        if (field.Span.Length % 8 != 0)
                            throw new InvalidDataException($"Tensor '{name}': its double_data holds {field.Span.Length} bytes, not a multiple of 8.");
                        for (int k = 0; k < field.Span.Length; k += 8)
                            doubles.Add(System.Buffers.Binary.BinaryPrimitives.ReadDoubleLittleEndian(field.Span[k..]));
                    }
                    break;
                case 14 when field.Int64 == 1:
                    throw new InvalidDataException($"Tensor '{name}' keeps its data in an external file, which LoadOnnx does not read.");
            }
        }
        if (dims.Any(d => d < 0))
            throw new InvalidDataException($"Tensor '{name}' has a negative dimension.");
        long count = dims.Aggregate(1L, (a, d) => checked(a * d));
        float[]? values = null;
        if (type == OnnxGraph.Float)
        {
            if (raw is not null)
            {
                if (raw.Length != count * 4)
                    throw new InvalidDataException($"Tensor '{name}' of {count} floats holds {raw.Length} bytes of raw data.");
                values = new float[count];
                for (int k = 0; k < count; k++)
                    values[k] = System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(raw.AsSpan(4 * k));
            }
            else
                values = floats?.ToArray() ?? [];
        }
        else if (type == 11) // DOUBLE
        {
            if (raw is not null)
            {
                if (raw.Length != count * 8)
                    throw new InvalidDataException($"Tensor '{name}' of {count} doubles holds {raw.Length} bytes of raw data.");
                values = new float[count];
                for (int k = 0; k < count; k++)
                    values[k] = (float)System.Buffers.Binary.BinaryPrimitives.ReadDoubleLittleEndian(raw.AsSpan(8 * k));
            }
            else
                values = doubles?.Select(d => (float)d).ToArray() ?? [];
        }
        if (values is not null && values.Length != count)
            throw new InvalidDataException($"Tensor '{name}' has dims [{string.Join(", ", dims)}] ({count} values) but holds {values.Length}.");
        return new OnnxTensorValue(name, [.. dims], values, type);
    }
}
