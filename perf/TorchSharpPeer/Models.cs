using FastRnn;

namespace FastRnn.TorchSharpPeer;

// The character language model of perf/FastRnn.Benchmarks/Models.cs.
[RnnModel, TokenInput(96, 64), Lstm(256), Head(96, Activation.Softmax), Loss(LossKind.SoftmaxCrossEntropy)]
public sealed partial class CharLanguageModel;
