"""Grade an experiment's reference solution, with edits, through its committed autograder zip."""

from __future__ import annotations

from pathlib import Path

import nbformat

from dlkit.experiments import EXPERIMENTS, ROOT
from dlkit.release import otter_run


def paths(experiment_id: str) -> tuple[Path, Path, Path]:
    """(autograder zip, executed reference solution, released student notebook)."""
    grader = ROOT / "autograder" / experiment_id
    return (grader / f"{experiment_id}-autograder.zip", grader / f"{experiment_id}.ipynb",
            ROOT / "release" / experiment_id / f"{experiment_id}.ipynb")


def grade(experiment_id: str, edits: dict[str, str], tmp_path: Path) -> dict[str, tuple]:
    """Scores of the reference solution with ``edits`` (old -> new source text) applied."""
    zip_path, solution, _ = paths(experiment_id)
    nb = nbformat.read(solution, as_version=4)
    for old, new in edits.items():
        hits = [c for c in nb.cells if old in c.source]
        assert hits, f"{old!r} not in the reference"
        for cell in hits:
            cell.source = cell.source.replace(old, new)
    submission = tmp_path / solution.name
    nbformat.write(nb, submission)
    return otter_run(zip_path, submission, timeout=EXPERIMENTS[experiment_id].time_limit * 2)


def lost(scores: dict[str, tuple]) -> dict[str, float]:
    """question -> points lost, for the questions that lost any."""
    return {q: top - score for q, (score, top) in scores.items() if score < top}
