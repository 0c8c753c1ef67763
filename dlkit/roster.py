"""The class roster: ``roster.csv`` read and checked, then copied into the gradebook's students.

Columns (header names in any case): roll, name, batch, email; optionally prn, division.
Every problem is reported at once, each with the line a user sees in an editor (header = line 1).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Collection, Iterable
from dataclasses import dataclass, fields
from pathlib import Path

from dlkit.errors import RosterError
from dlkit.gradebook import Extension, Gradebook, Student

REQUIRED_COLUMNS = ("roll", "name", "batch", "email")
OPTIONAL_COLUMNS = ("prn", "division")


@dataclass(frozen=True)
class RosterEntry:
    """One student of the roster; ``roll`` is the roll number that names their submissions."""

    roll: str
    name: str
    batch: str
    email: str
    prn: str = ""
    division: str = ""


@dataclass(frozen=True)
class RosterSync:
    """What :func:`sync_roster` changed in the gradebook (roll numbers)."""

    added: list[str]
    updated: list[str]
    unchanged: list[str]


def read_roster(path: Path, *, batches: Collection[str] | None = None) -> list[RosterEntry]:
    """The roster's students in file order; raises :class:`RosterError` listing every problem.

    ``batches``, when given, are the only batch names allowed (compared ignoring case).
    """
    path = Path(path)
    rows = _csv_rows(path)
    if not rows:
        header = ",".join(REQUIRED_COLUMNS)
        raise RosterError(str(path), [f"{path.name} line 1: empty file; the header must be {header}"])
    header_line, header = rows[0]
    columns, problems = _columns(header)
    if problems:
        raise RosterError(str(path), [f"{path.name} line {header_line}: {p}" for p in problems])
    entries, problems = _entries(rows[1:], columns, batches)
    if problems:
        raise RosterError(str(path), [f"{path.name} line {line}: {p}" for line, p in problems])
    return entries


def sync_roster(gradebook: Gradebook, entries: Iterable[RosterEntry]) -> RosterSync:
    """Insert or update one Student row per entry; students not in ``entries`` are kept."""
    added, updated, unchanged = [], [], []
    names = [f.name for f in fields(RosterEntry)]
    with gradebook.session() as session:
        for entry in entries:
            student = session.get(Student, entry.roll)
            if student is None:
                session.add(Student(**{name: getattr(entry, name) for name in names}))
                added.append(entry.roll)
            elif any(getattr(student, name) != getattr(entry, name) for name in names):
                for name in names:
                    setattr(student, name, getattr(entry, name))
                updated.append(entry.roll)
            else:
                unchanged.append(entry.roll)
    return RosterSync(added, updated, unchanged)


def _csv_rows(path: Path) -> list[tuple[int, list[str]]]:
    """Non-blank CSV records with the line each starts on; UTF-8 with or without a BOM."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RosterError(str(path), [f"{path.name}: cannot read: {exc.strerror}"]) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problem = f"{path.name} line {line}: not UTF-8 text; save the file as 'CSV UTF-8'"
        raise RosterError(str(path), [problem]) from None
    return csv_records(text)


def csv_records(text: str) -> list[tuple[int, list[str]]]:
    """Non-blank CSV records (cells trimmed) with the line each starts on, as a user counts."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows, line = [], 1
    for record in reader:
        if any(cell.strip() for cell in record):
            rows.append((line, [cell.strip() for cell in record]))
        line = reader.line_num + 1
    return rows


def _columns(header: list[str]) -> tuple[dict[str, int], list[str]]:
    """The index of each known column, and the problems of the header."""
    columns: dict[str, int] = {}
    problems = []
    for index, cell in enumerate(header):
        name = cell.casefold()
        if name in columns:
            problems.append(f"column {name!r} appears twice")
        elif name in REQUIRED_COLUMNS + OPTIONAL_COLUMNS:
            columns[name] = index
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        problems.append(f"missing required column(s) {', '.join(missing)}; the header must have "
                        f"{', '.join(REQUIRED_COLUMNS)} (and may have {', '.join(OPTIONAL_COLUMNS)})")
    return columns, problems


def _entries(rows: list[tuple[int, list[str]]], columns: dict[str, int],
             batches: Collection[str] | None) -> tuple[list[RosterEntry], list[tuple[int, str]]]:
    """The entries of the data rows, and (line, problem) for each problem found."""
    known_batches = {b.casefold(): b for b in batches} if batches is not None else None
    entries: list[RosterEntry] = []
    problems: list[tuple[int, str]] = []
    first_line: dict[str, int] = {}
    for line, cells in rows:
        values = {name: cells[i] if i < len(cells) else "" for name, i in columns.items()}
        entry = RosterEntry(**values)
        if not entry.roll:
            problems.append((line, "empty roll number"))
        elif entry.roll.casefold() in first_line:
            other = first_line[entry.roll.casefold()]
            problems.append((line, f"duplicate roll number {entry.roll!r} (also on line {other})"))
        else:
            first_line[entry.roll.casefold()] = line
        if not entry.name:
            problems.append((line, "empty name"))
        if known_batches is not None:
            if entry.batch.casefold() in known_batches:
                entry = RosterEntry(**{**values, "batch": known_batches[entry.batch.casefold()]})
            else:
                known = ", ".join(sorted(known_batches.values()))
                problems.append((line, f"unknown batch {entry.batch!r} (batches: {known})"))
        entries.append(entry)
    return entries, problems


def extend_deadline(gradebook: Gradebook, roll: str, experiment_id: str, until: dt.datetime, *,
                    course_folder: Path | None = None, by: str = "instructor",
                    note: str = "") -> Extension:
    """Give one student a later deadline for one experiment. A time written without a zone
    is in the course's time zone (``time_zone`` of the course file); the gradebook keeps UTC.
    The portal takes their uploads until then, and the late policy counts from it (portal,
    CSV and term-work report alike)."""
    from dlkit.experiments import get as get_experiment
    from dlkit.reports.course import find_course

    experiment = get_experiment(experiment_id)
    if until.tzinfo is None:
        course = find_course(course_folder)
        zone = course.zone if course is not None else dt.datetime.now().astimezone().tzinfo
        until = until.replace(tzinfo=zone)
    return gradebook.grant_extension(roll, experiment.id, until, by, note)
