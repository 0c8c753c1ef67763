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
import re
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


class LeftToInstructor(AssertionError):
    """The grader cannot measure this criterion here (the corpus is the student's own, no test
    images were imported): the instructor judges it. Never a fail: out of the automatic score."""


def get(ns: Mapping[str, Any], name: str, kind: type | tuple[type, ...] | None = None) -> Any:
    """``ns[name]``, or a :class:`MissingObject` a student understands."""
    if name not in ns or ns[name] is Ellipsis:
        raise MissingObject(f"no variable `{name}`: the starter notebook asks you to define it")
    value = ns[name]
    origin = library_origin(value)
    if origin is not None:
        raise MissingObject(f"`{name}` is {origin}'s {_what(value)}, imported, not one of your "
                            f"own: the starter notebook asks you to define it (the grader "
                            f"judges only your own `{name}`)")
    if kind is not None and not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise MissingObject(f"`{name}` should be a {names}, not {type(value).__name__}: the "
                            f"grader found a {type(value).__name__} under that name, so it has "
                            f"no `{name}` of yours to judge")
    return value


def library_origin(value: Any) -> str | None:
    """The library a function or class comes from (``sklearn.metrics.pairwise``) when it was
    imported rather than defined in the notebook (or a module of its folder); else None."""
    import inspect
    import sys

    if not (inspect.isfunction(value) or inspect.isbuiltin(value) or inspect.isclass(value)):
        return None
    module = getattr(value, "__module__", None) or ""
    if not module or module == "__main__":
        return None
    top = module.split(".")[0]
    loaded = sys.modules.get(module) or sys.modules.get(top)
    where = str(getattr(loaded, "__file__", "") or "")
    if top in sys.stdlib_module_names or top == "builtins" or "site-packages" in where \
            or "dist-packages" in where or where.startswith(sys.base_prefix):
        return module
    return None


def _what(value: Any) -> str:
    import inspect

    return "class" if inspect.isclass(value) else "function"


def call(function: Callable[..., Any], given: str, *args: Any, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)`` on input the grader made up; when it raises, a failure that
    says which input (``given``, in words) and what the student's function raised."""
    try:
        return function(*args, **kwargs)
    except MissingObject:
        raise
    except Exception as exc:  # noqa: BLE001 - a student's function can fail in any way
        name = getattr(function, "__name__", "your function")
        message = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        raise AssertionError(f"{name}({given}) raised {type(exc).__name__}"
                             + (f": {message}" if message else "")) from None


def run(extract: Extract, judge: Judge, ns: Mapping[str, Any]) -> None:
    """Run a test in one process: extract, round-trip through the safe export, judge."""
    with tempfile.TemporaryDirectory(prefix="dlkit-check-") as folder:
        export(extract(ns), Path(folder))
        judge(load(Path(folder)))


# --------------------------------------------------------------------------- safe export

def export(data: Mapping[str, Any], folder: Path, saved: dict[int, Path] | None = None) -> None:
    """Write ``data`` (name -> Keras model | torch module | array | JSON value) into ``folder`` safely.

    ``saved`` (object id -> file) lets the grader write a model that several tests ask for once:
    a later test's manifest names the earlier test's file (``"file": "<test>/<name>.keras"``)
    instead of a copy; student code does not run between those tests.
    """
    folder.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, dict[str, Any]] = {}
    for name, value in data.items():
        if not name.isidentifier():
            raise ValueError(f"export names must be identifiers, got {name!r}")
        if is_keras_model(value):
            original, value = value, rebuilt_keras_model(value, name)
            earlier = saved.get(id(original)) if saved is not None else None
            if earlier is not None and earlier.exists():
                manifest[name] = {"kind": "keras", "file": _shared(earlier)}
            else:
                target = folder / f"{name}.keras"
                value.save(target)
                if saved is not None:
                    saved[id(original)] = target
                manifest[name] = {"kind": "keras"}
        elif is_torch_module(value):
            manifest[name] = {"kind": "torch", **_export_torch(value, folder / f"{name}.npz", saved)}
        elif isinstance(value, np.ndarray) or is_tensor(value):
            array = as_numpy(value, name)
            if array.dtype == object:
                shown = repr(array.item() if array.ndim == 0 else array)[:60]
                raise TypeError(f"{name}: expected numbers, got {shown}")
            np.save(folder / f"{name}.npy", array, allow_pickle=False)
            manifest[name] = {"kind": "npy"}
        else:
            manifest[name] = {"kind": "json", "value": _jsonable(value, name)}
    (folder / MANIFEST).write_text(json.dumps(manifest))


def _shared(path: Path) -> str:
    """How a manifest names a file another test of the same run exported."""
    return f"{path.parent.name}/{path.name}"


#: a file another test exported, as a manifest names it
SHARED_FILE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*-[0-9]+/[A-Za-z_][A-Za-z0-9_]*\.(keras|npz)$")
#: the most a judge loads: bytes of a manifest, parameters a model declares, bytes an archive
#: unpacks to, elements of one array (bounded before anything is built or read)
MAX_MANIFEST_BYTES = 8 * 2**20
MAX_PARAMETERS = 2**28
MAX_ARCHIVE_BYTES = 2 * 2**30
MAX_DIMENSION = 2**20


def load(folder: Path, loaded: dict[str, Any] | None = None) -> dict[str, Any]:
    """Read what :func:`export` wrote, with no pickle and Keras ``safe_mode``; torch modules are
    rebuilt from their declared layers and given their exported tensors. What a file declares
    (a model's layer sizes, an archive's unpacked size, an array's shape) is bounded before it
    is built or read (:class:`TooLarge`).

    ``loaded`` (file -> model) lets the judge load a model several tests share once.
    """
    from dlkit.grading.channel import read_regular

    manifest = json.loads(read_regular(folder / MANIFEST, MAX_MANIFEST_BYTES))
    if not isinstance(manifest, dict):
        raise ValueError("the exported manifest is not an object")
    data: dict[str, Any] = {}
    for name, entry in manifest.items():
        if not isinstance(name, str) or not name.isidentifier() or not isinstance(entry, dict):
            raise ValueError(f"the exported manifest has an entry {str(name)[:40]!r} the grader "
                             "does not read")
        kind = entry.get("kind")
        if kind == "keras":
            path = _exported_file(folder, name, entry, "keras")
            if loaded is not None and str(path) in loaded:
                data[name] = loaded[str(path)]
            else:
                data[name] = _load_keras(path)
                if loaded is not None:
                    loaded[str(path)] = data[name]
        elif kind == "torch":
            data[name] = _load_torch(entry, _exported_file(folder, name, entry, "npz"), loaded)
        elif kind == "npy":
            path = folder / f"{name}.npy"
            _check_npy(path)
            data[name] = np.load(path, allow_pickle=False)
        elif kind == "json":
            data[name] = entry.get("value")
        else:
            raise ValueError(f"`{name}` was exported as {str(kind)[:20]!r}, which the grader "
                             "does not read")
    return data


class TooLarge(ValueError):
    """An export declares more than the judge loads."""


def _exported_file(folder: Path, name: str, entry: Mapping[str, Any], suffix: str) -> Path:
    shared = entry.get("file")
    if shared is None:
        return folder / f"{name}.{suffix}"
    if not isinstance(shared, str) or not SHARED_FILE.match(shared) \
            or not shared.endswith(f".{suffix}"):
        raise ValueError(f"`{name}` names a file the grader does not read")
    return folder.parent / shared


def _load_keras(path: Path) -> Any:
    import keras

    check_keras_archive(path)
    return keras.models.load_model(path, safe_mode=True)


def check_keras_archive(path: Path) -> None:
    """Bound a ``.keras`` archive before Keras builds it: what it unpacks to, and the sizes its
    layers declare (units, filters, embedding tables, input shapes; parameters estimated along
    the layers in order). A model that declares a huge layer never allocates it."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > MAX_ARCHIVE_BYTES:
            raise TooLarge(f"the exported model unpacks to {unpacked / 2**20:,.0f} MB (the grader "
                           f"loads at most {MAX_ARCHIVE_BYTES / 2**20:,.0f} MB)")
        info = archive.getinfo("config.json")
        if info.file_size > MAX_MANIFEST_BYTES:
            raise TooLarge("the exported model's configuration is too large")
        config = json.loads(archive.read(info))
    parameters = estimated_parameters(config)
    if parameters > MAX_PARAMETERS:
        raise TooLarge(f"the exported model declares about {parameters:,} parameters (the "
                       f"grader loads at most {MAX_PARAMETERS:,})")


def estimated_parameters(config: Any) -> int:
    """Parameters a Keras model configuration declares, estimated layer by layer in the order
    they are listed (a layer's input width is the last width declared before it); raises
    :class:`TooLarge` for any single declared size over :data:`MAX_DIMENSION`."""
    total, width = 0, 1
    for layer in _keras_layers(config):
        settings = layer.get("config") if isinstance(layer.get("config"), dict) else {}
        for key in ("batch_shape", "batch_input_shape", "input_shape"):
            shape = settings.get(key)
            if isinstance(shape, list):
                dims = [d for d in shape if isinstance(d, int)]
                if any(d > MAX_DIMENSION or d < 0 for d in dims):
                    raise TooLarge(f"the exported model declares an input of shape {shape}")
                width = max(1, int(np.prod(dims, dtype=np.int64)) if dims else 1)
        sizes = {key: settings.get(key) for key in ("units", "filters", "output_dim", "input_dim")}
        for key, value in sizes.items():
            if isinstance(value, int) and not 0 <= value <= MAX_DIMENSION:
                raise TooLarge(f"the exported model declares a layer with {key}={value:,}")
        kernel = settings.get("kernel_size")
        area = int(np.prod(kernel)) if isinstance(kernel, list) and all(
            isinstance(k, int) and 0 < k <= 1024 for k in kernel) else 1
        if isinstance(sizes["input_dim"], int) and isinstance(sizes["output_dim"], int):
            total += sizes["input_dim"] * sizes["output_dim"]
            width = sizes["output_dim"]
        for key in ("units", "filters"):
            if isinstance(sizes[key], int):
                total += (width * area + 1) * sizes[key]
                width = sizes[key]
        if total > MAX_PARAMETERS:
            break
    return total


def _keras_layers(config: Any):
    """Every layer configuration in a Keras model configuration, nested models included."""
    if isinstance(config, dict):
        if isinstance(config.get("class_name"), str) and isinstance(config.get("config"), dict):
            yield config
        for value in config.values():
            yield from _keras_layers(value)
    elif isinstance(config, list):
        for value in config:
            yield from _keras_layers(value)


def _check_npy(path: Path, size: int | None = None, stream=None) -> None:
    """An ``.npy`` header that declares no more data than the file holds."""
    if stream is None:
        with path.open("rb") as opened:
            return _check_npy(path, path.stat().st_size, opened)
    version = np.lib.format.read_magic(stream)
    reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
        np.lib.format.read_array_header_2_0
    shape, _, dtype = reader(stream, max_header_size=10_000)
    count = int(np.prod(shape, dtype=np.int64)) if shape and all(0 <= d < 2**40 for d in shape) \
        else 1 if not shape else -1
    if count < 0 or count * max(dtype.itemsize, 1) > (size or 0):
        raise TooLarge(f"{path.name} declares an array of shape {shape} that its "
                       f"{size or 0:,} bytes do not hold")


# Torch modules travel as a declared layer tree (JSON) plus their tensors (.npz, no pickle): the
# judge rebuilds the tree from torch.nn and timm constructors only and loads the tensors strictly.
# torch.export/torch.load are not used: loading a .pt2 archive unpickles arbitrary objects.

#: torch.nn layers the judge may rebuild -> the attributes that are their constructor's arguments
TORCH_LAYERS: dict[str, tuple[str, ...]] = {
    "Linear": ("in_features", "out_features"), "Dropout": ("p",), "Dropout1d": ("p",),
    "Dropout2d": ("p",), "Flatten": ("start_dim", "end_dim"), "LeakyReLU": ("negative_slope",),
    "GELU": ("approximate",), "Softmax": ("dim",), "LogSoftmax": ("dim",), "ELU": ("alpha",),
    "AdaptiveAvgPool2d": ("output_size",), "Identity": (), "ReLU": (), "ReLU6": (), "SiLU": (),
    "Tanh": (), "Sigmoid": (), "Hardswish": (), "Mish": (),
    "BatchNorm1d": ("num_features", "eps", "momentum", "affine", "track_running_stats"),
    "BatchNorm2d": ("num_features", "eps", "momentum", "affine", "track_running_stats"),
    "LayerNorm": ("normalized_shape", "eps", "elementwise_affine"),
    "Conv2d": ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation",
               "groups", "padding_mode"),
}


def _torch_layer_args(module: Any) -> dict[str, Any] | None:
    """Constructor arguments of a supported torch.nn layer, read back from the layer."""
    kind = type(module).__name__
    if kind not in TORCH_LAYERS or not type(module).__module__.startswith("torch.nn.modules"):
        return None
    args = {attr: _jsonable(getattr(module, attr), kind) for attr in TORCH_LAYERS[kind]}
    if kind in ("Linear", "Conv2d", "LayerNorm"):
        args["bias"] = getattr(module, "bias", None) is not None
    return args


def torch_spec(module: Any, where: str = "model") -> dict[str, Any]:
    """The layer tree of ``module`` as JSON: ``nn.Sequential`` of torch.nn layers, and timm
    models by architecture (with their classifier, which may be a custom head)."""
    kind = type(module).__name__
    if kind == "Sequential" and type(module).__module__.startswith("torch.nn.modules"):
        return {"layer": "Sequential",
                "children": [torch_spec(child, f"{where}[{i}]") for i, child in enumerate(module)]}
    if type(module).__module__.startswith("timm.") and hasattr(module, "pretrained_cfg"):
        classifier = module.pretrained_cfg.get("classifier", "classifier")
        pool = getattr(getattr(module, "global_pool", None), "pool_type", "avg")
        return {"timm": module.pretrained_cfg["architecture"], "global_pool": pool,
                "classifier_name": classifier,
                "classifier": torch_spec(getattr(module, classifier), f"{where}.{classifier}")}
    args = _torch_layer_args(module)
    if args is None:
        raise TypeError(f"{where}: the grader cannot rebuild a {kind}; build the model from "
                        "nn.Sequential, timm backbones and torch.nn layers such as Linear, ReLU, "
                        "Dropout, BatchNorm1d")
    return {"layer": kind, "args": args}


def build_torch(spec: Mapping[str, Any]) -> Any:
    """A fresh module from :func:`torch_spec`'s tree (no weights loaded, nothing downloaded)."""
    from torch import nn

    if "timm" in spec:
        import timm

        model = timm.create_model(str(spec["timm"]), pretrained=False, num_classes=0,
                                  global_pool=str(spec.get("global_pool", "avg")))
        name = model.pretrained_cfg.get("classifier", "classifier")
        if spec.get("classifier_name") != name:
            raise ValueError(f"{spec['timm']}'s classifier is `{name}`, not {spec.get('classifier_name')!r}")
        setattr(model, name, build_torch(spec["classifier"]))
        return model
    kind = spec.get("layer")
    if kind == "Sequential":
        return nn.Sequential(*(build_torch(child) for child in spec["children"]))
    if kind not in TORCH_LAYERS:
        raise ValueError(f"unknown layer in an exported torch model: {kind!r}")
    return getattr(nn, kind)(**spec.get("args", {}))


def is_torch_module(value: Any) -> bool:
    """A torch ``nn.Module`` (a subclass written in the notebook included)."""
    return any(c.__name__ == "Module" and c.__module__ == "torch.nn.modules.module"
               for c in type(value).__mro__)


def _export_torch(module: Any, path: Path, saved: dict[int, Path] | None) -> dict[str, Any]:
    spec = {"spec": {"tree": torch_spec(module), "keys": list(module.state_dict())}}
    earlier = saved.get(id(module)) if saved is not None else None
    if earlier is not None and earlier.exists():
        return {**spec, "file": _shared(earlier)}
    tensors = {f"t{i}": t.detach().cpu().float().numpy() if t.is_floating_point()
               else t.detach().cpu().numpy() for i, t in enumerate(module.state_dict().values())}
    with path.open("wb") as out:
        np.savez(out, **tensors)
    if saved is not None:
        saved[id(module)] = path
    return spec


def _load_torch(entry: Mapping[str, Any], path: Path, loaded: dict[str, Any] | None) -> Any:
    import torch

    if loaded is not None and str(path) in loaded:
        return loaded[str(path)]
    spec = entry.get("spec")
    if not isinstance(spec, dict) or not isinstance(spec.get("keys"), list):
        raise ValueError("the exported torch model has no layer tree")
    declared = torch_parameters(spec.get("tree"))
    if declared > MAX_PARAMETERS:
        raise TooLarge(f"the exported torch model declares {declared:,} parameters (the grader "
                       f"loads at most {MAX_PARAMETERS:,})")
    _check_npz(path)
    model = build_torch(spec["tree"])
    with np.load(path, allow_pickle=False) as arrays:
        state = {name: torch.from_numpy(arrays[f"t{i}"]) for i, name in enumerate(spec["keys"])}
    model.load_state_dict(state, strict=True)
    model.eval()
    if loaded is not None:
        loaded[str(path)] = model
    return model


def torch_parameters(tree: Any) -> int:
    """Parameters the torch.nn layers of a declared layer tree hold (a timm backbone counts
    as none: its size is its architecture's); raises :class:`TooLarge` for a declared size
    over :data:`MAX_DIMENSION`."""
    if not isinstance(tree, dict):
        raise ValueError("the exported torch model's layer tree is not an object")
    if "timm" in tree:
        return torch_parameters(tree.get("classifier"))
    if tree.get("layer") == "Sequential":
        return sum(torch_parameters(child) for child in tree.get("children") or [])
    args = tree.get("args") or {}
    numbers = [v for v in args.values() if isinstance(v, int) and not isinstance(v, bool)]
    numbers += [d for v in args.values() if isinstance(v, list) for d in v if isinstance(d, int)]
    if any(n > MAX_DIMENSION for n in numbers):
        raise TooLarge(f"the exported torch model declares a {tree.get('layer')} of {args}")
    kind = tree.get("layer")
    if kind == "Linear":
        return (int(args.get("in_features", 0)) + 1) * int(args.get("out_features", 0))
    if kind == "Conv2d":
        kernel = args.get("kernel_size", 1)
        area = int(np.prod(kernel)) if isinstance(kernel, list) else int(kernel)
        return (int(args.get("in_channels", 0)) * area // max(1, int(args.get("groups", 1)))
                + 1) * int(args.get("out_channels", 0))
    if kind in ("BatchNorm1d", "BatchNorm2d"):
        return 4 * int(args.get("num_features", 0))
    return 0


def _check_npz(path: Path) -> None:
    """Every array of an ``.npz`` declares no more data than it unpacks to, and it unpacks to
    at most :data:`MAX_ARCHIVE_BYTES`."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        if sum(i.file_size for i in infos) > MAX_ARCHIVE_BYTES:
            raise TooLarge(f"{path.name} unpacks to more than {MAX_ARCHIVE_BYTES / 2**20:,.0f} MB")
        for info in infos:
            with archive.open(info) as member:
                _check_npy(Path(info.filename), info.file_size, member)


def is_keras_model(value: Any) -> bool:
    """A Keras model, including a subclass of ``keras.Model`` written in the notebook."""
    return any(c.__module__.startswith("keras") and c.__name__ == "Model"
               for c in type(value).__mro__) and hasattr(value, "save") and hasattr(value, "layers")


def _from_keras(value: Any) -> bool:
    return type(value).__module__.startswith("keras")


def rebuilt_keras_model(model: Any, name: str = "model") -> Any:
    """``model`` itself when its class is Keras's own; a subclass of ``keras.Model`` written in
    the notebook as a functional model of its own layers, applied in the order it holds them,
    with its weights and its compile settings.

    The judge loads models with ``safe_mode`` and never runs student code, so it cannot load the
    student's class. What it loads and measures is built here from Keras layers only; the
    student's ``call`` is run once, on a probe, to check that the rebuilt model computes the same
    outputs, so a subclass whose ``call`` is not a plain chain of its layers is told so instead of
    being graded as something it is not. (Predictions made in the student's process instead would
    let that process choose what the grader measures.)
    """
    if _from_keras(model):
        return model
    import keras

    kind = type(model).__name__
    what = f"`{name}` (a {kind}, your subclass of keras.Model)"
    layers = list(model.layers)
    if not layers or not getattr(model, "built", False):
        raise MissingObject(f"{what} has no built layers: build and train it before it is graded")
    foreign = [layer for layer in layers if not _from_keras(layer)]
    if foreign:
        raise MissingObject(f"{what} holds a {type(foreign[0]).__name__}, which is not a Keras "
                            "layer: the grader rebuilds subclassed models from Keras layers only")
    shape = (model.get_build_config() or {}).get("input_shape")
    if not shape or any(d is None for d in tuple(shape)[1:]):
        raise MissingObject(f"{what}: the grader cannot tell its input shape ({shape}); "
                            "call it on a batch (or fit it) before it is graded")
    probe = np.random.default_rng(0).random((16, *tuple(shape)[1:])).astype("float32")
    # the student's model on the probe: this also builds layers that `model.build(shape)`
    # left unbuilt (Keras marks a subclass built without building what it holds)
    theirs = np.asarray(model(probe, training=False))
    inputs = keras.Input(shape=tuple(shape)[1:])
    x = inputs
    for layer in layers:
        clone = type(layer).from_config(layer.get_config())
        x = clone(x)
        clone.set_weights(layer.get_weights())
    rebuilt = keras.Model(inputs, x, name=model.name)
    if getattr(model, "compiled", False):
        try:
            rebuilt.compile_from_config(model.get_compile_config())
        except Exception:  # noqa: BLE001 - e.g. a loss function of the student's own
            pass
    mine = np.asarray(rebuilt(probe, training=False))
    if mine.shape != theirs.shape or not np.allclose(mine, theirs, rtol=1e-3, atol=1e-5):
        chain = " -> ".join(type(layer).__name__ for layer in layers)
        raise MissingObject(f"{what}: the grader rebuilds it as its layers one after the other "
                            f"({chain}), but that computes other outputs than {kind}.call; build "
                            "the model with keras.Sequential or the functional API instead")
    return rebuilt


def is_tensor(value: Any) -> bool:
    """A torch or TensorFlow tensor."""
    return type(value).__module__.startswith(("torch", "tensorflow")) and hasattr(value, "shape") \
        and hasattr(value, "detach")


def as_numpy(value: Any, name: str) -> np.ndarray:
    """``value`` as a NumPy array: an array or list, a torch or TensorFlow tensor or variable
    (detached, on the CPU) or a PyTensor shared variable."""
    try:
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        elif hasattr(value, "get_value"):
            value = value.get_value()
        elif hasattr(value, "numpy"):
            value = value.numpy()
        return np.asarray(value)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise MissingObject(f"`{name}` should be a NumPy array: {exc}") from None


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

@lru_cache(maxsize=2)
def published(name: str) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Image set ``name`` ("mnist", "cifar10") as published, ((x_train, y_train), (x_test,
    y_test)) uint8, from the data registry: read once (MNIST's gzip files take a quarter of a
    second) for the test set and the held-out images alike."""
    from dlkit.data import load_cifar10, load_mnist
    from dlkit.errors import UnknownName

    loaders = {"cifar10": load_cifar10, "mnist": load_mnist}
    if name not in loaders:
        raise UnknownName("image set", name, tuple(loaders))
    return loaders[name]()


def mnist_test() -> tuple[np.ndarray, np.ndarray]:
    """MNIST's 10,000 test images (uint8 28x28) and labels, from the data registry."""
    return published("mnist")[1]


def mnist_test_inputs(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The real MNIST test set scaled to [0, 1] and shaped to the model's input (e.g. 784 or 28x28)."""
    x_test, y_test = mnist_test()
    x = x_test.astype("float32") / 255.0
    feature_shape = tuple(d for d in shape[1:])
    return x.reshape((len(x), *feature_shape)), y_test


#: the values of one layer's output a batch of :func:`predict` may hold (32 MB of float32)
BATCH_VALUES = 1 << 23


def predict(model: Any, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Model outputs on ``x`` computed here, in batches, without the student's ``evaluate``.
    A model whose every layer's output is small takes larger batches (at most
    :data:`BATCH_VALUES` values a layer): an MLP on MNIST's 10,000 images in one."""
    size = max(batch_size, min(len(x), BATCH_VALUES // _widest_output(model, x)))
    return np.concatenate([np.asarray(model(x[i:i + size], training=False))
                           for i in range(0, len(x), size)])


def _widest_output(model: Any, x: np.ndarray) -> int:
    """The most values a sample makes in one layer's output (or input); a model whose layers'
    shapes cannot be read counts as too wide to batch more than ``predict`` asks."""
    try:
        widths = [int(np.prod(tuple(layer.output.shape)[1:])) for layer in model.layers]
    except Exception:  # noqa: BLE001 - a subclassed model, a layer never called
        return BATCH_VALUES
    return max(1, int(np.prod(x.shape[1:])), *widths)


#: (model, data set) -> the model's outputs and the labels: several measures of one model on one
#: of the grader's data sets (accuracy, confusion, loss) share one pass. Only while the judge
#: keeps it (:func:`measure_once`); each entry holds its model, so that no id is reused.
_OUTPUTS: dict[tuple[int, str], tuple[Any, np.ndarray, np.ndarray]] | None = None


def measure_once() -> None:
    """From now on, a model's outputs on one of the grader's data sets are computed once (the
    judge, whose models are loaded from exports and never trained; called again for each run
    it judges, forgetting the last one's)."""
    global _OUTPUTS
    _OUTPUTS = {}


def outputs_on(model: Any, data: str, inputs: Any) -> tuple[np.ndarray, np.ndarray]:
    """(outputs, labels) of ``model`` on the grader's data set named ``data``, whose inputs
    ``inputs()`` makes: computed once per model in the judge (:func:`measure_once`)."""
    key = (id(model), data)
    kept = _OUTPUTS.get(key) if _OUTPUTS is not None else None
    if kept is None or kept[0] is not model:
        x, y = inputs()
        kept = (model, predict(model, x), y)
        if _OUTPUTS is not None:
            _OUTPUTS[key] = kept
    return kept[1], kept[2]


def _mnist_outputs(model: Any, held_out: bool = False) -> tuple[np.ndarray, np.ndarray]:
    shape = tuple(model.input_shape)
    return outputs_on(model, f"mnist {'held out' if held_out else 'test'} {shape}",
                      lambda: mnist_held_out_inputs(shape) if held_out else mnist_test_inputs(shape))


def mnist_accuracy(model: Any, held_out: bool = False) -> float:
    """Accuracy of a Keras classifier on the real MNIST test set (or on the training images the
    starter keeps back), measured by the grader."""
    outputs, y = _mnist_outputs(model, held_out)
    return float((outputs.argmax(axis=1) == y).mean())


def confusion_largest(model: Any) -> dict[str, float]:
    """The largest off-diagonal cell of a Keras classifier's confusion matrix on the real MNIST
    test set, measured by the grader: the true digit, the digit predicted and how often."""
    outputs, y = _mnist_outputs(model)
    predicted = outputs.argmax(axis=1)
    matrix = np.zeros((10, 10), dtype=np.int64)
    np.add.at(matrix, (y.astype(int), predicted.astype(int)), 1)
    np.fill_diagonal(matrix, 0)
    true, wrong = np.unravel_index(int(matrix.argmax()), matrix.shape)
    return {"confusion: true digit": float(true), "confusion: predicted as": float(wrong),
            "confusion: count": float(matrix[true, wrong]),
            "confusion: true digit total": float((y == true).sum())}


def threshold_figures(val_errors: np.ndarray, test_errors: np.ndarray, digits: np.ndarray,
                      normal: int, k: float) -> dict[str, float]:
    """What an anomaly threshold of mean + ``k`` std of the validation errors flags on the test
    set (every figure computed by the grader from the student's exported autoencoder)."""
    val_errors = np.asarray(val_errors, dtype="float64")
    test_errors = np.asarray(test_errors, dtype="float64")
    mean, std = float(val_errors.mean()), float(val_errors.std())
    threshold = mean + k * std
    flagged = test_errors > threshold
    anomalous = np.asarray(digits) != normal
    missed = np.bincount(np.asarray(digits)[anomalous & ~flagged].astype(int), minlength=10)
    return {"threshold: validation mean": mean, "threshold: validation std": std,
            "threshold: value": threshold, "threshold: flagged": float(flagged.sum()),
            "threshold: flagged anomalies": float((flagged & anomalous).sum()),
            "threshold: flagged normal": float((flagged & ~anomalous).sum()),
            "threshold: normal test images": float((~anomalous).sum()),
            "threshold: anomalies": float(anomalous.sum()),
            "threshold: most missed digit": float(missed.argmax()),
            "threshold: most missed count": float(missed.max())}


def mnist_held_out_inputs(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The MNIST training images the starters keep back (:func:`dlkit.data.keep_back`), scaled
    to [0, 1] and shaped like :func:`mnist_test_inputs`: data the student's model never saw."""
    x, y = held_out("mnist")
    x = x.astype("float32") / 255.0
    return x.reshape((len(x), *tuple(shape[1:]))), y


def held_out(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The training images :func:`dlkit.data.keep_back` keeps back from ``name`` (never trained
    on), as :func:`dlkit.data.held_out` gives them, from the set :func:`published` read."""
    from dlkit.data import HELD_OUT

    x_train, y_train = published(name)[0]
    return x_train[-HELD_OUT:], y_train[-HELD_OUT:]


def assert_not_fitted_to_test(on_test: float, on_held_out: float, gap: float,
                              what: str = "accuracy", *, kept_back: bool = True,
                              data: str = "") -> None:
    """A model that never saw the test set scores about the same on it as on the held-out
    training images; one that scores far better on the test set was trained on it.

    ``kept_back``: the starter keeps those images out of the student's training data. A
    free-form notebook (``kept_back=False``) loads the whole training set, so it has usually
    trained on them: it should do at least as well there, and the message says so."""
    from dlkit.data import HELD_OUT

    test = f"the {data} test set" if data else "the test set"
    if kept_back:
        other = f"{HELD_OUT:,} training images the notebook keeps back"
        rule = f"a model that never saw the test set differs by at most {gap}"
    else:
        other = (f"{HELD_OUT:,} images of the {data + ' ' if data else ''}training set, the last "
                 "ones, which a notebook that trains on the training set has trained on")
        rule = (f"a model trained on the training set does as well on them as on the test set, "
                f"or at most {gap} worse")
    assert on_test - on_held_out <= gap, (
        f"{what} measured by the grader: {on_test:.4f} on {test} but {on_held_out:.4f} on "
        f"{other} ({on_test - on_held_out:.4f} higher on the test set; {rule}): the model has "
        "seen the test set. Train on the training data only")


def keras_training(history: Any, model: Any) -> dict[str, Any]:
    """What an extract half exports to show that ``history`` came from fitting ``model``:
    whether it is that model's own History, and the steps its optimizer took."""
    optimizer = getattr(model, "optimizer", None)
    try:
        steps = int(np.asarray(optimizer.iterations)) if optimizer is not None else 0
    except (AttributeError, TypeError, ValueError):
        steps = 0
    return {"fitted": getattr(history, "model", None) is model, "steps": steps}


def assert_trained_as_recorded(history: Mapping[str, list[float]], training: Mapping[str, Any],
                               measured: float, *, model: str = "model",
                               relative: float = 0.5, absolute: float = 0.1) -> None:
    """Training judged on the model, not on the student's record of it: ``history`` is the
    model's own History, its optimizer took at least a step per epoch recorded, and the loss
    the grader measured on held-back data (``measured``) is near the last ``val_loss`` the
    history records (within ``relative`` of it plus ``absolute``)."""
    epochs = len(history.get("loss", []))
    assert training.get("fitted") is True, (
        f"`history` should be what `{model}.fit(...)` returned (its History), not a record made "
        "another way")
    steps = training.get("steps", 0)
    assert isinstance(steps, int) and steps >= epochs, (
        f"`{model}`'s optimizer took {steps} step(s), but `history` records {epochs} epoch(s) "
        f"of training: `history` should come from training this `{model}`")
    recorded = float(history["val_loss"][-1])
    assert abs(measured - recorded) <= relative * abs(recorded) + absolute, (
        f"the grader measured a loss of {measured:.4f} for `{model}` on data it keeps, but "
        f"`history` records a last val_loss of {recorded:.4f}: `history` should come from "
        f"training this `{model}`")


def mnist_loss(model: Any) -> float:
    """Cross-entropy of a Keras classifier on the real MNIST test set, measured by the grader
    (a softmax is applied to outputs that are not probabilities)."""
    outputs, y = _mnist_outputs(model)
    outputs = outputs.astype("float64")
    if not np.allclose(outputs.sum(axis=1), 1.0, atol=1e-3) or outputs.min() < 0:
        outputs = np.exp(outputs - outputs.max(axis=1, keepdims=True))
        outputs /= outputs.sum(axis=1, keepdims=True)
    return float(-np.log(np.clip(outputs[np.arange(len(y)), y], 1e-12, 1.0)).mean())


def mnist_reconstruction_loss(model: Any, digit: int) -> float:
    """An autoencoder's loss on the MNIST test images of ``digit`` (its compiled loss: mean
    squared error, mean absolute error or binary cross-entropy), measured by the grader."""
    x_test, y_test = mnist_test()
    x = x_test[y_test == int(digit)].reshape(-1, 784).astype("float32") / 255.0
    recon = predict(model, x.reshape((len(x), *tuple(model.input_shape)[1:]))).reshape(len(x), -1)
    loss = (model.get_compile_config() or {}).get("loss") if hasattr(model, "get_compile_config") \
        else None
    name = str(loss if isinstance(loss, str) else (loss or {}).get("class_name", "")
               if isinstance(loss, dict) else loss).replace("_", "").lower()
    if "crossentropy" in name:
        p = np.clip(recon.astype("float64"), 1e-7, 1 - 1e-7)
        return float(-(x * np.log(p) + (1 - x) * np.log(1 - p)).mean())
    if "absolute" in name or name == "mae":
        return float(np.abs(recon - x).mean())
    return float(((recon - x) ** 2).mean())


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


def export_extract(code: str, ns: Mapping[str, Any], folder: str) -> None:
    """Run an extract program (a test's imports, definitions and ``extract``) in a scope of its
    own that starts as a copy of the student's namespace, then :func:`export_outcome`. The
    test's names (its ``threshold`` import, its helpers) never replace the student's for a later
    question; the student's own functions still see their own globals."""
    scope = dict(ns)
    try:
        exec(compile(code, "<extract>", "exec"), scope)  # noqa: S102 - the grader's own test code
        extract = scope["extract"]
    except Exception as exc:  # noqa: BLE001 - e.g. an import the test needs fails here
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        _write_outcome(path, {"ok": False, "message":
                              f"the test could not start: {type(exc).__name__}: {exc}"[:1000]})
        return
    export_outcome(extract, scope, folder)


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
    except AssertionError as exc:  # the extract half's own checks, worded for the student
        outcome = {"ok": False, "message": str(exc)[:1000] or "a check failed"}
    except Exception as exc:  # noqa: BLE001 - a student's object can fail in any way
        outcome = {"ok": False, "message": f"{type(exc).__name__}: {exc}"[:1000]}
    _write_outcome(path, outcome)


def _write_outcome(path: Path, outcome: dict[str, Any]) -> None:
    tmp = path / ".outcome.json"
    tmp.write_text(json.dumps(outcome))
    os.replace(tmp, path / "outcome.json")  # complete when it appears: the judge may be waiting


# ---- exp3-image-classifier

@lru_cache(maxsize=2)
def image_set_test(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The test images (uint8, NHWC) and labels of image set ``name`` ("mnist", "cifar10")."""
    from dlkit.data import load_image_set

    images = load_image_set(name)
    return images.x_test, images.y_test


def image_set_test_inputs(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The real test set of image set ``name`` ("mnist", "cifar10"): NHWC float32 in [0, 1], labels."""
    x_test, y_test = image_set_test(name)
    return x_test.astype("float32") / 255.0, y_test


def image_set_held_out_inputs(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The training images of ``name`` the starter keeps back: NHWC float32 in [0, 1], labels."""
    x, y = held_out(name)
    x = x[..., None] if x.ndim == 3 else x
    return x.astype("float32") / 255.0, y.astype(np.int64)


def image_set_accuracy(model: Any, name: str, held_out: bool = False) -> float:
    """Accuracy of a Keras image classifier on the real test set of ``name`` (or on the training
    images the starter keeps back), measured by the grader."""
    outputs, y = _image_set_outputs(model, name, held_out)
    return float((outputs.argmax(axis=1) == y).mean())


def image_set_scores(model: Any, name: str, held_out: bool = False) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) of a Keras image classifier with softmax outputs on the
    real test set of ``name`` (or on the training images the starter keeps back). A model that
    has learnt the test set by heart is far more confident on it than on images it never saw."""
    probabilities, y = _image_set_outputs(model, name, held_out)
    right = np.clip(probabilities[np.arange(len(y)), y], 1e-7, 1.0)
    return float((probabilities.argmax(axis=1) == y).mean()), float(-np.log(right).mean())


def _image_set_outputs(model: Any, name: str, held_out: bool) -> tuple[np.ndarray, np.ndarray]:
    def inputs() -> tuple[np.ndarray, np.ndarray]:
        x, y = image_set_held_out_inputs(name) if held_out else image_set_test_inputs(name)
        expected = tuple(x.shape[1:])
        if tuple(model.input_shape[1:]) != expected:
            raise AssertionError(f"the model takes inputs of shape {tuple(model.input_shape[1:])}; "
                                 f"{name} images have shape {expected}")
        return x, y

    return outputs_on(model, f"{name} {'held out' if held_out else 'test'}", inputs)


# ---- exp1-frameworks

Layers = list[tuple[np.ndarray, np.ndarray]]


def dense_layers(model: Any) -> Layers:
    """(W, b) of each dense layer, W shaped (inputs, outputs), from any framework: a Keras model,
    a torch ``nn.Module`` (its ``Linear`` layers in order) or a flat list ``[W1, b1, W2, b2, ...]``
    of arrays, ``tf.Variable``s or PyTensor shared variables."""
    if is_keras_model(model):
        pairs = [layer.get_weights() for layer in model.layers if type(layer).__name__ == "Dense"]
        return [(np.asarray(w), np.asarray(b)) for w, b in pairs]
    if type(model).__module__.startswith("torch") or hasattr(model, "named_modules"):
        return [(_numbers(m.weight).T, _numbers(m.bias)) for m in model.modules()
                if type(m).__name__ == "Linear"]
    if isinstance(model, (list, tuple)):
        if len(model) % 2:
            raise AssertionError(f"expected [W1, b1, W2, b2, ...], got {len(model)} items: a bias is missing")
        values = [_numbers(v) for v in model]
        return list(zip(values[0::2], values[1::2]))
    raise AssertionError(f"cannot read dense layers from a {type(model).__name__}")


def _numbers(value: Any) -> np.ndarray:
    """A framework's tensor or variable as a float array (torch, TensorFlow, PyTensor, NumPy)."""
    array = as_numpy(value, "weights")
    if array.dtype.kind != "f":
        raise AssertionError(f"expected floating-point weights, got {array.dtype}")
    return array


def check_mlp(layers: Layers, name: str, inputs: int = 784, outputs: int = 10) -> None:
    """Assert ``layers`` chain from ``inputs`` to ``outputs`` features, with a message naming ``name``."""
    assert layers, f"{name}: no dense layers found"
    for i, (w, b) in enumerate(layers, start=1):
        assert w.ndim == 2 and b.ndim == 1 and b.shape[0] == w.shape[1], (
            f"{name}: layer {i} has W {w.shape} and b {b.shape}; expected W (in, out) and b (out,)")
    shapes = [w.shape for w, _ in layers]
    assert shapes[0][0] == inputs and shapes[-1][1] == outputs, (
        f"{name}: the layers go from {shapes[0][0]} to {shapes[-1][1]} features; expected {inputs} to {outputs}")
    for i, (before, after) in enumerate(zip(shapes, shapes[1:]), start=1):
        assert before[1] == after[0], f"{name}: layer {i} gives {before[1]} features but layer {i + 1} takes {after[0]}"


def export_layers(layers: Layers, prefix: str) -> dict[str, np.ndarray]:
    """``layers`` as exportable arrays named ``<prefix>_W0``, ``<prefix>_b0``, ..."""
    data = {}
    for i, (w, b) in enumerate(layers):
        data[f"{prefix}_W{i}"], data[f"{prefix}_b{i}"] = w, b
    return data


def layers_from(data: Mapping[str, Any], prefix: str) -> Layers:
    """The layers :func:`export_layers` wrote under ``prefix``."""
    count = sum(1 for key in data if key.startswith(f"{prefix}_W"))
    return [(data[f"{prefix}_W{i}"], data[f"{prefix}_b{i}"]) for i in range(count)]


def count_parameters(layers: Layers) -> int:
    return int(sum(w.size + b.size for w, b in layers))


def mlp_accuracy(layers: Layers) -> float:
    """Accuracy on the real MNIST test set of the MLP ``layers`` (ReLU hidden layers, argmax of the
    last layer), computed here in NumPy, the same way for every framework."""
    x, y = mnist_test_inputs((None, layers[0][0].shape[0]))
    h = x
    for i, (w, b) in enumerate(layers):
        h = h @ w.astype("float32") + b.astype("float32")
        if i < len(layers) - 1:
            h = np.maximum(h, 0.0)
    return float((h.argmax(axis=1) == y).mean())


# ---- exp6-transfer-learning

def torch_mnist_accuracy(model: Any, n: int = 2000, size: int = 64, held_out: bool = False) -> float:
    """Accuracy of a torch classifier of RGB digits on the first ``n`` MNIST test digits (or
    training digits the starter keeps back) at ``size`` pixels, as Experiment 6 feeds them."""
    import torch

    from dlkit.data.detection import to_rgb_tensor

    x_raw, y = held_out("mnist") if held_out else mnist_test()
    x = to_rgb_tensor(x_raw[:n], size)
    model = model.eval()
    with torch.no_grad():
        predicted = torch.cat([model(x[i:i + 250]).argmax(dim=1) for i in range(0, len(x), 250)])
    return float((predicted.numpy() == y[:n]).mean())


def detect_canvases(detector: Any, n: int, seed: int, split: str = "test", size: int = 96) -> np.ndarray:
    """A torchvision detector's predictions on ``digit_canvases(n, seed, split, size)``, one row
    per box: image, x1, y1, x2, y2, score, label (run where the detector lives)."""
    import torch

    from dlkit.data.detection import digit_canvases, to_rgb_tensor

    x = to_rgb_tensor(digit_canvases(n, seed=seed, split=split, size=size).images)
    detector.eval()
    with torch.no_grad():
        predictions = [p for i in range(0, len(x), 25) for p in detector(list(x[i:i + 25]))]
    rows = [np.column_stack([np.full(len(p["scores"]), i), as_numpy(p["boxes"], "boxes").reshape(-1, 4),
                             as_numpy(p["scores"], "scores"), as_numpy(p["labels"], "labels")])
            for i, p in enumerate(predictions)]
    return np.concatenate(rows).astype("float64") if rows else np.zeros((0, 7))


def canvases_map50(found: np.ndarray, n: int, seed: int, split: str = "test", size: int = 96) -> float:
    """mAP@0.5 of :func:`detect_canvases` rows against the canvases' own boxes (class = digit + 1),
    computed here with torchmetrics."""
    import torch
    from torchmetrics.detection import MeanAveragePrecision

    from dlkit.data.detection import digit_canvases

    found = np.asarray(found, dtype="float64").reshape(-1, 7)
    truth = digit_canvases(n, seed=seed, split=split, size=size)
    image = found[:, 0].astype(int)
    predictions = [{"boxes": torch.from_numpy(found[image == i, 1:5]).float(),
                    "scores": torch.from_numpy(found[image == i, 5]).float(),
                    "labels": torch.from_numpy(found[image == i, 6]).long()} for i in range(n)]
    targets = [{"boxes": torch.from_numpy(truth.boxes[i]), "labels": torch.from_numpy(truth.labels[i] + 1)}
               for i in range(n)]
    metric = MeanAveragePrecision(iou_thresholds=[0.5])
    metric.update(predictions, targets)
    return float(metric.compute()["map_50"])


# ---- exp5-cbow

#: Per corpus, groups of words that a good embedding puts near one another. Every member occurs
#: at least 40 times after stop-word removal ("may" is a stop word, so May is left out).
NEIGHBOUR_GROUPS: dict[str, dict[str, tuple[str, ...]]] = {
    "bbc-news": {
        "months": ("january", "february", "march", "april", "june", "july", "august", "september",
                   "october", "november", "december"),
        "weekdays": ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        "nations": ("england", "wales", "scotland", "ireland", "france", "italy", "germany", "spain"),
    },
    "kjv": {
        "tribes": ("reuben", "simeon", "levi", "judah", "dan", "naphtali", "gad", "asher",
                   "issachar", "zebulun"),
        "animals": ("sheep", "goats", "oxen", "camels", "asses", "cattle", "lambs", "rams", "bullocks"),
        "metals": ("gold", "silver", "brass", "iron"),
        "kin": ("father", "mother", "brother", "sister", "son", "daughter", "wife", "husband"),
    },
}


def weight_matrices(model: Any, shape: tuple[int, int]) -> np.ndarray:
    """The weight matrices of shape ``shape`` that ``model`` holds (a torch module's parameters
    and buffers, a Keras model's weights), stacked: ``(k, *shape)`` float32, k >= 0."""
    if hasattr(model, "state_dict"):
        values = list(model.state_dict().values())
    elif hasattr(model, "weights"):
        values = list(model.weights)
    else:
        raise MissingObject(f"`model` should be your CBOW model (a torch.nn.Module or a Keras "
                            f"model), not a {type(model).__name__}")
    found = [as_numpy(v, "model").astype("float32") for v in values
             if tuple(getattr(v, "shape", ())) == tuple(shape)]
    return np.stack(found) if found else np.zeros((0, *shape), dtype="float32")


def library_vectors(ns: Mapping[str, Any], vocab: list[str], dim: int) -> np.ndarray:
    """The ``dim``-long word vectors of every gensim model in the notebook (found by type,
    whatever its name), one row per word of ``vocab`` (zeros where gensim lacks the word),
    stacked: ``(m, len(vocab), dim)`` float32, m >= 0."""
    found = []
    for value in list(ns.values()):
        vectors = getattr(value, "wv", value)
        if not type(vectors).__module__.startswith("gensim.") or not hasattr(vectors, "key_to_index") \
                or int(getattr(vectors, "vector_size", 0)) != dim:
            continue
        found.append(np.stack([np.asarray(vectors[w], dtype="float32") if w in vectors.key_to_index
                               else np.zeros(dim, dtype="float32") for w in vocab]))
    return np.stack(found) if found else np.zeros((0, len(vocab), dim), dtype="float32")


def similarity_agreement(a: np.ndarray, b: np.ndarray, words: int = 300) -> float:
    """How alike two embeddings of the same vocabulary are, whatever their rotation or scale:
    the correlation of the cosine similarities among its first ``words`` words (after the
    padding). Two independently trained models agree far less than a copy (1.0)."""
    if np.shape(a)[0] != np.shape(b)[0]:
        return 0.0
    n = min(words, len(a) - 1)
    ua, ub = unit_rows(np.asarray(a)[1:n + 1]), unit_rows(np.asarray(b)[1:n + 1])
    upper = np.triu_indices(n, 1)
    sa, sb = (ua @ ua.T)[upper], (ub @ ub.T)[upper]
    if sa.std() == 0 or sb.std() == 0:
        return 0.0
    return float(np.corrcoef(sa, sb)[0, 1])


def training_hint(losses: list[float]) -> str:
    """What the recorded training losses say about embeddings that did not learn enough."""
    if not losses:
        return "`losses` is empty: the model was not trained (zero epochs?)"
    if len(losses) == 1:
        return f"`losses` records one epoch ({losses[0]:.4f}): train for a few epochs"
    if not losses[-1] < 0.98 * losses[0]:
        return (f"the training loss did not fall ({losses[0]:.4f} -> {losses[-1]:.4f}): are the "
                "weights updated after every batch (loss.backward(), then optimizer.step())?")
    return (f"the training loss fell ({losses[0]:.4f} -> {losses[-1]:.4f}), but not far enough: "
            "train for more epochs or with a larger learning rate")


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """The rows of ``matrix`` scaled to length 1 (all-zero rows stay zero), in float64."""
    rows = np.asarray(matrix, dtype="float64")
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms == 0, 1.0, norms)


def neighbour_quality(embeddings: np.ndarray, vocab: list[str],
                      groups: Mapping[str, tuple[str, ...]], k: int = 10) -> dict[str, float]:
    """Per group, how often its members are one another's nearest neighbours: for each member in
    ``vocab``, the share of the other members among its ``k`` nearest words by cosine similarity
    (never itself or index 0, the padding), out of as many as could be there; averaged over members.

    A trained embedding scores well above an untrained one (near 0); groups with fewer than two
    members in ``vocab`` score 0, so a vocabulary that lost them cannot score.
    """
    matrix = np.asarray(embeddings)
    if matrix.ndim != 2 or matrix.shape[0] != len(vocab):
        raise ValueError(f"embeddings of shape {matrix.shape} do not have one row per word of a "
                         f"vocabulary of {len(vocab)}")
    unit = unit_rows(matrix)
    index = {word: i for i, word in enumerate(vocab)}
    quality = {}
    for name, words in groups.items():
        members = [index[w] for w in words if w in index and index[w] != 0]
        if len(members) < 2:
            quality[name] = 0.0
            continue
        similarity = unit[members] @ unit.T
        similarity[:, 0] = -np.inf
        similarity[np.arange(len(members)), members] = -np.inf
        nearest = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
        possible = min(k, len(members) - 1)
        shares = [len(set(members) & set(row.tolist())) / possible for row in nearest]
        quality[name] = float(np.mean(shares))
    return quality

