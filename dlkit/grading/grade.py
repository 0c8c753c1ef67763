"""Grade collected submissions: the coordinator of a batch, on any executor.

Each submission is claimed (one grader at a time), run on an executor (this machine's pool by
default, or a Dask cluster), and recorded as it ends: the run and its results go into the
gradebook in one transaction (:meth:`dlkit.gradebook.Gradebook.record_run`), and the coordinator
is its only writer. A rerun skips what is already graded, so a crash, Ctrl-C or ``kill -9`` loses
nothing and doubles nothing. One run is :mod:`dlkit.grading.run`.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
from concurrent.futures import Future, as_completed
from pathlib import Path

from dlkit.experiments import get as get_experiment
from dlkit.gradebook import Gradebook, Submission
from dlkit.grading.capacity import plan_workers
from dlkit.grading.executors import LocalPool
from dlkit.grading.plans import plan_for, task_mode
from dlkit.grading.tasks import Executor, GradeSummary, GradingTask, Outcome
from dlkit.grading.verdicts import zero_results
from dlkit.rubrics import graded_free_form
from dlkit.sandbox import Limits
from dlkit.settings import MEMORY_GB, WALL_FACTOR

log = logging.getLogger(__name__)


def grade_experiment(experiment_id: str, *, course: Path, gradebook: Gradebook,
                     workers: int | None = None, gpus: str = "auto",
                     timeout: float | None = None, memory_gb: float = MEMORY_GB,
                     regrade: bool = False, require_sandbox: bool = False,
                     progress: bool = True, executor: Executor | None = None,
                     wall_factor: float = WALL_FACTOR,
                     free_form: bool | None = None) -> GradeSummary:
    """Grade the newest version of every student's submission that has no current run
    (or whose run ended in a sandbox error or an overloaded grader, or stopped at data the
    course now provides: :func:`submissions_to_grade`), on ``executor`` (default:
    this machine's pool). ``free_form``: grade on the free-form rubric, or on the starter's tests
    (default: the rubric's ``free_form`` switch when on, else each notebook's own
    :func:`~dlkit.grading.plans.grading_mode`). ``timeout``: CPU seconds (default: the
    experiment's limit);
    ``wall_factor``: the wall-clock backstop, as a multiple of it."""
    experiment = get_experiment(experiment_id)
    course = course.resolve()
    plan = plan_for(experiment, graded_free_form(experiment) if free_form is None else free_form)
    free_form = True if free_form is None and graded_free_form(experiment) else free_form
    gradebook.note_experiment(experiment.id, experiment.number, experiment.title,
                              sum(t.points for t in plan))
    submissions = gradebook.latest_submissions(experiment.id)
    todo = submissions_to_grade(experiment.id, course=course, gradebook=gradebook, regrade=regrade)
    limits = Limits(seconds=timeout or experiment.time_limit, memory_bytes=int(memory_gb * 2**30),
                    wall_factor=wall_factor)
    own = executor is None
    if own:
        workers = workers or plan_workers(experiment, len(todo),
                                          memory_limit=limits.memory_bytes).workers
        executor = LocalPool.for_course(course, experiment, gpus=gpus, workers=workers,
                                        require_sandbox=require_sandbox)
    try:
        summary = grade_submissions(todo, executor, course=course, gradebook=gradebook,
                                    limits=limits, require_sandbox=require_sandbox,
                                    progress=progress, desc=f"grade {experiment.id}",
                                    free_form=free_form)
    finally:
        if own:
            executor.close()
    summary.skipped += len(submissions) - len(todo)
    return summary


def submissions_to_grade(experiment_id: str, *, course: Path, gradebook: Gradebook,
                         regrade: bool = False) -> list[Submission]:
    """What ``dlkit grade`` runs: :meth:`Gradebook.to_grade`, with the runs that stopped at data
    the course had not provided and that its dataset map (``datasets.yml``) provides now."""
    from dlkit.data.datamap import read_dataset_map
    from dlkit.grading.not_provided import provided

    mapped = read_dataset_map(course)
    return gradebook.to_grade(experiment_id, regrade=regrade,
                              provided=lambda path: provided(path, mapped))


def grade_submissions(submissions: list[Submission], executor: Executor, *, course: Path,
                      gradebook: Gradebook, limits: Limits | None = None,
                      require_sandbox: bool = False, progress: bool = True,
                      desc: str = "grade", free_form: bool | None = None) -> GradeSummary:
    """Claim each submission (one grader at a time: a submission another live grader holds is
    skipped), run it on ``executor``, write each run as it ends; the coordinator is the only
    writer of the gradebook. A claim the grader could not finish is given back."""
    from tqdm import tqdm

    from dlkit.data.datamap import MAP_FILE, as_pairs, read_dataset_map, require_available

    datasets = read_dataset_map(course)
    require_available(datasets, where=str(course / MAP_FILE))  # before any claim
    owner = claim_owner()
    stale = stale_owners(gradebook.claims())
    summary = GradeSummary(submissions[0].experiment if submissions else "",
                           sandbox=executor.sandbox_kind)
    if not executor.isolated:
        log.warning("grading WITHOUT isolation: %s", executor.sandbox_kind)
    started = time.monotonic()
    futures: dict[Future, tuple[Submission, GradingTask]] = {}
    try:
        for submission in submissions:
            if not gradebook.claim(submission.id, owner, stale=stale):
                summary.skipped += 1  # another grader has it now
                continue
            experiment = get_experiment(submission.experiment)
            task = GradingTask(submission.id, experiment.id, (course / submission.path).read_bytes(),
                               limits or Limits(seconds=experiment.time_limit),
                               gpu=executor.gpus > 0, require_sandbox=require_sandbox,
                               datasets=as_pairs(datasets),
                               free_form=True if free_form is None and
                               graded_free_form(experiment) else free_form)
            futures[executor.submit(task)] = submission, task
        with tqdm(total=len(futures), desc=desc, unit="nb", disable=not progress,
                  file=sys.stderr) as bar:
            failures = 0
            for future in as_completed(futures):
                submission, task = futures.pop(future)
                try:
                    outcome = future.result()
                except Exception as exc:  # noqa: BLE001 - the executor itself failed this run
                    log.error("could not grade submission %d: %s", submission.id, exc)
                    outcome = Outcome("sandbox error", f"the grader failed: {exc}"[:500], 0.0,
                                      "?", executor.sandbox_kind,
                                      _zeros_of(task, "the grader could not run your notebook"))
                store_outcome(course, submission, outcome)
                gradebook.record_run(submission.id, outcome)
                summary.graded += 1
                summary.timings.append(outcome.timings)
                summary.statuses[outcome.status] = summary.statuses.get(outcome.status, 0) + 1
                failures += outcome.status not in ("graded", "missing object")
                bar.set_postfix(failures=failures)
                bar.update()
    finally:
        for future, (submission, _) in futures.items():  # interrupted: give the rest back
            future.cancel()
            gradebook.unclaim(submission.id, owner)
    summary.seconds = time.monotonic() - started
    return summary


def _zeros_of(task: GradingTask, message: str) -> list[dict]:
    """Zero marks under the task's own plan (the free-form criteria for a free-form task); none
    when even the plan cannot be read (an unknown experiment, a rubric gone wrong)."""
    try:
        experiment = get_experiment(task.experiment)
        return zero_results(plan_for(experiment, task_mode(experiment, task).free_form), message)
    except Exception:  # noqa: BLE001 - the run already failed: record it with what there is
        log.exception("no plan for submission %d", task.submission_id)
        return []


def store_outcome(course: Path, submission: Submission, outcome: Outcome) -> None:
    """Keep the executed notebook where feedback looks for it (a remote run sends it back)."""
    if not outcome.executed:
        return
    path = course / "graded" / submission.experiment / str(submission.id) / "executed.ipynb"
    if not path.exists() or path.read_bytes() != outcome.executed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(outcome.executed)


def claim_owner() -> str:
    """This grader's name in the queue's claims: host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def stale_owners(claims: dict[str, list[int]]) -> set[str]:
    """Owners of claims that are processes of this host that no longer run (killed graders)."""
    host = socket.gethostname()
    stale = set()
    for owner in claims:
        name, _, pid = owner.rpartition(":")
        if name == host and pid.isdigit() and not process_alive(int(pid)):
            stale.add(owner)
    return stale


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (killed, not yet reaped) is not alive
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1] != "Z"
    except OSError:
        return True
