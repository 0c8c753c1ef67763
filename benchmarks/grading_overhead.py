"""Grading overhead: wall time of dlkit's grading of one submission / plain nbclient execution.

    .venv/bin/python benchmarks/grading_overhead.py [EXPERIMENT] [--repeat N]

Both run the same reference notebook (autograder/<exp>/<exp>.ipynb) in the same process, one
after the other, alternating. dlkit's time includes the sandbox, the extraction of every test's
objects and the judging in a separate process. Goal (issue #6): ratio <= 1.10.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import nbformat
from nbclient import NotebookClient

from dlkit.experiments import get
from dlkit.grading.plans import plan_tests
from dlkit.grading.run import grade_submission
from dlkit.sandbox import Limits, default_sandbox


def plain(notebook: Path, workdir: Path) -> float:
    nb = nbformat.read(notebook, as_version=4)
    started = time.perf_counter()
    NotebookClient(nb, timeout=1200, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(workdir)}}).execute()
    return time.perf_counter() - started


def graded(experiment, notebook: Path, workdir: Path) -> float:
    started = time.perf_counter()
    outcome = grade_submission(notebook, workdir / "work", plan_tests(experiment),
                               default_sandbox([workdir, experiment.root]),
                               Limits(seconds=experiment.time_limit),
                               name=experiment.master.name)
    seconds = time.perf_counter() - started
    assert outcome.status == "graded", (outcome.status, outcome.reason)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", nargs="?", default="exp2-feedforward")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    experiment = get(args.experiment)
    notebook = experiment.root / "autograder" / experiment.id / experiment.master.name
    times: dict[str, list[float]] = {"nbclient": [], "dlkit": []}
    with tempfile.TemporaryDirectory(prefix="dlkit-bench-") as tmp:
        folder = Path(tmp)
        for round_ in range(args.repeat):
            for kind in ("nbclient", "dlkit"):
                work = folder / f"{kind}-{round_}"
                work.mkdir()
                seconds = plain(notebook, work) if kind == "nbclient" else \
                    graded(experiment, notebook, work)
                times[kind].append(seconds)
                print(f"{kind:<9} round {round_ + 1}: {seconds:6.1f} s", flush=True)
                shutil.rmtree(work, ignore_errors=True)
    ratio = statistics.median(times["dlkit"]) / statistics.median(times["nbclient"])
    print(f"{experiment.id}: median dlkit {statistics.median(times['dlkit']):.1f} s, "
          f"nbclient {statistics.median(times['nbclient']):.1f} s, ratio {ratio:.2f} "
          "(goal <= 1.10)")


if __name__ == "__main__":
    main()
