#!/usr/bin/env python3
"""Mean and spread over seeds of the RESULT lines tools/run_reference.sh collected: one Markdown table per task.
Usage: tools/summarize_results.py results/reference.jsonl"""
import json
import statistics
import sys
from collections import defaultdict

runs = defaultdict(list)
with open(sys.argv[1]) as lines:
    for line in lines:
        if line.strip():
            record = json.loads(line)
            runs[(record["task"], record["arm"])].append(record)


def cell(values, digits):
    """Mean ± sample deviation to `digits` significant digits; counts of seconds in whole seconds."""
    mean = statistics.mean(values)
    if mean >= 10 ** digits:
        text = f"{mean:.0f}"
        return text if len(values) == 1 else f"{text} ± {statistics.stdev(values):.0f}"
    if len(values) == 1:
        return f"{values[0]:.{digits}g}"
    return f"{mean:.{digits}g} ± {statistics.stdev(values):.{digits - 1}g}"


forecast = [("epochs", "epochs run", 3), ("best_epoch", "best epoch", 3), ("train_mse", "train MSE (std.)", 4),
            ("valid_mse", "validation MSE (std.)", 4), ("test_rmse", "test RMSE", 4), ("baseline_rmse", "baseline RMSE", 4),
            ("seconds", "seconds", 3)]
classify = [("epochs", "epochs run", 3), ("train_loss", "train loss", 3), ("valid_loss", "validation loss", 3),
            ("test_loss", "test loss", 3), ("train_accuracy", "train accuracy", 4), ("valid_accuracy", "validation accuracy", 4),
            ("test_accuracy", "test accuracy", 4), ("majority", "majority class", 4), ("seconds", "seconds", 3)]
language = [("epochs", "epochs", 3), ("train_perplexity", "train perplexity", 4), ("valid_perplexity", "validation perplexity", 4),
            ("test_perplexity", "test perplexity", 4), ("seconds", "seconds", 3)]
characters = [("epochs", "epochs", 3), ("train_bits", "train bits/char", 4), ("valid_bits", "validation bits/char", 4),
              ("test_bits", "test bits/char", 4), ("seconds", "seconds", 3)]
for task in sorted({task for task, _ in runs}):
    first = next(r for (t, _), rs in runs.items() if t == task for r in rs)
    columns = (forecast if "test_rmse" in first else language if "test_perplexity" in first
               else characters if "test_bits" in first else classify)
    print(f"\n### {task}\n")
    print("| arm | seeds | " + " | ".join(title for _, title, _ in columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    for arm in ("regularized", "dropout", "plain"):
        records = runs.get((task, arm), [])
        if records:
            seeds = ",".join(str(r["seed"]) for r in records)
            print(f"| {arm} | {seeds} | " + " | ".join(cell([r[key] for r in records], digits) for key, _, digits in columns) + " |")
