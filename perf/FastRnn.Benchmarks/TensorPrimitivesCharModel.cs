using System.Numerics.Tensors;
using FastRnn;

namespace FastRnn.Benchmarks;

/// <summary>
/// The character language model of the training benchmark — Embedding(V, E) → LSTM(H) → Linear(V), softmax
/// cross-entropy, Adam — written the straightforward way: PyTorch's layout, one dot product per gate row and step
/// and row, one axpy per weight row for the gradients; with TensorPrimitives for those vector operations, or with
/// plain scalar loops (<c>scalar: true</c>). It starts from a FastRnn model's weights so the implementations can be
/// checked against each other (<see cref="Iteration"/> returns the loss).
/// </summary>
public sealed class TensorPrimitivesCharModel
{
    private readonly bool _scalar;

    // The two vector operations the model is made of, vectorized or as the textbook loops.
    private float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (!_scalar) return TensorPrimitives.Dot(a, b);
        float sum = 0;
        for (int i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    /// <summary><c>y += a·x</c>.</summary>
    private void Axpy(ReadOnlySpan<float> x, float a, Span<float> y)
    {
        if (!_scalar)
        {
            TensorPrimitives.MultiplyAdd(x, a, y, y);
            return;
        }
        for (int i = 0; i < x.Length; i++) y[i] += a * x[i];
    }

    private readonly int _vocabulary, _embedding, _hidden, _batch, _steps;
    private readonly float[] _emb, _wi, _wh, _bi, _bh, _wo, _bo;                       // parameters
    private readonly float[] _gEmb, _gWi, _gWh, _gB, _gWo, _gBo;                       // gradients (∂b_ih = ∂b_hh)
    private readonly float[][] _m, _v;                                                  // Adam moments, per parameter
    private readonly float[] _x, _gates, _c, _h, _p;                                    // activations
    private readonly float[] _dh, _dc, _da, _dhNext, _dx;
    private long _step;

    public TensorPrimitivesCharModel(IRnnModel source, int vocabulary, int embedding, int hidden, int batch, int steps, bool scalar = false)
    {
        _scalar = scalar;
        (_vocabulary, _embedding, _hidden, _batch, _steps) = (vocabulary, embedding, hidden, batch, steps);
        float[] Export(string name)
        {
            var tensor = source.Tensors.Single(t => t.Name == name);
            var values = new float[tensor.Count];
            tensor.Export(source.Parameters, values);
            return values;
        }
        _emb = Export("embedding.weight");
        _wi = Export("rnn.weight_ih_l0");
        _wh = Export("rnn.weight_hh_l0");
        _bi = Export("rnn.bias_ih_l0");
        _bh = Export("rnn.bias_hh_l0");
        _wo = Export("head.weight");
        _bo = Export("head.bias");
        _gEmb = new float[_emb.Length];
        _gWi = new float[_wi.Length];
        _gWh = new float[_wh.Length];
        _gB = new float[_bi.Length];
        _gWo = new float[_wo.Length];
        _gBo = new float[_bo.Length];
        float[][] parameters = [_emb, _wi, _wh, _bi, _bh, _wo, _bo];
        _m = parameters.Select(p => new float[p.Length]).ToArray();
        _v = parameters.Select(p => new float[p.Length]).ToArray();
        int rows = batch * steps;
        _x = new float[rows * embedding];
        _gates = new float[rows * 4 * hidden];
        _c = new float[(rows + batch) * hidden];
        _h = new float[(rows + batch) * hidden];
        _p = new float[rows * vocabulary];
        _dh = new float[rows * hidden];
        _dc = new float[hidden];
        _da = new float[4 * hidden];
        _dhNext = new float[batch * hidden];
        _dx = new float[embedding];
    }

    /// <summary>Forward, loss, backward and one Adam step (lr 1e-3); returns the loss before the step.</summary>
    public float Iteration(int[] tokens, int[] targets)
    {
        int H = _hidden, E = _embedding, V = _vocabulary, B = _batch, rows = B * _steps;
        // Forward.
        for (int i = 0; i < rows; i++)
            _emb.AsSpan(tokens[i] * E, E).CopyTo(_x.AsSpan(i * E, E));
        for (int t = 0; t < _steps; t++)
            for (int b = 0; b < B; b++)
            {
                int row = t * B + b;
                var x = _x.AsSpan(row * E, E);
                var hPrev = _h.AsSpan(row * H, H);
                var g = _gates.AsSpan(row * 4 * H, 4 * H);
                for (int j = 0; j < 4 * H; j++)
                    g[j] = _bi[j] + _bh[j] + Dot(_wi.AsSpan(j * E, E), x) + Dot(_wh.AsSpan(j * H, H), hPrev);
                TensorPrimitives.Sigmoid(g[..(2 * H)], g[..(2 * H)]);
                TensorPrimitives.Tanh(g.Slice(2 * H, H), g.Slice(2 * H, H));
                TensorPrimitives.Sigmoid(g.Slice(3 * H, H), g.Slice(3 * H, H));
                var c = _c.AsSpan((row + B) * H, H);
                TensorPrimitives.Multiply(g.Slice(H, H), _c.AsSpan(row * H, H), c);
                TensorPrimitives.FusedMultiplyAdd(g[..H], g.Slice(2 * H, H), c, c);
                var h = _h.AsSpan((row + B) * H, H);
                TensorPrimitives.Tanh(c, h);
                TensorPrimitives.Multiply(h, g.Slice(3 * H, H), h);
            }
        double loss = 0;
        for (int row = 0; row < rows; row++)
        {
            var p = _p.AsSpan(row * V, V);
            var h = _h.AsSpan((row + B) * H, H);
            for (int o = 0; o < V; o++)
                p[o] = _bo[o] + Dot(_wo.AsSpan(o * H, H), h);
            TensorPrimitives.SoftMax(p, p);
            loss -= Math.Log(p[targets[row]]);
        }

        // Backward. Head: ∂z = (p − onehot)/rows; ∂W_o += ∂z⊗h; ∂h = W_oᵀ∂z.
        Array.Clear(_gEmb); Array.Clear(_gWi); Array.Clear(_gWh); Array.Clear(_gB); Array.Clear(_gWo); Array.Clear(_gBo);
        Array.Clear(_dh);
        float scale = 1f / rows;
        for (int row = 0; row < rows; row++)
        {
            var dz = _p.AsSpan(row * V, V);
            TensorPrimitives.Multiply(dz, scale, dz);
            dz[targets[row]] -= scale;
            TensorPrimitives.Add(_gBo, dz, _gBo);
            var h = _h.AsSpan((row + B) * H, H);
            var dh = _dh.AsSpan(row * H, H);
            for (int o = 0; o < V; o++)
            {
                Axpy(h, dz[o], _gWo.AsSpan(o * H, H));
                Axpy(_wo.AsSpan(o * H, H), dz[o], dh);
            }
        }
        // Through time, row by row.
        for (int b = 0; b < B; b++)
        {
            var dhNext = _dhNext.AsSpan(b * H, H);
            dhNext.Clear();
            Array.Clear(_dc);
            for (int t = _steps - 1; t >= 0; t--)
            {
                int row = t * B + b;
                var g = _gates.AsSpan(row * 4 * H, 4 * H);
                for (int j = 0; j < H; j++)
                {
                    float i = g[j], f = g[H + j], gg = g[2 * H + j], o = g[3 * H + j];
                    float tanhC = MathF.Tanh(_c[(row + B) * H + j]);
                    float dh = _dh[row * H + j] + dhNext[j];
                    float dc = _dc[j] + dh * o * (1 - tanhC * tanhC);
                    _da[j] = dc * gg * i * (1 - i);
                    _da[H + j] = dc * _c[row * H + j] * f * (1 - f);
                    _da[2 * H + j] = dc * i * (1 - gg * gg);
                    _da[3 * H + j] = dh * tanhC * o * (1 - o);
                    _dc[j] = dc * f;
                }
                var x = _x.AsSpan(row * E, E);
                var hPrev = _h.AsSpan(row * H, H);
                dhNext.Clear();
                _dx.AsSpan().Clear();
                for (int j = 0; j < 4 * H; j++)
                {
                    float d = _da[j];
                    Axpy(x, d, _gWi.AsSpan(j * E, E));
                    Axpy(hPrev, d, _gWh.AsSpan(j * H, H));
                    Axpy(_wi.AsSpan(j * E, E), d, _dx);
                    Axpy(_wh.AsSpan(j * H, H), d, dhNext);
                }
                TensorPrimitives.Add(_gB, _da, _gB);
                var embeddingRow = _gEmb.AsSpan(tokens[row] * E, E);
                TensorPrimitives.Add(embeddingRow, _dx, embeddingRow);
            }
        }

        // Adam (β 0.9, 0.999, ε 1e-8, lr 1e-3), parameter by parameter.
        _step++;
        float[][] parameters = [_emb, _wi, _wh, _bi, _bh, _wo, _bo];
        float[][] gradients = [_gEmb, _gWi, _gWh, _gB, _gB, _gWo, _gBo];
        float c1 = (float)(1e-3 / (1 - Math.Pow(0.9, _step))), c2 = (float)(1 / Math.Sqrt(1 - Math.Pow(0.999, _step)));
        for (int k = 0; k < parameters.Length; k++)
        {
            Span<float> p = parameters[k], gr = gradients[k], m = _m[k], v = _v[k];
            for (int i = 0; i < p.Length; i++)
            {
                m[i] = 0.9f * m[i] + 0.1f * gr[i];
                v[i] = 0.999f * v[i] + 0.001f * gr[i] * gr[i];
                p[i] -= c1 * m[i] / (MathF.Sqrt(v[i]) * c2 + 1e-8f);
            }
        }
        return (float)(loss / rows);
    }
}
