"""The rubrics agree with the autograder manifests, and the course file is complete."""

from __future__ import annotations

import json

import pytest

from dlkit.experiments import EXPERIMENTS, ROOT
from dlkit.reports.course import load_course
from dlkit.rubrics import load_rubric


@pytest.mark.parametrize("experiment_id", sorted(EXPERIMENTS))
def test_rubric_points_match_the_manifest(experiment_id):
    manifest = json.loads((ROOT / "autograder" / experiment_id / "manifest.json").read_text())
    rubric = load_rubric(experiment_id)
    assert rubric["experiment"] == experiment_id
    assert rubric["auto"] == {q["name"]: q["points"] for q in manifest["questions"]
                              if not q["manual"]}
    assert rubric["manual"] == {q["name"]: q["points"] for q in manifest["questions"]
                                if q["manual"]}


def test_course_file_lists_the_six_experiments_and_the_sppu_weights():
    course = load_course()
    assert [e.number for e in course.experiments] == [1, 2, 3, 4, 5, 6]
    assert set(EXPERIMENTS) <= {e.id for e in course.experiments}
    assert course.term_work["out_of"] == 25 and course.practical["out_of"] == 25
    weights = course.experiment_marks
    assert weights["performance"] + weights["methodology"] + weights["write_up"] \
        + weights["timely"] == weights["out_of"]
    assert course.term_work["experiments"] + course.term_work["attendance"] == 25
    planned = [e.planned for e in course.experiments]
    assert planned == sorted(planned)
