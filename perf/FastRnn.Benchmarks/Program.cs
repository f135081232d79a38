using BenchmarkDotNet.Running;

// dotnet run -c Release --project perf/FastRnn.Benchmarks -- --filter '*'   (see perf/README.md)
// dotnet run -c Release --project perf/FastRnn.Benchmarks -- gaps           (how much a spinning thread is descheduled)
// dotnet run -c Release --project perf/FastRnn.Benchmarks -- peers [rounds] (FastRnn and ONNX Runtime in alternating rounds)
if (args is ["peers", ..] && args.Length <= 2)
    FastRnn.Benchmarks.PeerRounds.Run(Console.Out, args.Length == 2 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 21);
else if (args is ["gaps"])
    FastRnn.Benchmarks.SchedulingGaps.Run(Console.Out);
else
    BenchmarkSwitcher.FromAssembly(typeof(FastRnn.Benchmarks.StepBenchmarks).Assembly).Run(args);
