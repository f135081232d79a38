using FastRnn;

namespace FastRnn.Benchmarks;

// Streaming-step models: I = H, one output.
[RnnModel, DenseInput(128), Lstm(128), Head(1), Loss(LossKind.MeanSquaredError)] public sealed partial class Lstm128;
[RnnModel, DenseInput(256), Lstm(256), Head(1), Loss(LossKind.MeanSquaredError)] public sealed partial class Lstm256;
// The classic GRU (reset before the product) of the same size, for its sequence forward on the pool.
[RnnModel, DenseInput(256), Gru(256, Variant = GruVariant.ResetBefore), Head(1), Loss(LossKind.MeanSquaredError)] public sealed partial class ClassicGru256;
[RnnModel, DenseInput(512), Lstm(512), Head(1), Loss(LossKind.MeanSquaredError)] public sealed partial class Lstm512;
[RnnModel, DenseInput(128), Gru(128), Head(1), Loss(LossKind.MeanSquaredError)] public sealed partial class Gru128;
[RnnModel, DenseInput(256), Gru(256), Head(1), Loss(LossKind.MeanSquaredError)] public sealed partial class Gru256;
[RnnModel, DenseInput(512), Gru(512), Head(1), Loss(LossKind.MeanSquaredError)] public sealed partial class Gru512;

// The character language model of the training benchmark.
[RnnModel, TokenInput(96, 64), Lstm(256), Head(96, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]
public sealed partial class CharLanguageModel;

public static class StepModels
{
    public static ISequenceModel Create(string cell, int hidden) => (cell, hidden) switch
    {
        ("LSTM", 128) => new Lstm128(1, 1),
        ("LSTM", 256) => new Lstm256(1, 1),
        ("LSTM", 512) => new Lstm512(1, 1),
        ("GRU", 128) => new Gru128(1, 1),
        ("GRU", 256) => new Gru256(1, 1),
        ("GRU", 512) => new Gru512(1, 1),
        ("LSTM", 1024) => new Lstm1024(1, 1),
        ("GRU", 1024) => new Gru1024(1, 1),
        _ => throw new ArgumentException($"no {cell}({hidden}) model"),
    };
}

// The same language model with every feed-forward dropout site declared (fresh masks, and locked ones): the
// regularization benchmark switches sites on and off at run time.
[RnnModel, TokenInput(96, 64, EmbeddingDropout = 0.1), Lstm(256, Dropout = 0.25, RecurrentDropout = 0.25), Head(96, Activation.Softmax, Dropout = 0.4), Loss(LossKind.SoftmaxCrossEntropy)]
public sealed partial class CharLanguageModelDropout;

[RnnModel, TokenInput(96, 64), Lstm(256, LockedDropout = 0.25), Head(96, Activation.Softmax, LockedDropout = 0.4), Loss(LossKind.SoftmaxCrossEntropy)]
public sealed partial class CharLanguageModelLockedDropout;

[RnnModel, TokenInput(96, 64), Lstm(256, Zoneout = 0.1, CellZoneout = 0.05, WeightDrop = 0.5, CandidateDropout = 0.25), Head(96, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]
public sealed partial class CharLanguageModelZoneout;

[RnnModel, TokenInput(96, 64), Lstm(256), Head(96, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]
[Penalty(ParameterGroup.InputKernel, L2 = 1e-4), Penalty(ParameterGroup.RecurrentKernel, L1 = 1e-5, L2 = 1e-4), Penalty(ParameterGroup.HeadKernel, L2 = 1e-4)]
public sealed partial class CharLanguageModelPenalized;

[RnnModel, TokenInput(96, 64), Lstm(256), Head(96, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]
[Constraint(ParameterGroup.RecurrentKernel, ConstraintKind.MaxNorm, Max = 3), Constraint(ParameterGroup.InputKernel, ConstraintKind.MaxNorm, Max = 3)]
public sealed partial class CharLanguageModelConstrained;

// Layer-normalized cells (Ba et al. 2016): the character model's LSTM, and an LSTM(256) / GRU(256) for the batch-1 step.
[RnnModel, TokenInput(96, 64), Lstm(256, LayerNorm = true), Head(96, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]
public sealed partial class CharLanguageModelLayerNorm;

[RnnModel, DenseInput(256), Lstm(256, LayerNorm = true), Head(1), Loss(LossKind.MeanSquaredError)] public sealed partial class LayerNormLstm256;
[RnnModel, DenseInput(256), Gru(256, LayerNorm = true), Head(1), Loss(LossKind.MeanSquaredError)] public sealed partial class LayerNormGru256;

// Batch normalization: recurrent (Cooijmans et al., statistics per step up to the training length) and between the
// layer and the head (over batch × time).
[RnnModel, TokenInput(96, 64), Lstm(256, RecurrentBatchNorm = true, MaxSteps = 64), Head(96, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]
public sealed partial class CharLanguageModelRecurrentBatchNorm;

[RnnModel, TokenInput(96, 64), Lstm(256, BatchNorm = true), Head(96, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]
public sealed partial class CharLanguageModelOutputBatchNorm;

[RnnModel, DenseInput(256), Lstm(256, RecurrentBatchNorm = true, MaxSteps = 100), Head(1), Loss(LossKind.MeanSquaredError)] public sealed partial class BatchNormLstm256;
[RnnModel, DenseInput(256), Gru(256, RecurrentBatchNorm = true, MaxSteps = 100), Head(1), Loss(LossKind.MeanSquaredError)] public sealed partial class BatchNormGru256;
[RnnModel, DenseInput(256), Lstm(256, BatchNorm = true), Head(1), Loss(LossKind.MeanSquaredError)] public sealed partial class OutputBatchNormLstm256;
[RnnModel, DenseInput(256), Gru(256, BatchNorm = true), Head(1), Loss(LossKind.MeanSquaredError)] public sealed partial class OutputBatchNormGru256;

// fastrnn train --task kjv-char's model (src/FastRnn.Tool/CharTask.cs): 2 × LSTM(256), dropout 0.2 on the embedding's
// output, between the layers and before the head.
[RnnModel, TokenInput(96, 64), Lstm(256, Layers = 2, Dropout = 0.2), Head(96, Activation.Softmax, Dropout = 0.2), Loss(LossKind.SoftmaxCrossEntropy)]
public sealed partial class KjvCharModel;

// The large layers of issue 10's multi-core step (I = H).
[RnnModel, DenseInput(1024), Lstm(1024), Head(1), Loss(LossKind.MeanSquaredError)] public sealed partial class Lstm1024;
[RnnModel, DenseInput(1024), Gru(1024), Head(1), Loss(LossKind.MeanSquaredError)] public sealed partial class Gru1024;
