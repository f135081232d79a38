#!/usr/bin/env bash
# Runs every FastRnn benchmark and the peers in one go and keeps the reports: ONNX Runtime inside the benchmark
# project (PeerBenchmarks, at 1 and 2 threads, on PyTorch's own LSTM/GRU exported here first), PyTorch after it.
# and TorchSharp's training iteration last (perf/torchsharp.sh, alternating rounds with FastRnn's).
# Usage: bash perf/run.sh [--job short|default]       Results: BenchmarkDotNet.Artifacts/results/, perf/pytorch.txt,
# perf/torchsharp.txt
# PyTorch needs: apt-get install python3-torch libopenblas0-openmp. OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE, when this
# workplace sets them, pin OpenBLAS to its AVX2 (Haswell) kernels; the peer runs both ways and both are reported.
set -euo pipefail
cd "$(dirname "$0")/.."
job=${2:-short}
/usr/bin/python3 perf/peers/export_onnx.py perf/peers/onnx   # the ONNX Runtime peer's models (PeerBenchmarks reads them)
dotnet run -c Release --project perf/FastRnn.Benchmarks -- --filter '*' --job "$job"
{
  for threads in 1 "$(nproc)"; do
    echo "# PyTorch on $threads thread(s), as configured here (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset})"
    OMP_NUM_THREADS=$threads /usr/bin/python3 perf/pytorch_bench.py "$threads"
    echo "# PyTorch on $threads thread(s), OpenBLAS choosing its own kernels (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset)"
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=$threads /usr/bin/python3 perf/pytorch_bench.py "$threads"
  done
} | tee perf/pytorch.txt
bash perf/torchsharp.sh | tee perf/torchsharp.txt
