"""Feedback pages: one printable HTML page per student for their graded submission.

A page says what the grader found in words a student understands: the run's status, the score,
per question the points and messages, and the student's own plots. Hidden tests show only the
question, pass/fail and the author's hint, never test code; the summary never says "All tests
passed" while any test, hidden or public, failed (otter does).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from sqlalchemy.orm import Session

from dlkit import queries
from dlkit.experiments import Experiment
from dlkit.experiments import get as get_experiment
from dlkit.gradebook import (
    RUN_STATUSES,
    Gradebook,
    Result,
    Run,
    Submission,
    duration,
    result_labels,
    result_state,
    run_found,
)
from dlkit.notebook.master import read_master
from dlkit.reports.render import environment as templates
from dlkit.reports.render import write_atomic

log = logging.getLogger(__name__)

MAX_PLOTS = 6
MAX_PLOT_CHARS = 2_000_000  # base64 characters; a bigger image is left out of the page
MAX_HINT_CHARS = 300


# --------------------------------------------------------------------------- records

@dataclass(frozen=True)
class TestLine:
    """One test as a student sees it: hidden tests carry only their hint."""

    label: str
    hidden: bool
    passed: bool
    points: float
    max_points: float
    message: str
    state: str = "judged"  # or "not judged": neither passed nor failed
    #: what a judged public test measured on, in words ("ECG5000; inputs after your
    #: StandardScaler (`scaler`)")
    note: str = ""

    @property
    def judged(self) -> bool:
        return self.state == "judged"


@dataclass
class QuestionFeedback:
    name: str
    tests: list[TestLine] = field(default_factory=list)

    @property
    def points(self) -> float:
        return sum(t.points for t in self.tests)

    @property
    def max_points(self) -> float:
        return sum(t.max_points for t in self.tests)

    @property
    def passed(self) -> bool:
        return all(t.passed for t in self.tests)


@dataclass(frozen=True)
class ManualItem:
    """A question (or item such as a journal) marked by the instructor; ``points`` None if not yet."""

    name: str
    max_points: float
    points: float | None = None
    note: str = ""


@dataclass
class Feedback:
    """Everything one feedback page shows."""

    experiment: Experiment
    submission_id: int
    roll: str
    name: str
    version: int | None
    arrived_at: str
    lateness: str
    status: str
    status_words: str
    reason: str
    score: float
    max_score: float
    summary: str
    questions: list[QuestionFeedback]
    manual: list[ManualItem]
    newer_version: int | None = None
    plots: list[str] = field(default_factory=list)
    #: where the notebook stopped with an error (cell, first_line, error, message, frames)
    error: dict | None = None
    #: a free-form grading (no starter): the criteria judged automatically, by name; the ones
    #: left to the instructor are the ``manual`` items
    free_form: list[str] | None = None
    #: for a re-judged run: when, and the run whose exports it judged again ("" otherwise)
    rejudged: str = ""
    #: how the run was graded ("starter", "free-form"; "" for runs before modes were kept), why
    mode: str = ""
    mode_reason: str = ""
    #: the run's title: the experiment's, or (free-form) what the notebook was built on
    title: str = ""


# --------------------------------------------------------------------------- the API

def write_feedback(experiment_id: str, *, course: Path, gradebook: Gradebook,
                   out: Path | None = None, students: list[str] | None = None,
                   max_plots: int = MAX_PLOTS) -> list[Path]:
    """Write ``<out>/<roll>.html`` per student: their newest stored submission with a current run.

    ``out`` defaults to ``<course>/feedback/<experiment>``; ``students`` limits it to those rolls.
    Students without a graded run get no page; they are logged (see :func:`ungraded_students`).
    """
    experiment = get_experiment(experiment_id)
    out = out or course / "feedback" / experiment.id
    manual = manual_questions(experiment)
    with gradebook.session() as session:
        pages = [build_feedback(session, experiment, submission, run, manual)
                 for submission, run in queries.graded_submissions(session, experiment.id, students)]
    template = environment().get_template("feedback.html")
    written = []
    for page in pages:
        page.plots = notebook_plots(executed_notebook(course, experiment, page.submission_id),
                                     max_plots)
        path = out / f"{safe_filename(page.roll)}.html"
        write_atomic(path, template.render(page=page))
        written.append(path)
    missing = ungraded_students(experiment.id, gradebook, students)
    if missing:
        log.warning("no feedback for %d student(s) without a graded run of %s: %s",
                    len(missing), experiment.id, ", ".join(missing))
    return written


def ungraded_students(experiment_id: str, gradebook: Gradebook,
                      students: list[str] | None = None) -> list[str]:
    """Rolls (of ``students``, or of the whole roster) that have no graded run to give feedback on."""
    with gradebook.session() as session:
        graded = {sub.student_roll for sub, _ in queries.graded_submissions(session, experiment_id,
                                                                      students)}
        rolls = students if students is not None else [s.roll for s in queries.students(session)]
    return [roll for roll in rolls if roll not in graded]


# --------------------------------------------------------------------------- gathering

def build_feedback(session: Session, experiment: Experiment, submission: Submission, run: Run,
                   manual: dict[str, float]) -> Feedback:
    """The page's content for one submission and its run (read while the session is open)."""
    student = submission.student
    everything = list(run.results)
    results = [r for r in everything if result_state(r) != "instructor"]
    free_form = free_form_criteria(experiment, everything)
    if free_form is not None:
        manual = dict(free_form.manual)
    manual = {**manual, **{r.question: r.max_points for r in everything
                           if result_state(r) == "instructor"}}
    return Feedback(
        experiment=experiment, submission_id=submission.id, roll=submission.student_roll or "",
        name=student.name if student else "", version=submission.version,
        arrived_at=format_time(submission.arrived_at), lateness=lateness(submission),
        status=run.status, status_words=RUN_STATUSES.get(run.status, run.status),
        reason=run.reason, score=run.score, max_score=run.max_score,
        summary=summary_line(results, run.status), questions=question_feedback(results),
        manual=manual_items(session, experiment.id, submission.student_roll or "", manual),
        newer_version=newer_version(session, submission), error=run_error(run),
        free_form=judged_criteria(results) if free_form is not None else None,
        mode=run.mode or ("free-form" if free_form is not None else ""),
        mode_reason=run.mode_reason or "",
        title=run_title(experiment, everything, run.mode or ("free-form" if free_form is not None
                                                             else "")),
        rejudged=rejudged_words(session, run))


def rejudged_words(session: Session, run: Run) -> str:
    """"Re-judged on <when> ..." for a run that judged an earlier run's exports again."""
    if run.origin != "re-judged":
        return ""
    executed = session.get(Run, run.execution_of) if run.execution_of else None
    when = f" of {format_time(executed.started_at)}" if executed is not None else ""
    return (f"Re-judged on {format_time(run.started_at)}: the grader's tests changed, not your "
            f"notebook, so what your notebook's run{when} exported was judged again (it was not "
            "run again).")


def run_title(experiment: Experiment, results: list[Result], mode: str) -> str:
    """The page's title: the experiment's for a starter run; for a free-form run the data and
    backbone its judges found (:meth:`Experiment.title_for`), never the starter's data."""
    data, model = run_found(results)
    return experiment.title_for(data, model, free_form=mode == "free-form")


def free_form_criteria(experiment: Experiment, results: list[Result]):
    """The experiment's free-form rubric when ``results`` are of a free-form grading (its
    criteria, not the master's questions), else None."""
    from dlkit.rubrics import free_form_rubric

    rubric = free_form_rubric(experiment)
    questions = {r.question for r in results}
    return rubric if rubric is not None and questions and questions <= set(rubric.auto) else None


def judged_criteria(results: list[Result]) -> list[str]:
    """The criteria the grader did judge (not those it never reached, nor the instructor's)."""
    return list(dict.fromkeys(r.question for r in results if result_state(r) == "judged"))


def run_error(run: Run) -> dict | None:
    """The error a run stopped at, as the grader recorded it (None when it ran to the end)."""
    try:
        error = json.loads(run.error) if run.error else None
    except ValueError:
        return None
    return error if isinstance(error, dict) and error.get("cell") else None


def question_feedback(results: list[Result]) -> list[QuestionFeedback]:
    """Results grouped by question, in the order the grader wrote them."""
    questions: dict[str, QuestionFeedback] = {}
    for result in results:
        question = questions.setdefault(result.question, QuestionFeedback(result.question))
        question.tests.append(test_line(result))
    return list(questions.values())


def test_line(result: Result) -> TestLine:
    """A result as shown to a student: a public test's full message, a hidden test's hint."""
    label = "hidden test" if result.hidden else f"test {result.test + 1}"
    message = student_hint(result.message) if result.hidden else result.message
    return TestLine(label, result.hidden, result.passed, result.points, result.max_points,
                    message if not result.passed else "", result_state(result),
                    "" if result.hidden else measured_on(result))


def measured_on(result: Result) -> str:
    """Where a judged test measured, in words: its data and how the inputs were scaled."""
    labels = result_labels(result)
    parts = [f"measured on {labels['data']}"] if labels.get("data") else []
    if labels.get("inputs"):
        parts.append(f"inputs {labels['inputs']}")
    return "; ".join(parts)


def student_hint(message: str) -> str:
    """The author's hint of a hidden test: its message, cut before any traceback, kept short."""
    hint = re.split(r"Traceback \(most recent call last\)|\n\s*File \"", message)[0].strip()
    return hint if len(hint) <= MAX_HINT_CHARS else hint[:MAX_HINT_CHARS - 1] + "…"


def summary_line(results: list[Result], status: str = "graded") -> str:
    """An honest one-line summary: failed hidden tests are counted, never hidden behind a pass;
    tests not judged are counted apart, neither passed nor failed; the instructor's are not
    tests here."""
    results = [r for r in results if result_state(r) != "instructor"]
    unjudged = sum(1 for r in results if result_state(r) == "not judged")
    judged = [r for r in results if result_state(r) == "judged"]
    failed_public = sum(1 for r in judged if not r.passed and not r.hidden)
    failed_hidden = sum(1 for r in judged if not r.passed and r.hidden)
    passed = len(judged) - failed_public - failed_hidden
    if not results:
        text = "No tests were run."
    elif passed == len(results):
        text = f"All {len(results)} tests passed."
    elif not judged:
        text = f"None of the {len(results)} tests could be judged."
    else:
        parts = [f"{passed} of {len(results)} tests passed"]
        if failed_public:
            parts.append(f"{failed_public} public test(s) failed")
        if failed_hidden:
            parts.append(f"{failed_hidden} hidden test(s) failed")
        if unjudged:
            parts.append(f"{unjudged} not judged")
        text = "; ".join(parts) + "."
    if status not in ("graded", "missing object"):
        text = f"Your notebook did not finish: {RUN_STATUSES.get(status, status)}. " + text
    return text


def load_manifest(experiment: Experiment) -> dict | None:
    """The released ``autograder/<id>/manifest.json``, or None before the experiment is released."""
    path = experiment.root / "autograder" / experiment.id / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def manual_questions(experiment: Experiment) -> dict[str, float]:
    """Manual question -> points, from the released manifest (else from the master notebook)."""
    manifest = load_manifest(experiment)
    if manifest is not None:
        return {q["name"]: float(q["points"]) for q in manifest["questions"] if q.get("manual")}
    if experiment.master.exists():
        return {q.name: float(q.points) for q in read_master(experiment.master).questions
                if q.manual}
    return {}


def manual_items(session: Session, experiment_id: str, roll: str,
                 manual: dict[str, float]) -> list[ManualItem]:
    """Manual questions (marked or not yet), then any other items the instructor marked."""
    marks = queries.latest_marks(session, experiment_id, roll)
    items = []
    for name, max_points in manual.items():
        mark = marks.pop(name, None)
        items.append(ManualItem(name, max_points, mark.points if mark else None,
                                mark.note if mark else ""))
    items += [ManualItem(m.item, m.max_points, m.points, m.note) for m in marks.values()]
    return items


def newer_version(session: Session, submission: Submission) -> int | None:
    """The newest stored version, when it is newer than the graded one (not graded yet)."""
    newest = queries.newest_version(session, submission.experiment, submission.student_roll)
    return newest if newest is not None and newest != submission.version else None


# --------------------------------------------------------------------------- words

def format_time(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "unknown"


def lateness(submission: Submission) -> str:
    """"on time", "late by 1 day 2 h 5 min", or that no deadline was recorded."""
    if submission.late_seconds and submission.late_seconds > 0:
        return f"late by {duration(submission.late_seconds)}"
    return "on time" if submission.due_at else "no deadline recorded"


def points(value: float | None) -> str:
    """12.0 -> "12", 1.25 -> "1.25"."""
    return "" if value is None else f"{value:g}"


# --------------------------------------------------------------------------- plots

def executed_notebook(course: Path, experiment: Experiment, submission_id: int) -> Path | None:
    """The notebook the grader kept for a submission: the executed copy, else the one it ran."""
    work = course / "graded" / experiment.id / str(submission_id)
    for path in (work / "executed.ipynb", work / experiment.master.name):
        if path.exists():
            return path
    return None


def notebook_plots(path: Path | None, limit: int = MAX_PLOTS) -> list[str]:
    """Base64 PNGs of the notebook's image outputs, first ``limit`` of them (huge ones skipped)."""
    if path is None or limit <= 0:
        return []
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # noqa: BLE001 - a broken notebook just has no plots to show
        log.warning("no plots from %s: %s", path, exc)
        return []
    plots = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if isinstance(png, str) and len(png) <= MAX_PLOT_CHARS and _is_base64(png):
                plots.append("".join(png.split()))
                if len(plots) == limit:
                    return plots
    return plots


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


# --------------------------------------------------------------------------- output

def environment():
    """The reports' Jinja environment (autoescaping: names and messages are untrusted), with the
    ``points`` filter the feedback page uses."""
    env = templates()
    env.filters["points"] = points
    return env


def safe_filename(roll: str) -> str:
    return re.sub(r"[^\w.-]", "_", roll) or "_"


