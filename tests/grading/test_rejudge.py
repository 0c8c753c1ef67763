"""Regrading in seconds: kept exports judged again when only the judging changed, identical
notebooks run once, and the kept exports read as hostile data (dlkit.grading.execution)."""

from __future__ import annotations

import io
import json
import os

import nbformat
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from dlkit.cli import main
from dlkit.collect import collect
from dlkit.feedback import write_feedback
from dlkit.gradebook import Gradebook, Run
from dlkit.grading import run as run_module
from dlkit.grading.channel import CAPS, receive
from dlkit.grading.execution import (
    EXTRACT_PROTOCOL,
    Execution,
    copy_exports,
    exports_manifest,
    notebook_digest,
    rejudge_decision,
)
from dlkit.grading.grade import grade_experiment
from dlkit.grading.judging import judge_kept
from dlkit.grading.tasks import PlannedTest
from dlkit.sandbox import Limits


@pytest.fixture
def launches(monkeypatch):
    """How many times the runner (the student's notebook) was started in the sandbox."""
    count = {"runner": 0}
    real = run_module._run_sandboxed

    def counted(*args, **kwargs):
        count["runner"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(run_module, "_run_sandboxed", counted)
    return count


@pytest.fixture
def twins_batch(toy_course, tmp_path, monkeypatch):
    """Three toy submissions: right (101), centred off by 1e-6 (106), and 101's notebook again
    with outputs, execution counts and metadata of its own (107)."""
    import dlkit.experiments as registry

    monkeypatch.setitem(registry.EXPERIMENTS, "toy", toy_course)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    reference = nbformat.read(toy_course.root / "autograder" / "toy" / "toy.ipynb", as_version=4)
    nbformat.write(reference, inbox / "101_toy.ipynb")
    off = nbformat.from_dict(reference)
    for cell in off.cells:
        cell.source = cell.source.replace("centred = data - data.mean()",
                                          "centred = data - data.mean() + 1e-6")
    nbformat.write(off, inbox / "106_toy.ipynb")
    twin = nbformat.from_dict(reference)
    twin.metadata["widgets"] = {"saved": "by another laptop"}
    code = next(c for c in twin.cells if c.cell_type == "code")
    code.execution_count = 7
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="ran at home\n")]
    nbformat.write(twin, inbox / "107_toy.ipynb")
    course = tmp_path / "course"
    gradebook = Gradebook.open(course)
    collect("toy", inbox, course=course, gradebook=gradebook)
    return course, gradebook, toy_course


def _current(gradebook):
    with gradebook.session() as s:
        return {s.merge(r).submission.student_roll: s.merge(r) for r in gradebook.current_runs("toy")}


def _edit_master(experiment, old: str, new: str, within: str = "", also: str = "",
                 to: str = "") -> None:
    """Replace ``old`` in the toy master (and ``also`` by ``to`` in the cells ``within`` names)."""
    nb = nbformat.read(experiment.master, as_version=4)
    edited = 0
    for cell in nb.cells:
        if old in cell.source:
            cell.source = cell.source.replace(old, new)
            edited += 1
        if within and within in cell.source and also in cell.source:
            cell.source = cell.source.replace(also, to)
            edited += 1
    assert edited >= (2 if within else 1), f"{old!r} is not in the toy master"
    nbformat.write(nb, experiment.master)
    os.utime(experiment.master, ns=(0, experiment.master.stat().st_mtime_ns + 10**9))


def _first_line(course) -> str:
    result = CliRunner().invoke(main, ["grade", "toy", "--regrade", "--dry-run", "--gpus", "none",
                                       "--course", str(course)])
    assert result.exit_code == 0, result.output
    return result.output.splitlines()[0]


@pytest.mark.sandbox
def test_regrade_rejudges_when_only_judging_changed_and_reruns_when_an_extract_did(twins_batch,
                                                                                   launches):
    course, gradebook, toy = twins_batch
    first = grade_experiment("toy", course=course, gradebook=gradebook, workers=2, gpus="none",
                             progress=False)
    runs = _current(gradebook)
    assert {roll: (r.status, r.score) for roll, r in runs.items()} == {
        "101": ("graded", 5), "106": ("graded", 3), "107": ("graded", 5)}
    # identical notebooks (outputs, counts, metadata aside) ran once, each has its own run
    assert launches["runner"] == 2 and first.shared == 1
    assert runs["101"].origin == "executed" and runs["101"].execution_of is None
    assert runs["107"].origin == "shared" and runs["107"].execution_of == runs["101"].id
    twin = course / "graded" / "toy" / str(runs["107"].submission_id)
    assert (twin / "executed.ipynb").exists()
    assert exports_manifest(twin / "exports") == Execution.from_json(runs["101"].execution).exports

    # a judge's threshold moves: every submission is judged again on its kept exports
    _edit_master(toy, "< 1e-12", "< 1e-3")
    line = _first_line(course)
    assert "3 re-judged on their kept exports, 0 re-run" in line and line.startswith("grading 3")
    again = grade_experiment("toy", course=course, gradebook=gradebook, workers=2, gpus="none",
                             regrade=True, progress=False)
    assert launches["runner"] == 2, "a re-judge ran a notebook"
    assert again.rejudged == 3 and again.graded == 3
    assert [t["judged"] for t in again.timings] == [1, 1, 1]  # only the test that changed
    rejudged = _current(gradebook)
    assert {roll: r.score for roll, r in rejudged.items()} == {"101": 5, "106": 5, "107": 5}
    assert {r.origin for r in rejudged.values()} == {"re-judged"}
    assert rejudged["106"].execution_of == runs["106"].id  # the run that executed it
    assert rejudged["107"].execution_of == runs["101"].id  # the shared execution
    assert all(r.id not in {o.id for o in runs.values()} for r in rejudged.values())
    with gradebook.session() as s:
        assert s.scalar(select(func.count()).select_from(Run)) == 6
    page = {p.stem: p.read_text() for p in write_feedback("toy", course=course,
                                                           gradebook=gradebook)}["106"]
    assert "Re-judged on" in page and "it was not run again" in page and "5 / 5" in page

    # points change: every verdict is kept, no judge runs, the marks follow the new points
    _edit_master(toy, "name: q2_scale\npoints: 2", "name: q2_scale\npoints: 4",
                 within='checks.get(ns, "scale")', also="points: 2", to="points: 4")
    points = grade_experiment("toy", course=course, gradebook=gradebook, workers=2,
                              gpus="none", regrade=True, progress=False)
    assert points.rejudged == 3 and [t["judged"] for t in points.timings] == [0, 0, 0]
    assert {roll: (r.score, r.max_score) for roll, r in _current(gradebook).items()} == {
        "101": (7, 7), "106": (7, 7), "107": (7, 7)}

    # an extract half changes: those submissions run again (the twins once more)
    _edit_master(toy, "np.array([2.0, -4.0, 1.0])", "np.array([4.0, -8.0, 2.0])")
    line = _first_line(course)
    assert "0 re-judged" in line and "3 re-run (the extract half of q2_scale-0 changed)" in line
    third = grade_experiment("toy", course=course, gradebook=gradebook, workers=2, gpus="none",
                             regrade=True, progress=False)
    assert launches["runner"] == 4 and third.rejudged == 0 and third.shared == 1
    rerun = _current(gradebook)
    assert sorted(r.origin for r in rerun.values()) == ["executed", "executed", "shared"]
    write_feedback("toy", course=course, gradebook=gradebook, students=["106"])
    assert "Re-judged" not in (course / "feedback" / "toy" / "106.html").read_text()
    assert {roll: r.score for roll, r in rerun.items()} == {"101": 7, "106": 7, "107": 7}


# --------------------------------------------------------------------------- the rules, unit by unit

def _kept(tmp_path):
    exports = tmp_path / "graded" / "toy" / "7" / "exports"
    (exports / "q1_mean-0").mkdir(parents=True)
    (exports / "q1_mean-0" / "outcome.json").write_text('{"ok": true}')
    (exports / "q1_mean-0" / "exported.json").write_text('{"centred": {"kind": "npy"}}')
    (exports / "q1_mean-0" / "centred.npy").write_bytes(b"\x93NUMPY" + b"\0" * 120)
    execution = Execution("graded", extracts={"q1_mean-0": "a" * 64},
                          exports=exports_manifest(exports))
    return exports, execution


def test_a_record_whose_digests_and_exports_match_is_rejudged(tmp_path):
    exports, execution = _kept(tmp_path)
    assert rejudge_decision(execution, {"q1_mean-0": "a" * 64}, exports, ("sandbox error",)) == ""
    assert "extract half of q1_mean-0 changed" in rejudge_decision(
        execution, {"q1_mean-0": "b" * 64}, exports, ())
    assert "extract half of q2-0 changed" in rejudge_decision(  # a new test: nothing exported
        execution, {"q1_mean-0": "a" * 64, "q2-0": "c" * 64}, exports, ())
    assert rejudge_decision(None, {}, exports, ()) == "no record of what its exports came from"
    failed = Execution.from_json(json.dumps({**json.loads(execution.to_json()),
                                             "status": "sandbox error"}))
    assert "sandbox error" in rejudge_decision(failed, {"q1_mean-0": "a" * 64}, exports,
                                               ("sandbox error",))
    old = Execution.from_json(json.dumps({**json.loads(execution.to_json()),
                                          "protocol": EXTRACT_PROTOCOL - 1}))
    assert "another extract protocol" in rejudge_decision(old, {"q1_mean-0": "a" * 64}, exports, ())
    assert Execution.from_json("") is None and Execution.from_json('{"nope": 1}') is None


@pytest.mark.parametrize("attack", ["changed", "symlink", "hardlink", "fifo", "odd name",
                                    "folder link", "exports link"])
def test_kept_exports_that_changed_or_became_links_are_never_rejudged(tmp_path, attack):
    exports, execution = _kept(tmp_path)
    target = exports / "q1_mean-0" / "centred.npy"
    secret = tmp_path / "secret.npy"
    secret.write_bytes(target.read_bytes())
    if attack == "changed":
        target.write_bytes(b"\x93NUMPY" + b"\1" * 120)
    elif attack == "symlink":
        target.unlink()
        target.symlink_to(secret)
    elif attack == "hardlink":
        target.unlink()
        os.link(secret, target)
    elif attack == "fifo":
        target.unlink()
        os.mkfifo(target)
    elif attack == "odd name":
        (exports / "q1_mean-0" / "judge.py").write_text("print('hi')")
    elif attack == "folder link":
        moved = tmp_path / "elsewhere"
        (exports / "q1_mean-0").rename(moved)
        (exports / "q1_mean-0").symlink_to(moved)
    elif attack == "exports link":
        moved = tmp_path / "elsewhere"
        exports.rename(moved)
        exports.symlink_to(moved)
    why = rejudge_decision(execution, {"q1_mean-0": "a" * 64}, exports, ())
    assert why.startswith(("its kept exports cannot be read", "its kept exports are not the ones")), why


def test_copied_exports_are_byte_for_byte_and_links_are_refused(tmp_path):
    exports, execution = _kept(tmp_path)
    copy = tmp_path / "twin" / "exports"
    copy.parent.mkdir()
    assert copy_exports(exports, copy) == execution.exports
    (exports / "q1_mean-0" / "outcome.json").unlink()
    (exports / "q1_mean-0" / "outcome.json").symlink_to(tmp_path / "secret")
    (tmp_path / "secret").write_text('{"ok": true}')
    other = tmp_path / "other" / "exports"
    other.parent.mkdir()
    with pytest.raises(OSError):
        copy_exports(exports, other)


def test_identical_means_the_same_cells_whatever_the_outputs_and_metadata():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# mine"),
                                         nbformat.v4.new_code_cell("x = 1")])
    same = nbformat.from_dict(json.loads(nbformat.writes(nb)))
    same.metadata["kernelspec"] = {"name": "other"}
    same.cells[1].execution_count = 3
    same.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1")]
    same.cells[1].metadata["collapsed"] = True
    assert notebook_digest(nbformat.writes(nb).encode()) == notebook_digest(
        nbformat.writes(same).encode())
    code = nbformat.from_dict(json.loads(nbformat.writes(nb)))
    code.cells[1].source = "x = 1 "
    words = nbformat.from_dict(json.loads(nbformat.writes(nb)))
    words.cells[0].source = "# yours"
    digests = {notebook_digest(nbformat.writes(n).encode()) for n in (nb, code, words)}
    assert len(digests) == 3
    assert notebook_digest(b"not json") is None and notebook_digest(b'{"cells": [1]}') is None


# --------------------------------------------------------------------------- one judge, many runs

def _frames(*headers: dict) -> io.BytesIO:
    return io.BytesIO(b"".join(json.dumps(h).encode() + b"\n" for h in headers))


def test_a_batch_judge_answers_each_run_in_turn_or_is_not_believed():
    verdict = {"kind": "verdict", "test": "q1-0", "verdict": {"passed": True}}
    got = receive(_frames({"kind": "started"}, {"kind": "exports", "key": "1"}, verdict,
                          {"kind": "done", "key": "1"}, {"kind": "exports", "key": "2"}, verdict,
                          {"kind": "done", "key": "2"}, {"kind": "end"}),
                  tests={"q1-0"}, exports=None, caps=CAPS, keys=frozenset({"1", "2"}))
    assert got.done == ["1", "2"] and not got.problems and not got.verdicts
    assert got.batches["2"]["q1-0"]["passed"] is True
    for frames in ([{"kind": "exports", "key": "3"}],  # a run it was not given
                   [{"kind": "exports", "key": "1"}, {"kind": "exports", "key": "2"}],
                   [{"kind": "exports", "key": "1"}, {"kind": "done", "key": "2"}],
                   [{"kind": "exports", "key": "1"}, {"kind": "done", "key": "1"},
                    {"kind": "exports", "key": "1"}]):  # the same run twice
        bad = receive(_frames(*frames, verdict), tests={"q1-0"}, exports=None, caps=CAPS,
                      keys=frozenset({"1", "2"}))
        assert bad.problems, frames


@pytest.mark.sandbox
def test_a_judge_that_dies_on_one_kept_run_still_judges_the_others(tmp_path):
    kept = {}
    for key, value in (("1", 0), ("2", 1), ("3", 0)):
        folder = tmp_path / key / "exports" / "q1-0"
        folder.mkdir(parents=True)
        (folder / "outcome.json").write_text('{"ok": true}')
        (folder / "exported.json").write_text(json.dumps({"x": {"kind": "json", "value": value}}))
        kept[key] = folder.parent
    judge = ("import os\n\ndef judge(data):\n    if data['x'] == 1:\n        os._exit(3)\n"
             "    assert data['x'] == 0, 'x should be 0'\n")
    plan = [PlannedTest("q1-0", "q1", 0, True, 1.0, "", judge)]
    verdicts = judge_kept(plan, kept, 1, Limits(seconds=60, memory_bytes=2**30))
    assert verdicts["1"]["q1-0"]["passed"] and verdicts["3"]["q1-0"]["passed"]
    assert not verdicts["2"]["q1-0"]["passed"] and verdicts["2"]["q1-0"]["grader_failure"]
    assert "exit code 3" in verdicts["2"]["q1-0"]["message"]
