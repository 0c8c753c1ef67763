"""The gradebook: manual marks, the summary table, and upgrading an older database."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess

import pytest
from sqlalchemy import inspect, select, text

from dlkit.errors import DlkitError
from dlkit.gradebook import Gradebook, Student


@pytest.fixture
def gradebook(tmp_path):
    book = Gradebook.open(tmp_path)
    with book.session() as s:
        s.add_all([Student(roll="1", name="R&D <Lab>"), Student(roll="2", name="अमित पाटील")])
    return book


def test_manual_marks_keep_history_and_check_bounds(gradebook):
    gradebook.set_manual_mark("1", "exp2-feedforward", "journal", 3, 5, "Prof. Rao")
    gradebook.set_manual_mark("1", "exp2-feedforward", "journal", 4, 5, "Prof. Rao", "redone")
    with pytest.raises(DlkitError, match="6 is not between 0 and 5"):
        gradebook.set_manual_mark("1", "exp2-feedforward", "journal", 6, 5, "x")
    with pytest.raises(DlkitError, match="unknown student '9'"):
        gradebook.set_manual_mark("9", "exp2-feedforward", "journal", 1, 5, "x")
    rows = gradebook.summary_rows()
    assert rows[0] == ("roll", "name", "experiment", "version", "status", "auto", "manual", "late")
    assert ("1", "R&D <Lab>", "-", "-", "no submission", "-", "-", "-") in rows
    assert any(r[1] == "अमित पाटील" for r in rows)


def test_an_older_gradebook_gets_the_new_columns_and_keeps_its_rows(tmp_path, gradebook):
    with gradebook.engine.begin() as connection:
        connection.execute(text("ALTER TABLE results DROP COLUMN measured"))
    assert "measured" not in {c["name"] for c in inspect(gradebook.engine).get_columns("results")}
    reopened = Gradebook.open(tmp_path)
    assert "measured" in {c["name"] for c in inspect(reopened.engine).get_columns("results")}
    with reopened.session() as s:
        assert s.get(Student, "2").name == "अमित पाटील"


def test_runs_of_an_older_gradebook_read_as_executed_with_nothing_to_rejudge(tmp_path, gradebook):
    from dlkit.gradebook import Run, Submission, utcnow

    with gradebook.session() as s:
        submission = Submission(experiment="toy", student_roll="2", version=1,
                                original_name="a.ipynb", status="stored")
        s.add(submission)
        s.flush()
        s.add(Run(submission_id=submission.id, started_at=utcnow(), seconds=1.0, device="cpu",
                  sandbox="x", status="graded"))
    with gradebook.engine.begin() as connection:
        for column in ("origin", "execution_of", "execution"):
            connection.execute(text(f"ALTER TABLE runs DROP COLUMN {column}"))
    reopened = Gradebook.open(tmp_path)
    with reopened.session() as s:
        run = s.scalars(select(Run)).one()
        assert (run.origin, run.execution_of, run.execution) == ("executed", None, "")


def test_experiments_are_recorded_once_and_updated(gradebook):
    from dlkit.gradebook import ExperimentRow

    gradebook.note_experiment("exp2-feedforward", 2, "Feed-forward", 14)
    gradebook.note_experiment("exp2-feedforward", 2, "Feed-forward network")
    with gradebook.session() as s:
        row = s.get(ExperimentRow, "exp2-feedforward")
        assert (row.title, row.auto_points) == ("Feed-forward network", 14)


def test_the_queue_gives_a_submission_to_one_grader_at_a_time(tmp_path):
    from dlkit.gradebook import Gradebook, Student, Submission
    from dlkit.grading.grade import stale_owners

    gradebook = Gradebook.open(tmp_path)
    with gradebook.session() as s:
        s.add(Student(roll="41001", name="A"))
        s.add(Submission(experiment="exp2-feedforward", student_roll="41001", version=1,
                         original_name="a.ipynb", status="stored"))
    with gradebook.session() as s:
        sid = s.scalars(select(Submission.id)).one()
    assert gradebook.enqueue(sid) and not gradebook.enqueue(sid)
    assert [q.id for q in gradebook.queued()] == [sid]
    assert gradebook.claim(sid, "host:1")
    assert not gradebook.claim(sid, "host:2")  # one grader at a time
    assert gradebook.claims() == {"host:1": [sid]}
    assert not gradebook.enqueue(sid)  # running: not queued twice
    gradebook.unclaim(sid, "host:1", requeue=True)
    assert [q.id for q in gradebook.queued()] == [sid]
    dead = subprocess.Popen(["true"])
    dead.wait()
    owner = f"{socket.gethostname()}:{dead.pid}"
    assert gradebook.claim(sid, owner)
    assert stale_owners(gradebook.claims()) == {owner}  # a grader that died
    assert gradebook.claim(sid, "host:3", stale={owner})


def test_an_older_gradebook_gets_the_portal_tables_and_the_pin_column(tmp_path, gradebook):
    """A gradebook from before issue 24 (no sessions, throttle, extensions, requests or pins)
    opens with them added and its rows kept."""
    with gradebook.engine.begin() as connection:
        for table in ("portal_sessions", "login_throttle", "extensions", "regrade_requests"):
            connection.execute(text(f"DROP TABLE {table}"))
        connection.execute(text("ALTER TABLE submissions DROP COLUMN pinned_at"))
        connection.execute(text("ALTER TABLE submissions DROP COLUMN pinned_by"))
    reopened = Gradebook.open(tmp_path)
    tables = set(inspect(reopened.engine).get_table_names())
    assert {"portal_sessions", "login_throttle", "extensions", "regrade_requests"} <= tables
    assert {"pinned_at", "pinned_by"} <= {
        c["name"] for c in inspect(reopened.engine).get_columns("submissions")}
    with reopened.session() as s:
        assert s.get(Student, "1").name == "R&D <Lab>"
    assert reopened.login_failures("k", dt.timedelta(hours=1)) == (0, None)
    assert reopened.note_login_failure("k", dt.timedelta(hours=1)) == 1
    assert reopened.login_failures("k", dt.timedelta(hours=1))[0] == 1


def test_extensions_and_sessions(gradebook):
    until = dt.datetime(2030, 1, 5, 17, 0, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))
    gradebook.grant_extension("1", "exp2-feedforward", until, "Prof. Rao", "medical")
    assert gradebook.extension("1", "exp2-feedforward").until == dt.datetime(2030, 1, 5, 11, 30)
    with pytest.raises(DlkitError, match="unknown student '9'"):
        gradebook.grant_extension("9", "exp2-feedforward", until, "x")
    gradebook.open_session("h1", "student", roll="1", code_id=1)
    gradebook.open_session("h2", "student", roll="1", code_id=1)
    day = dt.timedelta(days=1)
    assert gradebook.live_session("h1", idle=day, longest=day).roll == "1"
    assert gradebook.end_sessions("1", "signed out") == 2
    assert gradebook.live_session("h2", idle=day, longest=day) is None
