namespace FastRnn;

/// <summary>Work that a <see cref="ComputePool"/> runs as indices 0 … count − 1 across its threads. An implementation
/// is an object allocated once and reused for every dispatch (no closure per call); <see cref="Run"/> must give the
/// same result whichever thread runs an index and in whatever order the indices run — split the work by outputs, so
/// that no floating-point sum depends on the split.</summary>
public interface IParallelWork
{
    /// <summary>Does the work of <paramref name="index"/>.</summary>
    void Run(int index);
}
