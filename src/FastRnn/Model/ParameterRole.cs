namespace FastRnn;

/// <summary>What a tensor is for: the parameter groups penalties, constraints and initializers address.</summary>
public enum ParameterRole
{
    Embedding = 0,
    InputKernel = 1,
    RecurrentKernel = 2,
    InputBias = 3,
    RecurrentBias = 4,
    HeadKernel = 5,
    HeadBias = 6,
    /// <summary>The gain γ of a layer-normalized cell's normalization (initialized to 1).</summary>
    NormGain = 7,
    /// <summary>The bias β of a layer-normalized cell's normalization of c (initialized to 0); the normalizations of
    /// W·x and U·h use the layer's bias_ih and bias_hh as their β.</summary>
    NormBias = 8,
    /// <summary>A batch normalization's running mean (a statistic, not a parameter: <see cref="IRnnModel.Statistics"/>).</summary>
    RunningMean = 9,
    /// <summary>A batch normalization's running (unbiased) variance, a statistic like <see cref="RunningMean"/>.</summary>
    RunningVariance = 10,
    /// <summary>An LSTM projection's weight_hr (PyTorch <c>proj_size</c>); penalties and constraints of the recurrent
    /// kernel group apply to it, and PyTorch's default initialization draws it from U(−1/√Hidden, 1/√Hidden).</summary>
    ProjectionKernel = 11,
}
