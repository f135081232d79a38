namespace FastRnn;

/// <summary>Marks a <c>partial</c> class as a FastRnn model: the generator emits its parameters, step,
/// sequence forward, backward through time and the glue an optimizer needs. The other attributes on the
/// class declare, in order, the input, the recurrent layers, the head and the loss.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class RnnModelAttribute : Attribute
{
}

/// <summary>Dense input: every time step carries <paramref name="features"/> floats per row.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class DenseInputAttribute(int features) : Attribute
{
    public int Features { get; } = features;
}

/// <summary>Token input: every time step carries one token id per row, looked up in an embedding table of
/// <paramref name="vocabulary"/> rows of <paramref name="embedding"/> floats (PyTorch <c>nn.Embedding</c>).</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class TokenInputAttribute(int vocabulary, int embedding) : Attribute
{
    public int Vocabulary { get; } = vocabulary;
    public int Embedding { get; } = embedding;

    /// <summary>Embedding dropout (AWD-LSTM): whole rows of the table, i.e. word types, dropped for a training pass
    /// and the rest scaled by 1/(1 − rate). Setting it declares the technique; the value is the run-time default.</summary>
    public double EmbeddingDropout { get; set; }
}

/// <summary>An LSTM layer (PyTorch <c>nn.LSTM</c>, gate order i, f, g, o) of <paramref name="hidden"/> units,
/// stacked <see cref="Layers"/> times. Layers are applied in the order their attributes are written.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class LstmAttribute(int hidden) : Attribute
{
    public int Hidden { get; } = hidden;
    public int Layers { get; set; } = 1;

    /// <summary>Inverted dropout on this layer's input (each layer's, when stacked): a fresh mask at every step.
    /// Setting it declares the technique; the value is the default of the run-time rate.</summary>
    public double Dropout { get; set; }

    /// <summary>Locked (variational) dropout on this layer's input: one mask per sequence, shared by every step
    /// (AWD-LSTM's LockedDropout). Declare this or <see cref="Dropout"/>, not both.</summary>
    public double LockedDropout { get; set; }

    /// <summary>Recurrent dropout (Gal and Ghahramani; Keras 3 <c>recurrent_dropout</c>): h(t−1) is masked where it
    /// enters <c>U·h</c>, one mask per sequence shared by every gate; the cell state is not masked.</summary>
    public double RecurrentDropout { get; set; }

    /// <summary>Zoneout of h (Krueger et al. 2016): in training each unit keeps h(t−1) with this probability at each
    /// step, instead of taking h̃(t) = o⊙tanh(c̃(t)); at inference h(t) = p·h(t−1) + (1 − p)·h̃(t). Not with
    /// <see cref="RecurrentDropout"/> (both act on h(t−1)).</summary>
    public double Zoneout { get; set; }

    /// <summary>Zoneout of c: each unit keeps c(t−1) with this probability instead of c̃(t) = f⊙c(t−1) + i⊙g;
    /// at inference c(t) = p·c(t−1) + (1 − p)·c̃(t).</summary>
    public double CellZoneout { get; set; }

    /// <summary>Weight drop (AWD-LSTM's WeightDrop, DropConnect): each element of weight_hh is dropped with this
    /// probability, one mask per training pass (minibatch), the rest scaled by 1/(1 − p); the weights are unmasked at
    /// inference.</summary>
    public double WeightDrop { get; set; }

    /// <summary>How weight_ih is initialized (default: PyTorch's U(−1/√H, 1/√H)); see <see cref="Initializers.Apply"/>.</summary>
    public Initialization InputInit { get; set; }

    /// <summary>How weight_hh is initialized, e.g. <see cref="Initialization.Orthogonal"/>.</summary>
    public Initialization RecurrentInit { get; set; }

    /// <summary>Keras' <c>unit_forget_bias</c>: the forget gate's bias starts at 1 and every other bias at 0
    /// (b_ih carries the 1, b_hh is 0).</summary>
    public bool UnitForgetBias { get; set; }

    /// <summary>Semeniuta et al.'s recurrent dropout without memory loss: inverted dropout on the candidate
    /// (g in c(t) = f⊙c(t−1) + i⊙g), one mask per sequence, so the state's memory is never dropped. Identity at inference.</summary>
    public double CandidateDropout { get; set; }

    /// <summary>Layer normalization (Ba et al. 2016, LN-LSTM): W·x and U·h are each normalized over all four gates'
    /// pre-activations of a row, and c(t) before its tanh, each with its own gain (γ, starting at 1) and bias
    /// (bias_ih and bias_hh serve as the β of the first two, so a = LN(W·x) + LN(U·h) has no third, redundant bias;
    /// the cell's β starts at 0): a = γ_x⊙x̂ + b_ih + γ_h⊙ĥ + b_hh;  h(t) = o⊙tanh(γ_c⊙ĉ(t) + β_c). ε = 1e-5
    /// (PyTorch's LayerNorm). The same in training and at inference; the state c(t) itself is not normalized.</summary>
    public bool LayerNorm { get; set; }

    /// <summary>Batch normalization of this layer's output (each layer's, when stacked) over batch × time, before the
    /// next layer or the head reads it (PyTorch's <c>nn.BatchNorm1d</c> on the [steps·batch, H] output): in training
    /// each unit is normalized by the mean and variance of the pass's rows and the running statistics move by momentum
    /// 0.1; at inference (and in <c>Step</c>) the running statistics are used. γ starts at 1, β at 0, ε = 1e-5. The
    /// recurrence itself carries the raw h. Not with per-row lengths (the statistics would count padded steps).</summary>
    public bool BatchNorm { get; set; }

    /// <summary>Recurrent batch normalization (Cooijmans et al. 2016): W·x, U·h(t−1) and c(t) before its tanh are each normalized per unit over
    /// the batch at every time step, with statistics kept per step up to <see cref="MaxSteps"/> (later steps use the
    /// last one's), gains γ starting at 0.1 (bias_ih and bias_hh are the first two's β; c's β starts at 0); in training the batch's
    /// statistics (the running ones move by momentum 0.1), at inference the running ones. The time index is the step
    /// within a <c>Forward</c> call, or the number of <c>Step</c>s since a state was created or reset. Not with
    /// <see cref="LayerNorm"/>.</summary>
    public bool RecurrentBatchNorm { get; set; }

    /// <summary>T_max of <see cref="RecurrentBatchNorm"/>: how many time steps keep their own statistics.</summary>
    public int MaxSteps { get; set; }
}

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

/// <summary>A dense head of <paramref name="outputs"/> units on the top layer's hidden state
/// (PyTorch <c>nn.Linear</c>) followed by <paramref name="activation"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class HeadAttribute(int outputs, Activation activation = Activation.Linear) : Attribute
{
    public int Outputs { get; } = outputs;
    public Activation Activation { get; } = activation;

    /// <summary>Whether the head reads every time step (a language model, a sequence tagger) or only the last
    /// (a classifier, a forecaster).</summary>
    public Readout Readout { get; set; } = Readout.EveryStep;

    /// <summary>Inverted dropout on the head's input (the top layer's hidden state), a fresh mask at every step.</summary>
    public double Dropout { get; set; }

    /// <summary>Locked dropout on the head's input: one mask per sequence. Declare this or <see cref="Dropout"/>.</summary>
    public double LockedDropout { get; set; }

    /// <summary>AWD-LSTM's activation regularization (AR): the training loss adds <c>α·mean(h̃²)</c> over the top layer's
    /// output as the head reads it (after the head's dropout). This is α. Needs a head that reads every step.</summary>
    public double ActivationRegularization { get; set; }

    /// <summary>AWD-LSTM's temporal activation regularization (TAR): the training loss adds
    /// <c>β·mean((h(t) − h(t−1))²)</c> over the top layer's raw output. This is β. Needs a head that reads every step.</summary>
    public double TemporalActivationRegularization { get; set; }
}

public enum Activation
{
    Linear = 0,
    Sigmoid = 1,
    Softmax = 2,
}

public enum Readout
{
    EveryStep = 0,
    LastStep = 1,
}

/// <summary>The training loss. Every loss is a mean, as PyTorch's <c>reduction='mean'</c>: MSE and binary
/// cross-entropy over every output element, softmax cross-entropy over every (step, row) that has a target.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class LossAttribute(LossKind kind) : Attribute
{
    public LossKind Kind { get; } = kind;
}

public enum LossKind
{
    /// <summary>Mean squared error (with a linear or sigmoid head).</summary>
    MeanSquaredError = 0,

    /// <summary>Binary cross-entropy on a sigmoid head, computed from the logits (PyTorch <c>BCEWithLogitsLoss</c>).</summary>
    BinaryCrossEntropy = 1,

    /// <summary>Softmax cross-entropy with integer class targets (PyTorch <c>CrossEntropyLoss</c> on the logits).</summary>
    SoftmaxCrossEntropy = 2,
}

/// <summary>The parameter groups an L1/L2 penalty applies to (every recurrent layer's tensors of that kind).</summary>
public enum ParameterGroup
{
    /// <summary>Every recurrent layer's weight_ih (Keras' <c>kernel_regularizer</c>).</summary>
    InputKernel = 0,

    /// <summary>Every recurrent layer's weight_hh (Keras' <c>recurrent_regularizer</c>).</summary>
    RecurrentKernel = 1,

    /// <summary>Every recurrent layer's bias_ih and bias_hh (Keras' <c>bias_regularizer</c>).</summary>
    Bias = 2,

    /// <summary>head.weight.</summary>
    HeadKernel = 3,

    /// <summary>head.bias.</summary>
    HeadBias = 4,

    /// <summary>embedding.weight (token input only).</summary>
    Embedding = 5,
}

/// <summary>An L1/L2 penalty on a parameter group with Keras' semantics (keras/src/regularizers/regularizers.py,
/// <c>L1L2</c>): the training loss adds <c>L1·Σ|w| + L2·Σw²</c> over the group's weights, so their gradient gains
/// <c>L1·sign(w) + 2·L2·w</c>, which the optimizer adds inside its update (before clipping). Declare one per group;
/// each coefficient set here is a run-time option (e.g. <c>RecurrentKernelL2</c>) defaulting to this value.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class PenaltyAttribute(ParameterGroup group) : Attribute
{
    public ParameterGroup Group { get; } = group;
    public double L1 { get; set; }
    public double L2 { get; set; }
}

/// <summary>A constraint on a parameter group, applied after every optimizer update with Keras' semantics and
/// constants (keras/src/constraints/constraints.py; see <see cref="Constraints"/>). <see cref="Axis"/> is Keras' axis on
/// the Keras-shaped tensor (kernels [inputs, gates·units]: 0 = each unit's incoming weights, 1 = each input's outgoing
/// weights; a bias has only 0). <see cref="Max"/>, <see cref="Min"/> and <see cref="Rate"/> are run-time options
/// (e.g. <c>RecurrentKernelMaxNorm</c>) defaulting to these values. One constraint per group.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class ConstraintAttribute(ParameterGroup group, ConstraintKind kind) : Attribute
{
    public ParameterGroup Group { get; } = group;
    public ConstraintKind Kind { get; } = kind;
    public int Axis { get; set; }

    /// <summary>MaxNorm's max_value (Keras default 2) or MinMaxNorm's max_value (default 1).</summary>
    public double Max { get; set; } = double.NaN;

    /// <summary>MinMaxNorm's min_value (Keras default 0).</summary>
    public double Min { get; set; }

    /// <summary>MinMaxNorm's rate (Keras default 1: strict).</summary>
    public double Rate { get; set; } = 1;
}
