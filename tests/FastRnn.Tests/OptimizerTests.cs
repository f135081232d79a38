using Xunit;

namespace FastRnn.Tests;

/// <summary>Optimizers against torch.optim (three steps each, fixtures from tools/make_fixtures.py).</summary>
public class OptimizerTests
{
    private sealed class Vector(float[] parameters) : IRnnModel
    {
        public float[] P = parameters;
        public float[] G = new float[parameters.Length];
        public Span<float> Parameters => P;
        public Span<float> Gradients => G;
        public IReadOnlyList<ParameterTensor> Tensors => [];
        public void ZeroGrad() => Array.Clear(G);
    }

    [Theory]
    [InlineData("sgd", false)]
    [InlineData("sgd", true)]
    [InlineData("sgd_plain", false)]
    [InlineData("adam", false)]
    [InlineData("adam", true)]
    [InlineData("adamw", false)]
    [InlineData("adamw", true)]
    public void MatchesTorchOptim(string name, bool wide)
    {
        var entries = Safetensors.Read(FixtureFiles.PathOf("optimizers.safetensors"));
        var model = new Vector((float[])entries["p0"].Data.Clone());
        Optimizer optimizer;
        using (VectorPath.Override(wide))
            optimizer = name switch
            {
                "sgd" => new Sgd(model, 0.1f, momentum: 0.9f, nesterov: true, weightDecay: 0.01f),
                "sgd_plain" => new Sgd(model, 0.1f),
                "adam" => new Adam(model, 0.01f, 0.8f, 0.99f, 1e-6f, weightDecay: 0.1f),
                _ => new Adam(model, 0.01f, 0.9f, 0.999f, 1e-8f, weightDecay: 0.1f, decoupled: true),
            };
        for (int step = 0; step < 3; step++)
        {
            entries[$"grad{step}"].Data.CopyTo(model.G, 0);
            optimizer.Step();
        }
        Close.Assert(entries[name].Data, model.P, name);
        Assert.Equal(3, optimizer.Steps);
    }

    [Fact]
    public void InvalidSettingsThrowBeforeAnyChange()
    {
        var model = new Vector(new float[16]);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(model, learningRate: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(model, beta1: 1f));
        Assert.Throws<ArgumentException>(() => new Sgd(model, 0.1f, momentum: 0, nesterov: true));
        Assert.Throws<ArgumentException>(() => new Sgd(new Vector(new float[15]), 0.1f));
    }
}
