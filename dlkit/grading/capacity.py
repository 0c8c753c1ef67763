"""How many notebooks to grade at once on this machine, and how long a batch will take.

The registry records what grading one reference notebook costs (:class:`~dlkit.experiments.Cost`,
measured by ``benchmarks/grading_scaling.py``): its CPU seconds with one thread, how many cores
one run keeps busy when it may use all of them (its thread appetite), and how much slower a run
goes when others run beside it (memory bandwidth, caches, the judges: its contention). Workers
share the cores (each gets ``cores // workers`` threads), so a run's wall time is its CPU seconds
over the cores it can use (times the contention when it has company), and a batch takes one such
time per wave of ``workers`` runs. The plan is the worker count with the shortest batch, the
fewest workers on a tie: an experiment that uses every core alone, or slows down in company, is
graded one notebook at a time; one that leaves cores idle, several at a time. Memory caps it:
each worker may use its whole memory limit.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass

from dlkit.experiments import Experiment
from dlkit.settings import MEMORY_BYTES


@dataclass(frozen=True)
class WorkerPlan:
    workers: int
    threads: int  # CPU threads each run may use
    seconds: float  # the estimated wall time of the batch
    why: str  # "chosen for <experiment> on N cores" or "--workers"

    def describe(self, submissions: int, experiment: str) -> str:
        """The line ``dlkit grade`` starts with."""
        return (f"grading {submissions} submission(s) of {experiment}: {self.workers} worker(s) x "
                f"{self.threads} thread(s) ({self.why}); estimated {minutes(self.seconds)}")


def plan_workers(experiment: Experiment, submissions: int, *, workers: int | None = None,
                 cores: int | None = None, memory_bytes: int | None = None,
                 memory_limit: int = MEMORY_BYTES) -> WorkerPlan:
    """The worker count for grading ``submissions`` notebooks of ``experiment`` on CPUs:
    ``workers`` when given, else the fastest for the measured cost (see the module)."""
    cores = cores or os.cpu_count() or 1
    memory_bytes = memory_bytes or _memory()
    if workers:
        return WorkerPlan(workers, max(1, cores // workers),
                          batch_seconds(experiment, submissions, workers, cores), "--workers")
    most = max(1, min(cores, submissions or 1, memory_bytes // memory_limit or 1))
    best = min(range(1, most + 1),
               key=lambda w: (round(batch_seconds(experiment, submissions, w, cores)), w))
    return WorkerPlan(best, max(1, cores // best), batch_seconds(experiment, submissions, best, cores),
                      f"chosen for {experiment.id} on {cores} cores")


def queue_plans(experiments: Iterable[Experiment], *, cores: int | None = None,
                memory_bytes: int | None = None,
                memory_limit: int = MEMORY_BYTES) -> dict[str, WorkerPlan]:
    """For a server's queue, a stream of single submissions: each experiment's plan for a full
    queue (one submission per core). The portal runs as many CPU workers as the largest plan;
    its k-th worker grades an experiment only when that plan grades k or more at once, with the
    plan's threads."""
    cores = cores or os.cpu_count() or 1
    return {e.id: plan_workers(e, cores, cores=cores, memory_bytes=memory_bytes,
                               memory_limit=memory_limit) for e in experiments}


def batch_seconds(experiment: Experiment, submissions: int, workers: int, cores: int) -> float:
    """Estimated wall seconds of a batch: waves of ``workers`` runs, each run using
    ``min(cores // workers, appetite)`` cores for its CPU seconds (overcommitted cores are
    shared), slowed by the contention when it has company."""
    cost = experiment.cost
    threads = max(1, cores // workers)
    usable = min(threads, cost.threads) * min(1.0, cores / workers)
    run = cost.cpu_seconds / usable * (cost.contention if workers > 1 else 1.0)
    return math.ceil(max(submissions, 0) / workers) * run


def minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _memory() -> int:
    try:
        import psutil

        return int(psutil.virtual_memory().total)
    except Exception:  # noqa: BLE001 - without psutil, no memory cap
        return 2**50
