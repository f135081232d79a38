using FastRnn.Kernels;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;

namespace FastRnn.Tests;

// Models for the ONNX export: every cell and variant, stacks and mixed stacks, bidirectional layers, token input, every
// head, and a model without a head. Dropout and weight drop are declared to show that the export is the inference pass.
[RnnModel, DenseInput(5), Lstm(12, Layers = 2, Dropout = 0.2, WeightDrop = 0.3), Head(3), Loss(LossKind.MeanSquaredError)]
public partial class OnnxLstmStack;

[RnnModel, DenseInput(4), Gru(10), Gru(7, Variant = GruVariant.ResetBefore, RecurrentDropout = 0.2), Lstm(6), Head(2, Activation.Sigmoid, Readout = Readout.LastStep), Loss(LossKind.BinaryCrossEntropy)]
public partial class OnnxMixedLast;

[RnnModel, TokenInput(20, 8, EmbeddingDropout = 0.1), Lstm(9, Bidirectional = true), Gru(11, Bidirectional = true, Variant = GruVariant.ResetBefore), Head(20, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]
public partial class OnnxBiTokens;

[RnnModel, DenseInput(3), Gru(13, Bidirectional = true), Head(4, Activation.Softmax, Readout = Readout.LastStep, Dropout = 0.3), Loss(LossKind.SoftmaxCrossEntropy)]
public partial class OnnxBiLast;

[RnnModel, DenseInput(4), Lstm(10, BatchNorm = true), Gru(6, BatchNorm = true), Head(2), Loss(LossKind.MeanSquaredError)]
public partial class OnnxNormStack;

[RnnModel, DenseInput(4), Gru(7), Lstm(9, BatchNorm = true), Head(3, Activation.Softmax, Readout = Readout.LastStep), Loss(LossKind.SoftmaxCrossEntropy)]
public partial class OnnxNormLast;

// Zoneout, exported as a Scan over the cell ending in zoneout's expectation: LSTM (h and c), both GRU variants, a
// bidirectional layer, beside a layer that stays ONNX's own operator.
[RnnModel, DenseInput(4), Lstm(9, Layers = 2, Zoneout = 0.3, CellZoneout = 0.2), Head(2), Loss(LossKind.MeanSquaredError)]
public partial class OnnxZoneoutLstm;

[RnnModel, DenseInput(3), Gru(8, Zoneout = 0.25), Gru(6, Variant = GruVariant.ResetBefore, Bidirectional = true, Zoneout = 0.4), Lstm(5), Head(3, Activation.Softmax, Readout = Readout.LastStep), Loss(LossKind.SoftmaxCrossEntropy)]
public partial class OnnxZoneoutGru;

[RnnModel, TokenInput(12, 5), Lstm(7, Bidirectional = true, Zoneout = 0.2, CellZoneout = 0.35), Gru(6, Zoneout = 0.1, BatchNorm = true), Head(12, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]
public partial class OnnxZoneoutBiTokens;

/// <summary>
/// ONNX export checked by ONNX Runtime: the exported graph, run by Microsoft.ML.OnnxRuntime from given initial states,
/// matches FastRnn's inference forward (outputs and every final state) within 1e-5 relative to each tensor's scale and
/// within the project's 1e-4 per-element metric, for LSTM and
/// both GRU variants, stacks and mixed stacks, bidirectional layers, token input, batch normalization between layers,
/// every-step and last-step heads, a model without a head, zoneout (a Scan over the cell), with and without per-row
/// lengths. Features ONNX cannot express are refused.
/// </summary>
public class OnnxExportTests
{
    private const double Tolerance = 1e-5;

    public static TheoryData<string, bool, bool> Cases()
    {
        var data = new TheoryData<string, bool, bool>();
        foreach (string model in new[] { nameof(OnnxLstmStack), nameof(OnnxMixedLast), nameof(OnnxBiTokens), nameof(OnnxBiLast), nameof(OnnxNormStack), nameof(OnnxNormLast), nameof(HeadlessLastBiLstm), nameof(HeadlessLstm), nameof(OnnxZoneoutLstm), nameof(OnnxZoneoutGru), nameof(OnnxZoneoutBiTokens) })
            foreach (bool lengths in new[] { false, true })
                foreach (bool wide in new[] { false, true })
                    data.Add(model, lengths, wide);
        return data;
    }

    private static ISequenceModel Create(string name, int batch, int steps) => name switch
    {
        nameof(OnnxLstmStack) => new OnnxLstmStack(batch, steps, 11),
        nameof(OnnxMixedLast) => new OnnxMixedLast(batch, steps, 12),
        nameof(OnnxBiTokens) => new OnnxBiTokens(batch, steps, 13),
        nameof(OnnxBiLast) => new OnnxBiLast(batch, steps, 14),
        nameof(OnnxNormStack) => new OnnxNormStack(batch, steps, 17),
        nameof(OnnxNormLast) => new OnnxNormLast(batch, steps, 18),
        nameof(HeadlessLastBiLstm) => new HeadlessLastBiLstm(batch, steps, 15),
        nameof(HeadlessLstm) => new HeadlessLstm(batch, steps, 16),
        // a run-time rate other than the declared one: the export takes the rates the options hold
        nameof(OnnxZoneoutLstm) => new OnnxZoneoutLstm(batch, steps, 19) { Options = { ["Layer1Zoneout"] = 0.45f } },
        nameof(OnnxZoneoutGru) => new OnnxZoneoutGru(batch, steps, 20),
        nameof(OnnxZoneoutBiTokens) => new OnnxZoneoutBiTokens(batch, steps, 21),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void OnnxRuntimeRunsTheExportAsFastRnnRunsTheModel(string name, bool withLengths, bool wide)
    {
        const int Batch = 3, Steps = 6;
        ISequenceModel model;
        using (VectorPath.Override(wide))
            model = Create(name, Batch, Steps);
        var architecture = model.Architecture!;
        var random = new Random(name.Length * 7 + (withLengths ? 1 : 0));
        int[] lengths = [Steps, 2, 5];
        var dense = Enumerable.Range(0, Steps * Batch * model.InputWidth).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var tokens = Enumerable.Range(0, Steps * Batch).Select(_ => random.Next(Math.Max(1, model.Vocabulary))).ToArray();
        if (model.Statistics.Length > 0)
        {
            // running statistics away from their initial 0 and 1: training-mode passes move them
            for (int i = 0; i < 5; i++)
            {
                if (model.TakesTokens) model.ForwardTokens(tokens, Batch, Steps);
                else model.ForwardDense(dense.Select(v => 2 * v + 0.5f).ToArray(), Batch, Steps);
            }
            Assert.Contains(model.Statistics.ToArray(), v => v != 0 && v != 1);
        }
        model.Options.Training = false;
        // initial states of every layer, random (a stateless runtime feeds the final states back)
        var state = model.NewState(Batch);
        for (int layer = 0; layer < model.LayerCount; layer++)
            for (int r = 0; r < Batch; r++)
            {
                foreach (ref float v in state.Hidden(layer, r)) v = (float)(random.NextDouble() - 0.5);
                if (architecture.Layers[layer].Cell == RecurrentCell.Lstm)
                    foreach (ref float v in state.Cell(layer, r)) v = (float)(random.NextDouble() - 0.5);
            }

        // ONNX Runtime's inputs, taken before FastRnn's forward overwrites the state with the final one
        var inputs = new List<NamedOnnxValue>();
        if (model.TakesTokens)
            inputs.Add(NamedOnnxValue.CreateFromTensor("tokens", new DenseTensor<long>(tokens.Select(t => (long)t).ToArray(), [Steps, Batch])));
        else
            inputs.Add(NamedOnnxValue.CreateFromTensor("input", new DenseTensor<float>(dense, [Steps, Batch, model.InputWidth])));
        if (withLengths)
            inputs.Add(NamedOnnxValue.CreateFromTensor("lengths", new DenseTensor<int>(lengths, [Batch])));
        var declared = Declared(architecture);
        for (int k = 0; k < declared.Count; k++)
        {
            var (first, directions, units, lstm) = declared[k];
            inputs.Add(NamedOnnxValue.CreateFromTensor($"initial_h.{k}", new DenseTensor<float>(Gather(state, first, directions, units, Batch, cell: false), [directions, Batch, units])));
            if (lstm)
                inputs.Add(NamedOnnxValue.CreateFromTensor($"initial_c.{k}", new DenseTensor<float>(Gather(state, first, directions, units, Batch, cell: true), [directions, Batch, units])));
        }

        if (model.TakesTokens)
        {
            if (withLengths) model.ForwardTokens(tokens, Batch, Steps, lengths, state);
            else model.ForwardTokens(tokens, Batch, Steps, state);
        }
        else if (withLengths)
            model.ForwardDense(dense, Batch, Steps, lengths, state);
        else
            model.ForwardDense(dense, Batch, Steps, state);
        var expected = new float[(model.EveryStep ? Steps * Batch : Batch) * model.OutputWidth];
        model.CopyOutputs(expected);

        byte[] onnx = model.ToOnnx(new OnnxExportOptions { SequenceLengths = withLengths });
        using var session = new InferenceSession(onnx);
        using var results = session.Run(inputs);
        var actual = results.Single(r => r.Name == "output").AsTensor<float>().ToArray();
        Assert.Equal(expected.Length, actual.Length);
        if (withLengths && model.EveryStep)
        {
            // padded steps: FastRnn's outputs there are no one's (no loss reads them); compare the real ones
            for (int i = 0; i < Steps * Batch; i++)
                if (i / Batch >= lengths[i % Batch])
                {
                    Array.Clear(expected, i * model.OutputWidth, model.OutputWidth);
                    Array.Clear(actual, i * model.OutputWidth, model.OutputWidth);
                }
        }
        for (int k = 0; k < declared.Count; k++)
        {
            var (first, directions, units, lstm) = declared[k];
            AssertClose(Gather(state, first, directions, units, Batch, cell: false), results.Single(r => r.Name == $"final_h.{k}").AsTensor<float>().ToArray(), $"{name}: final h of layer {k}");
            if (lstm)
                AssertClose(Gather(state, first, directions, units, Batch, cell: true), results.Single(r => r.Name == $"final_c.{k}").AsTensor<float>().ToArray(), $"{name}: final c of layer {k}");
        }
        AssertClose(expected, actual, $"{name}: outputs");
    }

    [Fact]
    public void AZoneoutLayersScanIsNotReadBackAndSaysWhy()
    {
        var source = new OnnxZoneoutLstm(2, 3, 1);
        var target = new OnnxZoneoutLstm(2, 3, 2);
        var before = target.Parameters.ToArray();
        var error = Assert.Throws<InvalidDataException>(() => target.LoadOnnx(source.ToOnnx()));
        Assert.Contains("has 0 recurrent node(s)", error.Message);
        Assert.Contains("written out as a Scan or Loop (as FastRnn exports zoneout) is not read back", error.Message);
        Assert.Equal(before, target.Parameters.ToArray());
    }

    [Theory]
    [InlineData("[RnnModel, DenseInput(3), Lstm(8, Projection = 4), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;", "projection")]
    [InlineData("[RnnModel, DenseInput(3), Lstm(8, LayerNorm = true), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;", "LayerNorm")]
    [InlineData("[RnnModel, DenseInput(3), Gru(8, RecurrentBatchNorm = true, MaxSteps = 2), Head(1), Loss(LossKind.MeanSquaredError)] public partial class M;", "RecurrentBatchNorm")]
    public void WhatOnnxCannotExpressIsRefusedByName(string declaration, string feature)
    {
        var type = GeneratorHarness.CompileAndLoad("using FastRnn;\nnamespace OnnxRefusals;\n" + declaration).GetTypes().Single(t => t.Name == "M");
        var model = (IRnnModel)Activator.CreateInstance(type, 2, 3, 1UL)!;
        var error = Assert.Throws<NotSupportedException>(() => model.ToOnnx());
        Assert.Contains(feature, error.Message, StringComparison.Ordinal);
        Assert.Contains(".l0 ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SaveOnnxWritesAFileOnnxRuntimeLoads()
    {
        var model = new OnnxLstmStack(2, 4, 3);
        string path = Path.Combine(Path.GetTempPath(), $"fastrnn-{Guid.NewGuid():N}.onnx");
        try
        {
            model.SaveOnnx(path);
            using var session = new InferenceSession(path);
            Assert.Equal(["input", "initial_h.0", "initial_c.0", "initial_h.1", "initial_c.1"], session.InputMetadata.Keys.ToArray());
            Assert.Equal(["final_h.0", "final_c.0", "final_h.1", "final_c.1", "output"], session.OutputMetadata.Keys.ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>The declared layers: first engine layer, directions, units, LSTM.</summary>
    private static List<(int First, int Directions, int Units, bool Lstm)> Declared(ModelArchitecture architecture)
    {
        var declared = new List<(int, int, int, bool)>();
        for (int n = 0; n < architecture.Layers.Count; n++)
        {
            var layer = architecture.Layers[n];
            if (layer.Reverse)
                continue;
            declared.Add((n, layer.Bidirectional ? 2 : 1, layer.Hidden, layer.Cell == RecurrentCell.Lstm));
        }
        return declared;
    }

    /// <summary>[directions, batch, units] of h (or c) from the engine's layers first, first + 1.</summary>
    private static float[] Gather(IRnnState state, int first, int directions, int units, int batch, bool cell)
    {
        var values = new float[directions * batch * units];
        for (int d = 0; d < directions; d++)
            for (int r = 0; r < batch; r++)
                (cell ? state.Cell(first + d, r) : state.Hidden(first + d, r))[..units].CopyTo(values.AsSpan((d * batch + r) * units, units));
        return values;
    }

    /// <summary>Within 1e-5 relative to the tensor's scale (max |a − b| ≤ 1e-5·max |b|: two float32 implementations
    /// differ by rounding, which near zero is no smaller than it is at the scale), and within the project's per-element
    /// metric (<see cref="Close"/>).</summary>
    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Max(v => Math.Abs(v)), worst = 0;
        int index = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs((double)actual[i] - expected[i]) / scale;
            if (!(error <= worst))
                (worst, index) = (double.IsNaN(error) ? double.PositiveInfinity : error, i);
        }
        Assert.True(worst <= Tolerance, $"{what}: element {index} is {(index >= 0 ? actual[index] : float.NaN)}, FastRnn gives {(index >= 0 ? expected[index] : float.NaN)} (error {worst:E2} of the scale {scale:E2} > {Tolerance:E0})");
        Close.Assert(expected, actual, what);
    }
}
