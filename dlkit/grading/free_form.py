"""Free-form grading: notebooks written without the starter, judged on what needs no names.

Students who never opened the starter name their model ``model``, ``autoencoder``, ``net`` or
``vgg`` and follow the lab manual. ``dlkit grade EXP --free-form`` (or ``free_form: true`` in
``rubrics/EXP.yml``) grades them with the criteria of ``rubrics/free-form/EXP.py`` instead of
the master's tests. Those are ordinary tests (``extract``/``judge``, :mod:`dlkit.checks`), one
``# %% <criterion>`` cell each, whose extract half finds the graded object by type and shape:

- :func:`find_model`: the Keras model or torch module whose input fits the experiment's data
  (a ``Flatten`` of 28x28 digits and a flat 784 input alike) and whose output has its classes
  (or, for an autoencoder, its input's size). Among several, the trained one (its optimizer
  took steps: Keras counts them; a torch optimizer holding the module's parameters keeps state,
  or its parameters carry gradients), then the one trained for more epochs (its ``History``),
  more steps, defined later;
- :func:`image_folder_classes` (Experiment 6): the numbers of classes of the image folders the
  college imported (Caltech-101's ``101_ObjectCategories``), which the classifier must give;
- :func:`find_number`: a number named like the brief's (``threshold``, ``thresh``);
- :func:`find_embedding` (Experiment 5): the embedding matrix whose rows match a vocabulary of
  the notebook, never a library's (gensim); the one that is no random draw
  (:func:`looks_trained`), then the one whose model took optimizer steps.

The rubric's ``free_form_rubric`` gives each criterion's points (``auto``) and names what is
left to the instructor (``manual``: marked with ``dlkit gradebook set``); the feedback page says
which is which. The judge halves measure with the helpers below, on the registry's data, never
on what the student's process computed.
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
from dlkit.settings import rubric_data

#: The rubric key of the free-form marks scheme, and of its switch.
RUBRIC_KEY = "free_form_rubric"
SWITCH_KEY = "free_form"

#: What a model of 28x28 digits may take: flat, as images, or channels first (torch).
DIGITS = ((784,), (28, 28), (28, 28, 1), (1, 28, 28))
#: What an autoencoder of Experiment 4 may take: digits, an ECG5000 beat (140 values) or a
#: credit-card transaction (V1-V28 and Amount, with or without Time).
AUTOENCODER_INPUTS = (*DIGITS, (140,), (29,), (30,))
#: What a classifier of Experiment 3 may take: digits, or CIFAR-10's colour images.
IMAGES = (*DIGITS, (32, 32, 3), (3, 32, 32))


# --------------------------------------------------------------------------- the rubric

@dataclass(frozen=True)
class Criterion:
    name: str
    points: float
    source: str  # an extract/judge test, as in a master's test cells


@dataclass(frozen=True)
class FreeFormRubric:
    experiment: str
    criteria: tuple[Criterion, ...]  # judged by the grader
    manual: dict[str, float] = field(default_factory=dict)  # left to the instructor

    @property
    def auto(self) -> dict[str, float]:
        return {c.name: c.points for c in self.criteria}


def rubric_path(root: Path, experiment_id: str) -> Path:
    return root / "rubrics" / "free-form" / f"{experiment_id}.py"


def load_rubric(experiment) -> FreeFormRubric | None:
    """The experiment's free-form rubric (marks from ``rubrics/<id>.yml``, criteria from
    ``rubrics/free-form/<id>.py``), or None when it has none. A criterion without its cell, or a
    cell without its marks, is refused by name."""
    marks = _rubric_yml(experiment).get(RUBRIC_KEY)
    tests = rubric_path(experiment.root, experiment.id)
    if not marks or not tests.exists():
        return None
    cells = criterion_cells(tests.read_text(encoding="utf-8"))
    auto = {str(k): float(v) for k, v in (marks.get("auto") or {}).items()}
    if set(auto) != set(cells):
        raise ValueError(f"{tests}: criteria {sorted(cells)} but {experiment.rubric} gives marks "
                         f"to {sorted(auto)}")
    return FreeFormRubric(experiment.id, tuple(Criterion(n, auto[n], cells[n]) for n in cells),
                          {str(k): float(v) for k, v in (marks.get("manual") or {}).items()})


def graded_free_form(experiment) -> bool:
    """``free_form: true`` in the experiment's rubric: grade every notebook free-form."""
    return bool(_rubric_yml(experiment).get(SWITCH_KEY, False))


def criterion_cells(text: str) -> dict[str, str]:
    """``# %% <name>`` cells of a criteria file (jupytext's percent format), by name."""
    cells: dict[str, str] = {}
    for chunk in re.split(r"^# %% *", text, flags=re.M)[1:]:
        name, _, body = chunk.partition("\n")
        cells[name.strip()] = body.strip() + "\n"
    return cells


def _rubric_yml(experiment) -> dict:
    return rubric_data(experiment.rubric)


# --------------------------------------------------------------------------- the finder

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


def _describe(name: str, value: Any, ns: Mapping[str, Any],
              inputs: Sequence[tuple[int, ...]] | None) -> Found | None:
    if checks._is_keras_model(value):
        return _describe_keras(name, value, ns)
    if checks._is_torch_module(value) and not _inside_another(value, ns):
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
    return any(value is not module and checks._is_torch_module(value)
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


# --------------------------------------------------------------------------- torch modules

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


# --------------------------------------------------------------------------- the judge's side

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
                          "trainable": bool(layer.trainable), "weights": len(layer.weights)})
    else:  # torch
        for module in model.modules():
            if list(module.children()):
                continue
            params = list(module.parameters(recurse=False))
            found.append({"kind": type(module).__name__,
                          "units": getattr(module, "out_features", None),
                          "activation": None, "weights": len(params),
                          "trainable": any(p.requires_grad for p in params) if params else True})
    return found


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
    x_test, y_test = checks._image_set_test(name)
    x_back, y_back = checks._held_out(name)
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


# --------------------------------------------------------------------------- image folders (Exp 6)

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
#: The grader's own sample of an image folder: this many images in all at most, at least 2 and
#: at most 10 a class, drawn with a fixed seed (the same images at every regrade).
IMAGE_SAMPLE = 300


@dataclass(frozen=True)
class ImageFolder:
    """An imported image set of one folder per class; ``labellings``: its class lists as
    notebooks number them (sorted names, as Keras' ``image_dataset_from_directory`` and
    torchvision's ``ImageFolder`` do; Caltech-101 with or without ``BACKGROUND_Google``)."""

    name: str
    path: Path
    labellings: tuple[tuple[str, ...], ...]


def image_folders(root: Path | None = None) -> list[ImageFolder]:
    """The image-class folders imported from the college's pack (``dlkit data import``)."""
    from dlkit.data.imported import imported_entries

    found = []
    for entry in imported_entries(root):
        if entry.kind != "image-folders" or not entry.data.is_dir():
            continue
        classes = tuple(sorted(p.name for p in entry.data.iterdir()
                               if p.is_dir() and not p.name.startswith(".")))
        labellings = [classes]
        without = tuple(c for c in classes if not c.lower().startswith("background"))
        if len(without) not in (len(classes), 0):
            labellings.append(without)
        found.append(ImageFolder(entry.entry.name, entry.data, tuple(labellings)))
    return found


def image_folder_classes(root: Path | None = None) -> list[int]:
    """The numbers of classes a classifier of the imported image folders may give."""
    return sorted({len(classes) for folder in image_folders(root) for classes in folder.labellings})


def image_folder_sample(folder: Path, classes: Sequence[str], size: tuple[int, int],
                        seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The grader's sample of ``folder``: a few images of each class (fixed seed), as RGB,
    resized (bilinear) to ``size`` (height, width), 0-255 float32, channels last; labels by
    the classes' order."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    per_class = max(2, min(10, IMAGE_SAMPLE // max(len(classes), 1)))
    images, labels = [], []
    for label, name in enumerate(classes):
        files = sorted(p for p in (folder / name).rglob("*")
                       if p.is_file() and not p.name.startswith("."))
        for index in sorted(rng.permutation(len(files))[:per_class]):
            with Image.open(files[index]) as image:
                resized = image.convert("RGB").resize((size[1], size[0]), Image.BILINEAR)
            images.append(np.asarray(resized, dtype="float32"))
            labels.append(label)
    return np.stack(images), np.array(labels)


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


def free_form_threshold(experiment_id: str, name: str) -> float:
    """A bar of a free-form criterion that the experiment registry does not hold, from the
    rubric's ``free_form_rubric: thresholds:`` (where it is stated with how it was chosen)."""
    from dlkit.experiments import get

    experiment = get(experiment_id)
    bars = (_rubric_yml(experiment).get(RUBRIC_KEY) or {}).get("thresholds") or {}
    if name not in bars:
        raise KeyError(f"{experiment.rubric}: {RUBRIC_KEY} has no threshold {name!r}")
    return float(bars[name])


@dataclass(frozen=True)
class AnomalyData:
    """Examples with labels (1 = anomaly) that an autoencoder of this input size was made for,
    and the ways students scale them (the grader keeps the scaling that suits the model)."""

    name: str
    x: np.ndarray
    anomaly: np.ndarray
    scalings: dict[str, Any]
    held_out: tuple[np.ndarray, np.ndarray] | None = None  # (x, anomaly) never trained on


def anomaly_data(features: int) -> list[AnomalyData]:
    """The data an autoencoder of ``features`` inputs is graded on: MNIST (784: each digit in
    turn as the normal class), the pack's ECG5000 (140 values; label 1 normal) or credit-card
    transactions (30 columns, or 29 without Time; Class 1 fraud), when imported."""
    if features == 784:
        x_test, y_test = checks._mnist_test()
        x_back, y_back = checks._held_out("mnist")
        scalings = {"x / 255": lambda x: x / 255.0}
        x, xb = x_test.reshape(len(x_test), 784).astype("float32"), \
            x_back.reshape(len(x_back), 784).astype("float32")
        return [AnomalyData(f"MNIST, digit {d} normal", x, (y_test != d).astype(int), scalings,
                            (xb, (y_back != d).astype(int))) for d in range(10)]
    import pandas as pd

    from dlkit.data.imported import imported_entries

    found = []
    for entry in imported_entries():
        if entry.kind == "ecg-csv" and features == 140:
            values = pd.read_csv(entry.data, header=None).to_numpy("float64")
            column = 0 if set(np.unique(values[:, 0])) <= set(range(10)) and \
                not set(np.unique(values[:, -1])) <= set(range(10)) else -1
            labels = values[:, column].astype(int)
            x = np.delete(values, column if column >= 0 else values.shape[1] - 1, axis=1)
            normal = 1 if (labels == 1).sum() >= (labels != 1).sum() / 2 else int(np.bincount(labels).argmax())
            low, high = x.min(), x.max()
            found.append(AnomalyData("ECG5000", x.astype("float32"), (labels != normal).astype(int), {
                "(x - min) / (max - min)": lambda v, lo=low, hi=high: (v - lo) / (hi - lo),
                "x": lambda v: v}))
        elif entry.kind == "creditcard-csv" and features in (29, 30):
            frame = pd.read_csv(entry.data)
            labels = frame.pop("Class").to_numpy().astype(int)
            if features == 29:
                frame = frame.drop(columns=["Time"])
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


def anomaly_scores(model: Any, input_shape: Sequence[int],
                   threshold: float | None = None) -> dict[str, Any]:
    """The grader's ROC-AUC of an autoencoder's reconstruction errors on the data it was made
    for (:func:`anomaly_data`), with the data and scaling that suit it best; on kept-back data
    too where there is such (MNIST); and, given the notebook's ``threshold``, the balanced
    accuracy of ``error > threshold`` as its anomaly detector (mean squared or absolute error,
    whichever the threshold suits). {} when no such data exists."""
    features = int(np.prod(input_shape))
    best: dict[str, Any] = {}
    computed: dict[tuple[int, str], np.ndarray] = {}  # MNIST's ten cases share their images
    for data in anomaly_data(features):
        if len(np.unique(data.anomaly)) < 2:
            continue
        for words, scale in data.scalings.items():
            key = (id(data.x), words)
            if key not in computed:
                computed[key] = _errors(model, scale(data.x).astype("float32"), input_shape)
            errors = computed[key]
            auc = checks.roc_auc(data.anomaly, errors["squared"])
            if not best or auc > best["roc_auc"]:
                best = {"roc_auc": auc, "data": data.name, "scaling": words, "errors": errors,
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


# --------------------------------------------------------------------------- embeddings (Exp 5)

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
        if checks._is_keras_model(value) or type(value).__name__ == "Embedding" and \
                hasattr(value, "get_weights"):
            layers = _keras_embeddings(value)
            for layer in layers:
                where = f"`{name}` (layer `{layer.name}`)" if layer is not value else f"`{name}`"
                yield where, np.asarray(layer.get_weights()[0], "float32"), "keras", \
                    value if checks._is_keras_model(value) else None
        elif checks._is_torch_module(value):
            if _inside_another(value, ns):
                continue
            for part, module in value.named_modules():
                if type(module).__name__ in ("Embedding", "EmbeddingBag"):
                    where = f"`{name}` (`{part}`)" if part else f"`{name}`"
                    yield where, module.weight.detach().cpu().numpy().astype("float32"), \
                        "torch", value
        elif isinstance(value, np.ndarray) or checks._is_tensor(value):
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
    if checks._is_keras_model(model):
        return _keras_training(model)
    return _torch_training(model, ns)


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


__all__ = ["AUTOENCODER_INPUTS", "DIGITS", "IMAGES", "TRAINED_STRUCTURE", "Criterion", "Found",
           "FoundEmbedding", "FreeFormRubric", "anomaly_data", "anomaly_scores",
           "classifier_scores", "corpus_of", "criterion_cells", "exportable_torch",
           "find_embedding", "find_model", "find_number", "graded_free_form", "image_set_of",
           "layers", "load_rubric", "looks_trained", "neighbour_scores", "outputs",
           "parameter_count",
           "row_structure"]
