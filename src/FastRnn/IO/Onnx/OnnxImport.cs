using FastRnn.IO.Onnx;

namespace FastRnn;

/// <summary>
/// Reads the weights of an ONNX model into a declared model whose structure it matches: the embedding (<c>Gather</c>
/// of an initializer), each recurrent layer (ONNX's <c>LSTM</c> or <c>GRU</c>, in graph order, gate orders converted
/// back to PyTorch's and <c>B</c> split into the two biases; batch normalization of a layer's output from the
/// <c>BatchNormalization</c> after it, running statistics included) and the head (<c>MatMul</c> + <c>Add</c>, or <c>Gemm</c>).
/// Everything is checked before anything changes: another operator or GRU variant (<c>linear_before_reset</c>), another
/// direction, peepholes, <c>clip</c>, <c>input_forget</c>, non-default activations, another size or number of layers
/// is refused with a message naming the node and the difference, and the model keeps its weights.
/// </summary>
public static class OnnxImport
{
    /// <summary>Loads <paramref name="path"/>'s weights into <paramref name="model"/> (see <see cref="OnnxImport"/>).</summary>
    public static void LoadOnnx(this IRnnModel model, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes = File.ReadAllBytes(path);
        try
        {
            model.LoadOnnx(bytes);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>Loads the weights of the ONNX model in <paramref name="onnx"/> (a serialized ModelProto).</summary>
    public static void LoadOnnx(this IRnnModel model, ReadOnlySpan<byte> onnx)
    {
        ArgumentNullException.ThrowIfNull(model);
        var architecture = model.Architecture
            ?? throw new NotSupportedException($"{model.GetType().Name} is not generated from a declaration: it has no architecture to load into.");
        var file = OnnxModelFile.Read(onnx);
        var values = new Dictionary<string, float[]>(StringComparer.Ordinal);
        var reader = new GraphReader(file);

        // recurrent layers, in graph order
        var recurrent = file.Nodes.Select((node, index) => (node, index)).Where(n => n.node.OpType is "LSTM" or "GRU" or "RNN").ToList();
        var declared = architecture.Layers.Select((layer, index) => (layer, index)).Where(l => !l.layer.Reverse).ToList();
        if (recurrent.Count != declared.Count)
            throw new InvalidDataException($"The ONNX graph has {recurrent.Count} recurrent node(s) (LSTM, GRU, RNN); {model.GetType().Name} declares {declared.Count} recurrent layer(s)." +
                (file.Nodes.Any(n => n.OpType is "Scan" or "Loop") ? " A layer written out as a Scan or Loop (as FastRnn exports zoneout) is not read back." : ""));
        int lastRecurrent = -1;
        for (int k = 0; k < declared.Count; k++)
        {
            var (node, index) = recurrent[k];
            var (layer, first) = declared[k];
            ReadRecurrent(reader, node, $"{node.OpType} node {k} ('{node.Outputs.FirstOrDefault()}')", layer, architecture.Layers, first, values);
            if (layer.BatchNorm)
            {
                // the first BatchNormalization after this layer's node and before the next one's
                int end = k + 1 < recurrent.Count ? recurrent[k + 1].index : file.Nodes.Count;
                var norm = file.Nodes.Skip(index + 1).Take(end - index - 1).FirstOrDefault(n => n.OpType == "BatchNormalization")
                    ?? throw new InvalidDataException($"{node.OpType} node {k}: the model normalizes that layer's output (BatchNorm), but no BatchNormalization follows it in the ONNX graph.");
                ReadBatchNorm(reader, norm, layer, values);
            }
            lastRecurrent = index;
        }

        if (architecture.Tokens)
        {
            var gather = file.Nodes.FirstOrDefault(n => n.OpType == "Gather" && reader.Tensor(n.Input(0)) is { Dims.Length: 2 })
                ?? throw new InvalidDataException("The model takes tokens, but the ONNX graph has no Gather of an embedding matrix.");
            var embedding = reader.Tensor(gather.Input(0))!;
            Expect(embedding, "the embedding (Gather)", architecture.Vocabulary, architecture.InputSize);
            values["embedding.weight"] = embedding.Values!;
        }

        var head = file.Nodes.Skip(lastRecurrent + 1).LastOrDefault(n => n.OpType is "MatMul" or "Gemm" && reader.Tensor(n.Input(1)) is { Dims.Length: 2 });
        if (architecture.HasHead)
        {
            if (head is null)
                throw new InvalidDataException("The model has a dense head, but the ONNX graph has no MatMul or Gemm with a weight matrix after its recurrent layers.");
            ReadHead(reader, file, head, architecture, values);
        }
        else if (head is not null)
            throw new InvalidDataException($"The ONNX graph has a dense head ({head.OpType} of '{head.Input(1)}') after its recurrent layers; {model.GetType().Name} declares none.");

        // every tensor of the model found, before any changes
        var missing = model.Tensors.Concat(model.StatisticTensors).Where(t => !values.ContainsKey(t.Name)).Select(t => t.Name).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException($"The ONNX graph has nothing for {string.Join(", ", missing)}.");
        foreach (var tensor in model.Tensors)
            tensor.Import(values[tensor.Name], model.Parameters);
        foreach (var tensor in model.StatisticTensors)
            tensor.Import(values[tensor.Name], model.Statistics);
    }

    /// <summary>Batch normalization of a layer's output: scale, B, mean and var of a BatchNormalization node (inference, ε = 1e-5).</summary>
    private static void ReadBatchNorm(GraphReader reader, OnnxNodeInfo norm, RecurrentLayerArchitecture layer, Dictionary<string, float[]> values)
    {
        string where = $"BatchNormalization '{norm.Outputs.FirstOrDefault()}'";
        if (norm.Attributes.TryGetValue("epsilon", out var epsilon) && epsilon.Float is { } e && Math.Abs(e - 1e-5f) > 1e-9f)
            throw new InvalidDataException($"{where}: epsilon is {e}; FastRnn's batch normalization uses 1e-5.");
        if (norm.Attributes.TryGetValue("training_mode", out var training) && training.Int is { } t && t != 0)
            throw new InvalidDataException($"{where}: it is in training mode; an inference graph normalizes with its running statistics.");
        string bn = $"{layer.TensorPrefix}bn_l{layer.TensorSuffix}";
        string[] names = [".weight", ".bias", ".running_mean", ".running_var"];
        for (int i = 0; i < names.Length; i++)
        {
            var tensor = reader.Tensor(norm.Input(i + 1)) ?? throw new InvalidDataException($"{where}: its input {i + 1} ('{norm.Input(i + 1)}') is not an initializer.");
            Expect(tensor, where, layer.Hidden);
            values[bn + names[i]] = tensor.Values!;
        }
    }

    /// <summary>Values by name through Identity nodes: initializers and Constant nodes' tensors.</summary>
    private sealed class GraphReader(OnnxModelFile file)
    {
        private readonly Dictionary<string, string> _identities = file.Nodes.Where(n => n.OpType == "Identity" && n.Inputs.Length == 1 && n.Outputs.Length == 1)
            .ToDictionary(n => n.Outputs[0], n => n.Inputs[0], StringComparer.Ordinal);

        public OnnxTensorValue? Tensor(string name)
        {
            for (int hops = 0; hops < 64 && name.Length > 0; hops++)
            {
                if (file.Tensors.TryGetValue(name, out var tensor))
                    return tensor.Values is null ? null : tensor;
                if (!_identities.TryGetValue(name, out name!))
                    return null;
            }
            return null;
        }
    }

    private static void ReadRecurrent(GraphReader reader, OnnxNodeInfo node, string where, RecurrentLayerArchitecture layer,
        IReadOnlyList<RecurrentLayerArchitecture> layers, int first, Dictionary<string, float[]> values)
    {
        bool lstm = layer.Cell == RecurrentCell.Lstm;
        string declaredCell = lstm ? "LSTM" : $"GRU (GruVariant.{layer.Variant})";
        if (node.OpType != (lstm ? "LSTM" : "GRU"))
            throw new InvalidDataException($"{where}: the model declares an {declaredCell} layer there.");
        string? unsupported = layer.Projection > 0 ? "a projection (Projection), which ONNX's LSTM does not have"
            : layer.LayerNorm || layer.RecurrentBatchNorm ? "a normalized cell, whose gains ONNX's operators do not have"
            : null;
        if (unsupported is not null)
            throw new InvalidDataException($"{where}: the model's layer {layer.TensorPrefix}l{layer.TensorSuffix} declares {unsupported}.");
        int directions = layer.Bidirectional ? 2 : 1;
        long Int(string name, long fallback) => node.Attributes.TryGetValue(name, out var a) ? a.Int ?? fallback : fallback;
        string direction = node.Attributes.TryGetValue("direction", out var d) ? d.Text ?? "forward" : "forward";
        if (direction != (directions == 2 ? "bidirectional" : "forward"))
            throw new InvalidDataException($"{where}: direction is '{direction}'; the model declares a {(directions == 2 ? "bidirectional" : "one-directional (forward)")} layer.");
        long hidden = Int("hidden_size", -1);
        if (hidden != layer.Hidden)
            throw new InvalidDataException($"{where}: hidden_size is {(hidden < 0 ? "missing" : hidden.ToString(System.Globalization.CultureInfo.InvariantCulture))}; the model declares {layer.Hidden} units.");
        if (!lstm)
        {
            long linearBeforeReset = Int("linear_before_reset", 0);
            long expected = layer.Variant == GruVariant.ResetAfter ? 1 : 0;
            if (linearBeforeReset != expected)
                throw new InvalidDataException($"{where}: linear_before_reset = {linearBeforeReset} is {(linearBeforeReset == 0 ? "the classic GRU (reset before the recurrent product, GruVariant.ResetBefore)" : "PyTorch's GRU (reset after the recurrent product, GruVariant.ResetAfter)")}; the model declares GruVariant.{layer.Variant}.");
        }
        if (node.Attributes.ContainsKey("clip"))
            throw new InvalidDataException($"{where}: it clips its cell input (clip), which FastRnn's cells do not.");
        if (Int("input_forget", 0) != 0)
            throw new InvalidDataException($"{where}: it couples the input and forget gates (input_forget = 1), which FastRnn's LSTM does not.");
        if (Int("layout", 0) != 0)
            throw new InvalidDataException($"{where}: layout = 1 (batch first); FastRnn reads the time-major layout (0).");
        if (node.Attributes.TryGetValue("activations", out var activations) && activations.Texts is { } names)
        {
            string[] defaults = lstm ? ["Sigmoid", "Tanh", "Tanh"] : ["Sigmoid", "Tanh"];
            var expected = Enumerable.Range(0, directions).SelectMany(_ => defaults).ToArray();
            if (!names.SequenceEqual(expected, StringComparer.OrdinalIgnoreCase))
                throw new InvalidDataException($"{where}: activations are [{string.Join(", ", names)}]; FastRnn's cells use [{string.Join(", ", expected)}].");
        }
        if (lstm && node.Input(7) is { Length: > 0 } peepholes && reader.Tensor(peepholes) is { } p && p.Values!.Any(v => v != 0))
            throw new InvalidDataException($"{where}: it has peephole weights (P), which FastRnn's LSTM does not.");

        int gates = lstm ? 4 : 3, units = layer.Hidden, inputs = layer.Inputs, state = layer.StateSize;
        var w = reader.Tensor(node.Input(1)) ?? throw new InvalidDataException($"{where}: its weights W ('{node.Input(1)}') are not an initializer.");
        var r = reader.Tensor(node.Input(2)) ?? throw new InvalidDataException($"{where}: its weights R ('{node.Input(2)}') are not an initializer.");
        Expect(w, $"{where}: W", directions, gates * units, inputs);
        Expect(r, $"{where}: R", directions, gates * units, state);
        float[] b;
        if (node.Input(3) is { Length: > 0 } biasName)
        {
            var bias = reader.Tensor(biasName) ?? throw new InvalidDataException($"{where}: its biases B ('{biasName}') are not an initializer.");
            Expect(bias, $"{where}: B", directions, 2 * gates * units);
            b = bias.Values!;
        }
        else
            b = new float[directions * 2 * gates * units]; // ONNX: no B means zero biases
        int[] order = OnnxExport.GateOrder(layer.Cell);
        for (int k = 0; k < directions; k++)
        {
            var direction2 = layers[first + k];
            string Name(string kind) => $"{direction2.TensorPrefix}{kind}_l{direction2.TensorSuffix}";
            values[Name("weight_ih")] = Restore(w.Values.AsSpan(k * gates * units * inputs, gates * units * inputs), order, units * inputs);
            values[Name("weight_hh")] = Restore(r.Values.AsSpan(k * gates * units * state, gates * units * state), order, units * state);
            values[Name("bias_ih")] = Restore(b.AsSpan(k * 2 * gates * units, gates * units), order, units);
            values[Name("bias_hh")] = Restore(b.AsSpan((k * 2 + 1) * gates * units, gates * units), order, units);
        }
    }

    private static void ReadHead(GraphReader reader, OnnxModelFile file, OnnxNodeInfo head, ModelArchitecture architecture, Dictionary<string, float[]> values)
    {
        var top = architecture.Layers[^1];
        int features = top.StateSize * (top.Bidirectional ? 2 : 1), outputs = architecture.Outputs;
        var weight = reader.Tensor(head.Input(1))!;
        bool transposed = head.OpType == "MatMul" || (head.Attributes.TryGetValue("transB", out var tb) ? tb.Int ?? 0 : 0) == 0;
        if (head.OpType == "Gemm")
        {
            if ((head.Attributes.TryGetValue("transA", out var ta) ? ta.Int ?? 0 : 0) != 0)
                throw new InvalidDataException($"The head (Gemm '{head.Outputs.FirstOrDefault()}') transposes its input (transA = 1).");
            foreach (string scale in new[] { "alpha", "beta" })
                if (head.Attributes.TryGetValue(scale, out var a) && a.Float is { } value && value != 1f)
                    throw new InvalidDataException($"The head (Gemm '{head.Outputs.FirstOrDefault()}') scales by {scale} = {value}; FastRnn's head does not.");
        }
        string where = $"the head ({head.OpType} '{head.Outputs.FirstOrDefault()}')";
        if (transposed)
            Expect(weight, where, features, outputs);
        else
            Expect(weight, where, outputs, features);
        var w = weight.Values!;
        if (transposed)
        {
            var restored = new float[w.Length];
            for (int f = 0; f < features; f++)
                for (int o = 0; o < outputs; o++)
                    restored[o * features + f] = w[f * outputs + o];
            w = restored;
        }
        values["head.weight"] = w;
        // the bias: Gemm's C, or the Add that takes MatMul's output
        OnnxTensorValue? bias = head.OpType == "Gemm" && head.Input(2).Length > 0 ? reader.Tensor(head.Input(2)) : null;
        if (head.OpType == "MatMul")
        {
            var add = file.Nodes.FirstOrDefault(n => n.OpType == "Add" && n.Inputs.Contains(head.Outputs[0]));
            if (add is not null)
                bias = reader.Tensor(add.Inputs.First(i => i != head.Outputs[0]));
        }
        if (bias is null)
            values["head.bias"] = new float[outputs];
        else
        {
            if (bias.Count != outputs)
                throw new InvalidDataException($"{where}: its bias '{bias.Name}' has {bias.Count} values; the model has {outputs} outputs.");
            values["head.bias"] = bias.Values!;
        }
    }

    private static void Expect(OnnxTensorValue tensor, string where, params long[] dims)
    {
        if (!tensor.Dims.SequenceEqual(dims))
            throw new InvalidDataException($"{where}: '{tensor.Name}' is [{string.Join(", ", tensor.Dims)}]; the model needs [{string.Join(", ", dims)}].");
    }

    /// <summary>ONNX's gate blocks back in PyTorch's order.</summary>
    private static float[] Restore(ReadOnlySpan<float> onnx, int[] order, int block)
    {
        var values = new float[onnx.Length];
        for (int k = 0; k < order.Length; k++)
            onnx.Slice(k * block, block).CopyTo(values.AsSpan(order[k] * block, block));
        return values;
    }
}
