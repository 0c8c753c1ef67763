"""Which code of a notebook counts: its code cells read, cleaned and the starter's lines dropped.

One pipeline of small steps over each code cell (``CLEANING_STEPS``), then ``drop_given_lines``;
numbers are normalised (``normalise_literals``) into names of the same length before copydetect
tokenises the code, so matched slices still point into the student's own text.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

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
