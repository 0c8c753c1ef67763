"""The server's grading workers: started, watched, restarted, stopped.

One worker process per device slot (``device_slots``: a GPU each, else a CPU share each; by
default as many CPU workers as the registry's costs make worth it, see ``queue_plans``), each
``python -m dlkit.portal.worker``. The web process never grades and never waits for a run: it
only queues submissions in the gradebook. A worker that exits is started again (after a pause
that grows while it keeps failing). Workers die with the server (Linux parent-death signal),
so a killed server leaves claims of dead processes behind, which the next workers take over;
a server that stops normally kills its workers and puts what they were grading back in the
queue.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from dlkit.gradebook import Gradebook
from dlkit.portal.config import State
from dlkit.portal.worker import die_with_parent
from dlkit.settings import MEMORY_GB

log = logging.getLogger(__name__)

STALE_BEAT = 30.0  # seconds without a heartbeat before a worker is shown as not responding


@dataclass
class _Worker:
    name: str
    slot: str
    process: subprocess.Popen | None = None
    started: float = 0.0
    restarts: int = 0
    last_exit: int | None = None
    retry_at: float = 0.0


@dataclass(frozen=True)
class WorkerHealth:
    name: str
    slot: str
    pid: int | None
    alive: bool
    state: str  # idle | grading | starting | not running | not responding
    submission: int | None
    experiment: str | None
    since: str
    graded: int
    restarts: int
    last_exit: int | None
    last_error: str
    beat_age: float | None


class Supervisor:
    """Keeps one worker per slot running while the server runs."""

    def __init__(self, course: Path, slots: list[str], *, memory_gb: float = MEMORY_GB,
                 poll: float = 1.0, ranked: bool = False) -> None:
        """``ranked``: the k-th worker gets ``--rank k`` (it grades what the registry's costs
        give k or more workers); else every worker grades everything."""
        self.course, self.slots, self.memory_gb, self.poll = course.resolve(), slots, memory_gb, poll
        self.ranked = ranked
        self.state = State.of(self.course)
        self.workers = [_Worker(f"worker-{i + 1}", slot) for i, slot in enumerate(slots)]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def planned(cls, course: Path, *, workers: int | None, gpus: str = "auto",
                memory_gb: float = MEMORY_GB) -> Supervisor:
        """The workers a portal starts: a GPU each, else ``workers`` CPU workers; by default as
        many as the experiment that gains most from company would use, ranked."""
        from dlkit.experiments import EXPERIMENTS
        from dlkit.grading.capacity import queue_plans
        from dlkit.grading.devices import device_slots

        slots = device_slots(gpus, workers)
        ranked = workers is None and slots[0] == "cpu"
        if ranked:
            plans = queue_plans(EXPERIMENTS.values(), memory_limit=int(memory_gb * 2**30))
            slots = ["cpu"] * max(plan.workers for plan in plans.values())
        return cls(course, slots, memory_gb=memory_gb, ranked=ranked)

    def start(self) -> None:
        """Start the watching thread; it starts the workers (the thread that starts a process
        must live as long as it: the parent-death signal follows the thread)."""
        self.state.logs.mkdir(parents=True, exist_ok=True)
        self.state.workers.mkdir(parents=True, exist_ok=True)
        for worker in self.workers:
            (self.state.workers / f"{worker.name}.json").unlink(missing_ok=True)
        self._thread = threading.Thread(target=self._watch, name="dlkit-supervisor", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        try:
            while not self._stop.is_set():
                for worker in self.workers:
                    self._keep_running(worker)
                self._stop.wait(self.poll)
        finally:
            self._stop_workers()

    def _keep_running(self, worker: _Worker) -> None:
        if worker.process is not None:
            code = worker.process.poll()
            if code is None:
                return
            worker.last_exit, worker.process = code, None
            quick = time.monotonic() - worker.started < 30
            worker.retry_at = time.monotonic() + (min(60.0, 2.0 ** worker.restarts) if quick else 0)
            worker.restarts += 1
            log.warning("%s exited with %s; restarting", worker.name, code)
        if time.monotonic() >= worker.retry_at:
            self._spawn(worker)

    def _spawn(self, worker: _Worker) -> None:
        command = [sys.executable, "-m", "dlkit.portal.worker", "--course", str(self.course),
                   "--slot", worker.slot, "--share", str(len(self.slots)), "--name", worker.name,
                   "--memory", f"{self.memory_gb:g}", "--parent", str(os.getpid())]
        if self.ranked:
            command += ["--rank", worker.name.rsplit("-", 1)[1]]
        with (self.state.logs / f"{worker.name}.log").open("ab") as out:
            worker.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out,
                                              stderr=subprocess.STDOUT, start_new_session=True,
                                              preexec_fn=die_with_parent)
        worker.started = time.monotonic()

    def stop(self, timeout: float = 20.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _stop_workers(self) -> None:
        """Kill each worker's process group (its judge too; the sandbox dies with its parent)
        and give what they were grading back to the queue."""
        from dlkit.grading.grade import stale_owners

        owners = []
        for worker in self.workers:
            if worker.process is None:
                continue
            try:
                os.killpg(worker.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            worker.process.wait()
            owners.append(worker.process.pid)
            worker.process = None
        if not owners:
            return
        gradebook = Gradebook.open(self.course)
        claims = gradebook.claims()
        for owner in stale_owners(claims):
            if int(owner.rpartition(":")[2]) in owners:
                for submission_id in claims[owner]:
                    gradebook.unclaim(submission_id, owner, requeue=True)

    def health(self) -> list[WorkerHealth]:
        rows = []
        now = time.time()
        for worker in self.workers:
            beat = _read_json(self.state.workers / f"{worker.name}.json") or {}
            process = worker.process
            alive = process is not None and process.poll() is None
            age = now - (self.state.workers / f"{worker.name}.json").stat().st_mtime \
                if beat else None
            state = beat.get("state", "starting") if alive else "not running"
            if alive and age is not None and age > STALE_BEAT:
                state = "not responding"
            rows.append(WorkerHealth(
                worker.name, worker.slot, process.pid if process else None, alive, state,
                beat.get("submission"), beat.get("experiment"), beat.get("since", ""),
                int(beat.get("graded", 0)), worker.restarts, worker.last_exit,
                beat.get("last_error", ""), age))
        return rows


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
