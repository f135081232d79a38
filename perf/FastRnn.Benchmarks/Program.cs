using BenchmarkDotNet.Running;

// dotnet run -c Release --project perf/FastRnn.Benchmarks -- --filter '*'   (see perf/README.md)
BenchmarkSwitcher.FromAssembly(typeof(FastRnn.Benchmarks.StepBenchmarks).Assembly).Run(args);
