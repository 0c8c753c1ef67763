"""Which submissions of an experiment share their code: a report for the instructor.

It is evidence for a person to read, never an automatic penalty: nothing here touches marks.

    notebook ──► code cells ──► cells.CLEANING_STEPS ──► the student's own code (shown)
             ──► analysis.Fingerprint (copydetect's tokens, every k-gram hashed)
             ──► boilerplate out: starter, --template files, --against sources; between
                 students also the lab manual's listings (k-gram digests, ``manual``) and
                 k-grams in more than half of the class ──► every pair's fragments (analysis.compare)
             ──► ranked on similarity, longest fragment next; listed when a pair stands out
                 from the experiment's pairs, each with its reasons (analysis.list_pairs)
             ──► :mod:`dlkit.reports.similarity` writes ``<course>/reports/similarity/<exp>/``:
                 index.html, heatmap.png, pairs.csv, report.json (the portal shows the same
                 page in its layout)

``cells`` decides what code counts, ``analysis`` scores it, ``batch`` reads a batch from the
gradebook or from files; the report's writing is :mod:`dlkit.reports.similarity`, which this
package never imports.
"""

from __future__ import annotations

from dlkit.similarity.analysis import (
    MIN_FRAGMENT,
    MIN_MATCHED,
    Baseline,
    Cluster,
    Fingerprint,
    Fragment,
    K,
    Match,
    Notebook,
    Settings,
    SimilarityError,
    SimilarityReport,
    Skipped,
    baseline,
    clusters,
    common_hashes,
    compare,
    fragments,
    list_pairs,
    reasons,
)
from dlkit.similarity.batch import (
    Entry,
    compare_notebooks,
    reference_entries,
    similarity_report,
    similarity_report_path,
)
from dlkit.similarity.cells import (
    CLEANING_STEPS,
    clean_cell,
    code_cells,
    drop_cell_magic,
    drop_given_lines,
    drop_otter_lines,
    drop_shell_and_magic_lines,
    given_lines,
    normalise_literals,
    own_code,
)

__all__ = ["CLEANING_STEPS", "K", "MIN_FRAGMENT", "MIN_MATCHED", "Baseline", "Cluster",
           "Entry", "Fingerprint", "Fragment", "Match", "Notebook", "Settings",
           "SimilarityError", "SimilarityReport", "Skipped", "baseline", "clean_cell",
           "clusters", "code_cells", "common_hashes", "compare",
           "compare_notebooks", "drop_cell_magic", "drop_given_lines", "drop_otter_lines",
           "drop_shell_and_magic_lines", "fragments", "given_lines",
           "list_pairs", "normalise_literals", "own_code",
           "reasons", "reference_entries",
           "similarity_report", "similarity_report_path"]
