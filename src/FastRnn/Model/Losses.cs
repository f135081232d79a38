namespace FastRnn;

/// <summary>What a user passes to the losses: <see cref="Ignore"/>, the target that marks a padded step. (The head
/// activations and the losses themselves are called by generated code: <c>FastRnn.Kernels.LossKernels</c>.)</summary>
public static class Losses
{
    /// <summary>A class id that marks a padded step: it counts in neither the loss nor any gradient (PyTorch's
    /// <c>ignore_index</c>; any negative id does).</summary>
    public const int Ignore = -1;
}
