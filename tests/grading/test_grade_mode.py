"""The grading mode chosen by the notebook: free-form when it was not written on the starter and
lacks most of the starter's objects, the starter's tests otherwise; ``--starter`` and
``--free-form`` still force one. The page and the gradebook say which, and why."""

from __future__ import annotations

import nbformat
import pytest

from dlkit.feedback import write_feedback
from dlkit.grading.grade import grade_experiment
from dlkit.grading.plans import defined_names, grading_mode, plan_tests, starter_objects, task_mode
from dlkit.grading.tasks import GradingTask
from dlkit.sandbox import Limits
from tests.grading.test_real_notebooks import _course, _reference, _work, needs_bwrap

TOY_CRITERIA = '''# %% centring
import numpy as np
import dlkit.checks as checks


def extract(ns):
    for name, value in list(ns.items()):
        if not name.startswith("_") and isinstance(value, np.ndarray) and value.shape == (10,) \\
                and value.dtype.kind == "f" and abs(float(value.mean())) < 1e-9 and value.std() > 0:
            return {"centred": value, "name": name}
    raise checks.MissingObject("no centred array of 10 numbers in the notebook")


def judge(data):
    assert np.allclose(data["centred"], np.arange(10.0) - 4.5), f"`{data['name']}` is not centred data"
    return {"mean": float(data["centred"].mean())}


checks.run(extract, judge, globals())
'''
TOY_RUBRIC = "free_form_rubric:\n  auto: {centring: 3}\n  manual: {explanation: 2}\n"


@pytest.fixture
def toy_free_form(toy_course):
    """The toy experiment with a free-form rubric of one criterion (any centred array)."""
    (toy_course.root / "rubrics" / "free-form").mkdir(parents=True, exist_ok=True)
    (toy_course.root / "rubrics" / "free-form" / "toy.py").write_text(TOY_CRITERIA)
    (toy_course.root / "rubrics" / "toy.yml").write_text(TOY_RUBRIC)
    return toy_course


def _own_notebook(*cells):
    nb = nbformat.v4.new_notebook()
    nb.nbformat_minor = 4  # as collect's tests write them: cells without ids
    nb.cells = [nbformat.v4.new_markdown_cell("# My centring lab"),
                *(nbformat.v4.new_code_cell(c) for c in cells)]
    return nb


OWN = ("import numpy as np", "values = np.arange(10.0)\nzero_mean = values - values.mean()")


def test_the_starter_s_objects_are_the_names_its_tests_take(toy_course):
    assert starter_objects(plan_tests(toy_course)) == ["centred", "scale"]


def test_a_notebook_defines_what_it_assigns_but_not_what_it_imports():
    nb = _own_notebook("!pip install x\nfrom sklearn.metrics.pairwise import cosine_similarity",
                       "for epoch in range(3):\n    loss = 1\ndef scale(x):\n    return x",
                       "a, (b, c) = 1, (2, 3)\nwith open('x') as f:\n    pass", "broken(:")
    assert defined_names(nb) >= {"epoch", "loss", "scale", "a", "b", "c", "f"}
    assert "cosine_similarity" not in defined_names(nb)


def test_the_notebook_decides_unless_the_instructor_forces_a_mode(toy_free_form):
    own = grading_mode(toy_free_form, _own_notebook(*OWN))
    assert own.free_form and own.name == "free-form"
    assert own.why == ("the notebook does not come from the starter (no starter cells) and "
                       "defines 0 of the 2 objects the starter's tests ask for")
    starter = grading_mode(toy_free_form, _reference(toy_free_form))
    assert not starter.free_form and "comes from the starter" in starter.why
    # written without the starter, but with the starter's names: its tests fit it
    named = grading_mode(toy_free_form, _own_notebook(
        "import numpy as np\ndata = np.arange(10.0)\ncentred = data - data.mean()",
        "def scale(x):\n    return x / abs(x).max()"))
    assert not named.free_form and "defines 2 of the 2 objects" in named.why
    assert "`centred`, `scale`" in named.why
    forced = grading_mode(toy_free_form, _own_notebook(*OWN), forced=False)
    assert not forced.free_form and "--starter" in forced.why
    assert grading_mode(toy_free_form, _reference(toy_free_form), forced=True).free_form


def test_without_a_free_form_rubric_the_starter_s_tests_stay_and_say_why(toy_course):
    mode = grading_mode(toy_course, _own_notebook(*OWN))
    assert not mode.free_form and mode.why.endswith("but toy has no free-form rubric")
    broken = GradingTask(1, "toy", b"not a notebook", Limits(seconds=10), free_form=None)
    assert not task_mode(toy_course, broken).free_form


@needs_bwrap
@pytest.mark.sandbox
def test_a_notebook_without_starter_cells_is_graded_free_form_by_default_and_says_so(
        toy_free_form, tmp_path, monkeypatch):
    course, gradebook = _course(toy_free_form, tmp_path, monkeypatch, _own_notebook(*OWN))
    grade_experiment("toy", course=course, gradebook=gradebook, gpus="none", workers=1,
                     progress=False)
    work, run = _work(course, gradebook)
    assert (run.status, run.mode, run.score, run.max_score) == ("graded", "free-form", 3, 3)
    assert "does not come from the starter" in run.mode_reason
    (page,) = write_feedback("toy", course=course, gradebook=gradebook)
    html = page.read_text()
    assert "Graded as</dt><dd>free-form" in html
    assert "defines 0 of the 2 objects the starter&#39;s tests ask for" in html
    # the instructor's --starter still grades it on the starter's tests
    grade_experiment("toy", course=course, gradebook=gradebook, gpus="none", workers=1,
                     progress=False, regrade=True, free_form=False)
    _, forced = _work(course, gradebook)
    assert (forced.mode, forced.status) == ("starter", "missing object")
    assert "--starter" in forced.mode_reason
