using FastRnn.Kernels;
using Xunit;

namespace FastRnn.Tests;

/// <summary>Constraints after an update, against Keras' formulas written out here on the Keras-shaped tensors
/// (keras/src/constraints/constraints.py: MaxNorm, UnitNorm, NonNeg, MinMaxNorm, ε = 1e-7).</summary>
public class ConstraintTests
{
    private static Dictionary<string, float[]> Export(IRnnModel model) =>
        model.Tensors.ToDictionary(t => t.Name, t =>
        {
            var values = new float[t.Count];
            t.Export(model.Parameters, values);
            return values;
        });

    /// <summary>Keras' constraint on a PyTorch-layout [rows, columns] tensor; <paramref name="byRow"/> groups the
    /// norm by PyTorch row (a kernel's Keras axis 0, an embedding's axis 1), else by column; a vector is one group.</summary>
    private static float[] Keras(float[] w, int rows, int columns, bool byRow, Func<double, double> desired)
    {
        var result = (float[])w.Clone();
        int groups = byRow ? rows : columns, length = byRow ? columns : rows;
        for (int g = 0; g < groups; g++)
        {
            int At(int i) => byRow ? g * columns + i : i * columns + g;
            double norm = Math.Sqrt(Enumerable.Range(0, length).Sum(i => (double)w[At(i)] * w[At(i)]));
            double factor = desired(norm) / (1e-7 + norm);
            for (int i = 0; i < length; i++)
                result[At(i)] = (float)(w[At(i)] * factor);
        }
        return result;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AnUpdateEndsWithKerasConstraints(bool wide)
    {
        ConstrainedModel model;
        using (VectorPath.Override(wide))
            model = new ConstrainedModel(1, 1, seed: 3);
        var before = Export(model);
        model.ZeroGrad();
        new Sgd(model, 0.1f).Step(); // a zero gradient: the update leaves the weights, the constraints act
        var after = Export(model);

        // recurrent kernels: MaxNorm(0.5, axis 0) = each unit's incoming weights (a PyTorch row)
        foreach (var (name, units, gates) in new[] { ("rnn.0.weight_hh_l0", 20, 4), ("rnn.1.weight_hh_l0", 7, 3) })
            Close.Assert(Keras(before[name], gates * units, units, true, n => Math.Clamp(n, 0, 0.5)), after[name], name);
        // input kernels: MinMaxNorm(0.2, 0.4, rate 0.5, axis 1) = each input's outgoing weights (a PyTorch column)
        foreach (var (name, units, gates, inputs) in new[] { ("rnn.0.weight_ih_l0", 20, 4, 6), ("rnn.1.weight_ih_l0", 7, 3, 20) })
            Close.Assert(Keras(before[name], gates * units, inputs, false, n => 0.5 * Math.Clamp(n, 0.2, 0.4) + 0.5 * n), after[name], name);
        // biases: UnitNorm of the whole vector
        foreach (var name in before.Keys.Where(n => n.Contains(".bias_")))
            Close.Assert(Keras(before[name], 1, before[name].Length, true, _ => 1), after[name], name);
        // head kernel: NonNeg; head bias untouched
        Assert.Equal(before["head.weight"].Select(v => Math.Max(v, 0f)), after["head.weight"]);
        Assert.Contains(after["head.weight"], v => v > 0);
        Assert.Equal(before["head.bias"], after["head.bias"]);
        // embedding: MaxNorm(0.3, axis 1) = each token's vector (a row)
        Close.Assert(Keras(before["embedding.weight"], 12, 6, true, n => Math.Clamp(n, 0, 0.3)), after["embedding.weight"], "embedding");
        PyTorchFixtureTests.AssertPaddingZero(model, model.Parameters);
    }

    [Fact]
    public void ValuesAreRunTimeOptions()
    {
        var model = new ConstrainedModel(1, 1, seed: 3);
        Assert.Equal(["RecurrentKernelMaxNorm", "InputKernelMaxNorm", "InputKernelMinNorm", "InputKernelNormRate", "EmbeddingMaxNorm"], model.Options.Names);
        model.Options.RecurrentKernelMaxNorm = 100f; // above every row's norm: Keras then scales by n/(n + ε) only
        var before = Export(model);
        model.ZeroGrad();
        new Sgd(model, 0.1f).Step();
        Close.Assert(Keras(before["rnn.0.weight_hh_l0"], 80, 20, true, n => Math.Clamp(n, 0, 100)), Export(model)["rnn.0.weight_hh_l0"], "max norm 100");
        Assert.NotEqual(Keras(before["rnn.0.weight_hh_l0"], 80, 20, true, n => Math.Clamp(n, 0, 0.5)), Export(model)["rnn.0.weight_hh_l0"]);
        Assert.Equal(new WeightConstraint(ConstraintKind.MaxNorm, 0, 0f, 100f, 1f), ((IRnnModel)model).ConstraintOf(ParameterRole.RecurrentKernel));
    }
}
