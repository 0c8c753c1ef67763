"""The test protocol: every autograded test is an *extract* half and a *judge* half.

A test cell in a master notebook reads::

    import dlkit.checks as checks

    def extract(ns):                      # runs where the student's objects live
        return {"model": checks.get(ns, "model")}

    def judge(data):                      # pure: runs on exported data only
        acc = checks.mnist_accuracy(data["model"])
        assert acc >= 0.97, f"test accuracy {acc:.4f} (measured by the grader) is below 0.97"
        return {"test accuracy": acc}     # optional: figures for the term-work report

    checks.run(extract, judge, globals())

In the student's notebook and in otter's own run, :func:`run` does both halves in one process,
with the data passed through the same safe export the grader uses, so what a student sees is what
the grader will see. The grader runs ``extract`` inside the sandbox after the student's cells and
``judge`` in a separate clean process that loads the exported files (:func:`export`/:func:`load`):
Keras models as ``.keras`` loaded with ``safe_mode``, arrays as ``.npy`` without pickle, the rest
as JSON. Nothing the student's process does can reach the judging half.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

Extract = Callable[[Mapping[str, Any]], dict[str, Any]]
Judge = Callable[[dict[str, Any]], None]

MANIFEST = "exported.json"


class MissingObject(AssertionError):
    """The notebook does not define an object the test needs."""


def get(ns: Mapping[str, Any], name: str, kind: type | tuple[type, ...] | None = None) -> Any:
    """``ns[name]``, or a :class:`MissingObject` a student understands."""
    if name not in ns or ns[name] is Ellipsis:
        raise MissingObject(f"no variable `{name}`: the starter notebook asks you to define it")
    value = ns[name]
    if kind is not None and not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise MissingObject(f"`{name}` should be a {names}, not {type(value).__name__}")
    return value


def run(extract: Extract, judge: Judge, ns: Mapping[str, Any]) -> None:
    """Run a test in one process: extract, round-trip through the safe export, judge."""
    with tempfile.TemporaryDirectory(prefix="dlkit-check-") as folder:
        export(extract(ns), Path(folder))
        judge(load(Path(folder)))


# --------------------------------------------------------------------------- safe export

def export(data: Mapping[str, Any], folder: Path, saved: dict[int, Path] | None = None) -> None:
    """Write ``data`` (name -> Keras model | array | JSON value) into ``folder`` safely.

    ``saved`` (object id -> file) lets the grader write a model that several tests ask for once
    and hard-link it after; student code does not run between those tests.
    """
    folder.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, dict[str, Any]] = {}
    for name, value in data.items():
        if not name.isidentifier():
            raise ValueError(f"export names must be identifiers, got {name!r}")
        if _is_keras_model(value):
            target = folder / f"{name}.keras"
            earlier = saved.get(id(value)) if saved is not None else None
            if earlier is not None and earlier.exists():
                os.link(earlier, target)
            else:
                value.save(target)
                if saved is not None:
                    saved[id(value)] = target
            manifest[name] = {"kind": "keras"}
        elif isinstance(value, np.ndarray) or _is_tensor(value):
            array = np.asarray(value.detach().cpu() if _is_tensor(value) else value)
            if array.dtype == object:
                shown = repr(array.item() if array.ndim == 0 else array)[:60]
                raise TypeError(f"{name}: expected numbers, got {shown}")
            np.save(folder / f"{name}.npy", array, allow_pickle=False)
            manifest[name] = {"kind": "npy"}
        else:
            manifest[name] = {"kind": "json", "value": _jsonable(value, name)}
    (folder / MANIFEST).write_text(json.dumps(manifest))


def load(folder: Path, loaded: dict[tuple[int, int], Any] | None = None) -> dict[str, Any]:
    """Read what :func:`export` wrote, with no pickle and Keras ``safe_mode``.

    ``loaded`` ((device, inode) -> model) lets the judge load a hard-linked model once.
    """
    manifest = json.loads((folder / MANIFEST).read_text())
    data: dict[str, Any] = {}
    for name, entry in manifest.items():
        if entry["kind"] == "keras":
            import keras

            path = folder / f"{name}.keras"
            key = (path.stat().st_dev, path.stat().st_ino)
            if loaded is not None and key in loaded:
                data[name] = loaded[key]
            else:
                data[name] = keras.models.load_model(path, safe_mode=True)
                if loaded is not None:
                    loaded[key] = data[name]
        elif entry["kind"] == "npy":
            data[name] = np.load(folder / f"{name}.npy", allow_pickle=False)
        else:
            data[name] = entry["value"]
    return data


def _is_keras_model(value: Any) -> bool:
    return type(value).__module__.startswith("keras") and hasattr(value, "save") and hasattr(
        value, "layers")


def _is_tensor(value: Any) -> bool:
    return type(value).__module__.startswith(("torch", "tensorflow")) and hasattr(value, "shape") \
        and hasattr(value, "detach")


def _jsonable(value: Any, name: str) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, name) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, name) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"{name}: cannot export a {type(value).__name__} for grading")


# --------------------------------------------------------------------------- measurements

@lru_cache(maxsize=4)
def _mnist_test() -> tuple[np.ndarray, np.ndarray]:
    from dlkit.data import load_mnist

    _, (x_test, y_test) = load_mnist()
    return x_test, y_test


def mnist_test_inputs(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The real MNIST test set scaled to [0, 1] and shaped to the model's input (e.g. 784 or 28x28)."""
    x_test, y_test = _mnist_test()
    x = x_test.astype("float32") / 255.0
    feature_shape = tuple(d for d in shape[1:])
    return x.reshape((len(x), *feature_shape)), y_test


def predict(model: Any, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Model outputs on ``x`` computed here, in batches, without the student's ``evaluate``."""
    return np.concatenate([np.asarray(model(x[i:i + batch_size], training=False))
                           for i in range(0, len(x), batch_size)])


def mnist_accuracy(model: Any) -> float:
    """Accuracy of a Keras classifier on the real MNIST test set, measured by the grader."""
    x, y = mnist_test_inputs(tuple(model.input_shape))
    return float((predict(model, x).argmax(axis=1) == y).mean())


def reconstruction_errors(model: Any, x: np.ndarray) -> np.ndarray:
    """Per-sample mean squared reconstruction error of an autoencoder."""
    shaped = x.reshape((len(x), *tuple(model.input_shape)[1:]))
    recon = predict(model, shaped).reshape(len(x), -1)
    return ((recon - x.reshape(len(x), -1)) ** 2).mean(axis=1)


def describe_figure(fig: Any) -> dict[str, Any]:
    """What a grader checks in a matplotlib figure: per axes its labels, title, legend, lines."""
    axes = []
    for ax in fig.get_axes():
        legend = ax.get_legend()
        axes.append({
            "title": ax.get_title(), "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
            "legend": [t.get_text() for t in legend.get_texts()] if legend else [],
            "lines": len(ax.get_lines()), "patches": len(ax.patches),
            "vlines": sum(1 for c in ax.collections if type(c).__name__ == "LineCollection")
            + sum(1 for ln in ax.get_lines() if len(set(np.asarray(ln.get_xdata(), float))) == 1),
        })
    return {"axes": axes}


def seed_everything(seed: int = 0) -> None:
    """Fix Python, NumPy and Keras/TensorFlow seeds, so a regrade gives the same marks."""
    import random

    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    try:
        import keras

        keras.utils.set_random_seed(seed)
    except ImportError:
        pass


@lru_cache(maxsize=1)
def _mnist_train_labels_by_image() -> dict[bytes, int]:
    from dlkit.data import load_mnist

    (x_train, y_train), _ = load_mnist()
    return {image.tobytes(): int(label) for image, label in zip(x_train.reshape(-1, 784), y_train)}


def mnist_train_digits(x: np.ndarray) -> np.ndarray:
    """For each row of ``x`` (784 values in [0, 1] or 0-255), the MNIST training label of that
    exact image, or -1 where the row is not an MNIST training image."""
    rows = np.asarray(x, dtype="float64").reshape(len(x), -1)
    if rows.max(initial=0) <= 1.0:
        rows = rows * 255.0
    images = np.clip(np.rint(rows), 0, 255).astype(np.uint8)
    lookup = _mnist_train_labels_by_image()
    return np.array([lookup.get(row.tobytes(), -1) for row in images], dtype=int)


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (labels: 1 = anomaly; a higher score means more anomalous)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


_SAVED: dict[int, Path] = {}  # the grader's extract step: models already written this run


def export_outcome(extract: Extract, ns: Mapping[str, Any], folder: str) -> None:
    """The grader's extract step: run ``extract`` on the student's namespace and export its
    data, or record why it failed (a missing object is told apart), in ``folder``."""
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    try:
        export(extract(ns), path, _SAVED)
        outcome: dict[str, Any] = {"ok": True}
    except MissingObject as exc:
        outcome = {"ok": False, "message": str(exc), "missing": True}
    except Exception as exc:  # noqa: BLE001 - a student's object can fail in any way
        outcome = {"ok": False, "message": f"{type(exc).__name__}: {exc}"[:1000]}
    tmp = path / ".outcome.json"
    tmp.write_text(json.dumps(outcome))
    os.replace(tmp, path / "outcome.json")  # complete when it appears: the judge may be waiting
