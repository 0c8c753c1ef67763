"""Grading on Dask, the coordinator's side: the same grading tasks as the local pool, run by
Dask workers on any machine.

::

    coordinator (dlkit grade, the portal)                  worker (dlkit worker, LocalCluster, SLURM job)
    grade_submissions -- DaskExecutor.submit(task) ----->  workers.grade_on_worker(task, expected, hide)
      writes the gradebook (the only writer)                 checks kit, autograder, data; run_task
      <----------------- Outcome (verdicts, executed notebook) ---------------------------------'

:class:`DaskExecutor` is a thin bridge: each task is one Dask future that asks for the resources
its run needs (:mod:`dlkit.grading.workers`), and the scheduler does the rest. A run that no
worker can take fails after ``patience`` seconds (the scheduler's ``no-workers-timeout``); a run
whose worker dies is tried again on another, at most :data:`RETRIES` times
(``allowed-failures``); the coordinator records the one result it receives, once. Here such a
failure is only put in words, with each worker's reason.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, InvalidStateError
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlkit.grading.tasks import GradingTask, Outcome
from dlkit.grading.workers import (
    GPUS_ENV,
    HOST_SLOTS_ENV,
    SANDBOX_RESOURCE,
    ClusterError,
    Expectation,
    WorkerRefused,
    WorkersLost,
    build_inventory,
    data_resource,
    expectation,
    grade_on_worker,
    refusal,
    worker_gpus,
    worker_inventory,
    worker_resources,
)
from dlkit.settings import SlurmSettings, slurm_settings

if TYPE_CHECKING:
    from distributed import Client

    from dlkit.grading.tasks import Executor

log = logging.getLogger(__name__)

#: Retries of a run whose worker died (Dask's ``distributed.scheduler.allowed-failures``).
RETRIES = 2


def run_needs(task: GradingTask, expected: Expectation) -> dict[str, float]:
    """The Dask resources a run asks for (see :mod:`dlkit.grading.workers`)."""
    needs = {expected.resource: 1.0}
    for _, ref in task.datasets:  # the course's dataset map: workers that have its files
        needs[data_resource(ref.partition("/")[0])] = 1.0
    if task.gpu:
        needs["GPU"] = 1.0
    if task.require_sandbox:
        needs[SANDBOX_RESOURCE] = 1.0
    return needs


def _configure_scheduler(retries: int, patience: float, dask_scheduler=None) -> tuple:
    """On the scheduler: a task whose worker died is retried ``retries`` times; one no worker
    can run fails after ``patience`` seconds. Returns what was set before."""
    before = (dask_scheduler.allowed_failures, dask_scheduler.no_workers_timeout)
    dask_scheduler.allowed_failures = retries
    dask_scheduler.no_workers_timeout = patience
    return before


class DaskExecutor:
    """The :class:`~dlkit.grading.tasks.Executor` of a Dask cluster: each task runs
    :func:`~dlkit.grading.workers.grade_on_worker` on a worker that has the resources it needs.

    ``gpus``: None asks for a GPU per run when the cluster's workers have any, False never.
    ``hide``: folders hidden from student code on workers where they exist (the course).
    ``patience``: seconds a run may wait with no worker able to take it before it fails.
    """

    def __init__(self, client: Client, *, cluster: Any = None, gpus: bool | None = None,
                 hide: tuple[Path | str, ...] | list[Path | str] = (), patience: float = 600.0,
                 retries: int = RETRIES, function: Callable[..., Outcome] = grade_on_worker,
                 notify: Callable[[str], None] | None = None) -> None:
        self.client, self.cluster = client, cluster
        self.address: str = client.scheduler.address
        self.hide = tuple(str(Path(p).resolve()) for p in hide)
        self.patience = patience
        #: (worker address, experiment) -> why that worker does not grade that experiment
        self.refusals: dict[tuple[str, str], str] = {}
        self._want_gpu, self._function = gpus, function
        self._notify = notify or log.warning
        self._expected: dict[str, Expectation] = {}
        self._inventories: dict[str, dict[str, Any]] = {}
        self._learning = threading.Lock()
        self._surveyed, self._gpu_count = False, 0
        self._running: set = set()  # the Dask futures not settled yet
        self._configure(retries, patience)

    # -- the Executor protocol -------------------------------------------------------------------
    @property
    def sandbox_kind(self) -> str:
        self._survey()
        kinds = sorted({inv["sandbox"] for inv in self._inventories.values()})
        return kinds[0] if len(kinds) == 1 else "mixed: " + " | ".join(kinds)

    @property
    def isolated(self) -> bool:
        self._survey()
        return all(inv["isolated"] for inv in self._inventories.values())

    @property
    def gpus(self) -> int:
        if self._want_gpu is False:
            return 0
        self._survey()
        return self._gpu_count

    def submit(self, task: GradingTask) -> Future[Outcome]:
        expected = self._expectation(task.experiment)
        self._learn(self._workers())  # say now which workers that joined since will not take it
        needs = run_needs(task, expected)
        remote = self.client.submit(
            self._function, task, expected, self.hide, resources=needs, pure=False,
            key=f"dlkit-grade-{task.experiment}-{task.submission_id}-{uuid.uuid4().hex[:8]}")
        self._running.add(remote)
        result: Future[Outcome] = Future()
        remote.add_done_callback(lambda done: self._settle(done, result, task, expected, needs))
        result.add_done_callback(lambda f: f.cancelled() and remote.cancel())
        return result

    def close(self) -> None:
        for remote in list(self._running):
            remote.cancel()
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    # -- what the cluster can do -----------------------------------------------------------------
    def _configure(self, retries: int, patience: float) -> None:
        try:
            before = self.client.run_on_scheduler(_configure_scheduler, retries, patience)
        except Exception as exc:  # noqa: BLE001 - a scheduler without dlkit installed
            log.warning("could not configure the scheduler %s (%s): a run whose worker dies is tried "
                        "again as its allowed-failures says, and a run no worker can take waits "
                        "as its no-workers-timeout says", self.address, exc)
            return
        if tuple(before) != (retries, patience):
            log.info("scheduler %s: allowed-failures, no-workers-timeout %s -> %s", self.address,
                     tuple(before), (retries, patience))

    def _expectation(self, experiment_id: str) -> Expectation:
        if experiment_id not in self._expected:
            self._expected[experiment_id] = expectation(experiment_id)
        return self._expected[experiment_id]

    def _workers(self) -> dict[str, dict[str, Any]]:
        return self.client.scheduler_info(n_workers=-1)["workers"]

    def _survey(self) -> None:
        """Wait for a first worker (up to ``patience`` s) and read the workers' inventories."""
        if self._surveyed:
            return
        if not self._workers():
            self._notify(f"waiting for a Dask worker at {self.address} (start one with: "
                         f"dlkit worker {self.address})")
            try:
                self.client.wait_for_workers(1, timeout=self.patience)
            except TimeoutError:
                raise ClusterError(f"no Dask worker joined {self.address} within "
                                   f"{self.patience:g} s", fix="start one on each grading "
                                   f"machine: dlkit worker {self.address}") from None
        workers = self._workers()
        self._learn(workers)
        self._gpu_count = int(sum(w["resources"].get("GPU", 0) for w in workers.values()))
        self._surveyed = True

    def _learn(self, workers: dict[str, dict[str, Any]]) -> None:
        """Read the inventories of workers not seen yet; report each refusal once."""
        with self._learning:
            new = [address for address in workers if address not in self._inventories]
            if new:
                answers = self.client.run(worker_inventory, workers=new, on_error="return")
                for address in new:
                    answer = answers.get(address)
                    self._inventories[address] = answer if isinstance(answer, dict) else {
                        "kit": "?", "host": workers[address].get("host", "?"), "sandbox": "?",
                        "isolated": False, "gpus": [], "experiments": {},
                        "error": f"its inventory could not be read: {answer!r}"[:300]}
            for address, inventory in self._inventories.items():
                for experiment_id, expected in list(self._expected.items()):
                    if (address, experiment_id) in self.refusals or address not in workers:
                        continue
                    reason = inventory.get("error") or refusal(expected, inventory)
                    if reason:
                        self.refusals[(address, experiment_id)] = reason
                        name = workers[address].get("name", address)
                        self._notify(f"worker {name} ({inventory.get('host', '?')}, {address}) "
                                     f"will not grade {experiment_id}: {reason}")

    # -- a run's end -----------------------------------------------------------------------------
    def _settle(self, remote, result: Future, task: GradingTask, expected: Expectation,
                needs: dict[str, float]) -> None:
        """A run's Dask future ended (in Dask's callback thread): its Outcome, or what went
        wrong in words, to the coordinator."""
        self._running.discard(remote)
        try:
            if remote.status == "finished":
                outcome = remote.result()
            elif remote.status == "cancelled":
                raise ClusterError(f"the Dask scheduler {self.address} dropped this run (lost or "
                                   "restarted?)")
            else:
                raise self._explain(remote.exception(), task, expected, needs)
        except BaseException as exc:  # noqa: BLE001 - whatever ended it is the run's failure
            _settle_with(result.set_exception, exc)
        else:
            _settle_with(result.set_result, outcome)

    def _explain(self, exc: BaseException, task: GradingTask, expected: Expectation,
                 needs: dict[str, float]) -> BaseException:
        from distributed import KilledWorker
        from distributed.scheduler import NoValidWorkerError, NoWorkerError

        if isinstance(exc, KilledWorker):
            failures = exc.allowed_failures
            return WorkersLost(f"the worker grading it died {failures + 1} times (tried again "
                               f"on other workers {failures} times)",
                               fix="check the workers' logs (memory? killed?) and grade again")
        if isinstance(exc, (NoValidWorkerError, NoWorkerError)):
            return WorkerRefused(self._why_not(task, expected, needs))
        return exc

    def _why_not(self, task: GradingTask, expected: Expectation, needs: dict[str, float]) -> str:
        workers = self._workers()
        if not workers:
            return (f"no Dask worker is connected to {self.address} (start one with: "
                    f"dlkit worker {self.address})")
        self._learn(workers)
        mapped = tuple(r for r in needs if r.startswith("dlkit-data:"))
        reasons = []
        for address, info in workers.items():
            inventory = self._inventories.get(address, {})
            reason = inventory.get("error") or refusal(
                expected, inventory, gpu=task.gpu, sandbox=task.require_sandbox, mapped=mapped) \
                or "it lacks the resources " + ", ".join(sorted(needs))
            reasons.append(f"{info.get('name', address)} ({inventory.get('host', '?')}): {reason}")
        return f"no worker can grade {task.experiment} within {self.patience:g} s: " + "; ".join(reasons)


def _settle_with(setter: Callable, value: Any) -> None:
    try:
        setter(value)
    except InvalidStateError:  # cancelled by the coordinator meanwhile
        pass


# --------------------------------------------------------------------------- clusters

def connect(address: str, *, timeout: float = 10, **options: Any) -> DaskExecutor:
    """An executor on the running Dask scheduler at ``address`` (tcp://HOST:8786)."""
    from distributed import Client

    try:
        if address.startswith("tcp://"):  # refused at once, rather than retried until timeout
            host, _, port = address[len("tcp://"):].rpartition(":")
            socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
        client = Client(address, timeout=timeout, set_as_default=False)
    except ValueError:
        raise ClusterError(f"not a scheduler address: {address!r}",
                           fix="give it as tcp://HOST:8786") from None
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler {address} ({exc})",
                           fix="start it with `dask scheduler` on that machine, and check the "
                               "address and the firewall (ports 8786 and the workers')") from None
    return DaskExecutor(client, **options)


def local_cluster(*, workers: int | None = None, gpus: str = "auto", **options: Any
                  ) -> DaskExecutor:
    """An executor on a Dask LocalCluster of this machine: a worker process per CPU slot (one
    thread each), or one worker with a thread per GPU."""
    import dask
    from distributed import Client, LocalCluster

    gpu_ids = worker_gpus(gpus)
    n_workers, threads = (1, len(gpu_ids)) if gpu_ids else (max(1, workers or os.cpu_count() or 1), 1)
    env = {GPUS_ENV: ",".join(gpu_ids), HOST_SLOTS_ENV: str(n_workers * threads)}
    # the worker processes are this machine's, with its kit and cache: its inventory is theirs
    resources = worker_resources(build_inventory(threads, gpu_ids))
    with dask.config.set({"distributed.scheduler.allowed-failures": RETRIES}):
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads, processes=True,
                               host="127.0.0.1", dashboard_address=None, resources=resources,
                               env=env, silence_logs=logging.ERROR)
    client = Client(cluster, set_as_default=False)
    return DaskExecutor(client, cluster=cluster, gpus=None if gpu_ids else False, **options)


def slurm_jobqueue(settings: SlurmSettings) -> Any:
    """dask-jobqueue's SLURMCluster for ``settings`` (no job submitted yet): each job runs
    ``dlkit worker``; the ``[slurm]`` options are passed on as they are, and dask-jobqueue's
    refusal of one is the error."""
    import dask
    from dask_jobqueue import SLURMCluster

    options = settings.cluster_options
    options["job_extra_directives"] = ([f"--gres=gpu:{settings.gpus}"] if settings.gpus else []) \
        + list(options.get("job_extra_directives", []))
    options["job_script_prologue"] = ([f"export DLKIT_DATA={settings.data_cache}"]
                                      if settings.data_cache else []) \
        + list(options.get("job_script_prologue", []))
    try:
        with dask.config.set({"distributed.scheduler.allowed-failures": RETRIES}):
            return SLURMCluster(job_name="dlkit-worker", processes=1, worker_command="dlkit worker",
                                worker_extra_args=["--gpus", "auto" if settings.gpus else "none"],
                                scheduler_options={"dashboard_address": ":0"}, **options)
    except (TypeError, ValueError) as exc:
        raise ClusterError(f"dask-jobqueue's SLURMCluster refused the [slurm] options "
                           f"{settings.options}: {exc}"[:1000], where=settings.where,
                           fix="use SLURMCluster's parameter names and types (cores: a number, "
                               "memory: '16GB', job_script_prologue: a list of lines)") from None


def slurm_job_script(settings: SlurmSettings) -> str:
    """The sbatch script of one worker job."""
    cluster = slurm_jobqueue(settings)
    try:
        return cluster.job_script()
    finally:
        cluster.close()


def slurm_cluster(settings: SlurmSettings, **options: Any) -> DaskExecutor:
    """An executor whose workers are ``settings.jobs`` SLURM jobs."""
    from distributed import Client

    if shutil.which("sbatch") is None:
        raise ClusterError("sbatch not found: this machine cannot submit SLURM jobs",
                           fix="run dlkit grade on the cluster's login node (add --job-script "
                               "to see a job's script anywhere)")
    cluster = slurm_jobqueue(settings)
    cluster.scale(jobs=settings.jobs)
    client = Client(cluster, set_as_default=False)
    return DaskExecutor(client, cluster=cluster, gpus=None if settings.gpus else False,
                        **{"patience": 3600.0, **options})


@contextmanager
def cluster_executor(course: Path, *, scheduler: str | None = None, cluster: str | None = None,
                     workers: int | None = None, gpus: str = "auto",
                     slurm: SlurmSettings | None = None, patience: float | None = None,
                     notify: Callable[[str], None] | None = None) -> Iterator[Executor | None]:
    """The executor ``dlkit grade`` was asked for: a running scheduler (``scheduler``), a
    ``local`` or ``slurm`` cluster, or None: this machine's process pool (the default:
    measured faster than a LocalCluster, ``benchmarks/grading_distributed.py``). Closed after."""
    if scheduler and cluster:
        raise ClusterError("--scheduler and --cluster exclude each other",
                           fix="give one: a running scheduler, or a cluster to start")
    options: dict[str, Any] = {"hide": (course.resolve(),), "notify": notify}
    if patience is not None:
        options["patience"] = patience
    if scheduler:
        executor: DaskExecutor | None = connect(scheduler, gpus=False if gpus == "none" else None,
                                                **options)
    elif cluster == "local":
        executor = local_cluster(workers=workers, gpus=gpus, **options)
    elif cluster == "slurm":
        executor = slurm_cluster(slurm or slurm_settings(course), **options)
    elif cluster is None:
        executor = None
    else:
        raise ClusterError(f"unknown cluster {cluster!r}", fix="use local or slurm")
    try:
        yield executor
    finally:
        if executor is not None:
            executor.close()


__all__ = [
    "RETRIES", "DaskExecutor", "cluster_executor", "connect", "local_cluster", "run_needs",
    "slurm_cluster", "slurm_job_script", "slurm_jobqueue",
]
