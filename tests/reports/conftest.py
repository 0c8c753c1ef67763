"""A course of 60 students over batches B1-B4, built as the real workflow builds it: a roster
synced into the gradebook, submissions stored as ``collect`` stores them, grading runs written
by ``record_run`` (one of them regraded) and marks entered by hand. Built once per session; the tests only read it."""

from __future__ import annotations

import base64
import datetime as dt
import struct
import zlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import nbformat
import pytest
from sqlalchemy import event

from dlkit.gradebook import Gradebook, Submission
from dlkit.grading.tasks import Outcome
from dlkit.reports.course import Course, StudentRecord, load_course, student_records
from dlkit.roster import read_roster, sync_roster
from dlkit.rubrics import load_rubric

DEVANAGARI = "अमित पाटील"
ESCAPED = "R&D <Lab>"
FIRST = ("Aarav", "Priya", "Rohan", "Sneha", "Vikram", "Anjali", "Kunal", "Pooja", "Siddharth",
         "Neha", "Omkar", "Rutuja", "Tejas", "Shruti", "Yash")
LAST = ("Kulkarni", "Deshmukh", "Joshi", "Patil", "Shinde", "Jadhav", "Pawar", "Gokhale")
#: Auto-graded questions of the experiments without a rubric file yet (points).
OTHER_QUESTIONS = {"q1_setup": 2.0, "q2_model": 3.0, "q3_training": 3.0, "q4_result": 2.0}
#: The figure the grader measures in each experiment, with a typical value.
FIGURES = {
    "exp1-frameworks": ("test accuracy, slowest framework (grader)", 0.9712),
    "exp2-feedforward": ("test accuracy (grader)", 0.9801),
    "exp3-image-classifier": ("test accuracy (grader)", 0.8834),
    "exp4-autoencoder-anomaly": ("ROC AUC (grader)", 0.9627),
    "exp5-cbow": ("nearest-neighbour overlap (grader)", 0.4410),
    "exp6-transfer-learning": ("validation accuracy (grader)", 0.9150),
}
PLOTTED = ("41301", "41302", "41308")  # students whose executed notebooks have plots


@dataclass
class Plan:
    """What the fixture made happen to one student: the expectations the tests check."""

    roll: str
    name: str
    batch: str
    prn: str
    missing: set[int] = field(default_factory=set)  # experiment numbers never submitted
    late: dict[int, int] = field(default_factory=dict)  # experiment number -> days late
    timeout: set[int] = field(default_factory=set)
    practical: float | None = None


@dataclass
class CourseData:
    folder: Path
    gradebook: Gradebook
    course: Course
    plans: dict[str, Plan]
    records: list[StudentRecord]

    def record(self, roll: str) -> StudentRecord:
        return next(r for r in self.records if r.roll == roll)


def plan_students(batches: tuple[str, ...]) -> list[Plan]:
    plans = []
    for i in range(60):
        name = (DEVANAGARI if i == 0 else ESCAPED if i == 1
                else f"{FIRST[i % len(FIRST)]} {LAST[i % len(LAST)]}")
        plan = Plan(f"{41301 + i}", name, batches[i // 15], "" if i % 9 == 4 else f"72{2200 + i}A")
        if i % 11 == 5:
            plan.missing.add(3)
        if i % 17 == 9:
            plan.missing |= {5, 6}
        if i == 7:
            plan.timeout.add(4)
        if i % 6 == 2:
            plan.late[2] = 10  # half the timely mark
        if i % 13 == 4:
            plan.late[1] = 20  # no timely mark
        if i < 12 or 15 <= i < 20:
            plan.practical = float(10 + (i * 7) % 16)
        plans.append(plan)
    return plans


def questions(experiment_id: str) -> dict[str, float]:
    return {q: float(p) for q, p in (load_rubric(experiment_id).get("auto") or OTHER_QUESTIONS)
            .items()}


def outcome(experiment_id: str, student: int, status: str) -> Outcome:
    """A realistic run: most tests pass, a few fail by a pattern, the last one measures."""
    name, value = FIGURES[experiment_id]
    results = []
    items = list(questions(experiment_id).items())
    for index, (question, points) in enumerate(items):
        passed = status == "graded" and (student + index * 3) % 7 != 0
        measured = {name: round(value - (student % 5) / 100, 4)} \
            if index == len(items) - 1 and status == "graded" else {}
        results.append({"question": question, "test": 0, "hidden": index % 2 == 1,
                        "points": points if passed else 0.0, "max_points": points,
                        "passed": passed, "message": "" if passed else "failed",
                        "measured": measured})
    reason = "cell 9 was still running when the 10 min limit was reached" \
        if status == "timeout" else ""
    return Outcome(status, reason, 41.5, "cpu", "bubblewrap", results)


@cache
def png(kind: int) -> str:
    """A learning-curve PNG (axes, a train and a validation curve), base64; drawn pixel by pixel
    because matplotlib's first figure alone costs two seconds."""
    width, height = 240, 160
    pixels = [bytearray(b"\xff\xff\xff" * width) for _ in range(height)]

    def dot(x: int, y: int, colour: bytes) -> None:
        for dy in (0, 1):
            if 0 <= x < width and 0 <= y + dy < height:
                pixels[y + dy][3 * x:3 * x + 3] = colour

    for x in range(20, width - 10):
        dot(x, height - 20, b"\x30\x30\x30")
    for y in range(10, height - 20):
        dot(20, y, b"\x30\x30\x30")
    for x in range(21, width - 10):
        epoch = (x - 20) / 20 + 0.5
        for scale, colour in ((1.0, b"\x1f\x77\xb4"), (1.15 + kind * 0.1, b"\xff\x7f\x0e")):
            dot(x, height - 20 - int(120 * min(1.0, scale * 0.5 / epoch + 0.05 * kind)), colour)
    raw = b"".join(b"\x00" + bytes(line) for line in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data \
            + struct.pack(">I", zlib.crc32(kind + data))

    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                                0, 0, 0)) \
        + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    return base64.b64encode(data).decode()


def write_executed(path: Path) -> None:
    cell = nbformat.v4.new_code_cell("plot_history(history)")
    cell.outputs = [nbformat.v4.new_output("stream", text="Epoch 10/10\n")] + [
        nbformat.v4.new_output("display_data", data={"image/png": png(k), "text/plain": "<Figure>"})
        for k in range(3)]  # three plots: the report shows two
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)


def build_course(folder: Path) -> CourseData:
    course = load_course()
    gradebook = Gradebook.open(folder)
    # ~900 small transactions: without an fsync each (a test's gradebook needn't survive a crash)
    event.listen(gradebook.engine, "connect",
                 lambda connection, _: connection.execute("PRAGMA synchronous=OFF"))
    gradebook.engine.dispose()
    plans = plan_students(course.batches)
    roster = folder / "roster.csv"
    lines = ["roll,name,batch,email,prn"] + [
        f'{p.roll},"{p.name}",{p.batch.lower()},{p.roll}@example.in,{p.prn}' for p in plans]
    roster.write_text("\n".join(lines) + "\n", encoding="utf-8")
    sync_roster(gradebook, read_roster(roster, batches=course.batches))

    runs: list[tuple[int, Outcome]] = []
    with gradebook.session() as session:
        for i, plan in enumerate(plans):
            for planned in course.experiments:
                if planned.number in plan.missing:
                    continue
                days = plan.late.get(planned.number, i % 4)
                arrived = dt.datetime.combine(planned.planned, dt.time(10, 30)) \
                    + dt.timedelta(days=days, minutes=i)
                due = dt.datetime.combine(planned.planned, dt.time(23, 59))
                submission = Submission(
                    experiment=planned.id, student_roll=plan.roll, version=1,
                    sha256=f"{i:032x}{planned.number:032x}",
                    path=f"submissions/{planned.id}/{plan.roll}.ipynb",
                    original_name=f"{plan.roll}.ipynb", source="test", arrived_at=arrived,
                    due_at=due, late_seconds=max(0.0, (arrived - due).total_seconds()),
                    status="stored")
                session.add(submission)
                session.flush()
                status = "timeout" if planned.number in plan.timeout else \
                    "missing object" if (i, planned.number) == (12, 6) else "graded"
                if (i, planned.number) == (3, 2):  # timed out first, then regraded
                    runs.append((submission.id, outcome(planned.id, i, "timeout")))
                runs.append((submission.id, outcome(planned.id, i, status)))
                if plan.roll in PLOTTED and planned.number in (2, 4):
                    write_executed(folder / "graded" / planned.id / str(submission.id)
                                   / "executed.ipynb")
    for submission_id, result in runs:
        gradebook.record_run(submission_id, result)

    for i, plan in enumerate(plans):
        for planned in course.experiments:
            if planned.number in plan.missing or i % 10 == 3 and planned.number == 6:
                continue  # not marked yet: "write-up not marked"
            gradebook.set_manual_mark(plan.roll, planned.id, "journal", 2 + (i + planned.number)
                                      % 4, 5, "prof")
            for question, points in (load_rubric(planned.id).get("manual") or {}).items():
                gradebook.set_manual_mark(plan.roll, planned.id, question, points * (i % 3) / 2,
                                          points, "prof")
        if i != 20:
            gradebook.set_manual_mark(plan.roll, "course", "attendance", 3 + i % 3, 5, "prof")
        if plan.practical is not None:
            gradebook.set_manual_mark(plan.roll, "course", "PR", plan.practical, 25, "examiner")
    records = student_records(gradebook, course, course_folder=folder)
    return CourseData(folder, gradebook, course, {p.roll: p for p in plans}, records)


@pytest.fixture(scope="session")
def course_data(tmp_path_factory) -> CourseData:
    data = build_course(tmp_path_factory.mktemp("course"))
    yield data
    data.gradebook.engine.dispose()
