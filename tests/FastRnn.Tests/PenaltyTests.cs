using FastRnn.Kernels;
using Xunit;

namespace FastRnn.Tests;

/// <summary>Declared L1/L2 penalties (Keras semantics): the options they create, their value in the training loss
/// (computed here from the exported PyTorch tensors), and their gradient inside the optimizer's update, checked against
/// a plain SGD step written out here. (Against torch: OptimizerTests.PenaltiesJoinTheGradientBeforeClipping.)</summary>
public class PenaltyTests
{
    private const int Batch = 3, Steps = 4;

    private static (float[] X, float[] Y) Data()
    {
        var random = new Random(6);
        return (Enumerable.Range(0, Steps * Batch * 4).Select(_ => (float)random.NextDouble() - 0.5f).ToArray(),
            Enumerable.Range(0, Steps * Batch * 2).Select(_ => (float)random.NextDouble()).ToArray());
    }

    private static Dictionary<string, float[]> Export(IRnnModel model, float[] arena) =>
        model.Tensors.ToDictionary(t => t.Name, t =>
        {
            var values = new float[t.Count];
            t.Export(arena, values);
            return values;
        });

    private static (float L1, float L2) Expected(string name) => name switch
    {
        "rnn.0.weight_hh_l0" or "rnn.1.weight_hh_l0" => (0f, 0.01f),
        _ when name.Contains("bias_") && name.StartsWith("rnn.") => (0.001f, 0.002f),
        "head.weight" => (0.003f, 0f),
        _ => (0f, 0f),
    };

    [Fact]
    public void OptionsAndLossFollowKeras()
    {
        var model = new PenalizedModel(Batch, Steps, seed: 2);
        Assert.Equal(["RecurrentKernelL2", "BiasL1", "BiasL2", "HeadKernelL1"], model.Options.Names);
        var (x, y) = Data();
        model.Options.Training = false;
        model.Forward(x, Batch, Steps);
        float data = model.Loss(y);
        model.Options.Training = true;
        model.Forward(x, Batch, Steps);
        float total = model.Loss(y);
        double penalty = 0;
        foreach (var (name, w) in Export(model, model.Parameters.ToArray()))
        {
            var (l1, l2) = Expected(name);
            penalty += l1 * w.Sum(v => Math.Abs((double)v)) + l2 * w.Sum(v => (double)v * v);
        }
        Assert.True(penalty > 0);
        Assert.Equal(data + penalty, total, 4);
        model.Options.BiasL1 = 0f;
        model.Options.BiasL2 = 0f;
        Assert.Equal((0f, 0f), ((IRnnModel)model).PenaltyOf(ParameterRole.InputBias));
        Assert.Equal((0f, 0.01f), ((IRnnModel)model).PenaltyOf(ParameterRole.RecurrentKernel));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Options.HeadKernelL1 = -0.1f);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TheUpdateAddsThePenaltyGradient(bool wide)
    {
        PenalizedModel model;
        using (VectorPath.Override(wide))
            model = new PenalizedModel(Batch, Steps, seed: 2);
        var (x, y) = Data();
        model.Forward(x, Batch, Steps);
        model.Loss(y);
        model.ZeroGrad();
        model.Backward();
        var before = Export(model, model.Parameters.ToArray());
        var gradients = Export(model, model.Gradients.ToArray());
        const float Rate = 0.5f;
        new Sgd(model, Rate).Step();
        foreach (var (name, after) in Export(model, model.Parameters.ToArray()))
        {
            var (l1, l2) = Expected(name);
            var w = before[name];
            var expected = w.Select((v, i) => v - Rate * (gradients[name][i] + l1 * MathF.Sign(v) + 2 * l2 * v)).ToArray();
            Close.Assert(expected, after, $"{name} after one step");
        }
    }
}
