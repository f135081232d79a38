#!/usr/bin/env bash
# Runs the brief's reference models that the tool ships, each arm (regularized, plain) with several seeds, and writes
# one RESULT line per run to results/reference.jsonl; tools/summarize_results.py turns them into the tables of
# docs/results.md. Usage: tools/run_reference.sh [tasks...]   (default: s2 s4; SEEDS="1 2 3 4 5" to change seeds)
set -euo pipefail
cd "$(dirname "$0")/.."
tasks=("${@:-s2 s4}")
seeds=${SEEDS:-"1 2 3 4 5"}
mkdir -p results
dotnet build -c Release src/FastRnn.Tool -v q -nologo > /dev/null
for task in ${tasks[@]}; do
  for arm in regularized plain; do
    for seed in $seeds; do
      echo "== $task $arm seed $seed" >&2
      dotnet src/FastRnn.Tool/bin/Release/net10.0/FastRnn.Tool.dll train --task "$task" --arm "$arm" --seed "$seed" \
        | tee -a "results/$task.log" | grep '^RESULT ' | sed 's/^RESULT //' >> results/reference.jsonl
    done
  done
done
python3 tools/summarize_results.py results/reference.jsonl
