"""Re-judge against a full regrade: the same Experiment 2 submissions, after a threshold moved.

    .venv/bin/python benchmarks/rejudge.py [--count 20] [--workers N]

Makes ``--count`` Experiment 2 submissions from the reference notebook (each with a comment
of its own in a code cell, so that no two are identical and each really runs), collects and
grades them in a temporary course whose master is a copy of the kit's; then moves a judge's
threshold in that master (the test accuracy a model must reach: its judge loads each model and
measures it on MNIST) and regrades the batch re-judged (``dlkit grade --regrade``: only the
judges run, on the kept exports); then rewords a message of a judge that needs no model (the
pixel scale of q1_data) and re-judges again; then regrades in full (``--regrade --rerun``: every
notebook runs again). Prints the wall times side by side, the ratios (goal of issue #26: under
2 %) and whether the re-judge and the full regrade gave the same marks.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import nbformat

import dlkit.experiments as registry
from dlkit.collect import collect
from dlkit.gradebook import Gradebook
from dlkit.grading.grade import grade_experiment

EXP = "exp2-feedforward"
#: the judge's line the threshold change edits, and what it becomes
THRESHOLD = re.compile(r"""least = threshold\((['"])exp2-feedforward\1, (['"])test_accuracy\2\)""")
MOVED = "least = 0.999  # moved by benchmarks/rejudge.py: no reference model reaches it"
#: a message of a judge that loads no model, and its new words
MESSAGE = ('"divide by 255, the largest pixel value"', '"divide the pixels by 255"')


def course_copy(root: Path) -> registry.Experiment:
    """Experiment 2 with its master, starter and rubric copied under ``root`` (to be edited)."""
    kit = registry.get(EXP)
    for part in ("source", "release", "autograder"):
        shutil.copytree(kit.root / part / EXP, root / part / EXP)
    (root / "rubrics" / "free-form").mkdir(parents=True)
    for rubric in (kit.rubric, *kit.rubric.parent.glob(f"free-form/{EXP}.*")):
        shutil.copy2(rubric, root / "rubrics" / rubric.relative_to(kit.rubric.parent))
    return dataclasses.replace(kit, root=root)


def submissions(experiment: registry.Experiment, inbox: Path, count: int) -> None:
    reference = nbformat.read(experiment.root / "autograder" / EXP / experiment.master.name,
                              as_version=4)
    first_code = next(i for i, c in enumerate(reference.cells) if c.cell_type == "code")
    for n in range(count):
        nb = nbformat.from_dict(reference)
        nb.cells[first_code].source = f"# submitted by student {41001 + n}\n" + \
            nb.cells[first_code].source
        nbformat.write(nb, inbox / f"{41001 + n}_{EXP}.ipynb")


def edit_master(experiment: registry.Experiment, pattern: re.Pattern, new: str) -> None:
    nb = nbformat.read(experiment.master, as_version=4)
    edits = 0
    for cell in nb.cells:
        cell.source, n = pattern.subn(new, cell.source)
        edits += n
    if not edits:
        raise SystemExit(f"{pattern.pattern!r} is not in {experiment.master}")
    nbformat.write(nb, experiment.master)


def marks(gradebook: Gradebook) -> dict[str, tuple[str, float, str]]:
    with gradebook.session() as s:
        return {s.merge(r).submission.student_roll: (r.status, r.score, r.mode)
                for r in gradebook.current_runs(EXP)}


def timed(label: str, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    summary = grade_experiment(EXP, gpus="none", progress=True, **kwargs)
    seconds = time.perf_counter() - started
    print(f"{label}: {summary.graded} run(s) in {seconds:.1f} s ({summary.rejudged} re-judged, "
          f"statuses {summary.statuses})", flush=True)
    return seconds, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20, help="submissions (default 20)")
    parser.add_argument("--workers", type=int, default=None,
                        help="notebooks at once (default: the grader's plan for Experiment 2)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dlkit-rejudge-") as tmp:
        root = Path(tmp)
        experiment = course_copy(root / "kit")
        registry.EXPERIMENTS[EXP] = experiment  # this process grades the copy
        inbox, course = root / "inbox", root / "course"
        inbox.mkdir()
        submissions(experiment, inbox, args.count)
        gradebook = Gradebook.open(course)
        collect(EXP, inbox, course=course, gradebook=gradebook)
        common = {"course": course, "gradebook": gradebook, "workers": args.workers}
        first, _ = timed("first grading", **common)
        before = marks(gradebook)
        edit_master(experiment, THRESHOLD, MOVED)
        rejudged, summary = timed("regrade, re-judged (threshold)", regrade=True, **common)
        if summary.rejudged != args.count:
            raise SystemExit(f"only {summary.rejudged} of {args.count} were re-judged")
        edit_master(experiment, re.compile(re.escape(MESSAGE[0])), MESSAGE[1])
        reworded, summary = timed("regrade, re-judged (message)", regrade=True, **common)
        if summary.rejudged != args.count:
            raise SystemExit(f"only {summary.rejudged} of {args.count} were re-judged")
        after_rejudge = marks(gradebook)
        full, _ = timed("regrade, every notebook run again", regrade=True, rejudge=False,
                        **common)
        after_full = marks(gradebook)
    same = {r: m[:2] for r, m in after_rejudge.items()} == {r: m[:2] for r, m in after_full.items()}
    changed = sum(before[r][1] != after_full[r][1] for r in before)
    print(f"\n{EXP}, {args.count} submissions, {os.cpu_count()} CPU(s)")
    print(f"{'first grading':<34}{first:8.1f} s")
    print(f"{'full regrade (every notebook runs)':<34}{full:8.1f} s")
    print(f"{'re-judge, a threshold moved':<34}{rejudged:8.1f} s   "
          f"{rejudged / full:6.1%} of the full regrade (goal < 2%)")
    print(f"{'re-judge, a message reworded':<34}{reworded:8.1f} s   "
          f"{reworded / full:6.1%} of the full regrade")
    print(f"same marks both ways: {'yes' if same else 'NO'}; "
          f"{changed} submission(s) changed marks with the moved threshold")


if __name__ == "__main__":
    main()
