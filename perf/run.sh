#!/usr/bin/env bash
# Runs every FastRnn benchmark and the PyTorch peer in one go, on one thread each, and keeps the reports.
# Usage: bash perf/run.sh [--job short|default]       Results: BenchmarkDotNet.Artifacts/results/, perf/pytorch.txt
# PyTorch needs: apt-get install python3-torch libopenblas0-openmp. OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE, when this
# workplace sets them, pin OpenBLAS to its AVX2 (Haswell) kernels; the peer runs both ways and both are reported.
set -euo pipefail
cd "$(dirname "$0")/.."
job=${2:-short}
dotnet run -c Release --project perf/FastRnn.Benchmarks -- --filter '*' --job "$job"
{
  echo "# PyTorch as configured here (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset})"
  OMP_NUM_THREADS=1 /usr/bin/python3 perf/pytorch_bench.py 1
  echo "# PyTorch with OpenBLAS choosing its own kernels (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset)"
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 /usr/bin/python3 perf/pytorch_bench.py 1
} | tee perf/pytorch.txt
