using System.Numerics.Tensors;

namespace FastRnn.Benchmarks;

/// <summary>An LSTM's weights in PyTorch's layout, drawn as PyTorch's default initialization does.</summary>
public abstract class LstmWeights
{
    protected readonly int _inputs, _hidden;
    protected readonly float[] _wi, _wh, _b, _gates;

    protected LstmWeights(int inputs, int hidden, int seed)
    {
        _inputs = inputs;
        _hidden = hidden;
        var random = new Random(seed);
        float bound = 1f / MathF.Sqrt(hidden);
        float Draw() => bound * (2 * random.NextSingle() - 1);
        _wi = Enumerable.Range(0, 4 * hidden * inputs).Select(_ => Draw()).ToArray();
        _wh = Enumerable.Range(0, 4 * hidden * hidden).Select(_ => Draw()).ToArray();
        _b = Enumerable.Range(0, 4 * hidden).Select(_ => Draw()).ToArray();
        _gates = new float[4 * hidden];
    }
}

/// <summary>An LSTM written the straightforward way, without the generator: PyTorch's layout (rows of
/// <c>weight_ih</c> and <c>weight_hh</c> per gate unit), one TensorPrimitives dot product per gate row, then
/// TensorPrimitives' vectorized activations. What specialization is measured against.</summary>
public sealed class TensorPrimitivesLstm(int inputs, int hidden, int seed = 1) : LstmWeights(inputs, hidden, seed)
{

    /// <summary>One step for one row: h and c updated in place (h is read whole before it is written).</summary>
    public void Step(ReadOnlySpan<float> x, Span<float> h, Span<float> c, Span<float> hNext)
    {
        int H = _hidden;
        for (int j = 0; j < 4 * H; j++)
            _gates[j] = _b[j] + TensorPrimitives.Dot(_wi.AsSpan(j * _inputs, _inputs), x) + TensorPrimitives.Dot(_wh.AsSpan(j * H, H), h);
        var g = _gates.AsSpan();
        TensorPrimitives.Sigmoid(g[..(2 * H)], g[..(2 * H)]);
        TensorPrimitives.Tanh(g.Slice(2 * H, H), g.Slice(2 * H, H));
        TensorPrimitives.Sigmoid(g.Slice(3 * H, H), g.Slice(3 * H, H));
        // c = f⊙c + i⊙g;  h = o⊙tanh(c)
        TensorPrimitives.Multiply(c, g.Slice(H, H), c);
        TensorPrimitives.FusedMultiplyAdd(g[..H], g.Slice(2 * H, H), c, c);
        TensorPrimitives.Tanh(c, hNext);
        TensorPrimitives.Multiply(hNext, g.Slice(3 * H, H), hNext);
    }
}

/// <summary>The same LSTM step as plain scalar loops (what a compiler makes of the textbook code).</summary>
public sealed class ScalarLstm(int inputs, int hidden, int seed = 1) : LstmWeights(inputs, hidden, seed)
{

    public void Step(float[] x, float[] h, float[] c, float[] hNext)
    {
        int H = _hidden, I = _inputs;
        for (int j = 0; j < 4 * H; j++)
        {
            float s = _b[j];
            for (int k = 0; k < I; k++) s += _wi[j * I + k] * x[k];
            for (int k = 0; k < H; k++) s += _wh[j * H + k] * h[k];
            _gates[j] = s;
        }
        for (int j = 0; j < H; j++)
        {
            float i = 1 / (1 + MathF.Exp(-_gates[j])), f = 1 / (1 + MathF.Exp(-_gates[H + j]));
            float g = MathF.Tanh(_gates[2 * H + j]), o = 1 / (1 + MathF.Exp(-_gates[3 * H + j]));
            c[j] = f * c[j] + i * g;
            hNext[j] = o * MathF.Tanh(c[j]);
        }
    }
}
