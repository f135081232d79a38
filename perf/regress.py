#!/usr/bin/env python3
"""Compares a BenchmarkDotNet run of the key benchmarks with perf/baseline.json (see perf/README.md, "Regressions").

Every row's mean time is divided by the machine's FMA-peak time at the same thread count, measured in the same run
(MachineScalingBenchmarks), so a slower or busier machine moves both alike. A row whose ratio grew by more than the
tolerance (10%) against the baseline is flagged, and the exit code is 1.

    python3 perf/regress.py RESULTS_DIR            compare (exit 1 when a row got more than 10% worse)
    python3 perf/regress.py RESULTS_DIR --update   write the run's ratios as the new baseline
"""
import glob
import json
import os
import sys

TOLERANCE = 0.10
BASELINE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "baseline.json")


def rows(results_dir):
    found = {}
    for path in glob.glob(os.path.join(results_dir, "*-report-full*.json")):
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
        for b in report.get("Benchmarks", []):
            stats = b.get("Statistics")
            if not stats:
                continue
            key = f'{b["Type"]}.{b["Method"]}({b.get("Parameters", "")})'
            found[key] = (stats["Mean"], b.get("Parameters", ""), b["Type"], b["Method"])
    return found


def threads_of(parameters):
    for part in parameters.split("&"):
        name, _, value = part.partition("=")
        if name == "Threads":
            return int(value)
    return 1


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    found = rows(sys.argv[1])
    limits = {threads_of(p): mean for mean, p, t, m in found.values() if t == "MachineScalingBenchmarks" and m == "Fma"}
    if 1 not in limits:
        print("no MachineScalingBenchmarks.Fma row at 1 thread in the run: run perf/regress.sh, which includes it")
        return 2
    ratios = {}
    for key, (mean, parameters, type_name, method) in sorted(found.items()):
        if type_name == "MachineScalingBenchmarks":
            continue
        limit = limits.get(threads_of(parameters), limits[1])
        ratios[key] = mean / limit
    if "--update" in sys.argv:
        with open(BASELINE, "w", encoding="utf-8") as f:
            json.dump({"tolerance": TOLERANCE, "unit": "mean time / FMA-peak time at the same thread count, same run",
                       "rows": ratios}, f, indent=1, sort_keys=True)
            f.write("\n")
        print(f"wrote {len(ratios)} rows to {BASELINE}")
        return 0
    with open(BASELINE, encoding="utf-8") as f:
        baseline = json.load(f)["rows"]
    worse = 0
    print(f"{'row':100} {'baseline':>9} {'now':>9} {'change':>8}")
    for key, ratio in ratios.items():
        if key not in baseline:
            print(f"{key:100} {'-':>9} {ratio:9.4f}      new")
            continue
        change = ratio / baseline[key] - 1
        flag = "  WORSE" if change > TOLERANCE else ""
        worse += change > TOLERANCE
        print(f"{key:100} {baseline[key]:9.4f} {ratio:9.4f} {change:+8.1%}{flag}")
    for key in baseline.keys() - ratios.keys():
        print(f"{key:100} missing from this run")
    print(f"{worse} row(s) more than {TOLERANCE:.0%} worse than the baseline")
    return 1 if worse else 0


if __name__ == "__main__":
    sys.exit(main())
