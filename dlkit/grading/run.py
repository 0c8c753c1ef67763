"""One grading run: a notebook executed in the sandbox, its exports judged in a sandbox of their own.

:func:`run_task` is the one function every executor calls, here or on a Dask worker; it touches
no gradebook. :func:`grade_submission` does the work: the runner (:mod:`dlkit.grading.runner`)
executes the notebook and sends the extract halves' exports over the channel into ``exports/``;
the judge (:mod:`dlkit.grading.judge`), started early so its imports overlap the notebook's run,
judges them (:mod:`dlkit.grading.judging`); :mod:`dlkit.grading.verdicts` turns both into the
outcome. What a later regrade needs to judge the exports again without running the notebook
is kept with it (:class:`~dlkit.grading.execution.Execution`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from dlkit.data import cache_root
from dlkit.experiments import get as get_experiment
from dlkit.gradebook import REGRADE_STATUSES
from dlkit.grading.channel import CAPS, Received, receive
from dlkit.grading.devices import device_env, gpu_device_files
from dlkit.grading.execution import Execution, exports_manifest, extract_digest, given_digest, judge_digests
from dlkit.grading.judging import Judge, judge_execution
from dlkit.grading.not_provided import STATUS as NOT_PROVIDED
from dlkit.grading.plans import plan_for, starter_for, task_mode
from dlkit.grading.tasks import GradingTask, Outcome, PlannedTest
from dlkit.grading.verdicts import (
    data_not_provided,
    from_starter,
    questions_not_run,
    run_status,
    stopped_at,
    zero_results,
)
from dlkit.grading.version_changes import explain as explain_version_change
from dlkit.sandbox import Limits, Sandbox, default_sandbox
from dlkit.stack import import_root
from dlkit.warm import RUN_FOLDER

log = logging.getLogger(__name__)


def run_task(task: GradingTask, work: Path, *, slot: str = "cpu", slots: int = 1,
             sandbox: Sandbox | None = None) -> Outcome:
    """Grade one task in ``work`` (wiped first) on the device ``slot``: the one function every
    executor calls, here or on a worker. It touches no gradebook."""
    experiment = get_experiment(task.experiment)
    if sandbox is None:
        sandbox = default_sandbox([experiment.root], require=task.require_sandbox,
                                  devices=gpu_device_files() if slot.startswith("gpu") else [])
    work.parent.mkdir(parents=True, exist_ok=True)
    mode = task_mode(experiment, task)
    with tempfile.NamedTemporaryFile(suffix=".ipynb", prefix="dlkit-submission-") as notebook:
        notebook.write(task.notebook)
        notebook.flush()
        outcome = grade_submission(Path(notebook.name), work,
                                   plan_for(experiment, mode.free_form, task.variant),
                                   sandbox, task.limits, slot, slots,
                                   {} if mode.free_form else starter_for(experiment),
                                   name=experiment.master.name, datasets=task.datasets,
                                   rubrics=(experiment.rubric.parent,),
                                   experiment_id=experiment.id)
    outcome.host = socket.gethostname()
    outcome.mode, outcome.mode_reason = mode.name, mode.why
    if task.variant and not mode.free_form:
        note_variant(outcome, task, experiment)
    return outcome


def note_variant(outcome: Outcome, task: GradingTask, experiment) -> None:
    """Say so when the notebook answers another student's variant: it was judged against the
    roll's own parameters (read from the notebook's code as literals; nothing is run)."""
    from dlkit.variants import another_variant, variant_of

    try:
        nb = nbformat.reads(task.notebook.decode("utf-8", errors="replace"), as_version=4)
    except Exception:  # noqa: BLE001 - an unreadable notebook has its own status already
        return
    note = another_variant(nb, experiment, variant_of(experiment, task.variant))
    if note:
        outcome.reason = f"{outcome.reason}; {note}" if outcome.reason else note


def grade_submission(notebook: Path, work: Path, plan: list[PlannedTest], sandbox: Sandbox,
                     limits: Limits, slot: str = "cpu", slots: int = 1,
                     starter: dict[str, int] | None = None, name: str = "submission.ipynb",
                     datasets: tuple[tuple[str, str], ...] = (), rubrics: tuple[Path, ...] = (),
                     experiment_id: str = "EXPERIMENT") -> Outcome:
    """Run, extract, judge one notebook; always returns an Outcome, never raises for its content.

    ``work`` is where the trusted side keeps the run (``executed.ipynb``, ``exports/``): written
    only from what came over the channel (:mod:`dlkit.grading.channel`). The notebook itself
    runs in a scratch folder of its own (a tmpfs inside bubblewrap) that nothing is read from.
    ``rubrics``: folders the judge reads (the free-form rubric's bars); ``experiment_id`` names
    the experiment in what the instructor is told to run."""
    started = time.monotonic()
    keep_fresh(work)
    outcome = Outcome("graded", "", 0.0, slot, sandbox.kind)
    try:
        raw = notebook.read_bytes()
        nb = _read_notebook(notebook)
    except Exception as exc:  # noqa: BLE001 - any way a file can fail to be a notebook
        outcome.status, outcome.reason = "invalid notebook", f"not a valid notebook: {exc}"[:500]
        outcome.results = zero_results(plan, "the notebook could not be read")
        outcome.seconds = time.monotonic() - started
        return outcome
    exports = work / "exports"
    exports.mkdir(mode=0o755)
    scratch = Path(tempfile.mkdtemp(prefix="dlkit-run-"))
    urls: dict[str, str] = {}
    if datasets:  # the course's dataset map, from this machine's data cache
        from dlkit.data.datamap import dataset_mounts, mapped_urls

        sandbox = dataclasses.replace(sandbox, mounts=[*sandbox.mounts,
                                                       *dataset_mounts(datasets, scratch)])
        urls = mapped_urls(datasets, scratch)
    link_mounts(sandbox, scratch)
    env = {
        **({"DLKIT_URLS": json.dumps(urls)} if urls else {}),
        "HOME": str(scratch), "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "DLKIT_DATA": str(cache_root()), "PYTHONHASHSEED": "0", "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8",  # seeds, not deterministic ops
        "PYTENSOR_FLAGS": f"base_compiledir={scratch / RUN_FOLDER}", "PYTHONPATH": import_root(),
        **device_env(slot, slots),
    }
    given = json.dumps({"notebook": nbformat.writes(nb),
                        "extracts": [{"id": t.id, "code": t.extract} for t in plan]}).encode()
    judge = Judge.start(plan, exports, slots, limits, rubrics)  # warms up while the notebook runs
    launched = time.time()
    try:
        run = _run_sandboxed(sandbox, scratch, name, env, given, limits, plan, exports)
        got: Received = run.received
        outcome.cpu_seconds = run.cpu_seconds
        outcome.timings = phase_timings(got.timings, launched, run)
        outcome.executed = got.executed
        if got.executed:
            (work / "executed.ipynb").write_bytes(got.executed)
        outcome.status, outcome.reason = run_status(run, got, limits)
        if outcome.status == "error":
            outcome.status, outcome.reason, not_provided = data_not_provided(
                got.record, datasets, experiment_id, outcome.reason)
        if outcome.status in REGRADE_STATUSES:
            outcome.results = zero_results(plan, "the grader could not run your notebook"
                                    if outcome.status == "sandbox error" else
                                    "the grader was too busy to run your notebook; it will be "
                                    "graded again")
        else:
            stopped = stopped_at(got.record)
            outcome.error = stopped if outcome.status in ("error", NOT_PROVIDED) else {}
            if outcome.status == NOT_PROVIDED:
                stopped = outcome.error = {**stopped, "not_provided": not_provided}
            elif outcome.status == "error" and (change := explain_version_change(stopped)):
                outcome.error = {**stopped, "version_change": change}
                outcome.reason = f"{outcome.reason} — a library version change, not a " \
                                 f"mistake: {change}"[:1500]
            execution = Execution(
                outcome.status, outcome.reason, stopped, dict(got.uncollected),
                sorted(questions_not_run(nb, stopped)), from_starter(nb),
                extracts=run_digests(plan, given_digest(raw, name, datasets, limits)),
                judges=judge_digests(plan), seconds=run.seconds)
            judging = time.monotonic()
            verdicts = judge.finish()
            execution.verdicts = {t: v for t, v in verdicts.items()
                                  if not v.get("grader_failure")}
            judge_execution(outcome, verdicts, plan, execution, starter)
            outcome.timings["judge"] = round(time.monotonic() - judging, 2)
            try:
                execution.exports = exports_manifest(exports)
                outcome.execution = execution
            except (OSError, ValueError) as exc:  # kept, but not as the channel writes them
                log.warning("%s: the exports cannot be kept for a re-judge: %s", work, exc)
    finally:
        judge.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    outcome.seconds = time.monotonic() - started
    return outcome


def run_digests(plan: list[PlannedTest], given: str) -> dict[str, str]:
    """Test id -> the extract digest of its exports in a run given ``given``."""
    return {t.id: extract_digest(t.extract, given) for t in plan}


def keep_fresh(work: Path) -> None:
    """An empty folder for a run's kept files (made by the trusted side; what was there goes,
    links included, without following any)."""
    shutil.rmtree(work, ignore_errors=True)
    if work.is_symlink() or work.exists():
        work.unlink()
    work.mkdir(parents=True, mode=0o755)


def phase_timings(clock: dict, launched: float, run) -> dict:
    """Where a run's time went, from the runner's clock (its ``timings`` frame) and the
    sandbox's record: ``sandbox start`` (launch to the runner's first step), ``kernel start``,
    ``prelude``, ``cells`` and ``collect`` as wall seconds, ``cells cpu`` (the kernel's CPU
    seconds), ``slowest cells`` (cell: wall, cpu), the kernel's ``threads``, and the run's
    ``cpu``, ``waited`` (seconds its threads queued for a CPU) and ``wall`` in all; ``judge``
    (waiting for the verdicts) is added once judged. The clock is the runner's: what does not
    fit its shape is left out."""
    phases = [p for p in clock.get("phases", []) if isinstance(p, dict)
              and isinstance(p.get("phase"), (int, str)) and not isinstance(p.get("phase"), bool)
              and all(isinstance(p.get(k), (int, float)) for k in ("wall", "cpu"))]
    named = {p["phase"]: p for p in phases if isinstance(p["phase"], str)}
    cells = [p for p in phases if isinstance(p["phase"], int)]
    began = clock.get("started")
    out = {"sandbox start": round(began - launched, 2) if isinstance(began, (int, float)) else None,
           **{name: named[name]["wall"] for name in ("kernel start", "prelude", "collect")
              if name in named},
           "cells": round(sum(p["wall"] for p in cells), 2),
           "cells cpu": round(sum(p["cpu"] for p in cells), 2),
           "slowest cells": {p["phase"]: [p["wall"], p["cpu"]] for p in
                             sorted(cells, key=lambda p: -p["wall"])[:3]},
           "threads": clock.get("threads", 0) if isinstance(clock.get("threads"), int) else 0,
           "wall": round(run.seconds, 2), "cpu": round(run.cpu_seconds, 2),
           "waited": round(run.waited_seconds, 2)}
    return {key: value for key, value in out.items() if value is not None}


def _run_sandboxed(sandbox: Sandbox, scratch: Path, name: str, env: dict[str, str],
                   given: bytes, limits: Limits, plan: list[PlannedTest], exports: Path):
    """The runner in the sandbox; what it sends is read by :func:`channel.receive` into
    ``exports``. A run the wall-clock backstop stopped while the machine was busy with other
    work (``overloaded``) is run once more from the same inputs; the second result stands."""
    tests = {t.id for t in plan}

    def once():
        for old in exports.iterdir():
            shutil.rmtree(old)
        return sandbox.run([sys.executable, "-P", "-m", "dlkit.grading.runner", str(scratch), name],
                           scratch, env, limits, input=given,
                           on_result=lambda stream: receive(stream, tests=tests, exports=exports,
                                                            caps=CAPS))

    run = once()
    if run.overloaded:
        log.warning("%s: the grader was too busy (%.0f s of CPU time in %.0f s); trying again",
                    scratch, run.cpu_seconds, run.seconds)
        if not sandbox.isolated:  # the fallback's work folder is the host's: start it afresh
            shutil.rmtree(scratch, ignore_errors=True)
            scratch.mkdir()
            link_mounts(sandbox, scratch)
        run = once()
    if run.received is None:
        run.received = Received(problems=["the runner's channel was not read"])
    return run


def link_mounts(sandbox: Sandbox, work: Path) -> None:
    """Without bubblewrap nothing can be mounted: the dataset map's files that belong in the
    work folder are linked there instead (absolute paths such as /content/... cannot be)."""
    if sandbox.isolated:
        return
    for source, destination in sandbox.mounts:
        if destination.is_relative_to(work) and not destination.exists():
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.symlink_to(source)
        elif not destination.is_relative_to(work):
            log.warning("no bubblewrap: %s cannot be mounted at %s", source, destination)


def _read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read and validate; a 4.x notebook whose cells carry ids (Jupyter adds them) is upgraded
    to 4.5 rather than refused."""
    nb = nbformat.read(path, as_version=4)
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError:
        if nb.nbformat_minor >= 5:
            raise
        nb.nbformat_minor = 5
        for cell in nb.cells:
            cell.setdefault("id", nbformat.v4.new_code_cell().id)
        nbformat.validate(nb)
    return nb
