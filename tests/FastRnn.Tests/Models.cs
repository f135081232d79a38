using FastRnn;

namespace FastRnn.Tests;

// The models the tests compile through the generator. Their names and shapes match tools/make_fixtures.py's CASES.

[RnnModel, DenseInput(5), Lstm(8), Head(3), Loss(LossKind.MeanSquaredError)]
public partial class LstmSmall;

[RnnModel, DenseInput(4), Lstm(37, Layers = 2), Head(1, Activation.Sigmoid, Readout = Readout.LastStep), Loss(LossKind.BinaryCrossEntropy)]
public partial class Lstm37x2;

[RnnModel, TokenInput(20, 16), Lstm(64), Lstm(37), Lstm(8), Head(20, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]
public partial class LstmStack3;

[RnnModel, DenseInput(16), Lstm(256), Head(4), Loss(LossKind.MeanSquaredError)]
public partial class Lstm256;

[RnnModel, DenseInput(5), Gru(8), Head(3), Loss(LossKind.MeanSquaredError)]
public partial class GruSmall;

[RnnModel, DenseInput(4), Gru(37, Layers = 2), Head(1, Activation.Sigmoid, Readout = Readout.LastStep), Loss(LossKind.BinaryCrossEntropy)]
public partial class Gru37x2;

[RnnModel, TokenInput(20, 16), Gru(64), Head(20, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]
public partial class GruTokens;

[RnnModel, DenseInput(16), Gru(256), Head(4, Activation.Sigmoid, Readout = Readout.LastStep), Loss(LossKind.MeanSquaredError)]
public partial class Gru256;

[RnnModel, DenseInput(5), Gru(8, Variant = GruVariant.ResetBefore), Head(3), Loss(LossKind.MeanSquaredError)]
public partial class GruClassicSmall;

[RnnModel, DenseInput(4), Gru(37, Layers = 3, Variant = GruVariant.ResetBefore), Head(2, Activation.Softmax, Readout = Readout.LastStep), Loss(LossKind.SoftmaxCrossEntropy)]
public partial class GruClassic37x3;

[RnnModel, DenseInput(16), Gru(256, Variant = GruVariant.ResetBefore), Head(4), Loss(LossKind.MeanSquaredError)]
public partial class GruClassic256;

[RnnModel, DenseInput(6), Lstm(37), Gru(64), Gru(8, Variant = GruVariant.ResetBefore), Head(3), Loss(LossKind.MeanSquaredError)]
public partial class Mixed;

// Bidirectional layers (tools/make_fixtures.py BIDIRECTIONAL_CASES); a "…Lengths" fixture runs the same model with
// per-row lengths.
[RnnModel, DenseInput(5), Lstm(8, Bidirectional = true), Head(3), Loss(LossKind.MeanSquaredError)]
public partial class BiLstm;

[RnnModel, DenseInput(4), Gru(13, Layers = 2, Bidirectional = true), Head(1, Activation.Sigmoid, Readout = Readout.LastStep), Loss(LossKind.BinaryCrossEntropy)]
public partial class BiGru2;

[RnnModel, DenseInput(6), Gru(10, Layers = 3, Variant = GruVariant.ResetBefore, Bidirectional = true), Head(2, Activation.Softmax, Readout = Readout.LastStep), Loss(LossKind.SoftmaxCrossEntropy)]
public partial class BiClassic3;

[RnnModel, TokenInput(20, 16), Lstm(24, Bidirectional = true), Gru(20), Gru(9, Variant = GruVariant.ResetBefore, Bidirectional = true), Head(20, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]
public partial class BiMixed;

[RnnModel, DenseInput(4), Lstm(37, Layers = 2, Bidirectional = true), Head(2, Readout = Readout.LastStep), Loss(LossKind.MeanSquaredError)]
public partial class BiLstm37x2Last;

[RnnModel, DenseInput(6), Lstm(12, Bidirectional = true, RecurrentInit = Initialization.Orthogonal, UnitForgetBias = true), Head(1), Loss(LossKind.MeanSquaredError)]
public partial class BiInitialized;

// LSTM projections (PyTorch proj_size; tools/make_fixtures.py PROJECTION_CASES).
[RnnModel, DenseInput(5), Lstm(12, Layers = 2, Projection = 6), Head(3), Loss(LossKind.MeanSquaredError)]
public partial class LstmProj;

[RnnModel, DenseInput(4), Lstm(16, Bidirectional = true, Projection = 5), Gru(8), Head(2, Activation.Softmax, Readout = Readout.LastStep), Loss(LossKind.SoftmaxCrossEntropy)]
public partial class BiLstmProj;

[RnnModel, TokenInput(20, 16), Lstm(40, Projection = 24), Head(20, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]
public partial class LstmProjTokens;

public static class TestModels
{
    public static ISequenceModel Create(string name, int batch, int steps, ulong seed = 0) => name switch
    {
        nameof(LstmSmall) => new LstmSmall(batch, steps, seed),
        nameof(Lstm37x2) => new Lstm37x2(batch, steps, seed),
        nameof(LstmStack3) => new LstmStack3(batch, steps, seed),
        nameof(Lstm256) => new Lstm256(batch, steps, seed),
        nameof(GruSmall) => new GruSmall(batch, steps, seed),
        nameof(Gru37x2) => new Gru37x2(batch, steps, seed),
        nameof(GruTokens) => new GruTokens(batch, steps, seed),
        nameof(Gru256) => new Gru256(batch, steps, seed),
        nameof(GruClassicSmall) => new GruClassicSmall(batch, steps, seed),
        nameof(GruClassic37x3) => new GruClassic37x3(batch, steps, seed),
        nameof(GruClassic256) => new GruClassic256(batch, steps, seed),
        nameof(Mixed) => new Mixed(batch, steps, seed),
        nameof(DropoutLstm) => new DropoutLstm(batch, steps, seed),
        nameof(DropoutMixed) => new DropoutMixed(batch, steps, seed),
        nameof(RecurrentDropout) => new RecurrentDropout(batch, steps, seed),
        nameof(ZoneoutFixture) => new ZoneoutFixture(batch, steps, seed),
        nameof(WeightDropFixture) => new WeightDropFixture(batch, steps, seed),
        nameof(PenaltyFixture) => new PenaltyFixture(batch, steps, seed),
        nameof(CandidateFixture) => new CandidateFixture(batch, steps, seed),
        nameof(LayerNormFixture) => new LayerNormFixture(batch, steps, seed),
        nameof(LayerNormMasked) => new LayerNormMasked(batch, steps, seed),
        nameof(BatchNormFixture) => new BatchNormFixture(batch, steps, seed),
        nameof(BatchNormLast) => new BatchNormLast(batch, steps, seed),
        nameof(RecurrentBatchNormFixture) => new RecurrentBatchNormFixture(batch, steps, seed),
        nameof(RecurrentBatchNormMasked) => new RecurrentBatchNormMasked(batch, steps, seed),
        nameof(BiLstm) or "BiLstmLengths" => new BiLstm(batch, steps, seed),
        nameof(BiGru2) or "BiGru2Lengths" => new BiGru2(batch, steps, seed),
        nameof(BiClassic3) => new BiClassic3(batch, steps, seed),
        nameof(BiMixed) or "BiMixedLengths" => new BiMixed(batch, steps, seed),
        nameof(BiLstm37x2Last) => new BiLstm37x2Last(batch, steps, seed),
        nameof(LstmProj) => new LstmProj(batch, steps, seed),
        nameof(BiLstmProj) => new BiLstmProj(batch, steps, seed),
        nameof(LstmProjTokens) => new LstmProjTokens(batch, steps, seed),
        _ => throw new ArgumentException($"No test model named {name}."),
    };
}

// Dropout at every feed-forward site, and its twin without any: with the same weights, the two must agree whenever
// no mask is drawn (inference mode, or every rate at 0).
[RnnModel, TokenInput(20, 8, EmbeddingDropout = 0.1), Lstm(16, Layers = 2, Dropout = 0.3, RecurrentDropout = 0.2, WeightDrop = 0.4), Head(20, Activation.Softmax, LockedDropout = 0.5), Loss(LossKind.SoftmaxCrossEntropy)]
public partial class DropoutLm;

[RnnModel, TokenInput(20, 8), Lstm(16, Layers = 2), Head(20, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]
public partial class PlainLm;

[RnnModel, DenseInput(12), Gru(24, LockedDropout = 0.2, RecurrentDropout = 0.3), Head(2, Readout = Readout.LastStep, Dropout = 0.4), Loss(LossKind.MeanSquaredError)]
public partial class DropoutGru;

// PyTorch fixtures with dropout (tools/make_fixtures.py replays these models' masks): one layer per attribute.
[RnnModel, TokenInput(20, 16, EmbeddingDropout = 0.2), Lstm(32, Dropout = 0.3), Lstm(24, LockedDropout = 0.25), Head(20, Activation.Softmax, LockedDropout = 0.4), Loss(LossKind.SoftmaxCrossEntropy)]
public partial class DropoutLstm;

[RnnModel, DenseInput(6), Gru(16, Dropout = 0.5), Gru(37, Variant = GruVariant.ResetBefore, LockedDropout = 0.3), Head(3, Activation.Sigmoid, Readout = Readout.LastStep, Dropout = 0.2), Loss(LossKind.BinaryCrossEntropy)]
public partial class DropoutMixed;

[RnnModel, DenseInput(5), Lstm(24, RecurrentDropout = 0.3), Gru(20, Dropout = 0.2, RecurrentDropout = 0.25), Gru(16, Variant = GruVariant.ResetBefore, RecurrentDropout = 0.4), Head(2), Loss(LossKind.MeanSquaredError)]
public partial class RecurrentDropout;

// Zoneout on h and c (LSTM) and on h (GRU), and the same model without it.
[RnnModel, DenseInput(6), Lstm(20, Zoneout = 0.3, CellZoneout = 0.2), Gru(16, Zoneout = 0.4), Head(2), Loss(LossKind.MeanSquaredError)]
public partial class ZoneoutStack;

[RnnModel, DenseInput(6), Lstm(20), Gru(16), Head(2), Loss(LossKind.MeanSquaredError)]
public partial class ZoneoutTwin;

[RnnModel, DenseInput(5), Lstm(24, Zoneout = 0.3, CellZoneout = 0.15), Gru(20, Zoneout = 0.2), Gru(16, Variant = GruVariant.ResetBefore, Zoneout = 0.4), Head(3, Activation.Sigmoid, Readout = Readout.LastStep, Dropout = 0.1), Loss(LossKind.BinaryCrossEntropy)]
public partial class ZoneoutFixture;

[RnnModel, TokenInput(20, 16), Lstm(32, WeightDrop = 0.5), Gru(24, WeightDrop = 0.3, RecurrentDropout = 0.2), Gru(17, Variant = GruVariant.ResetBefore, WeightDrop = 0.4, Zoneout = 0.25), Head(20, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]
public partial class WeightDropFixture;

[RnnModel, DenseInput(10), Lstm(37, InputInit = Initialization.GlorotUniform, RecurrentInit = Initialization.Orthogonal, UnitForgetBias = true), Gru(20, InputInit = Initialization.KaimingUniform, RecurrentInit = Initialization.Orthogonal), Head(2), Loss(LossKind.MeanSquaredError)]
public partial class InitializedModel;

[RnnModel, TokenInput(20, 16), Lstm(32), Lstm(24, LockedDropout = 0.25), Head(20, Activation.Softmax, LockedDropout = 0.3, ActivationRegularization = 2, TemporalActivationRegularization = 1), Loss(LossKind.SoftmaxCrossEntropy)]
public partial class PenaltyFixture;

[RnnModel, DenseInput(4), Lstm(9), Gru(7), Head(2), Loss(LossKind.MeanSquaredError)]
[Penalty(ParameterGroup.RecurrentKernel, L2 = 0.01), Penalty(ParameterGroup.Bias, L1 = 0.001, L2 = 0.002), Penalty(ParameterGroup.HeadKernel, L1 = 0.003)]
public partial class PenalizedModel;

[RnnModel, TokenInput(12, 6), Lstm(20), Gru(7), Head(3, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]
[Constraint(ParameterGroup.RecurrentKernel, ConstraintKind.MaxNorm, Max = 0.5)]
[Constraint(ParameterGroup.InputKernel, ConstraintKind.MinMaxNorm, Min = 0.2, Max = 0.4, Rate = 0.5, Axis = 1)]
[Constraint(ParameterGroup.Bias, ConstraintKind.UnitNorm)]
[Constraint(ParameterGroup.HeadKernel, ConstraintKind.NonNegative)]
[Constraint(ParameterGroup.Embedding, ConstraintKind.MaxNorm, Max = 0.3, Axis = 1)]
public partial class ConstrainedModel;

[RnnModel, TokenInput(20, 16), Lstm(28, CandidateDropout = 0.3, Zoneout = 0.1), Gru(20, CandidateDropout = 0.25), Gru(12, Variant = GruVariant.ResetBefore, CandidateDropout = 0.4), Head(20, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]
public partial class CandidateFixture;

[RnnModel, TokenInput(10, 8), Lstm(32, Dropout = 0.1), Head(10, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]
public partial class TinyLm;

// Layer-normalized cells against tools/make_fixtures.py's F.layer_norm cells (lnlstm, lngru).
[RnnModel, DenseInput(5), Lstm(24, LayerNorm = true), Gru(20, LayerNorm = true), Head(3), Loss(LossKind.MeanSquaredError)]
public partial class LayerNormFixture;

[RnnModel, TokenInput(20, 16), Lstm(28, LayerNorm = true, Zoneout = 0.2, CellZoneout = 0.15, Dropout = 0.2), Gru(17, LayerNorm = true, RecurrentDropout = 0.25, WeightDrop = 0.3), Head(20, Activation.Softmax, LockedDropout = 0.3), Loss(LossKind.SoftmaxCrossEntropy)]
public partial class LayerNormMasked;

// Batch normalization between layers against tools/make_fixtures.py's nn.BatchNorm1d over batch × time.
[RnnModel, TokenInput(20, 16), Lstm(24, BatchNorm = true), Gru(20, BatchNorm = true), Head(20, Activation.Softmax, TemporalActivationRegularization = 1), Loss(LossKind.SoftmaxCrossEntropy)]
public partial class BatchNormFixture;

[RnnModel, DenseInput(5), Lstm(28, LayerNorm = true, BatchNorm = true), Gru(12, Variant = GruVariant.ResetBefore), Head(2, Activation.Sigmoid, Readout = Readout.LastStep), Loss(LossKind.BinaryCrossEntropy)]
public partial class BatchNormLast;

[RnnModel, TokenInput(20, 8), Lstm(16, BatchNorm = true, Dropout = 0.2), Head(20, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]
public partial class BatchNormLm;

// Recurrent batch normalization against tools/make_fixtures.py's cells written with F.batch_norm per step (T_MAX = 3).
[RnnModel, DenseInput(5), Lstm(24, RecurrentBatchNorm = true, MaxSteps = 3), Gru(20, RecurrentBatchNorm = true, MaxSteps = 3), Head(3), Loss(LossKind.MeanSquaredError)]
public partial class RecurrentBatchNormFixture;

[RnnModel, TokenInput(20, 16), Lstm(28, RecurrentBatchNorm = true, MaxSteps = 3, Zoneout = 0.2, CellZoneout = 0.15, Dropout = 0.2), Gru(17, RecurrentBatchNorm = true, MaxSteps = 3, RecurrentDropout = 0.25, WeightDrop = 0.3), Head(20, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]
public partial class RecurrentBatchNormMasked;
