"""Grading a batch: the gradebook, resuming after kill -9, regrading, the sandbox fallback, CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import nbformat
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from dlkit import sandbox as sandbox_module
from dlkit.cli import main
from dlkit.collect import collect
from dlkit.gradebook import Gradebook, Run
from dlkit.grading.devices import device_slots
from dlkit.grading.grade import grade_experiment


@pytest.fixture
def toy_batch(toy_course, tmp_path, monkeypatch):
    """A course folder with four toy submissions collected: right, partial, crashing, empty."""
    import dlkit.experiments as registry

    monkeypatch.setitem(registry.EXPERIMENTS, "toy", toy_course)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    reference = nbformat.read(toy_course.root / "autograder" / "toy" / "toy.ipynb", as_version=4)
    variants = {"101": None, "102": ("return x / np.abs(x).max()", "return x"),
                "103": ("centred = data - data.mean()", "import os; os._exit(3)"),
                "104": ("centred = data - data.mean()", "centred = ...")}
    for roll, edit in variants.items():
        nb = nbformat.from_dict(reference)
        if edit:
            for cell in nb.cells:
                cell.source = cell.source.replace(*edit)
        nbformat.write(nb, inbox / f"{roll}_toy.ipynb")
    course = tmp_path / "course"
    gradebook = Gradebook.open(course)
    collect("toy", inbox, course=course, gradebook=gradebook)
    return course, gradebook


def _by_roll(gradebook, experiment="toy"):
    runs = gradebook.current_runs(experiment)
    with gradebook.session() as s:
        return {s.merge(r).submission.student_roll: (r.status, r.score) for r in runs}


def test_batch_goes_on_and_every_submission_gets_one_status(toy_batch):
    course, gradebook = toy_batch
    summary = grade_experiment("toy", course=course, gradebook=gradebook, workers=2,
                               gpus="none", progress=False)
    assert summary.graded == 4
    assert _by_roll(gradebook) == {"101": ("graded", 5), "102": ("graded", 3),
                                   "103": ("crashed", 0), "104": ("missing object", 2)}
    runs = gradebook.current_runs("toy")
    assert {r.device for r in runs} == {"cpu"} and all(r.sandbox for r in runs)


def test_rerun_skips_graded_and_regrade_gives_the_same_marks(toy_batch):
    course, gradebook = toy_batch
    grade_experiment("toy", course=course, gradebook=gradebook, gpus="none", progress=False)
    first = _by_roll(gradebook)
    again = grade_experiment("toy", course=course, gradebook=gradebook, gpus="none",
                             progress=False)
    assert again.graded == 0 and again.skipped == 4
    grade_experiment("toy", course=course, gradebook=gradebook, gpus="none", regrade=True,
                     progress=False)
    assert _by_roll(gradebook) == first
    with gradebook.session() as s:
        assert s.scalar(select(func.count()).select_from(Run)) == 8
        assert s.scalar(select(func.count()).select_from(Run).where(Run.current)) == 4


def test_kill_9_of_the_grader_loses_nothing_and_doubles_nothing(toy_batch, toy_course):
    course, gradebook = toy_batch
    script = (
        "import sys; from pathlib import Path\n"
        "import dlkit.experiments as r\n"
        "from dlkit.experiments import Experiment\n"
        f"r.EXPERIMENTS['toy'] = Experiment(id='toy', number=0, title='Toy', datasets=(), "
        f"time_limit=120, root=Path({str(toy_course.root)!r}))\n"
        "from dlkit.gradebook import Gradebook\n"
        "from dlkit.grading.grade import grade_experiment\n"
        f"grade_experiment('toy', course=Path({str(course)!r}), "
        f"gradebook=Gradebook.open(Path({str(course)!r})), workers=1, gpus='none', "
        "progress=False)\n")
    grader = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(gradebook.current_runs("toy")) < 1:
        time.sleep(0.2)
    os.killpg(grader.pid, signal.SIGKILL)  # the grader and everything it started
    grader.wait()
    done_before = len(gradebook.current_runs("toy"))
    assert 1 <= done_before < 4
    summary = grade_experiment("toy", course=course, gradebook=gradebook, gpus="none",
                               progress=False)
    assert summary.skipped == done_before and summary.graded == 4 - done_before
    with gradebook.session() as s:
        assert s.scalar(select(func.count()).select_from(Run)) == 4


def test_fallback_without_bubblewrap_is_recorded_and_can_be_refused(toy_batch, monkeypatch):
    course, gradebook = toy_batch
    monkeypatch.setattr(sandbox_module.shutil, "which", lambda name: None)
    with pytest.raises(sandbox_module.SandboxUnavailable, match="bubblewrap is not installed"):
        grade_experiment("toy", course=course, gradebook=gradebook, gpus="none",
                         require_sandbox=True, progress=False)
    assert gradebook.current_runs("toy") == []
    grade_experiment("toy", course=course, gradebook=gradebook, gpus="none", progress=False)
    runs = gradebook.current_runs("toy")
    assert len(runs) == 4 and all(r.sandbox.startswith("FALLBACK") for r in runs)
    assert _by_roll(gradebook)["101"] == ("graded", 5)


def test_device_slots():
    assert device_slots("none", 3) == ["cpu", "cpu", "cpu"]
    assert device_slots("0,1", None) == ["gpu:0", "gpu:1"]


def test_gradebook_cli_summary_and_manual_marks(toy_batch):
    course, gradebook = toy_batch
    grade_experiment("toy", course=course, gradebook=gradebook, gpus="none", progress=False)
    runner = CliRunner()
    result = runner.invoke(main, ["gradebook", "set", "101", "toy", "q3_words", "1", "--max", "1",
                                  "--by", "Prof. Rao", "--course", str(course)])
    assert result.exit_code == 0 and "recorded 1/1 for 101 toy q3_words by Prof. Rao" in result.output
    bad = runner.invoke(main, ["gradebook", "set", "101", "toy", "q3_words", "5", "--max", "1",
                               "--by", "x", "--course", str(course)])
    assert bad.exit_code == 1 and "Error: 5 is not between 0 and 1" in bad.output
    table = runner.invoke(main, ["gradebook", "--course", str(course)]).output
    row = next(line for line in table.splitlines() if line.startswith("101"))
    assert "graded" in row and "5/5" in row and "1/1" in row
    assert "crashed" in next(line for line in table.splitlines() if line.startswith("103"))
