namespace FastRnn;

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
