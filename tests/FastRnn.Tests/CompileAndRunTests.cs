using System.Reflection;
using FastRnn.Kernels;
using Xunit;
using static FastRnn.Tests.ScalarReference;

namespace FastRnn.Tests;

/// <summary>
/// Builds many models in memory through the generator (several per assembly; file-scoped, block and nested
/// namespaces; a model inside another type; the global namespace), loads them, and checks each against the scalar
/// reference: outputs and loss, and every gradient against central finite differences of the reference in double.
/// </summary>
public class CompileAndRunTests
{
    private sealed record Case(string Name, string Attributes, Spec Spec, int Batch, int Steps);

    private static (Cell, int, int, int)[] L(params (Cell Cell, int Hidden, int Group, int K)[] layers) => layers;

    private static readonly Case[] s_cases =
    [
        new("A1", "DenseInput(3), Lstm(5), Head(2), Loss(LossKind.MeanSquaredError)",
            new(false, 0, 3, L((Cell.Lstm, 5, 0, 0)), 2, "Linear", true, "MeanSquaredError"), 2, 4),
        new("A2", "DenseInput(7), Lstm(16), Head(1, Activation.Sigmoid, Readout = Readout.LastStep), Loss(LossKind.BinaryCrossEntropy)",
            new(false, 0, 7, L((Cell.Lstm, 16, 0, 0)), 1, "Sigmoid", false, "BinaryCrossEntropy"), 5, 3),
        new("A3", "DenseInput(2), Gru(17), Head(4, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)",
            new(false, 0, 2, L((Cell.Gru, 17, 0, 0)), 4, "Softmax", true, "SoftmaxCrossEntropy"), 3, 6),
        new("B1", "TokenInput(11, 6), Gru(9, Variant = GruVariant.ResetBefore), Head(11, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)",
            new(true, 11, 6, L((Cell.GruClassic, 9, 0, 0)), 11, "Softmax", true, "SoftmaxCrossEntropy"), 4, 5),
        new("B2", "DenseInput(4), Lstm(33), Lstm(3), Head(1, Readout = Readout.LastStep), Loss(LossKind.MeanSquaredError)",
            new(false, 0, 4, L((Cell.Lstm, 33, 0, 0), (Cell.Lstm, 3, 1, 0)), 1, "Linear", false, "MeanSquaredError"), 1, 7),
        new("B3", "DenseInput(1), Gru(48, Layers = 2), Head(2, Activation.Sigmoid), Loss(LossKind.MeanSquaredError)",
            new(false, 0, 1, L((Cell.Gru, 48, 0, 0), (Cell.Gru, 48, 0, 1)), 2, "Sigmoid", true, "MeanSquaredError"), 2, 3),
        new("C1", "TokenInput(5, 3), Lstm(1), Head(5, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)",
            new(true, 5, 3, L((Cell.Lstm, 1, 0, 0)), 5, "Softmax", true, "SoftmaxCrossEntropy"), 3, 2),
        new("C2", "DenseInput(9), Gru(31, Layers = 2, Variant = GruVariant.ResetBefore), Lstm(12), Head(3, Readout = Readout.LastStep), Loss(LossKind.MeanSquaredError)",
            new(false, 0, 9, L((Cell.GruClassic, 31, 0, 0), (Cell.GruClassic, 31, 0, 1), (Cell.Lstm, 12, 1, 0)), 3, "Linear", false, "MeanSquaredError"), 3, 4),
        new("D1", "DenseInput(5), Lstm(65), Head(2), Loss(LossKind.MeanSquaredError)",
            new(false, 0, 5, L((Cell.Lstm, 65, 0, 0)), 2, "Linear", true, "MeanSquaredError"), 1, 2),
        new("D2", "DenseInput(3), Gru(24), Gru(24, Variant = GruVariant.ResetBefore), Head(2, Activation.Sigmoid), Loss(LossKind.BinaryCrossEntropy)",
            new(false, 0, 3, L((Cell.Gru, 24, 0, 0), (Cell.GruClassic, 24, 1, 0)), 2, "Sigmoid", true, "BinaryCrossEntropy"), 5, 2),
        // E: dropout sites (the masks the pass drew are replayed in the reference and its finite differences)
        new("E1", "TokenInput(13, 5, EmbeddingDropout = 0.2), Lstm(10, Layers = 2, Dropout = 0.3), Head(13, Activation.Softmax, LockedDropout = 0.4), Loss(LossKind.SoftmaxCrossEntropy)",
            new(true, 13, 5, L((Cell.Lstm, 10, 0, 0), (Cell.Lstm, 10, 0, 1)), 13, "Softmax", true, "SoftmaxCrossEntropy"), 3, 4),
        new("E2", "DenseInput(4), Gru(18, LockedDropout = 0.25), Gru(7, Variant = GruVariant.ResetBefore, Dropout = 0.5), Head(2, Readout = Readout.LastStep, Dropout = 0.3), Loss(LossKind.MeanSquaredError)",
            new(false, 0, 4, L((Cell.Gru, 18, 0, 0), (Cell.GruClassic, 7, 1, 0)), 2, "Linear", false, "MeanSquaredError"), 4, 3),
        new("E3", "DenseInput(20), Lstm(33, Dropout = 0.1), Head(1, Activation.Sigmoid, Readout = Readout.LastStep), Loss(LossKind.BinaryCrossEntropy)",
            new(false, 0, 20, L((Cell.Lstm, 33, 0, 0)), 1, "Sigmoid", false, "BinaryCrossEntropy"), 2, 5),
        new("E4", "TokenInput(9, 4), Lstm(20, Layers = 2, RecurrentDropout = 0.3), Head(9, Activation.Softmax, Dropout = 0.2), Loss(LossKind.SoftmaxCrossEntropy)",
            new(true, 9, 4, L((Cell.Lstm, 20, 0, 0), (Cell.Lstm, 20, 0, 1)), 9, "Softmax", true, "SoftmaxCrossEntropy"), 3, 5),
        new("E5", "DenseInput(3), Gru(17, RecurrentDropout = 0.4, Dropout = 0.1), Gru(12, Variant = GruVariant.ResetBefore, RecurrentDropout = 0.25), Head(2), Loss(LossKind.MeanSquaredError)",
            new(false, 0, 3, L((Cell.Gru, 17, 0, 0), (Cell.GruClassic, 12, 1, 0)), 2, "Linear", true, "MeanSquaredError"), 4, 6),
        new("E6", "DenseInput(4), Lstm(18, Zoneout = 0.3, CellZoneout = 0.2), Lstm(9, CellZoneout = 0.4, RecurrentDropout = 0.2), Head(3, Activation.Softmax, Readout = Readout.LastStep), Loss(LossKind.SoftmaxCrossEntropy)",
            new(false, 0, 4, L((Cell.Lstm, 18, 0, 0), (Cell.Lstm, 9, 1, 0)), 3, "Softmax", false, "SoftmaxCrossEntropy"), 3, 6),
        new("E7", "TokenInput(7, 5), Gru(20, Zoneout = 0.25), Gru(33, Variant = GruVariant.ResetBefore, Zoneout = 0.5, Dropout = 0.2), Lstm(6, Zoneout = 0.1), Head(7, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)",
            new(true, 7, 5, L((Cell.Gru, 20, 0, 0), (Cell.GruClassic, 33, 1, 0), (Cell.Lstm, 6, 2, 0)), 7, "Softmax", true, "SoftmaxCrossEntropy"), 2, 5),
        new("E8", "DenseInput(3), Lstm(20, WeightDrop = 0.4), Gru(12, WeightDrop = 0.3, RecurrentDropout = 0.2), Gru(9, Variant = GruVariant.ResetBefore, WeightDrop = 0.5, Zoneout = 0.2), Head(2), Loss(LossKind.MeanSquaredError)",
            new(false, 0, 3, L((Cell.Lstm, 20, 0, 0), (Cell.Gru, 12, 1, 0), (Cell.GruClassic, 9, 2, 0)), 2, "Linear", true, "MeanSquaredError"), 3, 4),
        new("E9", "TokenInput(11, 6, EmbeddingDropout = 0.1), Lstm(14, Dropout = 0.2), Lstm(10), Head(11, Activation.Softmax, LockedDropout = 0.3, ActivationRegularization = 2, TemporalActivationRegularization = 1), Loss(LossKind.SoftmaxCrossEntropy)",
            new(true, 11, 6, L((Cell.Lstm, 14, 0, 0), (Cell.Lstm, 10, 1, 0)), 11, "Softmax", true, "SoftmaxCrossEntropy", Ar: 2, Tar: 1), 3, 5),
        new("E10", "DenseInput(2), Gru(21, Variant = GruVariant.ResetBefore), Head(1, Activation.Sigmoid, TemporalActivationRegularization = 3), Loss(LossKind.BinaryCrossEntropy)",
            new(false, 0, 2, L((Cell.GruClassic, 21, 0, 0)), 1, "Sigmoid", true, "BinaryCrossEntropy", Tar: 3), 2, 6),
        new("E11", "DenseInput(5), Lstm(19, CandidateDropout = 0.3, CellZoneout = 0.2, Zoneout = 0.1), Lstm(6, CandidateDropout = 0.4, RecurrentDropout = 0.2), Head(2), Loss(LossKind.MeanSquaredError)",
            new(false, 0, 5, L((Cell.Lstm, 19, 0, 0), (Cell.Lstm, 6, 1, 0)), 2, "Linear", true, "MeanSquaredError"), 3, 5),
        new("E12", "TokenInput(8, 4), Gru(17, CandidateDropout = 0.35, Zoneout = 0.2), Gru(11, Variant = GruVariant.ResetBefore, CandidateDropout = 0.25, WeightDrop = 0.2), Head(8, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)",
            new(true, 8, 4, L((Cell.Gru, 17, 0, 0), (Cell.GruClassic, 11, 1, 0)), 8, "Softmax", true, "SoftmaxCrossEntropy"), 3, 4),
        // F: layer-normalized cells (Ba et al.), alone, stacked, across padded blocks, and with the mask techniques
        new("F1", "DenseInput(3), Lstm(5, LayerNorm = true), Head(2), Loss(LossKind.MeanSquaredError)",
            new(false, 0, 3, L((Cell.Lstm, 5, 0, 0)), 2, "Linear", true, "MeanSquaredError"), 2, 4),
        new("F2", "TokenInput(9, 4), Gru(17, LayerNorm = true, Dropout = 0.2), Lstm(16, LayerNorm = true, Zoneout = 0.2, CellZoneout = 0.3), Head(9, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)",
            new(true, 9, 4, L((Cell.Gru, 17, 0, 0), (Cell.Lstm, 16, 1, 0)), 9, "Softmax", true, "SoftmaxCrossEntropy"), 3, 4),
        new("F3", "DenseInput(4), Lstm(20, LayerNorm = true, RecurrentDropout = 0.3, CandidateDropout = 0.2), Gru(12, LayerNorm = true, WeightDrop = 0.3, Zoneout = 0.2), Head(1, Activation.Sigmoid, Readout = Readout.LastStep), Loss(LossKind.BinaryCrossEntropy)",
            new(false, 0, 4, L((Cell.Lstm, 20, 0, 0), (Cell.Gru, 12, 1, 0)), 1, "Sigmoid", false, "BinaryCrossEntropy"), 3, 5),
        new("F4", "DenseInput(2), Lstm(33, Layers = 2, LayerNorm = true, WeightDrop = 0.2), Gru(7, LayerNorm = true, CandidateDropout = 0.3, RecurrentDropout = 0.2), Head(2), Loss(LossKind.MeanSquaredError)",
            new(false, 0, 2, L((Cell.Lstm, 33, 0, 0), (Cell.Lstm, 33, 0, 1), (Cell.Gru, 7, 1, 0)), 2, "Linear", true, "MeanSquaredError"), 2, 3),
        // G: batch normalization between layers (over batch × time), on the top layer too, with dropout and AR/TAR around it
        new("G1", "DenseInput(3), Lstm(5, BatchNorm = true), Head(2), Loss(LossKind.MeanSquaredError)",
            new(false, 0, 3, L((Cell.Lstm, 5, 0, 0)), 2, "Linear", true, "MeanSquaredError"), 3, 4),
        new("G2", "TokenInput(9, 4), Gru(17, BatchNorm = true), Lstm(16, Dropout = 0.2, LayerNorm = true, BatchNorm = true), Head(9, Activation.Softmax, Dropout = 0.3, ActivationRegularization = 1, TemporalActivationRegularization = 2), Loss(LossKind.SoftmaxCrossEntropy)",
            new(true, 9, 4, L((Cell.Gru, 17, 0, 0), (Cell.Lstm, 16, 1, 0)), 9, "Softmax", true, "SoftmaxCrossEntropy", Ar: 1, Tar: 2), 3, 4),
        new("G3", "DenseInput(4), Lstm(33, Layers = 2, BatchNorm = true), Gru(7, Variant = GruVariant.ResetBefore), Head(1, Activation.Sigmoid, Readout = Readout.LastStep), Loss(LossKind.BinaryCrossEntropy)",
            new(false, 0, 4, L((Cell.Lstm, 33, 0, 0), (Cell.Lstm, 33, 0, 1), (Cell.GruClassic, 7, 1, 0)), 1, "Sigmoid", false, "BinaryCrossEntropy"), 4, 3),
        new("G4", "DenseInput(2), Gru(20, BatchNorm = true), Head(3, Readout = Readout.LastStep), Loss(LossKind.MeanSquaredError)",
            new(false, 0, 2, L((Cell.Gru, 20, 0, 0)), 3, "Linear", false, "MeanSquaredError"), 5, 2),
        // H: recurrent batch normalization (Cooijmans et al.), per-step statistics over the batch, alone and with masks
        new("H1", "DenseInput(3), Lstm(5, RecurrentBatchNorm = true, MaxSteps = 4), Head(2), Loss(LossKind.MeanSquaredError)",
            new(false, 0, 3, L((Cell.Lstm, 5, 0, 0)), 2, "Linear", true, "MeanSquaredError"), 3, 4),
        new("H2", "TokenInput(9, 4), Gru(17, RecurrentBatchNorm = true, MaxSteps = 2, Dropout = 0.2), Lstm(16, RecurrentBatchNorm = true, MaxSteps = 8, Zoneout = 0.2, CellZoneout = 0.3, BatchNorm = true), Head(9, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)",
            new(true, 9, 4, L((Cell.Gru, 17, 0, 0), (Cell.Lstm, 16, 1, 0)), 9, "Softmax", true, "SoftmaxCrossEntropy"), 3, 4),
        new("H3", "DenseInput(4), Lstm(33, RecurrentBatchNorm = true, MaxSteps = 3, RecurrentDropout = 0.3, CandidateDropout = 0.2, WeightDrop = 0.2), Gru(12, RecurrentBatchNorm = true, MaxSteps = 5, Zoneout = 0.2), Head(1, Activation.Sigmoid, Readout = Readout.LastStep), Loss(LossKind.BinaryCrossEntropy)",
            new(false, 0, 4, L((Cell.Lstm, 33, 0, 0), (Cell.Gru, 12, 1, 0)), 1, "Sigmoid", false, "BinaryCrossEntropy"), 4, 5),
        // I: bidirectional layers (each two layers of the engine: forward, then reverse), every-step and last-step heads,
        // stacked and mixed, with the techniques that act per direction
        new("I1", "DenseInput(3), Lstm(5, Bidirectional = true), Head(2), Loss(LossKind.MeanSquaredError)",
            new(false, 0, 3, L((Cell.Lstm, 5, 0, 0), (Cell.Lstm, 5, 0, 0)), 2, "Linear", true, "MeanSquaredError", ReverseLayers: [1]), 2, 4),
        new("I2", "TokenInput(9, 4), Gru(17, Layers = 2, Bidirectional = true, Dropout = 0.2, RecurrentDropout = 0.3), Head(9, Activation.Softmax, Readout = Readout.LastStep, LockedDropout = 0.3), Loss(LossKind.SoftmaxCrossEntropy)",
            new(true, 9, 4, L((Cell.Gru, 17, 0, 0), (Cell.Gru, 17, 0, 0), (Cell.Gru, 17, 0, 1), (Cell.Gru, 17, 0, 1)), 9, "Softmax", false, "SoftmaxCrossEntropy", ReverseLayers: [1, 3]), 3, 5),
        new("I3", "DenseInput(4), Lstm(12, Bidirectional = true, Zoneout = 0.2, CellZoneout = 0.3, WeightDrop = 0.3, CandidateDropout = 0.2, LockedDropout = 0.2), Gru(7, Variant = GruVariant.ResetBefore, Bidirectional = true, Zoneout = 0.3), Head(2, Activation.Sigmoid, ActivationRegularization = 1, TemporalActivationRegularization = 2), Loss(LossKind.BinaryCrossEntropy)",
            new(false, 0, 4, L((Cell.Lstm, 12, 0, 0), (Cell.Lstm, 12, 0, 0), (Cell.GruClassic, 7, 1, 0), (Cell.GruClassic, 7, 1, 0)), 2, "Sigmoid", true, "BinaryCrossEntropy", Ar: 1, Tar: 2, ReverseLayers: [1, 3]), 3, 4),
        new("I4", "DenseInput(2), Gru(16, Bidirectional = true, WeightDrop = 0.2), Lstm(9, BatchNorm = true), Gru(6, Bidirectional = true), Head(3, Readout = Readout.LastStep), Loss(LossKind.MeanSquaredError)",
            new(false, 0, 2, L((Cell.Gru, 16, 0, 0), (Cell.Gru, 16, 0, 0), (Cell.Lstm, 9, 1, 0), (Cell.Gru, 6, 2, 0), (Cell.Gru, 6, 2, 0)), 3, "Linear", false, "MeanSquaredError", ReverseLayers: [1, 4]), 4, 3),
        // J: LSTM projections (h = W_hr·(o⊙tanh c)), alone, stacked with the techniques a projected layer takes, and bidirectional
        // normalized cells per direction: layer norm, and recurrent batch norm with statistics per step of each direction
        new("I5", "DenseInput(4), Lstm(9, Bidirectional = true, LayerNorm = true, RecurrentDropout = 0.2), Gru(7, Bidirectional = true, LayerNorm = true), Head(2, Activation.Sigmoid), Loss(LossKind.BinaryCrossEntropy)",
            new(false, 0, 4, L((Cell.Lstm, 9, 0, 0), (Cell.Lstm, 9, 0, 0), (Cell.Gru, 7, 1, 0), (Cell.Gru, 7, 1, 0)), 2, "Sigmoid", true, "BinaryCrossEntropy", ReverseLayers: [1, 3]), 3, 4),
        new("I6", "TokenInput(9, 4), Lstm(12, Bidirectional = true, RecurrentBatchNorm = true, MaxSteps = 3, Zoneout = 0.2), Head(9, Activation.Softmax, Readout = Readout.LastStep), Loss(LossKind.SoftmaxCrossEntropy)",
            new(true, 9, 4, L((Cell.Lstm, 12, 0, 0), (Cell.Lstm, 12, 0, 0)), 9, "Softmax", false, "SoftmaxCrossEntropy", ReverseLayers: [1]), 4, 5),
        new("J1", "DenseInput(3), Lstm(10, Projection = 4), Head(2), Loss(LossKind.MeanSquaredError)",
            new(false, 0, 3, L((Cell.Lstm, 10, 0, 0)), 2, "Linear", true, "MeanSquaredError", Projections: [4]), 2, 4),
        new("J2", "TokenInput(9, 4), Lstm(12, Layers = 2, Projection = 5, Dropout = 0.2, CellZoneout = 0.3, CandidateDropout = 0.2, WeightDrop = 0.3), Head(9, Activation.Softmax, LockedDropout = 0.3, ActivationRegularization = 1, TemporalActivationRegularization = 2), Loss(LossKind.SoftmaxCrossEntropy)",
            new(true, 9, 4, L((Cell.Lstm, 12, 0, 0), (Cell.Lstm, 12, 0, 1)), 9, "Softmax", true, "SoftmaxCrossEntropy", Ar: 1, Tar: 2, Projections: [5, 5]), 3, 4),
        new("J3", "DenseInput(4), Lstm(16, Bidirectional = true, Projection = 6, WeightDrop = 0.2), Gru(5), Head(3, Readout = Readout.LastStep), Loss(LossKind.MeanSquaredError)",
            new(false, 0, 4, L((Cell.Lstm, 16, 0, 0), (Cell.Lstm, 16, 0, 0), (Cell.Gru, 5, 1, 0)), 3, "Linear", false, "MeanSquaredError", ReverseLayers: [1], Projections: [6, 6, 0]), 3, 4),
    ];

    /// <summary>The dropout sites each E case must have drawn (each with kept and dropped elements).</summary>
    private static readonly Dictionary<string, string[]> s_sites = new()
    {
        ["E1"] = ["embedding.rows", "layer0.input", "layer1.input", "head.input"],
        ["E2"] = ["layer0.input", "layer1.input", "head.input"],
        ["E3"] = ["layer0.input"],
        ["E4"] = ["layer0.recurrent", "layer1.recurrent", "head.input"],
        ["E5"] = ["layer0.input", "layer0.recurrent", "layer1.recurrent"],
        ["E6"] = ["layer0.zoneout", "layer0.cellzoneout", "layer1.cellzoneout", "layer1.recurrent"],
        ["E7"] = ["layer0.zoneout", "layer1.zoneout", "layer1.input", "layer2.zoneout"],
        ["E8"] = ["layer0.weight_hh", "layer1.weight_hh", "layer1.recurrent", "layer2.weight_hh", "layer2.zoneout"],
        ["E9"] = ["embedding.rows", "layer0.input", "head.input"],
        ["E11"] = ["layer0.candidate", "layer0.cellzoneout", "layer0.zoneout", "layer1.candidate", "layer1.recurrent"],
        ["E12"] = ["layer0.candidate", "layer0.zoneout", "layer1.candidate", "layer1.weight_hh"],
        ["F2"] = ["layer0.input", "layer1.zoneout", "layer1.cellzoneout"],
        ["F3"] = ["layer0.recurrent", "layer0.candidate", "layer1.weight_hh", "layer1.zoneout"],
        ["F4"] = ["layer0.weight_hh", "layer1.weight_hh", "layer2.candidate", "layer2.recurrent"],
        ["G2"] = ["layer1.input", "head.input"],
        ["H2"] = ["layer0.input", "layer1.zoneout", "layer1.cellzoneout"],
        ["H3"] = ["layer0.recurrent", "layer0.candidate", "layer0.weight_hh", "layer1.zoneout"],
        // a reverse direction draws its own masks (its layer index), and reads its forward direction's dropped input
        ["I5"] = ["layer0.recurrent", "layer1.recurrent"],
        ["I6"] = ["layer0.zoneout", "layer1.zoneout"],
        ["I2"] = ["layer0.input", "layer0.recurrent", "layer1.recurrent", "layer2.input", "layer2.recurrent", "layer3.recurrent", "head.input"],
        ["I3"] = ["layer0.input", "layer0.zoneout", "layer0.cellzoneout", "layer0.weight_hh", "layer0.candidate",
            "layer1.zoneout", "layer1.cellzoneout", "layer1.weight_hh", "layer1.candidate", "layer2.zoneout", "layer3.zoneout"],
        ["I4"] = ["layer0.weight_hh", "layer1.weight_hh"],
        ["J2"] = ["layer0.input", "layer0.cellzoneout", "layer0.candidate", "layer0.weight_hh", "layer1.input", "layer1.cellzoneout",
            "layer1.candidate", "layer1.weight_hh", "head.input"],
        ["J3"] = ["layer0.weight_hh", "layer1.weight_hh"],
    };

    // A: file-scoped namespace; B: nested block namespaces with the models inside partial types; C: global namespace;
    // D: a block namespace. Several models per file and four files in one assembly.
    private static readonly Lazy<Assembly> s_assembly = new(() => GeneratorHarness.CompileAndLoad(
        "using FastRnn;\nnamespace Shapes.A;\n" + string.Join("\n", s_cases.Where(c => c.Name[0] == 'A').Select(c => $"[RnnModel, {c.Attributes}] public partial class {c.Name};")),
        "using FastRnn;\nnamespace Shapes { namespace B { public static partial class Holder { internal partial record Inner {\n" +
            string.Join("\n", s_cases.Where(c => c.Name[0] == 'B').Select(c => $"[RnnModel, {c.Attributes}] public partial class {c.Name};")) + "\n} } } }",
        "using FastRnn;\n" + string.Join("\n", s_cases.Where(c => c.Name[0] == 'C').Select(c => $"[RnnModel, {c.Attributes}] internal partial class {c.Name};")),
        "namespace Shapes.D {\n" + string.Join("\n", s_cases.Where(c => c.Name[0] == 'D').Select(c => $"[global::FastRnn.RnnModel, global::FastRnn.{c.Attributes.Replace("), ", "), global::FastRnn.").Replace("(LossKind", "(global::FastRnn.LossKind").Replace("Activation.", "global::FastRnn.Activation.").Replace("GruVariant.", "global::FastRnn.GruVariant.").Replace("Readout.", "global::FastRnn.Readout.")}] public partial class {c.Name};")) + "\n}",
        "using FastRnn;\nnamespace Shapes.E;\n" + string.Join("\n", s_cases.Where(c => c.Name[0] == 'E').Select(c => $"[RnnModel, {c.Attributes}] public partial class {c.Name};")),
        "using FastRnn;\nnamespace Shapes.F;\n" + string.Join("\n", s_cases.Where(c => c.Name[0] == 'F').Select(c => $"[RnnModel, {c.Attributes}] public partial class {c.Name};")),
        "using FastRnn;\nnamespace Shapes.G;\n" + string.Join("\n", s_cases.Where(c => c.Name[0] == 'G').Select(c => $"[RnnModel, {c.Attributes}] public partial class {c.Name};")),
        "using FastRnn;\nnamespace Shapes.H;\n" + string.Join("\n", s_cases.Where(c => c.Name[0] == 'H').Select(c => $"[RnnModel, {c.Attributes}] public partial class {c.Name};")),
        "using FastRnn;\nnamespace Shapes.I;\n" + string.Join("\n", s_cases.Where(c => c.Name[0] == 'I').Select(c => $"[RnnModel, {c.Attributes}] public partial class {c.Name};")),
        "using FastRnn;\nnamespace Shapes.J;\n" + string.Join("\n", s_cases.Where(c => c.Name[0] == 'J').Select(c => $"[RnnModel, {c.Attributes}] public partial class {c.Name};"))));

    public static TheoryData<string, bool> Names()
    {
        var data = new TheoryData<string, bool>();
        foreach (var c in s_cases)
        {
            data.Add(c.Name, false);
            data.Add(c.Name, true);
        }
        return data;
    }

    private static Type TypeOf(string name)
    {
        var type = s_assembly.Value.GetTypes().SingleOrDefault(t => t.Name == name);
        Assert.True(type is not null, $"model {name} was not generated");
        return type!;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void MatchesScalarReferenceAndFiniteDifferences(string name, bool wide)
    {
        var c = s_cases.Single(x => x.Name == name);
        ISequenceModel model;
        using (VectorPath.Override(wide))
            model = (ISequenceModel)Activator.CreateInstance(TypeOf(name), c.Batch + 1, c.Steps + 2, 77UL)!;
        var masks = CheckAgainstReference(model, c.Spec, c.Batch, c.Steps, name);
        Assert.Equal(s_sites.GetValueOrDefault(name, []).Order(), masks.Keys.Order());
        foreach (var (site, mask) in masks)
            Assert.True(mask.Contains(0f) && (site.Contains("zoneout") ? mask.Contains(1f) : mask.Any(v => v > 1f)),
                $"{name}: the {site} mask should keep some and drop some");
    }

    /// <summary>One training pass of <paramref name="model"/> on random data against the scalar reference (outputs, loss)
    /// and, unless <paramref name="gradients"/> is false, every gradient against central finite differences of the
    /// reference, with the pass's masks replayed. Returns the masks.</summary>
    internal static IReadOnlyDictionary<string, float[]> CheckAgainstReference(ISequenceModel model, Spec spec, int batch, int steps, string name,
        bool gradients = true)
    {
        // Seeded from the name by a fixed function (string.GetHashCode differs between processes), so a run repeats.
        var random = new Random(name.Aggregate(17, (hash, ch) => unchecked(hash * 31 + ch)) & 0xFFFF);
        int rows = spec.EveryStep ? batch * steps : batch;
        var dense = Enumerable.Range(0, steps * batch * spec.InputSize).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var tokens = Enumerable.Range(0, steps * batch).Select(_ => random.Next(Math.Max(1, spec.Vocabulary))).ToArray();
        var floatTargets = Enumerable.Range(0, rows * spec.Outputs)
            .Select(_ => spec.Loss == "BinaryCrossEntropy" ? random.Next(2) : (float)random.NextDouble()).ToArray();
        var classTargets = Enumerable.Range(0, rows).Select(_ => random.Next(spec.Outputs)).ToArray();
        // Normalization gains and biases start at 1 and 0, where one mixed up with another would not show: move them.
        foreach (var tensor in model.Tensors.Where(t => t.Role is ParameterRole.NormGain or ParameterRole.NormBias))
            tensor.Import(Enumerable.Range(0, tensor.Count)
                .Select(_ => (float)(tensor.Role == ParameterRole.NormGain ? 0.5 + random.NextDouble() : 0.6 * random.NextDouble() - 0.3)).ToArray(),
                model.Parameters);

        if (model.TakesTokens) model.ForwardTokens(tokens, batch, steps);
        else model.ForwardDense(dense, batch, steps);
        float loss = model.ClassTargets ? model.LossClasses(classTargets) : model.LossDense(floatTargets);
        model.ZeroGrad();
        model.Backward();

        var masks = model.ExportMasks();
        var reference = new ScalarReference(spec, model) { Masks = masks };
        double expectedLoss = reference.Loss(dense, tokens, batch, steps, floatTargets, classTargets, out var expectedOutputs);
        var outputs = new float[expectedOutputs.Length];
        model.CopyOutputs(outputs);
        Close.Assert(expectedOutputs.Select(v => (float)v).ToArray(), outputs, $"{name}: outputs");
        Close.Assert(new[] { (float)expectedLoss }, new[] { loss }, $"{name}: loss");
        if (!gradients)
            return masks;

        // Central differences of the double-precision reference, Richardson-extrapolated from steps h and h/2 so the
        // truncation error is O(h⁴): a plain central difference at h = 1e-4 was measured off by 0.5% on a layer-normalized
        // LSTM, whose loss bends sharply (normalizing a row of small spread), while the engine was right. With h = 1e-5
        // the rounding of the double loss contributes ~1e-10. The comparison thus measures the engine's float32 gradient
        // (tolerance 1e-3 in the same metric).
        const double H = 1e-5;
        float modelScale = Math.Abs(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(model.Gradients)); // the element of largest magnitude, signed
        foreach (var tensor in model.Tensors)
        {
            var analytic = new float[tensor.Count];
            tensor.Export(model.Gradients, analytic);
            int samples = Math.Min(tensor.Count, 24);
            var indices = Enumerable.Range(0, samples).Select(i => (int)((long)i * tensor.Count / samples)).ToArray();
            var numeric = new float[samples];
            var picked = new float[samples];
            double[] values = reference[tensor.Name];
            double Central(int i, double h)
            {
                double saved = values[i];
                values[i] = saved + h;
                double plus = reference.Loss(dense, tokens, batch, steps, floatTargets, classTargets, out _);
                values[i] = saved - h;
                double minus = reference.Loss(dense, tokens, batch, steps, floatTargets, classTargets, out _);
                values[i] = saved;
                return (plus - minus) / (2 * h);
            }
            for (int s = 0; s < samples; s++)
            {
                int i = indices[s];
                numeric[s] = (float)((4 * Central(i, H / 2) - Central(i, H)) / 3);
                picked[s] = analytic[i];
            }
            double scale = analytic.Max(v => Math.Abs(v));
            // What the double-precision differences themselves resolve: each loss carries a rounding of ε·|loss|, so the
            // extrapolated difference (4·C(H/2) − C(H))/3 is uncertain by about 4ε·|loss|/H ≈ 2e-10 for a loss of 2. It
            // only matters for a tensor whose whole gradient is tiny: ProjLstm_HeadLockedDropout_ActivationRegularization's
            // weight_hh_l0 (largest element 2e-5) had an element of −3.380e-8 at 512 bits against −3.392e-8 from the
            // differences, an error of 1.2e-10 (measured 2026-11-30; 256 bits within the metric).
            double resolution = 4 * 2.220446049250313e-16 * Math.Abs(expectedLoss) / H;
            for (int s = 0; s < samples; s++)
            {
                double error = Math.Max(0, Math.Abs(picked[s] - numeric[s]) - resolution) / (Math.Abs(numeric[s]) + 1e-3 * scale + 1e-12);
                // A gradient that is 0 by symmetry (a bias that a later batch normalization removes): the differences
                // give 0 to within their rounding (ε·|loss|/h ≈ 1e-10), the engine the float32 residue of a sum that
                // cancels, which must be tiny beside the model's gradients.
                bool zero = Math.Abs(numeric[s]) <= 1e-9 && Math.Abs(picked[s]) <= 1e-6 * modelScale;
                Assert.True(error <= 1e-3 || zero,
                    $"{name}: ∂{tensor.Name}[{indices[s]}] is {picked[s]:R}, finite differences give {numeric[s]:R} (error {error:E2})");
            }
        }
        PyTorchFixtureTests.AssertPaddingZero(model, model.Gradients);
        return masks;
    }

    [Fact]
    public void EveryCaseCompiledWarningFree()
    {
        // CompileAndLoad fails on any warning (as TreatWarningsAsErrors would); here every model must also be present.
        foreach (var c in s_cases)
            Assert.True(typeof(ISequenceModel).IsAssignableFrom(TypeOf(c.Name)));
        Assert.Contains(s_assembly.Value.GetTypes(), t => t.Name == "B1" && t.DeclaringType?.Name == "Inner");
        Assert.Contains(s_assembly.Value.GetTypes(), t => t.Name == "C1" && t.Namespace is null);
    }
}
