"""The one channel out of a sandbox: framed messages on a pipe that only the sandboxed program
holds, read on the trusted side as hostile data.

A frame is a JSON header on one line, ``{"kind": ..., ...}``, followed by ``size`` raw bytes
when the header has a ``size``. The runner sends ``started``, the ``record`` of the run, the
``executed`` notebook, each test's exported ``file`` and the ``timings``, then ``end``; the
judge sends one ``verdict`` per test. The reader checks every frame before it is believed: a
known kind, typed fields, test ids of the plan, file names of the export formats, sizes under
the caps. Files are written into a folder the trusted side made, never over a link.

Inside the sandbox, :func:`read_regular` is how the runner reads what the student's kernel left
in the work folder: never through a link, only a regular file with one link, size-capped.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

#: longest header line the reader accepts
MAX_HEADER = 1 << 20
#: an exported file's name: an identifier and one of the safe formats, or the test's own records
EXPORT_NAME = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]{0,99}\.(?:keras|npy|npz)|exported\.json|outcome\.json)$")
#: a test id of a plan (question name, dash, index)
TEST_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}-[0-9]{1,3}$")


class ChannelError(ValueError):
    """A frame that breaks the channel's rules (the sender is not believed past it)."""


@dataclass(frozen=True)
class Caps:
    """What one run may send back."""

    #: the executed notebook, with its outputs
    executed_bytes: int = 32 * 2**20
    #: one exported file
    file_bytes: int = 512 * 2**20
    #: all exported files of a run together
    export_bytes: int = 1024 * 2**20
    #: exported files of one test
    files_per_test: int = 32
    #: the run record and the timings, each
    json_bytes: int = 4 * 2**20


CAPS = Caps()


# --------------------------------------------------------------------------- sending

class Sender:
    """The sandboxed side: frames written on the descriptor the sandbox passed."""

    def __init__(self, fd: int | None) -> None:
        if fd is not None:
            os.set_inheritable(fd, False)  # never passed on to the student's kernel
        self._out = os.fdopen(fd, "wb", buffering=0) if fd is not None else None

    @classmethod
    def from_environment(cls, name: str = "DLKIT_RESULT_FD") -> Sender:
        fd = os.environ.pop(name, "")
        return cls(int(fd) if fd.isdigit() else None)

    def send(self, kind: str, payload: bytes | None = None, **fields: Any) -> None:
        if self._out is None:
            return
        header = {"kind": kind, **fields}
        if payload is not None:
            header["size"] = len(payload)
        self._write(json.dumps(header).encode() + b"\n")
        if payload:
            self._write(payload)

    def send_file(self, test: str, name: str, fd: int, size: int) -> None:
        """A file's bytes, read from ``fd`` in chunks (the file was checked by :func:`open_regular`)."""
        if self._out is None:
            return
        self._write(json.dumps({"kind": "file", "test": test, "name": name,
                                "size": size}).encode() + b"\n")
        left = size
        while left:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:  # shorter than it said: pad, the header already promised the size
                chunk = b"\0" * left
            self._write(chunk[:left])
            left -= len(chunk[:left])

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._out.fileno(), view):]

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None


def open_regular(name: str, dir_fd: int, cap: int) -> tuple[int, int]:
    """Open ``name`` in the folder ``dir_fd`` for reading: never through a link, only a
    regular file with one link of at most ``cap`` bytes. Returns (fd, size); raises OSError
    or :class:`ChannelError`."""
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ChannelError(f"{name} is not a regular file")
        if info.st_nlink != 1:
            raise ChannelError(f"{name} has {info.st_nlink} links")
        if info.st_size > cap:
            raise ChannelError(f"{name} has {info.st_size:,} bytes (at most {cap:,})")
    except BaseException:
        os.close(fd)
        raise
    return fd, info.st_size


def open_folder(name: str, dir_fd: int | None = None) -> int:
    """A folder's descriptor, never through a link."""
    return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                   dir_fd=dir_fd)


def read_regular(path: Path, cap: int) -> bytes:
    """The bytes of ``path`` under the rules of :func:`open_regular` (its folder opened without
    following a link either)."""
    folder = open_folder(str(path.parent))
    try:
        fd, size = open_regular(path.name, folder, cap)
    finally:
        os.close(folder)
    try:
        chunks, left = [], size
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- receiving

@dataclass
class Received:
    """What a runner sent, checked; ``problems`` says where it broke the rules."""

    started: bool = False
    ended: bool = False
    record: dict | None = None
    executed: bytes = b""
    timings: dict = field(default_factory=dict)
    #: test id -> file names written under ``<exports>/<test id>/``
    files: dict[str, list[str]] = field(default_factory=dict)
    #: test id -> why the runner could not collect it
    uncollected: dict[str, str] = field(default_factory=dict)
    #: judge verdicts: test id -> verdict
    verdicts: dict[str, dict] = field(default_factory=dict)
    #: the test the judge said it was judging last
    judging: str = ""
    problems: list[str] = field(default_factory=list)
    export_bytes: int = 0
    #: a judge of several runs' kept exports: key -> its verdicts, the key it judges now, and
    #: the keys it finished
    batches: dict[str, dict[str, dict]] = field(default_factory=dict)
    current: str = ""
    done: list[str] = field(default_factory=list)


def receive(stream: BinaryIO, *, tests: set[str], exports: Path | None, caps: Caps,
            keys: frozenset[str] = frozenset()) -> Received:
    """Read frames from ``stream`` until it ends or breaks a rule; never raises for what it
    holds. Exported files go under ``exports`` (made by the caller, empty). ``keys``: the runs a
    judge of several runs' exports was given (their verdicts go to ``batches``)."""
    got = Received()
    try:
        while True:
            header = _header(stream)
            if header is None:
                break
            if header["kind"] in ("exports", "done"):
                _batch(header, got, keys)
            else:
                _frame(header, stream, got, tests, exports, caps)
    except (ChannelError, OSError) as exc:
        got.problems.append(str(exc)[:300])
    finally:  # what is left unread is not believed, and must not block the sender
        try:
            while stream.read(1 << 20):
                pass
        except (OSError, ValueError):
            pass
    return got


def _header(stream: BinaryIO) -> dict | None:
    line = stream.readline(MAX_HEADER + 1)
    if not line:
        return None
    if len(line) > MAX_HEADER or not line.endswith(b"\n"):
        raise ChannelError("a frame's header is too long or cut off")
    try:
        header = json.loads(line)
    except ValueError:
        raise ChannelError("a frame's header is not JSON") from None
    if not isinstance(header, dict) or not isinstance(header.get("kind"), str):
        raise ChannelError("a frame's header has no kind")
    size = header.get("size", 0)
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ChannelError("a frame's size is not a count of bytes")
    return header


def _payload(stream: BinaryIO, size: int, cap: int, what: str) -> bytes:
    if size > cap:
        raise ChannelError(f"{what} has {size:,} bytes (at most {cap:,})")
    data = stream.read(size)
    if len(data) != size:
        raise ChannelError(f"{what} was cut off")
    return data


def _json_payload(stream: BinaryIO, header: dict, caps: Caps, what: str) -> dict:
    data = _payload(stream, header.get("size", 0), caps.json_bytes, what)
    try:
        value = json.loads(data)
    except ValueError:
        raise ChannelError(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise ChannelError(f"{what} is not an object")
    return value


def _frame(header: dict, stream: BinaryIO, got: Received, tests: set[str], exports: Path | None,
           caps: Caps) -> None:
    kind = header["kind"]
    if kind == "started":
        got.started = True
    elif kind == "end":
        got.ended = True
    elif kind == "record":
        got.record = _json_payload(stream, header, caps, "the run record")
    elif kind == "timings":
        got.timings = _json_payload(stream, header, caps, "the timings")
    elif kind == "executed":
        got.executed = _payload(stream, header.get("size", 0), caps.executed_bytes,
                                "the executed notebook")
    elif kind == "uncollected":
        test, why = header.get("test"), header.get("why")
        if test not in tests or not isinstance(why, str):
            raise ChannelError("an uncollected test that is not in the plan")
        got.uncollected[test] = why[:300]
    elif kind == "file":
        _file(header, stream, got, tests, exports, caps)
    elif kind == "judging":
        if header.get("test") not in tests:
            raise ChannelError("judging a test that is not in the plan")
        got.judging = header["test"]
    elif kind == "verdict":
        test, verdict = header.get("test"), header.get("verdict")
        if test not in tests:
            raise ChannelError("a verdict for a test that is not in the plan")
        (got.batches[got.current] if got.current else got.verdicts)[test] = \
            checked_verdict(verdict)
    else:
        raise ChannelError(f"an unknown frame {kind[:40]!r}")


def _batch(header: dict, got: Received, keys: frozenset[str]) -> None:
    """A judge of several runs starts (``exports``) or ends (``done``) the run ``key``: each
    key once, in turn."""
    key = header.get("key")
    if not isinstance(key, str) or key not in keys:
        raise ChannelError("judging exports the judge was not given")
    if header["kind"] == "exports":
        if got.current or key in got.batches:
            raise ChannelError(f"the judge started {key[:40]!r} out of turn")
        got.current, got.batches[key], got.judging = key, {}, ""
    else:
        if key != got.current:
            raise ChannelError(f"the judge ended {key[:40]!r} out of turn")
        got.done.append(key)
        got.current = ""


def _file(header: dict, stream: BinaryIO, got: Received, tests: set[str], exports: Path | None,
          caps: Caps) -> None:
    test, name, size = header.get("test"), header.get("name"), header["size"]
    if test not in tests or not isinstance(name, str) or not EXPORT_NAME.match(name):
        raise ChannelError(f"an exported file that is not allowed ({str(name)[:60]!r} of "
                           f"{str(test)[:60]!r})")
    names = got.files.setdefault(test, [])
    if name in names or len(names) >= caps.files_per_test:
        raise ChannelError(f"too many or repeated files for {test}")
    if size > caps.file_bytes or got.export_bytes + size > caps.export_bytes:
        raise ChannelError(f"the exports are larger than {caps.export_bytes / 2**20:g} MB")
    if exports is None:
        raise ChannelError("this channel carries no files")
    folder = exports / test
    folder.mkdir(exist_ok=True)
    fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o644)
    with os.fdopen(fd, "wb") as out:
        left = size
        while left:
            chunk = stream.read(min(left, 1 << 20))
            if not chunk:
                raise ChannelError(f"{test}/{name} was cut off")
            out.write(chunk)
            left -= len(chunk)
    names.append(name)
    got.export_bytes += size


#: the most labels (a judge's words: the data it measured on, the inputs' scaling) a verdict keeps
MAX_LABELS = 8


def checked_verdict(verdict: Any) -> dict:
    """A judge's verdict with every field of the right type, or :class:`ChannelError`."""
    if not isinstance(verdict, dict) or not isinstance(verdict.get("passed"), bool):
        raise ChannelError("a verdict without passed")
    message = verdict.get("message", "")
    measured = verdict.get("measured") or {}
    if not isinstance(message, str) or not isinstance(measured, dict) or not all(
            isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
            for k, v in measured.items()):
        raise ChannelError("a verdict with fields of the wrong type")
    out = {"passed": verdict["passed"], "message": message[:2000],
           "measured": {k[:100]: float(v) for k, v in list(measured.items())[:20]}}
    labels = verdict.get("labels") or {}
    if not isinstance(labels, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                               for k, v in labels.items()):
        raise ChannelError("a verdict with labels of the wrong type")
    if labels:
        out["labels"] = {k[:40]: v[:200] for k, v in list(labels.items())[:MAX_LABELS]}
    if verdict.get("manual") is True:
        out["manual"] = True
    if verdict.get("missing") is True:
        out["missing"] = True
    if isinstance(verdict.get("grader_failure"), bool):
        out["grader_failure"] = verdict["grader_failure"]
    return out
