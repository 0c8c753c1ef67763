"""A batch of notebooks compared: read, boilerplate taken out, every pair scored and listed.

``similarity_report`` reads the newest submissions from the gradebook; ``compare_notebooks``
does the same on files given by path (the benchmark, a folder of last year's notebooks).
Nothing here writes a file: ``views`` renders what comes back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dlkit.experiments import get as get_experiment
from dlkit.similarity.analysis import (
    Fingerprint,
    Notebook,
    Settings,
    SimilarityError,
    SimilarityReport,
    Skipped,
    clusters,
    common_hashes,
    compare,
    list_pairs,
    list_sources,
    notebooks_with,
)
from dlkit.similarity.cells import (
    MAX_CODE_CHARS,
    REFERENCE_SUFFIXES,
    clean_cell,
    code_cells,
    cut,
    given_lines,
    own_code,
    public_test_code,
)
from dlkit.similarity.manual import from_manual, kit_digests

if TYPE_CHECKING:
    from dlkit.gradebook import Gradebook

log = logging.getLogger(__name__)
DEFAULTS = Settings()


@dataclass(frozen=True)
class Entry:
    """A notebook to compare: its key (roll number or file name), a label and its file."""

    key: str
    label: str
    path: Path


def similarity_report_path(course: Path, experiment_id: str) -> Path:
    """Where the report of an experiment is (or will be): link to it when it exists."""
    return course / "reports" / "similarity" / experiment_id / "index.html"


def similarity_report(experiment_id: str, *, course: Path, gradebook: Gradebook,
                      against: Path | None = None, templates: Sequence[Path] = (),
                      common_share: float = Settings.common_share,
                      outlier: float = Settings.outlier,
                      threshold: float | None = Settings.threshold,
                      source_share: float = Settings.source_share) -> SimilarityReport:
    """Score every pair of the newest submissions of ``experiment_id`` with the released
    starter, the ``templates`` files and the code under ``against`` (each student is also
    compared with every file there) taken out as boilerplate; nothing is written."""
    from dlkit import queries

    experiment = get_experiment(experiment_id)
    starter_path = experiment.root / "release" / experiment.id / f"{experiment.id}.ipynb"
    try:
        starter = code_cells(starter_path)
    except ValueError as exc:
        raise SimilarityError(f"cannot read the released starter notebook: {exc}",
                              where=str(starter_path),
                              fix=f"run `dlkit release {experiment.id}` first") from None
    submissions = gradebook.latest_submissions(experiment.id)
    if not submissions:
        raise SimilarityError(f"no submissions of {experiment.id} collected",
                              where=str(course),
                              fix=f"run `dlkit collect {experiment.id} SOURCE` first")
    with gradebook.session() as session:
        names = queries.student_names(session)
    students = [Entry(s.student_roll, _label(names.get(s.student_roll), s.student_roll),
                      course / s.path) for s in submissions]
    return compare_notebooks(
        students, experiment=experiment.id, title=experiment.title,
        starter=starter + public_test_code(starter_path.parent / "tests"),
        templates=templates, against=reference_entries(against) if against else (),
        settings=Settings(common_share, outlier, threshold, source_share))


def reference_entries(folder: Path) -> list[Entry]:
    """The notebooks, .py, .md and .txt files under ``folder``, named by their path in it."""
    files = sorted(p for p in folder.rglob("*")
                   if p.suffix.lower() in REFERENCE_SUFFIXES and p.is_file())
    if not files:
        raise SimilarityError("no notebooks, .py, .md or .txt files to compare against",
                              where=str(folder),
                              fix="put the lab manual's code or last year's notebooks there")
    return [Entry(p.relative_to(folder).as_posix(), "", p) for p in files]


def compare_notebooks(students: Iterable[Entry], *, experiment: str = "", title: str = "",
                      starter: Sequence[str] = (), templates: Sequence[Path] = (),
                      against: Sequence[Entry] = (), settings: Settings = DEFAULTS,
                      manual: frozenset[int] | None = None) -> SimilarityReport:
    """Every pair of ``students`` scored, and each student against each of ``against``.

    ``starter`` is code cells whose lines are dropped and whose k-grams are boilerplate; the
    ``templates`` files' k-grams are boilerplate too; so are the lab manual's listings (the
    kit's digests of them, :mod:`dlkit.similarity.manual`, or ``manual``), the ``against``
    files' and the k-grams of more than ``settings.common_share`` of the students, between
    students only."""
    given = given_lines(starter)
    boilerplate = {"starter": _hashes(clean_cell(s) for s in starter)}
    for path in templates:
        try:
            boilerplate[f"template {path.name}"] = _hashes(code_cells(path))
        except (ValueError, OSError) as exc:
            raise SimilarityError(f"cannot read the template: {exc}", where=str(path),
                                  fix="give a notebook, .py, .md or .txt file") from None
    removed = frozenset().union(*boilerplate.values())

    reader = _Reader(given, removed)
    batch = reader.read_all(students)
    skipped, empty = reader.skipped, reader.empty
    reader.skipped, reader.empty = [], []
    sources = reader.read_all(against)
    for problem in reader.skipped:
        log.warning("source %s not compared: %s", problem.path, problem.reason)
    digests = kit_digests() if manual is None else manual  # between students only, as below
    boilerplate["from the lab manual"] = copied = set().union(
        *(from_manual(f, digests) for _, f in batch)) - removed

    between = common_hashes([f for _, f in batch], settings.common_share)
    source_hashes = set().union(*(f.index.keys() for _, f in sources)) if sources else set()
    counts = {**{k: len(v) for k, v in boilerplate.items()},
              "in the instructor's sources": len(source_hashes - between),
              f"in more than {settings.common_share:.0%} of the notebooks": len(between)}
    against_sources = [compare(n.key, f, s.key, g) for n, f in batch for s, g in sources]
    peers = [(n, f.keep(between | source_hashes | removed | copied)) for n, f in batch]
    counts_in_class = notebooks_with([f for _, f in peers])
    for _, f in peers:
        f.weigh(counts_in_class, len(peers))
    scored = [compare(a.key, f, b.key, g)
              for i, (a, f) in enumerate(peers) for b, g in peers[i + 1:]]
    pairs, base = list_pairs(scored, settings)
    return SimilarityReport(
        experiment=experiment, title=title, settings=settings,
        students=[_replace_tokens(n, f) for n, f in peers], references=[s for s, _ in sources],
        pairs=pairs, sources=list_sources(against_sources, settings),
        clusters=clusters(p for p in pairs if p.listed), baseline=base,
        boilerplate={k: v for k, v in counts.items() if v}, templates=[str(p) for p in templates],
        skipped=skipped, empty=empty)


def _hashes(cells: Iterable[str]) -> frozenset[int]:
    return frozenset(Fingerprint.of("\n".join(cells)).index)


def _replace_tokens(notebook: Notebook, fingerprint: Fingerprint) -> Notebook:
    from dataclasses import replace

    return replace(notebook, tokens=fingerprint.tokens)


def _label(name: str | None, roll: str) -> str:
    """A student's name, or "" where collect named the student after the roll number."""
    return "" if name is None or name == roll else name


class _Reader:
    """Reads notebooks into their own code and fingerprint, the given boilerplate out."""

    def __init__(self, given: frozenset[str], boilerplate: frozenset[int]) -> None:
        self.given, self.boilerplate = given, boilerplate
        self.skipped: list[Skipped] = []
        self.empty: list[Notebook] = []

    def read_all(self, entries: Iterable[Entry]) -> list[tuple[Notebook, Fingerprint]]:
        return [r for r in (self.read(e) for e in entries) if r is not None]

    def read(self, entry: Entry) -> tuple[Notebook, Fingerprint] | None:
        try:
            cells = code_cells(entry.path)
        except (ValueError, OSError) as exc:
            self.skipped.append(Skipped(entry.key, entry.label, entry.path, str(exc)))
            return None
        code, note = own_code(cells, self.given), ""
        if len(code) > MAX_CODE_CHARS:
            code, note = cut(code, MAX_CODE_CHARS), f"code cut at {MAX_CODE_CHARS} characters"
        fingerprint = Fingerprint.of(code).keep(self.boilerplate)
        notebook = Notebook(entry.key, entry.label, entry.path, code, fingerprint.tokens, note)
        if notebook.tokens == 0:
            self.empty.append(notebook)
            return None
        return notebook, fingerprint
