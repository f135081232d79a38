using System.Reflection;
using FastRnn.IO.Onnx;
using static FastRnn.IO.Onnx.OnnxAttribute;

namespace FastRnn;

/// <summary>What <see cref="OnnxExport.SaveOnnx"/> writes besides the model itself.</summary>
public sealed class OnnxExportOptions
{
    /// <summary>Add a graph input <c>lengths</c> (int32, [batch]): each row's real steps, the recurrent operators'
    /// <c>sequence_lens</c> (PyTorch's packed sequences, FastRnn's <c>Forward(…, lengths)</c>).</summary>
    public bool SequenceLengths { get; init; }

    /// <summary>The ONNX opset the graph declares (13 or later: Squeeze takes its axes as an input).</summary>
    public int Opset { get; init; } = 17;
}

/// <summary>
/// Writes a generated model as an ONNX graph of standard operators, for a runtime that is not .NET: the embedding as
/// <c>Gather</c>, each recurrent layer as ONNX's <c>LSTM</c> or <c>GRU</c> (gate orders converted, the GRU variant as
/// <c>linear_before_reset</c>, both directions of a bidirectional layer as <c>direction="bidirectional"</c>), the head
/// as <c>MatMul</c> + <c>Add</c> and its activation; batch normalization between layers as <c>BatchNormalization</c>
/// with the running statistics. The graph's inputs are <c>input</c> (float [steps, batch, InputSize])
/// or <c>tokens</c> (int64 [steps, batch]), <c>initial_h.{k}</c> (and <c>initial_c.{k}</c> for an LSTM) of every
/// declared layer k ([directions, batch, units]) and, if asked, <c>lengths</c>; its outputs are <c>output</c> ([steps,
/// batch, OutputSize], or [batch, OutputSize] for a last-step readout) and <c>final_h.{k}</c>, <c>final_c.{k}</c>, so a
/// stateless runtime can stream by feeding the final states back. It is the inference pass: dropout of every kind and
/// weight drop are identities, and a layer with zoneout becomes a <c>Scan</c> over its cell ending in zoneout's
/// expectation (<see cref="OnnxScanLayer"/>). A feature ONNX cannot express is refused, naming it.
/// </summary>
public static class OnnxExport
{
    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/> as ONNX (atomically: the file is complete or
    /// absent).</summary>
    public static void SaveOnnx(this IRnnModel model, string path, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes = ToOnnx(model, options);
        DurableFile.Write(path, stream => stream.Write(bytes));
    }

    /// <summary>The ONNX model (a serialized ModelProto) of <paramref name="model"/>.</summary>
    public static byte[] ToOnnx(this IRnnModel model, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new OnnxExportOptions();
        if (options.Opset < 13)
            throw new ArgumentOutOfRangeException(nameof(options), options.Opset, "The export needs opset 13 or later.");
        var architecture = model.Architecture
            ?? throw new NotSupportedException($"{model.GetType().Name} is not generated from a declaration: it has no architecture to export.");
        foreach (var layer in architecture.Layers)
            Refuse(layer);
        var graph = new OnnxGraph(model.GetType().Name);
        var tensors = model.Tensors.ToDictionary(t => t.Name);
        var statistics = model.StatisticTensors.ToDictionary(t => t.Name);
        float[] Export(string name)
        {
            bool statistic = !tensors.TryGetValue(name, out var tensor);
            tensor ??= statistics[name];
            var values = new float[tensor.Count];
            tensor.Export(statistic ? model.Statistics : model.Parameters, values);
            return values;
        }
        // batch normalization of a layer's output with its running statistics (the inference pass): BatchNormalization
        // over [rows, units] (rows of a 3-D value flattened and restored)
        string Normalize(RecurrentLayerArchitecture layer, string value, bool sequence)
        {
            string bn = $"{layer.TensorPrefix}bn_l{layer.TensorSuffix}";
            int units = layer.Hidden;
            string rows = sequence ? graph.Apply("Reshape", [value, graph.Int64s("shape", -1, units)]) : value;
            string normalized = graph.Apply("BatchNormalization",
                [rows, graph.Initializer(bn + ".weight", Export(bn + ".weight"), units), graph.Initializer(bn + ".bias", Export(bn + ".bias"), units),
                 graph.Initializer(bn + ".running_mean", Export(bn + ".running_mean"), units), graph.Initializer(bn + ".running_var", Export(bn + ".running_var"), units)],
                Of("epsilon", 1e-5f));
            return sequence ? graph.Apply("Reshape", [normalized, graph.Apply("Shape", [value])]) : normalized;
        }

        string x;
        if (architecture.Tokens)
        {
            graph.Input("tokens", OnnxGraph.Int64, "steps", "batch");
            string embedding = graph.Initializer("embedding.weight", Export("embedding.weight"), architecture.Vocabulary, architecture.InputSize);
            x = graph.Apply("Gather", [embedding, "tokens"], Of("axis", 0L));
        }
        else
            x = graph.Input("input", OnnxGraph.Float, "steps", "batch", architecture.InputSize);
        string lengths = options.SequenceLengths ? graph.Input("lengths", OnnxGraph.Int32, "batch") : "";

        string finalH = "";
        int directions = 1, declared = 0;
        var layers = architecture.Layers;
        for (int n = 0; n < layers.Count; n += directions, declared++)
        {
            var layer = layers[n];
            directions = layer.Bidirectional ? 2 : 1;
            if (layer.Zoneout)
            {
                // zoneout's expectation is not in ONNX's LSTM or GRU: the cell written out in a Scan
                var rates = (model as ISequenceModel)?.Options
                    ?? throw new NotSupportedException($"{model.GetType().Name} has zoneout but no run-time options holding its rates.");
                x = OnnxScanLayer.Emit(graph, layers, n, directions, declared, x, lengths, Export, rates);
                finalH = $"final_h.{declared}";
                if (layer.BatchNorm)
                    x = Normalize(layer, x, sequence: true);
                continue;
            }
            bool lstm = layer.Cell == RecurrentCell.Lstm;
            int gates = lstm ? 4 : 3, units = layer.Hidden, inputs = layer.Inputs;
            int[] order = GateOrder(layer.Cell);
            var w = new float[directions * gates * units * inputs];
            var r = new float[directions * gates * units * units];
            var b = new float[directions * 2 * gates * units];
            for (int d = 0; d < directions; d++)
            {
                var direction = layers[n + d];
                string name(string kind) => $"{direction.TensorPrefix}{kind}_l{direction.TensorSuffix}";
                Reorder(Export(name("weight_ih")), w.AsSpan(d * gates * units * inputs), order, units * inputs);
                Reorder(Export(name("weight_hh")), r.AsSpan(d * gates * units * units), order, units * units);
                Reorder(Export(name("bias_ih")), b.AsSpan(d * 2 * gates * units), order, units);
                Reorder(Export(name("bias_hh")), b.AsSpan((d * 2 + 1) * gates * units), order, units);
            }
            string stem = $"{layer.TensorPrefix}l{declared}";
            string[] operands =
            [
                x,
                graph.Initializer(stem + ".W", w, directions, gates * units, inputs),
                graph.Initializer(stem + ".R", r, directions, gates * units, units),
                graph.Initializer(stem + ".B", b, directions, 2 * gates * units),
                lengths,
                graph.Input($"initial_h.{declared}", OnnxGraph.Float, directions, "batch", units),
                .. lstm ? [graph.Input($"initial_c.{declared}", OnnxGraph.Float, directions, "batch", units)] : Array.Empty<string>(),
            ];
            string y = graph.Name("y");
            finalH = $"final_h.{declared}";
            string[] results = lstm ? [y, finalH, $"final_c.{declared}"] : [y, finalH];
            var attributes = new List<OnnxAttribute>
            {
                Of("hidden_size", (long)units),
                Of("direction", directions == 2 ? "bidirectional" : "forward"),
            };
            if (!lstm)
                attributes.Add(Of("linear_before_reset", layer.Variant == GruVariant.ResetAfter ? 1L : 0L)); // PyTorch's GRU is reset-after
            graph.Node(lstm ? "LSTM" : "GRU", operands, results, [.. attributes]);
            foreach (string state in results.Skip(1))
                graph.Output(state, OnnxGraph.Float, directions, "batch", units);
            // Y is [steps, directions, batch, units]; the layer above reads [steps, batch, directions·units]
            x = directions == 1
                ? graph.Apply("Squeeze", [y, graph.Int64s("axes", 1)])
                : graph.Apply("Reshape", [graph.Apply("Transpose", [y], Of("perm", [0L, 2, 1, 3])), graph.Int64s("shape", 0, 0, -1)]);
            if (layer.BatchNorm)
                x = Normalize(layer, x, sequence: true);
        }

        // A last-step readout reads the top layer's final h: the forward direction after each row's last real step and
        // the reverse one after step 0 (PyTorch's cat(h_n[-2], h_n[-1])).
        bool everyStep = architecture.Readout == Readout.EveryStep;
        string top = everyStep ? x
            : directions == 1 ? graph.Apply("Squeeze", [finalH, graph.Int64s("axes", 0)])
            : graph.Apply("Reshape", [graph.Apply("Transpose", [finalH], Of("perm", [1L, 0, 2])), graph.Int64s("shape", 0, -1)]);
        if (!everyStep && layers[^1].BatchNorm)
            top = Normalize(layers[^1], top, sequence: false); // the head reads the normalized output of each row's last step
        string output = top;
        if (architecture.HasHead)
        {
            int features = layers[^1].StateSize * directions, outputs = architecture.Outputs;
            var transposed = OnnxScanLayer.Transpose(Export("head.weight"), outputs, features); // [features, outputs]
            string logits = graph.Apply("Add", [
                graph.Apply("MatMul", [top, graph.Initializer("head.weight.T", transposed, features, outputs)]),
                graph.Initializer("head.bias", Export("head.bias"), outputs)]);
            output = architecture.Activation switch
            {
                Activation.Softmax => graph.Apply("Softmax", [logits], Of("axis", -1L)),
                Activation.Sigmoid => graph.Apply("Sigmoid", [logits]),
                _ => logits,
            };
        }
        graph.Node("Identity", [output], ["output"]);
        if (everyStep)
            graph.Output("output", OnnxGraph.Float, "steps", "batch", architecture.Outputs);
        else
            graph.Output("output", OnnxGraph.Float, "batch", architecture.Outputs);
        string version = typeof(OnnxExport).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "";
        return graph.ToModel(version, options.Opset);
    }

    /// <summary>A feature ONNX's LSTM and GRU operators cannot express, refused with its name.</summary>
    private static void Refuse(RecurrentLayerArchitecture layer)
    {
        string? feature = layer.Projection > 0 ? $"an LSTM projection (Projection = {layer.Projection})"
            : layer.LayerNorm ? "layer normalization inside the cell (LayerNorm)"
            : layer.RecurrentBatchNorm ? "recurrent batch normalization inside the cell (RecurrentBatchNorm)"
            : null;
        if (feature is not null)
            throw new NotSupportedException(
                $"Layer {layer.TensorPrefix}l{layer.TensorSuffix} has {feature}, which ONNX's {(layer.Cell == RecurrentCell.Lstm ? "LSTM" : "GRU")} operator cannot express; the model cannot be exported to ONNX.");
    }

    /// <summary>ONNX's gate k is PyTorch's gate order[k]: i, o, f, c from i, f, g, o; z, r, h from r, z, n.</summary>
    internal static int[] GateOrder(RecurrentCell cell) => cell == RecurrentCell.Lstm ? [0, 3, 1, 2] : [1, 0, 2];

    /// <summary>Copies PyTorch's gate blocks (each <paramref name="block"/> floats) into ONNX's order.</summary>

    private static void Reorder(ReadOnlySpan<float> source, Span<float> destination, int[] order, int block)
    {
        for (int k = 0; k < order.Length; k++)
            source.Slice(order[k] * block, block).CopyTo(destination.Slice(k * block, block));
    }
}
