"""Exam variants: drawn reproducibly, neighbours apart, filled into starters, judged per roll."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from dlkit.experiments import get
from dlkit.grading.plans import plan_tests
from dlkit.notebook.master import read_master
from dlkit.notebook.rules import UNSTATED, problems_of
from dlkit.variants import (
    VariantError,
    another_variant,
    default_variant,
    draw_variants,
    fill_text,
    variant_of,
)

DATE = dt.date(2027, 4, 20)
ROLLS = [f"41{n:02d}" for n in range(1, 25)]
EXP2, EXP4 = get("exp2-feedforward"), get("exp4-autoencoder-anomaly")


@pytest.mark.parametrize("experiment", [EXP2, EXP4], ids=lambda e: e.id)
def test_variants_are_reproducible_and_neighbours_differ(experiment):
    drawn = draw_variants(experiment, ROLLS, DATE, seed=0)
    assert drawn == draw_variants(experiment, ROLLS, DATE, seed=0)
    for before, after in zip(ROLLS, ROLLS[1:]):
        assert drawn[before] != drawn[after], (before, after)
        # each neighbour differs in every parameter while the choices allow it
        assert all(a != b for (_, a), (_, b) in zip(drawn[before].values, drawn[after].values))
    assert len(set(drawn.values())) > len(ROLLS) // 3  # spread, not two alternating variants
    assert draw_variants(experiment, ROLLS, DATE, seed=1) != drawn
    assert draw_variants(experiment, ROLLS, DATE + dt.timedelta(days=1)) != drawn
    for variant in drawn.values():  # every drawn value is a declared choice
        assert variant_of(experiment, variant.to_json()) == variant


def test_a_variant_outside_the_registry_is_refused():
    with pytest.raises(VariantError, match="k=4"):
        variant_of(EXP4, {"k": 4})
    with pytest.raises(VariantError, match="unknown parameter"):
        variant_of(EXP4, {"latent": 8})
    with pytest.raises(VariantError, match="unreadable"):
        variant_of(EXP4, "{not json")
    assert variant_of(EXP4, "") == default_variant(EXP4)
    assert variant_of(EXP2, '{"hidden_units": [512, 128]}').as_dict()["hidden_units"] == (512, 128)


def test_a_hidden_test_reading_an_unstated_parameter_is_refused():
    master = read_master(EXP4.master)
    assert problems_of(master, EXP4) == {}
    for cell in master.notebook.cells:  # the question of the threshold rule no longer states k
        if "anomaly_threshold(errors)" in cell.source and cell.cell_type == "markdown":
            cell.source = cell.source.replace("{{ parameters.k }}", "3")
    found = problems_of(master, EXP4)[UNSTATED]
    assert any("exam parameter k" in str(p) and "q4_threshold" in str(p) for p in found)


def test_a_call_naming_another_experiment_is_refused():
    with pytest.raises(Exception, match="exp2-feedforward"):
        fill_text('parameter("exp2-feedforward", "epochs")', default_variant(EXP4), EXP4,
                  code=True)


# --------------------------------------------------------------------------- starters

@pytest.fixture(scope="module")
def exam(tmp_path_factory):
    """A released exam of six students over Experiments 2 and 4 (otter assigns each once)."""
    from dlkit.exam_release import read_exam, release_exam
    from dlkit.reports.exam import ExamCandidate, plan_exam

    course = tmp_path_factory.mktemp("course")
    students = [ExamCandidate(roll, f"Student {roll}") for roll in ROLLS[:6]]
    plan = plan_exam(students, [EXP2.id, EXP4.id], DATE, batch="B1")
    released = release_exam(plan, course, check_sample=0, progress=False)
    return course, released, read_exam(course, DATE, "B1")


def test_each_starter_states_its_own_parameters(exam):
    course, released, again = exam
    assert again.seats == released.seats  # exam.json gives back what was released
    assert {s.experiment for s in released.seats} == {EXP2.id, EXP4.id}
    for seat in released.seats:
        nb = nbformat.read(course / seat.starter, as_version=4)
        text = "\n".join(c.source for c in nb.cells)
        values = seat.variant.as_dict()
        assert "parameter(" not in text.replace("import parameter", "")
        assert "{{" not in text
        if seat.experiment == EXP4.id:
            digit, k = values["normal_digit"], values["k"]
            assert f"NORMAL_DIGIT = {digit!r}" in text and f"THRESHOLD_K = {k!r}" in text
            assert f"**{digit}** in this notebook" in text
            assert f"mean + {k:g} × standard deviation" in text
            public = (course / seat.starter).parent / "tests" / "q4_threshold.py"
            assert f"K = {k!r}" in public.read_text()
        else:
            units, epochs = values["hidden_units"], values["epochs"]
            assert f"HIDDEN_UNITS = {units!r}" in text and f"EPOCHS = {epochs!r}" in text
            words = ", ".join(map(str, units[:-1])) + f" and {units[-1]}"
            assert f"**{words}** units" in text and f"exactly **{epochs}** epochs" in text


def test_neighbours_get_different_starters(exam):
    course, released, _ = exam
    for before, after in zip(released.seats, released.seats[1:]):
        one = (course / before.starter).read_bytes()
        other = (course / after.starter).read_bytes()
        assert one != other


def test_each_variant_has_its_hidden_tests(exam):
    course, released, _ = exam
    seat = next(s for s in released.seats if s.experiment == EXP4.id)
    folder = course / "autograder" / "exams" / f"{DATE}-B1" / EXP4.id / seat.variant.key()
    hidden = (folder / "tests" / "q1_data.py").read_text()
    assert f"digit = {seat.variant.as_dict()['normal_digit']}" in hidden
    manifest = json.loads((folder / "manifest.json").read_text()) if (folder / "manifest.json").exists() else None
    assert manifest is None or manifest["parameters"]["k"] == seat.variant.as_dict()["k"]


# --------------------------------------------------------------------------- judging per roll

def _judge(test, ns: dict, tmp: Path) -> tuple[bool, str]:
    """One planned test as the grader runs it: extract in the 'kernel' namespace, export through
    the safe formats, load, judge (both halves come from the plan, variant bound)."""
    from dlkit import checks

    kernel = dict(ns)
    exec(compile(test.extract, "<extract>", "exec"), kernel)  # noqa: S102
    folder = tmp / test.id
    folder.mkdir()
    checks.export(kernel["extract"](kernel), folder)
    judge: dict = {}
    exec(compile(test.judge, "<judge>", "exec"), judge)  # noqa: S102
    try:
        judge["judge"](checks.load(folder))
    except AssertionError as exc:
        return False, str(exc)
    return True, ""


def _reference_namespace(digit: int, k: float) -> dict:
    """What the master's reference cells leave behind, with the variant's values: its data
    preparation and threshold functions run as written; an untrained 784-16-784 autoencoder
    stands in for the trained one (the two tests judged here do not measure training)."""
    import keras

    from dlkit.data import keep_back, load_mnist

    master = read_master(EXP4.master)
    cells = {n: c.source for n, c in enumerate(master.notebook.cells, start=1)}
    data_cell = next(s for s in cells.values() if "keep_back(load_mnist())" in s)
    functions = next(s for s in cells.values() if "def anomaly_threshold" in s)
    ns = {"np": np, "keep_back": keep_back, "load_mnist": load_mnist, "NORMAL_DIGIT": digit,
          "THRESHOLD_K": k}
    exec(compile(re.sub(r"^print\(.*$", "", data_cell, flags=re.M), "<data>", "exec"), ns)  # noqa: S102
    keras.utils.set_random_seed(0)
    ns["autoencoder"] = keras.Sequential([keras.Input((784,)), keras.layers.Dense(16),
                                          keras.layers.Dense(784, activation="sigmoid")])
    exec(compile(functions.split("# BEGIN SOLUTION\nval_errors")[0], "<functions>", "exec"), ns)  # noqa: S102
    return ns


def test_the_reference_for_a_variant_passes_it_and_fails_another(tmp_path):
    own = variant_of(EXP4, {"normal_digit": 7, "k": 2.5})
    other = variant_of(EXP4, {"normal_digit": 3, "k": 3.5})
    ns = _reference_namespace(7, 2.5)
    tests = ("q1_data-1", "q4_threshold-1")  # the hidden tests that read the parameters
    for variant, expected in ((own, True), (other, False)):
        plan = {t.id: t for t in plan_tests(EXP4, variant.to_json())}
        for test_id in tests:
            folder = tmp_path / variant.key()
            folder.mkdir(exist_ok=True)
            passed, message = _judge(plan[test_id], ns, folder)
            assert passed is expected, (variant.key(), test_id, message)
            if not expected:
                assert ("normal digit 3" in message) if test_id.startswith("q1") \
                    else ("3.5 std" in message or "anomaly_threshold gave" in message)
    term_work = {t.id: t for t in plan_tests(EXP4)}  # term work: digit 0, k 3
    assert "digit = 0" in term_work["q1_data-1"].judge and "K = 3" in term_work["q4_threshold-1"].judge


def test_a_notebook_answering_another_variant_is_named():
    own = variant_of(EXP4, {"normal_digit": 7, "k": 2.5})
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import numpy as np\nNORMAL_DIGIT = 3  # copied from a neighbour\nTHRESHOLD_K = 2.5")])
    note = another_variant(nb, EXP4, own)
    assert "NORMAL_DIGIT = 3" in note and "NORMAL_DIGIT = 7" in note and "THRESHOLD_K" not in note
    nb.cells[0].source = "NORMAL_DIGIT = 7\nTHRESHOLD_K = 2.5"
    assert another_variant(nb, EXP4, own) == ""
    nb.cells[0].source = "NORMAL_DIGIT = int(open('x').read())"  # not a literal: nothing claimed
    assert another_variant(nb, EXP4, own) == ""
    assert dataclasses.replace(own).key() == "normal_digit=7,k=2.5"
