"""The GPU check: grade a batch of each experiment on this machine's NVIDIA GPUs, then on its CPUs.

    .venv/bin/python benchmarks/gpu.py [--count 4] [--cpu-count 1] [--budget 540]
    make gpu-check

For the day a GPU machine is lent: it installs nothing (run ``make setup GPU=1`` first, which
puts ``tensorflow[and-cuda]`` beside torch's CUDA build), and it stops at once, with a non-zero
exit, where there is no NVIDIA GPU or where the stack cannot use one. Then, for each experiment
in turn, it grades ``--count`` copies of the reference notebook (each with a comment of its
own, so that none is graded as another's twin) with ``--gpus auto`` in a temporary course,
sampling GPU memory with ``nvidia-smi``, and grades ``--cpu-count`` of them again on the CPUs
(``--gpus none``, every notebook run again). It prints notebooks per minute on each, the peak
GPU memory and the speed-up. Experiment 3 runs on CIFAR-10 when the data cache holds it (else on
MNIST, as its notebook decides); the table says which. ``--budget`` (wall seconds) keeps the
whole check inside one ten-minute call: an experiment whose CPU batch the registry's measured
cost says would not fit is graded on the GPU only, and one that would not start in time is
skipped, each said in the table.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

#: the experiments graded, in order (Experiment 1 has no trained model worth a GPU)
EXPERIMENTS = ("exp2-feedforward", "exp3-image-classifier", "exp4-autoencoder-anomaly",
               "exp5-cbow", "exp6-transfer-learning")
#: exit statuses: no GPU at all; a GPU the installed stack cannot use
NO_GPU, UNUSABLE = 3, 4


def gpus() -> tuple[list[str], str]:
    """This machine's NVIDIA GPUs as nvidia-smi names them, or [] and why not."""
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20)
    except FileNotFoundError:
        return [], "nvidia-smi is not installed (no NVIDIA driver)"
    except subprocess.TimeoutExpired:
        return [], "nvidia-smi did not answer in 20 s"
    found = [line.strip() for line in out.stdout.splitlines() if line.startswith("GPU ")]
    if out.returncode != 0 or not found:
        return [], (out.stderr.strip() or out.stdout.strip() or
                    f"nvidia-smi -L exited with {out.returncode}")[:300]
    return found, ""


def stack_problems() -> list[str]:
    """What keeps the installed stack off the GPU (checked in a child: imports are slow)."""
    from importlib import metadata

    try:
        metadata.version("tensorflow-cpu")
        return ["tensorflow-cpu is installed: it never uses a GPU (run `make setup GPU=1`, "
                "which installs tensorflow[and-cuda])"]
    except metadata.PackageNotFoundError:
        pass
    problems = []
    probe = ("import torch, tensorflow as tf; "
             "print(int(torch.cuda.is_available()), len(tf.config.list_physical_devices('GPU')))")
    try:
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                             timeout=180)
        torch_ok, tf_gpus = out.stdout.split()[-2:]
        if torch_ok != "1":
            problems.append("torch sees no CUDA device")
        if tf_gpus == "0" and not problems:
            problems.append("TensorFlow sees no GPU (its CUDA libraries are missing?)")
    except (subprocess.TimeoutExpired, ValueError, IndexError) as exc:
        problems.append(f"the stack could not be probed: {exc}"[:300])
    return problems


class MemorySampler:
    """The highest GPU memory in use (MiB, all GPUs together) while it runs."""

    def __init__(self, every: float = 1.0) -> None:
        self.every, self.peak = every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used",
                                      "--format=csv,noheader,nounits"], capture_output=True,
                                     text=True, timeout=10)
                used = sum(int(v) for v in out.stdout.split() if v.isdigit())
                self.peak = max(self.peak, used)
            except (OSError, subprocess.TimeoutExpired, ValueError):
                pass
            self._stop.wait(self.every)


@dataclass
class Row:
    experiment: str
    data: str = ""
    gpu_per_minute: float | None = None
    gpu_memory_mib: int = 0
    cpu_per_minute: float | None = None
    statuses: dict = field(default_factory=dict)
    note: str = ""

    def line(self) -> str:
        def rate(value: float | None) -> str:
            return f"{value:8.2f}" if value is not None else "       -"
        speedup = f"{self.gpu_per_minute / self.cpu_per_minute:6.1f}x" if \
            self.gpu_per_minute and self.cpu_per_minute else "     -"
        return (f"{self.experiment:<26}{self.data:<9}{rate(self.gpu_per_minute)}"
                f"{self.gpu_memory_mib:>10}{rate(self.cpu_per_minute)}{speedup:>9}  "
                f"{self.statuses or ''} {self.note}").rstrip()


HEADER = (f"{'experiment':<26}{'data':<9}{'GPU nb/min':>8}{'GPU MiB':>10}{'CPU nb/min':>8}"
          f"{'speed-up':>9}  statuses")


def batch(experiment_id: str, root: Path, count: int):
    """A temporary course with ``count`` distinct copies of the reference notebook collected."""
    import nbformat

    from dlkit.collect import collect
    from dlkit.experiments import get
    from dlkit.gradebook import Gradebook

    experiment = get(experiment_id)
    reference = nbformat.read(experiment.root / "autograder" / experiment.id /
                              experiment.master.name, as_version=4)
    first = next(i for i, c in enumerate(reference.cells) if c.cell_type == "code")
    inbox, course = root / "inbox", root / "course"
    inbox.mkdir(parents=True)
    for n in range(count):
        nb = nbformat.from_dict(reference)
        nb.cells[first].source = f"# GPU check copy {n + 1}\n" + nb.cells[first].source
        nbformat.write(nb, inbox / f"{41001 + n}_{experiment.id}.ipynb")
    gradebook = Gradebook.open(course)
    collect(experiment.id, inbox, course=course, gradebook=gradebook)
    return course, gradebook


def data_of(experiment_id: str) -> str:
    if experiment_id != "exp3-image-classifier":
        return ""
    from dlkit.data.catalog import REGISTRY

    try:
        return "CIFAR-10" if REGISTRY.cached(REGISTRY["cifar10"]) else "MNIST"
    except Exception:  # noqa: BLE001 - the table says it could not tell
        return "?"


def check(experiment_id: str, count: int, cpu_count: int, left: float) -> Row:
    """Grade one experiment's batch on the GPUs, then (if it fits in ``left`` s) on CPUs."""
    from dlkit.experiments import get
    from dlkit.grading.capacity import batch_seconds
    from dlkit.grading.grade import grade_experiment

    row = Row(experiment_id, data_of(experiment_id))
    with tempfile.TemporaryDirectory(prefix="dlkit-gpu-check-") as tmp:
        course, gradebook = batch(experiment_id, Path(tmp), count)
        started = time.perf_counter()
        with MemorySampler() as memory:
            summary = grade_experiment(experiment_id, course=course, gradebook=gradebook,
                                       gpus="auto", progress=False)
        seconds = time.perf_counter() - started
        row.gpu_per_minute = summary.graded * 60 / seconds if seconds else None
        row.gpu_memory_mib, row.statuses = memory.peak, dict(summary.statuses)
        left -= seconds
        cores = os.cpu_count() or 1
        estimate = batch_seconds(get(experiment_id), cpu_count, min(cpu_count, cores), cores)
        if cpu_count and estimate < left:
            from dlkit.grading.executors import LocalPool
            from dlkit.grading.grade import grade_submissions

            first = gradebook.latest_submissions(experiment_id)[:cpu_count]
            started = time.perf_counter()
            pool = LocalPool.for_course(course.resolve(), get(experiment_id), gpus="none",
                                        workers=min(cpu_count, cores))
            try:
                cpu = grade_submissions(first, pool, course=course.resolve(),
                                        gradebook=gradebook, progress=False, rejudge=False)
            finally:
                pool.close()
            seconds = time.perf_counter() - started
            row.cpu_per_minute = cpu.graded * 60 / seconds if seconds else None
        elif cpu_count:
            row.note = f"CPU batch skipped: estimated {estimate:.0f} s, {left:.0f} s left"
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=4, help="notebooks per experiment on GPUs")
    parser.add_argument("--cpu-count", type=int, default=1,
                        help="of those, graded again on CPUs for comparison (0: none)")
    parser.add_argument("--budget", type=float, default=540.0,
                        help="wall seconds for the whole check (default 540: one 10-min call)")
    parser.add_argument("--experiments", default=",".join(EXPERIMENTS),
                        help="comma-separated experiment ids")
    args = parser.parse_args(argv)
    started = time.monotonic()
    found, why = gpus()
    if not found:
        print(f"NO NVIDIA GPU on this machine: {why}. The GPU check grades on a GPU; nothing "
              "was graded. Run it where `nvidia-smi -L` lists a GPU, after `make setup GPU=1`.",
              file=sys.stderr)
        return NO_GPU
    print(f"GPUs: {'; '.join(found)}", flush=True)
    if problems := stack_problems():
        print("this stack cannot grade on the GPU: " + "; ".join(problems), file=sys.stderr)
        return UNUSABLE
    print(HEADER, flush=True)
    rows = []
    for experiment_id in [e for e in args.experiments.split(",") if e]:
        left = args.budget - (time.monotonic() - started)
        if left < 60:
            rows.append(Row(experiment_id, note=f"skipped: {left:.0f} s of the budget left"))
        else:
            rows.append(check(experiment_id, args.count, args.cpu_count, left))
        print(rows[-1].line(), flush=True)
    print(f"done in {time.monotonic() - started:.0f} s ({os.cpu_count()} CPU cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
