using FastRnn.Kernels;
using Xunit;

namespace FastRnn.Tests;

/// <summary>Declared initializations: orthogonal recurrent weights (the property PyTorch's <c>orthogonal_</c> and
/// Keras' <c>Orthogonal</c> guarantee: QᵀQ = I), Glorot and Kaiming bounds and variance, Keras' unit forget bias.</summary>
public class InitializationTests
{
    private static float[] Export(IRnnModel model, string name)
    {
        var tensor = model.Tensors.Single(t => t.Name == name);
        var values = new float[tensor.Count];
        tensor.Export(model.Parameters, values);
        return values;
    }

    /// <summary>max |(MᵀM − I)| over the Gram matrix of the columns of a [rows, columns] row-major matrix.</summary>
    private static double OrthonormalityError(float[] m, int rows, int columns)
    {
        double worst = 0;
        for (int a = 0; a < columns; a++)
            for (int b = 0; b < columns; b++)
            {
                double dot = 0;
                for (int r = 0; r < rows; r++)
                    dot += (double)m[r * columns + a] * m[r * columns + b];
                worst = Math.Max(worst, Math.Abs(dot - (a == b ? 1 : 0)));
            }
        return worst;
    }

    private static float[] Transpose(float[] m, int rows, int columns)
    {
        var t = new float[m.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++)
                t[c * rows + r] = m[r * columns + c];
        return t;
    }

    [Fact]
    public void RecurrentWeightsAreOrthogonal()
    {
        var model = new InitializedModel(1, 1, seed: 4);
        Assert.True(OrthonormalityError(Export(model, "rnn.0.weight_hh_l0"), 4 * 37, 37) < 1e-5);
        Assert.True(OrthonormalityError(Export(model, "rnn.1.weight_hh_l0"), 3 * 20, 20) < 1e-5);
        // A wide matrix gets orthonormal rows (head.weight is 2 × 20).
        Initializers.Apply(model, "head.weight", Initialization.Orthogonal, 7);
        Assert.True(OrthonormalityError(Transpose(Export(model, "head.weight"), 2, 20), 20, 2) < 1e-5);
    }

    [Fact]
    public void ABidirectionalLayersReverseDirectionIsInitializedAsDeclaredToo()
    {
        var model = new BiInitialized(1, 1, seed: 4);
        foreach (string direction in new[] { "", "_reverse" })
        {
            Assert.True(OrthonormalityError(Export(model, "rnn.weight_hh_l0" + direction), 4 * 12, 12) < 1e-5, direction);
            // Keras' unit forget bias: b_ih's forget gate (i, f, g, o) at 1, the rest at 0
            var bias = Export(model, "rnn.bias_ih_l0" + direction);
            Assert.All(bias.Skip(12).Take(12), b => Assert.Equal(1f, b));
            Assert.All(bias.Take(12).Concat(bias.Skip(24)), b => Assert.Equal(0f, b));
        }
    }

    [Fact]
    public void GlorotAndKaimingDrawFromTheirBounds()
    {
        var model = new InitializedModel(1, 1, seed: 4);
        AssertUniform(model, "rnn.0.weight_ih_l0", Math.Sqrt(6.0 / (10 + 4 * 37))); // Glorot: fan_in 10, fan_out 148
        AssertUniform(model, "rnn.1.weight_ih_l0", Math.Sqrt(2.0) * Math.Sqrt(3.0 / 37)); // Kaiming: fan_in 37
    }

    /// <summary>A tensor drawn from U(−bound, bound): inside the bound, filling it, with the variance bound²/3.</summary>
    private static void AssertUniform(IRnnModel model, string name, double bound)
    {
        var w = Export(model, name);
        Assert.All(w, v => Assert.InRange(v, -bound, bound));
        double variance = w.Average(v => (double)v * v);
        double expected = bound * bound / 3, spread = expected * Math.Sqrt(0.8 / w.Length); // var of U² is 4b⁴/45
        Assert.True(Math.Abs(variance - expected) < 5 * spread, $"{name}: variance {variance:E3}, expected {expected:E3}");
        Assert.True(w.Max() > 0.9 * bound && w.Min() < -0.9 * bound, $"{name} does not fill its range");
    }

    [Fact]
    public void ZarembasUniformDrawsEveryParameterButTheNormalizationGains()
    {
        var model = new LayerNormMasked(1, 1, seed: 4);
        Initializers.Uniform(model, 0.05f, seed: 9);
        foreach (var tensor in model.Tensors)
            if (tensor.Role is ParameterRole.NormGain)
                Assert.All(Export(model, tensor.Name), v => Assert.Equal(1f, v));
            else if (tensor.Role is ParameterRole.NormBias)
                Assert.All(Export(model, tensor.Name), v => Assert.Equal(0f, v));
            else if (tensor.Count >= 40)
                AssertUniform(model, tensor.Name, 0.05);
            else
                Assert.All(Export(model, tensor.Name), v => Assert.InRange(v, -0.05, 0.05));
        var again = new LayerNormMasked(1, 1, seed: 4);
        Initializers.Uniform(again, 0.05f, seed: 9);
        Assert.Equal(model.Parameters.ToArray(), again.Parameters.ToArray());
        Initializers.Uniform(again, 0.05f, seed: 10);
        Assert.NotEqual(model.Parameters.ToArray(), again.Parameters.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => Initializers.Uniform(again, 0f, 1));
    }

    [Fact]
    public void UnitForgetBiasSetsTheForgetGateToOne()
    {
        var model = new InitializedModel(1, 1, seed: 4);
        var inputBias = Export(model, "rnn.0.bias_ih_l0");
        Assert.Equal(Enumerable.Repeat(0f, 37).Concat(Enumerable.Repeat(1f, 37)).Concat(Enumerable.Repeat(0f, 74)), inputBias);
        Assert.All(Export(model, "rnn.0.bias_hh_l0"), v => Assert.Equal(0f, v));
        // the GRU, declared without it, keeps PyTorch's default
        Assert.Contains(Export(model, "rnn.1.bias_ih_l0"), v => v != 0f);
    }

    [Fact]
    public void InitializationFollowsTheSeed()
    {
        Assert.Equal(new InitializedModel(1, 1, seed: 4).Parameters.ToArray(), new InitializedModel(1, 1, seed: 4).Parameters.ToArray());
        Assert.NotEqual(new InitializedModel(1, 1, seed: 4).Parameters.ToArray(), new InitializedModel(1, 1, seed: 5).Parameters.ToArray());
        using (VectorPath.Override(true))
            Assert.Equal(new InitializedModel(1, 1, seed: 4).Parameters.ToArray(), new InitializedModel(1, 1, seed: 4).Parameters.ToArray());
    }

    [Fact]
    public void UnknownTensorsAreRejected()
    {
        var model = new InitializedModel(1, 1);
        Assert.Throws<ArgumentException>(() => Initializers.Apply(model, "rnn.weight_hh_l0", Initialization.Orthogonal, 1));
        Assert.Throws<ArgumentException>(() => Initializers.UnitForgetBias(model, "rnn.1.bias_ih_l0", "rnn.1.bias_hh_l0"));
    }
}
