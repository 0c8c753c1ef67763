"""Which submissions of an experiment share their code: a report for the instructor.

It is evidence for a person to read, never an automatic penalty: nothing here touches marks.

    notebook ──► code cells ──► CLEANING_STEPS ──► the student's own code (shown in the report)
             ──► literals normalised ──► copydetect fingerprint (the starter's as boilerplate)
             ──► every pair scored (``compare_files``) ──► ranked pairs, clusters, sources
             ──► ``<course>/reports/similarity/<exp>/``: index.html, heatmap.png, pairs.csv

Only what a student wrote counts. The starter's given code, its public tests and the otter lines
are removed twice: exactly, line by line (``drop_given_lines``), and as copydetect boilerplate
(the released starter's fingerprint), which also catches given code a student re-indented.
copydetect tokenises with Pygments and winnows k-grams of the filtered tokens: comments and
whitespace vanish and names become ``V``/``F``; numbers are normalised here, before it
(``normalise_literals``), into names of the same length, so matched slices still point into the
student's own text. Winnowing uses a window of 1 (every k-gram): Python's string hashes change
from one process to the next and a wider window would make the scores change with them.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlkit.errors import DlkitError
from dlkit.experiments import get as get_experiment

if TYPE_CHECKING:
    from copydetect import CodeFingerprint

    from dlkit.gradebook import Gradebook

log = logging.getLogger(__name__)

#: copydetect's k: characters of filtered code (``V.V(V,V=S)`` ...) in one fingerprint.
K = 20
#: winnowing window; 1 keeps every k-gram, so scores do not depend on Python's hash seed.
WINDOW = 1
#: a pair is listed only when this many tokens match: two lines of the most common idiom in an
#: otherwise empty notebook are no evidence (a full Experiment 2 answer has 300-450).
MIN_MATCHED = 80
#: a notebook's own code beyond this many characters is cut (and the report says so), and so is
#: one cell's beyond MAX_CELL_CHARS: a typical Experiment 2 answer has 2,000-3,000.
MAX_CODE_CHARS = 60_000
MAX_CELL_CHARS = 20_000
#: a notebook file beyond this many bytes is not read at all.
MAX_FILE_BYTES = 50 * 1024 * 1024
#: cell magics whose body is still Python (the magic line alone is dropped).
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "python",
                                "python3", "tensorflow"})
#: files an instructor may put in the ``--against`` folder; .md/.txt give their fenced code.
REFERENCE_SUFFIXES = (".ipynb", ".py", ".md", ".txt")
_OTTER_LINE = re.compile(
    r"^\s*(import\s+otter\b|from\s+otter\b|grader\s*=\s*otter\.Notebook\s*\("
    r"|grader\.(check|check_all|export|run_plugin)\s*\()")
_SHELL_OR_MAGIC_LINE = re.compile(r"^\s*[!%]|^[^#'\"]*=\s*!")
_NUMBER = re.compile(
    r"(?<![\w.])(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+"
    r"|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?[jJ]?)(?![\w])")
_FENCE = re.compile(r"^[ \t]*(```|~~~)[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.MULTILINE | re.DOTALL)


class SimilarityError(DlkitError):
    """A similarity report that cannot be made (no starter released, nothing collected)."""


# --------------------------------------------------------------------------- records

@dataclass(frozen=True)
class Notebook:
    """One notebook's own code as compared: a student's submission or an instructor's source."""

    key: str  # the roll number, or the source's path inside the --against folder
    label: str  # the student's name, or "" for a source
    path: Path
    code: str  # the code that counts, as shown side by side
    tokens: int  # tokens fingerprinted (copydetect's token coverage)
    note: str = ""  # e.g. "code cut at 100000 characters"


@dataclass(frozen=True)
class Skipped:
    """A notebook that could not be compared, and why; the rest of the batch goes on."""

    key: str
    label: str
    path: Path
    reason: str


@dataclass(frozen=True)
class Match:
    """Two notebooks scored: the share of each one's code found in the other.

    ``regions_a``/``regions_b`` are the matched ``(start, end)`` character slices of each
    ``Notebook.code``; they are kept only for listed pairs.
    """

    a: str
    b: str
    share_a: float
    share_b: float
    tokens: int  # matched tokens of ``a``
    listed: bool = False  # at or above the threshold, with at least MIN_MATCHED tokens
    regions_a: tuple[tuple[int, int], ...] = ()
    regions_b: tuple[tuple[int, int], ...] = ()

    @property
    def score(self) -> float:
        """The larger share: a short notebook copied whole into a long one still shows."""
        return max(self.share_a, self.share_b)


@dataclass(frozen=True)
class Cluster:
    """Three or more students joined by listed pairs."""

    members: tuple[str, ...]
    pairs: int  # listed pairs among them
    top: float  # the highest score among those pairs


@dataclass
class SimilarityReport:
    experiment: str
    title: str
    threshold: float
    students: list[Notebook]
    references: list[Notebook]
    pairs: list[Match]  # every pair of students, highest score first
    sources: list[Match]  # listed (student, reference): the student's share >= threshold
    clusters: list[Cluster]
    skipped: list[Skipped] = field(default_factory=list)
    empty: list[Notebook] = field(default_factory=list)  # nothing of their own to compare

    @property
    def flagged(self) -> list[Match]:
        return [p for p in self.pairs if p.listed]

    def source_of(self, key: str) -> Match | None:
        """The instructor's source a student's code came from (the largest share), if any."""
        return max((m for m in self.sources if m.a == key), key=lambda m: m.share_a, default=None)

    def summary(self) -> str:
        text = (f"{self.experiment}: {len(self.students)} notebook(s) compared, "
                f"{len(self.flagged)} pair(s) listed (score >= {self.threshold:g}), "
                f"{len(self.clusters)} cluster(s) of 3 or more")
        if self.references:
            text += (f", {len({m.a for m in self.sources})} student(s) matching "
                     f"{len(self.references)} source(s)")
        lines = [text]
        lines += [f"  not compared  {s.key}: {s.reason}" for s in self.skipped]
        lines += [f"  no own code   {n.key}" for n in self.empty]
        return "\n".join(lines)


# --------------------------------------------------------------------------- cleaning steps

def drop_cell_magic(source: str) -> str:
    """A cell in another language (``%%bash``, ``%%html``, ...) is dropped whole; the first
    line of a Python cell magic (``%%time``) alone."""
    stripped = source.lstrip()
    if not stripped.startswith("%%"):
        return source
    first, _, body = stripped.partition("\n")
    name = first[2:].split(maxsplit=1)[0] if first[2:].strip() else ""
    return body if name in PYTHON_CELL_MAGICS else ""


def drop_shell_and_magic_lines(source: str) -> str:
    """``!pip install ...``, ``%matplotlib inline`` and ``files = !ls`` are not Python."""
    return _keep_lines(source, lambda line: not _SHELL_OR_MAGIC_LINE.match(line))


def drop_otter_lines(source: str) -> str:
    """``import otter``, ``grader = otter.Notebook(...)``, ``grader.check(...)``."""
    return _keep_lines(source, lambda line: not _OTTER_LINE.match(line))


def drop_given_lines(given: frozenset[str]) -> Callable[[str], str]:
    """A step that drops every line the starter already had (compared without whitespace)."""
    return lambda source: _keep_lines(source, lambda line: _bare(line) not in given)


def _bare(line: str) -> str:
    return "".join(line.split())


def _keep_lines(source: str, keep: Callable[[str], bool]) -> str:
    return "\n".join(line for line in source.splitlines() if keep(line))


#: the steps every code cell goes through, in order; ``drop_given_lines`` follows them.
#: A whole non-Python cell must go before its lines are looked at one by one (a test says so).
CLEANING_STEPS: tuple[Callable[[str], str], ...] = (
    drop_cell_magic, drop_shell_and_magic_lines, drop_otter_lines)


def clean_cell(source: str, steps: Sequence[Callable[[str], str]] = CLEANING_STEPS) -> str:
    for step in steps:
        source = step(source)
    return source


def given_lines(starter_cells: Iterable[str]) -> frozenset[str]:
    """The starter's code lines without whitespace, its ``...`` placeholders included."""
    lines = set()
    for source in starter_cells:
        lines.update(_bare(line) for line in clean_cell(source).splitlines())
    return frozenset(lines - {""})


def own_code(cells: Iterable[str], given: frozenset[str]) -> str:
    """The code that counts: every code cell cleaned, starter lines dropped, one header each."""
    steps = (*CLEANING_STEPS, drop_given_lines(given))
    parts = []
    for number, source in enumerate(cells, 1):
        code = clean_cell(source, steps).strip("\n")
        if len(code) > MAX_CELL_CHARS:
            kept = cut(code, MAX_CELL_CHARS)
            code = f"{kept}# [cut: {len(code) - len(kept)} more characters in this cell]"
        if code.strip():
            parts.append(f"# [code cell {number}]\n{code}\n")
    return "\n".join(parts)


def cut(text: str, limit: int) -> str:
    """``text`` up to ``limit`` characters, ending at a line's end where there is one."""
    if len(text) <= limit:
        return text
    return text[:text.rfind("\n", 0, limit) + 1 or limit]


def normalise_literals(code: str) -> str:
    """Every number becomes a name of the same length (``128`` -> ``nnn``), so copydetect sees
    ``V`` for it as for any name and its character slices still fit ``code``. Digits inside
    strings and comments change too, which copydetect folds or drops anyway; a regular
    expression does this ~50 times faster than a second pass of Pygments."""
    return _NUMBER.sub(lambda m: "n" * len(m.group()), code)


# --------------------------------------------------------------------------- reading files

def code_cells(path: Path) -> list[str]:
    """The sources of a notebook's code cells, or of a .py file, or of the fenced code blocks
    of a .md/.txt file. Raises ``ValueError`` with a reader's reason when it cannot."""
    if not path.is_file():
        raise ValueError("file missing")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ValueError(f"file larger than {MAX_FILE_BYTES // 2**20} MB")
    text = path.read_bytes().decode("utf-8", errors="replace")
    suffix = path.suffix.lower()
    if suffix == ".py":
        return [text]
    if suffix in (".md", ".txt"):
        return [m.group(2) for m in _FENCE.finditer(text)]
    try:
        content = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
                         ) from None
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    cells = content.get("cells") if isinstance(content, dict) else None
    if not isinstance(cells, list):
        raise ValueError("not a Jupyter notebook of format 4 (no list of cells)")
    return [_source(cell) for cell in cells
            if isinstance(cell, dict) and cell.get("cell_type") == "code"]


def public_test_code(folder: Path) -> list[str]:
    """The Python of the released public tests (otter's ``test = {...}`` doctest files), so a
    student who pasted a check into a cell is not matched on it."""
    import ast
    import doctest

    sources = []
    for path in sorted(folder.glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
            tests = [ast.literal_eval(node.value) for node in tree.body
                     if isinstance(node, ast.Assign) and len(node.targets) == 1
                     and getattr(node.targets[0], "id", None) == "test"]
            for suite in (s for test in tests for s in test.get("suites", [])):
                for case in suite.get("cases", []):
                    examples = doctest.DocTestParser().get_examples(case.get("code", ""))
                    sources.append("".join(e.source for e in examples))
        except (SyntaxError, ValueError, TypeError, AttributeError, OSError) as exc:
            log.warning("public tests %s not read: %s", path, exc)
    return sources


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        return "".join(part for part in source if isinstance(part, str))
    return source if isinstance(source, str) else ""


# --------------------------------------------------------------------------- the report

def similarity_report_path(course: Path, experiment_id: str) -> Path:
    """Where the report of an experiment is (or will be): link to it when it exists."""
    return course / "reports" / "similarity" / experiment_id / "index.html"


def similarity_report(experiment_id: str, *, course: Path, gradebook: Gradebook,
                      threshold: float = 0.6, against: Path | None = None) -> SimilarityReport:
    """Score every pair of the newest submissions of ``experiment_id`` (and each against the
    notebooks, .py, .md or .txt files under ``against``); nothing is written."""
    from sqlalchemy import select

    from dlkit.gradebook import Student

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
        names = {roll: name for roll, name in session.execute(select(Student.roll, Student.name))}

    comparer = _Comparer(starter + public_test_code(starter_path.parent / "tests"))
    students = [comparer.read(s.student_roll, _label(names.get(s.student_roll), s.student_roll),
                              course / s.path) for s in submissions]
    references = []
    if against is not None:
        files = sorted(p for p in against.rglob("*")
                       if p.suffix.lower() in REFERENCE_SUFFIXES and p.is_file())
        if not files:
            raise SimilarityError("no notebooks, .py, .md or .txt files to compare against",
                                  where=str(against),
                                  fix="put the lab manual's code or last year's notebooks there")
        references = [comparer.read(p.relative_to(against).as_posix(), "", p) for p in files]
    return comparer.report(experiment.id, experiment.title, threshold, students, references)


def _label(name: str | None, roll: str) -> str:
    """A student's name, or "" where collect named the student after the roll number."""
    return "" if name is None or name == roll else name


class _Comparer:
    """Fingerprints notebooks with the starter as boilerplate, and scores pairs of them."""

    def __init__(self, starter: list[str]) -> None:
        self.given = given_lines(starter)
        self.boilerplate = frozenset(self._fingerprint(
            "\n".join(clean_cell(source) for source in starter), frozenset()).hashes)
        self.fingerprints: dict[str, CodeFingerprint] = {}
        self.skipped: list[Skipped] = []
        self.empty: list[Notebook] = []

    def read(self, key: str, label: str, path: Path) -> Notebook | None:
        try:
            cells = code_cells(path)
        except (ValueError, OSError) as exc:
            self.skipped.append(Skipped(key, label, path, str(exc)))
            return None
        code, note = own_code(cells, self.given), ""
        if len(code) > MAX_CODE_CHARS:
            code, note = cut(code, MAX_CODE_CHARS), f"code cut at {MAX_CODE_CHARS} characters"
        fingerprint = self._fingerprint(code, self.boilerplate)
        notebook = Notebook(key, label, path, code, int(fingerprint.token_coverage), note)
        if notebook.tokens == 0:
            self.empty.append(notebook)
            return None
        self.fingerprints[key] = fingerprint
        return notebook

    @staticmethod
    def _fingerprint(code: str, boilerplate: frozenset) -> CodeFingerprint:
        """copydetect's fingerprint of ``code`` less the ``boilerplate`` hashes.

        The boilerplate is taken out here, not by ``CodeFingerprint(boilerplate=...)``: in
        copydetect 0.5.0 that argument reaches ``np.intersect1d(..., assume_unique=True)`` with
        the document's repeated hashes, which then drops every repeated k-gram but the last
        (two alike ``plt.plot(...)`` lines would show as unmatched and not count)."""
        from copydetect import CodeFingerprint
        from copydetect.utils import get_token_coverage

        fingerprint = CodeFingerprint("answer.py", K, WINDOW,
                                      fp=io.StringIO(normalise_literals(code)), language="python")
        given = fingerprint.hashes & boilerplate
        if given:
            fingerprint.hashes -= given
            for value in given:
                del fingerprint.hash_idx[value]
            fingerprint.token_coverage = get_token_coverage(fingerprint.hash_idx, K,
                                                            len(fingerprint.filtered_code))
        return fingerprint

    def compare(self, a: Notebook, b: Notebook, threshold: float, *, source: bool = False
                ) -> Match:
        """``a`` and ``b`` scored; listed when the score (with a ``source``, the share of
        ``a``) reaches ``threshold`` over at least MIN_MATCHED tokens."""
        from copydetect import compare_files

        first, second = self.fingerprints[a.key], self.fingerprints[b.key]
        if first.hashes.isdisjoint(second.hashes):
            return Match(a.key, b.key, 0.0, 0.0, 0)
        tokens, (share_a, share_b), (slices_a, slices_b) = compare_files(first, second)
        match = Match(a.key, b.key, min(float(share_a), 1.0), min(float(share_b), 1.0),
                      int(tokens))
        if (match.share_a if source else match.score) < threshold or match.tokens < MIN_MATCHED:
            return match
        return replace(match, listed=True, regions_a=_regions(slices_a, len(a.code)),
                       regions_b=_regions(slices_b, len(b.code)))

    def report(self, experiment: str, title: str, threshold: float,
               students: list[Notebook | None], references: list[Notebook | None]
               ) -> SimilarityReport:
        batch = [n for n in students if n is not None]
        sources = [n for n in references if n is not None]
        pairs = [self.compare(a, b, threshold)
                 for i, a in enumerate(batch) for b in batch[i + 1:]]
        pairs.sort(key=lambda p: (-p.score, p.a, p.b))
        found = [m for m in (self.compare(s, r, threshold, source=True)
                             for s in batch for r in sources) if m.listed]
        found.sort(key=lambda m: (-m.share_a, m.a, m.b))
        return SimilarityReport(
            experiment=experiment, title=title, threshold=threshold, students=batch,
            references=sources, pairs=pairs, sources=found,
            clusters=clusters(p for p in pairs if p.listed),
            skipped=list(self.skipped),
            empty=list(self.empty))


def _regions(slices, length: int) -> tuple[tuple[int, int], ...]:
    starts, ends = slices
    return tuple((max(0, int(s)), min(length, int(e))) for s, e in zip(starts, ends, strict=True)
                 if int(s) < int(e) and int(s) < length)


def clusters(pairs: Iterable[Match], smallest: int = 3) -> list[Cluster]:
    """Connected components of the pairs' graph with at least ``smallest`` members."""
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    pairs = list(pairs)
    for pair in pairs:
        parent[root(pair.a)] = root(pair.b)
    groups: dict[str, list[str]] = {}
    for key in parent:
        groups.setdefault(root(key), []).append(key)
    found = []
    for members in groups.values():
        if len(members) >= smallest:
            inside = [p for p in pairs if p.a in members]
            found.append(Cluster(tuple(sorted(members)), len(inside),
                                 max(p.score for p in inside)))
    return sorted(found, key=lambda c: (-len(c.members), -c.top, c.members))


# --------------------------------------------------------------------------- writing it

def write_similarity_report(report: SimilarityReport, course: Path) -> list[Path]:
    """``index.html`` (ranked pairs, clusters, sources, heat map, side by side), ``heatmap.png``
    and ``pairs.csv`` in ``<course>/reports/similarity/<exp>/``."""
    from dlkit.reports.render import render_html, write_atomic

    page = similarity_report_path(course, report.experiment)
    folder = page.parent
    heatmap = write_atomic(folder / "heatmap.png", heatmap_png(report))
    table = write_atomic(folder / "pairs.csv", pairs_csv(report))
    html = write_atomic(page, render_html("similarity.html", _context(report)))
    return [html, heatmap, table]


def pairs_csv(report: SimilarityReport) -> str:
    """Every scored pair (students with students, then students with sources), best first."""
    names = _names(report)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["kind", "a", "name_a", "b", "name_b", "share_a", "share_b", "score",
                     "matched_tokens", "listed"])
    for kind, rows in (("students", report.pairs), ("source", report.sources)):
        for m in rows:
            writer.writerow([kind, m.a, names.get(m.a, ""), m.b, names.get(m.b, ""),
                             f"{m.share_a:.3f}", f"{m.share_b:.3f}", f"{m.score:.3f}",
                             m.tokens, "yes" if m.listed else "no"])
    return buffer.getvalue()


def heatmap_order(report: SimilarityReport) -> list[str]:
    """Students of a cluster side by side (largest first), then the rest by roll number."""
    order: list[str] = []
    for cluster in report.clusters:
        order += [k for k in cluster.members if k not in order]
    flagged = sorted({k for p in report.flagged for k in (p.a, p.b)} - set(order))
    order += flagged
    return order + sorted(n.key for n in report.students if n.key not in set(order))


def heatmap_png(report: SimilarityReport) -> bytes:
    """The batch as a picture: the score of every pair, clusters side by side."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    order = heatmap_order(report)
    where = {key: i for i, key in enumerate(order)}
    scores = np.eye(len(order))
    for p in report.pairs:
        scores[where[p.a], where[p.b]] = scores[where[p.b], where[p.a]] = p.score
    size = min(12.0, max(4.5, 0.18 * len(order) + 2.5))
    figure = Figure(figsize=(size + 1.2, size), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    if not order:
        axes.set_axis_off()
        axes.text(0.5, 0.5, "no notebook with code of its own to compare", ha="center")
        return _png(figure)
    image = axes.imshow(scores, vmin=0, vmax=1, cmap="magma_r", interpolation="nearest")
    figure.colorbar(image, ax=axes, shrink=0.8, label="share of code matched (larger of two)")
    if len(order) <= 60:
        font = 8 if len(order) <= 30 else 5
        axes.set_xticks(range(len(order)), order, rotation=90, fontsize=font)
        axes.set_yticks(range(len(order)), order, fontsize=font)
    else:
        axes.set_xticks([])
        axes.set_yticks([])
        axes.set_xlabel(f"{len(order)} students (clusters first)")
    axes.set_title(f"{report.experiment}: similarity of every pair")
    figure.tight_layout()
    return _png(figure)


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def highlight(code: str, regions: Sequence[tuple[int, int]]) -> list[tuple[str, bool]]:
    """``code`` as (text, matched) pieces, for the template to mark up (autoescaped)."""
    pieces, at = [], 0
    for start, end in sorted(regions):
        start = max(start, at)
        if start >= end:
            continue
        if start > at:
            pieces.append((code[at:start], False))
        pieces.append((code[start:end], True))
        at = end
    if at < len(code):
        pieces.append((code[at:], False))
    return pieces


def _names(report: SimilarityReport) -> dict[str, str]:
    return {n.key: n.label for n in report.students}


def _context(report: SimilarityReport) -> dict[str, Any]:
    by_key = {n.key: n for n in report.students + report.references}

    def side_by_side(match: Match) -> dict[str, Any]:
        a, b = by_key[match.a], by_key[match.b]
        return {"match": match, "a": a, "b": b,
                "code_a": highlight(a.code, match.regions_a),
                "code_b": highlight(b.code, match.regions_b)}

    closest: dict[str, tuple[str, float]] = {}
    for pair in report.pairs:  # best first
        closest.setdefault(pair.a, (pair.b, pair.score))
        closest.setdefault(pair.b, (pair.a, pair.score))
    return {"report": report, "names": _names(report), "k": K, "min_matched": MIN_MATCHED,
            "closest": closest,
            "flagged": [side_by_side(m) for m in report.flagged],
            "sources": [side_by_side(m) for m in report.sources],
            "source_of": {n.key: report.source_of(n.key) for n in report.students}}


__all__ = ["CLEANING_STEPS", "Cluster", "Match", "Notebook", "SimilarityError",
           "SimilarityReport", "Skipped", "clean_cell", "clusters", "code_cells",
           "drop_cell_magic", "drop_given_lines", "drop_otter_lines",
           "drop_shell_and_magic_lines", "given_lines", "heatmap_png", "highlight",
           "normalise_literals", "own_code", "pairs_csv", "similarity_report",
           "similarity_report_path", "write_similarity_report"]
