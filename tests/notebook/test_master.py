"""The master-notebook scanner: what it reads, and the errors it gives (file, cell, question)."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

from dlkit.errors import NotebookFormatError
from dlkit.notebook.master import read_master

CONFIG = "# ASSIGNMENT CONFIG\nname: t"


def question(name="q1", tests=("assert x == 1",), solution="x = 1 # SOLUTION", manual=False):
    """Cells of one question (a cell factory)."""
    head = f"# BEGIN QUESTION\nname: {name}\npoints: 2" + ("\nmanual: true" if manual else "")
    cells = [new_raw_cell(head), new_markdown_cell("Prompt."),
             new_raw_cell("# BEGIN SOLUTION"), new_code_cell(solution), new_raw_cell("# END SOLUTION")]
    if tests:
        cells += [new_raw_cell("# BEGIN TESTS"), *map(new_code_cell, tests), new_raw_cell("# END TESTS")]
    return cells + [new_raw_cell("# END QUESTION")]


def write(tmp_path, cells, name="master.ipynb"):
    path = tmp_path / name
    nbformat.write(new_notebook(cells=[new_raw_cell(CONFIG), *cells]), path)
    return path


def error(tmp_path, cells) -> NotebookFormatError:
    with pytest.raises(NotebookFormatError) as caught:
        read_master(write(tmp_path, cells))
    return caught.value


def test_reads_questions_tests_and_solutions(tmp_path):
    hidden = '""" # BEGIN TEST CONFIG\nhidden: true\npoints: 1\n""" # END TEST CONFIG\nassert x > 0'
    master = read_master(write(tmp_path, question(tests=("assert x == 1", hidden))
                               + question("q2", tests=(), manual=True)))
    q1, q2 = master.questions
    assert (q1.name, q1.points, q1.manual) == ("q1", 2, False)
    assert [(t.cell, t.hidden, t.points) for t in q1.tests] == [(8, False, None), (9, True, 1)]
    assert q1.tests[1].source == "assert x > 0"
    assert q1.solution == ["x = 1"] and q2.manual and master.config["name"] == "t"


def test_malformed_marker_names_file_and_cell(tmp_path):
    cells = question()
    cells[2] = new_raw_cell("# BEGIN SOLUTON")
    err = error(tmp_path, cells)
    assert "malformed marker '# BEGIN SOLUTON'" in err.message
    assert "master.ipynb, cell 4, question q1" in err.message


def test_question_without_tests_is_refused(tmp_path):
    err = error(tmp_path, question(tests=()))
    assert err.what == "question has no tests" and err.cell == 2 and err.question == "q1"
    assert "manual: true" in err.fix


def test_duplicate_question_name(tmp_path):
    err = error(tmp_path, question("same") + question("same"))
    assert "duplicate question name (first at cell 2)" in err.message
    assert err.question == "same" and err.cell == 11


def test_unclosed_and_unopened_regions(tmp_path):
    assert "never closed" in error(tmp_path, question()[:-1]).message
    assert "# END TESTS without # BEGIN TESTS" in error(
        tmp_path, [*question(), new_raw_cell("# END TESTS")]).message


def test_solution_markers_outside_a_solution_region_would_leak(tmp_path):
    cells = question()
    del cells[4], cells[2]  # drop the raw SOLUTION region around the solution cell
    err = error(tmp_path, cells)
    assert "solution markers outside a # BEGIN SOLUTION region" in err.message
    assert "otter releases it unredacted" in err.fix


def test_unbalanced_inline_markers(tmp_path):
    err = error(tmp_path, question(solution="# BEGIN SOLUTION\nx = 1"))
    assert "never closed in this cell" in err.message and err.cell == 5


def test_broken_test_code_and_config(tmp_path):
    assert "test code does not parse" in error(tmp_path, question(tests=("assert (",))).message
    broken = '""" # BEGIN TEST CONFIG\nhidden: [\n""" # END TEST CONFIG\nassert 1'
    assert "invalid TEST CONFIG" in error(tmp_path, question(tests=(broken,))).message


def test_missing_config_and_unreadable_file(tmp_path):
    path = tmp_path / "bare.ipynb"
    nbformat.write(new_notebook(cells=question()), path)
    with pytest.raises(NotebookFormatError, match="no `# ASSIGNMENT CONFIG`"):
        read_master(path)
    (tmp_path / "broken.ipynb").write_text("{not json")
    with pytest.raises(NotebookFormatError, match=r"not a readable notebook.*broken.ipynb"):
        read_master(tmp_path / "broken.ipynb")


def test_secret_lines_leave_out_what_students_get_anyway(tmp_path):
    hidden = ('""" # BEGIN TEST CONFIG\nhidden: true\n""" # END TEST CONFIG\n'
              'assert secret_expected_value == 42\nassert x == 1')
    cells = question(tests=("assert x == 1", hidden),
                     solution="given_line_of_code = 0\nx = compute_the_answer() # SOLUTION")
    secrets = read_master(write(tmp_path, cells)).secret_lines()
    assert "assert secret_expected_value == 42" in secrets
    assert "x = compute_the_answer()" in secrets
    assert "assert x == 1" not in secrets  # also a public test
    assert "given_line_of_code = 0" not in secrets  # given code, released on purpose
