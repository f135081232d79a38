using BenchmarkDotNet.Running;

// dotnet run -c Release --project perf/FastRnn.Benchmarks -- --filter '*'   (see perf/README.md)
// dotnet run -c Release --project perf/FastRnn.Benchmarks -- gaps           (a cache line's hand-over between processors; how much a spinning thread is descheduled)
// dotnet run -c Release --project perf/FastRnn.Benchmarks -- peers [rounds] (FastRnn and ONNX Runtime in alternating rounds)
// dotnet run -c Release --project perf/FastRnn.Benchmarks -- phases [rounds [threads]] (the char-LM iteration's phases at 1 and 2 threads, or one count)
if (args is ["peers", ..] && args.Length <= 2)
    FastRnn.Benchmarks.PeerRounds.Run(Console.Out, args.Length == 2 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 21);
else if (args is ["phases", ..] && args.Length <= 3)
    FastRnn.Benchmarks.IterationPhases.Run(Console.Out, args.Length >= 2 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5,
        onlyThreads: args.Length == 3 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : null);
else if (args is ["gaps"])
    FastRnn.Benchmarks.SchedulingGaps.Run(Console.Out);
else
    BenchmarkSwitcher.FromAssembly(typeof(FastRnn.Benchmarks.StepBenchmarks).Assembly).Run(args);
