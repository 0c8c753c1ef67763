"""Full training runs (marker `slow`, `make test-slow`): the committed autograder zips grade the
reference, the unanswered notebook and deliberately wrong submissions as they should."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from dlkit.experiments import EXPERIMENTS, ROOT
from dlkit.release import otter_run

pytestmark = pytest.mark.slow


def _paths(experiment_id: str) -> tuple[Path, Path, Path]:
    grader = ROOT / "autograder" / experiment_id
    return (grader / f"{experiment_id}-autograder.zip", grader / f"{experiment_id}.ipynb",
            ROOT / "release" / experiment_id / f"{experiment_id}.ipynb")


def _grade(experiment_id: str, edits: dict[str, str], tmp_path: Path) -> dict[str, tuple]:
    """Grade the reference solution with ``edits`` (old -> new source text) applied."""
    zip_path, solution, _ = _paths(experiment_id)
    nb = nbformat.read(solution, as_version=4)
    for old, new in edits.items():
        hits = [c for c in nb.cells if old in c.source]
        assert hits, f"{old!r} not in the reference"
        for cell in hits:
            cell.source = cell.source.replace(old, new)
    submission = tmp_path / solution.name
    nbformat.write(nb, submission)
    return otter_run(zip_path, submission, timeout=EXPERIMENTS[experiment_id].time_limit * 2)


def _full(experiment_id: str, tmp_path: Path) -> dict[str, tuple]:
    return _grade(experiment_id, {}, tmp_path)


@pytest.mark.parametrize("experiment_id", sorted(EXPERIMENTS))
def test_gradescope_zip_gives_reference_full_and_released_zero(experiment_id, tmp_path):
    zip_path, _, released = _paths(experiment_id)
    full = _full(experiment_id, tmp_path)
    assert full and all(score == top for score, top in full.values()), full
    zero = otter_run(zip_path, released, timeout=EXPERIMENTS[experiment_id].time_limit * 2)
    assert set(zero) == set(full) and all(score == 0 for score, _ in zero.values()), zero


def _lost(scores: dict[str, tuple]) -> dict[str, float]:
    return {q: top - score for q, (score, top) in scores.items() if score < top}


def test_exp2_sigmoid_output_loses_the_architecture_marks(tmp_path):
    scores = _grade("exp2-feedforward", {'keras.layers.Dense(10, activation="softmax")':
                                         'keras.layers.Dense(10, activation="sigmoid")'}, tmp_path)
    # same accuracy as softmax (the loss sees the logits), so only the architecture test catches it
    assert _lost(scores) == {"q2_architecture": 2}


def test_exp2_one_epoch_loses_training_and_accuracy_marks(tmp_path):
    scores = _grade("exp2-feedforward", {"EPOCHS, BATCH_SIZE = 6, 256": "EPOCHS, BATCH_SIZE = 1, 256"},
                    tmp_path)
    assert _lost(scores) == {"q4_training": 1, "q5_accuracy": 4}


def test_exp4_trained_on_all_digits_loses_data_and_detection_marks(tmp_path):
    scores = _grade("exp4-autoencoder-anomaly",
                    {"normal = x_all[y_all == NORMAL_DIGIT]": "normal = x_all"}, tmp_path)
    assert _lost(scores) == {"q1_data": 2, "q5_auc": 4}
