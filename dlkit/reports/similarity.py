"""What a similarity report is shown as: the HTML page, a heat map, a CSV and the JSON record.

The page is rendered from ``report.json`` as well, so the portal can show the same report inside
its own layout (``portal/similarity.html``) without comparing anything again.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dlkit.similarity.analysis import (
    FRAGMENT_SPREAD_FLOOR,
    MIN_FRAGMENT,
    MIN_MATCHED,
    SIMILARITY_SPREAD_FLOOR,
    Baseline,
    Cluster,
    Fragment,
    K,
    Match,
    Notebook,
    Settings,
    SimilarityReport,
    Skipped,
)
from dlkit.similarity.batch import similarity_report_path

#: pairs not listed that the page still shows, for a sense of the class's distribution.
UNLISTED_SHOWN = 10


def write_similarity_report(report: SimilarityReport, course: Path) -> list[Path]:
    """``index.html`` (ranked pairs, why each listed pair is listed, fragments side by side),
    ``heatmap.png``, ``pairs.csv`` and ``report.json`` in ``<course>/reports/similarity/<exp>/``."""
    from dlkit.reports.render import render_html, write_atomic

    page = similarity_report_path(course, report.experiment)
    folder = page.parent
    heatmap = write_atomic(folder / "heatmap.png", heatmap_png(report))
    table = write_atomic(folder / "pairs.csv", pairs_csv(report))
    record = write_atomic(folder / "report.json", report_json(report))
    html = write_atomic(page, render_html("similarity.html", page_context(report)))
    return [html, heatmap, table, record]


# --------------------------------------------------------------------------- the JSON record

def report_json(report: SimilarityReport) -> str:
    return json.dumps(asdict(report), default=str, ensure_ascii=False)


def load_report(path: Path) -> SimilarityReport:
    """The report recorded in ``report.json`` (as ``write_similarity_report`` wrote it)."""
    data = json.loads(path.read_text(encoding="utf-8"))

    def notebook(d: dict) -> Notebook:
        return Notebook(**{**d, "path": Path(d["path"])})

    def match(d: dict) -> Match:
        frags = tuple(Fragment(f["length"], tuple(f["a"]), tuple(f["b"]))
                      for f in d["fragments"])
        return Match(**{**d, "fragments": frags, "reasons": tuple(d["reasons"])})

    return SimilarityReport(
        experiment=data["experiment"], title=data["title"], settings=Settings(**data["settings"]),
        students=[notebook(d) for d in data["students"]],
        references=[notebook(d) for d in data["references"]],
        pairs=[match(d) for d in data["pairs"]], sources=[match(d) for d in data["sources"]],
        clusters=[Cluster(tuple(c["members"]), c["pairs"], c["top"]) for c in data["clusters"]],
        baseline=Baseline(**data["baseline"]), boilerplate=data["boilerplate"],
        templates=data["templates"],
        skipped=[Skipped(**{**d, "path": Path(d["path"])}) for d in data["skipped"]],
        empty=[notebook(d) for d in data["empty"]])


def similarity_page_context(folder: Path) -> dict[str, Any] | None:
    """The page's context from the ``report.json`` in ``folder``, or None without one."""
    record = folder / "report.json"
    return page_context(load_report(record)) if record.is_file() else None


# --------------------------------------------------------------------------- CSV and heat map

def pairs_csv(report: SimilarityReport) -> str:
    """Every scored pair (students with students, ranked, then listed sources)."""
    names = {n.key: n.label for n in report.students}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["kind", "a", "name_a", "b", "name_b", "similarity", "share_a", "share_b",
                     "matched_tokens_a", "matched_tokens_b", "longest_fragment", "fragments",
                     "listed", "why"])
    for kind, rows in (("students", report.pairs), ("source", report.sources)):
        for m in rows:
            writer.writerow([kind, m.a, names.get(m.a, ""), m.b, names.get(m.b, ""),
                             f"{m.similarity:.3f}", f"{m.share_a:.3f}", f"{m.share_b:.3f}",
                             m.tokens_a, m.tokens_b, m.longest, len(m.fragments),
                             "yes" if m.listed else "no", "; ".join(m.reasons)])
    return buffer.getvalue()


def heatmap_order(report: SimilarityReport) -> list[str]:
    """Students of a cluster side by side (largest first), then the rest by roll number."""
    order: list[str] = []
    for cluster in report.clusters:
        order += [k for k in cluster.members if k not in order]
    order += sorted({k for p in report.flagged for k in (p.a, p.b)} - set(order))
    return order + sorted(n.key for n in report.students if n.key not in set(order))


def heatmap_png(report: SimilarityReport) -> bytes:
    """The batch as a picture: the similarity of every pair, clusters side by side."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    order = heatmap_order(report)
    where = {key: i for i, key in enumerate(order)}
    scores = np.eye(len(order))
    for p in report.pairs:
        scores[where[p.a], where[p.b]] = scores[where[p.b], where[p.a]] = p.similarity
    size = min(12.0, max(4.5, 0.18 * len(order) + 2.5))
    figure = Figure(figsize=(size + 1.2, size), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    if not order:
        axes.set_axis_off()
        axes.text(0.5, 0.5, "no notebook with code of its own to compare", ha="center")
        return _png(figure)
    image = axes.imshow(scores, vmin=0, vmax=1, cmap="magma_r", interpolation="nearest")
    figure.colorbar(image, ax=axes, shrink=0.8, label="similarity (tokens of both in fragments)")
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


# --------------------------------------------------------------------------- side by side

def line_of(code: str, offset: int) -> int:
    """The 1-based line of ``code`` that character ``offset`` is on."""
    return code.count("\n", 0, max(0, offset)) + 1


def line_range(code: str, start: int, end: int) -> tuple[int, int]:
    """The first and last line a ``[start, end)`` slice of ``code`` touches."""
    return line_of(code, start), line_of(code, max(start, end - 1))


def code_lines(code: str, regions: list[tuple[int, int, int]], prefix: str
               ) -> list[tuple[int, list[tuple[str, int | None, str | None]]]]:
    """``code`` as numbered lines of ``(text, fragment number or None, anchor or None)``
    pieces; ``regions`` are ``(start, end, number)``; a fragment's first piece carries the
    anchor ``<prefix>-f<number>`` the fragment table links to (the template escapes text)."""
    pieces: list[tuple[str, int | None, str | None]] = []
    at = 0
    for start, end, number in sorted(regions):
        start = max(start, at)
        if start >= end:
            continue
        if start > at:
            pieces.append((code[at:start], None, None))
        pieces.append((code[start:end], number, f"{prefix}-f{number}"))
        at = end
    if at < len(code):
        pieces.append((code[at:], None, None))
    lines: list[tuple[int, list[tuple[str, int | None, str | None]]]] = [(1, [])]
    for text, number, anchor in pieces:
        for i, part in enumerate(text.split("\n")):
            if i:
                lines.append((len(lines) + 1, []))
                anchor = None
            if part:
                lines[-1][1].append((part, number, anchor))
                anchor = None
    return lines


def cell_of(code: str, offset: int) -> str:
    """The ``# [code cell N]`` header above ``offset``, as "cell N", or ""."""
    header = code.rfind("# [code cell ", 0, offset + 1)
    if header < 0:
        return ""
    return "cell " + code[header + 13:code.find("]", header)]


def side_by_side(match: Match, a: Notebook, b: Notebook, prefix: str) -> dict[str, Any]:
    rows = []
    for number, fragment in enumerate(match.fragments, 1):
        rows.append({"number": number, "length": fragment.length,
                     "lines_a": line_range(a.code, *fragment.a),
                     "lines_b": line_range(b.code, *fragment.b),
                     "cell_a": cell_of(a.code, fragment.a[0]),
                     "cell_b": cell_of(b.code, fragment.b[0])})
    return {"match": match, "a": a, "b": b, "prefix": prefix, "fragments": rows,
            "code_a": code_lines(a.code, [(*f.a, n) for n, f in
                                          enumerate(match.fragments, 1)], f"{prefix}-a"),
            "code_b": code_lines(b.code, [(*f.b, n) for n, f in
                                          enumerate(match.fragments, 1)], f"{prefix}-b")}


def page_context(report: SimilarityReport) -> dict[str, Any]:
    by_key = {n.key: n for n in report.students + report.references}
    closest = {}
    for notebook in report.students:
        pair = report.closest(notebook.key)
        if pair is not None:
            closest[notebook.key] = (pair.b if pair.a == notebook.key else pair.a, pair)
    return {"report": report, "names": {n.key: n.label for n in report.students},
            "k": K, "min_matched": MIN_MATCHED, "min_fragment": MIN_FRAGMENT,
            "floors": (SIMILARITY_SPREAD_FLOOR, FRAGMENT_SPREAD_FLOOR), "closest": closest,
            "flagged": [side_by_side(m, by_key[m.a], by_key[m.b], f"pair-{i}")
                        for i, m in enumerate(report.flagged, 1)],
            "unlisted": [p for p in report.pairs if not p.listed][:UNLISTED_SHOWN],
            "sources": [side_by_side(m, by_key[m.a], by_key[m.b], f"source-{i}")
                        for i, m in enumerate(report.sources, 1)],
            "source_of": {n.key: report.source_of(n.key) for n in report.students}}

