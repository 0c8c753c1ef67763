"""The extract side of free-form grading: the graded object found in a notebook by type and shape.

Runs in the student's kernel (the criteria's extract halves call it): :func:`find_model`,
:func:`find_number` and :func:`find_embedding` choose among the notebook's objects and say why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dlkit import checks
from dlkit.checks import MissingObject
from dlkit.data.loaders import image_folders

#: What a model of 28x28 digits may take: flat, as images, or channels first (torch).
DIGITS = ((784,), (28, 28), (28, 28, 1), (1, 28, 28))


#: What an autoencoder of Experiment 4 may take: digits, an ECG5000 beat (140 values) or a
#: credit-card transaction (V1-V28 and Amount, with or without Time).
AUTOENCODER_INPUTS = (*DIGITS, (140,), (29,), (30,))


#: What a classifier of Experiment 3 may take: digits, or CIFAR-10's colour images.
IMAGES = (*DIGITS, (32, 32, 3), (3, 32, 32))


@dataclass
class Found:
    """A model the finder chose, and why: what it takes and gives, how much it was trained."""

    name: str
    model: Any
    framework: str  # "keras" or "torch"
    input_shape: tuple[int, ...]  # per example, as the model takes it
    output_shape: tuple[int, ...]
    steps: int = 0  # optimizer steps taken (torch: 1 when its optimizer has state)
    epochs: int = 0  # epochs recorded by the Histories of its fits
    optimizer: str = ""  # the optimizer's class
    others: list[str] = field(default_factory=list)  # other candidates that fit

    def facts(self) -> dict[str, Any]:
        """What the judge halves read besides the exported model (JSON)."""
        return {"name": self.name, "framework": self.framework,
                "input_shape": list(self.input_shape), "output_shape": list(self.output_shape),
                "steps": self.steps, "epochs": self.epochs, "optimizer": self.optimizer,
                "others": self.others}


def find_model(ns: Mapping[str, Any], inputs: Sequence[tuple[int, ...]] | None,
               outputs: int | str | Sequence[int] | None, what: str, framework: str = "") -> Found:
    """The graded model of a free-form notebook: a Keras model or torch module in ``ns`` whose
    per-example input shape is one of ``inputs`` (None: any image, ``(h, w, 3)``/``(3, h, w)``)
    and whose output has ``outputs`` values (``"same"``: its input's size, an autoencoder; None:
    two or more classes; a list of numbers: colour images in, one of those numbers of classes).
    The trained one wins (see the module's docstring). ``what`` names the model in the message
    when none fits; ``framework`` ("keras", "torch") keeps only its models."""
    fits, seen = [], []
    for name, value in list(ns.items()):
        if name.startswith("_"):
            continue
        found = _describe(name, value, ns, inputs)
        if found is None or framework and found.framework != framework:
            continue
        seen.append(f"`{name}` ({'x'.join(map(str, found.input_shape)) or '?'} -> "
                    f"{'x'.join(map(str, found.output_shape)) or '?'})")
        if _gives(found, outputs):
            fits.append(found)
    if not fits:
        seen_words = f"; found {', '.join(seen)}" if seen else "; found no model at all"
        raise MissingObject(f"no trained {what} in the notebook{seen_words}")
    order = {id(f): i for i, f in enumerate(fits)}
    fits.sort(key=lambda f: (f.steps > 0, f.epochs, f.steps, order[id(f)]), reverse=True)
    chosen = fits[0]
    chosen.others = [f.name for f in fits[1:]]
    if chosen.framework == "torch":
        chosen.model = exportable_torch(chosen.model, chosen.name, chosen.input_shape)
    return chosen


def find_number(ns: Mapping[str, Any], pattern: str = r"thresh") -> tuple[str, float] | None:
    """The last-defined number whose name matches ``pattern`` (a threshold, say), or None."""
    found = None
    for name, value in list(ns.items()):
        if name.startswith("_") or not re.search(pattern, name, re.I):
            continue
        try:
            number = float(np.asarray(checks.as_numpy(value, name)).reshape(()))
        except (MissingObject, TypeError, ValueError):
            continue
        if np.isfinite(number):
            found = (name, number)
    return found


#: The scikit-learn preprocessing objects whose fitted parameters the grader reads, and how each
#: maps an input ``x`` to ``x * multiply + add`` (per feature; attributes None when switched off).
SCALERS = ("StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler")


def find_scaler(ns: Mapping[str, Any], features: int) -> dict[str, Any] | None:
    """The last-defined fitted scikit-learn scaler of the notebook (:data:`SCALERS`) that takes
    ``features`` columns, as data the judge applies itself (never the object, never a pickle):
    ``{"scaler": {"name", "kind", "features", "clip"}, "scaler_multiply": array, "scaler_add":
    array}``; None when there is none. Only scikit-learn's own classes count: a class of the
    notebook's (a subclass too) is not read."""
    found = None
    for name, value in list(ns.items()):
        kind = type(value).__name__
        if name.startswith("_") or kind not in SCALERS \
                or not type(value).__module__.startswith("sklearn.preprocessing") \
                or getattr(value, "n_features_in_", None) != features:
            continue
        try:
            multiply, add = _affine(value, kind, features)
        except (AttributeError, TypeError, ValueError):
            continue
        clip = list(value.feature_range) if kind == "MinMaxScaler" and getattr(value, "clip", False) \
            else None
        found = {"scaler": {"name": name, "kind": kind, "features": features, "clip": clip},
                 "scaler_multiply": multiply, "scaler_add": add}
    return found


def _affine(scaler: Any, kind: str, features: int) -> tuple[np.ndarray, np.ndarray]:
    """(multiply, add) per feature of a fitted scaler: ``transform(x) == x * multiply + add``."""
    def attribute(name: str, empty: float) -> np.ndarray:
        value = getattr(scaler, name)
        array = np.full(features, empty) if value is None else np.asarray(value, "float64")
        if array.shape != (features,):
            raise ValueError(f"{name} has shape {array.shape}")
        return array

    if kind == "MinMaxScaler":
        multiply, add = attribute("scale_", 1.0), attribute("min_", 0.0)
    else:
        centred, scaled = {"StandardScaler": ("with_mean", "with_std"),
                           "RobustScaler": ("with_centering", "with_scaling")}.get(kind, ("", ""))
        scale = attribute("scale_", 1.0) if getattr(scaler, scaled, True) else np.ones(features)
        centre = attribute("mean_" if kind == "StandardScaler" else "center_", 0.0) \
            if centred and getattr(scaler, centred) else np.zeros(features)
        with np.errstate(divide="ignore", invalid="ignore"):
            multiply, add = 1.0 / scale, -centre / scale
    if not (np.isfinite(multiply).all() and np.isfinite(add).all()):
        raise ValueError("parameters that are not finite")
    return multiply, add


def _describe(name: str, value: Any, ns: Mapping[str, Any],
              inputs: Sequence[tuple[int, ...]] | None) -> Found | None:
    if checks.is_keras_model(value):
        return _describe_keras(name, value, ns)
    if checks.is_torch_module(value) and not _inside_another(value, ns):
        return _describe_torch(name, value, ns, inputs)
    return None


def _describe_keras(name: str, model: Any, ns: Mapping[str, Any]) -> Found | None:
    try:
        shape_in, shape_out = tuple(model.input_shape), tuple(model.output_shape)
    except (AttributeError, ValueError, TypeError):  # a subclass of keras.Model, or unbuilt
        shape_in = tuple((model.get_build_config() or {}).get("input_shape") or ()) \
            if getattr(model, "built", False) else ()
        if not shape_in or any(d is None for d in shape_in[1:]):
            return None  # never built: never called nor trained
        try:
            shape_out = (None, *np.shape(model(np.zeros((1, *shape_in[1:]), "float32")))[1:])
        except Exception:  # noqa: BLE001 - a student's call can fail in any way
            return None
    if not shape_in or isinstance(shape_in[0], (tuple, list)):
        return None  # several inputs: not a model of this lab
    steps, optimizer = _keras_training(model)
    histories = {id(h): h for h in ns.values() if _is_history(h) and h.model is model}
    if _is_history(getattr(model, "history", None)):
        histories[id(model.history)] = model.history
    epochs = sum(len(h.history.get("loss", [])) for h in histories.values())
    return Found(name, model, "keras", tuple(shape_in[1:]), tuple(shape_out[1:]), steps, epochs,
                 optimizer)


def _keras_training(model: Any) -> tuple[int, str]:
    """(steps, optimizer class) of a Keras model: the steps its optimizer counted (0 before it
    was built, i.e. before any fit)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return 0, ""
    steps = 0
    if getattr(optimizer, "built", True):
        try:
            steps = int(np.asarray(optimizer.iterations))
        except (AttributeError, TypeError, ValueError):
            steps = 0
    return steps, type(optimizer).__name__


def _is_history(value: Any) -> bool:
    return type(value).__name__ == "History" and hasattr(value, "history") \
        and hasattr(value, "model") and type(value).__module__.startswith("keras")


def _inside_another(module: Any, ns: Mapping[str, Any]) -> bool:
    """A layer of a model in the namespace (``model.fc1`` kept as ``fc1``) is not a model."""
    return any(value is not module and checks.is_torch_module(value)
               and any(sub is module for sub in value.modules()) for value in list(ns.values()))


def _describe_torch(name: str, module: Any, ns: Mapping[str, Any],
                    inputs: Sequence[tuple[int, ...]] | None) -> Found | None:
    import torch

    shapes = list(inputs) if inputs else [(3, 224, 224), (3, 64, 64), (3, 32, 32)]
    was_training = module.training
    module.eval()
    try:
        for shape in shapes:
            try:
                with torch.no_grad():
                    out = module(torch.zeros((2, *shape)))
            except Exception:  # noqa: BLE001, S112 - this input does not fit; try the next
                continue
            if isinstance(out, torch.Tensor) and out.shape[0] == 2:
                steps, optimizer = _torch_training(module, ns)
                return Found(name, module, "torch", tuple(shape), tuple(out.shape[1:]), steps, 0,
                             optimizer)
    finally:
        module.train(was_training)
    return None


def _torch_training(module: Any, ns: Mapping[str, Any]) -> tuple[int, str]:
    """(steps, optimizer class): steps from an optimizer in the namespace that holds the
    module's parameters: the grader's count of its ``step()`` calls in the kernel
    (:data:`~dlkit.grading.kernel_env.STEP_COUNT`), else its state (Adam counts them; momentum
    buffers mean one at least); else 1 when its parameters carry gradients (a backward pass
    ran), else 0."""
    import torch

    from dlkit.grading.kernel_env import STEP_COUNT

    params = {id(p) for p in module.parameters()}
    for value in list(ns.values()):
        if not isinstance(value, torch.optim.Optimizer):
            continue
        mine = [p for group in value.param_groups for p in group["params"] if id(p) in params]
        if not mine:
            continue
        counts = [int(checks.as_numpy(s["step"], "step").max()) for p in mine
                  if isinstance(s := value.state.get(p), dict) and "step" in s]
        counted = getattr(value, STEP_COUNT, 0)
        steps = counted if isinstance(counted, int) and counted > 0 else max(counts) if counts \
            else int(any(value.state.get(p) for p in mine) or any(p.grad is not None for p in mine))
        return steps, type(value).__name__
    return int(any(p.grad is not None for p in module.parameters())), ""


def _gives(found: Found, outputs: int | str | Sequence[int] | None) -> bool:
    size = int(np.prod(found.output_shape)) if found.output_shape else 0
    if outputs == "same":
        return found.output_shape == found.input_shape or size == int(np.prod(found.input_shape))
    if outputs is None:
        return len(found.output_shape) == 1 and size >= 2 and len(found.input_shape) == 3
    if not isinstance(outputs, int):  # colour images in, one of these numbers of classes out
        return len(found.input_shape) == 3 and found.output_shape in [(n,) for n in outputs]
    return found.output_shape == (outputs,)


def exportable_torch(module: Any, name: str, input_shape: tuple[int, ...]) -> Any:
    """``module`` when the judge can rebuild it (:func:`checks.torch_spec`); a module of the
    notebook's own class as an ``nn.Sequential`` of its layers, when that computes what its
    ``forward`` does on a probe (with a ``Flatten`` first and ``ReLU`` after each hidden
    ``Linear``, as students write ``x.view(-1, 784)`` and ``F.relu`` in ``forward``)."""
    import torch
    from torch import nn

    try:
        checks.torch_spec(module, name)
        return module
    except TypeError:
        pass
    leaves = [m for m in module.modules() if not list(m.children())]
    linear = [i for i, m in enumerate(leaves) if isinstance(m, (nn.Linear, nn.Conv2d))]
    relu = [m for i, m in enumerate(leaves) for m in ([m, nn.ReLU()] if i in linear[:-1] else [m])]
    probe = torch.rand((8, *input_shape), generator=torch.Generator().manual_seed(0))
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            theirs = module(probe)
            for layers in (leaves, [nn.Flatten(), *leaves], relu, [nn.Flatten(), *relu]):
                chain = nn.Sequential(*layers).eval()
                try:
                    checks.torch_spec(chain, name)
                    mine = chain(probe)
                except (TypeError, RuntimeError):
                    continue
                if mine.shape == theirs.shape and torch.allclose(mine, theirs, rtol=1e-3,
                                                                   atol=1e-5):
                    return chain
    finally:
        module.train(was_training)
    kinds = " -> ".join(type(m).__name__ for m in leaves)
    raise AssertionError(f"`{name}` ({type(module).__name__}): the grader rebuilds torch models "
                         f"from their torch.nn layers ({kinds}), which do not compute what its "
                         "forward does; build it with nn.Sequential")


def image_folder_classes(root: Path | None = None) -> list[int]:
    """The numbers of classes a classifier of the imported image folders may give."""
    return sorted({len(classes) for folder in image_folders(root) for classes in folder.labellings})


@dataclass
class FoundEmbedding:
    """An embedding matrix the finder chose, with the words of its rows and how it was trained."""

    name: str  # where it is: `model` (layer `embedding`), or the array's name
    matrix: np.ndarray  # rows x dimensions, float32
    words: list[str]  # the word of each row ("" where the vocabulary gives none: padding)
    vocabulary: str  # the name of the vocabulary that gave the words
    framework: str  # "keras", "torch" or "numpy"
    steps: int = 0  # optimizer steps of the model that holds it (see :func:`find_model`)
    optimizer: str = ""
    others: list[str] = field(default_factory=list)  # other matrices with a vocabulary

    def facts(self) -> dict[str, Any]:
        return {"name": self.name, "vocabulary": self.vocabulary, "framework": self.framework,
                "rows": int(self.matrix.shape[0]), "dim": int(self.matrix.shape[1]),
                "steps": self.steps, "optimizer": self.optimizer, "others": self.others}


#: Row structure (:func:`row_structure`) from which a matrix is no fresh random draw (draws of
#: 10 to 5,000 rows: 0.89-1.26, the most of 300 seeds; a lab-manual Keras CBOW trained 80 epochs
#: on 87 words: 1.37, and 8 standard deviations above a draw is 1.09 there).
TRAINED_STRUCTURE = 1.1


def find_embedding(ns: Mapping[str, Any]) -> FoundEmbedding:
    """The word embeddings of a free-form CBOW notebook: a Keras ``Embedding`` layer's or torch
    ``nn.Embedding``'s weights, or a 2-D float array (NumPy, a tensor), whose rows match a
    vocabulary of the notebook: a word -> index dict (a Keras ``Tokenizer``'s ``word_index``
    too), an index -> word dict, or a list of words. Library vectors (gensim) are not the
    notebook's own and are never chosen. Among several, the one that is no random draw (see
    :func:`row_structure`) wins, then the one whose model took optimizer steps, then the first
    (a model's input embeddings come before its output embeddings)."""
    vocabularies = _vocabularies(ns)
    fits, seen = [], []
    for name, matrix, framework, model in _matrices(ns):
        seen.append(f"{name} ({matrix.shape[0]}x{matrix.shape[1]})")
        best = None
        for vocabulary, index in vocabularies:
            words = _row_words(index, matrix.shape[0], vocabulary.endswith(".word_index"))
            if words is not None and (best is None or _covered(words) > _covered(best[1])):
                best = (vocabulary, words)
        if best is None:
            continue
        steps, optimizer = _training_of(model, ns) if model is not None else (0, "")
        fits.append(FoundEmbedding(name, matrix, best[1], best[0], framework, steps, optimizer))
    if not fits:
        words = f"; vocabularies {', '.join(f'`{v}` ({len(i)} words)' for v, i in vocabularies)}" \
            if vocabularies else "; no vocabulary (a word -> index dict or a list of words)"
        found = f"; matrices {', '.join(seen)}" if seen else "; no embedding matrix"
        raise MissingObject(f"no embedding matrix whose rows match a vocabulary of the notebook"
                            f"{found}{words}")
    unique: list[FoundEmbedding] = []
    for found in fits:  # a copy (`embeddings = model.layers[0].get_weights()[0]`) is the same
        if not any(u.matrix.shape == found.matrix.shape and np.array_equal(u.matrix, found.matrix)
                   for u in unique):
            unique.append(found)
    order = {id(f): i for i, f in enumerate(unique)}
    trained = {id(f): looks_trained(f.matrix) for f in unique}
    unique.sort(key=lambda f: (trained[id(f)], f.steps > 0, -order[id(f)]), reverse=True)
    chosen = unique[0]
    chosen.others = [f.name for f in unique[1:]]
    return chosen


def row_structure(matrix: np.ndarray, rows: int = 2000, seed: int = 0) -> tuple[float, float]:
    """How far a matrix's rows are from a fresh random initialisation: ``(structure, z)``.
    ``structure`` is the root mean square of the cosine similarities between its (column-centred,
    non-zero) rows, over what independent rows give: rows drawn independently (uniform, normal,
    whatever the scale) are nearly orthogonal, about 1.0; trained embeddings, whose related
    words point alike, above. ``z`` says how many standard deviations of such draws it lies above
    1.0 (a small matrix's draws vary more)."""
    values = np.asarray(matrix, dtype="float64")
    values = values[np.abs(values).sum(axis=1) > 0]
    if len(values) > rows:
        values = values[np.random.default_rng(seed).choice(len(values), rows, replace=False)]
    if len(values) < 3 or values.shape[1] < 2:
        return 0.0, 0.0
    unit = checks.unit_rows(values - values.mean(axis=0))
    cosines = (unit @ unit.T)[np.triu_indices(len(unit), 1)]
    # independent rows: cosines of variance 1/width, and -1/(rows-1) on average once centred
    structure = float(np.sqrt(np.mean(cosines ** 2)
                              / (1 / values.shape[1] + 1 / (len(values) - 1) ** 2)))
    return structure, (structure - 1.0) * float(np.sqrt(2 * len(cosines)))


def looks_trained(matrix: np.ndarray) -> bool:
    """The matrix is no random draw: its :func:`row_structure` is at least
    :data:`TRAINED_STRUCTURE` and 8 standard deviations above a draw's."""
    structure, z = row_structure(matrix)
    return structure >= TRAINED_STRUCTURE and z >= 8


def _vocabularies(ns: Mapping[str, Any]) -> list[tuple[str, dict[str, int]]]:
    """(name, word -> index) of every vocabulary in the namespace: word -> index and
    index -> word dicts, lists (or arrays) of distinct words (not a text's tokens), a Keras
    Tokenizer's ``word_index`` (named ``<tokenizer>.word_index``)."""
    found = []
    for name, value in list(ns.items()):
        if name.startswith("_") or type(value).__module__.startswith("gensim"):
            continue
        if hasattr(value, "word_index") and isinstance(value.word_index, dict):
            value, name = value.word_index, f"{name}.word_index"
        index: dict[str, int] = {}
        if isinstance(value, dict) and len(value) >= 2:
            keys, values = list(value), list(value.values())
            if all(isinstance(k, str) for k in keys) and all(_is_index(v) for v in values):
                index = {k: int(v) for k, v in value.items()}
            elif all(_is_index(k) for k in keys) and all(isinstance(v, str) for v in values):
                index = {v: int(k) for k, v in value.items()}
        elif isinstance(value, (list, tuple)) and len(value) >= 2 and \
                all(isinstance(w, str) for w in value) and len(set(value)) == len(value):
            index = {w: i for i, w in enumerate(value)}
        elif isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind == "U" \
                and 2 <= len(value) == len(set(value.tolist())):
            index = {str(w): i for i, w in enumerate(value)}
        if len(index) >= 2 and len(set(index.values())) == len(index):
            found.append((name, index))
    return found


def _is_index(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0


def _row_words(index: Mapping[str, int], rows: int, tokenizer: bool = False) -> list[str] | None:
    """The word of each of ``rows`` rows, when the vocabulary gives a word to all of them but
    two at most (a padding row, an out-of-vocabulary row) and has no more words; else None. A
    Keras ``tokenizer`` keeps every word in ``word_index`` while its matrix may have only
    ``num_words`` rows: the words beyond are left out."""
    if rows < 2 or not tokenizer and len(index) > rows:
        return None
    words = [""] * rows
    for word, i in index.items():
        if i < rows:
            words[i] = word
    return words if _covered(words) >= rows - 2 else None


def _covered(words: list[str]) -> int:
    return sum(1 for w in words if w)


def _matrices(ns: Mapping[str, Any]):
    """(where, float32 matrix, framework, model) of every embedding matrix in the namespace:
    each Embedding layer of a Keras model or torch module (or on its own), each 2-D float array
    or tensor whose columns are fewer than its rows (a word vector per row)."""
    for name, value in list(ns.items()):
        if name.startswith("_") or type(value).__module__.startswith("gensim"):
            continue
        if checks.is_keras_model(value) or type(value).__name__ == "Embedding" and \
                hasattr(value, "get_weights"):
            layers = _keras_embeddings(value)
            for layer in layers:
                where = f"`{name}` (layer `{layer.name}`)" if layer is not value else f"`{name}`"
                yield where, np.asarray(layer.get_weights()[0], "float32"), "keras", \
                    value if checks.is_keras_model(value) else None
        elif checks.is_torch_module(value):
            if _inside_another(value, ns):
                continue
            for part, module in value.named_modules():
                if type(module).__name__ in ("Embedding", "EmbeddingBag"):
                    where = f"`{name}` (`{part}`)" if part else f"`{name}`"
                    yield where, module.weight.detach().cpu().numpy().astype("float32"), \
                        "torch", value
        elif isinstance(value, np.ndarray) or checks.is_tensor(value):
            try:
                array = checks.as_numpy(value, name)
            except (MissingObject, TypeError, ValueError):
                continue
            if array.ndim == 2 and array.dtype.kind == "f" and 2 <= array.shape[1] < array.shape[0]:
                yield f"`{name}`", array.astype("float32"), "numpy", None


def _keras_embeddings(value: Any) -> list[Any]:
    if type(value).__name__ == "Embedding":
        return [value] if value.get_weights() else []
    found = []
    for layer in getattr(value, "layers", []):
        found += _keras_embeddings(layer)
    return found


def _training_of(model: Any, ns: Mapping[str, Any]) -> tuple[int, str]:
    """(optimizer steps, optimizer class) of a Keras model or torch module, as
    :func:`find_model` counts them."""
    if checks.is_keras_model(model):
        return _keras_training(model)
    return _torch_training(model, ns)
