"""The college's imported files as the registry sees them: the entries ``dlkit data import`` stored.

Importing (recognising and checking a pack) is :mod:`dlkit.data.pack`; reading the imported
files is :mod:`dlkit.data.loaders`. This module only lists what is in the cache, so the catalog can
list imported entries beside its own without importing the importer.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from dlkit.data.registry import Entry, SourceFailed, cache_root

ENTRY_FILE = "ENTRY.json"
#: what each kind of file is, in words
KINDS = {
    "mnist-csv": "MNIST digits as CSV (a label and 784 pixels per row)",
    "fashion-mnist-csv": "Fashion-MNIST as CSV (a label and 784 pixels per row)",
    "cifar10-csv": "CIFAR-10 as CSV (a label and 3,072 pixel values per row)",
    "ecg-csv": "ECG heartbeats as CSV (140 values and a label per row, ECG5000)",
    "creditcard-csv": "credit-card transactions (Time, V1-V28, Amount, Class)",
    "csv": "a CSV table",
    "text": "a plain-text corpus",
    "npz": "NumPy arrays (.npz)",
    "image-folders": "images, one folder per class",
    "keras-h5": "Keras weights or model (.h5)",
    "torch-checkpoint": "a torch checkpoint (.pth)",
}


@dataclass(frozen=True)
class PackEntry:
    """An imported entry: the registry's :class:`Entry` and what the import found."""

    entry: Entry
    kind: str
    summary: str
    top: str  # the imported file or folder, relative to the entry's folder
    imported_from: str
    root: Path  # the cache it lives in

    @property
    def data(self) -> Path:
        """The imported file or folder in the cache (what the dataset map mounts)."""
        return self.entry.folder(self.root) / self.top


@dataclass(frozen=True)
class Imported:
    """The registry source of an imported entry: the file or folder it was imported from (so a
    cache copy that went missing comes back while the pack is still there)."""

    path: str
    kind = "imported"

    @property
    def label(self) -> str:
        return f"imported from {self.path}"

    def provide(self, files, workdir: Path, progress: bool) -> dict[str, Path]:
        base = Path(self.path).parent
        out = {}
        for name in files:
            source = base / name
            if not source.is_file():
                raise SourceFailed(f"{source} is gone")
            out[name] = workdir / name
            out[name].parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, out[name])
        return out

    def probe(self) -> str | None:
        return None if Path(self.path).exists() else f"{self.path} is gone"


_SEEN: dict[Path, tuple[float, PackEntry]] = {}


def imported_entries(root: Path | None = None) -> list[PackEntry]:
    """Every entry ``dlkit data import`` stored under ``root`` (default: the cache)."""
    root = root or cache_root()
    entries = []
    for path in sorted(root.glob(f"*/{ENTRY_FILE}")) if root.is_dir() else []:
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            continue
        seen = _SEEN.get(path)
        if seen is None or seen[0] != stamp:
            record = read_record(path)
            if not record.get("files") or record.get("kind") not in KINDS:
                continue
            entry = Entry(
                name=path.parent.name,
                description=f"{KINDS[record['kind']]}: {record.get('summary', '')}"[:200],
                files=record["files"], sources=(Imported(record.get("imported_from", "")),),
                license="the college's dataset pack",
                fix="import the college's dataset pack again: `dlkit data import FOLDER`")
            seen = (stamp, PackEntry(entry, record["kind"], record.get("summary", ""),
                                     record.get("top", ""), record.get("imported_from", ""), root))
            _SEEN[path] = seen
        entries.append(seen[1])
    return entries


def read_record(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
