"""Compile caches warmed once (at ``make setup``), so that graded runs do not compile.

PyTensor compiles each op of a graph the first time the graph's function runs (here through
Numba): Experiment 1's MLP with Adam costs about a minute of CPU, several minutes of wall clock
on a busy grader, all of it inside the student's first PyTensor epoch. :func:`warm_pytensor`
compiles Experiment 1's graphs (the reference's, and the usual variants: plain SGD, float64,
sigmoid/tanh with softmax and cross-entropy) into ``<data cache>/pytensor``; each graded run
gets a writable copy of it (:func:`pytensor_run_cache`), so the kept cache never changes and a
notebook's first epoch costs what its second does.

    python -m dlkit.warm COMPILEDIR     (what ``dlkit warm`` runs, in a fresh process)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

#: Bump when the graphs below change, so that ``dlkit warm`` compiles them again.
GRAPHS_VERSION = 1
STAMP = "warmed.json"
RUN_FOLDER = ".pytensor"  # the per-run copy, inside the run's work folder


@dataclass
class WarmReport:
    folder: Path
    warmed: bool  # False: it was warm already
    seconds: float = 0.0
    files: int = 0


def pytensor_cache() -> Path:
    """The kept PyTensor compile cache: ``<data cache>/pytensor``."""
    from dlkit.data import cache_root

    return cache_root() / "pytensor"


def _stamp() -> dict:
    return {"graphs": GRAPHS_VERSION, "python": sys.version.split()[0],
            **{name: version(name) for name in ("pytensor", "numba", "numpy")}}


def is_warm(folder: Path | None = None) -> bool:
    folder = folder or pytensor_cache()
    try:
        return json.loads((folder / STAMP).read_text()) == _stamp()
    except (OSError, ValueError):
        return False


def warm_pytensor(folder: Path | None = None, force: bool = False,
                  progress: Callable[[str], None] | None = None) -> WarmReport:
    """Compile Experiment 1's PyTensor graphs into ``folder`` (default :func:`pytensor_cache`)
    in a fresh process, telling ``progress`` each graph done; nothing to do when it is warm for
    these package versions."""
    from dlkit.errors import DlkitError

    folder = folder or pytensor_cache()
    if not force and is_warm(folder):
        return WarmReport(folder, False, files=_count(folder))
    folder.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "dlkit.warm", str(folder)], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        env={**_clean_env(), "PYTENSOR_FLAGS": f"base_compiledir={folder}"})
    for line in process.stdout:
        if progress:
            progress(line.rstrip())
    errors = process.stderr.read()
    if process.wait() != 0:
        tail = (errors.strip().splitlines() or ["no output"])[-1]
        raise DlkitError("could not warm PyTensor's compile cache", where=str(folder),
                         fix=f"the compiler said: {tail[:300]}")
    (folder / STAMP).write_text(json.dumps(_stamp()))
    return WarmReport(folder, True, time.monotonic() - started, _count(folder))


def pytensor_run_cache(work: Path) -> dict[str, str]:
    """A writable copy of the kept cache in ``work`` for one run, and the environment that
    points PyTensor at it (an empty one when nothing was warmed)."""
    target = work / RUN_FOLDER
    shutil.rmtree(target, ignore_errors=True)
    source = pytensor_cache()
    if source.is_dir():
        shutil.copytree(source, target, ignore=shutil.ignore_patterns(STAMP, "*.lock", "lock_dir"))
    else:
        target.mkdir(parents=True)
    return {"PYTENSOR_FLAGS": f"base_compiledir={target}"}


def _count(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file())


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "PYTENSOR_FLAGS"}


# --------------------------------------------------------------------------- the graphs

def _mlp_graphs(dtype: str, activation: str, loss_kind: str, optimizer: str) -> None:
    """Build and run once an MLP (784-128-64-10) as Experiment 1 trains it in PyTensor."""
    import numpy as np
    import pytensor
    import pytensor.tensor as pt

    rng = np.random.default_rng(0)
    sizes = (784, 128, 64, 10)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        limit = np.sqrt(6.0 / (n_in + n_out))
        params += [pytensor.shared(rng.uniform(-limit, limit, (n_in, n_out)).astype(dtype)),
                   pytensor.shared(np.zeros(n_out, dtype=dtype))]
    x, y = pt.matrix("x", dtype=dtype), pt.vector("y", dtype="int64")
    act = {"relu": lambda h: pt.maximum(h, 0), "sigmoid": pt.sigmoid, "tanh": pt.tanh}[activation]
    h = x
    for w, b in zip(params[0:-2:2], params[1:-2:2], strict=True):
        h = act(h @ w + b)
    logits = h @ params[-2] + params[-1]
    if loss_kind == "log_softmax":
        loss = -pt.mean(pt.special.log_softmax(logits, axis=1)[pt.arange(y.shape[0]), y])
    else:
        probs = pt.special.softmax(logits, axis=1)
        loss = pt.mean(pt.nnet.categorical_crossentropy(probs, y)) if hasattr(pt, "nnet") \
            else -pt.mean(pt.log(probs)[pt.arange(y.shape[0]), y])
    grads = pytensor.grad(loss, params)
    cast = np.dtype(dtype).type
    if optimizer == "adam":
        beta1, beta2, eps = cast(0.9), cast(0.999), cast(1e-7)
        step = pytensor.shared(cast(0.0))
        t = step + 1
        rate = cast(1e-3) * pt.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
        updates = [(step, t)]
        for p, g in zip(params, grads, strict=True):
            m = pytensor.shared(np.zeros_like(p.get_value()))
            v = pytensor.shared(np.zeros_like(p.get_value()))
            m_t, v_t = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g * g
            updates += [(m, m_t), (v, v_t), (p, p - rate * m_t / (pt.sqrt(v_t) + eps))]
    else:
        updates = [(p, p - cast(0.01) * g) for p, g in zip(params, grads, strict=True)]
    train = pytensor.function([x, y], loss, updates=updates)
    predict = pytensor.function([x], pt.argmax(logits, axis=1))
    xb = rng.random((64, 784)).astype(dtype)
    yb = rng.integers(0, 10, 64)
    train(xb, yb)
    predict(xb)


#: (dtype, activation, loss, optimizer): the reference first, then what students write instead
GRAPHS = [
    ("float32", "relu", "log_softmax", "adam"),
    ("float32", "relu", "log_softmax", "sgd"),
    ("float64", "relu", "log_softmax", "adam"),
    ("float64", "sigmoid", "softmax", "sgd"),
    ("float32", "tanh", "softmax", "sgd"),
]


def _main(folder: str) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pytensor

    assert str(pytensor.config.base_compiledir) == str(Path(folder)), "PYTENSOR_FLAGS not set"
    for number, graph in enumerate(GRAPHS, start=1):
        started = time.monotonic()
        _mlp_graphs(*graph)
        print(f"[{number}/{len(GRAPHS)}] compiled the {' '.join(graph)} MLP in "
              f"{time.monotonic() - started:.0f} s", flush=True)


if __name__ == "__main__":
    _main(sys.argv[1])
