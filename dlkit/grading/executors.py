"""This machine's executor: grading tasks run in threads of this process, one per device slot.

The :class:`~dlkit.grading.tasks.Executor` protocol is in :mod:`dlkit.grading.tasks`; the other
engine, a Dask cluster (:mod:`dlkit.grading.cluster`), runs the same function,
:func:`~dlkit.grading.run.run_task`, on its workers. Each slot is a CPU share or one GPU; each
task's sandboxed run is its own process tree.
"""

from __future__ import annotations

import queue
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from dlkit.experiments import Experiment
from dlkit.grading.devices import device_slots, gpu_device_files
from dlkit.grading.run import run_task
from dlkit.grading.tasks import GradingTask, Outcome
from dlkit.sandbox import Sandbox, default_sandbox


class LocalPool:
    """A thread per device slot of this machine; each task waits for a free slot, runs in
    ``<work_root>/<experiment>/<submission id>`` and frees the slot."""

    def __init__(self, slots: list[str], work_root: Path, sandbox: Sandbox,
                 share: int | None = None) -> None:
        self.slots, self.work_root, self.sandbox = slots, work_root, sandbox
        #: how many grading slots this machine's CPU threads are shared among (default: this
        #: pool's; more when several single-slot pools run side by side, as the portal's workers)
        self.share = share or len(slots)
        self.sandbox_kind, self.isolated = sandbox.kind, sandbox.isolated
        self.gpus = sum(slot.startswith("gpu") for slot in slots)
        self._free: queue.Queue[str] = queue.Queue()
        for slot in slots:
            self._free.put(slot)
        self._pool = ThreadPoolExecutor(max_workers=len(slots), thread_name_prefix="dlkit-grade")

    @classmethod
    def for_course(cls, course: Path, experiment: Experiment, *, gpus: str = "auto",
                   workers: int | None = None, require_sandbox: bool = False,
                   share: int | None = None) -> LocalPool:
        """This machine's pool for a course: runs kept in ``<course>/graded``, the course and the
        experiment's folder hidden from student code. Refuses early when the sandbox is required
        and missing."""
        slots = device_slots(gpus, workers)
        devices = gpu_device_files() if slots[0].startswith("gpu") else []
        sandbox = default_sandbox([course, experiment.root], require=require_sandbox,
                                  devices=devices)
        sandbox.command(["true"], course, {})  # raises SandboxUnavailable when required
        return cls(slots, course / "graded", sandbox, share)

    def submit(self, task: GradingTask) -> Future[Outcome]:
        return self._pool.submit(self._run, task)

    def _run(self, task: GradingTask) -> Outcome:
        slot = self._free.get()
        try:
            work = self.work_root / task.experiment / str(task.submission_id)
            return run_task(task, work, slot=slot, slots=self.share, sandbox=self.sandbox)
        finally:
            self._free.put(slot)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
