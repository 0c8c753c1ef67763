"""The college's dataset pack: the files a college hands out, recognised, checked, registered.

    dlkit data import LP-IV-datasets/

Each file (or image-class folder) is recognised by its *content*, not its name: MNIST,
Fashion-MNIST and CIFAR-10 as CSV, the ECG5000 heartbeats (140 values and a label),
``creditcard.csv``, other CSV tables, plain-text corpora, NumPy ``.npz`` archives, folders of
images with one folder per class (Caltech-101), Keras ``.h5`` weights and torch checkpoints.
Each is checked (a consistent shape, values in range, readable images), copied into the data
cache as one registry entry (``<cache>/<name>/``) with the sha256 of every file, and from then on
listed by ``dlkit data status``, answered by the grader's loaders and mountable through a
course's dataset map (:mod:`dlkit.data.datamap`). Nothing is ever downloaded.

An imported entry is described by ``<cache>/<name>/ENTRY.json`` (kind, summary, files with their
checksums, where it was imported from); the registry lists it beside the catalog's entries.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from dlkit.data.catalog import REGISTRY
from dlkit.data.imported import ENTRY_FILE, KINDS, read_record
from dlkit.data.loaders import label_column, load_mnist, numeric_row
from dlkit.data.registry import PROVENANCE, Entry, cache_root
from dlkit.errors import DataError

IMAGE_MAGIC = {b"\xff\xd8\xff": "jpeg", b"\x89PNG\r\n\x1a\n": "png", b"GIF87a": "gif",
               b"GIF89a": "gif", b"BM": "bmp"}
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
MNIST_MEAN_PIXEL, FASHION_MEAN_PIXEL = 33.3, 72.9  # over each whole training set
SAMPLE_BYTES = 1 << 16
_CHUNK = 1 << 20


@dataclass
class Found:
    """One item of a pack: what it is and what the check found."""

    path: Path
    kind: str
    summary: str = ""
    problems: list[str] = field(default_factory=list)
    name: str = ""  # the registry entry it becomes

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class ImportReport:
    imported: list[Found] = field(default_factory=list)
    unchanged: list[Found] = field(default_factory=list)
    refused: list[Found] = field(default_factory=list)  # failed a check, or a name clash
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # not recognised

    def lines(self) -> list[str]:
        out = [f"imported   {f.name:<24} {KINDS[f.kind]}: {f.summary}" for f in self.imported]
        out += [f"unchanged  {f.name:<24} {f.summary}" for f in self.unchanged]
        out += [f"REFUSED    {f.path}: {'; '.join(f.problems)}" for f in self.refused]
        out += [f"skipped    {path}: {why}" for path, why in self.skipped]
        return out


# --------------------------------------------------------------------------- recognising

def scan(folder: Path) -> tuple[list[Found], list[tuple[Path, str]]]:
    """Recognise and check everything in ``folder`` (or one file): (found, skipped with why).
    An image-class folder is one item; hidden files and folders are ignored."""
    folder = Path(folder)
    if not folder.exists():
        raise DataError("no such file or folder", where=str(folder))
    found: list[Found] = []
    skipped: list[tuple[Path, str]] = []
    if folder.is_file():
        item = recognise(folder)
        (found.append(item) if item else skipped.append((folder, "not a recognised format")))
        return found, skipped
    if _image_folders(folder):  # the folder itself is one image set
        return [check_image_folders(folder)], skipped
    todo = [folder]
    while todo:
        current = todo.pop(0)
        if current != folder and _image_folders(current):
            found.append(check_image_folders(current))
            continue
        for path in sorted(current.iterdir()):
            if path.name.startswith(".") or path.name.startswith("__MACOSX"):
                continue
            if path.is_dir():
                todo.append(path)
            elif path.is_file():
                item = recognise(path)
                if item is None:
                    skipped.append((path, "not a recognised format"))
                else:
                    found.append(item)
    return found, skipped


def recognise(path: Path) -> Found | None:
    """What a file is, by its content; None when it is none of :data:`KINDS`."""
    head = _head(path)
    if head.startswith(HDF5_MAGIC):
        return check_h5(path)
    if head.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
        if names and all(n.endswith(".npy") for n in names):
            return check_npz(path, names)
        if any(n.endswith("data.pkl") for n in names):
            return _checkpoint(path, names)
        return None
    if head[:2] == b"\x80\x02" and path.suffix in (".pth", ".pt"):
        return Found(path, "torch-checkpoint", f"{_size(path)}, legacy pickle format")
    text = _text(head)
    if text is None:
        return None
    rows = _sample_rows(text)
    if rows and _is_table(rows, path):
        return check_csv(path, rows)
    return check_text(path)


def _head(path: Path) -> bytes:
    with open(path, "rb") as stream:
        return stream.read(SAMPLE_BYTES)


def _text(raw: bytes) -> str | None:
    if b"\x00" in raw:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:  # a multi-byte character cut at the end of the sample
        if exc.start < len(raw) - 4:
            try:
                text = raw.decode("latin-1")
            except UnicodeDecodeError:
                return None
        else:
            text = raw[:exc.start].decode("utf-8")
    printable = sum(ch.isprintable() or ch in "\n\r\t" for ch in text)
    return text if text and printable / len(text) > 0.97 else None


def _sample_rows(text: str) -> list[list[str]]:
    lines = text.splitlines()[:21]
    if len(lines) > 1 and not text.endswith("\n"):
        lines = lines[:-1]  # the sample cut the last line
    return [row for row in csv.reader(lines) if row]


def _is_table(rows: list[list[str]], path: Path) -> bool:
    widths = Counter(len(row) for row in rows)
    width, count = widths.most_common(1)[0]
    return width >= 2 and count >= max(2, int(0.9 * len(rows))) and \
        (path.suffix.lower() in (".csv", ".data", ".txt", "") or width >= 3)


# --------------------------------------------------------------------------- checks

def check_csv(path: Path, rows: list[list[str]]) -> Found:
    """Tell the CSV kinds apart by their columns, then check every row."""
    import numpy as np
    import pandas as pd

    header = not numeric_row(rows[0])
    width = len(rows[0])
    names = [c.strip().strip('"').lower() for c in rows[0]] if header else []
    if names[:1] == ["time"] and names[-2:] == ["amount", "class"] and width == 31:
        return _check_creditcard(path)
    if width not in (785, 3073, 141) or not all(numeric_row(r) for r in rows[1 if header else 0:]):
        try:
            frame = pd.read_csv(path, header=0 if header else None, low_memory=False)
        except (ValueError, pd.errors.ParserError) as exc:
            return Found(path, "csv", problems=[f"not a consistent CSV table: {exc}"[:300]])
        return Found(path, "csv", f"{len(frame):,} rows × {frame.shape[1]} columns"
                     + (f" ({', '.join(map(str, frame.columns[:5]))}"
                        f"{', ...' if frame.shape[1] > 5 else ''})" if header else ""))
    try:
        values = pd.read_csv(path, header=0 if header else None, dtype="float32").to_numpy()
    except (ValueError, pd.errors.ParserError) as exc:
        return Found(path, "csv", problems=[f"not a consistent numeric table: {exc}"[:300]])
    if np.isnan(values).any():
        bad = int(np.isnan(values).any(axis=1).argmax()) + 1 + header
        return Found(path, "csv", problems=[f"an empty or non-numeric value on line {bad}"])
    if width == 141:
        return _check_ecg(path, values)
    return _check_image_csv(path, values, 28 if width == 785 else 32)


def _check_image_csv(path: Path, values, side: int) -> Found:
    import numpy as np

    pixels_per_row = side * side * (1 if side == 28 else 3)
    column = label_column(values, 10)
    kind = "mnist-csv" if side == 28 else "cifar10-csv"
    if column is None:
        return Found(path, kind, problems=["no column of labels 0-9 (first or last)"])
    pixels = np.delete(values, column, axis=1)
    if pixels.shape[1] != pixels_per_row:
        return Found(path, kind, problems=[f"{pixels.shape[1]} pixel columns, expected {pixels_per_row}"])
    if pixels.min() < 0 or pixels.max() > 255 or not np.all(pixels == np.round(pixels)):
        return Found(path, kind, problems=["pixel values must be whole numbers 0-255"])
    counts = np.bincount(values[:, column].astype(int), minlength=10)
    summary = f"{len(values):,} images of {side}×{side}, labels 0-9 ({', '.join(map(str, counts))})"
    if side == 32:
        return Found(path, kind, summary + f", label in the {'first' if column == 0 else 'last'} column")
    told, how = _mnist_or_fashion(path, pixels)
    return Found(path, told, f"{summary}; {how}")


def _mnist_or_fashion(path: Path, pixels) -> tuple[str, str]:
    """MNIST when its rows are MNIST's own images (the registry's copy, when cached); else by
    the pixel statistics (MNIST's mean pixel ≈ 33, Fashion-MNIST's ≈ 73)."""
    import numpy as np

    if REGISTRY.cached(REGISTRY["mnist"]):
        (x_train, _), (x_test, _) = load_mnist()
        known = {row.tobytes() for row in np.concatenate([x_train, x_test]).reshape(-1, 784)}
        sample = pixels[: min(len(pixels), 50)].astype(np.uint8)
        matches = sum(row.tobytes() in known for row in sample)
        if matches >= 0.9 * len(sample):
            return "mnist-csv", f"{matches} of the first {len(sample)} rows are MNIST's own images"
    mean = float(pixels.mean())
    middle = (MNIST_MEAN_PIXEL + FASHION_MEAN_PIXEL) / 2
    kind = "fashion-mnist-csv" if mean > middle else "mnist-csv"
    return kind, (f"mean pixel {mean:.1f} (MNIST ≈ {MNIST_MEAN_PIXEL:g}, Fashion-MNIST ≈ "
                  f"{FASHION_MEAN_PIXEL:g})")


def _check_ecg(path: Path, values) -> Found:
    import numpy as np

    column = label_column(values, 10)
    if column is None:
        return Found(path, "ecg-csv", problems=["no column of integer class labels (first or last)"])
    labels = values[:, column].astype(int)
    counts = ", ".join(f"{label}: {n}" for label, n in sorted(Counter(labels.tolist()).items()))
    signal = np.delete(values, column, axis=1)
    return Found(path, "ecg-csv", f"{len(values):,} heartbeats of {signal.shape[1]} values, label in "
                 f"the {'first' if column == 0 else 'last'} column ({counts})")


def _check_creditcard(path: Path) -> Found:
    import pandas as pd

    try:
        frame = pd.read_csv(path)
    except (ValueError, pd.errors.ParserError) as exc:
        return Found(path, "creditcard-csv", problems=[f"unreadable: {exc}"[:300]])
    problems = []
    if frame.isna().any().any():
        problems.append("empty values")
    if not set(frame["Class"].unique()) <= {0, 1}:
        problems.append("Class must be 0 or 1")
    frauds = int((frame["Class"] == 1).sum()) if not problems else 0
    return Found(path, "creditcard-csv", f"{len(frame):,} transactions, {frauds:,} frauds "
                 f"({frauds / max(1, len(frame)):.3%})", problems)


def check_text(path: Path) -> Found:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    words = re.findall(r"[^\W\d_]+", text.lower())
    if len(words) < 20:
        return Found(path, "text", problems=[f"only {len(words)} words: not a corpus"])
    return Found(path, "text", f"{len(words):,} words, {len(set(words)):,} distinct, "
                 f"{text.count(chr(10)) + 1:,} lines")


def check_npz(path: Path, names: list[str]) -> Found:
    """Read each array's header (never its data: no pickles are loaded)."""
    import numpy as np

    shapes = []
    with zipfile.ZipFile(path) as archive:
        for name in names:
            with archive.open(name) as stream:
                try:
                    version = np.lib.format.read_magic(stream)
                    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                        np.lib.format.read_array_header_2_0
                    shape, _, dtype = read(stream)
                except ValueError as exc:
                    return Found(path, "npz", problems=[f"{name}: {exc}"])
            shapes.append(f"{name[:-4]} {dtype}{list(shape)}")
    return Found(path, "npz", ", ".join(shapes)[:300])


def _checkpoint(path: Path, names: list[str]) -> Found:
    tensors = sum(1 for n in names if "/data/" in n)
    return Found(path, "torch-checkpoint", f"{_size(path)}, {tensors} tensors")


def check_h5(path: Path) -> Found:
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            group = h5["model_weights"] if "model_weights" in h5 else h5
            layers = [n.decode() if isinstance(n, bytes) else str(n)
                      for n in group.attrs.get("layer_names", [])]
            whole = "model_weights" in h5
            sizes: list[int] = []
            h5.visititems(lambda _, obj: sizes.append(obj.size) if isinstance(obj, h5py.Dataset) else None)
    except (OSError, KeyError) as exc:
        return Found(path, "keras-h5", problems=[f"not a readable HDF5 file: {exc}"])
    if not layers:
        return Found(path, "keras-h5", problems=["an HDF5 file without Keras layer names"])
    return Found(path, "keras-h5", f"{'a whole model, ' if whole else ''}{len(layers)} layers "
                 f"({', '.join(layers[:3])}{', ...' if len(layers) > 3 else ''}), "
                 f"{sum(sizes):,} weights")


def _image_folders(folder: Path) -> bool:
    """A folder of ≥ 2 class folders holding images, and no images of its own."""
    try:
        entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
    except OSError:
        return False
    classes = [p for p in entries if p.is_dir()]
    if len(classes) < 2 or any(p.is_file() and _image_kind(p) for p in entries):
        return False
    with_images = sum(1 for c in classes if any(_image_kind(f) for f in _first_files(c)))
    return with_images >= max(2, int(0.8 * len(classes)))


def _first_files(folder: Path, limit: int = 5) -> list[Path]:
    files = []
    for path in sorted(folder.iterdir()):
        if path.is_file() and not path.name.startswith("."):
            files.append(path)
            if len(files) == limit:
                break
    return files


def _image_kind(path: Path) -> str | None:
    try:
        with open(path, "rb") as stream:
            head = stream.read(8)
    except OSError:
        return None
    return next((kind for magic, kind in IMAGE_MAGIC.items() if head.startswith(magic)), None)


def check_image_folders(folder: Path) -> Found:
    """Every file in a class folder must be an image (by its first bytes)."""
    counts: dict[str, int] = {}
    problems = []
    formats: Counter = Counter()
    for cls in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in sorted(cls.rglob("*")):
            if not path.is_file() or path.name.startswith("."):
                continue
            kind = _image_kind(path)
            if kind is None:
                problems.append(f"{path.relative_to(folder)} is not an image")
            else:
                formats[kind] += 1
                counts[cls.name] = counts.get(cls.name, 0) + 1
    empty = [p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")
             and p.name not in counts]
    if empty:
        problems.append(f"class folders without images: {', '.join(sorted(empty)[:5])}")
    total = sum(counts.values())
    return Found(folder, "image-folders",
                 f"{total:,} images in {len(counts)} classes ({', '.join(sorted(formats))}); "
                 f"{min(counts.values(), default=0)}-{max(counts.values(), default=0)} per class",
                 problems[:5] + ([f"and {len(problems) - 5} more"] if len(problems) > 5 else []))


def _size(path: Path) -> str:
    size = path.stat().st_size
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return ""


# --------------------------------------------------------------------------- importing

def entry_name(path: Path) -> str:
    """``mnist_train.csv`` -> ``mnist-train``; ``101_ObjectCategories`` -> ``101-objectcategories``."""
    stem = path.name if path.is_dir() else path.name.split(".")[0]
    return re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "dataset"


def import_pack(folder: Path, *, root: Path | None = None, replace: bool = False,
                progress: bool = True) -> ImportReport:
    """Recognise, check and store everything in ``folder`` (or one file) as registry entries.

    An item that fails its check is refused with the reason, the others are imported (a batch
    goes on). Importing the same file again is "unchanged"; a different file under a name
    already taken is refused unless ``replace``."""
    from tqdm import tqdm


    root = root or cache_root()
    found, skipped = scan(folder)
    report = ImportReport(skipped=skipped)
    builtin = {entry.name for entry in REGISTRY if not _is_imported(entry, root)}
    taken: set[str] = set()
    for item in found:
        item.name = _unique_name(item.path, builtin | taken)
        taken.add(item.name)
    with tqdm(found, desc="import", unit="item", disable=not progress) as bar:
        for item in bar:
            bar.set_postfix_str(item.name)
            if not item.ok:
                report.refused.append(item)
                continue
            outcome = store(item, root, replace=replace)
            {"imported": report.imported, "unchanged": report.unchanged,
             "refused": report.refused}[outcome].append(item)
    return report


def _unique_name(path: Path, taken: set[str]) -> str:
    name = entry_name(path)
    if name in taken:
        name = f"{entry_name(path.parent)}-{name}"
    base, number = name, 2
    while name in taken:
        name, number = f"{base}-{number}", number + 1
    return name


def _is_imported(entry: Entry, root: Path) -> bool:
    return (entry.folder(root) / ENTRY_FILE).exists()


def store(item: Found, root: Path, *, replace: bool = False) -> str:
    """Copy one checked item into ``<root>/<name>/`` with sha256s: "imported", "unchanged" or
    "refused" (a different file under the same name, without ``replace``). Atomic: the entry
    appears complete or not at all."""
    root.mkdir(parents=True, exist_ok=True)
    target = root / item.name
    files = sorted(p for p in item.path.rglob("*") if p.is_file() and not p.name.startswith(".")) \
        if item.path.is_dir() else [item.path]
    base = item.path.parent
    staging = Path(tempfile.mkdtemp(prefix=f".import-{item.name}-", dir=root))
    try:
        checksums = {}
        for path in files:
            relative = path.relative_to(base).as_posix()
            destination = staging / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            checksums[relative] = f"sha256:{_copy_hashing(path, destination)}"
        existing = read_record(target / ENTRY_FILE)
        if existing.get("files") == checksums:
            target.chmod(0o755 & ~_umask())  # an entry imported private by an older dlkit
            return "unchanged"
        if target.exists() and not replace:
            item.problems.append(f"the registry already has a different `{item.name}` "
                                 f"({target}); import with --replace to overwrite it")
            return "refused"
        stamps = {rel: [(staging / rel).stat().st_size, (staging / rel).stat().st_mtime_ns, sha]
                  for rel, sha in checksums.items()}
        _write(staging / ENTRY_FILE, {
            "name": item.name, "kind": item.kind, "summary": item.summary,
            "top": item.path.name, "files": checksums, "imported_from": str(item.path.resolve()),
        })
        _write(staging / PROVENANCE, {"source": f"imported from {item.path.resolve()}",
                                      "kind": "imported", "verified": stamps,
                                      "fetched": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        # mkdtemp's folder is private (0700); an entry is read by the unprivileged judge
        staging.chmod(0o755 & ~_umask())
        if target.exists():
            old = root / f".replaced-{item.name}-{os.getpid()}"
            os.replace(target, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(staging, target)
        return "imported"
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _umask() -> int:
    """The process's umask (read by setting it, then setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _copy_hashing(source: Path, destination: Path) -> str:
    digest = hashlib.sha256()
    with open(source, "rb") as src, open(destination, "wb") as dst:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            dst.write(chunk)
    shutil.copystat(source, destination)
    return digest.hexdigest()


def _write(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=1, sort_keys=True))
