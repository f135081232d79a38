using System.Diagnostics;

namespace FastRnn.Training;

/// <summary>One epoch of a sequence run.</summary>
public sealed record SequenceEpoch(int Epoch, double TrainLoss, SetMetrics? Validation, float LearningRate, double Seconds);
