"""The registry of experiments: one entry each; adding an experiment is adding one entry.

Thresholds live here, with the measured reference figures they were set from, and hidden tests
read them with :func:`threshold`, so a threshold is written down exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dlkit.errors import UnknownName

#: The repository root (source/, release/, autograder/, solutions/ live here).
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Threshold:
    value: float
    measured: str  # the reference runs it was set from, with the margin


@dataclass(frozen=True)
class Experiment:
    id: str
    number: int
    title: str
    datasets: tuple[str, ...]
    time_limit: int  # seconds a submission may run when graded (CPU)
    thresholds: dict[str, Threshold] = field(default_factory=dict)

    @property
    def master(self) -> Path:
        """The master notebook: ``source/<id>/<id>.ipynb``."""
        return ROOT / "source" / self.id / f"{self.id}.ipynb"

    @property
    def rubric(self) -> Path:
        return ROOT / "rubrics" / f"{self.id}.yml"


EXPERIMENTS: dict[str, Experiment] = {e.id: e for e in [
    Experiment(
        id="exp2-feedforward",
        number=2,
        title="Feed-forward neural network with Keras on MNIST",
        datasets=("mnist",),
        time_limit=600,
        thresholds={
            "test_accuracy": Threshold(0.97, "lab manual: >= 0.97 on the MNIST test set; "
                                             "reference: see REFERENCE_FIGURES"),
            "min_epochs": Threshold(3, "'several epochs' (manual step 6); reference trains 8"),
        },
    ),
    Experiment(
        id="exp4-autoencoder-anomaly",
        number=4,
        title="Autoencoder anomaly detection on MNIST (one digit normal)",
        datasets=("mnist",),
        time_limit=600,
        thresholds={
            "roc_auc": Threshold(0.95, "reference: see REFERENCE_FIGURES"),
        },
    ),
]}


def get(experiment_id: str) -> Experiment:
    try:
        return EXPERIMENTS[experiment_id]
    except KeyError:
        raise UnknownName("experiment", experiment_id, EXPERIMENTS) from None


def threshold(experiment_id: str, name: str) -> float:
    """The grading threshold ``name`` of an experiment (what hidden tests compare against)."""
    return get(experiment_id).thresholds[name].value
