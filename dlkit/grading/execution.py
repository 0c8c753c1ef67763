"""What a run's exports came from, so that a regrade can judge them again instead of re-running.

A test's verdict is a pure function of its exports and its judge half; its exports are a
function of the notebook, the extract half, what the run was given (the dataset map, the
limits) and the kit's extract protocol. Each run records per test an *extract digest* of those
and a *judge digest* of its judge half (:class:`Execution`), with the sha256 of every file it
kept under ``graded/<exp>/<id>/exports/``. A regrade whose tests' extract digests all match,
and whose kept exports are still byte for byte what the run received, is judged again on them
(:func:`rejudge_decision`); any other is run again. Only the tests whose judge digest changed
are judged again; the others keep their verdicts (their points come from the current plan).

Identical notebooks (the same cells, sources byte for byte, once outputs, execution counts,
ids and metadata are removed: :func:`notebook_digest`) are run once per batch; each is recorded
with a run of its own that points at the shared execution, its exports copied
(:func:`copy_exports`) so that it can be re-judged on its own later.

The kept exports were written by the trusted side from the channel, but they are still read
as the runner reads a work folder: no link followed, regular files with one link, size-capped.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dlkit.grading.channel import CAPS, EXPORT_NAME, TEST_ID, ChannelError, open_folder, open_regular

#: The kit's extract protocol: bump it whenever what an extract half exports for the same
#: notebook can change (the runner, the kernel's prelude and its data view, the export
#: formats of :func:`dlkit.checks.export`). Runs recorded under another protocol are re-run.
EXTRACT_PROTOCOL = 1

#: how a run came about (the gradebook's ``Run.origin``)
EXECUTED, REJUDGED, SHARED = "executed", "re-judged", "shared"


def sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def given_digest(notebook: bytes, name: str, datasets: tuple[tuple[str, str], ...],
                 limits: Any) -> str:
    """What one run was given besides the tests: the notebook (its :func:`notebook_digest`,
    so that identical notebooks share one execution), its file name, the course's dataset map
    and the limits it ran under (a new time limit can end it elsewhere)."""
    cells = notebook_digest(notebook) or "bytes " + sha256(notebook)
    return sha256(json.dumps({"notebook": cells, "name": name,
                              "datasets": [list(pair) for pair in datasets],
                              "limits": [float(limits.seconds), int(limits.memory_bytes),
                                         float(limits.wall_factor)]}, sort_keys=True))


def extract_digest(extract: str, given: str) -> str:
    """What produced a test's exports: the extract protocol, the run's inputs, its extract half."""
    return sha256(f"protocol {EXTRACT_PROTOCOL}\0{given}\0{extract}")


def judge_digest(judge: str, context: str) -> str:
    """What a test's verdict on given exports depends on: its judge half, and the kit's
    judging ``context`` (:func:`judging_context`)."""
    return sha256(f"{context}\0{judge}")


#: the kit's files a verdict depends on besides the judge half: its helpers and protocol
JUDGING_FILES = ("checks.py", "grading/judge.py", "grading/channel.py")


def judging_context() -> str:
    """The kit's side of every verdict: its version, the judges' helpers and protocol
    (:data:`JUDGING_FILES`) and every registered threshold (a judge half reads them by name),
    so that a verdict is reused only where none of these changed."""
    import dlkit
    from dlkit import __version__
    from dlkit.experiments import EXPERIMENTS

    package = Path(dlkit.__file__).parent
    thresholds = {e.id: {name: repr(t.value) for name, t in sorted(e.thresholds.items())}
                  for e in EXPERIMENTS.values()}
    return sha256(json.dumps({"version": __version__, "thresholds": thresholds,
                              "files": {f: sha256((package / f).read_bytes())
                                        for f in JUDGING_FILES}}, sort_keys=True))


def judge_digests(tests: Any) -> dict[str, str]:
    """Test id -> :func:`judge_digest` of each of ``tests`` (planned tests)."""
    context = judging_context()
    return {t.id: judge_digest(t.judge, context) for t in tests}


def notebook_digest(notebook: bytes) -> str | None:
    """The digest of a notebook's cells with outputs, execution counts, ids and metadata
    removed (type, source and attachments kept byte for byte, in order); None when it is not
    a notebook. Equal digests run alike: same code, same cell numbers, same markdown."""
    try:
        nb = json.loads(notebook)
        cells = nb["cells"]
        kept = [[cell["cell_type"], _text(cell.get("source", "")), cell.get("attachments") or {}]
                for cell in cells]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return sha256(json.dumps(kept, sort_keys=True, ensure_ascii=False))


def _text(source: Any) -> str:
    if isinstance(source, list):
        if not all(isinstance(part, str) for part in source):
            raise TypeError("a cell source that is not text")
        return "".join(source)
    if not isinstance(source, str):
        raise TypeError("a cell source that is not text")
    return source


# --------------------------------------------------------------------------- the record

@dataclass
class Execution:
    """One execution of a notebook as a regrade needs it (stored as JSON in ``Run.execution``):
    the run's own status before judging, where it stopped, what could not be collected, and
    the digests that say whether its exports still answer the current tests."""

    status: str
    reason: str = ""
    #: the error the notebook stopped at (the gradebook's ``Run.error``), {} if it ran through
    stopped: dict = field(default_factory=dict)
    #: test id -> why the runner could not collect it
    uncollected: dict[str, str] = field(default_factory=dict)
    #: questions whose cells came after the stop
    unrun: list[str] = field(default_factory=list)
    #: the notebook comes from the released starter (its cell numbers mean something)
    from_starter: bool = False
    #: test id -> :func:`extract_digest`, and -> :func:`judge_digest`
    extracts: dict[str, str] = field(default_factory=dict)
    judges: dict[str, str] = field(default_factory=dict)
    #: file (``<test>/<name>``) -> sha256 of what the run kept under ``exports/``
    exports: dict[str, str] = field(default_factory=dict)
    #: test id -> the judge's verdict under ``judges[test]`` (grader failures left out): kept
    #: by a re-judge for each test whose judge digest did not change
    verdicts: dict[str, dict] = field(default_factory=dict)
    seconds: float = 0.0  # the execution's own wall time
    protocol: int = EXTRACT_PROTOCOL

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Execution | None:
        """The record, or None when there is none or it is not one this kit wrote."""
        try:
            value = json.loads(text) if text else None
            return cls(**value) if isinstance(value, dict) else None
        except (ValueError, TypeError):
            return None


def rejudge_decision(execution: Execution | None, expected: dict[str, str], kept: Path,
                     never: tuple[str, ...]) -> str:
    """"" when a run recorded as ``execution`` can be judged again for tests whose extract
    digests are ``expected`` (test id -> digest) on the exports kept in ``kept``; else why it
    must be run again. ``never``: statuses whose executions are never re-judged."""
    if execution is None:
        return "no record of what its exports came from"
    if execution.status in never:
        return f"its last run ended in {execution.status}"
    if execution.protocol != EXTRACT_PROTOCOL:
        return "it was run under another extract protocol"
    changed = sorted(t for t, digest in expected.items() if execution.extracts.get(t) != digest)
    if changed:
        return f"the extract half of {changed[0]}" + (f" and {len(changed) - 1} more"
                                                        if len(changed) > 1 else "") + " changed"
    try:
        if exports_manifest(kept) != execution.exports:
            return "its kept exports are not the ones its run received"
    except (OSError, ChannelError) as exc:
        return f"its kept exports cannot be read ({exc})"[:300]
    return ""


# --------------------------------------------------------------------------- kept exports

def kept_files(folder: Path):
    """``(test, name, the test folder's descriptor)`` of each file under a run's exports
    ``folder``, read as hostile data: the folder and its test folders opened without following
    links, only names as the channel writes them, at most the channel's files per test."""
    top = open_folder(str(folder))
    try:
        for test in sorted(os.listdir(top)):
            if not TEST_ID.match(test):
                raise ChannelError(f"{test[:60]!r} is not a test's folder")
            inner = open_folder(test, dir_fd=top)
            try:
                names = sorted(os.listdir(inner))
                if len(names) > CAPS.files_per_test:
                    raise ChannelError(f"{test} has more than {CAPS.files_per_test} files")
                for name in names:
                    if not EXPORT_NAME.match(name):
                        raise ChannelError(f"{test}/{name[:60]} is not an exported file")
                    yield test, name, inner
            finally:
                os.close(inner)
    finally:
        os.close(top)


def exports_manifest(folder: Path) -> dict[str, str]:
    """``<test>/<name>`` -> sha256 of each file under ``folder`` (:func:`kept_files`), each
    regular with one link, within the channel's caps."""
    manifest: dict[str, str] = {}
    total = 0
    for test, name, inner in kept_files(folder):
        digest, size = _file_digest(name, inner)
        total += size
        if total > CAPS.export_bytes:
            raise ChannelError("the kept exports are larger than the channel allows")
        manifest[f"{test}/{name}"] = digest
    return manifest


def _file_digest(name: str, folder: int) -> tuple[str, int]:
    fd, size = open_regular(name, folder, CAPS.file_bytes)
    try:
        digest = hashlib.sha256()
        while chunk := os.read(fd, 1 << 20):
            digest.update(chunk)
        return digest.hexdigest(), size
    finally:
        os.close(fd)


def copy_exports(source: Path, destination: Path) -> dict[str, str]:
    """Copy the kept exports of ``source`` into ``destination`` (made here, empty) under the
    rules of :func:`exports_manifest`; returns the copy's manifest."""
    destination.mkdir(mode=0o755)
    for test, name, inner in kept_files(source):
        (destination / test).mkdir(mode=0o755, exist_ok=True)
        _copy_one(name, inner, destination / test / name)
    return exports_manifest(destination)


def _copy_one(name: str, folder: int, target: Path) -> None:
    fd, _ = open_regular(name, folder, CAPS.file_bytes)
    try:
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                      stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
        with os.fdopen(out, "wb") as written:
            while chunk := os.read(fd, 1 << 20):
                written.write(chunk)
    finally:
        os.close(fd)
