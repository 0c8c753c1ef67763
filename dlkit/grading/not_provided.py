"""Data the course does not provide: a notebook that stops reading a file or URL nobody gave
the grader is told so, not blamed.

A student's notebook reads ``creditcard.csv`` from Colab's drive, the TensorFlow ECG CSV from
its URL, a ``weights='vgg16_notop.h5'`` file: on a lab server none of them is there unless the
instructor imported it (``dlkit data import``) and mapped the path (``datasets.yml``). Two halves:

- :func:`missing_read`: the path or URL a stopped cell failed to read, from the runner's error
  record (its exception, message and the student's failing line). The record is the student's
  process's account, so it only ever turns an "error" into "data not provided" (no marks come
  from it), and only for a path the course's map does not provide (:func:`provided`);
- :func:`reads_of` / :func:`unprovided_reads`: the paths a batch's notebooks read, found in
  their code before grading (``dlkit data map --check EXP``), less what the map or the registry
  provides and what the notebook writes itself.
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dlkit.data.datamap import MappedPath, is_url
from dlkit.gradebook import NOT_PROVIDED

#: the run status of a notebook that stopped reading data the course has not provided
STATUS = NOT_PROVIDED
#: the exception the kernel's stand-ins raise for a URL nobody provides (kernel_env), and the
#: words between the URL and the rest of its message
KERNEL_ERROR = "DataNotProvided"
KERNEL_SEPARATOR = " — "

_NO_SUCH = re.compile(r"No such file or directory: '([^']+)'")
_H5 = re.compile(r"unable to open file[^,]*, name = '([^']+)', errno = 2", re.I)
_KERAS_FILE = re.compile(r"File not found: filepath=(.+?)\. Please")
_WEIGHTS = re.compile(r"Received: weights=(\S+)")
_URL = re.compile(r"""(?:https?|ftp)://[^\s'"<>)]+""")
#: a failing line that writes (a missing folder to write into is the student's to make)
_WRITES = re.compile(r"""(['"][wax]b?\+?['"]|mode\s*=|\.to_\w+\(|\.save\w*\(|savefig\(|"""
                     r"""np\.save|mkdir|makedirs|\.dump\(|\.write)""")


def missing_read(error: Mapping) -> str | None:
    """The file, folder or URL the cell that stopped failed to read, or None when its error is
    not a failed read of data (a write into a missing folder, a bug, anything else)."""
    name, message = str(error.get("error", "")), str(error.get("message", ""))
    frames = [f for f in error.get("frames") or [] if isinstance(f, Mapping)]
    line = str(frames[-1].get("code", "")) if frames else ""
    if name == KERNEL_ERROR:
        return message.split(KERNEL_SEPARATOR, 1)[0].strip() or None
    if name == "OfflineDataUnavailable":
        url = _URL.search(message)
        return url.group(0) if url else message.split(":", 1)[0].strip() or None
    if name == "URLError" or "urlopen error" in message:
        url = _URL.search(line) or next((_URL.search(str(f.get("code", ""))) for f in frames
                                         if _URL.search(str(f.get("code", "")))), None)
        return url.group(0) if url else "a URL"
    if name == "ValueError" and (found := _WEIGHTS.search(message)):
        return None if found.group(1) in ("imagenet", "None") else found.group(1)
    for pattern in (_NO_SUCH, _H5, _KERAS_FILE):
        found = pattern.search(message)
        if found and name in ("FileNotFoundError", "OSError", "ValueError", "IOError"):
            return None if _WRITES.search(line) else found.group(1)
    return None


def _normal(path: str) -> str:
    path = path.strip()
    if is_url(path):
        return path
    path = path.replace("\\", "/")
    return posixpath.normpath(path[2:] if path.startswith("./") else path)


def provided(path: str, mapped: Iterable[MappedPath]) -> bool:
    """Does the course's map give the notebook ``path`` (the path itself, a folder above it, or
    a Windows path of the same file name)? Then a failed read of it is the student's."""
    wanted = _normal(path)
    for entry in mapped:
        written = _normal(entry.written)
        if is_url(wanted) or is_url(written):
            if wanted.rstrip("/") == written.rstrip("/"):
                return True
            continue
        if wanted == written or wanted.startswith(written.rstrip("/") + "/"):
            return True
        if entry.windows and wanted.rsplit("/", 1)[-1] == written.rsplit("/", 1)[-1]:
            return True
    return False


def registry_url(url: str) -> bool:
    """Is ``url`` one the data registry downloads (so the kernel's stand-ins answer it)?"""
    from dlkit.data.catalog import REGISTRY

    wanted = url.split("://", 1)[-1].lower().rstrip("/")
    return any(source_url.split("://", 1)[-1].lower().rstrip("/") == wanted
               for entry in REGISTRY for source in entry.sources
               for source_url in getattr(source, "urls", {}).values())


def reason(path: str, cell: object, experiment_id: str) -> str:
    """What the student and the instructor read of a run stopped by data nobody provided."""
    what = "URL" if is_url(path) or path == "a URL" else "file"
    return (f"cell {cell} reads {path}, a {what} the course has not provided to the grader: "
            f"not your doing, your instructor will add it and grade your notebook again. "
            f"Instructor: import it (`dlkit data import FOLDER`), map `{path}` to its entry in "
            f"datasets.yml (`dlkit data map --check {experiment_id}` lists every such path), "
            f"then `dlkit grade {experiment_id}`")


def not_judged_words(path: str, cell: object) -> str:
    return f"not judged: the notebook stopped at cell {cell}, which reads {path} (not provided)"


# --------------------------------------------------------------------------- before grading

#: calls that read a path or URL given as their first argument (or the keyword named here)
READERS = {
    "read_csv": "filepath_or_buffer", "read_table": "filepath_or_buffer",
    "read_excel": "io", "read_json": "path_or_buf", "read_parquet": "path",
    "loadtxt": "fname", "genfromtxt": "fname", "load": "file", "open": "file",
    "load_model": "filepath", "load_weights": "filepath", "load_img": "path",
    "imread": "filename", "listdir": "path", "ImageFolder": "root",
    "flow_from_directory": "directory", "image_dataset_from_directory": "directory",
    "text_dataset_from_directory": "directory", "urlopen": "url", "urlretrieve": "url",
    "get_file": "origin", "Word2Vec": "corpus_file",
}
#: calls that write their first argument (a file the notebook reads back later is its own)
WRITERS = {"to_csv", "save", "savez", "save_weights", "savefig", "to_json", "imwrite",
           "to_pickle", "mkdir", "makedirs"}


@dataclass(frozen=True)
class Read:
    path: str
    cell: int  # 1-based, every cell counted
    line: int


def reads_of(cells: list[str]) -> list[Read]:
    """The literal paths and URLs a notebook's code cells read (string constants given to a
    reader, ``weights='<file>'``), less those it writes itself or passes open for writing."""
    reads, written = [], set()
    for number, source in enumerate(cells, start=1):
        try:
            tree = ast.parse(_python_only(source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else \
                node.func.id if isinstance(node.func, ast.Name) else ""
            for keyword in node.keywords:
                if keyword.arg == "weights" and _literal(keyword.value) not in (None, "imagenet"):
                    reads.append(Read(_literal(keyword.value), number, node.lineno))
            target = _argument(node, READERS.get(name)) if name in READERS else None
            if name in WRITERS or (name == "open" and _opens_for_writing(node)):
                if (path := _literal(node.args[0]) if node.args else None):
                    written.add(_normal(path))
                continue
            if target and (name != "load" or "." in target) and (name != "open" or target):
                reads.append(Read(target, number, node.lineno))
    return [r for r in reads if _normal(r.path) not in written]


def _python_only(source: str) -> str:
    """A cell without its IPython lines (``!pip``, ``%matplotlib``)."""
    return "\n".join("" if line.lstrip().startswith(("!", "%")) else line
                     for line in source.splitlines())


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) \
        and node.value.strip() else None


def _argument(node: ast.Call, keyword: str | None) -> str | None:
    if node.args:
        return _literal(node.args[0])
    return next((_literal(k.value) for k in node.keywords if keyword and k.arg == keyword), None)


def _opens_for_writing(node: ast.Call) -> bool:
    modes = [node.args[1]] if len(node.args) > 1 else [k.value for k in node.keywords
                                                         if k.arg == "mode"]
    return any(isinstance(m, ast.Constant) and isinstance(m.value, str)
               and set(m.value) & set("wax+") for m in modes)


def unprovided_reads(notebooks: Mapping[str, list[str]], mapped: list[MappedPath],
                     ) -> dict[str, list[str]]:
    """Path or URL -> the notebooks (by label) that read it, for every literal read that the
    course's map does not provide and the registry does not answer (its URLs)."""
    found: dict[str, list[str]] = {}
    for label, cells in notebooks.items():
        for read in reads_of(cells):
            if provided(read.path, mapped) or (is_url(read.path) and registry_url(read.path)):
                continue
            labels = found.setdefault(read.path, [])
            if label not in labels:
                labels.append(label)
    return found


def batch_reads(experiment_id: str, course, gradebook) -> dict[str, list[str]]:
    """Path or URL -> the students (rolls) whose newest submission of ``experiment_id`` reads it
    and whom the course's map does not provide it to (``dlkit data map --check``). A notebook
    that cannot be read is listed under ``(unreadable notebook)``."""
    import nbformat

    from dlkit.data.datamap import read_dataset_map

    notebooks: dict[str, list[str]] = {}
    for submission in gradebook.latest_submissions(experiment_id):
        label = submission.student_roll or f"submission {submission.id}"
        try:
            nb = nbformat.reads((course / submission.path).read_text(encoding="utf-8"),
                                as_version=4)
        except Exception:  # noqa: BLE001 - any way a collected file can fail to be a notebook
            notebooks[label] = []
            continue
        notebooks[label] = [c.source if c.cell_type == "code" else "" for c in nb.cells]
    return unprovided_reads(notebooks, read_dataset_map(course))
