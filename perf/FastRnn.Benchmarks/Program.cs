using BenchmarkDotNet.Running;

// dotnet run -c Release --project perf/FastRnn.Benchmarks -- --filter '*'   (see perf/README.md)
// dotnet run -c Release --project perf/FastRnn.Benchmarks -- gaps           (how much a spinning thread is descheduled)
if (args is ["gaps"])
    FastRnn.Benchmarks.SchedulingGaps.Run(Console.Out);
else
    BenchmarkSwitcher.FromAssembly(typeof(FastRnn.Benchmarks.StepBenchmarks).Assembly).Run(args);
