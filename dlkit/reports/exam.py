"""The practical exam: which experiment each eligible student performs, slips and examiner's list.

:func:`plan_exam` allots the eligible students of a batch, in roll order, one experiment each:

1. balanced: the numbers of students per experiment differ by at most one;
2. no two neighbours (consecutive eligible students in roll order) get the same experiment;
3. deterministic for (eligible rolls, experiments, date, seed), with SHA-256, not ``hash()``;

and lists the ineligible students with the reason. :func:`write_exam` prints one slip per eligible
student (experiment with its title and aim, and the student's viva questions) and the examiner's
list (marks columns, and the ineligible students with reasons).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Union

from dlkit.errors import DlkitError
from dlkit.reports.viva import Question, batch_slug, experiment_labels, roll_key

if TYPE_CHECKING:  # course.py pulls in the gradebook (SQLAlchemy); only its types are needed
    from dlkit.reports.course import Course, StudentRecord


class ExamPlanError(DlkitError):
    """A practical exam that cannot be planned as asked."""


@dataclass(frozen=True)
class ExamCandidate:
    """A student of the batch as the exam plan needs them (a ``StudentRecord`` also works)."""

    roll: str
    name: str
    eligible: bool = True
    reason: str = ""  # why not eligible


@dataclass(frozen=True)
class Ineligible:
    roll: str
    name: str
    reason: str


@dataclass(frozen=True)
class ExamPlan:
    batch: str
    date: dt.date
    seed: int
    experiments: tuple[str, ...]
    allotments: dict[str, str]  # roll -> experiment id, eligible students in roll order
    names: dict[str, str]  # roll -> name, for every student of the plan
    ineligible: tuple[Ineligible, ...]  # in roll order

    def counts(self) -> dict[str, int]:
        """Students per experiment (every experiment listed, in the plan's order)."""
        counts = Counter(self.allotments.values())
        return {e: counts[e] for e in self.experiments}


Candidate = Union["ExamCandidate", "StudentRecord", tuple]


def plan_exam(candidates: Sequence[Candidate], experiments: Sequence[str], date: dt.date,
              seed: int = 0, *, batch: str = "") -> ExamPlan:
    """Allot every eligible candidate one of ``experiments``, with the guarantees of the module.

    ``candidates`` are :class:`ExamCandidate`, ``StudentRecord`` (``eligible`` and
    ``ineligible_reason``) or (roll, name, eligible, reason) tuples. ``batch`` defaults to the
    records' batch when they all share one.
    """
    students = sorted((_candidate(c) for c in candidates), key=lambda c: roll_key(c.roll))
    rolls = [c.roll for c in students]
    repeated = sorted({r for r in rolls if rolls.count(r) > 1}, key=roll_key)
    if repeated:
        raise ExamPlanError(f"roll(s) listed twice: {', '.join(repeated)}",
                            fix="list each student once")
    experiments = tuple(experiments)
    if not experiments or len(set(experiments)) != len(experiments):
        raise ExamPlanError("the exam needs a list of distinct experiments",
                            where=", ".join(experiments) or "none given")
    eligible = [c.roll for c in students if c.eligible]
    if len(experiments) == 1 and len(eligible) > 1:
        raise ExamPlanError("with one experiment, neighbours in roll order would share it",
                            where=experiments[0], fix="allot at least two experiments")
    if not batch:
        batches = {getattr(c, "batch", "") for c in candidates}
        batch = batches.pop() if len(batches) == 1 else ""
    digest = _digest("exam", *eligible, "|", *experiments, date.isoformat(), str(seed))
    return ExamPlan(batch, date, seed, experiments,
                    dict(zip(eligible, _sequence(len(eligible), experiments, digest), strict=True)),
                    {c.roll: c.name for c in students},
                    tuple(Ineligible(c.roll, c.name, c.reason or "not eligible")
                          for c in students if not c.eligible))


def _sequence(length: int, experiments: tuple[str, ...], digest: str) -> list[str]:
    """A seeded sequence of ``experiments``, balanced, with no two equal neighbours.

    Which experiments take the remainder is seeded; then each position takes, of the experiments
    it may take without making the rest impossible, the one with the smallest digest.
    """
    base, extra = divmod(length, len(experiments))
    lucky = sorted(experiments, key=lambda e: _digest(digest, "extra", e))[:extra]
    left = {e: base + (e in lucky) for e in experiments}
    sequence: list[str] = []
    for position in range(length):
        previous = sequence[-1] if sequence else None
        options = [e for e in experiments if left[e] and e != previous
                   and _arrangeable(left, e, length - position - 1)]
        if not options:  # cannot happen for a balanced count with two or more experiments
            raise ExamPlanError("no balanced allotment without equal neighbours",
                                where=f"position {position + 1} of {length}")
        choice = min(options, key=lambda e: _digest(digest, str(position), e))
        sequence.append(choice)
        left[choice] -= 1
    return sequence


def _arrangeable(left: Mapping[str, int], first: str, rest: int) -> bool:
    """Can the counts ``left`` less one ``first`` follow ``first`` with no equal neighbours?

    Exactly when no experiment needs more than every other place of the rest, and ``first``
    itself (which cannot take the first of them) no more than half of it, rounded down."""
    return all((n - (e == first)) <= (rest // 2 if e == first else (rest + 1) // 2)
               for e, n in left.items())


def _candidate(item: Candidate) -> ExamCandidate:
    if isinstance(item, ExamCandidate):
        return item
    if isinstance(item, tuple):
        roll, name, eligible, *reason = item
        return ExamCandidate(str(roll), str(name), bool(eligible), reason[0] if reason else "")
    return ExamCandidate(item.roll, item.name, bool(item.eligible),
                         getattr(item, "ineligible_reason", "") or getattr(item, "reason", ""))


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- papers

def write_exam(plan: ExamPlan, sets: Mapping[str, Sequence[Question]], out: Path, *,
               course: Course | None = None, bank_version: str = "",
               pdf: bool = True) -> list[Path]:
    """The exam slips (one page per eligible student) and the examiner's list.

    Written as ``out/exam/<date>/slips-<batch>`` and ``examiner-<batch>`` (.html, and .pdf with
    ``pdf``). ``sets`` are the viva sets by roll (see :func:`dlkit.reports.viva.viva_sets`);
    ``course`` (default: the course file) gives the titles and aims.
    """
    from dlkit.reports.render import render

    context = exam_context(plan, sets, course=course, bank_version=bank_version)
    folder = Path(out) / "exam" / plan.date.isoformat()
    slug = batch_slug(plan.batch)
    return (render("exam_slips.html", context, folder / f"slips-{slug}", pdf=pdf)
            + render("exam_examiner_list.html", context, folder / f"examiner-{slug}", pdf=pdf))


def exam_context(plan: ExamPlan, sets: Mapping[str, Sequence[Question]], *,
                 course: Course | None = None, bank_version: str = "") -> dict:
    """What the exam templates print (plain data; the templates escape it)."""
    if course is None:
        from dlkit.reports.course import load_course

        course = load_course()
    planned = {e.id: e for e in course.experiments}
    labels = experiment_labels(course)
    students = []
    for number, (roll, experiment_id) in enumerate(plan.allotments.items(), start=1):
        experiment = planned.get(experiment_id)
        questions = list(sets.get(roll, ()))
        students.append({
            "number": number, "roll": roll, "name": plan.names.get(roll, ""),
            "experiment": {"id": experiment_id,
                           "number": experiment.number if experiment else "",
                           "title": experiment.title if experiment else experiment_id,
                           "aim": experiment.aim if experiment else ""},
            "questions": [{"number": i, "id": q.id, "question": q.question,
                           "experiment": labels.get(q.experiment, q.experiment)}
                          for i, q in enumerate(questions, start=1)],
            "set_ids": [q.id for q in questions]})
    counts = [{"experiment": planned[e].number if e in planned else e,
               "title": planned[e].title if e in planned else e, "students": n}
              for e, n in plan.counts().items()]
    return {"batch": plan.batch, "date": plan.date.isoformat(), "seed": plan.seed,
            "course": course, "students": students, "ineligible": list(plan.ineligible),
            "counts": counts, "bank_version": bank_version,
            "out_of": course.practical.get("out_of", 25)}


# --------------------------------------------------------------------------- the PR marks

@dataclass(frozen=True)
class PracticalMarks:
    """A student's practical (PR) marks: the exam upload's test points scaled to the course's
    ``practical.performance``, the examiners' viva marks scaled to ``practical.viva``, and a PR
    mark entered by hand, which counts instead when given (the examiners' last word)."""

    performance: float | None
    viva: float | None
    entered: float | None = None
    #: what the performance is from: "exp 4: 16/18" (the experiment, the upload's test points)
    source: str = ""

    @property
    def total(self) -> float | None:
        from dlkit.reports.course import whole_marks

        if self.entered is not None:
            return self.entered
        if self.performance is None or self.viva is None:
            return None
        return whole_marks(self.performance + self.viva)


def practical_marks(gradebook, course: Course, rolls: Sequence[str]) -> dict[str, PracticalMarks]:
    """Roll -> :class:`PracticalMarks`, read in one transaction. A course file without
    ``practical.performance`` and ``practical.viva`` has only the PR marks entered by hand."""
    from dlkit import queries

    weights = course.practical
    performance_of, viva_of = weights.get("performance"), weights.get("viva")
    if (performance_of is None) != (viva_of is None) or (
            performance_of is not None and performance_of + viva_of != weights["out_of"]):
        raise DlkitError(f"practical: performance ({performance_of}) and viva ({viva_of}) must "
                         f"both be given and add up to out_of ({weights['out_of']})",
                         where="course.yml", fix="e.g. performance: 15, viva: 10, out_of: 25")
    found = {}
    with gradebook.session() as s:
        for roll in rolls:
            marks = queries.latest_marks(s, "course", roll)
            entered, viva = marks.get("PR"), marks.get("viva")
            result = queries.exam_result(s, roll) if performance_of else None
            performance = source = None
            if result is not None:
                upload, run = result
                performance = round(performance_of * run.score / run.max_score, 2) \
                    if run.max_score else 0.0
                source = f"exp {_number(upload.experiment)}: {run.score:g}/{run.max_score:g}"
            found[roll] = PracticalMarks(
                performance,
                round(viva_of * viva.points / viva.max_points, 2)
                if viva is not None and viva_of and viva.max_points else None,
                entered.points if entered is not None else None, source or "")
    return found


def _number(experiment_id: str) -> str:
    from dlkit.experiments import EXPERIMENTS

    experiment = EXPERIMENTS.get(experiment_id)
    return str(experiment.number) if experiment is not None else experiment_id


__all__ = ["ExamCandidate", "ExamPlan", "ExamPlanError", "Ineligible", "PracticalMarks",
           "exam_context", "plan_exam", "practical_marks", "write_exam"]
