namespace FastRnn.Serving.Models;

// The shipped model: the character language model of `fastrnn train --task kjv-char` (2 × LSTM(256) over a 64-wide
// embedding of 96 symbols, a softmax head), declared here as the tool declares it, so any kjv-char checkpoint the tool
// writes — or its `export --safetensors` file — is served and hot-swapped in. Dropout is a training technique: a step
// never applies it.
[RnnModel, TokenInput(KjvCharModel.Symbols, 64), Lstm(256, Layers = 2, Dropout = 0.2), Head(KjvCharModel.Symbols, Activation.Softmax, Dropout = 0.2),
 Loss(LossKind.SoftmaxCrossEntropy)]
public sealed partial class KjvCharModel
{
    public const int Symbols = 96;
}
