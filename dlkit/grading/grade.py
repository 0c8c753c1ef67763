"""Grade collected submissions: sandboxed runs in parallel, judged outside, committed atomically.

For each submission: the runner executes the notebook inside the sandbox and exports what the
tests' extract halves return; a clean judge process, which never runs student code, judges the
exported data; the run and its results go into the gradebook in one transaction. A rerun skips
what is already graded, so a crash, Ctrl-C or ``kill -9`` loses nothing and doubles nothing.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import Future, as_completed
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
from sqlalchemy import select, update

from dlkit import __version__
from dlkit.data import cache_root
from dlkit.experiments import Experiment
from dlkit.experiments import get as get_experiment
from dlkit.gradebook import REGRADE_STATUSES, Gradebook, Result, Run, Submission, duration, utcnow
from dlkit.grading.channel import CAPS, Received, receive
from dlkit.grading.not_provided import STATUS as NOT_PROVIDED
from dlkit.grading.version_changes import explain as explain_version_change
from dlkit.grading.split import split_test
from dlkit.notebook.master import read_master
from dlkit.sandbox import Limits, Running, Sandbox, default_sandbox, judge_sandbox
from dlkit.stack import import_root
from dlkit.warm import RUN_FOLDER

if TYPE_CHECKING:
    from dlkit.grading.executors import Executor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlannedTest:
    id: str
    question: str
    index: int
    hidden: bool
    points: float
    extract: str
    judge: str


@dataclass(frozen=True)
class GradingTask:
    """One grading run as explicit inputs, so that it runs alike in this process's pool or on
    any worker that has the same kit (``kit_version``) and data."""

    submission_id: int
    experiment: str
    notebook: bytes
    limits: Limits
    kit_version: str = __version__
    gpu: bool = False  # the run wants a GPU (a worker pins it to one device)
    require_sandbox: bool = False
    #: the course's dataset map: (path the notebook reads, registry entry[/file]) pairs, mounted
    #: read-only there from the worker's data cache (see :mod:`dlkit.data.datamap`)
    datasets: tuple[tuple[str, str], ...] = ()
    #: graded on the free-form rubric (objects found by type and shape), not the master's
    #: tests; None: the notebook decides (:func:`grading_mode`)
    free_form: bool | None = False


@dataclass
class Outcome:
    """What one grading run produced, before it is written to the gradebook (the explicit
    outputs of a :class:`GradingTask`: verdicts, status, reason, the executed notebook)."""

    status: str
    reason: str
    seconds: float
    device: str
    sandbox: str
    results: list[dict] = field(default_factory=list)
    executed: bytes = b""  # the executed notebook, with its outputs and plots
    host: str = ""
    #: where the notebook stopped with an error: cell, first_line, error, message, frames
    error: dict = field(default_factory=dict)
    cpu_seconds: float = 0.0  # what the sandboxed run used (the limit counts this, not seconds)
    #: where the time went, in seconds (:func:`phase_timings`): for the grader's figures
    timings: dict = field(default_factory=dict)
    mode: str = ""  # "starter" or "free-form" (:func:`grading_mode`)
    mode_reason: str = ""

    @property
    def score(self) -> float:
        return sum(r["points"] for r in self.results)


@dataclass
class GradeSummary:
    experiment: str
    graded: int = 0
    skipped: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    sandbox: str = ""
    timings: list[dict] = field(default_factory=list)  # each run's, in the order they ended


# --------------------------------------------------------------------------- the plan

def plan_tests(experiment: Experiment) -> list[PlannedTest]:
    """Every autograded test of the experiment, split in halves, with otter's points:
    a test with its own ``points`` keeps them; the others share the rest of the question's."""
    master = read_master(experiment.master)
    plan = []
    for question in master.autograded:
        fixed = sum(t.points or 0 for t in question.tests if t.points is not None)
        shared = [t for t in question.tests if t.points is None]
        each = (question.points - fixed) / len(shared) if shared else 0.0
        for index, test in enumerate(question.tests):
            halves = split_test(test.source)
            points = float(test.points) if test.points is not None else each
            plan.append(PlannedTest(f"{question.name}-{index}", question.name, index,
                                    test.hidden, points, halves.extract, halves.judge))
    return plan


def free_form_plan(experiment: Experiment) -> list[PlannedTest]:
    """The tests of a free-form grading (:mod:`dlkit.grading.free_form`): one per criterion of
    the experiment's free-form rubric, with its marks."""
    from dlkit.errors import DlkitError
    from dlkit.grading.free_form import load_rubric

    rubric = load_rubric(experiment)
    if rubric is None:
        raise DlkitError(f"{experiment.id} has no free-form rubric", where=str(experiment.rubric))
    return [PlannedTest(f"{c.name}-0", c.name, 0, False, c.points, *astuple(split_test(c.source)))
            for c in rubric.criteria]


def starter_cells(experiment: Experiment) -> dict[str, int]:
    """Variable name -> the released notebook's cell (1-based) that asks for it."""
    released = experiment.root / "release" / experiment.id / experiment.master.name
    cells: dict[str, int] = {}
    if released.exists():
        nb = nbformat.read(released, as_version=4)
        for number, cell in enumerate(nb.cells, start=1):
            if cell.cell_type == "code":
                for name in re.findall(r"^\s*([A-Za-z_]\w*)\s*(?:,[^=]*)?=(?!=)", cell.source, re.M):
                    cells.setdefault(name, number)
                for name in re.findall(r"^def\s+([A-Za-z_]\w*)", cell.source, re.M):
                    cells.setdefault(name, number)
    return cells


@dataclass(frozen=True)
class Mode:
    """How a notebook is graded, and why (the page and the gradebook say both)."""

    free_form: bool
    why: str

    @property
    def name(self) -> str:
        return "free-form" if self.free_form else "starter"


def starter_objects(plan: list[PlannedTest]) -> list[str]:
    """The names the starter's tests take from the student's notebook, in the plan's order."""
    names: dict[str, None] = {}
    for test in plan:
        names.update(dict.fromkeys(re.findall(r"\bns\s*,\s*[\"'](\w+)[\"']", test.extract)))
    return list(names)


def defined_names(nb) -> set[str]:
    """The names a notebook's code cells define themselves (assignments, functions, classes,
    loop and ``with`` targets); imports are not the student's own objects."""
    import ast

    names: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join("" if line.lstrip().startswith(("!", "%")) else line
                           for line in cell.source.splitlines())
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return names


def grading_mode(experiment: Experiment, nb, forced: bool | None = None) -> Mode:
    """Starter or free-form: ``forced`` (``--starter``/``--free-form``, the rubric's switch)
    when given; else free-form when the notebook does not come from the starter (no otter
    cell) and defines fewer than half of the objects the starter's tests ask for."""
    from dlkit.grading.free_form import load_rubric

    if forced is not None:
        return Mode(forced, "asked for by the instructor (" + ("--free-form or the rubric's "
                    "free_form switch)" if forced else "--starter)"))
    if _from_starter(nb):
        return Mode(False, "the notebook comes from the starter (it has the starter's cells)")
    asked = starter_objects(_cached(plan_tests, experiment))
    defined = [name for name in asked if name in defined_names(nb)]
    counted = f"defines {len(defined)} of the {len(asked)} objects the starter's tests ask for" + \
        (f" ({', '.join(f'`{n}`' for n in defined[:6])})" if defined else "")
    if len(defined) * 2 >= len(asked):
        return Mode(False, f"the notebook {counted}")
    if load_rubric(experiment) is None:
        return Mode(False, f"the notebook does not come from the starter and {counted}, but "
                           f"{experiment.id} has no free-form rubric")
    return Mode(True, f"the notebook does not come from the starter (no starter cells) and "
                      f"{counted}")


# --------------------------------------------------------------------------- devices

def detect_gpus() -> list[str]:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.strip()] \
        if out.returncode == 0 else []


def device_slots(gpus: str, workers: int | None) -> list[str]:
    """``gpu:N`` per GPU (one worker each), else ``cpu`` per worker."""
    chosen = detect_gpus() if gpus == "auto" else [] if gpus == "none" else \
        [g.strip() for g in gpus.split(",") if g.strip()]
    if chosen:
        return [f"gpu:{g}" for g in chosen]
    return ["cpu"] * max(1, workers or os.cpu_count() or 1)


def _device_env(slot: str, slots: int) -> dict[str, str]:
    # idle OpenMP threads sleep instead of spinning: CPU time measures the work, and a run does
    # not burn the cores another run (or its own judge) is waiting for
    if slot.startswith("gpu:"):
        return {"CUDA_VISIBLE_DEVICES": slot[4:], "TF_FORCE_GPU_ALLOW_GROWTH": "true",
                "OMP_WAIT_POLICY": "PASSIVE"}
    threads = str(max(1, (os.cpu_count() or 1) // slots))
    return {"CUDA_VISIBLE_DEVICES": "", "OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": threads,
            "TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": "1",
            "MKL_NUM_THREADS": threads}


# --------------------------------------------------------------------------- one submission

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
        nb = _read_notebook(notebook)
    except Exception as exc:  # noqa: BLE001 - any way a file can fail to be a notebook
        outcome.status, outcome.reason = "invalid notebook", f"not a valid notebook: {exc}"[:500]
        outcome.results = _zero(plan, "the notebook could not be read")
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
    _link_mounts(sandbox, scratch)
    env = {
        **({"DLKIT_URLS": json.dumps(urls)} if urls else {}),
        "HOME": str(scratch), "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "DLKIT_DATA": str(cache_root()), "PYTHONHASHSEED": "0", "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8",  # seeds, not deterministic ops
        "PYTENSOR_FLAGS": f"base_compiledir={scratch / RUN_FOLDER}", "PYTHONPATH": import_root(),
        **_device_env(slot, slots),
    }
    given = json.dumps({"notebook": nbformat.writes(nb),
                        "extracts": [{"id": t.id, "code": t.extract} for t in plan]}).encode()
    judge = _Judge.start(plan, exports, slots, limits, rubrics)  # warms up while the notebook runs
    launched = time.time()
    try:
        run = _run_sandboxed(sandbox, scratch, name, env, given, limits, plan, exports)
        got: Received = run.received
        outcome.cpu_seconds = run.cpu_seconds
        outcome.timings = phase_timings(got.timings, launched, run)
        outcome.executed = got.executed
        if got.executed:
            (work / "executed.ipynb").write_bytes(got.executed)
        outcome.status, outcome.reason = _status(run, got, limits)
        if outcome.status == "error":
            outcome.status, outcome.reason, not_provided = _data_not_provided(
                got.record, datasets, experiment_id, outcome.reason)
        if outcome.status in REGRADE_STATUSES:
            outcome.results = _zero(plan, "the grader could not run your notebook"
                                    if outcome.status == "sandbox error" else
                                    "the grader was too busy to run your notebook; it will be "
                                    "graded again")
        else:
            stopped = _stopped(got.record)
            outcome.error = stopped if outcome.status in ("error", NOT_PROVIDED) else {}
            if outcome.status == NOT_PROVIDED:
                stopped = outcome.error = {**stopped, "not_provided": not_provided}
            elif outcome.status == "error" and (change := explain_version_change(stopped)):
                outcome.error = {**stopped, "version_change": change}
                outcome.reason = f"{outcome.reason} — a library version change, not a " \
                                 f"mistake: {change}"[:1500]
            judging = time.monotonic()
            verdicts = {**judge.finish(), **{test: {"passed": False, "message": why}
                                             for test, why in got.uncollected.items()}}
            outcome.timings["judge"] = round(time.monotonic() - judging, 2)
            outcome.results = _results(plan, verdicts,
                                       starter if _from_starter(nb) and starter else {}, stopped,
                                       unrun=questions_not_run(nb, stopped))
            scrub_hidden_code(outcome.results, plan)
            failed = [r for r in outcome.results if r.pop("grader_failure", False)]
            missing = sorted({r["message"] for r in outcome.results if r.get("missing")})
            if failed:
                outcome.status = "sandbox error"
                outcome.reason = f"the grader failed while judging {failed[0]['question']}: " \
                                 f"{failed[0]['message']}"[:1000]
            elif outcome.status == "graded" and missing:
                outcome.status, outcome.reason = "missing object", "; ".join(missing)[:1000]
    finally:
        judge.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    outcome.seconds = time.monotonic() - started
    return outcome


#: characters of a hidden test's code that, found in a message, mean the message holds it
HIDDEN_WINDOW = 20


def scrub_hidden_code(results: list[dict], plan: list[PlannedTest]) -> None:
    """Remove any message that quotes a hidden test's code. The extract halves run in the
    student's kernel, which can read them there and write them into what it exports (an
    outcome's message): such a message is replaced. The code's string literals are left out
    of the comparison, so a test's own words ("`history` should be ...") still reach the
    student."""
    windows = set()
    for test in plan:
        if test.hidden:
            code = _code_without_strings(test.extract + "\n" + test.judge)
            windows.update(code[i:i + HIDDEN_WINDOW] for i in range(len(code) - HIDDEN_WINDOW + 1))
    for result in results:
        text = "".join(result["message"].split())
        if any(text[i:i + HIDDEN_WINDOW] in windows for i in range(len(text) - HIDDEN_WINDOW + 1)):
            result["message"] = ("the message for this test quoted the grader's hidden test, so "
                                 "it was removed")


def _code_without_strings(source: str) -> str:
    """The code's tokens but its strings and comments, without white space."""
    import io
    import tokenize

    kept = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type not in (tokenize.STRING, tokenize.COMMENT, tokenize.NL,
                                  tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT) \
                    and not token.type == getattr(tokenize, "FSTRING_MIDDLE", -1):
                kept.append(token.string)
    except (tokenize.TokenError, SyntaxError):
        return ""
    return "".join("".join(kept).split())


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
            _link_mounts(sandbox, scratch)
        run = once()
    if run.received is None:
        run.received = Received(problems=["the runner's channel was not read"])
    return run


def _link_mounts(sandbox: Sandbox, work: Path) -> None:
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


def run_task(task: GradingTask, work: Path, *, slot: str = "cpu", slots: int = 1,
             sandbox: Sandbox | None = None) -> Outcome:
    """Grade one task in ``work`` (wiped first) on the device ``slot``: the one function every
    executor calls, here or on a worker. It touches no gradebook."""
    experiment = get_experiment(task.experiment)
    if sandbox is None:
        sandbox = default_sandbox([experiment.root], require=task.require_sandbox,
                                  devices=_gpu_device_files() if slot.startswith("gpu") else [])
    work.parent.mkdir(parents=True, exist_ok=True)
    mode = task_mode(experiment, task)
    with tempfile.NamedTemporaryFile(suffix=".ipynb", prefix="dlkit-submission-") as notebook:
        notebook.write(task.notebook)
        notebook.flush()
        outcome = grade_submission(Path(notebook.name), work, _plan(experiment, mode.free_form),
                                   sandbox, task.limits, slot, slots,
                                   {} if mode.free_form else _starter(experiment),
                                   name=experiment.master.name, datasets=task.datasets,
                                   rubrics=(experiment.rubric.parent,),
                                   experiment_id=experiment.id)
    outcome.host = socket.gethostname()
    outcome.mode, outcome.mode_reason = mode.name, mode.why
    return outcome


def task_mode(experiment: Experiment, task: GradingTask) -> Mode:
    """The task's grading mode; a notebook that cannot be read is graded as forced (or on the
    starter), and fails as an invalid notebook there."""
    try:
        nb = nbformat.reads(task.notebook.decode("utf-8"), as_version=4)
    except Exception:  # noqa: BLE001 - any way a file can fail to be a notebook
        return Mode(bool(task.free_form), "the notebook could not be read")
    return grading_mode(experiment, nb, task.free_form)


def _plan(experiment: Experiment, free_form: bool | None = False) -> list[PlannedTest]:
    return free_form_plan(experiment) if free_form else _cached(plan_tests, experiment)


def _starter(experiment: Experiment) -> dict[str, int]:
    return _cached(starter_cells, experiment)


_CACHE: dict[tuple, object] = {}


def _cached(function, experiment: Experiment):
    """What ``function`` reads from an experiment's files, read again when its master changes."""
    master = experiment.master
    key = (function.__name__, experiment.id, str(master),
           master.stat().st_mtime_ns if master.exists() else 0)
    if key not in _CACHE:
        _CACHE[key] = function(experiment)
    return _CACHE[key]


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


def _status(run, got: Received, limits: Limits) -> tuple[str, str]:
    """The run's status from the sandbox's record and what the runner sent; never from
    anything the run's own processes wrote (their stderr is kept for the log only)."""
    record = got.record
    if run.memory_exceeded:
        return "memory limit", f"the notebook used more than {limits.memory_bytes / 2**30:g} GB"
    if run.overloaded:
        return "grader overloaded", (
            f"the grader machine was too busy: twice your notebook got only "
            f"{duration(run.cpu_seconds)} of CPU time in {duration(run.seconds)} (its limit is "
            f"{duration(limits.seconds)} of CPU time); not your doing, it will be graded again")
    if record is None and run.timed_out:
        return "timeout", _timeout_reason(run.cell, run.stopped, limits) + " (it was stopped)"
    if record is None:
        if got.started:  # the runner got going, and something of the run's ended it
            return "crashed", ("the grading process was killed while your notebook ran "
                               "(did the notebook kill its parent process?)")
        log.warning("the runner did not start (exit %s): %s", run.returncode,
                    run.stderr.strip()[-2000:] or "no output")
        return "sandbox error", (f"the grader's runner did not start (exit code "
                                 f"{run.returncode}); the instructor's log has the details")
    if any(e.get("error") == "MemoryError" for e in record.get("errors", [])):
        return "memory limit", (f"the notebook ran out of memory (limit "
                                f"{limits.memory_bytes / 2**30:g} GB)")
    if record.get("dead_kernel"):
        cell = next((e["cell"] for e in record["errors"] if e["error"] == "the kernel died"), "?")
        return "crashed", f"the kernel died while running cell {cell} (sys.exit, os._exit or a crash)"
    if record.get("timeout"):
        error = next((e for e in record["errors"] if e["error"] == "timeout"), {})
        return "timeout", _timeout_reason(error.get("cell"), error.get("why", "cpu"), limits)
    if stopped := _stopped(record):
        return "error", error_reason(stopped)
    return "graded", ""


def _data_not_provided(record: dict | None, datasets, experiment_id: str,
                       reason: str) -> tuple[str, str, str]:
    """An "error" that is a read of a path or URL the course does not provide (not in its
    dataset map) becomes "data not provided", with the path; any other stays as it was."""
    from dlkit.data.datamap import from_pairs
    from dlkit.grading import not_provided

    stopped = _stopped(record)
    path = not_provided.missing_read(stopped)
    if path is None or not_provided.provided(path, from_pairs(datasets)):
        return "error", reason, ""
    return NOT_PROVIDED, not_provided.reason(path[:300], stopped.get("cell", "?"), experiment_id), \
        path[:300]


def _stopped(record: dict | None) -> dict:
    """The error the notebook stopped at (the runner stops at the first one, as Run All does),
    or the cell a timeout or a dead kernel stopped it at; {} when it ran to the end."""
    if not record:
        return {}
    errors = record.get("errors") or []
    at = record.get("stopped_at")
    return next((e for e in errors if e.get("cell") == at), {}) if at else \
        next((e for e in errors if e.get("error") in ("timeout", "the kernel died")), {})


def error_reason(error: dict) -> str:
    """"cell 4 (`x = load()`) raised FileNotFoundError: ..." — the cell number is the student's
    notebook's, 1-based, counting every cell from the top (markdown included)."""
    line = f" (`{error['first_line']}`)" if error.get("first_line") else ""
    message = str(error.get("message", "")).strip()
    message = message if len(message) <= 400 else message[:399] + "…"
    return f"cell {error.get('cell', '?')}{line} raised {error.get('error', 'an error')}" + \
        (f": {message}" if message else "")


def _stopped_words(stopped: dict) -> str:
    """Why a test was not judged: where the notebook stopped, and on what."""
    cell = stopped.get("cell", "?")
    if stopped.get("not_provided"):
        from dlkit.grading.not_provided import not_judged_words

        return not_judged_words(stopped["not_provided"], cell)
    if stopped.get("error") == "timeout":
        return f"not judged: the notebook was stopped at cell {cell} by the time limit"
    if stopped.get("error") == "the kernel died":
        return f"not judged: the kernel died at cell {cell}"
    first = str(stopped.get("message", "")).strip().splitlines()[:1]
    what = stopped.get("error", "an error") + (f": {first[0][:150]}" if first else "")
    return f"not judged: the notebook stopped at cell {cell} ({what})"


def questions_not_run(nb, stopped: dict | None) -> frozenset[str]:
    """The questions whose cells the notebook did not finish before it stopped: those whose
    ``grader.check("<question>")`` cell (which follows a question's cells in the starter) comes
    after the cell it stopped at. Empty when it did not stop or has no such cells."""
    import ast

    at = (stopped or {}).get("cell")
    if not isinstance(at, int):
        return frozenset()
    late = set()
    for number, cell in enumerate(nb.cells, start=1):
        if number <= at or cell.cell_type != "code" or "grader.check" not in cell.source:
            continue
        try:
            calls = [n for n in ast.walk(ast.parse(cell.source)) if isinstance(n, ast.Call)]
        except SyntaxError:
            continue
        late.update(str(c.args[0].value) for c in calls if isinstance(c.func, ast.Attribute)
                    and c.func.attr == "check" and c.args and isinstance(c.args[0], ast.Constant))
    return frozenset(late)


def _from_starter(nb) -> bool:
    """Does the notebook come from the released starter (its otter init cell)? Only then do
    the starter's cell numbers mean anything to the student."""
    return any(cell.cell_type == "code" and "otter.Notebook(" in cell.source for cell in nb.cells)


def _timeout_reason(cell: int | None, why: str, limits: Limits) -> str:
    """The limit counts the notebook's CPU time; an idle notebook meets the wall-clock backstop."""
    where = f"cell {cell}" if cell else "the notebook"
    if why == "idle":
        return (f"{where} was still running after {duration(limits.wall_seconds)} while it "
                "mostly waited instead of computing (sleep, input, a deadlock?); later cells "
                "were not run")
    return (f"{where} was still running when the notebook had used its "
            f"{duration(limits.seconds)} of CPU time (the limit); later cells were not run")


#: what the judge may use: CPU seconds, memory (the run's), processes, the size of its files
JUDGE_SECONDS = 900.0
#: judges started for one run: one that dies on a test is started again for the tests after it
JUDGE_STARTS = 3


@dataclass
class _Judge:
    """The judging process, in a sandbox of its own (:func:`~dlkit.sandbox.judge_sandbox`),
    started early so that its imports overlap the notebook's run."""

    plan: list[PlannedTest]
    exports: Path
    sandbox: Sandbox
    env: dict[str, str]
    limits: Limits
    scratch: Path
    running: Running | None = None

    @classmethod
    def start(cls, plan: list[PlannedTest], exports: Path, slots: int, limits: Limits,
              rubrics: tuple[Path, ...] = ()) -> _Judge:
        scratch = Path(tempfile.mkdtemp(prefix="dlkit-judge-"))
        env = {"HOME": str(scratch), "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
               "DLKIT_DATA": str(cache_root()), "TF_CPP_MIN_LOG_LEVEL": "3", "LANG": "C.UTF-8",
               "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg", "PYTHONPATH": import_root(),
               **_device_env("cpu", slots)}
        judge_limits = Limits(seconds=JUDGE_SECONDS, memory_bytes=limits.memory_bytes,
                              processes=256, grace_seconds=30.0)
        judge = cls(plan, exports, judge_sandbox(exports, list(rubrics)), env, judge_limits,
                    scratch)
        judge.running = judge._launch(plan)
        return judge

    def _launch(self, tests: list[PlannedTest]) -> Running:
        ids = {t.id for t in self.plan}
        running = self.sandbox.start(
            [sys.executable, "-P", "-m", "dlkit.grading.judge", str(self.exports)], self.scratch,
            self.env, self.limits,
            on_result=lambda stream: receive(stream, tests=ids, exports=None, caps=CAPS))
        running.send(json.dumps([{"id": t.id, "judge": t.judge} for t in tests]).encode() + b"\n")
        return running

    def finish(self) -> dict[str, dict]:
        """Say ``go`` and gather the verdicts. A test the judge died on is failed with the
        reason (its memory limit: the student's exports; anything else: a grader failure); a
        judge is started again for the tests after it."""
        verdicts: dict[str, dict] = {}
        remaining = list(self.plan)
        for _ in range(JUDGE_STARTS):
            running, self.running = self.running or self._launch(remaining), None
            running.send(b"go\n")
            running.close_input()
            result = running.wait()
            got: Received = result.received or Received(problems=["no channel"])
            verdicts.update(got.verdicts)
            remaining = [t for t in remaining if t.id not in verdicts]
            if got.ended and not got.problems or not remaining:
                break
            culprit = got.judging if got.judging in {t.id for t in remaining} else None
            why = self._failure(result, got)
            log.warning("the judge stopped%s: %s", f" at {culprit}" if culprit else "", why)
            if culprit is None:
                break
            verdicts[culprit] = {"passed": False, "message": why,
                                 "grader_failure": not result.memory_exceeded}
            remaining = [t for t in remaining if t.id != culprit]
            if not remaining:
                break
        for test in remaining:
            verdicts.setdefault(test.id, {"passed": False, "grader_failure": True,
                                          "message": "the grader could not judge this test"})
        return verdicts

    def _failure(self, result, got: Received) -> str:
        if result.memory_exceeded:
            return (f"the grader ran out of memory ({self.limits.memory_bytes / 2**30:g} GB) "
                    "loading or judging what this test exported: your exported objects are too "
                    "large")
        if result.timed_out:
            return f"judging this test took more than {duration(self.limits.seconds)} of CPU time"
        if got.problems:
            return f"the judge's answer broke the rules ({got.problems[0]})"
        return f"the judge stopped (exit code {result.returncode})"

    def stop(self) -> None:
        if self.running is not None:
            self.running.kill()
            self.running = None
        shutil.rmtree(self.scratch, ignore_errors=True)


def _results(plan: list[PlannedTest], judged: dict, starter: dict[str, int],
             stopped: dict | None = None, unrun: frozenset[str] = frozenset()) -> list[dict]:
    """Each test's verdict. When the notebook stopped early (an error, a timeout), a test
    *could still run* if every object its extract half asks for existed when it stopped
    (defined by the cells before): it is judged as usual, even if a later cell would have
    changed the object. A test whose object did not exist yet is "not judged: the notebook
    stopped at cell N (<exception>)", never "missing". So is a failed test of a question in
    ``unrun`` (its cells came after the stop): what it measured, an untrained model say, is not
    what the student's cells would have made of it; a passed one keeps its marks."""
    results = []
    for test in plan:
        verdict = judged.get(test.id, {"passed": False, "message": "not judged"})
        message = verdict.get("message", "")
        if stopped and (verdict.get("missing") or "did not get this far" in message
                        or message == "not judged"
                        or (test.question in unrun and not verdict.get("passed"))):
            verdict = {"passed": False}
            message = _stopped_words(stopped)
        if verdict.get("missing"):
            name = re.search(r"`(\w+)`", message)
            if name and name.group(1) in starter:
                cell = starter[name.group(1)]
                asks = "the starter notebook asks you to define it"
                message = message.replace(asks, f"{asks} in cell {cell}") if asks in message \
                    else message + f" (the starter notebook asks for it in cell {cell})"
        state = "instructor" if verdict.get("manual") and not stopped else \
            "not judged" if message.startswith("not judged") and not verdict.get("passed") \
            else "judged"
        results.append({"question": test.question, "test": test.index, "hidden": test.hidden,
                        "points": test.points if verdict.get("passed") else 0.0,
                        "max_points": test.points, "passed": bool(verdict.get("passed")),
                        "message": message, "missing": bool(verdict.get("missing")),
                        "measured": verdict.get("measured") or {}, "state": state,
                        "grader_failure": bool(verdict.get("grader_failure"))})
    return results


def _zeros_of(task: GradingTask, message: str) -> list[dict]:
    """Zero marks under the task's own plan (the free-form criteria for a free-form task); none
    when even the plan cannot be read (an unknown experiment, a rubric gone wrong)."""
    try:
        experiment = get_experiment(task.experiment)
        return _zero(_plan(experiment, task_mode(experiment, task).free_form), message)
    except Exception:  # noqa: BLE001 - the run already failed: record it with what there is
        log.exception("no plan for submission %d", task.submission_id)
        return []


def _zero(plan: list[PlannedTest], message: str) -> list[dict]:
    return [{"question": t.question, "test": t.index, "hidden": t.hidden, "points": 0.0,
             "max_points": t.points, "passed": False, "message": message, "state": "not judged"}
            for t in plan]


# --------------------------------------------------------------------------- the batch

def grade_experiment(experiment_id: str, *, course: Path, gradebook: Gradebook,
                     workers: int | None = None, gpus: str = "auto",
                     timeout: float | None = None, memory_gb: float = 6.0,
                     regrade: bool = False, require_sandbox: bool = False,
                     progress: bool = True, executor: Executor | None = None,
                     wall_factor: float = Limits.wall_factor,
                     free_form: bool | None = None) -> GradeSummary:
    """Grade the newest version of every student's submission that has no current run
    (or whose run ended in a sandbox error or an overloaded grader), on ``executor`` (default:
    this machine's pool). ``free_form``: grade on the free-form rubric, or on the starter's tests
    (default: the rubric's ``free_form`` switch when on, else each notebook's own
    :func:`grading_mode`). ``timeout``: CPU seconds (default: the experiment's limit);
    ``wall_factor``: the wall-clock backstop, as a multiple of it."""
    from dlkit.grading.free_form import graded_free_form

    experiment = get_experiment(experiment_id)
    course = course.resolve()
    plan = _plan(experiment, graded_free_form(experiment) if free_form is None else free_form)
    free_form = True if free_form is None and graded_free_form(experiment) else free_form
    gradebook.note_experiment(experiment.id, experiment.number, experiment.title,
                              sum(t.points for t in plan))
    submissions = gradebook.latest_submissions(experiment.id)
    todo = pending_submissions(experiment.id, gradebook, regrade=regrade)
    limits = Limits(seconds=timeout or experiment.time_limit, memory_bytes=int(memory_gb * 2**30),
                    wall_factor=wall_factor)
    own = executor is None
    if own:
        from dlkit.grading.capacity import plan_workers
        from dlkit.grading.executors import LocalPool

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


def pending_submissions(experiment_id: str, gradebook: Gradebook, *,
                        regrade: bool = False) -> list[Submission]:
    """The newest submission of each student that has no current run, or whose run was not
    the student's doing (a sandbox error, an overloaded grader); every newest one with
    ``regrade``."""
    submissions = gradebook.latest_submissions(experiment_id)
    if regrade:
        return submissions
    with gradebook.session() as session:
        done = {s.id for s in submissions if (run := gradebook.current_run(session, s.id))
                and (run.status not in REGRADE_STATUSES
                     or _failed_attempts(session, s.id) >= MAX_ATTEMPTS)}
    return [s for s in submissions if s.id not in done]


#: runs of one submission that may end in a status that is not the student's doing (a sandbox
#: error, an overloaded grader) before that status is final, over every ``dlkit grade``
MAX_ATTEMPTS = 3


def _failed_attempts(session, submission_id: int) -> int:
    """Runs of the submission since its last run the grader did finish."""
    from sqlalchemy import func

    finished = select(func.max(Run.id)).where(Run.submission_id == submission_id,
                                              Run.status.not_in(REGRADE_STATUSES))
    return session.scalar(select(func.count(Run.id)).where(
        Run.submission_id == submission_id, Run.status.in_(REGRADE_STATUSES),
        Run.id > func.coalesce(finished.scalar_subquery(), 0))) or 0


def grade_submissions(submissions: list[Submission], executor: Executor, *, course: Path,
                      gradebook: Gradebook, limits: Limits | None = None,
                      require_sandbox: bool = False, progress: bool = True,
                      desc: str = "grade", free_form: bool | None = None) -> GradeSummary:
    """Claim each submission (one grader at a time: a submission another live grader holds is
    skipped), run it on ``executor``, write each run as it ends; the coordinator is the only
    writer of the gradebook. A claim the grader could not finish is given back."""
    from tqdm import tqdm

    from dlkit.data.datamap import MAP_FILE, as_pairs, read_dataset_map, require_available
    from dlkit.grading.free_form import graded_free_form

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
                record_run(gradebook, submission.id, outcome)
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
        if name == host and pid.isdigit() and not _alive(int(pid)):
            stale.add(owner)
    return stale


def _alive(pid: int) -> bool:
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


def record_run(gradebook: Gradebook, submission_id: int, outcome: Outcome) -> None:
    """Write one run and its results in one transaction; older runs stop being current."""
    with gradebook.session() as session:
        reason = outcome.reason
        if outcome.status in REGRADE_STATUSES \
                and _failed_attempts(session, submission_id) + 1 >= MAX_ATTEMPTS:
            reason = (f"{reason} — graded {MAX_ATTEMPTS} times with this result, so it is final: "
                      "the instructor can grade it again with --regrade")[:1500]
        session.execute(update(Run).where(Run.submission_id == submission_id)
                        .values(current=False))
        session.execute(update(Submission).where(Submission.id == submission_id)
                        .values(queue="", claimed_by="", claimed_at=None))
        run = Run(submission_id=submission_id, started_at=utcnow(), seconds=outcome.seconds,
                  device=outcome.device, host=outcome.host, sandbox=outcome.sandbox, status=outcome.status,
                  reason=reason, score=outcome.score,
                  error=json.dumps(outcome.error) if outcome.error else "",
                  mode=outcome.mode, mode_reason=outcome.mode_reason[:500],
                  max_score=sum(r["max_points"] for r in outcome.results
                                if r.get("state") != "instructor"), current=True)
        run.results = [Result(question=r["question"], test=r["test"], hidden=r["hidden"],
                              points=r["points"], max_points=r["max_points"],
                              passed=r["passed"], message=r["message"],
                              measured=json.dumps(r["measured"]) if r.get("measured") else "",
                              state=r.get("state", "judged"))
                       for r in outcome.results]
        session.add(run)


def _gpu_device_files() -> list[str]:
    return sorted(str(p) for p in Path("/dev").glob("nvidia*"))


def current_runs(gradebook: Gradebook, experiment_id: str) -> list[Run]:
    with gradebook.session() as session:
        return list(session.scalars(
            select(Run).join(Submission).where(Submission.experiment == experiment_id,
                                               Run.current.is_(True))).all())
