#!/usr/bin/python3
"""Prints the README's table of how training cost grows: throughput and GFLOP/s
of descent's training step (AdamW) against batch size (16 to 1024) and MLP
width (64 to 4096), on 1 and 2 cores, each GFLOP/s also as a fraction of the
sgemm 512³ rate on as many cores, measured in the same session.

    /usr/bin/python3 bench/scaling.py [--rounds 3] [--benchtime 1s]

It runs `go test -bench BenchmarkTrainScaling -cpu 1,2 ./train` --rounds
times, each round after the sgemm benchmarks, and prints medians. It needs a
quiet machine: it prints the load average before and after, and a warning if
the load before was above a quarter of the cores, in which case the table says
nothing about the cost of the sizes (the load after is mostly its own runs). A batch slower per sample than a smaller
one, or a width at fewer GFLOP/s than a narrower one, by more than the
rounds' spread, is marked with ⚠ and needs a sentence in the README saying
why.
"""
import argparse, os, statistics, sys

from compare import go_bench


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--benchtime", default="1s")
    a = ap.parse_args()
    cores = os.cpu_count()
    load0 = os.getloadavg()[0]
    runs, peaks = {}, {1: [], 2: []}
    for _ in range(a.rounds):
        for cpu in (1, 2):
            pattern = "^BenchmarkMatMulOneCore$/^float32$/^512$" if cpu == 1 else "^BenchmarkMatMul$/^float32$/^512$"
            for v in go_bench("./internal/kernel", pattern, "1s", "2").values():
                peaks[cpu].append(v["GFLOP/s"])
        for key, v in go_bench("./train", "^BenchmarkTrainScaling$", a.benchtime, "1,2").items():
            runs.setdefault(key, []).append(v)
    load1 = os.getloadavg()[0]

    print(f"load average {load0:.1f} before, {load1:.1f} after, on {cores} cores; "
          f"sgemm 512³: {statistics.median(peaks[1]):.0f} GFLOP/s on 1 core, {statistics.median(peaks[2]):.0f} on 2")
    # The load after is mostly the script's own 2-thread runs (about 1.5 on
    # 2 cores after three rounds), so only the load before says whether
    # something else was running.
    if load0 > cores / 4:
        print("WARNING: the machine was busy; these numbers do not show the cost of the sizes", file=sys.stderr)
    print()
    print("| model | batch | cores | samples/s | µs per sample | GFLOP/s | of sgemm |")
    print("|---|---|---|---|---|---|---|")
    prev = {}  # the last row of each series: (µs per sample, GFLOP/s, spreads)
    for (name, procs), vs in sorted(runs.items(), key=lambda kv: order(kv[0])):
        parts = name.split("/")
        width_series = parts[1] == "width"
        model, batch = parts[-2], int(parts[-1][len("batch"):])
        sps = [v["samples/s"] for v in vs]
        us = [1e6 / x for x in sps]
        gs = [v["GFLOP/s"] for v in vs]
        row = (statistics.median(us), statistics.median(gs), max(us) - min(us), max(gs) - min(gs))
        # Batch series: a larger batch may not cost more per sample. Width
        # series (batch 128): a wider model does more work per sample, so
        # it may not run at fewer GFLOP/s.
        series = ("width", procs) if width_series else (model, procs)
        mark = ""
        if series in prev:
            p = prev[series]
            if width_series and row[1] < p[1] - max(row[3], p[3]) or not width_series and row[0] > p[0] + max(row[2], p[2]):
                mark = " ⚠"
        prev[series] = row
        print(f"| {model}{' (width)' if width_series else ''} | {batch} | {procs} | {statistics.median(sps):.0f} | {row[0]:.2f} | {row[1]:.1f}{mark} | {100 * row[1] / statistics.median(peaks[procs]):.0f}% |")


def order(key):
    name, procs = key
    parts = name.split("/")
    model, batch = parts[-2], int(parts[-1][len("batch"):])
    kind = 2 if parts[1] == "width" else (1 if model.startswith("cnn") else 0)
    width = int(model.split("-")[2]) if model.startswith("mlp") else 0
    return (kind, procs, width, batch)


if __name__ == "__main__":
    main()
