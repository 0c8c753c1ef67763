"""Grading on Dask: the same grading tasks as the local pool, run by Dask workers on any machine.

::

    coordinator (dlkit grade, the portal)                  worker (dlkit worker, LocalCluster, SLURM job)
    grade_submissions -- DaskExecutor.submit(task) ----->  grade_on_worker(task, expected, hide)
      writes the gradebook (the only writer)                 checks kit, autograder, data; run_task
      <----------------- Outcome (verdicts, executed notebook) ---------------------------------'

Which worker may take which run is decided by the Dask scheduler, through resources:

- ``dlkit:<experiment>:<digest>``: every worker advertises one per experiment it can grade, the
  digest covering its kit version, the experiment's autograder (tests, points, thresholds) and
  datasets (:class:`Expectation`). A run asks for the one its coordinator computed, so a worker
  with another kit, another autograder or missing data never receives it; the coordinator reads
  the worker's inventory and reports why (``DaskExecutor.refusals``), and fails the runs that no
  worker can take within ``patience`` seconds with those reasons (:class:`WorkerRefused`).
- ``GPU``: one per device; a run that wants a GPU holds ``GPU=1`` and the worker pins it to one
  device (``CUDA_VISIBLE_DEVICES``), as the local pool does.
- ``dlkit-sandbox``: workers with bubblewrap, for ``--require-sandbox`` runs.
- ``dlkit-data:<entry>:<digest>``: each entry in the worker's data cache (the catalog's and an
  imported dataset pack's), for the entries a course's dataset map (``datasets.yml``) mounts.

A worker that dies mid-run: the scheduler runs the task on another worker, at most twice
(``allowed-failures`` 2); the coordinator records the one result it receives, once.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import queue
import shutil
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, InvalidStateError
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dlkit
from dlkit.errors import DlkitError
from dlkit.experiments import EXPERIMENTS, Experiment
from dlkit.experiments import get as get_experiment
from dlkit.grading.devices import detect_gpus, gpu_device_files
from dlkit.grading.plans import plan_for
from dlkit.grading.run import run_task
from dlkit.grading.tasks import GradingTask, Outcome
from dlkit.sandbox import default_sandbox
from dlkit.settings import SlurmSettings, slurm_settings

if TYPE_CHECKING:
    from distributed import Client

    from dlkit.grading.tasks import Executor

log = logging.getLogger(__name__)

#: Retries of a run whose worker died (Dask's ``distributed.scheduler.allowed-failures``).
RETRIES = 2
#: Resource of workers whose runs are confined by bubblewrap.
SANDBOX_RESOURCE = "dlkit-sandbox"
#: GPU ids a worker pins runs to (``dlkit worker`` sets it; default: CUDA_VISIBLE_DEVICES or
#: every GPU ``nvidia-smi`` lists).
GPUS_ENV = "DLKIT_WORKER_GPUS"
#: Runs this machine grades at once, over all its workers (the CPU threads are shared among
#: them); default: the worker's own threads. Set it when several workers share one machine.
HOST_SLOTS_ENV = "DLKIT_HOST_SLOTS"


class WorkerRefused(DlkitError):
    """No worker has what a run needs (kit version, autograder, data, GPU, sandbox)."""


class ClusterError(DlkitError):
    """A Dask cluster that cannot be reached, started or configured."""


class WorkersLost(DlkitError):
    """Every worker that took a run died while grading it (retried ``RETRIES`` times)."""


# --------------------------------------------------------------------------- what a run needs

@dataclass(frozen=True)
class Expectation:
    """What a worker must have to grade an experiment as its coordinator would.

    ``data`` holds one state per dataset of the experiment: the digest of its registered
    checksums for a dataset with an offline source (every worker must have it cached: the bytes
    are then the same everywhere), and for one without (CIFAR-10), the digest when cached, else
    ``"absent"``: a notebook that falls back to other data when it is missing must see the same
    data on the worker as on the coordinator.
    """

    experiment: str
    kit: str
    tests: str  # digest of the autograder: every test's halves and points, and the thresholds
    data: tuple[tuple[str, str], ...]

    @property
    def resource(self) -> str:
        """The Dask resource a worker advertises when it has all of this."""
        digest = hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()
        return f"dlkit:{self.experiment}:{digest[:16]}"


def autograder_digest(experiment: Experiment) -> str:
    """sha256 of what decides the marks: each test's extract and judge halves and points, and
    the experiment's thresholds."""
    plan = [asdict(test) for test in plan_for(experiment)]
    thresholds = {name: t.value for name, t in experiment.thresholds.items()}
    text = json.dumps({"tests": plan, "thresholds": thresholds}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _entry_digest(entry: Any) -> str:
    """A registry entry's identity: the digest of its files' registered checksums."""
    return hashlib.sha256(json.dumps(sorted(entry.files.items())).encode()).hexdigest()[:16]


def data_resource(entry_name: str) -> str:
    """The Dask resource of a worker that has registry entry ``entry_name`` (as registered
    here) in its data cache: what a run of a course with a dataset map needs per mapped entry."""
    from dlkit.data import REGISTRY

    return f"dlkit-data:{entry_name}:{_entry_digest(REGISTRY[entry_name])}"


def _data_states(experiment: Experiment) -> tuple[dict[str, str], list[str]]:
    """Each dataset's state here (see :class:`Expectation`), and the offline datasets missing."""
    from dlkit.data import REGISTRY

    states, missing = {}, []
    for name in experiment.datasets:
        entry = REGISTRY[name]
        digest = _entry_digest(entry)
        cached = REGISTRY.cached(entry)
        if entry.offline:
            states[name] = digest
            if not cached:
                missing.append(name)
        else:
            states[name] = digest if cached else "absent"
    return states, missing


def expectation(experiment_id: str) -> Expectation:
    """What this coordinator expects of a worker for ``experiment_id``."""
    experiment = get_experiment(experiment_id)
    states, _ = _data_states(experiment)
    return Expectation(experiment.id, dlkit.__version__, autograder_digest(experiment),
                       tuple(sorted(states.items())))


def _capability(experiment: Experiment) -> dict[str, Any]:
    """What this machine has for one experiment: its resource, or the problem that stops it."""
    from dlkit.data import cache_root

    states, missing = _data_states(experiment)
    entry: dict[str, Any] = {"tests": autograder_digest(experiment), "data": states,
                             "resource": None, "problem": ""}
    if missing:
        entry["problem"] = (f"{', '.join(missing)} not in its data cache {cache_root()} "
                            f"(run `dlkit data fetch {' '.join(missing)}` there, or start it "
                            "with `dlkit worker --fetch`)")
    else:
        entry["resource"] = Expectation(experiment.id, dlkit.__version__, entry["tests"],
                                        tuple(sorted(states.items()))).resource
    return entry


# --------------------------------------------------------------------------- a worker's inventory

_INVENTORY: dict[str, Any] = {}
_INVENTORY_LOCK = threading.Lock()


def worker_gpus(gpus: str = "auto") -> list[str]:
    """GPU ids for a worker: ``auto`` (CUDA_VISIBLE_DEVICES when set, as under SLURM, else what
    ``nvidia-smi`` lists), ``none``, or a list like ``0,1``."""
    if gpus == "none":
        return []
    if gpus != "auto":
        return [g.strip() for g in gpus.split(",") if g.strip()]
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() not in ("", "-1", "NoDevFiles"):
        return [g.strip() for g in visible.split(",") if g.strip()]
    return detect_gpus()


def build_inventory(nthreads: int, gpus: list[str]) -> dict[str, Any]:
    """This machine's kit, GPUs, sandbox and, per registered experiment, the resource a worker
    with ``nthreads`` threads can advertise for it, or the problem that stops it."""
    from dlkit.data import REGISTRY, cache_root

    sandbox = default_sandbox([])
    return {"kit": dlkit.__version__, "host": socket.gethostname(), "python": sys.executable,
            "cache": str(cache_root()), "nthreads": nthreads, "gpus": list(gpus),
            "sandbox": sandbox.kind, "isolated": sandbox.isolated,
            "experiments": {e.id: _capability(e) for e in EXPERIMENTS.values()},
            # every entry in its data cache (the catalog's and the imported dataset pack's)
            "data": {e.name: _entry_digest(e) for e in REGISTRY if REGISTRY.cached(e)}}


def worker_inventory(dask_worker: Any = None) -> dict[str, Any]:
    """The inventory of the worker this process serves, computed once (what its resources were
    made from, by ``dlkit worker``); the coordinator reads it (``client.run``) to explain
    refusals."""
    with _INVENTORY_LOCK:
        if not _INVENTORY:
            if dask_worker is None:
                from distributed import get_worker

                dask_worker = get_worker()
            gpus = os.environ.get(GPUS_ENV)
            _INVENTORY.update(build_inventory(
                dask_worker.state.nthreads, worker_gpus(gpus or "none") if gpus is not None
                else worker_gpus()))
        return _INVENTORY


def worker_resources(inventory: dict[str, Any]) -> dict[str, float]:
    """The Dask resources a worker with ``inventory`` advertises (see the module docstring)."""
    threads = float(inventory["nthreads"])
    resources = {entry["resource"]: threads for entry in inventory["experiments"].values()
                 if entry["resource"]}
    if inventory["gpus"]:
        resources["GPU"] = float(len(inventory["gpus"]))
    if inventory["isolated"]:
        resources[SANDBOX_RESOURCE] = threads
    for name, digest in inventory.get("data", {}).items():
        resources[f"dlkit-data:{name}:{digest}"] = threads
    return resources


def refusal(expected: Expectation, inventory: dict[str, Any], *, gpu: bool = False,
            sandbox: bool = False, mapped: tuple[str, ...] = ()) -> str | None:
    """Why a worker with ``inventory`` cannot grade runs expecting ``expected`` (None: it can);
    ``mapped``: the ``dlkit-data:`` resources the course's dataset map needs."""
    if inventory.get("kit") != expected.kit:
        return (f"its dlkit is {inventory.get('kit')}, the coordinator's {expected.kit} "
                f"(install dlkit {expected.kit} there)")
    entry = inventory.get("experiments", {}).get(expected.experiment)
    if entry is None:
        return (f"{expected.experiment} is not registered there (set DLKIT_EXTRA_EXPERIMENTS to "
                "its course folder before starting the worker)")
    if entry["problem"]:
        return entry["problem"]
    if entry["tests"] != expected.tests:
        return (f"its autograder for {expected.experiment} differs (tests {entry['tests'][:12]} "
                f"there, {expected.tests[:12]} here): the same master notebook must be released "
                "on both")
    for name, wanted in expected.data:
        have = entry["data"].get(name)
        if have == wanted:
            continue
        if wanted == "absent":
            return (f"it has {name} cached and the coordinator does not: the notebook would "
                    "train on other data there")
        if have == "absent":
            return f"{name} is not in its data cache {inventory.get('cache')} (the coordinator has it)"
        return f"its data registry's checksums for {name} differ from the coordinator's"
    if entry["resource"] != expected.resource:
        return "its grading digest differs from the coordinator's"
    if gpu and not inventory.get("gpus"):
        return "it has no GPU (grade with --gpus none to use CPU workers)"
    if sandbox and not inventory.get("isolated"):
        return f"it has no bubblewrap sandbox ({inventory.get('sandbox')}) and --require-sandbox is set"
    have = {f"dlkit-data:{name}:{digest}" for name, digest in inventory.get("data", {}).items()}
    lacking = [resource.split(":")[1] for resource in mapped if resource not in have]
    if lacking:
        return (f"the course's dataset map needs {', '.join(lacking)}, not in its data cache "
                f"{inventory.get('cache')} as here (import the dataset pack there: "
                "dlkit data import FOLDER)")
    return None


def describe_inventory(inventory: dict[str, Any]) -> str:
    """A worker's inventory as a few lines for its operator."""
    gpus = ", ".join(inventory["gpus"]) or "none"
    lines = [f"dlkit {inventory['kit']} worker on {inventory['host']}: {inventory['nthreads']} "
             f"run(s) at once, GPUs: {gpus}",
             f"sandbox: {inventory['sandbox']}", f"data cache: {inventory['cache']}"]
    width = max((len(e) for e in inventory["experiments"]), default=0)
    for experiment_id, entry in inventory["experiments"].items():
        state = "ready" if entry["resource"] else f"cannot grade: {entry['problem']}"
        absent = [name for name, s in entry["data"].items() if s == "absent"]
        if entry["resource"] and absent:
            state += f" ({', '.join(absent)} not cached: only for coordinators without it too)"
        lines.append(f"  {experiment_id:<{width}}  {state}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the worker's side

_DEVICES: dict[str, queue.Queue[str]] = {}
_DEVICES_LOCK = threading.Lock()


def grade_on_worker(task: GradingTask, expected: Expectation, hide: tuple[str, ...] = ()
                    ) -> Outcome:
    """Run one task on this Dask worker: check that this machine still has what the coordinator
    expects, pin a GPU run to one device, grade in a private work folder (removed afterwards:
    the executed notebook travels back in the Outcome)."""
    from distributed import get_worker

    worker = get_worker()
    experiment = EXPERIMENTS.get(task.experiment)
    inventory = dict(worker_inventory())
    if experiment is not None:  # the state now, not at start: a cache may have been emptied
        inventory["experiments"] = {experiment.id: _capability(experiment)}
    problem = refusal(expected, inventory, gpu=task.gpu, sandbox=task.require_sandbox)
    if not problem and task.datasets:
        from dlkit.data.datamap import check_available, from_pairs

        problem = "; ".join(check_available(from_pairs(task.datasets)))
    if problem:
        raise WorkerRefused(f"worker {worker.name} on {socket.gethostname()} refused "
                            f"{task.experiment}: {problem}")
    assert experiment is not None  # refusal() says so otherwise
    slots = int(os.environ.get(HOST_SLOTS_ENV) or 0) or worker.state.nthreads
    device = _take_gpu(worker.address, inventory["gpus"]) if task.gpu else None
    hidden = [Path(p) for p in hide if Path(p).exists()]
    sandbox = default_sandbox([experiment.root, *hidden], require=task.require_sandbox,
                              devices=gpu_device_files() if device is not None else [])
    work = (Path(worker.local_directory) / "dlkit-grading" / task.experiment
            / f"{task.submission_id}-{uuid.uuid4().hex[:8]}")
    try:
        return run_task(task, work, slot=f"gpu:{device}" if device is not None else "cpu",
                        slots=slots, sandbox=sandbox)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if device is not None:
            _DEVICES[worker.address].put(device)


def _take_gpu(address: str, gpus: list[str]) -> str:
    """One of this worker's GPUs; the scheduler's ``GPU`` resource keeps one run per device."""
    with _DEVICES_LOCK:
        if address not in _DEVICES:
            _DEVICES[address] = queue.Queue()
            for gpu in gpus:
                _DEVICES[address].put(gpu)
    return _DEVICES[address].get()


def _set_allowed_failures(retries: int, dask_scheduler=None) -> int:
    """On the scheduler: a task whose worker died is retried ``retries`` times, then fails."""
    before = dask_scheduler.allowed_failures
    dask_scheduler.allowed_failures = retries
    return before


# --------------------------------------------------------------------------- the coordinator's side

@dataclass
class _Run:
    task: GradingTask
    expected: Expectation
    needs: dict[str, float]
    remote: Any  # distributed.Future
    result: Future


class DaskExecutor:
    """The :class:`~dlkit.grading.executors.Executor` of a Dask cluster: each task runs
    :func:`grade_on_worker` on a worker that has the resources it needs.

    ``gpus``: None asks for a GPU per run when the cluster's workers have any, False never.
    ``hide``: folders hidden from student code on workers where they exist (the course).
    ``patience``: seconds runs may wait with no worker able to take them before they fail.
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
        self._want_gpu = gpus
        self._function = function
        self._notify = notify or log.warning
        self._expected: dict[str, Expectation] = {}
        self._inventories: dict[str, dict[str, Any]] = {}
        self._pending: dict[str, _Run] = {}
        self._stuck_since: dict[tuple, float] = {}
        self._lock, self._learning = threading.Lock(), threading.Lock()
        self._surveyed, self._gpu_count = False, 0
        self._stop = threading.Event()
        self._cap_retries(retries)
        self._watcher = threading.Thread(target=self._watch, name="dlkit-dask-watch", daemon=True)
        self._watcher.start()

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
        needs = {expected.resource: 1.0}
        for _, ref in task.datasets:  # the course's dataset map: workers that have its files
            needs[data_resource(ref.partition("/")[0])] = 1.0
        if task.gpu:
            needs["GPU"] = 1.0
        if task.require_sandbox:
            needs[SANDBOX_RESOURCE] = 1.0
        key = f"dlkit-grade-{task.experiment}-{task.submission_id}-{uuid.uuid4().hex[:8]}"
        result: Future[Outcome] = Future()
        remote = self.client.submit(self._function, task, expected, self.hide, key=key,
                                    resources=needs, pure=False)
        with self._lock:
            self._pending[key] = _Run(task, expected, needs, remote, result)
        remote.add_done_callback(lambda _: self._finish(key))
        result.add_done_callback(lambda f: f.cancelled() and remote.cancel())
        return result

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            runs, self._pending = list(self._pending.values()), {}
        for run in runs:
            run.result.cancel()
            run.remote.cancel()
        self._watcher.join(timeout=5)
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    # -- what the cluster can do -----------------------------------------------------------------
    def _expectation(self, experiment_id: str) -> Expectation:
        if experiment_id not in self._expected:
            self._expected[experiment_id] = expectation(experiment_id)
            if self._surveyed:  # say now which workers will not grade it
                self._learn(self._workers())
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
            self._learn_locked(workers)

    def _learn_locked(self, workers: dict[str, dict[str, Any]]) -> None:
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
                    self._notify(f"worker {name} ({inventory.get('host', '?')}, {address}) will "
                                 f"not grade {experiment_id}: {reason}")

    def _why_not(self, run: _Run, workers: dict[str, dict[str, Any]]) -> str:
        if not workers:
            return (f"no Dask worker is connected to {self.address} (start one with: "
                    f"dlkit worker {self.address})")
        reasons = []
        for address, info in workers.items():
            inventory = self._inventories.get(address, {})
            mapped = tuple(r for r in run.needs if r.startswith("dlkit-data:"))
            reason = inventory.get("error") or refusal(
                run.expected, inventory, gpu=run.task.gpu, sandbox=run.task.require_sandbox,
                mapped=mapped) \
                or "it lacks the resources " + ", ".join(sorted(run.needs))
            reasons.append(f"{info.get('name', address)} ({inventory.get('host', '?')}): {reason}")
        return f"no worker can grade {run.task.experiment}: " + "; ".join(reasons)

    # -- following the runs ----------------------------------------------------------------------
    def _finish(self, key: str) -> None:
        """A run's Dask future ended: hand its Outcome (or what went wrong) to the coordinator."""
        with self._lock:
            run = self._pending.pop(key, None)
        if run is None or run.result.done():
            return
        remote = run.remote
        try:
            if remote.status == "finished":
                run.result.set_result(remote.result())
            elif remote.status == "cancelled":
                run.result.set_exception(ClusterError(
                    f"the Dask scheduler {self.address} dropped this run (lost or restarted?)"))
            else:
                run.result.set_exception(self._explain(remote.exception()))
        except InvalidStateError:  # cancelled by the coordinator meanwhile
            pass
        except Exception as exc:  # noqa: BLE001 - e.g. the result could not be fetched
            try:
                run.result.set_exception(exc)
            except InvalidStateError:
                pass

    def _explain(self, exc: BaseException) -> BaseException:
        from distributed import KilledWorker

        if isinstance(exc, KilledWorker):
            failures = exc.allowed_failures
            return WorkersLost(f"the worker grading it died {failures + 1} times (tried again "
                               f"on other workers {failures} times)",
                               fix="check the workers' logs (memory? killed?) and grade again")
        return exc

    def _watch(self) -> None:
        """Every second: read new workers' inventories, and fail the runs that no worker has
        been able to take for ``patience`` seconds."""
        while not self._stop.wait(1.0):
            with self._lock:
                runs = list(self._pending.values())
            if not runs:
                continue
            try:
                workers = self._workers()
                self._learn(workers)
            except Exception as exc:  # noqa: BLE001 - the scheduler may be briefly unreachable
                log.debug("could not read the workers of %s: %s", self.address, exc)
                continue
            now = time.monotonic()
            groups: dict[tuple, list[_Run]] = {}
            for run in runs:
                groups.setdefault(tuple(sorted(run.needs.items())), []).append(run)
            for needs, members in groups.items():
                if any(all(info["resources"].get(r, 0) >= q for r, q in needs)
                       for info in workers.values()):
                    self._stuck_since.pop(needs, None)
                    continue
                since = self._stuck_since.setdefault(needs, now)
                if now - since < self.patience:
                    continue
                reason = self._why_not(members[0], workers)
                for run in members:
                    with self._lock:
                        self._pending.pop(run.remote.key, None)
                    run.remote.cancel()
                    try:
                        run.result.set_exception(WorkerRefused(reason))
                    except InvalidStateError:
                        pass
                self._stuck_since.pop(needs, None)

    def _cap_retries(self, retries: int) -> None:
        try:
            before = self.client.run_on_scheduler(_set_allowed_failures, retries)
        except Exception as exc:  # noqa: BLE001 - a scheduler without dlkit installed
            log.warning("could not set the retries of %s (%s): a run whose worker dies is tried "
                        "again as often as its distributed.scheduler.allowed-failures says",
                        self.address, exc)
            return
        if before != retries:
            log.info("scheduler %s: allowed-failures %s -> %s", self.address, before, retries)


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


# --------------------------------------------------------------------------- dlkit worker

def run_worker(scheduler: str, *, nthreads: int | None = None, gpus: str = "auto",
               name: str | None = None, host: str | None = None, interface: str | None = None,
               local_directory: str | None = None, death_timeout: float | None = None,
               memory_limit: str = "auto", fetch: bool = False,
               echo: Callable[[str], None] = print) -> None:
    """Check this machine (kit, autograders, data cache, GPUs, sandbox), then serve as a Dask
    worker of ``scheduler`` with the resources that say what it can grade, until stopped."""
    gpu_ids = worker_gpus(gpus)
    os.environ[GPUS_ENV] = ",".join(gpu_ids)
    if fetch:
        _fetch_missing(echo)
    nthreads = nthreads or len(gpu_ids) or os.cpu_count() or 1
    inventory = build_inventory(nthreads, gpu_ids)
    with _INVENTORY_LOCK:
        _INVENTORY.update(inventory)
    echo(describe_inventory(inventory))
    resources = worker_resources(inventory)
    if not any(r.startswith("dlkit:") for r in resources):
        raise ClusterError("this machine can grade none of the experiments",
                           fix="fetch their data (`dlkit data fetch`, or `dlkit worker --fetch`)")
    echo(f"joining {scheduler} as {name or socket.gethostname()} (Ctrl-C to leave)")
    asyncio.run(_serve(scheduler, nthreads=nthreads, resources=resources, name=name, host=host,
                       interface=interface, local_directory=local_directory,
                       death_timeout=death_timeout, memory_limit=memory_limit))


def _fetch_missing(echo: Callable[[str], None]) -> None:
    from dlkit.data import REGISTRY
    from dlkit.errors import DataUnavailable

    wanted = {name for e in EXPERIMENTS.values() for name in e.datasets}
    for name in sorted(wanted):
        entry = REGISTRY[name]
        if entry.offline and not REGISTRY.cached(entry):
            echo(f"fetching {name} ...")
            try:
                REGISTRY.fetch(name, progress=False)
            except DataUnavailable as exc:
                echo(f"could not fetch {name}: {exc.message}")


async def _serve(scheduler: str, **options: Any) -> None:
    from distributed import Worker

    worker = Worker(scheduler, **options)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(
            worker.close(reason="dlkit worker stopped")))
    try:
        await worker
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"could not join the Dask scheduler {scheduler} ({exc})",
                           fix="check the address, that `dask scheduler` runs there, and the "
                               "firewall") from None
    await worker.finished()


__all__ = [
    "ClusterError", "DaskExecutor", "Expectation", "WorkerRefused",
    "WorkersLost", "autograder_digest", "build_inventory", "cluster_executor", "connect",
    "data_resource", "describe_inventory", "expectation", "grade_on_worker", "local_cluster",
    "refusal", "run_worker", "slurm_cluster", "slurm_job_script", "slurm_jobqueue", "worker_gpus",
    "worker_inventory", "worker_resources",
]
