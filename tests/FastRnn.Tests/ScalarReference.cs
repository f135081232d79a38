namespace FastRnn.Tests;

/// <summary>The plain oracle: a model spelled out as scalar loops in double precision, reading the weights in
/// PyTorch's layout (as a model exports them). No vectors, no interleaving, no shared code with the engine.</summary>
internal sealed class ScalarReference
{
    public enum Cell { Lstm, Gru, GruClassic }

    public sealed record Spec(bool Tokens, int Vocabulary, int InputSize, (Cell Cell, int Hidden, int Group, int K)[] Layers,
        int Outputs, string Activation, bool EveryStep, string Loss, double Ar = 0, double Tar = 0)
    {
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
        for (int l = 0; l < _spec.Layers.Length; l++)
            x = Layer(l, Drop(x, $"layer{l}.input", batch), batch, steps);

        int O = _spec.Outputs, H = _spec.Layers[^1].Hidden;
        var rows = _spec.EveryStep ? Enumerable.Range(0, steps).SelectMany(t => x[t]).ToArray() : x[steps - 1];
        if (Masks.TryGetValue("head.input", out var headMask))
            rows = rows.Select((row, r) => row.Select((v, k) => v * headMask[r * H + k]).ToArray()).ToArray();
        // AWD-LSTM's AR on what the head reads and TAR on the raw top output (every step; training mode)
        double penalty = 0;
        if (_spec.Ar > 0)
            penalty += _spec.Ar * rows.SelectMany(row => row).Average(v => v * v);
        if (_spec.Tar > 0 && steps > 1)
            penalty += _spec.Tar * Enumerable.Range(1, steps - 1)
                .SelectMany(t => Enumerable.Range(0, batch).SelectMany(b => x[t][b].Select((v, k) => (v - x[t - 1][b][k]) * (v - x[t - 1][b][k]))))
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

    private double[][][] Layer(int l, double[][][] x, int batch, int steps)
    {
        var (cell, H, _, k) = _spec.Layers[l];
        string p = _spec.Prefix(l);
        double[] wi = _w[$"{p}weight_ih_l{k}"], wh = _w[$"{p}weight_hh_l{k}"], bi = _w[$"{p}bias_ih_l{k}"], bh = _w[$"{p}bias_hh_l{k}"];
        if (Masks.TryGetValue($"layer{l}.weight_hh", out var weightMask)) // weight drop: weight_hh⊙M for the pass
            wh = wh.Select((w, i) => w * weightMask[i]).ToArray();
        int K = x[0][0].Length;
        var output = new double[steps][][];
        Masks.TryGetValue($"layer{l}.recurrent", out var recurrentMask); // [batch, H], one mask for every step
        // zoneout κ, [steps, batch, H]: h(t) = κ·h(t−1) + (1 − κ)·h̃(t), likewise c
        Masks.TryGetValue($"layer{l}.zoneout", out var zoneHidden);
        Masks.TryGetValue($"layer{l}.cellzoneout", out var zoneCell);
        Masks.TryGetValue($"layer{l}.candidate", out var candidateMask); // Semeniuta, [batch, H] for every step
        for (int b = 0; b < batch; b++)
        {
            var h = new double[H];
            var c = new double[H];
            for (int t = 0; t < steps; t++)
            {
                // what the recurrent products read: h(t−1), or h̃(t−1) = h(t−1)⊙m under recurrent dropout
                var hr = recurrentMask is null ? h : h.Select((v, j) => v * recurrentMask[b * H + j]).ToArray();
                output[t] ??= new double[batch][];
                double Dot(double[] w, int row, double[] v, int n)
                {
                    double s = 0;
                    for (int i = 0; i < n; i++) s += w[row * n + i] * v[i];
                    return s;
                }
                var hNew = new double[H];
                if (cell == Cell.Lstm)
                {
                    for (int j = 0; j < H; j++)
                    {
                        double A(int g) => bi[g * H + j] + bh[g * H + j] + Dot(wi, g * H + j, x[t][b], K) + Dot(wh, g * H + j, hr, H);
                        double i = Sigmoid(A(0)), f = Sigmoid(A(1)), gg = Math.Tanh(A(2)), o = Sigmoid(A(3));
                        double cTilde = f * c[j] + i * gg * (candidateMask is null ? 1 : candidateMask[b * H + j]);
                        hNew[j] = o * Math.Tanh(cTilde);
                        double kc = zoneCell is null ? 0 : zoneCell[(t * batch + b) * H + j];
                        c[j] = kc * c[j] + (1 - kc) * cTilde;
                    }
                }
                else
                {
                    var r = new double[H];
                    var z = new double[H];
                    for (int j = 0; j < H; j++)
                    {
                        r[j] = Sigmoid(bi[j] + Dot(wi, j, x[t][b], K) + bh[j] + Dot(wh, j, hr, H));
                        z[j] = Sigmoid(bi[H + j] + Dot(wi, H + j, x[t][b], K) + bh[H + j] + Dot(wh, H + j, hr, H));
                    }
                    var rh = hr.Select((v, j) => r[j] * v).ToArray();
                    for (int j = 0; j < H; j++)
                    {
                        double recurrent = cell == Cell.Gru
                            ? r[j] * (bh[2 * H + j] + Dot(wh, 2 * H + j, hr, H))
                            : bh[2 * H + j] + Dot(wh, 2 * H + j, rh, H);
                        double n = Math.Tanh(bi[2 * H + j] + Dot(wi, 2 * H + j, x[t][b], K) + recurrent);
                        hNew[j] = (1 - z[j]) * n * (candidateMask is null ? 1 : candidateMask[b * H + j]) + z[j] * h[j];
                    }
                }
                if (zoneHidden is not null)
                    for (int j = 0; j < H; j++)
                    {
                        double kh = zoneHidden[(t * batch + b) * H + j];
                        hNew[j] = kh * h[j] + (1 - kh) * hNew[j];
                    }
                h = hNew;
                output[t][b] = h;
            }
        }
        return output;
    }

    private static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));

    private static double[] Softmax(double[] z)
    {
        double max = z.Max();
        var e = z.Select(v => Math.Exp(v - max)).ToArray();
        double sum = e.Sum();
        return e.Select(v => v / sum).ToArray();
    }
}
