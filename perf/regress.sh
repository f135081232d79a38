#!/usr/bin/env bash
# The perf-regression check (perf/README.md, "Regressions"): runs the key benchmarks — the batch-1 steps, the sequence
# forward and the training iteration at 1 and 2 threads, small batches — with the machine's limits in the same run, and
# compares each row, as a ratio to the FMA peak at its thread count, with perf/baseline.json.
# Usage: bash perf/regress.sh [--update]     (--update: make this run the baseline)
set -euo pipefail
cd "$(dirname "$0")/.."
out=BenchmarkDotNet.Artifacts/regress
rm -rf "$out"
# The host may move the two vCPUs nearer or further apart during a run, which moves every 2-thread row (perf/README §8,
# "Reads from the other core"): the cache-line hand-over before and after says whether it did.
handover() { dotnet perf/FastRnn.Benchmarks/bin/Release/net10.0/FastRnn.Benchmarks.dll gaps | head -1 | sed 's/^round 0: //'; }
dotnet build -c Release perf/FastRnn.Benchmarks -v quiet -nologo > /dev/null
before=$(handover)
dotnet run -c Release --no-build --project perf/FastRnn.Benchmarks -- --job short --exporters json --artifacts "$out" \
  --filter '*MachineScalingBenchmarks*' '*StepBenchmarks.Step*' '*PoolForwardBenchmarks*' '*SmallBatchBenchmarks.Forward*'
after=$(handover)
echo "before the run: $before"
echo "after the run:  $after"
python3 perf/regress.py "$out/results" "$@"
