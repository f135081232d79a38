using System.Diagnostics;

namespace FastRnn.Training;

/// <summary>One epoch of a run: the mean training objective per token (the loss, plus any declared penalties), the
/// validation loss per token (inference mode), the learning rate used and the wall time.</summary>
public sealed record EpochRecord(int Epoch, double TrainLoss, double? ValidationLoss, float LearningRate, double Seconds)
{
    /// <summary>exp(validation loss): perplexity, for a language model.</summary>
    public double? ValidationPerplexity => ValidationLoss is { } loss ? Math.Exp(loss) : null;

    /// <summary>Validation loss in bits per token (per character for a character model).</summary>
    public double? ValidationBitsPerToken => ValidationLoss is { } loss ? loss / Math.Log(2) : null;
}
