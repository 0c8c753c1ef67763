"""What the grader sets up inside the student's kernel before the first cell.

The runner executes :func:`install` silently (no cell, no output, no execution count: cell
numbers and ``In [n]`` stay the student's own). It imports nothing heavy; the rest happens when
the notebook itself imports a framework, through post-import hooks (a ``sys.meta_path`` finder
that runs a function right after a module's own code):

- **seeds** instead of forced deterministic ops: Python's ``random`` now; NumPy, TensorFlow and
  torch the moment the notebook imports them (Keras draws its default seeds from Python's
  ``random``). A student's own seeding later overrides these; nothing is re-seeded behind the
  student's back, and an unseeded ``model.fit`` runs.
- **the students' usual loaders, answered offline from the data registry**:
  ``keras.datasets.mnist.load_data()`` (and ``fashion_mnist`` from the course's dataset pack),
  Keras' ``get_file`` (``keras.datasets.cifar10``, ``keras.applications`` weights),
  ``torchvision.datasets`` downloads (``MNIST(root, download=True)`` finds the registry's idx
  files; ``FashionMNIST`` from the pack's CSVs) and ``torch.hub`` checkpoints
  (``torchvision.models`` weights). When the registry has
  no copy, :class:`OfflineDataUnavailable` names the dataset and how the instructor adds it.
- **downloads by URL** (``urllib``'s ``urlopen``, which ``pd.read_csv('http...')`` uses): a URL the
  course's map provides (``$DLKIT_URLS``) or the registry has is read from that file; any other
  fails with :class:`DataNotProvided` naming it (the grader's status: "data not provided").
- **a ``google.colab`` stand-in** on ``sys.path`` (``kernel_path/``): ``drive.mount`` does
  nothing and says so; the course's dataset map puts the files where the notebook reads them.

:func:`report_last_error` is the kernel-side half of the runner's error record: the frames of
the last exception that are the student's own (cells, and modules in the notebook's folder).
"""

from __future__ import annotations

import importlib.abc
import json
import os
import random
import shutil
import sys
import traceback
from pathlib import Path
from urllib.parse import urlsplit

SEED = 0
#: A folder put on the kernel's ``sys.path`` (not installed for everyone): the stand-ins.
KERNEL_PATH = Path(__file__).with_name("kernel_path")
#: Download locations of the same files under another name than the catalog's URL.
MIRRORS = {"http://yann.lecun.com/exdb/mnist/": "https://ossci-datasets.s3.amazonaws.com/mnist/"}
#: File names several datasets share: never answered by name alone (Fashion-MNIST is not MNIST).
AMBIGUOUS_NAMES = frozenset({"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"})
HOW_TO_ADD = ("Instructor: add the file(s) to the course's dataset pack and run "
              "`dlkit data import FOLDER`, or fetch a registry entry with `dlkit data fetch NAME` "
              "(see `dlkit data status`).")

_notes: list[str] = []  # what the hooks could not do, for the grader's log (never the student's)


class OfflineDataUnavailable(LookupError):
    """A loader asked for data the grader does not have (it runs without network access).

    Not an ``OSError``/``URLError``: loaders that try the next mirror on those would bury the
    message under their own."""


class DataNotProvided(OfflineDataUnavailable):
    """A download the course has not provided: its message starts with the URL, then " — "."""


# --------------------------------------------------------------------------- install

def install() -> None:
    """Seed, put the stand-ins on the path, and hook the frameworks' imports."""
    random.seed(SEED)
    if str(KERNEL_PATH) not in sys.path:
        sys.path.append(str(KERNEL_PATH))
    if not any(isinstance(f, _AfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport(HOOKS))
    for name, hook in HOOKS.items():  # already imported by the kernel itself
        if name in sys.modules:
            _run(hook, sys.modules[name])


class _AfterImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: for a hooked module it asks the other finders, then wraps that
    module's loader so that the hook runs right after the module's own code."""

    def __init__(self, hooks: dict) -> None:
        self.hooks = hooks

    def find_spec(self, name, path, target=None):
        hook = self.hooks.get(name)
        if hook is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        original = getattr(loader, "exec_module", None)
        if original is None:
            return spec

        def exec_module(module):
            original(module)
            _run(hook, module)

        try:  # a file loader instance serves this one module
            loader.exec_module = exec_module
        except (AttributeError, TypeError):
            _notes.append(f"could not hook {name}")
        return spec


def _run(hook, module) -> None:
    try:
        hook(module)
    except Exception as exc:  # noqa: BLE001 - a hook must never break the student's import
        _notes.append(f"{module.__name__}: {type(exc).__name__}: {exc}")


def notes() -> list[str]:
    return list(_notes)


# --------------------------------------------------------------------------- seeds

def _seed_numpy(numpy) -> None:
    import numpy.random

    numpy.random.seed(SEED)


def _seed_tensorflow(tf) -> None:
    tf.random.set_seed(SEED)


def _seed_torch(torch) -> None:
    torch.manual_seed(SEED)


#: the attribute where the kernel counts an optimizer's steps (torch keeps no count for SGD)
STEP_COUNT = "_dlkit_steps"


def count_optimizer_steps(optimizer_module):
    """Count every torch optimizer's ``step()`` calls (a global post-step hook), so that a loop
    of 50 plain-SGD steps reads 50: SGD without momentum keeps no state to count from."""

    def counted(optimizer, args, kwargs) -> None:
        setattr(optimizer, STEP_COUNT, getattr(optimizer, STEP_COUNT, 0) + 1)

    return optimizer_module.register_optimizer_step_post_hook(counted)


# --------------------------------------------------------------------------- the registry

def registry_file(url: str | None = None, name: str | None = None) -> Path | None:
    """The registry's copy of a download: by URL (the catalog's sources and known mirrors),
    else by file name among the dataset pack's files (unless several datasets share the name).
    None when the registry has no such file; OfflineDataUnavailable when it knows the file
    but has no copy here (the message says how to get it)."""
    from dlkit.data.catalog import REGISTRY

    if url and (mapped := mapped_url(url)) is not None:
        return mapped
    if url:
        wanted = _normal_url(url)
        for entry in REGISTRY:
            for source in entry.sources:
                for file, source_url in getattr(source, "urls", {}).items():
                    if _normal_url(source_url) == wanted:
                        if not REGISTRY.cached(entry):
                            raise OfflineDataUnavailable(
                                f"{url} is the registry's `{entry.name}` ({entry.description}), "
                                f"which this grader has not fetched; grading runs without network "
                                f"access. Instructor: {entry.fix.format(name=entry.name)}.")
                        return entry.path(file)
    name = name or (os.path.basename(urlsplit(url).path) if url else None)
    if name and name not in AMBIGUOUS_NAMES:
        from dlkit.data.imported import imported_entries

        for item in imported_entries():
            for file in item.entry.files:
                if Path(file).name == name and REGISTRY.cached(item.entry):
                    return item.entry.path(file)
    return None


def mapped_url(url: str) -> Path | None:
    """The file the course's dataset map mounted for ``url`` in this run, or None."""
    try:
        urls = json.loads(os.environ.get("DLKIT_URLS") or "{}")
    except ValueError:
        return None
    wanted = _normal_url(url)
    for written, path in urls.items() if isinstance(urls, dict) else ():
        if isinstance(path, str) and _normal_url(str(written)) == wanted and os.path.exists(path):
            return Path(path)
    return None


def _normal_url(url: str) -> str:
    for mirror, canonical in MIRRORS.items():
        if url.startswith(mirror):
            url = canonical + url[len(mirror):]
    parts = urlsplit(url)
    return f"{parts.netloc.lower()}{parts.path}"


def _unavailable(what: str, detail: str) -> OfflineDataUnavailable:
    return OfflineDataUnavailable(
        f"{what}: {detail}. The grader runs without network access and answers dataset "
        f"loaders from the course's data registry, which has no copy of it. {HOW_TO_ADD}")


# --------------------------------------------------------------------------- Keras

def _answer_keras_get_file(file_utils) -> None:
    """``get_file`` (keras.datasets.cifar10, keras.applications weights, ...): a download the
    registry has becomes a local copy (``file://``), so Keras checks its hash and extracts it
    as usual; anything else fails with a message naming the file."""
    original = file_utils.get_file

    def get_file(fname=None, origin=None, *args, **kwargs):
        local = registry_file(origin, os.path.basename(str(fname)) if fname else None)
        if local is not None:
            return original(fname, local.as_uri(), *args, **kwargs)
        try:
            return original(fname, origin, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - Keras raises bare Exception on a failed fetch
            if isinstance(exc, ValueError) and "hash" in str(exc):
                raise
            raise _unavailable(f"Keras asked for {fname or origin}", f"it downloads {origin}"
                               ) from exc

    get_file.__doc__ = original.__doc__
    get_file.__wrapped__ = original
    file_utils.get_file = get_file


def _keras_mnist(module) -> None:
    def load_data(path="mnist.npz"):
        """MNIST from the grader's data registry (what Keras would download), as uint8 arrays."""
        from dlkit.data.catalog import REGISTRY
        from dlkit.data.loaders import load_mnist

        if not REGISTRY.cached(REGISTRY["mnist"]):
            raise _unavailable("keras.datasets.mnist.load_data()", "the registry's `mnist` is "
                               "not fetched on this grader (`dlkit data fetch mnist`)")
        (x_train, y_train), (x_test, y_test) = load_mnist()
        return (x_train.copy(), y_train.copy()), (x_test.copy(), y_test.copy())

    module.load_data = load_data


def _keras_fashion_mnist(module) -> None:
    original = module.load_data

    def load_data(*args, **kwargs):
        """Fashion-MNIST from the course's dataset pack (its CSV files), as uint8 arrays."""
        from dlkit.data.loaders import image_csv_splits

        splits = image_csv_splits("fashion-mnist")
        if splits is None:
            try:
                return original(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001
                raise _unavailable("keras.datasets.fashion_mnist.load_data()",
                                   "the course's dataset pack has no Fashion-MNIST CSV files "
                                   "(fashion-mnist_train.csv, fashion-mnist_test.csv)") from exc
        return splits

    module.load_data = load_data


# --------------------------------------------------------------------------- urllib

def _answer_urlopen(request) -> None:
    """``urlopen`` (and every opener): a URL the map or the registry provides is read from its
    file; another that cannot be reached is :class:`DataNotProvided`, naming it."""
    original = request.OpenerDirector.open

    def open(self, fullurl, *args, **kwargs):  # noqa: A001 - the opener's own name
        url = fullurl if isinstance(fullurl, str) else getattr(fullurl, "full_url", "")
        if not str(url).lower().startswith(("http://", "https://", "ftp://")):
            return original(self, fullurl, *args, **kwargs)
        local = registry_file(url)
        if local is not None:
            return original(self, local.as_uri())
        try:
            return original(self, fullurl, *args, **kwargs)
        except request.HTTPError:
            raise
        except OSError as exc:  # URLError, timeouts: no network here
            raise DataNotProvided(f"{url} — the grader runs without network access and the "
                                  f"course has not provided this download. {HOW_TO_ADD}") from exc

    open.__wrapped__ = original
    request.OpenerDirector.open = open


# --------------------------------------------------------------------------- torch, torchvision

def _answer_torchvision(utils) -> None:
    """Every torchvision dataset download goes through ``download_url``: a file the registry
    has is copied where torchvision looks (then checked against torchvision's md5)."""

    def download_url(url, root, filename=None, md5=None, max_redirect_hops=3):
        root = os.path.expanduser(os.fspath(root))
        filename = os.fspath(filename) if filename else os.path.basename(urlsplit(url).path)
        target = os.path.join(root, filename)
        os.makedirs(root, exist_ok=True)
        if utils.check_integrity(target, md5):
            return
        if _pack_idx(url, target):  # made from the pack's CSVs: not the published bytes
            return
        local = registry_file(url)
        if local is None:
            raise _unavailable(f"torchvision asked for {filename}", f"it downloads {url}")
        shutil.copyfile(local, target)
        if not utils.check_integrity(target, md5) and not _sandbox_view(local):
            raise OfflineDataUnavailable(f"the registry's copy of {filename} ({local}) is not "
                                         f"the file torchvision expects (md5 {md5})")

    download_url.__doc__ = utils.download_url.__doc__
    utils.download_url = download_url


def _sandbox_view(path) -> bool:
    """Is ``path`` in the grading sandbox's view of a registry entry (:mod:`dlkit.data.views`):
    the registry's own data, without the kept-back images, so not the published bytes?"""
    try:
        record = json.loads((Path(path).parent / "SOURCE.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and record.get("kind") == "sandbox view"


def _pack_idx(url: str, target: str) -> bool:
    """Fashion-MNIST's idx files for torchvision, written from the dataset pack's CSVs (the same
    images and labels; the bytes differ from the published gzip, so no md5 is checked)."""
    parts = urlsplit(url)
    kind = PACK_IDX.get(parts.netloc.lower())
    name = os.path.basename(parts.path)
    if kind is None or not name.endswith("-ubyte.gz"):
        return False
    from dlkit.data.loaders import image_csv_splits

    splits = image_csv_splits(kind)
    if splits is None:
        return False
    import gzip
    import struct

    images, labels = splits[0] if name.startswith("train") else splits[1]
    array = images if "images" in name else labels
    header = struct.pack(">I", 0x0800 + array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    Path(target).write_bytes(gzip.compress(header + array.astype("uint8").tobytes()))
    return True


#: download hosts whose idx files the dataset pack's CSVs can stand in for
PACK_IDX = {"fashion-mnist.s3-website.eu-central-1.amazonaws.com": "fashion-mnist"}


def _answer_torch_hub(hub) -> None:
    """Pretrained weights (``torchvision.models.*(weights=...)``, ``torch.hub``) from the registry."""
    original = hub.download_url_to_file

    def download_url_to_file(url, dst, hash_prefix=None, progress=True):
        local = registry_file(url)
        if local is None:
            raise _unavailable(f"torch asked for the weights {os.path.basename(urlsplit(url).path)}",
                               f"they download from {url}")
        shutil.copyfile(local, dst)
        if hash_prefix:
            import hashlib

            digest = hashlib.sha256(Path(dst).read_bytes()).hexdigest()
            if not digest.startswith(hash_prefix):
                raise OfflineDataUnavailable(f"the registry's copy of {url} ({local}) has "
                                             f"sha256 {digest}, expected {hash_prefix}...")

    download_url_to_file.__doc__ = original.__doc__
    hub.download_url_to_file = download_url_to_file


#: module -> what runs right after the module's own code
HOOKS = {
    "numpy": _seed_numpy,
    "tensorflow": _seed_tensorflow,
    "torch": _seed_torch,
    "torch.hub": _answer_torch_hub,
    "torch.optim.optimizer": count_optimizer_steps,
    "urllib.request": _answer_urlopen,
    "torchvision.datasets.utils": _answer_torchvision,
    "keras.src.utils.file_utils": _answer_keras_get_file,
    "keras.src.datasets.mnist": _keras_mnist,
    "keras.src.datasets.fashion_mnist": _keras_fashion_mnist,
}


# --------------------------------------------------------------------------- the last error

def report_last_error(path: str) -> None:
    """Write the student's own frames of the last exception to ``path`` (JSON): frames in cells
    as ``{"count": In[n], "line", "function"}``, frames in modules of the notebook's folder as
    ``{"file", "line", "function", "code"}``; a syntax error as its line. Everything else
    (libraries, ipykernel, the grader) is left out."""
    value = getattr(sys, "last_value", None)
    tb = getattr(sys, "last_traceback", None)
    cells = _cell_names()
    work = Path.cwd().resolve()
    frames = []
    for frame in traceback.extract_tb(tb) if tb is not None else []:
        frames += _own_frame(frame.filename, frame.lineno, frame.name, frame.line, cells, work)
    if isinstance(value, SyntaxError) and value.filename:
        frames += _own_frame(value.filename, value.lineno, "", value.text, cells, work)
    Path(path).write_text(json.dumps({"frames": frames}))


def _own_frame(filename, line, function, code, cells: dict, work: Path) -> list[dict]:
    if filename in cells:
        return [{"count": cells[filename], "line": line, "function": _function(function)}]
    try:
        resolved = Path(filename).resolve()
    except (OSError, ValueError):
        return []
    if resolved.is_relative_to(work) and resolved.suffix == ".py" and \
            not resolved.is_relative_to(Path(__file__).resolve().parent.parent):
        return [{"file": str(resolved.relative_to(work)), "line": line,
                 "function": _function(function), "code": (code or "").strip()[:200]}]
    return []


def _function(name: str) -> str:
    return "" if name in ("<module>", "<cell line: 0>") else name


def _cell_names() -> dict[str, int]:
    """Compiled cell file name -> execution count (IPython's own map for "Cell In[n]")."""
    try:
        shell = get_ipython()  # type: ignore[name-defined]  # noqa: F821 - IPython's builtin
    except NameError:
        return {}
    return dict(getattr(shell.compile, "_filename_map", {}))
