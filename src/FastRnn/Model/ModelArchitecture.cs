namespace FastRnn;

/// <summary>The kind of a recurrent layer's cell.</summary>
public enum RecurrentCell
{
    Lstm = 0,
    Gru = 1,
}

/// <summary>One recurrent layer of the engine as declared: a one-directional layer, or one direction of a bidirectional
/// one (its forward direction, then its reverse one, as PyTorch orders <c>h_n</c>). Its tensors are named
/// <c>{TensorPrefix}weight_ih_l{TensorSuffix}</c> and so on.</summary>
/// <param name="TensorPrefix">The prefix of its tensors' names: <c>rnn.</c>, or <c>rnn.{g}.</c> for the g-th recurrent attribute.</param>
/// <param name="TensorSuffix">Its index in its attribute's stack, with <c>_reverse</c> for a reverse direction.</param>
/// <param name="Cell">LSTM or GRU.</param>
/// <param name="Variant">A GRU's variant (ignored for an LSTM).</param>
/// <param name="Inputs">The width of what it reads.</param>
/// <param name="Hidden">Its units (the cell's width).</param>
/// <param name="Projection">An LSTM's projection size (0: none); its state h then has this width.</param>
/// <param name="Bidirectional">It is one direction of a bidirectional layer.</param>
/// <param name="Reverse">It is the reverse direction of a bidirectional layer.</param>
/// <param name="LayerNorm">Its cell is layer-normalized.</param>
/// <param name="RecurrentBatchNorm">Its cell is batch-normalized per step.</param>
/// <param name="BatchNorm">Its output is batch-normalized before the next layer reads it.</param>
/// <param name="Zoneout">It declares zoneout of h or c (an inference pass takes zoneout's expectation).</param>
public sealed record RecurrentLayerArchitecture(
    string TensorPrefix,
    string TensorSuffix,
    RecurrentCell Cell,
    GruVariant Variant,
    int Inputs,
    int Hidden,
    int Projection,
    bool Bidirectional,
    bool Reverse,
    bool LayerNorm,
    bool RecurrentBatchNorm,
    bool BatchNorm,
    bool Zoneout)
{
    /// <summary>The width of its state h: the projection's, or the units'.</summary>
    public int StateSize => Projection > 0 ? Projection : Hidden;
}

/// <summary>A generated model's structure as declared, for code that works on any model (exporters, tools): its input,
/// its recurrent layers in the engine's order, and its head. Every generated model returns one from
/// <see cref="IRnnModel.Architecture"/>.</summary>
/// <param name="Tokens">The model takes token ids through an embedding (<c>embedding.weight</c>) rather than dense vectors.</param>
/// <param name="Vocabulary">The embedding's rows (0 for dense input).</param>
/// <param name="InputSize">The width of a dense input or of the embedding.</param>
/// <param name="Layers">The recurrent layers, a bidirectional one as its two directions.</param>
/// <param name="HasHead">The model has a dense head (<c>head.weight</c>, <c>head.bias</c>); without one its outputs are the top layer's states.</param>
/// <param name="Outputs">The width of the model's output.</param>
/// <param name="Activation">The head's activation.</param>
/// <param name="Readout">Whether the outputs are read at every step or at each row's last.</param>
public sealed record ModelArchitecture(
    bool Tokens,
    int Vocabulary,
    int InputSize,
    IReadOnlyList<RecurrentLayerArchitecture> Layers,
    bool HasHead,
    int Outputs,
    Activation Activation,
    Readout Readout);
