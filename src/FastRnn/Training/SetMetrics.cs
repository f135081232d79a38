using System.Diagnostics;

namespace FastRnn.Training;

/// <summary>Loss and the task's metric over a set: accuracy for class targets, mean absolute error and root mean
/// squared error for float targets.</summary>
public sealed record SetMetrics(double Loss, double? Accuracy, double? MeanAbsoluteError, double? RootMeanSquaredError);
