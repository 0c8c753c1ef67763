"""The practical exam's release: every student's own starter, and what grades it.

:func:`release_exam` takes the exam plan (which experiment each eligible student performs,
:func:`dlkit.reports.exam.plan_exam`) and draws each student's variant of it
(:func:`dlkit.variants.draw_variants`, over the whole batch in roll order, so neighbours differ
even in the same experiment). otter assigns each experiment once; each distinct variant is then
filled in the same way as a term-work release fills thresholds (brief, given code, public and
hidden tests), so brief and grader cannot drift. Written, only when every check passes:

- ``release/exams/<date>-<batch>/<roll>/``: the student's starter (notebook and public tests);
- ``autograder/exams/<date>-<batch>/<experiment>/<variant>/``: the hidden tests and zip of each
  variant (for otter or Gradescope; dlkit's own grader binds the variant into the master's
  tests itself, from the seat);
- ``autograder/exams/<date>-<batch>/exam.json``: who performs what, with which parameters: what
  the portal's exam slot and the grader read.

The release checks run on every variant's starter (no leak; every criterion stated, parameters
included) and, on a sample of variants per experiment, the grading checks (the reference solution
executed with that variant's parameters gets full marks; the unanswered starter gets zero).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from dlkit.errors import DlkitError
from dlkit.experiments import get as get_experiment
from dlkit.notebook.master import read_master
from dlkit.release import (
    ReleaseCheckFailed,
    ReleaseResult,
    assign,
    check_marks,
    check_rules,
    fill_build,
    leak_scan,
)
from dlkit.reports.exam import ExamPlan
from dlkit.reports.viva import batch_slug
from dlkit.variants import Variant, draw_variants, variant_of

EXAM_FILE = "exam.json"


@dataclass(frozen=True)
class Seat:
    roll: str
    name: str
    experiment: str
    variant: Variant
    starter: str  # relative to the course folder


@dataclass
class ExamRelease:
    batch: str
    date: dt.date
    seed: int
    seats: list[Seat] = field(default_factory=list)
    #: experiment -> the variant keys whose reference and empty starter were graded
    checked: dict[str, list[str]] = field(default_factory=dict)


def exam_name(date: dt.date, batch: str) -> str:
    return f"{date.isoformat()}-{batch_slug(batch)}"


def exam_file(course: Path, date: dt.date, batch: str) -> Path:
    return Path(course) / "autograder" / "exams" / exam_name(date, batch) / EXAM_FILE


def release_exam(plan: ExamPlan, course: Path, *, check_sample: int = 2,
                 progress: bool = True) -> ExamRelease:
    """Write every eligible student's starter for ``plan`` (see the module); ``check_sample``
    variants per experiment are graded (0: none). Nothing is replaced unless all checks pass."""
    from tqdm import tqdm

    course = Path(course).resolve()
    if not plan.allotments:
        raise DlkitError("no eligible student to release an exam for", where=plan.batch or "all")
    rolls = list(plan.allotments)
    released = ExamRelease(plan.batch, plan.date, plan.seed)
    name = exam_name(plan.date, plan.batch)
    by_experiment: dict[str, dict[str, Variant]] = {}
    for experiment_id in dict.fromkeys(plan.allotments.values()):
        experiment = get_experiment(experiment_id)
        check_rules(read_master(experiment.master), experiment)
        drawn = draw_variants(experiment, rolls, plan.date, plan.seed)
        by_experiment[experiment_id] = {roll: drawn[roll] for roll, e in plan.allotments.items()
                                        if e == experiment_id}
    distinct = sum(len(set(v.values())) for v in by_experiment.values())
    with tempfile.TemporaryDirectory(prefix="dlkit-exam-", dir=course) as tmp, \
            tqdm(total=distinct, desc=f"exam {name}", unit="variant", disable=not progress,
                 file=sys.stderr) as bar:
        staging = Path(tmp)
        for experiment_id, seats in by_experiment.items():
            experiment = get_experiment(experiment_id)
            master = assign(experiment, staging / "dist" / experiment_id)
            variants = sorted(set(seats.values()), key=lambda v: v.key())
            sample = sorted(variants, key=lambda v: _digest(name, v.key()))[:check_sample]
            for variant in variants:
                built = staging / "variants" / experiment_id / variant.key()
                fill_build(experiment, staging / "dist" / experiment_id, built, variant)
                release_dir = built / "release" / experiment_id
                leaks = leak_scan(master, release_dir, experiment, variant)
                if leaks:
                    raise ReleaseCheckFailed(
                        f"{len(leaks)} secret line(s) would reach students",
                        where=f"{experiment_id} ({variant.key()})",
                        fix="; ".join(f"{leak.path}: {leak.line!r}" for leak in leaks[:5]))
                if variant in sample:
                    bar.set_postfix_str(f"grading the reference, {variant.key()}")
                    check_marks(experiment, built / "autograder" / experiment_id, release_dir,
                                built / "solutions", ReleaseResult(experiment_id))
                    released.checked.setdefault(experiment_id, []).append(variant.key())
                bar.update()
            for roll, variant in seats.items():
                starter = Path("release") / "exams" / name / roll
                shutil.copytree(staging / "variants" / experiment_id / variant.key() / "release"
                                / experiment_id, staging / starter)
                released.seats.append(Seat(roll, plan.names.get(roll, ""), experiment_id, variant,
                                           str(starter / experiment.master.name)))
            for variant in variants:
                shutil.copytree(staging / "variants" / experiment_id / variant.key() / "autograder"
                                / experiment_id,
                                staging / "autograder" / "exams" / name / experiment_id / variant.key())
        released.seats.sort(key=lambda s: rolls.index(s.roll))
        (staging / "autograder" / "exams" / name).mkdir(parents=True, exist_ok=True)
        (staging / "autograder" / "exams" / name / EXAM_FILE).write_text(
            json.dumps(exam_record(released), indent=1) + "\n")
        for kind in ("release", "autograder"):
            target = course / kind / "exams" / name
            shutil.rmtree(target, ignore_errors=True)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(staging / kind / "exams" / name), target)
    return released


def exam_record(released: ExamRelease) -> dict:
    return {"batch": released.batch, "date": released.date.isoformat(), "seed": released.seed,
            "checked": released.checked,
            "seats": [{"roll": s.roll, "name": s.name, "experiment": s.experiment,
                       "variant": json.loads(s.variant.to_json()), "starter": s.starter}
                      for s in released.seats]}


def read_exam(course: Path, date: dt.date, batch: str) -> ExamRelease:
    """A released exam (``exam.json``), each seat's variant checked against the registry."""
    path = exam_file(course, date, batch)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DlkitError("this exam has not been released", where=str(path),
                         fix=f"dlkit exam release --batch {batch} --date {date.isoformat()}") from None
    except ValueError as exc:
        raise DlkitError(f"unreadable exam file: {exc}", where=str(path)) from None
    try:
        released = ExamRelease(record["batch"], dt.date.fromisoformat(record["date"]),
                               int(record["seed"]), checked=record.get("checked", {}))
        for seat in record["seats"]:
            experiment = get_experiment(seat["experiment"])
            released.seats.append(Seat(str(seat["roll"]), str(seat.get("name", "")),
                                       experiment.id, variant_of(experiment, seat["variant"]),
                                       str(seat["starter"])))
    except (KeyError, TypeError, AttributeError) as exc:
        raise DlkitError(f"exam file without the field {exc}", where=str(path),
                         fix="write it again with dlkit exam release") from None
    return released


@dataclass(frozen=True)
class ReleasedExam:
    """An exam ``exam release`` wrote (what the portal offers to open a slot for)."""

    name: str  # DATE-BATCH
    date: dt.date
    batch: str
    students: int


#: the largest exam.json read (a batch of 100 students writes about 30 kB)
EXAM_FILE_BYTES = 4 * 1024 * 1024


def released_exams(course: Path) -> list[ReleasedExam]:
    """Every released exam of the course, the newest date first; an unreadable exam.json is
    left out (opening it names the problem)."""
    found = []
    for path in sorted((Path(course) / "autograder" / "exams").glob(f"*/{EXAM_FILE}")):
        try:
            if path.is_symlink() or path.stat().st_size > EXAM_FILE_BYTES:
                continue
            record = json.loads(path.read_text(encoding="utf-8"))
            found.append(ReleasedExam(path.parent.name, dt.date.fromisoformat(record["date"]),
                                      str(record["batch"]), len(record["seats"])))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return sorted(found, key=lambda e: (e.date, e.batch), reverse=True)


def open_slot(course: Path, gradebook, *, date: dt.date, batch: str, room: str,
              starts_at: dt.datetime, ends_at: dt.datetime, by: str):
    """Open a practical-exam slot for a released exam: every seat of its ``exam.json`` (roll,
    experiment, variant, starter) recorded in the gradebook, between ``starts_at`` and
    ``ends_at`` (aware, or naive UTC). Returns the :class:`dlkit.gradebook.ExamSlot`."""
    from dlkit.gradebook import ExamSeat

    released = read_exam(course, date, batch)
    seats = [ExamSeat(roll=seat.roll, name=seat.name, experiment=seat.experiment,
                      variant=seat.variant.to_json(), starter=seat.starter)
             for seat in released.seats]
    return gradebook.open_exam_slot(batch=released.batch, room=room, exam_date=released.date,
                                    seed=released.seed, starts_at=_naive_utc(starts_at),
                                    ends_at=_naive_utc(ends_at), by=by, seats=seats)


def starter_path(course: Path, starter: str) -> Path | None:
    """A seat's starter notebook, when it is a regular file under ``release/exams/``."""
    folder = (Path(course) / "release" / "exams").resolve()
    path = (Path(course) / starter).resolve()
    return path if path.is_relative_to(folder) and path.is_file() else None


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
