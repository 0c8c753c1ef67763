"""What the grading sandbox sees of the data cache: the training sets without the kept-back images.

The grader measures a model on the last :data:`~dlkit.data.loaders.HELD_OUT` training images
of MNIST (and CIFAR-10) as well as on the test set, to tell a model trained on the test set
(:func:`dlkit.checks.assert_not_fitted_to_test`). That comparison rests on those images being
unseen, so they must not exist where student code runs. The sandbox is shown a *view* of such
an entry in their place: the same files, the same number of training images, but the kept-back
ones replaced by copies of the first :data:`HELD_OUT` training images (with their labels). The
starters' :func:`~dlkit.data.keep_back` still drops the last ones, so a starter trains on the
same 55,000 images as anywhere else; a notebook that trains on everything trains on duplicates.
Only the judge, in its own sandbox, reads the real entry.

A view lives in ``<cache>/.views/<entry>/``, is made once from the verified entry (again when
the entry's files change) and carries a provenance record that stands for the entry's own, so
the registry inside the sandbox reads it as the entry without hashing.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from dlkit.data.catalog import REGISTRY
from dlkit.data.loaders import HELD_OUT, load_cifar10, load_mnist, write_cifar10_archive
from dlkit.data.registry import PROVENANCE, cache_root

VIEWS = ".views"


def sandbox_views(root: Path | None = None) -> list[tuple[Path, Path]]:
    """(view folder, entry folder) for each cached entry with kept-back images: what the
    grading sandbox mounts over the entry. Entries not in the cache have no view (nothing to
    hide)."""
    mounts = []
    for name, make in VIEW_MAKERS.items():
        entry = REGISTRY[name]
        if REGISTRY.cached(entry, root):
            mounts.append((_view(name, make, root), entry.folder(root)))
    return mounts


def _view(name: str, make, root: Path | None) -> Path:
    entry = REGISTRY[name]
    source = entry.folder(root)
    stamp = {file: [(source / file).stat().st_size, (source / file).stat().st_mtime_ns]
             for file in entry.files}
    view = (root or cache_root()) / VIEWS / name
    try:
        record = json.loads((view / PROVENANCE).read_text())
    except (OSError, ValueError):
        record = {}
    if record.get("of") == stamp:
        return view
    view.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=view.parent))
    try:
        make(root, scratch)
        verified = {}
        for file, checksum in entry.files.items():
            info = (scratch / file).stat()
            verified[file] = [info.st_size, info.st_mtime_ns, checksum]
        (scratch / PROVENANCE).write_text(json.dumps({
            "kind": "sandbox view",
            "source": f"{name} without its last {HELD_OUT:,} training images (copies of the first "
                      f"{HELD_OUT:,} in their place)",
            "of": stamp, "verified": verified}, indent=1))
        for path in (scratch, *scratch.iterdir()):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        old = view.with_name(f".{name}-old-{os.getpid()}")
        try:
            if view.exists():
                view.rename(old)
            scratch.rename(view)
        except OSError:  # another grader made it at the same time: its copy serves
            if not view.is_dir():
                raise
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return view


def without_kept_back(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The training set with its last :data:`HELD_OUT` images replaced by its first ones."""
    x, y = x.copy(), y.copy()
    x[-HELD_OUT:], y[-HELD_OUT:] = x[:HELD_OUT], y[:HELD_OUT]
    return x, y


def _mnist_view(root: Path | None, folder: Path) -> None:
    source = REGISTRY["mnist"].folder(root)
    (x_train, y_train), _ = load_mnist(root)
    x_train, y_train = without_kept_back(x_train, y_train)
    _write_idx(folder / "train-images-idx3-ubyte.gz", x_train)
    _write_idx(folder / "train-labels-idx1-ubyte.gz", y_train)
    for file in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy2(source / file, folder / file)


def _cifar10_view(root: Path | None, folder: Path) -> None:
    (x_train, y_train), test = load_cifar10(root)
    write_cifar10_archive(folder / "cifar-10-python.tar.gz", without_kept_back(x_train, y_train),
                          test)


def _write_idx(path: Path, array: np.ndarray) -> None:
    """An idx file (MNIST's format) of unsigned bytes, gzipped."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    path.write_bytes(gzip.compress(header + np.ascontiguousarray(array, np.uint8).tobytes(),
                                   compresslevel=1))


VIEW_MAKERS = {"mnist": _mnist_view, "cifar10": _cifar10_view}
