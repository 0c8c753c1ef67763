"""The judge side of free-form grading: what the grader measures of a found model, on its own data.

The criteria's judge halves call these on the exported model, with the registry's data and
the college's imported pack, never on what the student's process computed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlkit import checks
from dlkit.data.imported import imported_entries
from dlkit.data.loaders import image_folder_sample, image_folders, read_creditcard, read_ecg


def layers(model: Any) -> list[dict[str, Any]]:
    """The layers of a loaded Keras model or torch module, nested backbones flattened, in order:
    kind, units (outputs), activation and whether it is trainable."""
    found: list[dict[str, Any]] = []
    if hasattr(model, "layers"):  # Keras
        for layer in model.layers:
            if hasattr(layer, "layers"):
                found += [dict(d, backbone=layer.name) for d in layers(layer)]
                continue
            config = layer.get_config()
            found.append({"kind": type(layer).__name__, "units": config.get("units"),
                          "activation": config.get("activation"),
                          "trainable": bool(layer.trainable), "weights": len(layer.weights),
                          "parameters": int(layer.count_params()) if layer.built else 0})
    else:  # torch
        for module in model.modules():
            if list(module.children()):
                continue
            params = list(module.parameters(recurse=False))
            found.append({"kind": type(module).__name__,
                          "units": getattr(module, "out_features", None),
                          "activation": None, "weights": len(params),
                          "parameters": int(sum(p.numel() for p in params)),
                          "trainable": any(p.requires_grad for p in params) if params else True})
    return found


#: Pretrained backbones by their weights without the classifier (``include_top=False``; a
#: torchvision model without ``classifier``/``fc``), counted here with ``weights=None``
#: (keras 3.15.1, torchvision 0.29.1): what a transfer-learning model is said to be built on,
#: from what it computes with, never from the names it gives its layers.
BACKBONES = {
    14_714_688: "VGG16", 20_024_384: "VGG19", 23_587_712: "ResNet50", 42_658_176: "ResNet101",
    2_257_984: "MobileNetV2", 3_228_864: "MobileNet", 21_802_784: "InceptionV3",
    4_049_571: "EfficientNetB0", 7_037_504: "DenseNet121", 20_861_480: "Xception",
    11_176_512: "ResNet-18", 21_284_672: "ResNet-34", 23_508_032: "ResNet-50",
    2_223_872: "MobileNetV2", 4_007_548: "EfficientNet-B0", 6_953_856: "DenseNet-121",
    2_469_696: "AlexNet",
}


def backbone_of(model: Any) -> str:
    """The known pretrained backbone (:data:`BACKBONES`) a loaded model's first layers add up
    to, by their numbers of weights ("" when none does)."""
    total = 0
    for layer in layers(model):
        total += layer.get("parameters", 0)
        if layer.get("parameters") and total in BACKBONES:
            return BACKBONES[total]
    return ""


#: How students scale their inputs: the grader tries each and keeps the best (the scaling is
#: their choice, not their model's quality).
SCALINGS = {"x / 255": lambda x: x / 255.0,
            "(x / 255 - 0.1307) / 0.3081": lambda x: (x / 255.0 - 0.1307) / 0.3081,
            "x (0-255)": lambda x: x}


def parameter_count(model: Any) -> int:
    """Weights of a loaded Keras model or torch module, trainable or not."""
    if hasattr(model, "count_params"):
        return int(model.count_params())
    return int(sum(p.numel() for p in model.parameters()))


def outputs(model: Any, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """A loaded Keras model's or torch module's outputs on ``x``, computed here, in batches."""
    if hasattr(model, "layers"):
        return checks.predict(model, x, batch_size)
    import torch

    model.eval()
    with torch.no_grad():
        return np.concatenate([model(torch.from_numpy(np.ascontiguousarray(x[i:i + batch_size])))
                               .numpy() for i in range(0, len(x), batch_size)])


def image_set_of(input_shape: Sequence[int]) -> str:
    """The image set a classifier of this input was made for: 784 values MNIST, 3072 CIFAR-10."""
    return {784: "mnist", 3072: "cifar10"}.get(int(np.prod(input_shape)), "")


def classifier_scores(model: Any, input_shape: Sequence[int]) -> dict[str, Any]:
    """The grader's accuracy of a classifier of MNIST digits (or CIFAR-10 images, by its input
    size) on the test set and on the training images the starters keep back, with the input
    scaling (of :data:`SCALINGS`) that suits it best on the test set."""
    name = image_set_of(input_shape)
    if not name:
        raise AssertionError(f"the grader has no test set for inputs of shape {tuple(input_shape)}")
    x_test, y_test = checks.image_set_test(name)
    x_back, y_back = checks.held_out(name)
    best: dict[str, Any] = {"data": {"mnist": "MNIST", "cifar10": "CIFAR-10"}[name]}
    for words, scale in SCALINGS.items():
        accuracy = _accuracy(model, scale(x_test.astype("float32")), y_test, input_shape)
        if "accuracy" not in best or accuracy > best["accuracy"]:
            best.update(accuracy=accuracy, scaling=words, scale=scale)
    held_out = _accuracy(model, best.pop("scale")(x_back.astype("float32")), y_back, input_shape)
    return {**best, "held_out": held_out}


def _accuracy(model: Any, x: np.ndarray, y: np.ndarray, input_shape: Sequence[int]) -> float:
    if x.ndim == 4 and x.shape[-1] == 3 and tuple(input_shape)[0] == 3:  # NHWC to torch's NCHW
        x = x.transpose(0, 3, 1, 2)
    predicted = outputs(model, x.reshape((len(x), *input_shape))).argmax(axis=1)
    return float((predicted == y).mean())


_IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], "float32")


_IMAGENET_STD = np.array([0.229, 0.224, 0.225], "float32")


_CAFFE_MEAN = np.array([103.939, 116.779, 123.68], "float32")  # BGR, as keras.applications'


#: How students prepare colour images (0-255, RGB, channels last here) for a pretrained
#: backbone: the grader tries each and keeps the best, as with :data:`SCALINGS`.
IMAGE_SCALINGS = {
    "x / 255": lambda x: x / 255.0,
    "ImageNet normalisation ((x / 255 - mean) / std)": lambda x: (x / 255.0 - _IMAGENET_MEAN) / _IMAGENET_STD,
    "Keras VGG16/ResNet50 preprocess_input (BGR, ImageNet mean subtracted)":
        lambda x: x[..., ::-1] - _CAFFE_MEAN,
    "x / 127.5 - 1": lambda x: x / 127.5 - 1.0,
    "x (0-255)": lambda x: x,
}


def image_folder_scores(model: Any, input_shape: Sequence[int | None], classes: int) -> dict[str, Any]:
    """The grader's accuracy of a colour-image classifier of ``classes`` outputs on its own
    sample (:func:`image_folder_sample`) of the imported image folder with that many classes, at
    the model's input size (224x224 where it takes any), with the preparation of
    :data:`IMAGE_SCALINGS` that suits it best. Without such a folder: {"folders": name ->
    classes} of those imported (none: {})."""
    folders = image_folders()
    match = next(((f, c) for f in folders for c in f.labellings if len(c) == classes), None)
    if match is None:
        return {"folders": {f.name: len(f.labellings[0]) for f in folders}} if folders else {}
    folder, names = match
    channels_first = tuple(input_shape)[0] == 3
    height, width = [d or 224 for d in (input_shape[1:] if channels_first else input_shape[:2])]
    shape = (3, height, width) if channels_first else (height, width, 3)
    x, y = image_folder_sample(folder.path, names, (height, width))
    best: dict[str, Any] = {"data": folder.name, "images": len(y), "size": f"{height}x{width}"}
    for words, scale in IMAGE_SCALINGS.items():
        accuracy = _accuracy(model, scale(x).astype("float32"), y, shape)
        if "accuracy" not in best or accuracy > best["accuracy"]:
            best.update(accuracy=accuracy, scaling=words)
    return best


#: The data a model of this many inputs per example was made for, as pages name it.
DATA_OF_INPUTS = {784: "MNIST", 3072: "CIFAR-10", 140: "ECG5000", 29: "credit-card transactions",
                  30: "credit-card transactions"}


def data_of_inputs(input_shape: Sequence[int]) -> str:
    """The data a model of this per-example input was made for ("" when the grader cannot tell):
    what titles and pages name instead of the starter's data."""
    return DATA_OF_INPUTS.get(int(np.prod(input_shape)), "") if len(input_shape) else ""


@dataclass(frozen=True)
class AnomalyData:
    """Examples with labels (1 = anomaly) that an autoencoder of this input size was made for,
    and the ways students scale them (the grader keeps the scaling that suits the model)."""

    name: str
    x: np.ndarray
    anomaly: np.ndarray
    scalings: dict[str, Any]
    held_out: tuple[np.ndarray, np.ndarray] | None = None  # (x, anomaly) never trained on
    #: what a notebook's own scaler was fitted on: the file's values, or (MNIST) pixels / 255
    before_scaler: tuple[tuple[str, Any], ...] = (("", lambda v: v),)

    @property
    def dataset(self) -> str:
        """The data set's name alone ("MNIST", not which digit was normal)."""
        return self.name.split(",")[0]


#: What the judge reads of a notebook's scaler (:func:`finder.find_scaler`): its kinds.
SCALER_KINDS = ("StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler")


def notebook_scaling(data: Any, features: int) -> tuple[str, Any] | None:
    """``(words, function)`` applying the notebook's own fitted scaler, exported as data
    (``scaler``, ``scaler_multiply``, ``scaler_add``: see :func:`finder.find_scaler`), to
    inputs of ``features`` columns; None when there is none or it does not fit them. Its
    numbers are the student's: checked for shape and finiteness, never run as code."""
    meta = data.get("scaler") if isinstance(data, dict) else None
    if not isinstance(meta, dict) or meta.get("kind") not in SCALER_KINDS:
        return None
    multiply, add = data.get("scaler_multiply"), data.get("scaler_add")
    if not all(isinstance(a, np.ndarray) and a.shape == (features,) and a.dtype.kind == "f"
               and np.isfinite(a).all() for a in (multiply, add)):
        return None
    name = meta.get("name")
    name = name[:40] if isinstance(name, str) and name.isidentifier() else "?"
    clip = meta.get("clip")
    bounds = tuple(float(b) for b in clip) if isinstance(clip, list) and len(clip) == 2 and all(
        isinstance(b, (int, float)) and np.isfinite(b) for b in clip) else None

    def scale(x: np.ndarray) -> np.ndarray:
        y = x * multiply + add
        return np.clip(y, *bounds) if bounds else y

    return f"after your {meta['kind']} (`{name}`)", scale


def anomaly_data(features: int) -> list[AnomalyData]:
    """The data an autoencoder of ``features`` inputs is graded on: MNIST (784: each digit in
    turn as the normal class), the pack's ECG5000 (140 values; label 1 normal) or credit-card
    transactions (30 columns, or 29 without Time; Class 1 fraud), when imported."""
    if features == 784:
        x_test, y_test = checks.mnist_test()
        x_back, y_back = checks.held_out("mnist")
        scalings = {"x / 255": lambda x: x / 255.0}
        x, xb = x_test.reshape(len(x_test), 784).astype("float32"), \
            x_back.reshape(len(x_back), 784).astype("float32")
        before = (("x / 255, ", lambda v: v / 255.0), ("x (0-255), ", lambda v: v))
        return [AnomalyData(f"MNIST, digit {d} normal", x, (y_test != d).astype(int), scalings,
                            (xb, (y_back != d).astype(int)), before) for d in range(10)]
    found = []
    for entry in imported_entries():
        if entry.kind == "ecg-csv" and features == 140:
            x, labels = read_ecg(entry.data)
            normal = 1 if (labels == 1).sum() >= (labels != 1).sum() / 2 else int(np.bincount(labels).argmax())
            low, high = x.min(), x.max()
            found.append(AnomalyData("ECG5000", x.astype("float32"), (labels != normal).astype(int), {
                "(x - min) / (max - min)": lambda v, lo=low, hi=high: (v - lo) / (hi - lo),
                "x": lambda v: v}))
        elif entry.kind == "creditcard-csv" and features in (29, 30):
            frame, labels = read_creditcard(entry.data, with_time=features == 30)
            x = frame.to_numpy("float64")
            mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
            low, high = x.min(axis=0), x.max(axis=0)
            amount = list(frame.columns).index("Amount")

            def amount_only(v, m=mean, s=std, a=amount):
                out = v.copy()
                out[:, a] = (v[:, a] - m[a]) / s[a]
                return out

            found.append(AnomalyData("credit-card transactions", x.astype("float32"), labels, {
                "standardised": lambda v, m=mean, s=std: (v - m) / s,
                "Amount standardised": amount_only,
                "(x - min) / (max - min)": lambda v, lo=low, hi=high: (v - lo) / (hi - lo + 1e-9)}))
    return found


def anomaly_scores(model: Any, input_shape: Sequence[int], threshold: float | None = None,
                   scaler: dict[str, Any] | None = None) -> dict[str, Any]:
    """The grader's ROC-AUC of an autoencoder's reconstruction errors on the data it was made
    for (:func:`anomaly_data`), with the data and scaling that suit it best; on kept-back data
    too where there is such (MNIST); and, given the notebook's ``threshold``, the balanced
    accuracy of ``error > threshold`` as its anomaly detector (mean squared or absolute error,
    whichever the threshold suits). ``scaler``: the notebook's own fitted scaler, as exported
    (:func:`notebook_scaling`): one more scaling to try, and the only one a threshold is
    measured in (the notebook chose it in the scaled inputs). {} when no such data exists."""
    features = int(np.prod(input_shape))
    own = notebook_scaling(scaler, features) if scaler else None
    best: dict[str, Any] = {}
    computed: dict[tuple[int, str], np.ndarray] = {}  # MNIST's ten cases share their images
    for data in anomaly_data(features):
        if len(np.unique(data.anomaly)) < 2:
            continue
        scalings = {} if own and threshold is not None else dict(data.scalings)
        if own:
            scalings.update({f"{before}{own[0]}": lambda v, b=b: own[1](b(v))
                             for before, b in data.before_scaler})
        for words, scale in scalings.items():
            key = (id(data.x), words)
            if key not in computed:
                computed[key] = _errors(model, scale(data.x).astype("float32"), input_shape)
            errors = computed[key]
            auc = checks.roc_auc(data.anomaly, errors["squared"])
            if not best or auc > best["roc_auc"]:
                best = {"roc_auc": auc, "data": data.name, "dataset": data.dataset,
                        "scaling": words, "errors": errors,
                        "labels": data.anomaly, "scale": scale, "held": data.held_out}
    if not best:
        return {}
    scale, held, errors, labels = best.pop("scale"), best.pop("held"), best.pop("errors"), \
        best.pop("labels")
    if held is not None:
        best["held_out_roc_auc"] = checks.roc_auc(
            held[1], _errors(model, scale(held[0]).astype("float32"), input_shape)["squared"])
    if threshold is not None:  # errors as the notebook measured them: squared or absolute
        best["balanced_accuracy"] = max(
            float(((e > threshold)[labels == 1].mean() + (e <= threshold)[labels == 0].mean()) / 2)
            for e in errors.values())
    return best


def _errors(model: Any, x: np.ndarray, input_shape: Sequence[int]) -> dict[str, np.ndarray]:
    """Per-example mean squared and mean absolute reconstruction errors."""
    difference = outputs(model, x.reshape((len(x), *input_shape))).reshape(len(x), -1) \
        - x.reshape(len(x), -1)
    return {"squared": (difference ** 2).mean(axis=1), "absolute": np.abs(difference).mean(axis=1)}


def corpus_of(words: Sequence[str]) -> dict[str, Any]:
    """The corpus of the data registry (``bbc-news``, ``kjv``) a notebook's vocabulary was
    built from, when it is one: nearly all its words (of letters only) occur in it and its word
    groups (:data:`checks.NEIGHBOUR_GROUPS`) are in the vocabulary. ``{"corpus": name or "",
    "coverage": {corpus: share of the words found in it}}``."""
    vocabulary = {w.lower() for w in words if re.fullmatch(r"[A-Za-z]+", w or "")}
    coverage = {}
    for corpus, groups in checks.NEIGHBOUR_GROUPS.items():
        known = _corpus_words(corpus)
        share = len(vocabulary & known) / max(1, len(vocabulary))
        present = sum(1 for members in groups.values() if len(vocabulary & set(members)) >= 2)
        coverage[corpus] = (round(share, 4), present / len(groups))
    fits = [c for c, (share, groups) in coverage.items() if share >= 0.8 and groups >= 2 / 3]
    return {"corpus": max(fits, key=lambda c: coverage[c][0]) if fits else "",
            "coverage": {c: share for c, (share, _) in coverage.items()}}


def neighbour_scores(matrix: np.ndarray, words: Sequence[str]) -> dict[str, Any]:
    """The grader's neighbour quality (:func:`checks.neighbour_quality`, averaged over the word
    groups of the corpus) of embeddings whose row ``i`` is ``words[i]``, for the registry corpus
    their vocabulary was built from (:func:`corpus_of`): ``{"corpus", "coverage", "quality"
    (per group), "score", "threshold"}``; without ``quality`` when the corpus is none of them."""
    import dlkit.experiments as registry

    found = corpus_of(words)
    if not found["corpus"]:
        return found
    # neighbour_quality never counts row 0 (the starter's padding): a row of nothing goes first
    matrix = np.vstack([np.zeros((1, np.shape(matrix)[1]), "float32"), np.asarray(matrix)])
    quality = checks.neighbour_quality(matrix, ["", *words], checks.NEIGHBOUR_GROUPS[found["corpus"]])
    name = f"neighbour_quality_{found['corpus'].replace('-', '_')}"
    return {**found, "quality": quality, "score": float(np.mean(list(quality.values()))),
            "threshold": registry.threshold("exp5-cbow", name)}


_CORPUS_WORDS: dict[str, set[str]] = {}


def _corpus_words(corpus: str) -> set[str]:
    if corpus not in _CORPUS_WORDS:
        from dlkit.data import load_bbc_news, load_kjv

        text = " ".join(load_bbc_news()[0]) if corpus == "bbc-news" else load_kjv()
        _CORPUS_WORDS[corpus] = set(re.findall(r"[a-z]+", text.lower()))
    return _CORPUS_WORDS[corpus]
