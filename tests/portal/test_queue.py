"""The portal's grading queue with a real server process and real (sandboxed) grading workers:
uploads are graded by the workers, a SIGKILLed server loses nothing and grades nothing twice,
a killed worker is restarted and its submission taken over."""

from __future__ import annotations

import json
import os
import re
import signal

from sqlalchemy import func, select

from dlkit.gradebook import Run, Student, Submission
from dlkit.grading.grade import process_alive
from dlkit.portal.auth import issue_code

from .conftest import main_text, wait_for


def queue_states(course) -> dict[str, str]:
    with course.gradebook.session() as s:
        return {sub.student_roll: sub.queue for sub in s.scalars(
            select(Submission).where(Submission.status == "stored"))}


def runs_per_submission(course) -> dict[str, list[tuple[str, float]]]:
    with course.gradebook.session() as s:
        rows = s.execute(select(Submission.student_roll, Run.status, Run.score)
                         .join(Run, Run.submission_id == Submission.id)).all()
    found: dict[str, list[tuple[str, float]]] = {}
    for roll, status, score in rows:
        found.setdefault(roll, []).append((status, score))
    return found


def worker_pid(course, name: str = "worker-1") -> int:
    beat = json.loads((course.folder / "portal" / "workers" / f"{name}.json").read_text())
    return int(beat["pid"])


def test_sigkilled_server_resumes_the_queue_and_grades_each_submission_once(course, server):
    with course.gradebook.session() as s:
        s.add(Student(roll="104", name="Kabir Shaikh", batch="B1"))
    course.codes["104"] = issue_code(course.gradebook, "104")
    first = server(workers=1)
    for roll in ("101", "102", "103", "104"):
        client = first.client()
        client.login(roll, course.codes[roll])
        response = client.upload("toy", f"{roll}.ipynb",
                                 course.notebook(edit=("# Toy", f"# Toy of {roll}")))
        assert "stored and queued for grading" in main_text(response)

    def one_running_three_queued():
        states = sorted(queue_states(course).values())
        return states == ["queued", "queued", "queued", "running"]

    wait_for(one_running_three_queued, 120, "one submission running and three queued", every=0.1)
    grader = worker_pid(course)
    assert runs_per_submission(course) == {}
    os.kill(first.process.pid, signal.SIGKILL)  # the server only: its workers must die with it
    first.process.wait()
    wait_for(lambda: not process_alive(grader), 30, "the worker to die with the server")
    assert sorted(queue_states(course).values()) == ["queued", "queued", "queued", "running"]

    second = server(workers=1)  # takes over the dead worker's claim, then the queue
    wait_for(lambda: len(runs_per_submission(course)) == 4, 600, "all four graded")
    runs = runs_per_submission(course)
    assert runs == {roll: [("graded", 5.0)] for roll in ("101", "102", "103", "104")}
    assert set(queue_states(course).values()) == {""}
    instructor = second.client()
    instructor.login_instructor()
    health = main_text(instructor.get("/i/queue"))
    assert "worker-1 cpu pid" in health and "Waiting (0)" in health and "Being graded (0)" in health
    student = second.client()
    student.login("101", course.codes["101"])
    assert "graded 5 / 5" in main_text(student.get("/s/toy"))


def test_a_killed_worker_is_restarted_and_its_submission_taken_over(course, server):
    running = server(workers=1)
    client = running.client()
    client.login("101", course.codes["101"])
    client.upload("toy", "101.ipynb", course.notebook())
    wait_for(lambda: queue_states(course).get("101") == "running", 120, "grading to start",
             every=0.1)
    grader = worker_pid(course)
    os.kill(grader, signal.SIGKILL)
    wait_for(lambda: runs_per_submission(course).get("101"), 600, "the submission graded")
    assert runs_per_submission(course) == {"101": [("graded", 5.0)]}
    assert worker_pid(course) != grader
    instructor = running.client()
    instructor.login_instructor()
    page = instructor.get("/i/queue")
    assert "worker-1 cpu pid" in main_text(page)
    assert re.findall(r'class="num restarts">(\d+)<', page.text) == ["1"]
    running.stop()  # a normal stop ends the workers too
    wait_for(lambda: not process_alive(worker_pid(course)), 30, "the worker to stop with the server")
    with course.gradebook.session() as s:
        assert s.scalar(select(func.count()).select_from(Run)) == 1


def test_a_submission_the_worker_cannot_grade_gets_a_status_not_a_retry_loop(course, monkeypatch):
    import dlkit.experiments as registry
    from dlkit.collect import collect_upload
    from dlkit.portal.worker import run

    upload = collect_upload("toy", "101", "a.ipynb", course.notebook(), course=course.folder,
                            gradebook=course.gradebook, enqueue=True)
    monkeypatch.delitem(registry.EXPERIMENTS, "toy")  # a worker started without the toy
    run(course.folder, name="lost", once=True)
    assert runs_per_submission(course) == {"101": [("sandbox error", 0.0)]}
    with course.gradebook.session() as s:
        run_row = s.scalars(select(Run)).one()
        assert "the grader failed: unknown experiment 'toy'" in run_row.reason
    assert course.gradebook.submission(upload.submission_id).queue == ""
    beat = json.loads((course.folder / "portal" / "workers" / "lost.json").read_text())
    assert "unknown experiment 'toy'" in beat["last_error"] and beat["state"] == "idle"


def test_the_second_cpu_worker_leaves_an_experiment_that_runs_best_alone_to_the_first(course,
                                                                                       monkeypatch):
    import dataclasses

    import dlkit.experiments as registry
    from dlkit.collect import collect_upload
    from dlkit.portal.worker import Ranked, next_submission

    upload = collect_upload("toy", "101", "a.ipynb", course.notebook(), course=course.folder,
                            gradebook=course.gradebook, enqueue=True)
    # alone, one run keeps 1.9 of 2 cores busy, and goes 20% slower beside another
    heavy = dataclasses.replace(course.experiment, cost=registry.Cost(200, 1.9, 1.2))
    monkeypatch.setitem(registry.EXPERIMENTS, "toy", heavy)
    first, second = Ranked(1, 6.0, cores=2), Ranked(2, 6.0, cores=2)
    assert next_submission(course.gradebook, second.takes)[0] is None
    assert next_submission(course.gradebook, first.takes)[0].id == upload.submission_id
    assert first.share("toy", 2) == 1  # graded alone, with both cores' threads
    monkeypatch.setitem(registry.EXPERIMENTS, "toy",
                        dataclasses.replace(heavy, cost=registry.Cost(30, 1.0, 1.0)))
    assert next_submission(course.gradebook, Ranked(2, 6.0, cores=2).takes)[0].id \
        == upload.submission_id
