"""Collecting submissions into the gradebook from a folder, an LMS bulk download or nbgrader.

Every accepted notebook is stored once, under its sha256, as
``<course>/submissions/<experiment>/<sha256>.ipynb`` and recorded as a new version of its
student's submission; a rejected input is recorded with a reason a student understands, and the
rest of the batch goes on. Zips are read in memory, member by member, within size limits — never
extracted. Times in the gradebook are naive UTC; a naive ``due`` and zip entry times are local.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import re
import tempfile
import unicodedata
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import nbformat
from sqlalchemy.orm import Session

from dlkit import experiments, queries
from dlkit.errors import CollectError
from dlkit.gradebook import Gradebook, Student, Submission, duration, utcnow
from dlkit.roster import RosterEntry

MB = 1024 * 1024
SOURCE_HELP = "give a folder of notebooks, an LMS bulk-download .zip or an nbgrader inbound folder"
#: Moodle names each student's folder ``Full Name_<participant id>_assignsubmission_file_``.
MOODLE_FOLDER = re.compile(r"^(?P<name>.+?)_\d+_assignsubmission_[a-z]+_?$")
#: nbgrader names each submission ``<student_id>+<assignment_id>+<timestamp>``.
NBGRADER_FOLDER = re.compile(r"^(?P<student>[^+]+)\+(?P<assignment>[^+]+)\+(?P<timestamp>[^+]+)$")
ROLL_LIKE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,31}")
JUNK_NAMES = {"__macosx", "thumbs.db", "desktop.ini"}


@dataclass(frozen=True)
class Limits:
    """Sizes beyond which an input is refused."""

    notebook_bytes: int = 50 * MB
    zip_bytes: int = 200 * MB  # all members of a zip together, uncompressed
    compression_ratio: float = 200.0  # of one zip member over 1 MB; real notebooks stay far below


@dataclass(frozen=True)
class Outcome:
    """What happened to one input file: its name in the source, whose it is, and why."""

    original_name: str
    student: str | None
    reason: str


@dataclass
class CollectReport:
    """The result of one :func:`collect`: accepted (stored), duplicate and rejected inputs."""

    experiment: str
    source: str
    accepted: list[Outcome] = field(default_factory=list)
    duplicates: list[Outcome] = field(default_factory=list)
    rejected: list[Outcome] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # hidden files, other assignments, ...

    def summary(self) -> str:
        """One headline, then a line per input."""
        lines = [(f"{self.experiment} from {self.source}: {len(self.accepted)} stored, "
                  f"{len(self.duplicates)} duplicate, {len(self.rejected)} rejected, "
                  f"{len(self.ignored)} ignored")]
        for status, outcomes in (("stored", self.accepted), ("duplicate", self.duplicates),
                                 ("rejected", self.rejected)):
            lines += [f"  {status:<9} {o.student or '?':<12} {o.original_name}: {o.reason}"
                      for o in outcomes]
        return "\n".join(lines)


def collect(experiment_id: str, source: Path, *, course: Path, gradebook: Gradebook,
            roster: list[RosterEntry] | None = None, due: dt.datetime | None = None,
            limits: Limits = Limits()) -> CollectReport:
    """Store every notebook of ``source`` as a version of its student's submission.

    Without a roster, a file named ``<roll>.ipynb`` or ``<roll>_<anything>.ipynb`` creates
    the student ``<roll>``. Collecting the same source again stores nothing new.
    """
    experiment = experiments.get(experiment_id)
    source = Path(source)
    if not source.exists():
        raise CollectError("submissions source not found", where=str(source), fix=SOURCE_HELP)
    gradebook.note_experiment(experiment.id, experiment.number, experiment.title)
    report = CollectReport(experiment.id, str(source))
    with _inputs(source, experiment.id, limits) as (inputs, ignored), gradebook.session() as s:
        report.ignored += ignored
        collector = _Collector(s, report, Path(course), _Students(roster), _utc(due), limits)
        for item in sorted(inputs, key=lambda i: (i.arrived_at, i.original_name)):
            collector.take(item)
    return report


@dataclass(frozen=True)
class Upload:
    """What became of one uploaded file: ``stored`` (a new version), ``duplicate`` or
    ``rejected``, the reason a student reads, and the submission row's id and version."""

    status: str
    reason: str
    submission_id: int
    version: int | None = None


def collect_upload(experiment_id: str, roll: str, filename: str, data: bytes, *, course: Path,
                   gradebook: Gradebook, due: dt.datetime | None = None, source: str = "upload",
                   limits: Limits = Limits(), enqueue: bool = False) -> Upload:
    """Store one file a student sent (e.g. through the portal) with the same checks as
    :func:`collect`; it arrives now. ``filename`` is only recorded, never used as a path. With
    ``enqueue`` a stored version enters the grading queue in the same transaction."""
    experiment = experiments.get(experiment_id)
    gradebook.note_experiment(experiment.id, experiment.number, experiment.title)
    name = re.sub(r"[\x00-\x1f\x7f]", "", PurePosixPath(filename.replace("\\", "/")).name)
    item = _Input(name[-200:] or "upload", _utc(dt.datetime.now(dt.UTC)),
                  lambda limit: _read_bytes(data, limit), roll=roll)
    report = CollectReport(experiment.id, source)
    with gradebook.session() as s:
        row = _Collector(s, report, Path(course), _Students(None), _utc(due), limits,
                         enqueue).take(item)
    (outcome,) = report.accepted + report.duplicates + report.rejected
    return Upload(row.status, outcome.reason, row.id, row.version)


def _read_bytes(data: bytes, limit: int) -> bytes:
    if len(data) > limit:
        raise _Rejected(_too_large(len(data), limit))
    return data


# --------------------------------------------------------------------------- one input

class _Rejected(Exception):
    """An input that cannot be accepted; the message is the reason shown to the student."""


@dataclass
class _Input:
    original_name: str  # '/'-separated path inside the source
    arrived_at: dt.datetime  # naive UTC
    read: Callable[[int], bytes]  # the bytes, or _Rejected when there are more than the limit
    roll: str | None = None  # given by the source itself (nbgrader)
    problem: str = ""  # a reason to reject it, found before reading


class _Collector:
    """Records each input of one batch in one gradebook session."""

    def __init__(self, session: Session, report: CollectReport, course: Path,
                 students: _Students, due: dt.datetime | None, limits: Limits,
                 enqueue: bool = False) -> None:
        self.session, self.report, self.course = session, report, course
        self.students, self.due, self.limits = students, due, limits
        self.enqueue = enqueue  # a stored version is queued for grading in the same transaction

    def take(self, item: _Input) -> Submission:
        """Record ``item`` (stored, duplicate or rejected); returns its row."""
        roll, unknown = self.students.identify(item)
        try:
            if item.problem:
                raise _Rejected(item.problem)
            data = _read_notebook(item, self.limits.notebook_bytes)
            if roll is None:
                raise _Rejected(unknown)
        except _Rejected as exc:
            return self._reject(item, roll, str(exc))
        return self._accept(item, roll, data)

    def _accept(self, item: _Input, roll: str, data: bytes) -> Submission:
        sha = hashlib.sha256(data).hexdigest()
        self._student(roll, create=True)
        stored = queries.stored_versions(self.session, self.report.experiment, roll)
        same = next((row for row in stored if row.sha256 == sha), None)
        if same is not None:
            reason = f"identical to version {same.version}, already stored"
            self.report.duplicates.append(Outcome(item.original_name, roll, reason))
            return self._record(item, roll, "duplicate", reason, sha256=sha, path=same.path)
        path = _store(self.course, self.report.experiment, sha, data)
        late = _late_seconds(item.arrived_at, self.due)
        reason = f"version {len(stored) + 1}" + (f", late by {duration(late)}" if late else "")
        self.report.accepted.append(Outcome(item.original_name, roll, reason))
        queued = {"queue": "queued", "queued_at": utcnow()} if self.enqueue else {}
        return self._record(item, roll, "stored", "", sha256=sha, path=path,
                            version=len(stored) + 1, late_seconds=late, **queued)

    def _reject(self, item: _Input, roll: str | None, reason: str) -> Submission:
        self.report.rejected.append(Outcome(item.original_name, roll, reason))
        return self._record(item, self._student(roll, create=False), "rejected", reason)

    def _record(self, item: _Input, roll: str | None, status: str, reason: str,
                **columns: object) -> Submission:
        row = Submission(
            experiment=self.report.experiment, student_roll=roll, original_name=item.original_name,
            source=self.report.source, arrived_at=item.arrived_at, due_at=self.due, status=status,
            reason=reason, **columns)
        self.session.add(row)
        self.session.flush()  # later inputs of this batch see this one (versions, duplicates)
        return row

    def _student(self, roll: str | None, *, create: bool) -> str | None:
        """``roll`` once its Student row exists (made from the roster, or named after the roll
        number when ``create``), else None."""
        if roll is None or self.session.get(Student, roll) is not None:
            return roll
        entry = self.students.entry(roll)
        if entry is not None:
            self.session.add(Student(**{f.name: getattr(entry, f.name) for f in fields(entry)}))
        elif create:
            self.session.add(Student(roll=roll, name=roll))
        else:
            return None
        return roll


def _read_notebook(item: _Input, limit: int) -> bytes:
    """The bytes of a valid nbformat-4 notebook, or :class:`_Rejected` with the reason."""
    suffix = PurePosixPath(item.original_name).suffix.lower()
    if suffix != ".ipynb":
        raise _Rejected(f"not a notebook ({suffix or 'no extension'}): submit the .ipynb file "
                        "(in Jupyter: File > Download, or File > Save and upload that file)")
    data = item.read(limit)
    _check_notebook(data)
    return data


def _check_notebook(data: bytes) -> None:
    """Raise :class:`_Rejected` unless ``data`` is a valid notebook of format 4."""
    if not data:
        raise _Rejected("empty file (0 bytes): the upload failed or the notebook was never "
                        "saved; submit it again")
    if data.startswith(b"PK\x03\x04"):
        raise _Rejected("a zip file, not a notebook: unzip it and submit the .ipynb inside")
    if re.match(rb"\s*(<!doctype html|<html)", data[:512], re.I):
        raise _Rejected("an HTML page (a notebook exported or printed as HTML), not the notebook: "
                        "submit the .ipynb file (in Jupyter: File > Download)")
    try:
        content = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise _Rejected("not a notebook: the file is not text (a renamed PDF, Word or zip "
                        "file?); submit the .ipynb saved from Jupyter") from None
    except json.JSONDecodeError as exc:
        raise _Rejected(f"damaged notebook: not valid JSON (line {exc.lineno}, column "
                        f"{exc.colno}: {exc.msg}); open it in Jupyter, save it and submit "
                        "again") from None
    except RecursionError:
        raise _Rejected("damaged notebook: JSON nested too deeply") from None
    if not isinstance(content, dict) or "nbformat" not in content:
        raise _Rejected("not a Jupyter notebook: the file is JSON but has no 'nbformat' field")
    if content["nbformat"] != 4:
        raise _Rejected(f"notebook format {content['nbformat']!r}; the grader reads format 4: "
                        "open it in a current Jupyter, save it and submit again")
    _validate(data.decode("utf-8"))


def _validate(text: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. MissingIDFieldWarning for older notebooks
        try:
            nbformat.validate(nbformat.reads(text, as_version=4))
        except nbformat.ValidationError as exc:
            path = list(getattr(exc, "absolute_path", []))
            where = f"cell {path[1] + 1}" if path[:1] == ["cells"] and len(path) > 1 else "top level"
            message = str(getattr(exc, "message", exc)).splitlines()[0]
            message = re.sub(r"^[{\[].*[}\]] is ", "it is ", message)[:160]  # not the whole cell
            raise _Rejected(f"invalid notebook ({where}): {message}; open it in Jupyter, save "
                            "it and submit again") from None
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            # nbformat's readers trust the structure they were given; hostile files break them
            raise _Rejected(f"invalid notebook: {type(exc).__name__}: {exc}"[:200]) from None


def _store(course: Path, experiment: str, sha: str, data: bytes) -> str:
    """Write ``data`` as ``submissions/<experiment>/<sha>.ipynb`` unless it is already there;
    returns that path relative to the course."""
    folder = course / "submissions" / experiment
    target = folder / f"{sha}.ipynb"
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=folder, prefix=".incoming-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temp, 0o444)
            os.replace(temp, target)
        finally:
            if os.path.exists(temp):
                os.unlink(temp)
    return target.relative_to(course).as_posix()


# --------------------------------------------------------------------------- whose file

class _Students:
    """Tells whose an input is: by roll number, or by full name through the roster."""

    def __init__(self, roster: list[RosterEntry] | None) -> None:
        self.roster = roster
        self.by_roll = {e.roll.casefold(): e for e in roster or []}
        self.names = [(tokens, e) for e in roster or [] if (tokens := _tokens(e.name))]

    def entry(self, roll: str) -> RosterEntry | None:
        return self.by_roll.get(roll.casefold())

    def identify(self, item: _Input) -> tuple[str | None, str]:
        """(roll number, "") or (None, why no student could be told)."""
        if self.roster is None:
            return _roll_without_roster(item)
        if item.roll is not None:
            entry = self.entry(item.roll)
            if entry is None:
                return None, f"student {item.roll!r} is not in the roster"
            return entry.roll, ""
        for rolls in self._candidates(item.original_name):
            if len(rolls) == 1:
                return rolls.pop(), ""
            if rolls:
                return None, (f"cannot tell whose file this is: it matches {', '.join(sorted(rolls))}"
                              "; name it <roll number>.ipynb")
        return None, ("no student of the roster matches this file name: name it "
                      "<roll number>.ipynb, or check the roster")

    def _candidates(self, name: str) -> Iterator[set[str]]:
        """Sets of matching roll numbers, the most trustworthy evidence first."""
        for lms_name in _lms_names(name):
            yield self._by_name(lms_name)
        entry = self.entry(_file_roll(name))
        yield {entry.roll} if entry else set()
        yield self._by_name(_path_text(name))
        yield self._by_roll(_path_text(name))

    def _by_name(self, text: str) -> set[str]:
        """Students whose whole name appears in ``text`` (the longest names when several do)."""
        words = _tokens(text)
        found = [(len(tokens), e.roll) for tokens, e in self.names if _contains(words, tokens)]
        longest = max((n for n, _ in found), default=0)
        return {roll for n, roll in found if n == longest}

    def _by_roll(self, text: str) -> set[str]:
        """Students whose roll number is a word of ``text``; short ones only match at the start
        of the file name, so that 'Experiment 2' does not name student 2."""
        words = _tokens(text)
        return {e.roll for e in self.roster or []
                if len(e.roll) >= 4 and _contains(words, _tokens(e.roll))}


def _roll_without_roster(item: _Input) -> tuple[str | None, str]:
    if item.roll is not None:
        return item.roll, ""
    roll = _file_roll(item.original_name)
    if ROLL_LIKE.fullmatch(roll) and any(c.isdigit() for c in roll):
        return roll, ""
    return None, ("cannot tell whose file this is: without a roster, name it <roll number>.ipynb "
                  "or <roll number>_<anything>.ipynb")


def _file_roll(name: str) -> str:
    """The part of the file name before the first '_' (the ``<roll>_anything.ipynb`` convention)."""
    return PurePosixPath(name).stem.split("_", 1)[0].strip()


def _lms_names(name: str) -> list[str]:
    """Student names an LMS put in the path: Moodle's folder, Google Classroom's prefix."""
    path = PurePosixPath(name)
    names = [m["name"] for part in path.parts[:-1] if (m := MOODLE_FOLDER.match(part))]
    if " - " in path.stem:
        names.append(path.stem.split(" - ", 1)[0])
    return names


def _path_text(name: str) -> str:
    """The path's words without Moodle participant ids and without the extension."""
    path = PurePosixPath(name)
    parts = [m["name"] if (m := MOODLE_FOLDER.match(p)) else p for p in path.parts[:-1]]
    return " ".join([*parts, path.stem])


def _tokens(text: str) -> tuple[str, ...]:
    """Words for matching names: case, spacing, punctuation and Latin diacritics ignored."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(" " if unicodedata.category(c)[0] in "ZPSC" else c for c in decomposed
                   if not "\u0300" <= c <= "\u036f")
    return tuple(kept.casefold().split())


def _contains(words: tuple[str, ...], part: tuple[str, ...]) -> bool:
    n = len(part)
    return n > 0 and any(words[i:i + n] == part for i in range(len(words) - n + 1))


# --------------------------------------------------------------------------- sources

@contextmanager
def _inputs(source: Path, experiment_id: str,
            limits: Limits) -> Iterator[tuple[list[_Input], list[str]]]:
    """The inputs of ``source`` and the names it ignored; open while the block runs."""
    if source.is_dir():
        inbound = _inbound_folder(source)
        yield _exchange_inputs(inbound, experiment_id) if inbound else _folder_inputs(source)
    elif zipfile.is_zipfile(source):
        try:
            archive = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, OSError) as exc:
            raise CollectError(f"unreadable zip file: {exc}", where=str(source),
                               fix="download it again") from None
        with archive:
            yield _zip_inputs(archive, source, limits)
    elif source.suffix.lower() == ".zip":
        raise CollectError("not a readable zip file", where=str(source),
                           fix="download it again; the download may be incomplete")
    else:
        yield [_file_input(source, source.name)], []


def _folder_inputs(folder: Path) -> tuple[list[_Input], list[str]]:
    inputs, ignored = [], []
    for path in sorted(folder.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            continue
        name = path.relative_to(folder).as_posix()
        if _is_junk(name):
            ignored.append(name)
        elif path.is_symlink():
            inputs.append(_Input(name, _mtime(path.parent), _no_bytes,
                                 problem="a link, not a file: submit the notebook itself"))
        else:
            inputs.append(_file_input(path, name))
    return inputs, ignored


def _inbound_folder(source: Path) -> Path | None:
    """The nbgrader ``inbound`` folder: ``source`` itself, or inside it or one level down."""
    if source.name == "inbound":
        return source
    found = [source / "inbound"] if (source / "inbound").is_dir() else sorted(
        p for p in source.glob("*/inbound") if p.is_dir())
    if len(found) > 1:
        raise CollectError("several courses in this nbgrader exchange", where=str(source),
                           fix="give one course's inbound folder: "
                               + ", ".join(str(p) for p in found))
    return found[0] if found else None


def _exchange_inputs(inbound: Path, experiment_id: str) -> tuple[list[_Input], list[str]]:
    """The notebooks of ``<student>+<experiment>+<timestamp>`` folders; the timestamp is arrival."""
    inputs, ignored = [], []
    for folder in sorted(inbound.iterdir()):
        match = NBGRADER_FOLDER.match(folder.name)
        if not folder.is_dir() or match is None or match["assignment"] != experiment_id:
            ignored.append(folder.name)
            continue
        arrived = _nbgrader_time(match["timestamp"])
        for path in sorted(folder.rglob("*.ipynb")):
            name = f"{folder.name}/{path.relative_to(folder).as_posix()}"
            if _is_junk(name) or not path.is_file():
                ignored.append(name)
            else:
                inputs.append(_file_input(path, name, arrived, roll=match["student"]))
    return inputs, ignored


def _file_input(path: Path, name: str, arrived: dt.datetime | None = None,
                roll: str | None = None) -> _Input:
    return _Input(name, arrived or _mtime(path), lambda limit: _read_file(path, limit), roll)


def _read_file(path: Path, limit: int) -> bytes:
    size = path.stat().st_size
    if size > limit:
        raise _Rejected(_too_large(size, limit))
    with path.open("rb") as stream:
        return _read_at_most(stream, limit)


def _zip_inputs(archive: zipfile.ZipFile, path: Path,
                limits: Limits) -> tuple[list[_Input], list[str]]:
    """The members of a zip, refused as a whole when it unpacks to more than the limit."""
    members = [info for info in archive.infolist() if not info.is_dir()]
    total = sum(info.file_size for info in members)
    if total > limits.zip_bytes:
        raise CollectError(f"zip refused: it unpacks to {total / MB:.0f} MB, over the "
                           f"{limits.zip_bytes / MB:.0f} MB limit (a zip bomb?)", where=str(path),
                           fix=f"check the file; if it is real, collect it again with "
                               f"--max-zip-mb {math.ceil(total / MB) + 1} (dlkit collect)")
    reader = _ZipReader(archive, limits.zip_bytes)
    inputs, ignored = [], []
    for info in members:
        name = _member_name(info)
        arrived = _zip_time(info) or _mtime(path)
        problem = _member_problem(name, info, limits)
        if not problem and _is_junk(name):
            ignored.append(name)
        else:
            inputs.append(_Input(name, arrived, lambda limit, i=info: reader.read(i, limit),
                                 problem=problem))
    return inputs, ignored


class _ZipReader:
    """Reads members in memory; all of them together may not exceed ``budget`` bytes."""

    def __init__(self, archive: zipfile.ZipFile, budget: int) -> None:
        self.archive, self.budget = archive, budget

    def read(self, info: zipfile.ZipInfo, limit: int) -> bytes:
        if info.file_size > limit:
            raise _Rejected(_too_large(info.file_size, limit))
        try:
            with self.archive.open(info) as stream:
                data = _read_at_most(stream, min(limit, self.budget))
        except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError,
                OSError) as exc:
            raise _Rejected(f"damaged zip member ({exc}); download the zip again") from None
        self.budget -= len(data)
        return data


def _member_problem(name: str, info: zipfile.ZipInfo, limits: Limits) -> str:
    """Why a zip member is refused before reading it, or ''."""
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in name.split("/"):
        return "unsafe path in the zip (absolute or with '..'): refused, nothing extracted"
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > MB and ratio > limits.compression_ratio:
        return (f"refused as a possible zip bomb: compressed {ratio:.0f}:1, over the "
                f"{limits.compression_ratio:.0f}:1 limit")
    return ""


def _read_at_most(stream: BinaryIO, limit: int) -> bytes:
    """All of ``stream``, or :class:`_Rejected` as soon as more than ``limit`` bytes come."""
    chunks, size = [], 0
    while chunk := stream.read(MB):
        size += len(chunk)
        if size > limit:
            raise _Rejected(_too_large(size, limit, more=True))
        chunks.append(chunk)
    return b"".join(chunks)


def _member_name(info: zipfile.ZipInfo) -> str:
    """The member's name with '/' separators; UTF-8 names not flagged as such are decoded."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name.replace("\\", "/")


def _is_junk(name: str) -> bool:
    """Hidden files, Jupyter checkpoints and OS droppings: not submissions."""
    return any(p.startswith(".") or p.casefold() in JUNK_NAMES for p in name.split("/"))


def _no_bytes(limit: int) -> bytes:
    return b""


def _too_large(size: int, limit: int, more: bool = False) -> str:
    amount = f"more than {limit / MB:.1f} MB" if more else f"{size / MB:.1f} MB"
    return (f"file too large ({amount}; the limit is {limit / MB:.0f} MB): clear the outputs "
            "(Kernel > Restart & Clear Output), save and submit again")


# --------------------------------------------------------------------------- times

def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    """Naive UTC; a naive ``moment`` is taken as local time."""
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _mtime(path: Path) -> dt.datetime:
    stamp = path.lstat().st_mtime
    return dt.datetime.fromtimestamp(stamp, dt.UTC).replace(tzinfo=None)


def _zip_time(info: zipfile.ZipInfo) -> dt.datetime | None:
    try:
        return _utc(dt.datetime(*info.date_time))
    except ValueError:
        return None


def _nbgrader_time(text: str) -> dt.datetime | None:
    """``2026-11-20 10:15:03.123456 UTC`` (nbgrader's format) as naive UTC."""
    text = text.strip()
    if text.endswith(" UTC"):
        text = text[:-4] + "+00:00"
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return _utc(moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC))


def _late_seconds(arrived: dt.datetime, due: dt.datetime | None) -> float:
    return max(0.0, (arrived - due).total_seconds()) if due is not None else 0.0


