"""The practical exam's session in the portal, over HTTP in process (no grading workers): the
examiner opens a slot for a released exam, each student downloads their own starter and uploads
within the slot, the upload is bound to the roll's variant and queued ahead of term work, the
slot closes and a late upload is refused, and the live view shows every seat.

Released exams are written as ``dlkit exam release`` writes them (its ``exam_record``), with the
toy's starter as each student's, so nothing here runs otter or trains a model; runs are recorded
with the coordinator's own ``record_run``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from dlkit.exam_release import ExamRelease, Seat, exam_file, exam_name, exam_record
from dlkit.experiments import get as get_experiment
from dlkit.gradebook import ExamSeat, utcnow
from dlkit.variants import default_variant, variant_of

from .conftest import STUDENTS, main_text
from .test_http import grade, stored

EXAM_DATE = dt.date(2027, 3, 22)
#: a variant of Experiment 4 that is not the term work's (7 and 3)
EXP4_VARIANT = {"normal_digit": 2, "k": 2.5}


def release_exam_for(course, seats: dict[str, tuple[str, dict]], batch: str = "B1",
                     date: dt.date = EXAM_DATE) -> str:
    """Write a released exam for ``seats`` (roll -> (experiment, variant values)) the way
    ``dlkit exam release`` does: each roll's starter folder and ``exam.json``. The starter is
    the experiment's released one (the toy's, or the kit's). Returns the exam's name."""
    name = exam_name(date, batch)
    released = ExamRelease(batch, date, 7)
    for roll, (experiment_id, values) in seats.items():
        experiment = get_experiment(experiment_id)
        source = experiment.root / "release" / experiment_id
        folder = course.folder / "release" / "exams" / name / roll
        shutil.copytree(source, folder)
        variant = variant_of(experiment, values) if values else default_variant(experiment)
        released.seats.append(Seat(roll, STUDENTS[roll][0], experiment_id, variant,
                                   str(Path("release", "exams", name, roll,
                                            experiment.master.name))))
    path = exam_file(course.folder, date, batch)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(exam_record(released), indent=1))
    return name


def local(moment: dt.datetime) -> str:
    """A naive UTC moment as the slot form's datetime-local field writes it (server's zone)."""
    return moment.replace(tzinfo=dt.UTC).astimezone().strftime("%Y-%m-%dT%H:%M")


def open_slot(instructor, name: str, starts: dt.datetime, ends: dt.datetime, room="Lab 3"):
    return instructor.post("/i/exam", data={"exam": name, "room": room, "starts": local(starts),
                                            "ends": local(ends)})


@pytest.fixture
def examiner(portal):
    client = portal()
    client.login_instructor()
    return client


def student(portal, roll: str, course):
    client = portal()
    client.login(roll, course.codes[roll])
    return client


def test_slot_opened_starters_uploads_bound_to_the_variant_ahead_of_term_work(
        course, portal, examiner):
    name = release_exam_for(course, {"101": ("toy", {}),
                                     "103": ("exp4-autoencoder-anomaly", EXP4_VARIANT)})
    now = utcnow()
    page = examiner.get("/i/exam")
    assert f'value="{name}"' in page.text and "2 student(s)" in main_text(page)
    refused = open_slot(examiner, name, now + dt.timedelta(hours=1), now)
    assert refused.status_code == 422 and "the slot must end after it starts" in main_text(refused)
    refused = examiner.post("/i/exam", data={"exam": "2020-01-01-B9", "starts": local(now),
                                             "ends": local(now + dt.timedelta(hours=1))})
    assert refused.status_code == 422 and "choose one of the released exams" in main_text(refused)
    opened = open_slot(examiner, name, now - dt.timedelta(minutes=2), now + dt.timedelta(hours=2))
    assert opened.status_code == 200
    assert "slot opened for batch B1: 2 student(s)" in main_text(opened)
    slot_url = str(opened.url).split("127.0.0.1", 1)[-1].split("testserver", 1)[-1]
    twice = open_slot(examiner, name, now, now + dt.timedelta(hours=1))
    assert twice.status_code == 422 and "already sit in a slot at that time: 101, 103" \
        in main_text(twice)

    # -- a student of the slot: their own experiment, parameters and starter
    asha = student(portal, "101", course)
    assert "Your practical exam: experiment 0, uploads open" in main_text(asha.get("/s"))
    mine = asha.get("/s/exam")
    assert "0. Toy experiment" in main_text(mine) and "open" in main_text(mine)
    starter = asha.get("/s/exam/starter.ipynb")
    assert starter.status_code == 200
    assert starter.content == (course.folder / "release/exams" / name / "101/toy.ipynb").read_bytes()
    archive = zipfile.ZipFile(io.BytesIO(asha.get("/s/exam/starter.zip").content))
    assert "exam-toy/toy.ipynb" in archive.namelist()
    meera = student(portal, "103", course)
    page = main_text(meera.get("/s/exam"))
    assert "4. Autoencoder anomaly detection on MNIST" in page
    assert "2 (the digit that is normal (every other is an anomaly))" in page
    assert "2.5 (the threshold rule: mean + k standard deviations)" in page
    # a student without a seat has no exam and no starter
    rohan = student(portal, "102", course)
    assert "You have no practical-exam slot now" in main_text(rohan.get("/s/exam"))
    assert rohan.get("/s/exam/starter.ipynb").status_code == 404
    refused = rohan.upload("exam", "mine.ipynb", course.notebook())
    assert refused.status_code == 422 and "no practical-exam slot now" in main_text(refused)

    # -- term work waits first, then the exam's uploads arrive: the exam is graded first
    assert rohan.upload("toy", "tw.ipynb", course.notebook(edit=("# Toy", "# tw"))).status_code == 200
    assert "stored and queued for grading ahead of term work" in \
        main_text(asha.upload("exam", "exam.ipynb", course.notebook()))
    assert meera.upload("exam", "exam.ipynb", course.notebook(edit=("# Toy", "# 103"))) \
        .status_code == 200
    queued = course.gradebook.queued()
    assert [(s.student_roll, s.exam_slot != 0) for s in queued] == \
        [("101", True), ("103", True), ("102", False)]
    by_roll = {s.student_roll: s for s in queued}
    assert json.loads(by_roll["103"].variant) == EXP4_VARIANT
    assert by_roll["103"].experiment == "exp4-autoencoder-anomaly"
    # the same notebook as the term work is still the exam's upload (not a "duplicate")
    assert {s.student_roll for s in course.gradebook.latest_submissions("toy")} == {"102"}
    assert set(course.gradebook.counted_submissions("toy")) == {"102"}
    again = asha.upload("exam", "exam2.ipynb", course.notebook(edit=("# Toy", "# again")))
    assert again.status_code == 422 and "previous upload is still waiting" in main_text(again)

    # -- the live view: graded, queued, the reason of a run that answered another variant
    note = ("this notebook answers another variant (NORMAL_DIGIT = 3); it was graded against "
            "this student's own (NORMAL_DIGIT = 2)")
    grade(course, by_roll["101"].id)
    grade(course, by_roll["103"].id, reason=note)
    live = examiner.get(slot_url)
    text = main_text(live)
    assert "Slot" in text and "open" in text and 'data-refresh="5"' in live.text
    row_101 = text.split("101", 1)[1].split("103", 1)[0]
    assert "graded" in row_101 and "3 / 5" in row_101
    assert note in text and "normal_digit 2; k 2.5" in text
    assert "Asha Kulkarni" in text and "Meera <Joshi>" in text  # escaped, shown as written

    # -- the examiner closes the slot: a late upload is refused, saying so
    closed = examiner.post(f"{slot_url}/close", form_page=slot_url)
    assert "uploads closed at" in main_text(closed)
    late = asha.upload("exam", "late.ipynb", course.notebook(edit=("# Toy", "# late")))
    assert late.status_code == 422
    assert "upload refused: the exam slot (batch B1, Lab 3) closed at" in main_text(late)
    assert "uploads are closed" in main_text(asha.get("/s/exam"))
    assert len([s for s in stored(course, "101") if s.exam_slot]) == 1
    final = examiner.get(slot_url)
    assert 'data-refresh' not in final.text and "closed" in main_text(final)
    assert "Close uploads now" not in final.text


def test_a_slot_closes_at_its_end_and_a_seat_is_found_around_it(course):
    gradebook = course.gradebook
    now = utcnow()
    slot = gradebook.open_exam_slot(
        batch="B1", room="", exam_date=EXAM_DATE, seed=0, starts_at=now - dt.timedelta(hours=2),
        ends_at=now - dt.timedelta(minutes=1), by="test",
        seats=[ExamSeat(roll="101", experiment="toy", variant="{}", starter="x")])
    assert gradebook.exam_seat("101", now) is None  # closed a minute ago
    near = gradebook.exam_seat("101", now, around=dt.timedelta(hours=1))
    assert near is not None and near.slot.id == slot.id
    assert gradebook.exam_seat("101", now + dt.timedelta(hours=2),
                               around=dt.timedelta(hours=1)) is None
    later = gradebook.open_exam_slot(
        batch="B1", room="", exam_date=EXAM_DATE, seed=0, starts_at=now + dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(hours=2), by="test",
        seats=[ExamSeat(roll="101", experiment="toy", variant="{}", starter="x")])
    assert gradebook.exam_seat("101", now + dt.timedelta(minutes=90)).slot.id == later.id
    # the nearest slot wins: 1 min after the first ended, 59 min before the next opens
    assert gradebook.exam_seat("101", now, around=dt.timedelta(hours=3)).slot.id == slot.id
    assert gradebook.close_exam_slot(later.id, now + dt.timedelta(minutes=70)).ends_at == \
        now + dt.timedelta(minutes=70)
    assert gradebook.close_exam_slot(later.id, now + dt.timedelta(hours=5)).ends_at == \
        now + dt.timedelta(minutes=70)  # closing later never reopens it


def test_a_starter_outside_release_exams_is_never_served(course, portal, examiner):
    name = release_exam_for(course, {"101": ("toy", {})})
    record_path = exam_file(course.folder, EXAM_DATE, "B1")
    record = json.loads(record_path.read_text())
    (course.folder / "secret.ipynb").write_text("{}")
    record["seats"][0]["starter"] = "release/exams/../../secret.ipynb"
    record_path.write_text(json.dumps(record))
    now = utcnow()
    assert open_slot(examiner, name, now - dt.timedelta(minutes=1),
                     now + dt.timedelta(hours=1)).status_code == 200
    asha = student(portal, "101", course)
    assert asha.get("/s/exam/starter.ipynb").status_code == 404
    broken = exam_file(course.folder, EXAM_DATE, "B2")
    broken.parent.mkdir(parents=True)
    broken.write_text(json.dumps({"batch": "B2", "date": "2027-03-22", "seed": 0,
                                  "seats": [{"roll": "103"}]}))
    refused = examiner.post("/i/exam", data={"exam": broken.parent.name, "starts": local(now),
                                             "ends": local(now + dt.timedelta(hours=1))})
    assert refused.status_code == 422 and "exam file without the field 'experiment'" \
        in main_text(refused)
