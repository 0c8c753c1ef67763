"""Grading scaling: N submissions graded with 1 worker, then with 2, in one run.

    .venv/bin/python benchmarks/grading_scaling.py [EXPERIMENT] [--n 4]

Each pass collects N copies of the reference (as N students) into a fresh course folder and
grades them. Goal (issue #6): wall(2 workers) <= 0.6 x wall(1 worker) on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import nbformat

from dlkit.collect import collect
from dlkit.experiments import get
from dlkit.gradebook import Gradebook
from dlkit.grading.grade import grade_experiment


def one_pass(experiment, n: int, workers: int) -> float:
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
        summary = grade_experiment(experiment.id, course=course, gradebook=gradebook,
                                   workers=workers, gpus="none", progress=False)
        assert summary.statuses == {"graded": n}, summary.statuses
        return summary.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", nargs="?", default="exp2-feedforward")
    parser.add_argument("--n", type=int, default=4)
    args = parser.parse_args()
    experiment = get(args.experiment)
    walls = {}
    for workers in (1, 2):
        walls[workers] = one_pass(experiment, args.n, workers)
        print(f"{args.n} submissions, {workers} worker(s): {walls[workers]:6.1f} s", flush=True)
    print(f"wall(2) / wall(1) = {walls[2] / walls[1]:.2f} (goal <= 0.60)")


if __name__ == "__main__":
    main()
