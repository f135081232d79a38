using FastRnn.Kernels;
namespace FastRnn.Tests;

/// <summary>The plain oracle: a model spelled out as scalar loops in double precision, reading the weights in
/// PyTorch's layout (as a model exports them). No vectors, no interleaving, no shared code with the engine.</summary>
internal sealed class ScalarReference
{
    public enum Cell { Lstm, Gru, GruClassic }

    /// <summary>A model's layers as the engine counts them: a bidirectional layer is two, its forward direction and then
    /// its reverse one, whose index is in <paramref name="ReverseLayers"/>.</summary>
    public sealed record Spec(bool Tokens, int Vocabulary, int InputSize, (Cell Cell, int Hidden, int Group, int K)[] Layers,
        int Outputs, string Activation, bool EveryStep, string Loss, double Ar = 0, double Tar = 0, int[]? ReverseLayers = null,
        int[]? Projections = null)
    {
        public bool IsReverse(int layer) => ReverseLayers?.Contains(layer) == true;

        /// <summary>Layer <paramref name="layer"/>'s LSTM projection (PyTorch proj_size), 0 for none.</summary>
        public int Projection(int layer) => Projections is { } p ? p[layer] : 0;

        public int GroupCount => Layers.Max(l => l.Group) + 1;
        public string Prefix(int layer) => GroupCount == 1 ? "rnn." : $"rnn.{Layers[layer].Group}.";
    }

    private readonly Spec _spec;
    private readonly Dictionary<string, double[]> _w;

    public ScalarReference(Spec spec, IRnnModel model)
    {
        _spec = spec;
        _w = new Dictionary<string, double[]>();
        foreach (var tensor in model.Tensors)
        {
            var values = new float[tensor.Count];
            tensor.Export(model.Parameters, values);
            _w[tensor.Name] = values.Select(v => (double)v).ToArray();
        }
    }

    public double[] this[string name] => _w[name];
    public IEnumerable<string> Names => _w.Keys;

    /// <summary>Dropout multipliers to replay, as a model's ExportMasks gives them ("embedding.rows", "layer{n}.input",
    /// "head.input"); a site missing here is not dropped.</summary>
    public IReadOnlyDictionary<string, float[]> Masks { get; set; } = new Dictionary<string, float[]>();

    /// <summary>x⊙m for a [steps][batch][width] sequence and a mask of [steps, batch, width] multipliers.</summary>
    private double[][][] Drop(double[][][] x, string site, int batch)
    {
        if (!Masks.TryGetValue(site, out var mask))
            return x;
        return x.Select((rows, t) => rows.Select((row, b) =>
            row.Select((v, i) => v * mask[(t * batch + b) * row.Length + i]).ToArray()).ToArray()).ToArray();
    }

    /// <summary>Runs the model from zero states; returns the loss and fills <paramref name="outputs"/> ([head rows, O]).</summary>
    public double Loss(float[] dense, int[] tokens, int batch, int steps, float[] floatTargets, int[] classTargets, out double[] outputs)
    {
        int width = _spec.InputSize;
        var x = new double[steps][][];
        for (int t = 0; t < steps; t++)
        {
            x[t] = new double[batch][];
            for (int b = 0; b < batch; b++)
            {
                x[t][b] = new double[width];
                for (int i = 0; i < width; i++)
                    x[t][b][i] = _spec.Tokens
                        ? _w["embedding.weight"][tokens[t * batch + b] * width + i] * (Masks.TryGetValue("embedding.rows", out var rowMask) ? rowMask[tokens[t * batch + b]] : 1)
                        : dense[(t * batch + b) * width + i];
            }
        }
        var raw = x;
        for (int l = 0; l < _spec.Layers.Length; l++)
        {
            var input = Drop(x, $"layer{l}.input", batch);
            if (_spec.IsReverse(l + 1))
            {
                // bidirectional: the reverse direction reads the same input from the last step to the first; the output at
                // step t is [h_forward(t), h_reverse(t)]
                var forward = Layer(l, input, batch, steps);
                var backward = Enumerable.Reverse(Layer(l + 1, Enumerable.Reverse(input).ToArray(), batch, steps)).ToArray();
                raw = forward.Select((rows, t) => rows.Select((row, b) => row.Concat(backward[t][b]).ToArray()).ToArray()).ToArray();
                l++;
            }
            else
                raw = Layer(l, input, batch, steps);
            x = BatchNormalized(l, raw);
        }

        int O = _spec.Outputs, H = x[0][0].Length, top = H / 2;
        // a last-step head on a bidirectional top layer reads the forward direction's last output and the reverse one's
        // first (after it has read the whole sequence)
        var rows = _spec.EveryStep ? Enumerable.Range(0, steps).SelectMany(t => x[t]).ToArray()
            : _spec.IsReverse(_spec.Layers.Length - 1) ? x[steps - 1].Select((row, b) => row.Take(top).Concat(x[0][b].Skip(top)).ToArray()).ToArray()
            : x[steps - 1];
        if (Masks.TryGetValue("head.input", out var headMask))
            rows = rows.Select((row, r) => row.Select((v, k) => v * headMask[r * H + k]).ToArray()).ToArray();
        // AWD-LSTM's AR on what the head reads and TAR on the raw top output (every step; training mode)
        double penalty = 0;
        if (_spec.Ar > 0)
            penalty += _spec.Ar * rows.SelectMany(row => row).Average(v => v * v);
        if (_spec.Tar > 0 && steps > 1)
            penalty += _spec.Tar * Enumerable.Range(1, steps - 1)
                .SelectMany(t => Enumerable.Range(0, batch).SelectMany(b => raw[t][b].Select((v, k) => (v - raw[t - 1][b][k]) * (v - raw[t - 1][b][k]))))
                .Average();
        outputs = new double[rows.Length * O];
        double loss = 0;
        for (int r = 0; r < rows.Length; r++)
        {
            var z = new double[O];
            for (int o = 0; o < O; o++)
            {
                z[o] = _w["head.bias"][o];
                for (int k = 0; k < H; k++)
                    z[o] += _w["head.weight"][o * H + k] * rows[r][k];
            }
            var y = _spec.Activation switch
            {
                "Sigmoid" => z.Select(Sigmoid).ToArray(),
                "Softmax" => Softmax(z),
                _ => z,
            };
            y.CopyTo(outputs, r * O);
            switch (_spec.Loss)
            {
                case "MeanSquaredError":
                    for (int o = 0; o < O; o++) loss += Math.Pow(y[o] - floatTargets[r * O + o], 2) / (rows.Length * O);
                    break;
                case "BinaryCrossEntropy":
                    for (int o = 0; o < O; o++)
                    {
                        double t = floatTargets[r * O + o];
                        loss -= (t * Math.Log(y[o]) + (1 - t) * Math.Log(1 - y[o])) / (rows.Length * O);
                    }
                    break;
                default:
                    loss -= Math.Log(y[classTargets[r]]) / rows.Length;
                    break;
            }
        }
        return loss + penalty;
    }

    /// <summary>Batch normalization of layer l's output over all steps and rows (training: the batch's mean and biased
    /// variance, ε = 1e-5), when the model declares it (bn_l{k}.weight); else the output itself.</summary>
    private double[][][] BatchNormalized(int l, double[][][] h)
    {
        var (_, H, _, k) = _spec.Layers[l];
        string p = _spec.Prefix(l);
        if (!_w.TryGetValue($"{p}bn_l{k}.weight", out var gain))
            return h;
        double[] bias = _w[$"{p}bn_l{k}.bias"];
        var rows = h.SelectMany(step => step).ToArray();
        var mean = new double[H];
        var scale = new double[H];
        for (int j = 0; j < H; j++)
        {
            mean[j] = rows.Average(row => row[j]);
            double variance = rows.Average(row => (row[j] - mean[j]) * (row[j] - mean[j]));
            scale[j] = 1 / Math.Sqrt(variance + 1e-5);
        }
        return h.Select(step => step.Select(row => row.Select((v, j) => gain[j] * (v - mean[j]) * scale[j] + bias[j]).ToArray()).ToArray()).ToArray();
    }

    private double[][][] Layer(int l, double[][][] x, int batch, int steps)
    {
        var (cell, H, _, k) = _spec.Layers[l];
        string p = _spec.Prefix(l), d = k + (_spec.IsReverse(l) ? "_reverse" : "");
        double[] wi = _w[$"{p}weight_ih_l{d}"], wh = _w[$"{p}weight_hh_l{d}"], bi = _w[$"{p}bias_ih_l{d}"], bh = _w[$"{p}bias_hh_l{d}"];
        if (Masks.TryGetValue($"layer{l}.weight_hh", out var weightMask)) // weight drop: weight_hh⊙M for the pass
            wh = wh.Select((w, i) => w * weightMask[i]).ToArray();
        int K = x[0][0].Length;
        var output = new double[steps][][];
        Masks.TryGetValue($"layer{l}.recurrent", out var recurrentMask); // [batch, H], one mask for every step
        // zoneout κ, [steps, batch, H]: h(t) = κ·h(t−1) + (1 − κ)·h̃(t), likewise c
        Masks.TryGetValue($"layer{l}.zoneout", out var zoneHidden);
        Masks.TryGetValue($"layer{l}.cellzoneout", out var zoneCell);
        Masks.TryGetValue($"layer{l}.candidate", out var candidateMask); // Semeniuta, [batch, H] for every step
        // A normalized cell: layer norm (Ba et al., each row over its gates) or recurrent batch norm (Cooijmans et al.,
        // each unit over the batch at each step, training statistics), with its gains.
        string? norm = _w.ContainsKey($"{p}ln_ih_weight_l{d}") ? "ln" : _w.ContainsKey($"{p}bn_ih_weight_l{d}") ? "bn" : null;
        double[][] Normalized(double[][] rows, string gain, string? bias = null)
        {
            double[] g = _w[$"{p}{norm}_{gain}_weight_l{d}"], beta = bias is null ? new double[g.Length] : _w[$"{p}{norm}_{bias}_bias_l{d}"];
            if (norm == "ln")
                return rows.Select(row => Normalize(row).Select((v, i) => v * g[i] + beta[i]).ToArray()).ToArray();
            var columns = Enumerable.Range(0, g.Length).Select(i => Normalize(rows.Select(row => row[i]).ToArray())).ToArray();
            return rows.Select((_, b) => Enumerable.Range(0, g.Length).Select(i => columns[i][b] * g[i] + beta[i]).ToArray()).ToArray();
        }
        double Dot(double[] w, int row, double[] v, int n)
        {
            double s = 0;
            for (int i = 0; i < n; i++) s += w[row * n + i] * v[i];
            return s;
        }
        int gates = cell == Cell.Lstm ? 4 : 3;
        // a projected LSTM's state h has P units (h = W_hr·(o⊙tanh c)); its c keeps H
        int P = _spec.Projection(l), S = P > 0 ? P : H;
        double[]? whr = P > 0 ? _w[$"{p}weight_hr_l{d}"] : null;
        var h = Enumerable.Range(0, batch).Select(_ => new double[S]).ToArray();
        var c = Enumerable.Range(0, batch).Select(_ => new double[H]).ToArray();
        for (int t = 0; t < steps; t++)
        {
            // what the recurrent products read: h(t−1), or h̃(t−1) = h(t−1)⊙m under recurrent dropout
            var hr = h.Select((row, b) => recurrentMask is null ? row : row.Select((v, j) => v * recurrentMask[b * H + j]).ToArray()).ToArray();
            // The input and recurrent parts of every gate: b_ih + W·x and b_hh + U·h, or the normalized products
            // γ_x⊙x̂ + b_ih and γ_h⊙ĥ + b_hh.
            var ax = Enumerable.Range(0, batch).Select(b => Enumerable.Range(0, gates * H).Select(g => Dot(wi, g, x[t][b], K)).ToArray()).ToArray();
            var ah = Enumerable.Range(0, batch).Select(b => Enumerable.Range(0, gates * H).Select(g => Dot(wh, g, hr[b], S)).ToArray()).ToArray();
            if (norm is not null)
            {
                ax = Normalized(ax, "ih");
                ah = Normalized(ah, "hh");
            }
            for (int b = 0; b < batch; b++)
                for (int g = 0; g < gates * H; g++)
                {
                    ax[b][g] += bi[g];
                    ah[b][g] += bh[g];
                }
            var hNew = Enumerable.Range(0, batch).Select(_ => new double[H]).ToArray();
            if (cell == Cell.Lstm)
            {
                var cTilde = Enumerable.Range(0, batch).Select(_ => new double[H]).ToArray();
                var o = Enumerable.Range(0, batch).Select(_ => new double[H]).ToArray();
                for (int b = 0; b < batch; b++)
                    for (int j = 0; j < H; j++)
                    {
                        double A(int g) => ax[b][g * H + j] + ah[b][g * H + j];
                        double i = Sigmoid(A(0)), f = Sigmoid(A(1)), gg = Math.Tanh(A(2));
                        o[b][j] = Sigmoid(A(3));
                        cTilde[b][j] = f * c[b][j] + i * gg * (candidateMask is null ? 1 : candidateMask[b * H + j]);
                    }
                // h̃ = o⊙tanh(c̃), or o⊙tanh(γ_c⊙normalize(c̃) + β_c)
                var y = norm is null ? cTilde : Normalized(cTilde, "cell", "cell");
                for (int b = 0; b < batch; b++)
                    for (int j = 0; j < H; j++)
                    {
                        hNew[b][j] = o[b][j] * Math.Tanh(y[b][j]);
                        double kc = zoneCell is null ? 0 : zoneCell[(t * batch + b) * H + j];
                        c[b][j] = kc * c[b][j] + (1 - kc) * cTilde[b][j];
                    }
            }
            else
            {
                for (int b = 0; b < batch; b++)
                {
                    var r = new double[H];
                    var z = new double[H];
                    for (int j = 0; j < H; j++)
                    {
                        r[j] = Sigmoid(ax[b][j] + ah[b][j]);
                        z[j] = Sigmoid(ax[b][H + j] + ah[b][H + j]);
                    }
                    var rh = hr[b].Select((v, j) => r[j] * v).ToArray();
                    for (int j = 0; j < H; j++)
                    {
                        double recurrent = cell == Cell.Gru
                            ? r[j] * ah[b][2 * H + j]
                            : bh[2 * H + j] + Dot(wh, 2 * H + j, rh, H);
                        double n = Math.Tanh(ax[b][2 * H + j] + recurrent);
                        hNew[b][j] = (1 - z[j]) * n * (candidateMask is null ? 1 : candidateMask[b * H + j]) + z[j] * h[b][j];
                    }
                }
            }
            if (zoneHidden is not null)
                for (int b = 0; b < batch; b++)
                    for (int j = 0; j < H; j++)
                    {
                        double kh = zoneHidden[(t * batch + b) * H + j];
                        hNew[b][j] = kh * h[b][j] + (1 - kh) * hNew[b][j];
                    }
            h = whr is null ? hNew : hNew.Select(r => Enumerable.Range(0, P).Select(q => Dot(whr, q, r, H)).ToArray()).ToArray();
            output[t] = h;
        }
        return output;
    }

    private static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));

    /// <summary>(v − mean)/√(variance + 1e-5), the biased variance (PyTorch's layer_norm and training-mode batch_norm
    /// without their affine parts).</summary>
    private static double[] Normalize(double[] v)
    {
        double mean = v.Average();
        double variance = v.Average(e => (e - mean) * (e - mean));
        double scale = 1 / Math.Sqrt(variance + 1e-5);
        return v.Select(e => (e - mean) * scale).ToArray();
    }

    private static double[] Softmax(double[] z)
    {
        double max = z.Max();
        var e = z.Select(v => Math.Exp(v - max)).ToArray();
        double sum = e.Sum();
        return e.Select(v => v / sum).ToArray();
    }
}
