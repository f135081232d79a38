using static FastRnn.IO.Onnx.OnnxAttribute;

namespace FastRnn.IO.Onnx;

/// <summary>
/// A recurrent layer with zoneout, which ONNX's LSTM and GRU operators cannot express, as a <c>Scan</c> over the steps
/// whose body is the cell written out in standard operators, ending in zoneout's inference pass (its expectation):
/// <c>h(t) = p·h(t−1) + (1 − p)·h̃(t)</c>, and for an LSTM <c>c(t) = p_c·c(t−1) + (1 − p_c)·c̃(t)</c> with
/// <c>h̃(t) = o ⊙ tanh(c̃(t))</c>, the rates the model's options hold when it is exported. The input products of all steps
/// are one MatMul before the Scan. With sequence lengths, a step past a row's length keeps the row's state and outputs
/// zeros (as ONNX's recurrent operators do), and the reverse direction reverses each row within its length
/// (<c>ReverseSequence</c>), as FastRnn and PyTorch's packed sequences do. Gates stay in PyTorch's order: the body
/// splits them itself.
/// </summary>
internal static class OnnxScanLayer
{
    /// <summary>Emits declared layer <paramref name="declared"/> (engine layers <paramref name="first"/> … +
    /// <paramref name="directions"/>) reading <paramref name="x"/> [steps, batch, inputs]; adds its initial-state
    /// inputs and final-state outputs; returns its output [steps, batch, directions·units].</summary>
    public static string Emit(OnnxGraph graph, IReadOnlyList<RecurrentLayerArchitecture> layers, int first, int directions, int declared,
        string x, string lengths, Func<string, float[]> export, IRunOptions options)
    {
        var layer = layers[first];
        bool lstm = layer.Cell == RecurrentCell.Lstm;
        int units = layer.Hidden;
        string initialH = graph.Input($"initial_h.{declared}", OnnxGraph.Float, directions, "batch", units);
        string initialC = lstm ? graph.Input($"initial_c.{declared}", OnnxGraph.Float, directions, "batch", units) : "";
        string lengths64 = "", mask = "";
        if (lengths.Length > 0)
        {
            // mask[t, b, 0] = t < lengths[b]
            lengths64 = graph.Apply("Cast", [lengths], Of("to", (long)OnnxGraph.Int64));
            string steps = graph.Apply("Squeeze", [graph.Apply("Shape", [x], Of("start", 0L), Of("end", 1L)), graph.Int64s("axes", 0)]);
            string t = graph.Apply("Unsqueeze", [graph.Apply("Range", [graph.Int64Scalar("zero", 0), steps, graph.Int64Scalar("one", 1)]), graph.Int64s("axes", 1)]);
            string less = graph.Apply("Less", [t, graph.Apply("Unsqueeze", [lengths64, graph.Int64s("axes", 0)])]);
            mask = graph.Apply("Unsqueeze", [less, graph.Int64s("axes", 2)]);
        }
        var outputs = new string[directions];
        var finalH = new string[directions];
        var finalC = new string[directions];
        for (int d = 0; d < directions; d++)
        {
            var direction = layers[first + d];
            bool reverse = d == 1;
            string name(string kind) => $"{direction.TensorPrefix}{kind}_l{direction.TensorSuffix}";
            string stem = $"{direction.TensorPrefix}l{declared}{(reverse ? "_reverse" : "")}";
            float hiddenRate = Rate(options, $"Layer{first + d}Zoneout"), cellRate = Rate(options, $"Layer{first + d}CellZoneout");

            // the input products of every step at once: x·W_ihᵀ + b_ih, [steps, batch, gates·units]
            var wih = export(name("weight_ih"));
            int gates = lstm ? 4 : 3, inputs = wih.Length / (gates * units);
            string products = graph.Apply("Add", [
                graph.Apply("MatMul", [x, graph.Initializer(stem + ".weight_ih.T", Transpose(wih, gates * units, inputs), inputs, gates * units)]),
                graph.Initializer(stem + ".bias_ih", export(name("bias_ih")), gates * units)]);
            if (reverse && lengths64.Length > 0)
                products = graph.Apply("ReverseSequence", [products, lengths64], Of("batch_axis", 1L), Of("time_axis", 0L));

            var body = new OnnxGraph($"{stem}.step", $"{stem}.step.");
            string h = body.BodyInput(body.Name("h"), OnnxGraph.Float);
            string c = lstm ? body.BodyInput(body.Name("c"), OnnxGraph.Float) : "";
            string xw = body.BodyInput(body.Name("products"), OnnxGraph.Float);
            string m = mask.Length > 0 ? body.BodyInput(body.Name("real"), 9 /* BOOL */) : "";
            var whh = export(name("weight_hh"));
            var bhh = export(name("bias_hh"));
            string hNew, cNew = "";
            if (lstm)
            {
                // a = x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh; i, f, g, o = split(a)
                string a = body.Apply("Add", [xw, Recurrent(graph, body, h, stem + ".weight_hh.T", whh, stem + ".bias_hh", bhh, units)]);
                string[] gate = Split(graph, body, a, units, 4);
                string i = body.Apply("Sigmoid", [gate[0]]), f = body.Apply("Sigmoid", [gate[1]]);
                string g = body.Apply("Tanh", [gate[2]]), o = body.Apply("Sigmoid", [gate[3]]);
                string cTilde = body.Apply("Add", [body.Apply("Mul", [f, c]), body.Apply("Mul", [i, g])]);   // c̃ = f⊙c + i⊙g
                string hTilde = body.Apply("Mul", [o, body.Apply("Tanh", [cTilde])]);                        // h̃ = o⊙tanh(c̃)
                cNew = Expectation(graph, body, c, cTilde, cellRate, stem + ".cell_zoneout");
                hNew = Expectation(graph, body, h, hTilde, hiddenRate, stem + ".zoneout");
            }
            else
            {
                string[] input = Split(graph, body, xw, units, 3);   // x·W_ih,{r,z,n}ᵀ + b_i{r,z,n}
                string r, z, n;
                if (layer.Variant == GruVariant.ResetAfter)
                {
                    // PyTorch's: n = tanh(W_in·x + b_in + r⊙(W_hn·h + b_hn))
                    string[] hidden = Split(graph, body, Recurrent(graph, body, h, stem + ".weight_hh.T", whh, stem + ".bias_hh", bhh, units), units, 3);
                    r = body.Apply("Sigmoid", [body.Apply("Add", [input[0], hidden[0]])]);
                    z = body.Apply("Sigmoid", [body.Apply("Add", [input[1], hidden[1]])]);
                    n = body.Apply("Tanh", [body.Apply("Add", [input[2], body.Apply("Mul", [r, hidden[2]])])]);
                }
                else
                {
                    // the classic GRU: n = tanh(W_in·x + b_in + W_hn·(r⊙h) + b_hn)
                    string[] hidden = Split(graph, body, Recurrent(graph, body, h, stem + ".weight_hh_rz.T", whh[..(2 * units * units)], stem + ".bias_hh_rz", bhh[..(2 * units)], units), units, 2);
                    r = body.Apply("Sigmoid", [body.Apply("Add", [input[0], hidden[0]])]);
                    z = body.Apply("Sigmoid", [body.Apply("Add", [input[1], hidden[1]])]);
                    string reset = body.Apply("Mul", [r, h]);
                    n = body.Apply("Tanh", [body.Apply("Add", [input[2],
                        Recurrent(graph, body, reset, stem + ".weight_hh_n.T", whh[(2 * units * units)..], stem + ".bias_hh_n", bhh[(2 * units)..], units)])]);
                }
                // h̃ = (1 − z)⊙n + z⊙h
                string hTilde = body.Apply("Add", [body.Apply("Mul", [body.Apply("Sub", [graph.FloatScalar("one", 1), z]), n]), body.Apply("Mul", [z, h])]);
                hNew = Expectation(graph, body, h, hTilde, hiddenRate, stem + ".zoneout");
            }
            // past a row's length: the state stays, the output is zero
            string hOut = m.Length > 0 ? body.Apply("Where", [m, hNew, h]) : body.Apply("Identity", [hNew]);
            string cOut = lstm ? (m.Length > 0 ? body.Apply("Where", [m, cNew, c]) : body.Apply("Identity", [cNew])) : "";
            string y = m.Length > 0 ? body.Apply("Where", [m, hNew, graph.FloatScalar("zero", 0)]) : body.Apply("Identity", [hNew]);
            body.BodyOutput(hOut, OnnxGraph.Float);
            if (lstm)
                body.BodyOutput(cOut, OnnxGraph.Float);
            body.BodyOutput(y, OnnxGraph.Float);

            // the Scan: states h (and c) from the layer's initial states of this direction, over products (and the mask)
            string index = graph.Int64Scalar("direction", d);
            string[] scanInputs =
            [
                graph.Apply("Gather", [initialH, index], Of("axis", 0L)),
                .. lstm ? [graph.Apply("Gather", [initialC, index], Of("axis", 0L))] : Array.Empty<string>(),
                products,
                .. mask.Length > 0 ? [mask] : Array.Empty<string>(),
            ];
            finalH[d] = graph.Name("h_n");
            finalC[d] = lstm ? graph.Name("c_n") : "";
            outputs[d] = graph.Name("y");
            string[] scanOutputs = lstm ? [finalH[d], finalC[d], outputs[d]] : [finalH[d], outputs[d]];
            var attributes = new List<OnnxAttribute> { Of("body", body), Of("num_scan_inputs", mask.Length > 0 ? 2L : 1L) };
            if (reverse && lengths64.Length == 0)
            {
                attributes.Add(Of("scan_input_directions", [1L]));
                attributes.Add(Of("scan_output_directions", [1L]));
            }
            graph.Node("Scan", scanInputs, scanOutputs, [.. attributes]);
            if (reverse && lengths64.Length > 0)
                outputs[d] = graph.Apply("ReverseSequence", [outputs[d], lengths64], Of("batch_axis", 1L), Of("time_axis", 0L));
        }
        Finals(graph, finalH, $"final_h.{declared}", units);
        if (lstm)
            Finals(graph, finalC, $"final_c.{declared}", units);
        return directions == 1 ? outputs[0] : graph.Apply("Concat", outputs, Of("axis", 2L));
    }

    /// <summary>The final states of the directions, [directions, batch, units], as the graph output <paramref name="output"/>.</summary>
    private static void Finals(OnnxGraph graph, string[] states, string output, int units)
    {
        var stacked = states.Select(s => graph.Apply("Unsqueeze", [s, graph.Int64s("axes", 0)])).ToArray();
        graph.Node(stacked.Length == 1 ? "Identity" : "Concat", stacked, [output], stacked.Length == 1 ? [] : [Of("axis", 0L)]);
        graph.Output(output, OnnxGraph.Float, states.Length, "batch", units);
    }

    /// <summary>h·Wᵀ + b with W [rows, units] (PyTorch's layout) stored transposed in the outer graph.</summary>
    private static string Recurrent(OnnxGraph graph, OnnxGraph body, string h, string weightName, float[] weight, string biasName, float[] bias, int units) =>
        body.Apply("Add", [
            body.Apply("MatMul", [h, graph.Initializer(weightName, Transpose(weight, weight.Length / units, units), units, weight.Length / units)]),
            graph.Initializer(biasName, bias, bias.Length)]);

    /// <summary>Splits [batch, parts·units] into <paramref name="parts"/> [batch, units].</summary>
    private static string[] Split(OnnxGraph graph, OnnxGraph body, string value, int units, int parts)
    {
        var pieces = Enumerable.Range(0, parts).Select(_ => body.Name("gate")).ToArray();
        body.Node("Split", [value, graph.Int64s("split", Enumerable.Repeat((long)units, parts).ToArray())], pieces, Of("axis", 1L));
        return pieces;
    }

    /// <summary>Zoneout's expectation p·previous + (1 − p)·candidate (the candidate itself at rate 0).</summary>
    private static string Expectation(OnnxGraph graph, OnnxGraph body, string previous, string candidate, float rate, string stem) =>
        rate == 0 ? candidate : body.Apply("Add", [
            body.Apply("Mul", [previous, graph.FloatScalar(stem, rate)]),
            body.Apply("Mul", [candidate, graph.FloatScalar(stem + "_keep", 1 - rate)])]);

    private static float Rate(IRunOptions options, string name) => options.Names.Contains(name) ? options[name] : 0f;

    /// <summary>[rows, columns] to [columns, rows].</summary>
    internal static float[] Transpose(float[] matrix, int rows, int columns)
    {
        var transposed = new float[matrix.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++)
                transposed[c * rows + r] = matrix[r * columns + c];
        return transposed;
    }
}
