#!/usr/bin/env bash
# The perf-regression check (perf/README.md, "Regressions"): runs the key benchmarks — the batch-1 steps, the sequence
# forward and the training iteration at 1 and 2 threads, small batches — with the machine's limits in the same run, and
# compares each row, as a ratio to the FMA peak at its thread count, with perf/baseline.json.
# Usage: bash perf/regress.sh [--update]     (--update: make this run the baseline)
set -euo pipefail
cd "$(dirname "$0")/.."
out=BenchmarkDotNet.Artifacts/regress
rm -rf "$out"
dotnet run -c Release --project perf/FastRnn.Benchmarks -- --job short --exporters json --artifacts "$out" \
  --filter '*MachineScalingBenchmarks*' '*StepBenchmarks.Step*' '*PoolForwardBenchmarks*' '*SmallBatchBenchmarks.Forward*'
python3 perf/regress.py "$out/results" "$@"
