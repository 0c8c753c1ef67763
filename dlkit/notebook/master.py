"""Read a master notebook (otter-grader's assign format) into questions, solutions and tests.

This is the one scanner of begin/end regions. It refuses a malformed notebook with the file,
the cell number (1-based, as Jupyter counts them) and the question named, before otter sees it:

- raw cells ``# ASSIGNMENT CONFIG``, ``# BEGIN/END QUESTION`` (YAML: name, points, manual),
  ``# BEGIN/END SOLUTION``, ``# BEGIN/END TESTS``, ``# BEGIN/END PROMPT``;
- inside code cells, ``# BEGIN SOLUTION`` / ``# END SOLUTION`` lines and ``... # SOLUTION`` lines;
- test cells may open with a ``\"\"\" # BEGIN TEST CONFIG ... \"\"\" # END TEST CONFIG`` block
  (YAML: hidden, points, ...).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

from dlkit.errors import NotebookFormatError

REGIONS = ("QUESTION", "SOLUTION", "TESTS", "PROMPT")
_MARKER = re.compile(r"^#\s*(BEGIN|END)\s+(\w+)\s*$")
_LOOSE_MARKER = re.compile(r"^#\s*(BEGIN|END)\b")
_TEST_CONFIG = re.compile(
    r'^\s*"""\s*#\s*BEGIN TEST CONFIG\s*\n(.*?)\n\s*"""\s*#\s*END TEST CONFIG\s*\n?', re.S)


@dataclass
class Test:
    cell: int
    source: str  # the code, without its config block
    hidden: bool = False
    points: float | None = None


@dataclass
class Question:
    name: str
    cell: int
    points: float = 0
    manual: bool = False
    tests: list[Test] = field(default_factory=list)
    solution: list[str] = field(default_factory=list)  # lines of solution code / answers
    # cell numbers inside the question: what students see (prompt) and the model answer
    prompt_cells: list[int] = field(default_factory=list)
    solution_cells: list[int] = field(default_factory=list)


@dataclass
class Master:
    path: Path
    config: dict
    questions: list[Question]
    notebook: nbformat.NotebookNode

    def question(self, name: str) -> Question:
        return next(q for q in self.questions if q.name == name)

    @property
    def autograded(self) -> list[Question]:
        return [q for q in self.questions if not q.manual]

    def secret_lines(self, min_length: int = 12) -> set[str]:
        """Lines that must never reach students: solutions and hidden tests, as written and as
        otter re-prints them (``ast.unparse``), less lines that the released material has anyway
        (prompts, given code, public tests) and short generic lines."""
        secret: set[str] = set()
        for q in self.questions:
            secret.update(q.solution)
            for t in q.tests:
                if t.hidden:
                    secret.update(_lines(t.source) | _lines(_unparse(t.source)))
        public = []  # what students get anyway: prompts, given code, public tests
        for q in self.questions:
            public.extend(_unparse(t.source) + "\n" + t.source for t in q.tests if not t.hidden)
        secret_cells = _secret_cells(self)
        for index, cell in enumerate(self.notebook.cells):
            if index not in secret_cells:
                public.append(_strip_solution_lines(cell.source))
            elif cell.cell_type == "code" and not _is_test_cell(self, index):
                public.append(_strip_solution_lines(cell.source))
        text = "\n".join(public)
        return {s for s in secret if len(s) >= min_length and s not in text}


def _is_test_cell(master: Master, index: int) -> bool:
    return any(t.cell == index + 1 for q in master.questions for t in q.tests)


def _lines(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if line.strip()}


def _unparse(source: str) -> str:
    try:
        return ast.unparse(ast.parse(source))
    except SyntaxError:
        return source


def _strip_solution_lines(source: str) -> str:
    out, inside = [], False
    for line in source.splitlines():
        marker = _MARKER.match(line.strip())
        if marker and marker.group(2) == "SOLUTION":
            inside = marker.group(1) == "BEGIN"
            continue
        if not inside and not line.rstrip().endswith("# SOLUTION"):
            out.append(line)
    return "\n".join(out)


def _secret_cells(master: Master) -> set[int]:
    """Indexes (0-based) of whole cells inside solution or tests regions (and the markers)."""
    cells, region = set(), None
    for index, cell in enumerate(master.notebook.cells):
        marker = cell_marker(cell)
        if marker and marker[1] in ("SOLUTION", "TESTS"):
            region = marker[1] if marker[0] == "BEGIN" else None
            cells.add(index)
        elif region:
            cells.add(index)
    return cells


def cell_marker(cell) -> tuple[str, str] | None:
    """A raw marker cell's ``(BEGIN|END, REGION)``, e.g. ``("BEGIN", "QUESTION")``; None for any other cell."""
    if cell.cell_type != "raw" or not cell.source.strip():
        return None
    match = _MARKER.match(cell.source.strip().splitlines()[0].strip())
    return (match.group(1), match.group(2)) if match else None


def read_master(path: Path) -> Master:
    """Parse and validate the master notebook at ``path``."""
    try:
        notebook = nbformat.read(path, as_version=4)
    except FileNotFoundError:
        raise NotebookFormatError("master notebook not found", path=str(path)) from None
    except Exception as exc:  # nbformat raises several types for broken JSON
        raise NotebookFormatError(f"not a readable notebook: {exc}", path=str(path)) from None
    return _Scanner(path, notebook).scan()


class _Scanner:
    def __init__(self, path: Path, notebook) -> None:
        self.path, self.notebook = path, notebook
        self.config: dict | None = None
        self.questions: list[Question] = []
        self.question: Question | None = None
        self.open: dict[str, int] = {}  # region -> cell number where it began

    def fail(self, what: str, cell: int | None, fix: str = "") -> None:
        raise NotebookFormatError(what, path=str(self.path), cell=cell,
                                  question=self.question.name if self.question else None, fix=fix)

    def scan(self) -> Master:
        for number, cell in enumerate(self.notebook.cells, start=1):
            first = cell.source.strip().splitlines()[0].strip() if cell.source.strip() else ""
            if cell.cell_type == "raw" and first == "# ASSIGNMENT CONFIG":
                self.config = self.yaml_body(cell.source, number)
            elif cell.cell_type == "raw" and _LOOSE_MARKER.match(first):
                self.marker(first, cell.source, number)
            elif "TESTS" in self.open:
                self.test(cell, number)
            elif cell.cell_type == "code":
                self.code(cell.source, number)
            elif "SOLUTION" in self.open and self.question:
                self.question.solution.extend(_lines(cell.source))
            is_marker = cell.cell_type == "raw" and _LOOSE_MARKER.match(first)
            if self.question and not is_marker and "TESTS" not in self.open:
                cells = self.question.solution_cells if "SOLUTION" in self.open \
                    else self.question.prompt_cells
                cells.append(number)
        if self.open:
            region, cell = next(iter(self.open.items()))
            self.fail(f"# BEGIN {region} is never closed", cell, f"add a raw cell `# END {region}`")
        if self.config is None:
            self.question = None
            self.fail("no `# ASSIGNMENT CONFIG` raw cell", None,
                      "add one at the top (see source/README.md)")
        return Master(self.path, self.config, self.questions, self.notebook)

    def yaml_body(self, source: str, number: int) -> dict:
        body = source.strip().split("\n", 1)[1] if "\n" in source.strip() else ""
        try:
            data = yaml.safe_load(body) or {}
        except yaml.YAMLError as exc:
            self.fail(f"invalid YAML: {str(exc).splitlines()[0]}", number)
        if not isinstance(data, dict):
            self.fail("the YAML under the marker must be a mapping", number)
        return data

    def marker(self, first: str, source: str, number: int) -> None:
        match = _MARKER.match(first)
        if not match or match.group(2) not in REGIONS:
            self.fail(f"malformed marker {first!r}", number,
                      f"use # BEGIN/END with one of {', '.join(REGIONS)}")
        kind, region = match.groups()
        if kind == "BEGIN":
            if region in self.open:
                self.fail(f"# BEGIN {region} inside another (opened at cell {self.open[region]})",
                          number, f"close it with # END {region} first")
            if region != "QUESTION" and "QUESTION" not in self.open:
                self.fail(f"# BEGIN {region} outside a question", number)
            self.open[region] = number
            if region == "QUESTION":
                self.begin_question(self.yaml_body(source, number), number)
            return
        if region not in self.open:
            self.fail(f"# END {region} without # BEGIN {region}", number)
        del self.open[region]
        if region == "QUESTION":
            self.end_question(number)

    def begin_question(self, config: dict, number: int) -> None:
        name = config.get("name")
        if not name or not re.fullmatch(r"[A-Za-z_][\w-]*", str(name)):
            self.fail(f"question without a valid `name` (got {name!r})", number)
        if any(q.name == name for q in self.questions):
            first = next(q.cell for q in self.questions if q.name == name)
            self.question = None
            raise NotebookFormatError(f"duplicate question name (first at cell {first})",
                                      path=str(self.path), cell=number, question=str(name),
                                      fix="give every question its own name")
        self.question = Question(str(name), number, float(config.get("points", 0) or 0),
                                 bool(config.get("manual", False)))
        self.questions.append(self.question)

    def end_question(self, number: int) -> None:
        assert self.question is not None
        if self.open:
            region = next(iter(self.open))
            self.fail(f"# END QUESTION while # BEGIN {region} is open", number)
        if not self.question.manual and not self.question.tests:
            self.fail("question has no tests", self.question.cell,
                      "add a # BEGIN TESTS region, or mark it `manual: true`")
        self.question = None

    def code(self, source: str, number: int) -> None:
        """Solution lines of a code cell: otter redacts only marked lines, and only in cells
        inside a raw ``# BEGIN SOLUTION`` region, so a marker anywhere else is an error."""
        lines, begun = [], False
        for line in source.splitlines():
            stripped = line.strip()
            match = _MARKER.match(stripped.removesuffix(" NO PROMPT"))
            if match and match.group(2) == "SOLUTION":
                if match.group(1) == "BEGIN" and begun:
                    self.fail("# BEGIN SOLUTION inside another in the same cell", number)
                if match.group(1) == "END" and not begun:
                    self.fail("# END SOLUTION without # BEGIN SOLUTION", number)
                begun = match.group(1) == "BEGIN"
                continue
            if _LOOSE_MARKER.match(stripped) and "SOLUTION" in stripped.upper():
                self.fail(f"malformed marker {stripped!r}", number)
            if begun or re.search(r"# ?SOLUTION( NO PROMPT)?$", stripped):
                if content := re.sub(r"# ?SOLUTION( NO PROMPT)?$", "", stripped).strip():
                    lines.append(content)
                else:
                    lines.append(stripped)
        if begun:
            self.fail("# BEGIN SOLUTION is never closed in this cell", number)
        if lines and "SOLUTION" not in self.open:
            self.fail("solution markers outside a # BEGIN SOLUTION region", number,
                      "wrap the cell in raw cells `# BEGIN SOLUTION` / `# END SOLUTION`, or "
                      "otter releases it unredacted")
        if self.question:
            self.question.solution.extend(lines)

    def test(self, cell, number: int) -> None:
        if cell.cell_type != "code":
            return
        source, config = cell.source, {}
        if match := _TEST_CONFIG.match(source):
            try:
                config = yaml.safe_load(match.group(1)) or {}
            except yaml.YAMLError as exc:
                self.fail(f"invalid TEST CONFIG: {str(exc).splitlines()[0]}", number)
            source = source[match.end():]
        elif "BEGIN TEST CONFIG" in source:
            self.fail("malformed TEST CONFIG block", number,
                      'write it as `""" # BEGIN TEST CONFIG` ... `""" # END TEST CONFIG`')
        try:
            ast.parse(source)
        except SyntaxError as exc:
            self.fail(f"test code does not parse: {exc.msg} (line {exc.lineno})", number)
        assert self.question is not None
        self.question.tests.append(Test(number, source, bool(config.get("hidden", False)),
                                        config.get("points")))
