"""The worker's side of grading on Dask: what a run needs, what a worker has, the run itself.

Which worker may take which run is decided by the Dask scheduler, through resources:

- ``dlkit:<experiment>:<digest>``: every worker advertises one per experiment it can grade, the
  digest covering its kit version, the experiment's autograder (tests, points, thresholds) and
  datasets (:class:`Expectation`). A run asks for the one its coordinator computed, so a worker
  with another kit, another autograder or missing data never receives it; the coordinator reads
  the worker's inventory (:func:`worker_inventory`) to say why (:func:`refusal`).
- ``GPU``: one per device; a run that wants a GPU holds ``GPU=1`` and the worker pins it to one
  device (``CUDA_VISIBLE_DEVICES``), as the local pool does.
- ``dlkit-sandbox``: workers with bubblewrap, for ``--require-sandbox`` runs.
- ``dlkit-data:<entry>:<digest>``: each entry in the worker's data cache (the catalog's and an
  imported dataset pack's), for the entries a course's dataset map (``datasets.yml``) mounts.

:func:`grade_on_worker` is the task a worker runs (it checks again, then :func:`run_task`);
:func:`run_worker` is ``dlkit worker``. The coordinator's side is :mod:`dlkit.grading.cluster`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import queue
import shutil
import signal
import socket
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import dlkit
from dlkit.errors import DlkitError
from dlkit.experiments import EXPERIMENTS, Experiment
from dlkit.experiments import get as get_experiment
from dlkit.grading.devices import detect_gpus, gpu_device_files
from dlkit.grading.plans import plan_for
from dlkit.grading.run import run_task
from dlkit.grading.tasks import GradingTask, Outcome
from dlkit.sandbox import default_sandbox

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
