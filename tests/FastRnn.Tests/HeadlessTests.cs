using FastRnn.Kernels;
using Xunit;

namespace FastRnn.Tests;

// Models without a head (and without a loss): their outputs are the top layer's states at every step, or its final
// states (Readout.LastStep: an encoder's summary).
[RnnModel, DenseInput(5), Lstm(12, Layers = 2)]
public partial class HeadlessLstm;

[RnnModel, DenseInput(4), Gru(9, Bidirectional = true)]
public partial class HeadlessBiGru;

[RnnModel(Readout = Readout.LastStep), DenseInput(5), Lstm(12, Layers = 2)]
public partial class HeadlessLastLstm;

[RnnModel(Readout = Readout.LastStep), DenseInput(4), Lstm(7, Bidirectional = true)]
public partial class HeadlessLastBiLstm;

/// <summary>A model without a head trained from a caller's gradients, against PyTorch (tools/make_fixtures.py headless:
/// loss = Σ G⊙outputs + Σ G_h⊙h_n (+ Σ G_c⊙c_n) in float64): outputs, final states, every parameter gradient, ∂L/∂inputs
/// and ∂L/∂(initial states), on both vector widths, with and without lengths.</summary>
public class HeadlessTests
{
    private sealed record Piece(ISequenceModel Model, Action<float[], IRnnState> Backward, Action<float[]> InputGradient, Action<IRnnState> InitialGradient);

    private static Piece Create(string name, int batch, int steps) => name switch
    {
        nameof(HeadlessLstm) => Of(new HeadlessLstm(batch, steps, 1), (m, g, s) => m.Backward(g, (HeadlessLstm.State)s), (m, d) => m.CopyInputGradient(d), (m, s) => m.CopyInitialStateGradient((HeadlessLstm.State)s)),
        nameof(HeadlessBiGru) => Of(new HeadlessBiGru(batch, steps, 1), (m, g, s) => m.Backward(g, (HeadlessBiGru.State)s), (m, d) => m.CopyInputGradient(d), (m, s) => m.CopyInitialStateGradient((HeadlessBiGru.State)s)),
        nameof(HeadlessLastLstm) => Of(new HeadlessLastLstm(batch, steps, 1), (m, g, s) => m.Backward(g, (HeadlessLastLstm.State)s), (m, d) => m.CopyInputGradient(d), (m, s) => m.CopyInitialStateGradient((HeadlessLastLstm.State)s)),
        nameof(HeadlessLastBiLstm) => Of(new HeadlessLastBiLstm(batch, steps, 1), (m, g, s) => m.Backward(g, (HeadlessLastBiLstm.State)s), (m, d) => m.CopyInputGradient(d), (m, s) => m.CopyInitialStateGradient((HeadlessLastBiLstm.State)s)),
        _ => throw new ArgumentException(name),
    };

    private static Piece Of<T>(T model, Action<T, float[], IRnnState> backward, Action<T, float[]> input, Action<T, IRnnState> initial) where T : ISequenceModel =>
        new(model, (g, s) => backward(model, g, s), d => input(model, d), s => initial(model, s));

    [Theory]
    [InlineData("HeadlessLstm.b3.t5.safetensors", false)]
    [InlineData("HeadlessLstm.b3.t5.safetensors", true)]
    [InlineData("HeadlessBiGru.b4.t6.safetensors", false)]
    [InlineData("HeadlessBiGru.b4.t6.safetensors", true)]
    [InlineData("HeadlessLastLstm.b3.t5.safetensors", false)]
    [InlineData("HeadlessLastLstm.b3.t5.safetensors", true)]
    [InlineData("HeadlessLastLstm.b2.t4.safetensors", false)]
    [InlineData("HeadlessLastLstm.b2.t4.safetensors", true)]
    [InlineData("HeadlessLastBiLstm.b4.t6.safetensors", false)]
    [InlineData("HeadlessLastBiLstm.b4.t6.safetensors", true)]
    public void TrainedFromAGivenGradientItMatchesPyTorch(string file, bool wide)
    {
        var entries = Safetensors.Read(FixtureFiles.PathOf(file), out var meta);
        int batch = int.Parse(meta["batch"]), steps = int.Parse(meta["steps"]);
        Piece piece;
        using (VectorPath.Override(wide))
            piece = Create(meta["model"], batch, steps);
        var model = piece.Model;
        Assert.DoesNotContain(model.Tensors, t => t.Name.StartsWith("head.", StringComparison.Ordinal));
        foreach (var tensor in model.Tensors)
            tensor.Import(entries[tensor.Name].Data, model.Parameters);
        int h = model.HiddenSizeOf(0);
        bool lstm = entries.ContainsKey("state.c.0");
        IRnnState Load(string prefix)
        {
            var state = model.NewState(batch);
            for (int layer = 0; layer < model.LayerCount; layer++)
                for (int r = 0; r < batch; r++)
                {
                    entries[prefix + "h.0"].Data.AsSpan((layer * batch + r) * h, h).CopyTo(state.Hidden(layer, r));
                    if (lstm)
                        entries[prefix + "c.0"].Data.AsSpan((layer * batch + r) * h, h).CopyTo(state.Cell(layer, r));
                }
            return state;
        }
        void Compare(IRnnState state, string prefix, string what)
        {
            var values = new float[model.LayerCount * batch * h];
            var cells = new float[values.Length];
            for (int layer = 0; layer < model.LayerCount; layer++)
                for (int r = 0; r < batch; r++)
                {
                    state.Hidden(layer, r).CopyTo(values.AsSpan((layer * batch + r) * h));
                    if (lstm)
                        state.Cell(layer, r).CopyTo(cells.AsSpan((layer * batch + r) * h));
                }
            Close.Assert(entries[prefix + "h.0"].Data, values, $"{file}: {what} h");
            if (lstm)
                Close.Assert(entries[prefix + "c.0"].Data, cells, $"{file}: {what} c");
        }

        var state = Load("state.");
        int[]? lengths = entries.TryGetValue("lengths", out var l) ? l.Data.Select(v => (int)v).ToArray() : null;
        var input = entries["input"].Data;
        if (lengths is null)
            model.ForwardDense(input, batch, steps, state);
        else
            model.ForwardDense(input, batch, steps, lengths, state);
        int outputRows = model.EveryStep ? steps * batch : batch;
        Assert.Equal(entries["output"].Data.Length, outputRows * model.OutputWidth);
        var outputs = new float[outputRows * model.OutputWidth];
        model.CopyOutputs(outputs);
        if (lengths is not null && model.EveryStep)
            for (int row = 0; row < steps * batch; row++)
                if (row / batch >= lengths[row % batch])
                    outputs.AsSpan(row * model.OutputWidth, model.OutputWidth).Clear(); // PyTorch pads with 0
        Close.Assert(entries["output"].Data, outputs, $"{file}: outputs");
        Compare(state, "final.", "final");

        model.ZeroGrad();
        piece.Backward(entries["output_gradient"].Data, Load("final_gradient."));
        foreach (var tensor in model.Tensors)
        {
            var gradient = new float[tensor.Count];
            tensor.Export(model.Gradients, gradient);
            Close.Assert(entries["grad." + tensor.Name].Data, gradient, $"{file}: gradient of {tensor.Name}");
        }
        PyTorchFixtureTests.AssertPaddingZero(model, model.Gradients);
        var dInput = new float[input.Length];
        piece.InputGradient(dInput);
        Close.Assert(entries["grad.input"].Data, dInput, $"{file}: ∂L/∂inputs");
        var dInitial = model.NewState(batch);
        piece.InitialGradient(dInitial);
        Compare(dInitial, "grad.state.", "∂L/∂initial");
    }

    [Fact]
    public void AModelWithoutAHeadHasNoLossAndSaysHowToTrainIt()
    {
        ISequenceModel model = new HeadlessLstm(2, 3, 1);
        Assert.Equal(12, model.OutputWidth);
        Assert.True(model.EveryStep);
        model.ForwardDense(new float[3 * 2 * 5], 2, 3);
        var ex = Assert.Throws<InvalidOperationException>(() => model.LossDense(new float[3 * 2 * 12]));
        Assert.Contains("Backward(outputGradient)", ex.Message);
        Assert.Throws<InvalidOperationException>(() => model.Backward());
        // the outputs are the top layer's states; a streaming step gives the same as the sequence's first step
        var sequence = new HeadlessLstm(2, 3, 1);
        var x = Enumerable.Range(0, 3 * 2 * 5).Select(i => MathF.Sin(i)).ToArray();
        sequence.Forward(x, 2, 3);
        var state = sequence.CreateState(2);
        var stepped = new float[2 * 12];
        sequence.Step(x.AsSpan(0, 2 * 5), state, stepped);
        for (int r = 0; r < 2; r++)
            Close.Assert(sequence.Output(0, r).ToArray(), stepped.AsSpan(r * 12, 12).ToArray(), "Step vs Forward");
    }

    [Theory]
    [InlineData("[RnnModel, DenseInput(2), Lstm(4), Loss(LossKind.MeanSquaredError)] public partial class M;", "FRNN004")]
    [InlineData("[RnnModel, DenseInput(2), Lstm(4), Head(1)] public partial class M;", "FRNN005")]
    [InlineData("[RnnModel, DenseInput(2), Lstm(4), Penalty(ParameterGroup.HeadKernel, L2 = 0.1)] public partial class M;", "FRNN019")]
    public void AHeadWithoutALossOrTheReverseIsRefused(string declaration, string id)
    {
        var result = GeneratorHarness.Run("using FastRnn;\n" + declaration);
        Assert.Equal([id], result.GeneratorDiagnostics.Select(d => d.Id).ToArray());
    }
}
