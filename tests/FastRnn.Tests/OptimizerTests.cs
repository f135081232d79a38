using FastRnn.Kernels;
using Xunit;

namespace FastRnn.Tests;

/// <summary>Optimizers against torch.optim (three steps each, fixtures from tools/make_fixtures.py).</summary>
public class OptimizerTests
{
    // The fixture's two tensors: elements 0–31 and 32–63 of the arena.
    private static ParameterTensor[] Halves() =>
    [
        new("a", ParameterRole.InputKernel, 0, TensorStorage.Plain, 0, 32, 1, 1),
        new("b", ParameterRole.RecurrentKernel, 0, TensorStorage.Plain, 32, 32, 1, 1),
    ];

    [Theory]
    [InlineData("sgd_clipnorm", false)]
    [InlineData("sgd_clipnorm", true)]
    [InlineData("adam_clipvalue", false)]
    [InlineData("adamw_clipboth", true)]
    [InlineData("sgd_tensornorm", false)]
    [InlineData("sgd_tensornorm", true)]
    public void ClippingMatchesTorchUtils(string name, bool wide)
    {
        var entries = Safetensors.Read(FixtureFiles.PathOf("optimizers.safetensors"));
        var model = new ArenaModel((float[])entries["p0"].Data.Clone(), Halves());
        Optimizer optimizer;
        using (VectorPath.Override(wide))
            optimizer = name switch
            {
                "sgd_clipnorm" => new Sgd(model, 0.1f, momentum: 0.9f) { Clipping = { MaxGlobalNorm = 1f } },
                "adam_clipvalue" => new Adam(model, 0.01f) { Clipping = { MaxValue = 0.5f } },
                "adamw_clipboth" => new Adam(model, 0.01f, weightDecay: 0.1f, decoupled: true) { Clipping = { MaxValue = 0.5f, MaxGlobalNorm = 2f } },
                _ => new Sgd(model, 0.1f) { Clipping = { MaxTensorNorm = 1f } },
            };
        var norms = new List<float>();
        for (int step = 0; step < 3; step++)
        {
            for (int i = 0; i < model.G.Length; i++)
                model.G[i] = 10 * entries[$"grad{step}"].Data[i];
            var before = (float[])model.G.Clone();
            Assert.True(optimizer.Step());
            norms.Add(optimizer.LastGradientNorm);
            Assert.Equal(before, model.G); // clipping acts inside the update; the gradients stay as computed
        }
        Close.Assert(entries[name].Data, model.P, name);
        if (entries.TryGetValue(name + ".norms", out var expectedNorms))
            Close.Assert(expectedNorms.Data, norms.ToArray(), name + " norms");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void PenaltiesJoinTheGradientBeforeClipping(bool wide)
    {
        var entries = Safetensors.Read(FixtureFiles.PathOf("optimizers.safetensors"));
        var model = new ArenaModel((float[])entries["p0"].Data.Clone(), Halves());
        model.Penalties[ParameterRole.InputKernel] = (0.01f, 0f);
        model.Penalties[ParameterRole.RecurrentKernel] = (0f, 0.05f);
        Sgd optimizer;
        using (VectorPath.Override(wide))
            optimizer = new Sgd(model, 0.1f, momentum: 0.9f) { Clipping = { MaxGlobalNorm = 1f } };
        var norms = new List<float>();
        for (int step = 0; step < 3; step++)
        {
            for (int i = 0; i < model.G.Length; i++)
                model.G[i] = 10 * entries[$"grad{step}"].Data[i];
            optimizer.Step();
            norms.Add(optimizer.LastGradientNorm);
        }
        Close.Assert(entries["sgd_penalty"].Data, model.P, "sgd with penalties");
        Close.Assert(entries["sgd_penalty.norms"].Data, norms.ToArray(), "norms with penalties");
    }

    [Theory]
    [InlineData(float.NaN, false)]
    [InlineData(float.PositiveInfinity, false)]
    [InlineData(float.NegativeInfinity, true)]
    public void NonFiniteGradientsNeverReachWeightsOrState(float bad, bool adam)
    {
        var start = Enumerable.Range(0, 64).Select(i => i * 0.01f).ToArray();
        var model = new ArenaModel((float[])start.Clone(), Halves());
        Optimizer optimizer = adam ? new Adam(model, 0.01f) : new Sgd(model, 0.1f, momentum: 0.9f);
        // One good step builds optimizer state; then a bad gradient, with either policy.
        Array.Fill(model.G, 0.5f);
        optimizer.Step();
        var afterGood = (float[])model.P.Clone();
        model.G[37] = bad;
        optimizer.Clipping.MaxValue = 1f; // clamping must not hide a non-finite value
        var error = Assert.Throws<NonFiniteGradientException>(() => optimizer.Step());
        Assert.Contains("NaN or infinity", error.Message);
        Assert.Equal(afterGood, model.P);
        Assert.Equal(1, optimizer.Steps);
        optimizer.Clipping.NonFinite = NonFiniteGradientPolicy.SkipStep;
        Assert.False(optimizer.Step());
        Assert.Equal(afterGood, model.P);
        Assert.Equal(1, optimizer.SkippedSteps);
        Assert.True(float.IsNaN(optimizer.LastGradientNorm));
        // The state was not touched either: a good step now equals a good second step on a fresh run.
        Array.Fill(model.G, 0.5f);
        Assert.True(optimizer.Step());
        var reference = new ArenaModel((float[])start.Clone(), Halves());
        Optimizer fresh = adam ? new Adam(reference, 0.01f) : new Sgd(reference, 0.1f, momentum: 0.9f);
        fresh.Clipping.MaxValue = 1f;
        Array.Fill(reference.G, 0.5f);
        fresh.Step();
        fresh.Step();
        Assert.Equal(reference.P, model.P);
    }

    [Fact]
    public void ClippingBoundsMustBeFiniteAndNonNegative()
    {
        var clipping = new GradientClipping();
        Assert.Throws<ArgumentOutOfRangeException>(() => clipping.MaxGlobalNorm = -1f);
        Assert.Throws<ArgumentOutOfRangeException>(() => clipping.MaxValue = float.NaN);
        Assert.Throws<ArgumentOutOfRangeException>(() => clipping.MaxTensorNorm = float.PositiveInfinity);
        Assert.Equal(0f, clipping.MaxGlobalNorm);
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
        var model = new ArenaModel((float[])entries["p0"].Data.Clone());
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
        var model = new ArenaModel(new float[16]);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(model, learningRate: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(model, beta1: 1f));
        Assert.Throws<ArgumentException>(() => new Sgd(model, 0.1f, momentum: 0, nesterov: true));
        Assert.Throws<ArgumentException>(() => new Sgd(new ArenaModel(new float[15]), 0.1f));
    }
}
