namespace FastRnn;

/// <summary>What <see cref="LstmAttribute"/> and <see cref="GruAttribute"/> share: the size, the stacking, the
/// regularization techniques both cells have, initialization and normalization. Each property a cell documents
/// differently (which state zoneout keeps, which candidate is dropped) is described for both here.</summary>
public abstract class RecurrentLayerAttribute(int hidden) : Attribute
{
    /// <summary>Units of each layer.</summary>
    public int Hidden { get; } = hidden;

    /// <summary>How many layers of this size and cell are stacked (1 by default).</summary>
    public int Layers { get; set; } = 1;

    /// <summary>Each layer runs in both directions (PyTorch's <c>bidirectional=True</c>): a forward direction over
    /// steps 0…T−1 and a reverse one, with its own weights (<c>weight_ih_l{k}_reverse</c>, …), over each row's real
    /// steps from the last to the first (with per-row lengths, from the row's own last step, as PyTorch's packed
    /// sequences). The output at step t is <c>[h_forward(t), h_reverse(t)]</c> (2·Hidden wide) for the layer above or
    /// the head; a last-step head reads h_forward at each row's last real step and h_reverse after it has read the whole
    /// row (its output at step 0), PyTorch's <c>cat(h_n[-2], h_n[-1])</c>. In a <c>State</c> the two directions are two
    /// layers, forward then reverse (PyTorch's <c>h_n</c> order), and each direction has its own run-time rates and
    /// masks. A bidirectional model cannot stream (its reverse direction needs the whole sequence): it has no
    /// <c>Step</c>. Not with <see cref="BatchNorm"/>, <see cref="LayerNorm"/> or <see cref="RecurrentBatchNorm"/> (FRNN027).</summary>
    public bool Bidirectional { get; set; }

    /// <summary>Inverted dropout on this layer's input (each layer's, when stacked): a fresh mask at every step.
    /// Setting it declares the technique; the value is the default of the run-time rate.</summary>
    public double Dropout { get; set; }

    /// <summary>Locked (variational) dropout on this layer's input: one mask per sequence, shared by every step
    /// (AWD-LSTM's LockedDropout). Declare this or <see cref="Dropout"/>, not both.</summary>
    public double LockedDropout { get; set; }

    /// <summary>Recurrent dropout (Gal and Ghahramani; Keras 3 <c>recurrent_dropout</c>): h(t−1) is masked where it
    /// enters the recurrent product <c>U·h</c>, one mask per sequence shared by every gate. The LSTM's cell state is
    /// not masked; the GRU masks all three gates' products (the classic variant's <c>U_n·(r⊙h)</c> too) and its
    /// interpolation <c>z⊙h(t−1)</c> uses the unmasked state.</summary>
    public double RecurrentDropout { get; set; }

    /// <summary>Zoneout of h (Krueger et al. 2016): in training each unit keeps h(t−1) with this probability at each
    /// step, instead of taking the cell's new h̃(t) (the LSTM's o⊙tanh(c̃(t)), the GRU's interpolation); at inference
    /// h(t) = p·h(t−1) + (1 − p)·h̃(t). Not with <see cref="RecurrentDropout"/> (both act on h(t−1)).</summary>
    public double Zoneout { get; set; }

    /// <summary>Weight drop (AWD-LSTM's WeightDrop, DropConnect): each element of weight_hh is dropped with this
    /// probability, one mask per training pass (minibatch), the rest scaled by 1/(1 − p); the weights are unmasked at
    /// inference.</summary>
    public double WeightDrop { get; set; }

    /// <summary>How weight_ih is initialized (default: PyTorch's U(−1/√H, 1/√H)); see <see cref="Initializers.Apply"/>.</summary>
    public Initialization InputInit { get; set; }

    /// <summary>How weight_hh is initialized, e.g. <see cref="Initialization.Orthogonal"/>.</summary>
    public Initialization RecurrentInit { get; set; }

    /// <summary>Semeniuta et al.'s recurrent dropout without memory loss: inverted dropout on the candidate (the
    /// LSTM's g in c(t) = f⊙c(t−1) + i⊙g, the GRU's n in h(t) = (1 − z)⊙n + z⊙h(t−1)), one mask per sequence, so the
    /// state's memory is never dropped. Identity at inference.</summary>
    public double CandidateDropout { get; set; }

    /// <summary>Layer normalization (Ba et al. 2016): W·x and U·h are each normalized over all gates' pre-activations
    /// of a row, each with its own gain γ (starting at 1) and bias (bias_ih and bias_hh serve as their β, so there is
    /// no third, redundant bias). ε = 1e-5 (PyTorch's LayerNorm); the same in training and at inference.
    /// <para>LSTM (LN-LSTM): a = γ_x⊙x̂ + b_ih + γ_h⊙ĥ + b_hh, and c(t) is normalized before its tanh with a gain and a
    /// bias of its own (β_c starting at 0): h(t) = o⊙tanh(γ_c⊙ĉ(t) + β_c); the state c(t) itself is not normalized.</para>
    /// <para>GRU: gh = γ_h⊙ĥ + b_hh replaces U·h + b_hh, so n = tanh(a_n + r⊙gh_n) keeps PyTorch's placement of b_hn.
    /// Only with <see cref="GruVariant.ResetAfter"/>: the classic variant's U_n·(r⊙h) is not one product of h(t−1).</para></summary>
    public bool LayerNorm { get; set; }

    /// <summary>Batch normalization of this layer's output (each layer's, when stacked) over batch × time, before the
    /// next layer or the head reads it (PyTorch's <c>nn.BatchNorm1d</c> on the [steps·batch, H] output): in training
    /// each unit is normalized by the mean and variance of the pass's rows and the running statistics move by momentum
    /// 0.1; at inference (and in <c>Step</c>) the running statistics are used. γ starts at 1, β at 0, ε = 1e-5. The
    /// recurrence itself carries the raw h. Not with per-row lengths (the statistics would count padded steps).</summary>
    public bool BatchNorm { get; set; }

    /// <summary>Recurrent batch normalization (Cooijmans et al. 2016): W·x and U·h(t−1) (and the LSTM's c(t) before
    /// its tanh) are each normalized per unit over the batch at every time step, with statistics kept per step up to
    /// <see cref="MaxSteps"/> (later steps use the last one's), gains γ starting at 0.1 (bias_ih and bias_hh are the
    /// first two's β; c's β starts at 0); in training the batch's statistics (the running ones move by momentum 0.1),
    /// at inference the running ones. The time index is the step within a <c>Forward</c> call, or the number of
    /// <c>Step</c>s since a state was created or reset. Not with <see cref="LayerNorm"/>.</summary>
    public bool RecurrentBatchNorm { get; set; }

    /// <summary>T_max of <see cref="RecurrentBatchNorm"/>: how many time steps keep their own statistics.</summary>
    public int MaxSteps { get; set; }
}
