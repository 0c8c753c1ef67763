"""An experiment's rubric: the marks of ``rubrics/<id>.yml`` and its free-form criteria.

``rubrics/<id>.yml`` gives each question's points (``auto``, ``manual``, ``write_up``: what the
term-work report and the feedback pages add up) and, for free-form grading, ``free_form_rubric``
(each criterion's points, what is left to the instructor, the criteria's bars) and the
``free_form`` switch. The criteria themselves are ``rubrics/free-form/<id>.py``: one
``# %% <criterion>`` cell each, an ordinary extract/judge test (:mod:`dlkit.grading.free_form`).
A course's own copy (``dlkit init --with-masters``) is read before the kit's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from dlkit.experiments import ROOT
from dlkit.settings import rubric_data, rubric_path

#: The rubric key of the free-form marks scheme, and of its switch.
RUBRIC_KEY = "free_form_rubric"
SWITCH_KEY = "free_form"


def load_rubric(experiment_id: str, root: Path | None = None) -> dict:
    """``rubrics/<id>.yml`` (auto and manual questions with points); empty if none yet. Without
    ``root``: the experiment's own (a course's copy when the course has its own masters, see
    :func:`dlkit.experiments.use_course`), else the kit's."""
    if root is None:
        from dlkit.experiments import EXPERIMENTS

        known = EXPERIMENTS.get(experiment_id)
        own = rubric_path(known.root, experiment_id) if known is not None else None
        root = known.root if own is not None and own.exists() else ROOT
    return rubric_data(rubric_path(root, experiment_id)) or \
        {"experiment": experiment_id, "auto": {}, "manual": {}, "write_up": 5}


# --------------------------------------------------------------------------- free-form

@dataclass(frozen=True)
class Criterion:
    name: str
    points: float
    source: str  # an extract/judge test, as in a master's test cells


@dataclass(frozen=True)
class FreeFormRubric:
    experiment: str
    criteria: tuple[Criterion, ...]  # judged by the grader
    manual: dict[str, float] = field(default_factory=dict)  # left to the instructor

    @property
    def auto(self) -> dict[str, float]:
        return {c.name: c.points for c in self.criteria}


def criteria_path(root: Path, experiment_id: str) -> Path:
    """``rubrics/free-form/<id>.py``: the free-form criteria's cells."""
    return root / "rubrics" / "free-form" / f"{experiment_id}.py"


def free_form_rubric(experiment) -> FreeFormRubric | None:
    """The experiment's free-form rubric (marks from ``rubrics/<id>.yml``, criteria from
    ``rubrics/free-form/<id>.py``), or None when it has none. A criterion without its cell, or a
    cell without its marks, is refused by name."""
    marks = rubric_data(experiment.rubric).get(RUBRIC_KEY)
    tests = criteria_path(experiment.root, experiment.id)
    if not marks or not tests.exists():
        return None
    cells = criterion_cells(tests.read_text(encoding="utf-8"))
    auto = {str(k): float(v) for k, v in (marks.get("auto") or {}).items()}
    if set(auto) != set(cells):
        raise ValueError(f"{tests}: criteria {sorted(cells)} but {experiment.rubric} gives marks "
                         f"to {sorted(auto)}")
    return FreeFormRubric(experiment.id, tuple(Criterion(n, auto[n], cells[n]) for n in cells),
                          {str(k): float(v) for k, v in (marks.get("manual") or {}).items()})


def graded_free_form(experiment) -> bool:
    """``free_form: true`` in the experiment's rubric: grade every notebook free-form."""
    return bool(rubric_data(experiment.rubric).get(SWITCH_KEY, False))


def criterion_cells(text: str) -> dict[str, str]:
    """``# %% <name>`` cells of a criteria file (jupytext's percent format), by name."""
    cells: dict[str, str] = {}
    for chunk in re.split(r"^# %% *", text, flags=re.M)[1:]:
        name, _, body = chunk.partition("\n")
        cells[name.strip()] = body.strip() + "\n"
    return cells


def free_form_threshold(experiment_id: str, name: str) -> float:
    """A bar of a free-form criterion that the experiment registry does not hold, from the
    rubric's ``free_form_rubric: thresholds:`` (where it is stated with how it was chosen)."""
    from dlkit.experiments import get

    experiment = get(experiment_id)
    bars = (rubric_data(experiment.rubric).get(RUBRIC_KEY) or {}).get("thresholds") or {}
    if name not in bars:
        raise KeyError(f"{experiment.rubric}: {RUBRIC_KEY} has no threshold {name!r}")
    return float(bars[name])
