"""A course's dataset map: the paths students' notebooks read, mapped to registry entries.

``<course>/datasets.yml``::

    # path the notebook reads            : registry entry (`dlkit data status`)[/file in it]
    mnist_train.csv                      : mnist-train
    /content/drive/MyDrive/ecg.csv       : ecg
    'D:\\LP-IV\\creditcard.csv'            : creditcard
    /content/drive/MyDrive/caltech-101   : 101-objectcategories
    train-images-idx3-ubyte.gz           : mnist/train-images-idx3-ubyte.gz
    https://storage.googleapis.com/download.tensorflow.org/data/ecg.csv : ecg

The grader mounts each entry's file (or folder) read-only where the notebook reads it:

- a relative path lands in the run's work folder (the notebook's folder), subfolders included;
- an absolute POSIX path (``/content/...``, ``/kaggle/input/...``) at that very path;
- a Windows path (``D:\\LP-IV\\creditcard.csv``, ``C:/data/x.csv``) by its file name in the work
  folder, and under the very name the notebook uses (on Linux ``'D:\\LP-IV\\creditcard.csv'`` is
  a file name in the current folder), so unchanged code finds it either way.

- a URL (``pd.read_csv('http...')``, ``urlopen``, Keras' ``get_file``) in a folder of the work
  folder the kernel's stand-ins answer that URL from (:mod:`dlkit.grading.kernel_env`).

An entry names an imported dataset-pack item (its one file or folder) or a catalog entry, with
``/file`` to pick one of its files (a catalog entry without one mounts its whole folder).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from dlkit.errors import DlkitError
from dlkit.settings import DATASETS_FILE

MAP_FILE = DATASETS_FILE
#: where a mount would hide what the grader itself needs
FORBIDDEN = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/proc",
             "/dev", "/sys", "/run", "/var", "/boot")
_WINDOWS = re.compile(r"^[A-Za-z]:[\\/]|\\")
_URL = re.compile(r"^(?:https?|ftp)://", re.I)
#: the work folder's folder where mapped URLs' files are mounted (the stand-ins read them there)
URL_FOLDER = ".dlkit-urls"
#: the kernel's environment variable with the mapped URLs (JSON: URL -> file in the sandbox)
URL_ENV = "DLKIT_URLS"


def is_url(path: str) -> bool:
    """Does the map (or a notebook) name a download rather than a path?"""
    return bool(_URL.match(path.strip()))


class DatasetMapError(DlkitError):
    """``datasets.yml`` cannot be used as it is (every problem is listed)."""


@dataclass(frozen=True)
class MappedPath:
    """One line of the map: what the notebook reads, and the registry entry that provides it."""

    written: str  # the path as students write it
    entry: str
    file: str = ""  # a file inside the entry, else the entry's data

    @property
    def windows(self) -> bool:
        return not self.url and bool(_WINDOWS.search(self.written))

    @property
    def url(self) -> bool:
        return is_url(self.written)

    @property
    def ref(self) -> str:
        return f"{self.entry}/{self.file}" if self.file else self.entry

    def destinations(self, work: Path) -> list[Path]:
        """Where the grader mounts it for a run in ``work``."""
        if self.url:
            import hashlib

            digest = hashlib.sha256(self.written.encode()).hexdigest()[:16]
            name = self.written.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "download"
            return [work / URL_FOLDER / digest / name]
        if self.windows:
            name = re.split(r"[\\/]", self.written)[-1]
            places = [work / name]
            literal = work / self.written  # on Linux, backslashes are part of one file name
            if literal != places[0]:
                places.append(literal)
            return places
        if self.written.startswith("/"):
            return [Path(posixpath.normpath(self.written))]
        return [work / posixpath.normpath(self.written)]

    def source(self, root: Path | None = None) -> Path:
        """The file or folder in the data cache (the entry must be available)."""
        from dlkit.data.catalog import REGISTRY
        from dlkit.data.imported import imported_entries

        entry = REGISTRY[self.entry]
        if self.file:
            return entry.folder(root) / self.file
        for item in imported_entries(root):
            if item.entry.name == entry.name:
                return item.data
        return entry.path(root=root) if len(entry.files) == 1 else entry.folder(root)


def parse_dataset_map(text: str, where: str = MAP_FILE) -> list[MappedPath]:
    """The map's lines, checked for form (not yet against the registry)."""
    import yaml

    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark else ""
        raise DatasetMapError(f"not valid YAML: {getattr(exc, 'problem', exc)}",
                              where=f"{where}{line}",
                              fix="write one `path: entry` per line; quote a Windows path") from None
    if not isinstance(data, dict):
        raise DatasetMapError("expected `path: entry` lines", where=where)
    problems, paths = [], []
    for written, ref in data.items():
        written, ref = str(written).strip(), str(ref or "").strip()
        entry, _, file = ref.partition("/")
        mapped = MappedPath(written, entry, file.strip("/"))
        parts = re.split(r"[\\/]", written.split("://", 1)[-1])
        if not written or not entry:
            problems.append(f"{written!r}: needs a registry entry")
        elif ".." in parts or ".." in file.split("/"):
            problems.append(f"{written!r}: '..' is not allowed")
        elif not mapped.url and not mapped.windows and written.startswith("/") and (
                posixpath.normpath(written) == "/" or
                any(posixpath.normpath(written) == f or posixpath.normpath(written).startswith(f + "/")
                    for f in FORBIDDEN)):
            problems.append(f"{written!r}: would hide a system folder the grader needs")
        else:
            paths.append(mapped)
    landing: dict[Path, MappedPath] = {}
    for mapped in paths:  # e.g. 'D:\\a\\x.csv' and 'x.csv' for two different entries
        for place in mapped.destinations(Path("/work")):
            other = landing.setdefault(place, mapped)
            if other.ref != mapped.ref:
                problems.append(f"{other.written!r} and {mapped.written!r} both land at "
                                f"{place.relative_to('/work') if place.is_relative_to('/work') else place}"
                                f" with different entries")
    if problems:
        raise DatasetMapError("; ".join(problems), where=where,
                              fix="see `dlkit data map --help` for the format")
    return paths


def read_dataset_map(course: Path) -> list[MappedPath]:
    """``<course>/datasets.yml``, or no paths when the course has none."""
    path = Path(course) / MAP_FILE
    if not path.exists():
        return []
    return parse_dataset_map(path.read_text(encoding="utf-8"), where=str(path))


def check_available(paths: list[MappedPath], root: Path | None = None) -> list[str]:
    """What is wrong with the map on this machine: unknown entries, entries not in the cache,
    files an entry does not have. Empty when every path can be mounted."""
    from dlkit.data.catalog import REGISTRY
    from dlkit.errors import UnknownName

    problems = []
    for mapped in paths:
        try:
            entry = REGISTRY[mapped.entry]
        except UnknownName:
            problems.append(f"{mapped.written}: no registry entry `{mapped.entry}` — import the "
                            "dataset pack with `dlkit data import FOLDER` (see `dlkit data status`)")
            continue
        if not REGISTRY.cached(entry, root):
            problems.append(f"{mapped.written}: `{entry.name}` is not in the data cache — "
                            f"{entry.fix.format(name=entry.name)}")
        elif mapped.file and not (entry.folder(root) / mapped.file).exists():
            problems.append(f"{mapped.written}: `{entry.name}` has no file {mapped.file!r} "
                            f"(it has {', '.join(sorted(entry.files)[:5])})")
    return problems


def require_available(paths: list[MappedPath], where: str = MAP_FILE) -> None:
    problems = check_available(paths)
    if problems:
        raise DatasetMapError("; ".join(problems), where=where)


def as_pairs(paths: list[MappedPath]) -> tuple[tuple[str, str], ...]:
    """The map as plain data, for a grading task that may run on another machine."""
    return tuple((p.written, p.ref) for p in paths)


def from_pairs(pairs) -> list[MappedPath]:
    out = []
    for written, ref in pairs:
        entry, _, file = ref.partition("/")
        out.append(MappedPath(written, entry, file))
    return out


def dataset_mounts(pairs, work: Path, root: Path | None = None) -> list[tuple[Path, Path]]:
    """(source in the data cache, destination) for each path of the map, for a run in ``work``.
    Raises :class:`DatasetMapError` when an entry is not available on this machine."""
    paths = from_pairs(pairs)
    problems = check_available(paths, root)
    if problems:
        raise DatasetMapError("; ".join(problems), where="the course's dataset map")
    return [(mapped.source(root), destination)
            for mapped in paths for destination in mapped.destinations(work)]


def mapped_urls(pairs, work: Path) -> dict[str, str]:
    """URL -> where its file is mounted for a run in ``work`` (what the kernel's stand-ins read)."""
    return {mapped.written: str(mapped.destinations(work)[0])
            for mapped in from_pairs(pairs) if mapped.url}
