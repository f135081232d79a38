using Xunit;

// The servers of these tests share the process's metrics (ServingMetrics.Shared) and the machine's two cores: one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
