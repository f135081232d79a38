using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FastRnn.Kernels;

/// <summary>Where a mask is drawn. Part of every mask's key, so two sites never share draws.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public enum MaskSite
{
    /// <summary>Embedding dropout: one draw per vocabulary row.</summary>
    EmbeddingRows = 1,

    /// <summary>Dropout on a recurrent layer's input (the embedding, the features, or the layer below).</summary>
    LayerInput = 2,

    /// <summary>Dropout on the head's input (the top layer's hidden state).</summary>
    HeadInput = 3,

    /// <summary>Recurrent dropout: h(t−1) where it enters the recurrent product, one mask per sequence.</summary>
    Recurrent = 4,

    /// <summary>Zoneout of the hidden state: which units keep h(t−1) at a step.</summary>
    ZoneoutHidden = 5,

    /// <summary>Zoneout of an LSTM's cell state: which units keep c(t−1) at a step.</summary>
    ZoneoutCell = 6,

    /// <summary>Weight drop (DropConnect on weight_hh): one mask per training pass over the recurrent weights.</summary>
    WeightDrop = 7,

    /// <summary>Semeniuta's recurrent dropout: a mask on the candidate (the LSTM's g, the GRU's n), one per sequence.</summary>
    Candidate = 8,
}
