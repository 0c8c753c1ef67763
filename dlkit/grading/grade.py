"""Grade collected submissions: the coordinator of a batch, on any executor.

Each submission is claimed (one grader at a time), run on an executor (this machine's pool by
default, or a Dask cluster), and recorded as it ends: the run and its results go into the
gradebook in one transaction (:meth:`dlkit.gradebook.Gradebook.record_run`), and the coordinator
is its only writer. A rerun skips what is already graded, so a crash, Ctrl-C or ``kill -9`` loses
nothing and doubles nothing. One run is :mod:`dlkit.grading.run`.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
import socket
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from dlkit.experiments import Experiment
from dlkit.experiments import get as get_experiment
from dlkit.gradebook import REGRADE_STATUSES, Gradebook, Submission, current_run
from dlkit.grading.capacity import REJUDGE_BATCH, plan_workers
from dlkit.grading.execution import REJUDGED, SHARED, Execution, given_digest
from dlkit.grading.executors import LocalPool
from dlkit.grading.judging import KeptRun, rejudge_runs
from dlkit.grading.plans import grading_mode, plan_for, starter_for, task_mode
from dlkit.grading.run import keep_fresh, run_digests
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
                     free_form: bool | None = None, rejudge: bool = True) -> GradeSummary:
    """Grade the newest version of every student's submission that has no current run
    (or whose run ended in a sandbox error or an overloaded grader, or stopped at data the
    course now provides: :func:`submissions_to_grade`), on ``executor`` (default:
    this machine's pool). ``free_form``: grade on the free-form rubric, or on the starter's tests
    (default: the rubric's ``free_form`` switch when on, else each notebook's own
    :func:`~dlkit.grading.plans.grading_mode`). ``timeout``: CPU seconds (default: the
    experiment's limit);
    ``wall_factor``: the wall-clock backstop, as a multiple of it. A regraded submission whose
    kept exports still answer every test is only judged again, unless ``rejudge`` is False
    (:func:`plan_regrade`)."""
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
                                    free_form=free_form, rejudge=rejudge)
    finally:
        if own:
            executor.close()
    summary.skipped += len(submissions) - len(todo)
    return summary


@dataclass
class RegradePlan:
    """What a batch does with each submission: judge its kept exports again (``rejudge``:
    submission id -> the execution and the run that executed it) or run its notebook
    (``rerun``: submission id -> why; "" when it was never graded). ``same``: submission id ->
    its notebook's :func:`~dlkit.grading.execution.notebook_digest`, for those that run."""

    rejudge: dict[int, tuple[Execution, int]] = field(default_factory=dict)
    rerun: dict[int, str] = field(default_factory=dict)
    same: dict[int, str] = field(default_factory=dict)

    @property
    def executions(self) -> int:
        """Notebooks that will run: one per group of identical ones."""
        return len({self.same.get(i) or f"#{i}" for i in self.rerun})

    def describe(self) -> str:
        """"18 re-judged on their kept exports, 2 re-run (the extract half of q1-0 changed)"."""
        whys = sorted({why for why in self.rerun.values() if why})
        text = f"{len(self.rejudge)} re-judged on their kept exports, {len(self.rerun)} re-run"
        if whys:
            more = f"; {len(whys) - 1} other reason(s)" if len(whys) > 1 else ""
            text += f" ({whys[0]}{more})"
        if shared := len(self.rerun) - self.executions:
            text += f", {shared} identical to another and run once with it"
        return text


def queue_limits(experiment: Experiment, memory_gb: float = MEMORY_GB) -> Limits:
    """The limits a queue's worker (the portal's) grades ``experiment`` under."""
    return Limits(seconds=experiment.time_limit, memory_bytes=int(memory_gb * 2**30))


#: statuses whose executions are always run again: not the student's doing, or nothing ran
NEVER_REJUDGED = (*REGRADE_STATUSES, "invalid notebook")


def plan_regrade(submissions: list[Submission], *, course: Path, gradebook: Gradebook,
                 limits: Limits | None = None, free_form: bool | None = None,
                 rejudge: bool = True) -> RegradePlan:
    """Decide per submission whether its current run's kept exports (under
    ``<course>/graded/<exp>/<id>/exports``) still answer every test's extract half, given the
    same notebook, dataset map and limits: then only the judge runs again; else the notebook
    runs (:func:`~dlkit.grading.execution.rejudge_decision`). ``rejudge=False`` runs them all."""
    from dlkit.data.datamap import as_pairs, read_dataset_map
    from dlkit.grading.execution import notebook_digest, rejudge_decision

    datasets = as_pairs(read_dataset_map(course))
    out = RegradePlan()
    for submission in submissions:
        experiment = get_experiment(submission.experiment)
        try:
            raw = (course / submission.path).read_bytes()
        except OSError as exc:
            out.rerun[submission.id] = f"its file cannot be read ({exc.strerror})"
            continue
        with gradebook.session() as session:
            run = current_run(session, submission.id)
            current = (Execution.from_json(run.execution), run.execution_of or run.id) \
                if run is not None else None
        why = "" if current is None else "asked to run again" if not rejudge else \
            rejudge_decision(current[0], run_digests(
                plan_for(experiment, _notebook_mode(experiment, raw, free_form),
                         submission.variant or ""),
                given_digest(raw, experiment.master.name, datasets,
                             limits or Limits(seconds=experiment.time_limit))),
                course / "graded" / submission.experiment / str(submission.id) / "exports",
                NEVER_REJUDGED)
        if current is not None and not why:
            out.rejudge[submission.id] = current  # type: ignore[assignment]
        else:
            out.rerun[submission.id] = why
            out.same[submission.id] = notebook_digest(raw) or ""
    return out


def _free_form(experiment: Experiment, free_form: bool | None) -> bool | None:
    """The mode a batch forces (``--free-form``/``--starter``, the rubric's switch when on);
    None: each notebook's own (:func:`~dlkit.grading.plans.grading_mode`)."""
    return True if free_form is None and graded_free_form(experiment) else free_form


def _notebook_mode(experiment: Experiment, raw: bytes, free_form: bool | None) -> bool:
    """Whether this notebook is graded free-form (as :func:`~dlkit.grading.plans.task_mode`)."""
    import nbformat

    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except Exception:  # noqa: BLE001 - an unreadable notebook runs (and fails) on the starter
        return bool(_free_form(experiment, free_form))
    return grading_mode(experiment, nb, _free_form(experiment, free_form)).free_form


def keeps_runs(executor: Executor, course: Path) -> bool:
    """Does ``executor`` keep its runs' exports in the course (``<course>/graded``), where a
    regrade can judge them again? (A Dask worker's work folders go when its run ends.)"""
    root = getattr(executor, "work_root", None)
    return root is not None and Path(root).resolve() == (course / "graded").resolve()


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
                      desc: str = "grade", free_form: bool | None = None,
                      rejudge: bool = True) -> GradeSummary:
    """Claim each submission (one grader at a time: a submission another live grader holds is
    skipped), run it on ``executor``, write each run as it ends; the coordinator is the only
    writer of the gradebook. A claim the grader could not finish is given back.

    A submission whose kept exports still answer every test (:func:`plan_regrade`) is only
    judged again; identical notebooks run once, each recorded with its own run. ``rejudge=False``
    runs every notebook."""
    from tqdm import tqdm

    from dlkit.data.datamap import MAP_FILE, as_pairs, read_dataset_map, require_available

    datasets = read_dataset_map(course)
    require_available(datasets, where=str(course / MAP_FILE))  # before any claim
    plan = plan_regrade(submissions, course=course, gradebook=gradebook, limits=limits,
                        free_form=free_form, rejudge=rejudge and keeps_runs(executor, course))
    owner = claim_owner()
    stale = stale_owners(gradebook.claims())
    summary = GradeSummary(submissions[0].experiment if submissions else "",
                           sandbox=executor.sandbox_kind)
    if not executor.isolated:
        log.warning("grading WITHOUT isolation: %s", executor.sandbox_kind)
    started = time.monotonic()
    #: each future's runs: (submission, task, the identical notebooks recorded with it)
    futures: dict[Future, list[tuple[Submission, GradingTask, list[Submission]]]] = {}
    leaders: dict[str, list[Submission]] = {}  # notebook digest -> the one that runs, then the rest
    kept: dict[tuple[str, bool], list[tuple[Submission, GradingTask]]] = {}
    threads = max(1, len(getattr(executor, "slots", ())))
    judges = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="dlkit-rejudge")
    try:
        for submission in submissions:
            if not gradebook.claim(submission.id, owner, stale=stale):
                summary.skipped += 1  # another grader has it now
                continue
            digest = plan.same.get(submission.id)
            if digest and digest in leaders:
                leaders[digest].append(submission)  # recorded when its twin's run ends
                continue
            experiment = get_experiment(submission.experiment)
            task = GradingTask(submission.id, experiment.id, (course / submission.path).read_bytes(),
                               limits or Limits(seconds=experiment.time_limit),
                               gpu=executor.gpus > 0, require_sandbox=require_sandbox,
                               datasets=as_pairs(datasets),
                               free_form=_free_form(experiment, free_form),
                               variant=submission.variant or "")
            if submission.id in plan.rejudge:
                kept.setdefault((experiment.id, task_mode(experiment, task).free_form),
                                []).append((submission, task))
                continue
            group = leaders.setdefault(digest, [submission]) if digest else [submission]
            futures[executor.submit(task)] = [(submission, task, group)]
        chunks = [chunk for items in kept.values() for chunk in _batches(items, threads)]
        # judged here, where the exports are; the CPUs shared by the judges that run at once
        cores = max(1, (os.cpu_count() or 1) // max(1, min(threads, len(chunks))))
        for chunk in chunks:
            futures[judges.submit(_rejudge_chunk, chunk, plan, course, cores)] = \
                [(s, t, [s]) for s, t in chunk]
        with tqdm(total=sum(len(g) for runs in futures.values() for _, _, g in runs), desc=desc,
                  unit="nb", disable=not progress, file=sys.stderr) as bar:
            failures = 0
            for future in as_completed(futures):
                runs = futures.pop(future)
                for (submission, _task, group), outcome in zip(runs, _outcomes(future, runs,
                                                                              executor)):
                    again = plan.rejudge.get(submission.id)
                    store_outcome(course, submission, outcome)
                    run_id = gradebook.record_run(submission.id, outcome,
                                        execution_of=again[1] if again else None)
                    failures += _count(summary, outcome)
                    for twin in group[1:]:
                        shared = share_outcome(course, submission, twin, outcome)
                        store_outcome(course, twin, shared)
                        gradebook.record_run(twin.id, shared, execution_of=run_id)
                        failures += _count(summary, shared)
                    bar.set_postfix(failures=failures)
                    bar.update(len(group))
    finally:
        judges.shutdown(wait=False, cancel_futures=True)
        for future, runs in futures.items():  # interrupted: give the rest back
            future.cancel()
            for _, _, group in runs:
                for member in group:
                    gradebook.unclaim(member.id, owner)
    summary.seconds = time.monotonic() - started
    return summary


def _batches(items: list, judges: int) -> list[list]:
    """``items`` in batches of at most :data:`REJUDGE_BATCH`, spread over ``judges`` judges."""
    size = min(REJUDGE_BATCH, -(-len(items) // judges))
    return [items[at:at + size] for at in range(0, len(items), size)]


def _rejudge_chunk(chunk: list[tuple[Submission, GradingTask]], plan: RegradePlan, course: Path,
                   cores: int) -> list[Outcome]:
    """Judge the kept exports of ``chunk`` (one experiment's) again, in one judge sandbox that
    computes on ``cores`` CPU threads."""
    task = chunk[0][1]
    experiment = get_experiment(task.experiment)
    runs = [KeptRun(s.id, course / "graded" / s.experiment / str(s.id), plan.rejudge[s.id][0])
            for s, _ in chunk]
    mode = task_mode(experiment, task)
    outcomes = rejudge_runs(runs, plan_for(experiment, mode.free_form, task.variant), task.limits,
                            cores, {} if mode.free_form else starter_for(experiment),
                            rubrics=(experiment.rubric.parent,))
    for outcome in outcomes:
        outcome.host = socket.gethostname()
        outcome.mode, outcome.mode_reason = mode.name, mode.why
    return outcomes


def _outcomes(future: Future, runs: list[tuple[Submission, GradingTask, list[Submission]]],
              executor: Executor) -> list[Outcome]:
    """The outcomes of a future's runs, in order; a sandbox error each when it failed."""
    try:
        result = future.result()
        return result if isinstance(result, list) else [result]
    except Exception as exc:  # noqa: BLE001 - the executor (or a judge) failed these runs
        log.error("could not grade submission(s) %s: %s",
                  ", ".join(str(s.id) for s, _, _ in runs), exc)
        return [Outcome("sandbox error", f"the grader failed: {exc}"[:500], 0.0, "?",
                        executor.sandbox_kind,
                        _zeros_of(task, "the grader could not run your notebook"))
                for _, task, _ in runs]


def _count(summary: GradeSummary, outcome: Outcome) -> bool:
    """Add a recorded run to the summary; whether it failed."""
    summary.graded += 1
    summary.rejudged += outcome.origin == REJUDGED
    summary.shared += outcome.origin == SHARED
    summary.timings.append(outcome.timings)
    summary.statuses[outcome.status] = summary.statuses.get(outcome.status, 0) + 1
    return outcome.status not in ("graded", "missing object")


def share_outcome(course: Path, ran: Submission, twin: Submission, outcome: Outcome) -> Outcome:
    """The outcome of ``twin``, whose notebook is identical to ``ran``'s, from ``ran``'s run:
    the same verdicts, marked shared; ``ran``'s kept exports are copied into ``twin``'s own
    folder (when this machine kept them) so that it can be re-judged on its own later."""
    from dlkit.grading.execution import copy_exports

    started = time.monotonic()
    shared = dataclasses.replace(outcome, origin=SHARED, results=copy.deepcopy(outcome.results),
                                 error=dict(outcome.error), timings={}, execution=None)
    if outcome.execution is not None:
        source = course / "graded" / ran.experiment / str(ran.id) / "exports"
        work = course / "graded" / twin.experiment / str(twin.id)
        try:
            keep_fresh(work)
            if copy_exports(source, work / "exports") == outcome.execution.exports:
                shared.execution = dataclasses.replace(outcome.execution)
        except (OSError, ValueError) as exc:
            log.warning("the exports of submission %d could not be kept for %d: %s", ran.id,
                        twin.id, exc)
    shared.seconds = time.monotonic() - started
    shared.timings = {"wall": round(shared.seconds, 2)}
    return shared


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
