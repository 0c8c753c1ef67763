"""What the grading code passes around: a run's tests, its task, its outcome, a batch's summary,
and the executor protocol every engine implements.

An executor (:class:`Executor`) takes a :class:`GradingTask` and returns a future of its
:class:`Outcome`; the coordinator (:mod:`dlkit.grading.grade`) records outcomes, so the gradebook
has one writer. The engines: this machine's pool (:mod:`dlkit.grading.executors`) and a Dask
cluster (:mod:`dlkit.grading.cluster`); both run :func:`dlkit.grading.run.run_task`.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Protocol

from dlkit import __version__
from dlkit.grading.execution import EXECUTED, Execution
from dlkit.sandbox import Limits


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
    #: tests; None: the notebook decides (:func:`dlkit.grading.plans.grading_mode`)
    free_form: bool | None = False
    #: the exam variant this roll is judged against (its JSON, :mod:`dlkit.variants`); "" the
    #: term-work release's values
    variant: str = ""


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
    #: how its verdicts came about: executed, re-judged (an earlier execution's kept exports
    #: judged again) or shared (an identical notebook of the batch ran, once for both)
    origin: str = EXECUTED
    #: what a later regrade needs to judge this run's exports again (None: it cannot)
    execution: Execution | None = None
    mode: str = ""  # "starter" or "free-form" (:func:`dlkit.grading.plans.grading_mode`)
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
    rejudged: int = 0  # runs whose kept exports were judged again (no notebook ran)
    shared: int = 0  # runs of a notebook identical to one that ran in this batch


class Executor(Protocol):
    """What the coordinator needs of an engine."""

    sandbox_kind: str  # how runs are confined, for the record
    isolated: bool
    gpus: int  # GPUs a task may ask for (0: CPU only)

    def submit(self, task: GradingTask) -> Future[Outcome]: ...

    def close(self) -> None: ...
