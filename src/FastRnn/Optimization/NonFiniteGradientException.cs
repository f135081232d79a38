namespace FastRnn;

/// <summary>The gradient held a non-finite value; the optimizer did not change anything.</summary>
public sealed class NonFiniteGradientException(string message) : InvalidOperationException(message);
