"""Small pure steps over a notebook; the pipelines are lists of them, declared as data.

otter-grader does the assign transformation itself (redacting solutions, splitting public from
hidden tests); these steps normalise what it writes, so the release is deterministic and safe.
"""

from __future__ import annotations

from collections.abc import Callable

import nbformat

Step = Callable[[nbformat.NotebookNode], nbformat.NotebookNode]


def clear_outputs(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """No outputs, execution counts or attachments travel to students."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.pop("attachments", None)
    return nb


def normalise_kernelspec(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Every released notebook runs on the ``python3`` kernel (what the grader starts)."""
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata.pop("widgets", None)
    return nb


def drop_cell_ids(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Random cell ids would make every release differ; nbformat 4.4 has none."""
    for cell in nb.cells:
        cell.pop("id", None)
    nb.nbformat, nb.nbformat_minor = 4, 4
    return nb


def run_steps(nb: nbformat.NotebookNode, steps: list[Step]) -> nbformat.NotebookNode:
    for step in steps:
        nb = step(nb)
    return nb


#: what the student notebook and the (unexecuted) autograder notebook go through after otter
RELEASE_STEPS: list[Step] = [clear_outputs, normalise_kernelspec, drop_cell_ids]
#: the executed solution keeps its outputs and plots
SOLUTION_STEPS: list[Step] = [normalise_kernelspec, drop_cell_ids]
