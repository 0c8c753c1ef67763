"""Time limits count the notebook's CPU time: a busy grader never costs marks.

The same notebook graded alone and beside CPU hogs gets the same status and marks; a notebook
that computes too long is stopped at its CPU limit with its cell named; one that sleeps meets
the wall-clock backstop as its own timeout; a run the machine starved is tried again, recorded
"grader overloaded" (not the student's timeout) and graded again by the next ``dlkit grade``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from dlkit.gradebook import REGRADE_STATUSES, RUN_STATUSES

#: About 4 s of CPU time after the answers (process_time counts CPU, not the wall clock).
COMPUTE = ("import time\nstarted = time.process_time()\nwhile time.process_time() - started < 4:\n"
           "    pass")
HOG = ("import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n"
       "    pass")


def _marks(outcome):
    return [(r["question"], r["test"], r["points"], r["passed"]) for r in outcome.results]


def test_cpu_hogs_beside_the_grader_change_neither_status_nor_marks(grade_toy):
    limit = 20  # CPU seconds: the notebook needs about 10 (kernel start, imports, COMPUTE)
    alone, _ = grade_toy(after=[COMPUTE], seconds=limit, wall_factor=3)
    hogs = [subprocess.Popen([sys.executable, "-c", HOG.format(seconds=300)],
                             start_new_session=True)  # own session: own scheduling group
            for _ in range(4 * (os.cpu_count() or 1))]
    try:
        busy, _ = grade_toy(after=[COMPUTE], seconds=limit, wall_factor=3)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert alone.status == busy.status == "graded", (alone.reason, busy.reason)
    assert _marks(alone) == _marks(busy) and busy.score == 5
    # the hogs slowed it past its limit on the wall clock: a wall-clock limit would have failed it
    assert busy.seconds > limit, busy.seconds


def test_a_loop_is_stopped_at_its_cpu_limit_and_the_reason_names_its_cell(grade_toy):
    # 30 CPU seconds: the toy's own cells need about 6, and 14 on a slow day of this machine
    outcome, work = grade_toy(after=["x = 0\nwhile True:\n    x += 1"], seconds=30)
    assert outcome.status == "timeout" and outcome.score == 5  # the answers ran before it
    loop = len(json.loads((work / "executed.ipynb").read_text())["cells"])  # the last cell
    assert f"cell {loop} was still running" in outcome.reason and "CPU time" in outcome.reason


def test_a_sleeping_notebook_meets_the_backstop_as_its_own_timeout(grade_toy):
    # 15 CPU seconds (the toy notebook needs about 6), a backstop twice as long: the sleep
    # uses no CPU, so the backstop ends it
    outcome, _ = grade_toy(after=["import time\ntime.sleep(3600)"], seconds=15, wall_factor=2)
    assert outcome.status == "timeout" and outcome.score == 5, outcome.reason
    assert "mostly waited" in outcome.reason


def test_an_overloaded_grader_costs_no_marks_and_the_next_grade_redoes_it(
        toy_course, tmp_path, monkeypatch):
    import nbformat

    import dlkit.experiments as registry
    from dlkit.collect import collect
    from dlkit.gradebook import Gradebook
    from dlkit.grading.grade import grade_experiment

    monkeypatch.setitem(registry.EXPERIMENTS, "toy", toy_course)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    reference = nbformat.read(toy_course.root / "autograder" / "toy" / "toy.ipynb", as_version=4)
    nbformat.write(reference, inbox / "101_toy.ipynb")
    course = tmp_path / "course"
    gradebook = Gradebook.open(course)
    collect("toy", inbox, course=course, gradebook=gradebook)

    # a backstop at a twentieth of the CPU limit comes before any run can use its CPU time,
    # while processes of the grader's own machine (not the run's) keep every core busy
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(3 * (os.cpu_count() or 1))]  # most of every core, whatever else runs
    time.sleep(1.0)  # the hogs are running before the run starts
    try:
        grade_experiment("toy", course=course, gradebook=gradebook, gpus="none", progress=False,
                         timeout=60, wall_factor=0.05)  # 3 s: long enough to see the load
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    [run] = gradebook.current_runs("toy")
    assert run.status == "grader overloaded" and run.status in RUN_STATUSES
    assert "not your doing" in run.reason and "twice" in run.reason and run.score == 0
    assert "grader overloaded" in REGRADE_STATUSES

    summary = grade_experiment("toy", course=course, gradebook=gradebook, gpus="none",
                               progress=False)
    [run] = gradebook.current_runs("toy")
    assert summary.graded == 1 and run.status == "graded" and run.score == 5
