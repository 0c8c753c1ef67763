"""What a stopped notebook's later questions say: "not judged", never a verdict on objects the
cells after the stop would have finished."""

from __future__ import annotations

import nbformat

from dlkit.grading.verdicts import questions_not_run


def test_a_question_cut_by_the_time_limit_is_not_judged_on_its_unfinished_object(grade_toy):
    # `centred` exists (but is not centred yet) when an endless cell meets the CPU limit; q1's own
    # cell never runs, so its hidden test must not fail it for a mean the cell would have removed
    outcome, _ = grade_toy(before=["import numpy as np\ncentred = np.ones(10)", "while True:\n    pass"], seconds=25)
    assert outcome.status == "timeout"
    results = {(r["question"], r["test"]): r for r in outcome.results}
    assert results[("q1_mean", 0)]["passed"], outcome  # what passed keeps its marks
    for key in (("q1_mean", 1), ("q2_scale", 0)):
        assert not results[key]["passed"]
        assert results[key]["message"].startswith("not judged: the notebook was stopped at cell 4 "), \
            results[key]["message"]
    assert "secret mean" not in str(outcome.results) and "missing" not in outcome.reason


def test_questions_not_run_are_those_checked_after_the_stop():
    cells = [nbformat.v4.new_code_cell(source) for source in (
        "import numpy as np", 'grader.check("q1_mean")', "while True: pass", "x = 1",
        'grader.check("q2_scale")\ngrader.check("q3_other")')]
    nb = nbformat.v4.new_notebook(cells=cells)
    assert questions_not_run(nb, {"cell": 3, "error": "timeout"}) == {"q2_scale", "q3_other"}
    assert questions_not_run(nb, {}) == frozenset()
