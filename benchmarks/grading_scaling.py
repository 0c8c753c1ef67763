"""Grading scaling: N submissions graded with 1 worker, then with one per core, in one run.

    .venv/bin/python benchmarks/grading_scaling.py [EXPERIMENT ...] [--experiment ID ...] [--n 4]

For each experiment (default: all six), each pass collects N copies of the reference (as N
students) into a fresh course folder and grades them through the sandboxed grader. It prints the
batch's wall time, every run's per-phase timings (sandbox start, kernel start, prelude, cells,
collect, judge; CPU against wall; the kernel's threads), the cost the registry should record
(:class:`dlkit.experiments.Cost`: CPU seconds with one thread, thread appetite, contention), and
the default ``dlkit grade`` picks from the registry's cost, checked against both passes: the
default's wall must be the shortest (so never above 1 worker's), with no timeout (issue #18).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import nbformat

from dlkit.collect import collect
from dlkit.experiments import EXPERIMENTS, get
from dlkit.gradebook import Gradebook
from dlkit.grading.capacity import batch_seconds, plan_workers
from dlkit.grading.grade import grade_experiment

PHASES = ("sandbox start", "kernel start", "prelude", "cells", "collect", "judge")


def one_pass(experiment, n: int, workers: int):
    with tempfile.TemporaryDirectory(prefix="dlkit-scale-") as tmp:
        course = Path(tmp)
        inbox = course / "inbox"
        inbox.mkdir()
        reference = experiment.root / "autograder" / experiment.id / experiment.master.name
        for i in range(n):
            nb = nbformat.read(reference, as_version=4)
            nb.cells[-1].source += f"\n\n<!-- copy {i} -->"  # distinct files, same work
            nbformat.write(nb, inbox / f"{50001 + i}_{experiment.id}.ipynb")
        gradebook = Gradebook.open(course)
        collect(experiment.id, inbox, course=course, gradebook=gradebook)
        return grade_experiment(experiment.id, course=course, gradebook=gradebook,
                                workers=workers, gpus="none", progress=False)


def show(summary, workers: int) -> None:
    print(f"  {workers} worker(s): {summary.seconds:7.1f} s  {summary.statuses}")
    for t in summary.timings:
        phases = "  ".join(f"{p} {t[p]:.1f}" for p in PHASES if p in t)
        slowest = ", ".join(f"cell {c} {w:.0f}/{u:.0f}" for c, (w, u) in t["slowest cells"].items())
        print(f"    run: wall {t['wall']:.1f}  cpu {t['cpu']:.1f}  waited {t.get('waited', 0):.1f}"
              f"  threads {t['threads']} | {phases} | cells cpu {t['cells cpu']:.1f}"
              f" | slowest (wall/cpu s): {slowest}")


def measure(experiment, n: int, cores: int) -> dict:
    print(f"{experiment.id}: {n} submissions on {cores} cores", flush=True)
    passes = {}
    for workers in sorted({1, cores}):
        passes[workers] = one_pass(experiment, n, workers)
        show(passes[workers], workers)
    alone, shared = passes[1].timings, passes[cores].timings
    cpu1 = statistics.mean(t["cpu"] for t in shared)
    fitted = {"cpu_seconds": round(cpu1),
              "threads": round(min(cores, max(1.0, cpu1 / statistics.mean(t["wall"] for t in alone))), 2),
              "contention": round(max(1.0, statistics.mean(t["wall"] / t["cpu"] for t in shared)), 2)}
    plan = plan_workers(experiment, n, cores=cores)
    walls = {w: s.seconds for w, s in passes.items()}
    timeouts = sum(s.statuses.get("timeout", 0) for s in passes.values())
    # the default must be no slower than one worker, and the fastest of the passes (5%: noise)
    ok = walls[plan.workers] <= min(walls.values()) * 1.05 and timeouts == 0
    print(f"  measured cost: Cost(cpu_seconds={fitted['cpu_seconds']}, threads={fitted['threads']},"
          f" contention={fitted['contention']})  registry: {experiment.cost}")
    print(f"  default: {plan.workers} worker(s) x {plan.threads} thread(s), estimated "
          f"{plan.seconds:.0f} s, measured {walls[plan.workers]:.0f} s; 1 worker {walls[1]:.0f} s,"
          f" {cores} workers {walls[cores]:.0f} s (estimated {batch_seconds(experiment, n, cores, cores):.0f} s)"
          f" -> {'OK' if ok else 'NOT OK'} (default the fastest, {timeouts} timeout(s))", flush=True)
    return {"ok": ok, **fitted}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiments", nargs="*", help="experiment ids (default: all six)")
    parser.add_argument("--experiment", action="append", default=[], metavar="ID",
                        help="an experiment id; may be repeated (same as giving it positionally)")
    parser.add_argument("--n", type=int, default=4, help="submissions per pass (default 4)")
    args = parser.parse_args()
    chosen = list(dict.fromkeys(args.experiments + args.experiment)) or sorted(EXPERIMENTS)
    cores = os.cpu_count() or 1
    results = {e: measure(get(e), args.n, cores) for e in chosen}
    print("\nsummary:")
    for experiment_id, r in results.items():
        print(f"  {experiment_id:26s} {'OK' if r['ok'] else 'NOT OK':6s} Cost(cpu_seconds="
              f"{r['cpu_seconds']}, threads={r['threads']}, contention={r['contention']})")


if __name__ == "__main__":
    main()
