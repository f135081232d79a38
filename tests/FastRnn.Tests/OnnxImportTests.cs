using FastRnn.Kernels;
using Xunit;

namespace FastRnn.Tests;

// The modules of tools/make_fixtures.py onnx, declared: PyTorch's exporter wrote their ONNX files.
[RnnModel, DenseInput(5), Lstm(12, Layers = 2), Head(3), Loss(LossKind.MeanSquaredError)]
public partial class OnnxTorchLstm;

[RnnModel, DenseInput(4), Gru(9, Bidirectional = true), Head(2, Readout = Readout.LastStep), Loss(LossKind.MeanSquaredError)]
public partial class OnnxTorchGru;

[RnnModel, TokenInput(11, 6), Lstm(8, Bidirectional = true), Head(11), Loss(LossKind.MeanSquaredError)]
public partial class OnnxTorchTokens;

// The same GRU declared as the other variant, and with other sizes: what LoadOnnx must refuse.
[RnnModel, DenseInput(4), Gru(9, Bidirectional = true, Variant = GruVariant.ResetBefore), Head(2, Readout = Readout.LastStep), Loss(LossKind.MeanSquaredError)]
public partial class OnnxTorchGruClassic;

[RnnModel, DenseInput(4), Gru(10, Bidirectional = true), Head(2, Readout = Readout.LastStep), Loss(LossKind.MeanSquaredError)]
public partial class OnnxTorchGruWider;

[RnnModel, DenseInput(4), Gru(9), Head(2, Readout = Readout.LastStep), Loss(LossKind.MeanSquaredError)]
public partial class OnnxTorchGruOneWay;

[RnnModel, DenseInput(5), Lstm(12), Head(3), Loss(LossKind.MeanSquaredError)]
public partial class OnnxTorchLstmOneLayer;

/// <summary>
/// ONNX import: files written by PyTorch's own exporter (tools/make_fixtures.py onnx, torch.onnx.export) load into the
/// declared models with PyTorch's exact weights and reproduce PyTorch's outputs and final states; FastRnn's export
/// round-trips bit for bit; a file that does not fit (another GRU variant, size, direction, layer count, a damaged file)
/// is refused with a message naming the difference, and the model keeps its weights.
/// </summary>
public class OnnxImportTests
{
    private static ISequenceModel Create(string name, int batch, int steps) => name switch
    {
        nameof(OnnxTorchLstm) => new OnnxTorchLstm(batch, steps, 1),
        nameof(OnnxTorchGru) => new OnnxTorchGru(batch, steps, 1),
        nameof(OnnxTorchTokens) => new OnnxTorchTokens(batch, steps, 1),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [InlineData(nameof(OnnxTorchLstm), false)]
    [InlineData(nameof(OnnxTorchLstm), true)]
    [InlineData(nameof(OnnxTorchGru), false)]
    [InlineData(nameof(OnnxTorchGru), true)]
    [InlineData(nameof(OnnxTorchTokens), false)]
    [InlineData(nameof(OnnxTorchTokens), true)]
    public void PyTorchsExportLoadsAndReproducesPyTorch(string name, bool wide)
    {
        var entries = Safetensors.Read(FixtureFiles.PathOf(name + ".safetensors"), out var meta);
        int batch = int.Parse(meta["batch"]), steps = int.Parse(meta["steps"]);
        ISequenceModel model;
        using (VectorPath.Override(wide))
            model = Create(name, batch, steps);
        model.Options.Training = false;
        model.LoadOnnx(FixtureFiles.PathOf(name + ".onnx"));
        // the exporter reordered the gates and renamed the tensors: back to PyTorch's state dict exactly
        foreach (var tensor in model.Tensors)
        {
            var values = new float[tensor.Count];
            tensor.Export(model.Parameters, values);
            Assert.Equal(entries[tensor.Name].Data, values);
        }
        var state = model.NewState(batch);
        int layers = model.LayerCount;
        bool lstm = entries.ContainsKey("state.c");
        for (int layer = 0; layer < layers; layer++)
            for (int r = 0; r < batch; r++)
            {
                int h = model.HiddenSizeOf(layer);
                entries["state.h"].Data.AsSpan((layer * batch + r) * h, h).CopyTo(state.Hidden(layer, r));
                if (lstm)
                    entries["state.c"].Data.AsSpan((layer * batch + r) * h, h).CopyTo(state.Cell(layer, r));
            }
        var input = entries["input"].Data;
        if (model.TakesTokens)
            model.ForwardTokens(input.Select(v => (int)v).ToArray(), batch, steps, state);
        else
            model.ForwardDense(input, batch, steps, state);
        var outputs = new float[entries["output"].Data.Length];
        model.CopyOutputs(outputs);
        Close.Assert(entries["output"].Data, outputs, $"{name}: outputs");
        var finals = new float[entries["final_h"].Data.Length];
        var cells = new float[finals.Length];
        for (int layer = 0; layer < layers; layer++)
            for (int r = 0; r < batch; r++)
            {
                int h = model.HiddenSizeOf(layer);
                state.Hidden(layer, r).CopyTo(finals.AsSpan((layer * batch + r) * h));
                if (lstm)
                    state.Cell(layer, r).CopyTo(cells.AsSpan((layer * batch + r) * h));
            }
        Close.Assert(entries["final_h"].Data, finals, $"{name}: final h");
        if (lstm)
            Close.Assert(entries["final_c"].Data, cells, $"{name}: final c");
    }

    [Theory]
    [InlineData(nameof(OnnxLstmStack))]
    [InlineData(nameof(OnnxMixedLast))]
    [InlineData(nameof(OnnxBiTokens))]
    [InlineData(nameof(OnnxBiLast))]
    [InlineData(nameof(HeadlessLstm))]
    [InlineData(nameof(OnnxNormStack))]
    [InlineData(nameof(OnnxNormLast))]
    public void FastRnnsExportRoundTripsBitForBit(string name)
    {
        IRnnModel Make(ulong seed) => name switch
        {
            nameof(OnnxNormStack) => Trained(new OnnxNormStack(2, 3, seed), seed),
            nameof(OnnxNormLast) => Trained(new OnnxNormLast(2, 3, seed), seed),
            nameof(OnnxLstmStack) => new OnnxLstmStack(2, 3, seed),
            nameof(OnnxMixedLast) => new OnnxMixedLast(2, 3, seed),
            nameof(OnnxBiTokens) => new OnnxBiTokens(2, 3, seed),
            nameof(OnnxBiLast) => new OnnxBiLast(2, 3, seed),
            _ => new HeadlessLstm(2, 3, seed),
        };
        var source = Make(1);
        var target = Make(2);
        Assert.NotEqual(source.Parameters.ToArray(), target.Parameters.ToArray());
        target.LoadOnnx(source.ToOnnx());
        Assert.Equal(source.Parameters.ToArray(), target.Parameters.ToArray());
        Assert.Equal(source.Statistics.ToArray(), target.Statistics.ToArray());
    }

    /// <summary>A model with batch normalization, its running statistics moved by training-mode passes (apart per seed).</summary>
    private static IRnnModel Trained(ISequenceModel model, ulong seed)
    {
        var x = Enumerable.Range(0, 3 * 2 * model.InputWidth).Select(i => MathF.Sin(i * (1f + seed))).ToArray();
        for (int i = 0; i < 3; i++)
            model.ForwardDense(x, 2, 3);
        return model;
    }

    [Theory]
    [InlineData(nameof(OnnxTorchGruClassic), "linear_before_reset = 1")]
    [InlineData(nameof(OnnxTorchGruWider), "hidden_size is 9; the model declares 10 units")]
    [InlineData(nameof(OnnxTorchGruOneWay), "direction is 'bidirectional'")]
    [InlineData(nameof(OnnxTorchLstmOneLayer), "2 recurrent node(s)")]
    public void AFileThatDoesNotFitIsRefusedAndChangesNothing(string name, string difference)
    {
        IRnnModel model = name switch
        {
            nameof(OnnxTorchGruClassic) => new OnnxTorchGruClassic(2, 3, 1),
            nameof(OnnxTorchGruWider) => new OnnxTorchGruWider(2, 3, 1),
            nameof(OnnxTorchGruOneWay) => new OnnxTorchGruOneWay(2, 3, 1),
            _ => new OnnxTorchLstmOneLayer(2, 3, 1),
        };
        string file = FixtureFiles.PathOf((name.StartsWith("OnnxTorchGru", StringComparison.Ordinal) ? nameof(OnnxTorchGru) : nameof(OnnxTorchLstm)) + ".onnx");
        var before = model.Parameters.ToArray();
        var error = Assert.Throws<InvalidDataException>(() => model.LoadOnnx(file));
        Assert.Contains(difference, error.Message, StringComparison.Ordinal);
        Assert.Equal(before, model.Parameters.ToArray());
    }

    [Fact]
    public void ADamagedFileIsRefusedAndChangesNothing()
    {
        var model = new OnnxTorchLstm(2, 3, 1);
        var before = model.Parameters.ToArray();
        byte[] bytes = File.ReadAllBytes(FixtureFiles.PathOf(nameof(OnnxTorchLstm) + ".onnx"));
        var random = new Random(5);
        // every truncation point of the first kilobyte and a spread after (within the graph: the opset entry after it is
        // not needed to load weights), and bits flipped anywhere: a clear error or a load, never another exception
        var cuts = Enumerable.Range(0, 1024).Concat(Enumerable.Range(0, 200).Select(_ => random.Next(bytes.Length - 64)));
        foreach (int cut in cuts)
            Assert.ThrowsAny<InvalidDataException>(() => model.LoadOnnx(bytes.AsSpan(0, cut)));
        for (int i = 0; i < 200; i++)
        {
            var damaged = (byte[])bytes.Clone();
            damaged[random.Next(damaged.Length)] ^= (byte)(1 << random.Next(8));
            try
            {
                model.LoadOnnx(damaged);
                model.LoadOnnx(bytes); // a flip inside a weight's value loads; restore
            }
            catch (InvalidDataException)
            {
            }
        }
        model.LoadOnnx(bytes);
        var loaded = model.Parameters.ToArray();
        var fresh = new OnnxTorchLstm(2, 3, 1);
        fresh.LoadOnnx(bytes);
        Assert.Equal(fresh.Parameters.ToArray(), loaded);
        Assert.NotEqual(before, loaded);
    }
}
