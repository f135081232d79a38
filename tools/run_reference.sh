#!/usr/bin/env bash
# Runs the brief's reference models and the language models that the tool ships, each arm (regularized, plain) with
# several seeds, and writes one RESULT line per run to results/reference.jsonl; tools/summarize_results.py turns them
# into the tables of docs/results.md.
# Usage: tools/run_reference.sh [tasks...]   (default: s2 s4)
#   SEEDS="1 2 3" to change the seeds (default 1 2 3 4 5), ARMS="plain" to run one arm, EPOCHS=N to override a task's
#   default epochs. Each run keeps a backup in results/backups/ and its log in results/logs/: an interrupted script
#   given the same command again resumes the unfinished run where its last epoch ended and skips finished ones.
#   zaremba-small has no regularizer and runs as the one arm "plain".
set -euo pipefail
cd "$(dirname "$0")/.."
tasks=("${@:-s2 s4}")
seeds=${SEEDS:-"1 2 3 4 5"}
mkdir -p results/backups results/logs
dotnet build -c Release src/FastRnn.Tool -v q -nologo > /dev/null
for task in ${tasks[@]}; do
  arms=${ARMS:-"regularized plain"}
  [ "$task" = zaremba-small ] && arms=plain
  for arm in $arms; do
    for seed in $seeds; do
      log="results/logs/$task-$arm-$seed.log"
      if [ -f "$log" ] && grep -q '^RESULT ' "$log"; then
        echo "== $task $arm seed $seed: done before (see $log)" >&2
        continue
      fi
      echo "== $task $arm seed $seed" >&2
      dotnet src/FastRnn.Tool/bin/Release/net10.0/FastRnn.Tool.dll train --task "$task" --arm "$arm" --seed "$seed" \
        ${EPOCHS:+--epochs "$EPOCHS"} --backup "results/backups/$task-$arm-$seed.backup" >> "$log"
      grep '^RESULT ' "$log" | tail -1 | sed 's/^RESULT //' >> results/reference.jsonl
    done
  done
done
python3 tools/summarize_results.py results/reference.jsonl
