namespace FastRnn;

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
