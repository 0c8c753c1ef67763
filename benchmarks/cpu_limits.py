"""CPU time of each experiment's reference solution graded in the sandbox: what the registry's
time limits (CPU seconds, `dlkit/experiments.py`) are set from.

    .venv/bin/python benchmarks/cpu_limits.py [EXPERIMENT ...] [--slots N] [--json FILE]

Grades ``autograder/<id>/<id>.ipynb`` (the reference) through ``grade_submission`` in the
default sandbox, with one worker's share of this machine's threads when ``--slots`` workers
grade side by side (default: one per core, as ``dlkit grade`` runs), and prints its status,
marks, CPU seconds (the run's cgroup, or its process tree), wall seconds and the registry's
limit beside them. CPU time hardly depends on how busy the machine is; the wall time does.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from dlkit.experiments import EXPERIMENTS, get
from dlkit.grading.plans import plan_for, starter_for
from dlkit.grading.run import grade_submission
from dlkit.sandbox import Limits, default_sandbox


def measure(experiment_id: str, slots: int) -> dict:
    experiment = get(experiment_id)
    reference = experiment.root / "autograder" / experiment.id / f"{experiment.id}.ipynb"
    with tempfile.TemporaryDirectory(prefix=f"dlkit-cpu-{experiment.id}-") as folder:
        work = Path(folder) / "work"
        outcome = grade_submission(reference, work, plan_for(experiment),
                                   default_sandbox([Path(folder), experiment.root]),
                                   Limits(seconds=7200, wall_factor=5.0), slots=slots,
                                   starter=starter_for(experiment), name=reference.name)
    return {"experiment": experiment.id, "status": outcome.status, "reason": outcome.reason,
            "score": outcome.score, "max": sum(r["max_points"] for r in outcome.results),
            "cpu_seconds": round(outcome.cpu_seconds, 1), "wall_seconds": round(outcome.seconds, 1),
            "limit": experiment.time_limit, "slots": slots, "load": os.getloadavg()[0],
            "failed": [f"{r['question']}-{r['test']}: {r['message']}"[:300]
                       for r in outcome.results if not r["passed"]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiments", nargs="*", default=list(EXPERIMENTS))
    parser.add_argument("--slots", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", type=Path, default=None, help="Append each result here.")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    print(f"{'experiment':<26} {'status':<16} {'marks':>9} {'CPU s':>7} {'wall s':>7} "
          f"{'limit':>6} {'load':>5}", flush=True)
    for experiment_id in args.experiments:
        row = measure(experiment_id, args.slots)
        print(f"{row['experiment']:<26} {row['status']:<16} {row['score']:>4g}/{row['max']:<4g} "
              f"{row['cpu_seconds']:>7.0f} {row['wall_seconds']:>7.0f} {row['limit']:>6} "
              f"{row['load']:>5.1f}", flush=True)
        for line in [row["reason"], *row["failed"]]:
            if line:
                print(f"    {line}", flush=True)
        if args.json:
            with args.json.open("a") as out:
                out.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
