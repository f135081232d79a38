namespace FastRnn;

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
    /// output as the head reads it (after the head's dropout; under per-row lengths, over the real steps). This is α. Needs
    /// a head that reads every step.</summary>
    public double ActivationRegularization { get; set; }

    /// <summary>AWD-LSTM's temporal activation regularization (TAR): the training loss adds
    /// <c>β·mean((h(t) − h(t−1))²)</c> over the top layer's raw output (under per-row lengths, over the pairs of consecutive
    /// real steps). This is β. Needs a head that reads every step.</summary>
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
