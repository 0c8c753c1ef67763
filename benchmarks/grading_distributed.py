"""Grading on Dask vs this machine's pool: the same N submissions, three engines, one run.

    .venv/bin/python benchmarks/grading_distributed.py [toy|EXPERIMENT] [--n 8] [--slots 2]

Engines, each on a fresh course folder holding N copies of the reference notebook (as N
students): the local pool (``--slots`` threads), a Dask LocalCluster (``--slots`` worker
processes) and a real ``dask scheduler`` with ``--slots`` ``dlkit worker`` processes, all on
127.0.0.1. Every engine shares the CPU threads among ``--slots`` runs alike.

Printed per engine: the start-up (pool or cluster, workers joined), the grading wall time, the
mean of the runs' own seconds, and the Dask overhead per submission against the pool
((wall - pool wall) / N, with and without start-up; goal: within 5% of the pool's wall).
``toy`` is the tests' toy experiment (tests/fixtures/course, seconds per notebook); a registered
experiment id grades real notebooks (Experiment 2: about a minute each on 2 cores).

Measured once (toy, --n 8, 2 slots; the 2-core development machine shared with four other
developers' test runs, load average 8-10, so a toy notebook took ~33 s instead of a few):

    engine                start-up   grading  run mean  overhead/sub  vs pool  incl. start-up
    local pool                0.0s    137.6s     33.2s        +0.00s    +0.0%          +0.00s
    LocalCluster             47.0s    137.0s     32.8s        -0.08s    -0.5%          +5.80s
    scheduler + workers      16.6s    133.1s     32.3s        -0.57s    -3.3%          +1.51s

Grading itself: within the 5% goal (the differences are noise). Start-up is what a LocalCluster
costs, so ``dlkit grade`` keeps the local pool as its default.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _toy(tmp: Path) -> None:
    """Build the toy experiment and make it known here and to every worker process."""
    root = tmp / "toy-course"
    shutil.copytree(ROOT / "tests" / "fixtures" / "course", root)
    os.environ["DLKIT_EXTRA_EXPERIMENTS"] = str(root)
    from dlkit.experiments import get
    from dlkit.release import build

    build(get("toy"), root)


def _course(experiment, folder: Path, n: int):
    import nbformat

    from dlkit.collect import collect
    from dlkit.gradebook import Gradebook

    inbox = folder / "inbox"
    inbox.mkdir(parents=True)
    reference = experiment.root / "autograder" / experiment.id / experiment.master.name
    for i in range(n):
        nb = nbformat.read(reference, as_version=4)
        nb.cells[-1].source += f"\n\n<!-- copy {i} -->"  # distinct files, same work
        nbformat.write(nb, inbox / f"{50001 + i}_{experiment.id}.ipynb")
    gradebook = Gradebook.open(folder)
    report = collect(experiment.id, inbox, course=folder, gradebook=gradebook)
    assert len(gradebook.latest_submissions(experiment.id)) == n, report.summary()
    return gradebook


def _grade(experiment, folder: Path, n: int, executor_factory) -> dict:
    from dlkit.grading.grade import grade_experiment

    gradebook = _course(experiment, folder, n)
    started = time.monotonic()
    executor = executor_factory() if executor_factory else None
    ready = time.monotonic()
    if executor is not None:
        executor.sandbox_kind  # noqa: B018 - waits for the workers
        ready = time.monotonic()
    try:
        summary = grade_experiment(experiment.id, course=folder, gradebook=gradebook,
                                   workers=None if executor else SLOTS, gpus="none",
                                   progress=False, executor=executor)
    finally:
        if executor is not None:
            executor.close()
    done = time.monotonic()
    runs = gradebook.current_runs(experiment.id)
    return {"startup": ready - started, "wall": done - ready, "statuses": summary.statuses,
            "run_mean": statistics.mean(r.seconds for r in runs)}


class _Lab:
    """``dask scheduler`` and ``dlkit worker`` processes on 127.0.0.1."""

    def __init__(self, workers: int) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.address = f"tcp://127.0.0.1:{port}"
        self.processes = [subprocess.Popen(
            [str(Path(sys.executable).parent / "dask"), "scheduler", "--host", "127.0.0.1",
             "--port", str(port), "--no-dashboard"], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)]
        for i in range(workers):
            self.processes.append(subprocess.Popen(
                [sys.executable, "-m", "dlkit", "worker", self.address, "--nthreads", "1",
                 "--gpus", "none", "--host", "127.0.0.1", "--name", f"bench-{i}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        self.workers = workers

    def executor(self):
        from dlkit.grading.cluster import connect

        deadline = time.monotonic() + 60
        while True:  # the scheduler may still be starting
            try:
                executor = connect(self.address, timeout=5)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        executor.client.wait_for_workers(self.workers, timeout=300)
        return executor

    def close(self) -> None:
        import signal

        for process in self.processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            process.wait()


SLOTS = 2


def main() -> None:
    global SLOTS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", nargs="?", default="toy")
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--slots", type=int, default=2)
    args = parser.parse_args()
    SLOTS = args.slots
    os.environ["DLKIT_HOST_SLOTS"] = str(SLOTS)  # Dask workers share the threads like the pool
    with tempfile.TemporaryDirectory(prefix="dlkit-dask-bench-") as name:
        tmp = Path(name)
        if args.experiment == "toy":
            _toy(tmp)
        from dlkit.experiments import get
        from dlkit.grading.cluster import local_cluster

        experiment = get(args.experiment)
        print(f"{args.n} submissions of {experiment.id}, {SLOTS} at once, on "
              f"{os.cpu_count()} CPU(s)", flush=True)
        results = {}
        results["local pool"] = _grade(experiment, tmp / "pool", args.n, None)
        print("local pool done", flush=True)
        results["LocalCluster"] = _grade(experiment, tmp / "local", args.n, lambda: local_cluster(
            workers=SLOTS, gpus="none", hide=(tmp,)))
        print("LocalCluster done", flush=True)
        lab = _Lab(SLOTS)
        try:
            results["scheduler + workers"] = _grade(experiment, tmp / "lab", args.n, lab.executor)
        finally:
            lab.close()
    pool = results["local pool"]
    print(f"\n{'engine':<20} {'start-up':>9} {'grading':>9} {'run mean':>9} "
          f"{'overhead/sub':>13} {'vs pool':>8} {'incl. start-up':>15}  statuses")
    for engine, r in results.items():
        overhead = (r["wall"] - pool["wall"]) / args.n
        with_startup = (r["wall"] + r["startup"] - pool["wall"] - pool["startup"]) / args.n
        print(f"{engine:<20} {r['startup']:8.1f}s {r['wall']:8.1f}s {r['run_mean']:8.1f}s "
              f"{overhead:+12.2f}s {r['wall'] / pool['wall'] - 1:+8.1%} {with_startup:+14.2f}s  "
              f"{r['statuses']}")
    print("\ngoal: Dask's grading wall within 5% of the local pool's")


if __name__ == "__main__":
    main()
