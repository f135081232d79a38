namespace FastRnn;

/// <summary>A GRU layer (gate order r, z, n) of <paramref name="hidden"/> units, stacked <see cref="Layers"/> times.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class GruAttribute(int hidden) : Attribute
{
    public int Hidden { get; } = hidden;
    public int Layers { get; set; } = 1;
    public GruVariant Variant { get; set; } = GruVariant.ResetAfter;

    /// <summary>Inverted dropout on this layer's input (each layer's, when stacked): a fresh mask at every step.
    /// Setting it declares the technique; the value is the default of the run-time rate.</summary>
    public double Dropout { get; set; }

    /// <summary>Locked (variational) dropout on this layer's input: one mask per sequence, shared by every step
    /// (AWD-LSTM's LockedDropout). Declare this or <see cref="Dropout"/>, not both.</summary>
    public double LockedDropout { get; set; }

    /// <summary>Recurrent dropout (Gal and Ghahramani; Keras 3 <c>recurrent_dropout</c>): h(t−1) is masked where it
    /// enters the recurrent products (all three gates; the classic variant's <c>U_n·(r⊙h)</c> too), one mask per
    /// sequence; the interpolation <c>z⊙h(t−1)</c> uses the unmasked state.</summary>
    public double RecurrentDropout { get; set; }

    /// <summary>Zoneout (Krueger et al. 2016): in training each unit keeps h(t−1) with this probability at each step,
    /// instead of taking the GRU's h̃(t); at inference h(t) = p·h(t−1) + (1 − p)·h̃(t). Not with
    /// <see cref="RecurrentDropout"/>.</summary>
    public double Zoneout { get; set; }

    /// <summary>Weight drop (AWD-LSTM's WeightDrop, DropConnect): each element of weight_hh is dropped with this
    /// probability, one mask per training pass (minibatch), the rest scaled by 1/(1 − p); the weights are unmasked at
    /// inference.</summary>
    public double WeightDrop { get; set; }

    /// <summary>How weight_ih is initialized (default: PyTorch's U(−1/√H, 1/√H)); see <see cref="Initializers.Apply"/>.</summary>
    public Initialization InputInit { get; set; }

    /// <summary>How weight_hh is initialized, e.g. <see cref="Initialization.Orthogonal"/>.</summary>
    public Initialization RecurrentInit { get; set; }

    /// <summary>Semeniuta et al.'s recurrent dropout without memory loss: inverted dropout on the candidate
    /// (n in h(t) = (1 − z)⊙n + z⊙h(t−1)), one mask per sequence, so the state's memory is never dropped. Identity at inference.</summary>
    public double CandidateDropout { get; set; }

    /// <summary>Layer normalization (Ba et al. 2016): W·x and U·h are each normalized over all three gates'
    /// pre-activations of a row, each with its own gain γ (starting at 1) and bias (bias_ih and bias_hh):
    /// gh = γ_h⊙ĥ + b_hh replaces U·h + b_hh, so n = tanh(a_n + r⊙gh_n) keeps PyTorch's placement of b_hn. ε = 1e-5.
    /// Only with <see cref="GruVariant.ResetAfter"/>: the classic variant's U_n·(r⊙h) is not one product of h(t−1).</summary>
    public bool LayerNorm { get; set; }

    /// <summary>Batch normalization of this layer's output (each layer's, when stacked) over batch × time, before the
    /// next layer or the head reads it (PyTorch's <c>nn.BatchNorm1d</c> on the [steps·batch, H] output): in training
    /// each unit is normalized by the mean and variance of the pass's rows and the running statistics move by momentum
    /// 0.1; at inference (and in <c>Step</c>) the running statistics are used. γ starts at 1, β at 0, ε = 1e-5. The
    /// recurrence itself carries the raw h. Not with per-row lengths (the statistics would count padded steps).</summary>
    public bool BatchNorm { get; set; }

    /// <summary>Recurrent batch normalization (Cooijmans et al. 2016): W·x, U·h(t−1) are each normalized per unit over
    /// the batch at every time step, with statistics kept per step up to <see cref="MaxSteps"/> (later steps use the
    /// last one's), gains γ starting at 0.1 (bias_ih and bias_hh are the first two's β); in training the batch's
    /// statistics (the running ones move by momentum 0.1), at inference the running ones. The time index is the step
    /// within a <c>Forward</c> call, or the number of <c>Step</c>s since a state was created or reset. Not with
    /// <see cref="LayerNorm"/>.</summary>
    public bool RecurrentBatchNorm { get; set; }

    /// <summary>T_max of <see cref="RecurrentBatchNorm"/>: how many time steps keep their own statistics.</summary>
    public int MaxSteps { get; set; }
}

/// <summary>Where the GRU's reset gate acts on the recurrent candidate.</summary>
public enum GruVariant
{
    /// <summary>PyTorch's GRU (ONNX <c>linear_before_reset=1</c>, Keras <c>reset_after=True</c>):
    /// <c>n = tanh(W_n·x + b_in + r⊙(U_n·h + b_hn))</c>.</summary>
    ResetAfter = 0,

    /// <summary>The classic GRU (ONNX <c>linear_before_reset=0</c>, Keras <c>reset_after=False</c>):
    /// <c>n = tanh(W_n·x + b_in + U_n·(r⊙h) + b_hn)</c>, with PyTorch's tensor names and shapes.</summary>
    ResetBefore = 1,
}
