namespace FastRnn.IO.Onnx;

/// <summary>
/// An ONNX graph being built: nodes in order, float initializers, and typed graph inputs and outputs, serialized as a
/// <c>ModelProto</c> (onnx.proto's field numbers, noted where they are written). A graph may be the body of a node (a
/// <c>Scan</c>): its value names then carry <paramref name="prefix"/>, so none shadows a name of the graph around it.
/// </summary>
internal sealed class OnnxGraph(string name, string prefix = "")
{
    /// <summary>ONNX tensor element types (TensorProto.DataType).</summary>
    public const int Float = 1, Int32 = 6, Int64 = 7;

    private readonly List<ProtoWriter> _nodes = [];
    private readonly List<ProtoWriter> _initializers = [];
    private readonly List<ProtoWriter> _inputs = [];
    private readonly List<ProtoWriter> _outputs = [];
    private int _unique;

    /// <summary>A fresh value name from <paramref name="stem"/>.</summary>
    public string Name(string stem) => $"{prefix}{stem}_{_unique++}";

    /// <summary>A float initializer of <paramref name="dims"/> holding <paramref name="values"/>.</summary>
    public string Initializer(string tensorName, ReadOnlySpan<float> values, params long[] dims)
    {
        var tensor = new ProtoWriter().PackedInts(1, dims).Int(2, Float).String(8, tensorName).RawFloats(9, values); // dims, data_type, name, raw_data
        _initializers.Add(tensor);
        return tensorName;
    }

    /// <summary>An int64 initializer (a shape or a list of axes).</summary>
    public string Int64s(string stem, params long[] values)
    {
        string tensorName = Name(stem);
        var tensor = new ProtoWriter().PackedInts(1, [values.Length]).Int(2, Int64).String(8, tensorName).PackedInts(7, values); // int64_data
        _initializers.Add(tensor);
        return tensorName;
    }

    /// <summary>An int64 scalar initializer (a Range bound, a Gather index).</summary>
    public string Int64Scalar(string stem, long value)
    {
        string tensorName = Name(stem);
        _initializers.Add(new ProtoWriter().Int(2, Int64).String(8, tensorName).PackedInts(7, [value]));
        return tensorName;
    }

    /// <summary>A float scalar initializer.</summary>
    public string FloatScalar(string stem, float value) => Initializer(Name(stem), [value]);

    /// <summary>A body graph's input or output of <paramref name="elementType"/> whose shape the node around it decides.</summary>
    public string BodyInput(string valueName, int elementType)
    {
        _inputs.Add(ValueInfo(valueName, elementType, null));
        return valueName;
    }

    public void BodyOutput(string valueName, int elementType) => _outputs.Add(ValueInfo(valueName, elementType, null));

    /// <summary>A graph input of <paramref name="elementType"/>; a dimension is a size or a symbolic name.</summary>
    public string Input(string valueName, int elementType, params object[] dims)
    {
        _inputs.Add(ValueInfo(valueName, elementType, dims));
        return valueName;
    }

    public void Output(string valueName, int elementType, params object[] dims) => _outputs.Add(ValueInfo(valueName, elementType, dims));

    /// <summary>A node of <paramref name="opType"/> reading <paramref name="inputs"/> ("" for an optional input left out)
    /// and writing <paramref name="outputs"/>.</summary>
    public void Node(string opType, string[] inputs, string[] outputs, params OnnxAttribute[] attributes)
    {
        var node = new ProtoWriter();
        foreach (string input in inputs)
            node.String(1, input);
        foreach (string output in outputs)
            node.String(2, output);
        node.String(3, Name(opType)).String(4, opType); // name, op_type
        foreach (var attribute in attributes)
            node.Message(5, attribute.ToProto());
        _nodes.Add(node);
    }

    /// <summary>One node with one output, named from its operator; returns the output's name.</summary>
    public string Apply(string opType, string[] inputs, params OnnxAttribute[] attributes)
    {
        string output = Name(opType.ToLowerInvariant());
        Node(opType, inputs, [output], attributes);
        return output;
    }

    public byte[] ToModel(string producerVersion, int opset) =>
        new ProtoWriter()
            .Int(1, 8) // ir_version 8 (ONNX 1.10 and later)
            .String(2, "FastRnn").String(3, producerVersion) // producer_name, producer_version
            .Message(7, ToGraph())
            .Message(8, new ProtoWriter().String(1, "").Int(2, opset)) // opset_import: the default domain
            .ToArray();

    /// <summary>The GraphProto: nodes, name, initializers, inputs, outputs.</summary>
    public ProtoWriter ToGraph()
    {
        var graph = new ProtoWriter();
        foreach (var node in _nodes)
            graph.Message(1, node);
        graph.String(2, name);
        foreach (var initializer in _initializers)
            graph.Message(5, initializer);
        foreach (var input in _inputs)
            graph.Message(11, input);
        foreach (var output in _outputs)
            graph.Message(12, output);
        return graph;
    }

    private static ProtoWriter ValueInfo(string valueName, int elementType, object[]? dims)
    {
        var tensorType = new ProtoWriter().Int(1, elementType); // elem_type
        if (dims is not null)
        {
            var shape = new ProtoWriter();
            foreach (object dim in dims)
                shape.Message(1, dim is string symbol ? new ProtoWriter().String(2, symbol) : new ProtoWriter().Int(1, Convert.ToInt64(dim, System.Globalization.CultureInfo.InvariantCulture)));
            tensorType.Message(2, shape); // shape
        }
        return new ProtoWriter().String(1, valueName).Message(2, new ProtoWriter().Message(1, tensorType)); // name, type.tensor_type
    }
}

/// <summary>A node attribute (AttributeProto): an int, an int list, a float, a string or a graph.</summary>
internal readonly record struct OnnxAttribute(string Name, long? Int = null, long[]? Ints = null, float? Float = null, string? Text = null, OnnxGraph? Graph = null)
{
    public static OnnxAttribute Of(string name, OnnxGraph graph) => new(name, Graph: graph);

    public static OnnxAttribute Of(string name, long value) => new(name, Int: value);

    public static OnnxAttribute Of(string name, long[] values) => new(name, Ints: values);

    public static OnnxAttribute Of(string name, float value) => new(name, Float: value);

    public static OnnxAttribute Of(string name, string value) => new(name, Text: value);

    public ProtoWriter ToProto()
    {
        var proto = new ProtoWriter().String(1, Name);
        // type (20): FLOAT 1, INT 2, STRING 3, GRAPH 5, INTS 7; values f (2), i (3), s (4), g (6), ints (8)
        if (Graph is { } graph)
            return proto.Message(6, graph.ToGraph()).Int(20, 5);
        if (Int is { } i)
            return proto.Int(3, i).Int(20, 2);
        if (Ints is { } ints)
            return proto.PackedInts(8, ints).Int(20, 7);
        if (Float is { } f)
            return proto.Float(2, f).Int(20, 1);
        return proto.String(4, Text ?? "").Int(20, 3);
    }
}
