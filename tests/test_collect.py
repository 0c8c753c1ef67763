"""Collecting submissions: folders, Moodle and Google Classroom zips, nbgrader exchanges, and
every way an input can be refused — each with real files written by the test."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import struct
import zipfile
from pathlib import Path

import nbformat
import pytest
from sqlalchemy import select

from dlkit.collect import CollectReport, Limits, _read_at_most, _Rejected, collect
from dlkit.errors import CollectError, UnknownName
from dlkit.gradebook import Gradebook, Student, Submission
from dlkit.roster import RosterEntry

EXP = "exp2-feedforward"
ROSTER = [
    RosterEntry("41101", "Amit Patil", "B1", "amit@example.org"),
    RosterEntry("41102", "अमित पाटील", "B1", "amit.p@example.org"),
    RosterEntry("41103", "José Álvarez", "B2", "jose@example.org"),
    RosterEntry("TECOA104", "Tom & Jerry <TJ>", "B2", "tj@example.org"),
]
NOON = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def notebook(text: str = "x = 1") -> bytes:
    """A valid notebook whose bytes depend on ``text`` alone."""
    cell = nbformat.v4.new_code_cell(text, id="cell-1")
    return nbformat.writes(nbformat.v4.new_notebook(cells=[cell])).encode()


@pytest.fixture
def course(tmp_path) -> Path:
    return tmp_path / "course"


@pytest.fixture
def gradebook(course) -> Gradebook:
    return Gradebook.open(course)


@pytest.fixture
def run(course, gradebook):
    """``run(source, **kwargs)``: collect exp2 from ``source`` into the test's course."""
    def run(source: Path, **kwargs) -> CollectReport:
        kwargs.setdefault("roster", ROSTER)
        return collect(EXP, source, course=course, gradebook=gradebook, **kwargs)
    return run


def rows(gradebook: Gradebook) -> list[Submission]:
    with gradebook.session() as session:
        return list(session.scalars(select(Submission).order_by(Submission.id)))


def by_name(gradebook: Gradebook) -> dict[str, Submission]:
    return {row.original_name: row for row in rows(gradebook)}


def write_folder(folder: Path, files: dict[str, bytes], when: dt.datetime = NOON) -> Path:
    """Files with their modification time set to ``when``."""
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (when.timestamp(), when.timestamp()))
    return folder


def write_zip(path: Path, members: dict[str, bytes],
              when: tuple[int, ...] = (2026, 11, 20, 10, 0, 0)) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=when), data, zipfile.ZIP_DEFLATED)
    return path


def forge_size(path: Path, file_size: int) -> None:
    """Rewrite the uncompressed size that a one-member zip's headers claim."""
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, data.find(b"PK\x03\x04") + 22, file_size)
    struct.pack_into("<I", data, data.find(b"PK\x01\x02") + 24, file_size)
    path.write_bytes(bytes(data))


def rejected_reason(report: CollectReport, name: str) -> str:
    return next(o.reason for o in report.rejected if o.original_name == name)


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


# --------------------------------------------------------------------------- sources

def test_folder_matches_roll_numbers_and_names(tmp_path, run, gradebook, course):
    source = write_folder(tmp_path / "in", {
        "41101.ipynb": notebook("a"),
        "41102_exp2_final.ipynb": notebook("b"),
        "jose  ALVAREZ experiment 2.ipynb": notebook("c"),  # name, diacritics ignored
        "Exp2 TECOA104.ipynb": notebook("d"),  # roll number inside the name
    })
    report = run(source)
    assert [(o.original_name, o.student) for o in report.accepted] == [
        ("41101.ipynb", "41101"), ("41102_exp2_final.ipynb", "41102"),
        ("Exp2 TECOA104.ipynb", "TECOA104"), ("jose  ALVAREZ experiment 2.ipynb", "41103")]
    assert report.rejected == report.duplicates == []
    row = by_name(gradebook)["41101.ipynb"]
    assert (row.status, row.version, row.late_seconds, row.due_at) == ("stored", 1, 0.0, None)
    assert row.arrived_at == NOON.replace(tzinfo=None) and row.source == str(source)
    assert row.path == f"submissions/{EXP}/{row.sha256}.ipynb"
    assert (course / row.path).read_bytes() == notebook("a")
    with gradebook.session() as session:  # students come from the roster
        assert session.get(Student, "41102").name == "अमित पाटील"


def test_without_roster_the_file_name_gives_the_roll(tmp_path, run, gradebook):
    source = write_folder(tmp_path / "in", {"41107_final.ipynb": notebook(),
                                            "my notebook.ipynb": notebook("other")})
    report = run(source, roster=None)
    assert [o.student for o in report.accepted] == ["41107"]
    assert "without a roster, name it <roll number>.ipynb" in rejected_reason(
        report, "my notebook.ipynb")
    with gradebook.session() as session:
        student = session.get(Student, "41107")
        assert (student.roll, student.name) == ("41107", "41107")


def test_moodle_zip_maps_folder_names_through_the_roster(tmp_path, run, gradebook):
    source = write_zip(tmp_path / "moodle.zip", {
        "Amit Patil_1234567_assignsubmission_file_/Exp2.ipynb": notebook("a"),
        "अमित पाटील_1234568_assignsubmission_file_/प्रयोग 2.ipynb": notebook("b"),
        "JOSE   Alvarez_1234569_assignsubmission_file_/untitled.ipynb": notebook("c"),
        "Tom & Jerry <TJ>_1234570_assignsubmission_file_/exp.ipynb": notebook("d"),
    })
    report = run(source)
    assert sorted(o.student for o in report.accepted) == ["41101", "41102", "41103", "TECOA104"]
    local_ten = dt.datetime(2026, 11, 20, 10).astimezone(dt.UTC).replace(tzinfo=None)
    assert all(row.arrived_at == local_ten for row in rows(gradebook))  # the zip entry's time


def test_google_classroom_zip(tmp_path, run):
    source = write_zip(tmp_path / "classroom.zip", {
        "Experiment 2/Amit Patil - Exp2.ipynb": notebook("a"),
        "Experiment 2/José Álvarez_exp2.ipynb": notebook("b"),
        "Experiment 2/Unknown Account - 41102.ipynb": notebook("c"),  # roll number in the name
        "Experiment 2/Nobody Known - exp2.ipynb": notebook("d"),
    })
    report = run(source)
    assert {o.original_name.split("/")[1]: o.student for o in report.accepted} == {
        "Amit Patil - Exp2.ipynb": "41101", "José Álvarez_exp2.ipynb": "41103",
        "Unknown Account - 41102.ipynb": "41102"}
    assert rejected_reason(report, "Experiment 2/Nobody Known - exp2.ipynb").startswith(
        "no student of the roster matches")


def test_nbgrader_exchange_timestamps_are_arrival_times(tmp_path, run, gradebook):
    inbound = tmp_path / "exchange" / "dl-lab" / "inbound"
    write_folder(inbound, {
        f"41101+{EXP}+2026-11-20 10:15:03.123456 UTC/exp2.ipynb": notebook("first"),
        f"41101+{EXP}+2026-11-21 12:00:00.000000 UTC/exp2.ipynb": notebook("second"),
        f"41101+{EXP}+2026-11-21 12:00:00.000000 UTC/timestamp.txt": b"2026-11-21",
        "41101+exp4-autoencoder-anomaly+2026-11-20 09:00:00.000000 UTC/exp4.ipynb": notebook(),
        f"99999+{EXP}+2026-11-20 09:00:00.000000 UTC/exp2.ipynb": notebook("stranger"),
    })
    report = run(tmp_path / "exchange", due=NOON)  # the exchange root, with one course
    assert [(o.student, o.reason) for o in report.accepted] == [
        ("41101", "version 1"), ("41101", "version 2, late by 1 day")]
    assert report.rejected[0].reason == "student '99999' is not in the roster"
    first, second = (row for row in rows(gradebook) if row.status == "stored")
    assert first.arrived_at == dt.datetime(2026, 11, 20, 10, 15, 3, 123456)
    assert (first.late_seconds, second.late_seconds) == (0.0, 86400.0)
    assert second.due_at == dt.datetime(2026, 11, 20, 12, 0)
    assert any("exp4-autoencoder-anomaly" in name for name in report.ignored)


# --------------------------------------------------------------------------- refusals

def test_not_a_notebook(tmp_path, run, gradebook):
    source = write_folder(tmp_path / "in", {"41101.pdf": b"%PDF-1.4\n", "41102.py": b"x = 1\n",
                                            "41103.ipynb": b"%PDF-1.4\n\xff\xfe"})
    report = run(source)
    assert rejected_reason(report, "41101.pdf").startswith("not a notebook (.pdf)")
    assert rejected_reason(report, "41102.py").startswith("not a notebook (.py)")
    assert rejected_reason(report, "41103.ipynb").startswith("not a notebook: the file is not text")
    assert by_name(gradebook)["41101.pdf"].student_roll == "41101"
    assert report.accepted == []


def test_corrupt_json(tmp_path, run, gradebook):
    source = write_folder(tmp_path / "in", {"41101.ipynb": notebook()[:-40]})
    report = run(source)
    assert "damaged notebook: not valid JSON (line" in report.rejected[0].reason
    row = rows(gradebook)[0]
    assert (row.status, row.student_roll, row.version, row.path) == (
        "rejected", "41101", None, None)


@pytest.mark.parametrize("content, reason", [
    ({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": []},
     "notebook format 3; the grader reads format 4"),
    ({"hello": "world"}, "not a Jupyter notebook"),
    ([1, 2, 3], "not a Jupyter notebook"),
    ({**json.loads(notebook()), "cells": [{"cell_type": "bogus", "metadata": {}, "source": ""}]},
     "invalid notebook (cell 1): it is not valid"),
    ({**json.loads(notebook()), "cells": 5}, "invalid notebook: TypeError"),
])
def test_wrong_notebook_format(tmp_path, run, content, reason):
    source = write_folder(tmp_path / "in", {"41101.ipynb": json.dumps(content).encode()})
    assert run(source).rejected[0].reason.startswith(reason)


def test_empty_file(tmp_path, run):
    report = run(write_folder(tmp_path / "in", {"41101.ipynb": b""}))
    assert report.rejected[0].reason.startswith("empty file (0 bytes)")


def test_unknown_student(tmp_path, run, gradebook):
    report = run(write_folder(tmp_path / "in", {"99999.ipynb": notebook()}))
    assert report.rejected[0].student is None
    assert report.rejected[0].reason.startswith("no student of the roster matches")
    assert rows(gradebook)[0].student_roll is None


def test_notebook_over_the_size_limit(tmp_path, run):
    report = run(write_folder(tmp_path / "in", {"41101.ipynb": notebook()}),
                 limits=Limits(notebook_bytes=100))
    assert report.rejected[0].reason.startswith("file too large")


def test_zip_bomb_member_refused_by_its_compression_ratio(tmp_path, run, gradebook):
    source = write_zip(tmp_path / "bomb.zip", {"41101.ipynb": b"0" * (8 * 1024 * 1024),
                                               "41102.ipynb": notebook()})
    report = run(source)
    assert "possible zip bomb" in rejected_reason(report, "41101.ipynb")
    assert [o.student for o in report.accepted] == ["41102"]  # the batch goes on


@pytest.mark.parametrize("limits, claimed", [(Limits(), 300 * 1024 * 1024),
                                             (Limits(zip_bytes=1000), None)])
def test_zip_bomb_refused_by_the_total_size_in_its_headers(tmp_path, run, gradebook, limits,
                                                            claimed):
    source = write_zip(tmp_path / "bomb.zip", {"41101.ipynb": notebook("x" * 2000)})
    if claimed:
        forge_size(source, claimed)
    with pytest.raises(CollectError, match="zip refused: it unpacks to") as caught:
        run(source, limits=limits)
    assert caught.value.where == str(source) and caught.value.fix
    assert rows(gradebook) == []


def test_zip_whose_headers_understate_the_size_is_not_read_past_them(tmp_path, run, course):
    source = write_zip(tmp_path / "liar.zip", {"41101.ipynb": b" " * (5 * 1024 * 1024)})
    forge_size(source, 1000)
    report = run(source)
    assert rejected_reason(report, "41101.ipynb").startswith("damaged zip member")
    assert not (course / "submissions").exists()


def test_reading_stops_once_the_bytes_exceed_the_limit():
    class Endless(io.RawIOBase):
        reads = 0

        def readinto(self, buffer) -> int:
            self.reads += 1
            buffer[:] = b"\0" * len(buffer)
            return len(buffer)

    stream = Endless()
    with pytest.raises(_Rejected, match="file too large"):
        _read_at_most(stream, 3 * 1024 * 1024)
    assert stream.reads == 4
    assert _read_at_most(io.BytesIO(b"abc"), 3) == b"abc"


def test_zip_members_with_unsafe_paths_are_refused(tmp_path, run, gradebook, course):
    members = ["../41101.ipynb", "/tmp/41101.ipynb", "a/../../41101.ipynb", "..\\41101.ipynb",
               "C:/41101.ipynb"]
    source = write_zip(tmp_path / "evil.zip", {name: notebook() for name in members}
                       | {"41102.ipynb": notebook()})
    before = files_under(tmp_path)
    report = run(source)
    assert len(report.rejected) == len(members)
    assert all(o.reason.startswith("unsafe path in the zip") for o in report.rejected)
    assert [o.student for o in report.accepted] == ["41102"]
    written = files_under(tmp_path) - before
    assert all(name.startswith("course/") for name in written)
    stored = by_name(gradebook)["41102.ipynb"]
    assert [p.name for p in (course / "submissions" / EXP).iterdir()] == [f"{stored.sha256}.ipynb"]


def test_two_files_of_one_student_become_versions_in_arrival_order(tmp_path, run, gradebook):
    source = tmp_path / "in"
    write_folder(source, {"41101.ipynb": notebook("late")}, NOON)
    write_folder(source, {"41101_v2.ipynb": notebook("early")}, NOON - dt.timedelta(hours=2))
    write_folder(source, {"41101_copy.ipynb": notebook("late")}, NOON + dt.timedelta(hours=1))
    report = run(source, due=NOON - dt.timedelta(hours=1))
    assert [(o.original_name, o.reason) for o in report.accepted] == [
        ("41101_v2.ipynb", "version 1"), ("41101.ipynb", "version 2, late by 1 h")]
    assert [(o.original_name, o.reason) for o in report.duplicates] == [
        ("41101_copy.ipynb", "identical to version 2, already stored")]
    stored = by_name(gradebook)
    assert stored["41101.ipynb"].late_seconds == 3600.0
    assert stored["41101_copy.ipynb"].status == "duplicate"
    assert stored["41101_copy.ipynb"].path == stored["41101.ipynb"].path


def test_collecting_twice_stores_nothing_new(tmp_path, run, gradebook, course):
    source = write_zip(tmp_path / "moodle.zip", {
        "Amit Patil_1_assignsubmission_file_/a.ipynb": notebook("a"),
        "José Álvarez_2_assignsubmission_file_/b.ipynb": notebook("b")})
    first = run(source)
    files = {p: p.stat().st_mtime_ns for p in (course / "submissions").rglob("*")}
    second = run(source)
    assert len(first.accepted) == 2 and second.accepted == []
    assert [o.reason for o in second.duplicates] == ["identical to version 1, already stored"] * 2
    assert {p: p.stat().st_mtime_ns for p in (course / "submissions").rglob("*")} == files
    assert [r.version for r in rows(gradebook) if r.status == "stored"] == [1, 1]


def test_stored_files_are_read_only(tmp_path, run, course):
    run(write_folder(tmp_path / "in", {"41101.ipynb": notebook()}))
    [stored] = (course / "submissions" / EXP).iterdir()
    assert stored.stat().st_mode & 0o222 == 0


@pytest.mark.parametrize("write", [write_zip, write_folder])
def test_hidden_files_and_checkpoints_are_ignored(tmp_path, run, write):
    source = write(tmp_path / "source", {
        "__MACOSX/._41101.ipynb": b"\0\5\26\7", "x/.ipynb_checkpoints/41101-checkpoint.ipynb":
        notebook(), ".DS_Store": b"\0", "x/41101.ipynb": notebook()})
    report = run(source)
    assert [o.original_name for o in report.accepted] == ["x/41101.ipynb"]
    assert report.rejected == [] and len(report.ignored) == 3


# --------------------------------------------------------------------------- errors, summary

def test_errors_that_stop_everything(tmp_path, run, gradebook, course):
    with pytest.raises(CollectError, match="submissions source not found") as caught:
        run(tmp_path / "nowhere")
    assert caught.value.where == str(tmp_path / "nowhere") and caught.value.fix
    (tmp_path / "broken.zip").write_bytes(b"PK\3\4 not really a zip")
    with pytest.raises(CollectError, match="not a readable zip file"):
        run(tmp_path / "broken.zip")
    with pytest.raises(UnknownName, match="exp99"):
        collect("exp99", tmp_path, course=course, gradebook=gradebook)


def test_summary_counts_and_explains(tmp_path, run):
    source = write_folder(tmp_path / "in", {"41101.ipynb": notebook(), "41102.pdf": b"%PDF"})
    summary = run(source).summary()
    assert summary.splitlines()[0] == (
        f"{EXP} from {source}: 1 stored, 0 duplicate, 1 rejected, 0 ignored")
    assert "stored    41101        41101.ipynb: version 1" in summary
    assert "rejected  41102        41102.pdf: not a notebook (.pdf)" in summary


def test_a_large_real_zip_is_collected_with_the_option_the_refusal_names(tmp_path, course):
    import base64

    from click.testing import CliRunner

    from dlkit.cli import main

    text = base64.b64encode(os.urandom(1_200_000)).decode()  # ~1.6 MB that hardly compresses
    source = write_zip(tmp_path / "lms.zip", {"41101.ipynb": notebook(text)})
    args = ["collect", EXP, str(source), "--course", str(course)]
    refused = CliRunner().invoke(main, [*args, "--max-zip-mb", "1"])
    assert refused.exit_code == 1 and "zip refused" in refused.output
    assert "collect it again with --max-zip-mb 3 (dlkit collect)" in refused.output
    taken = CliRunner().invoke(main, [*args, "--max-zip-mb", "3"])
    assert taken.exit_code == 0, taken.output
    assert "1 stored" in taken.output
