"""The dashboard's states for runs that were not the student's doing or left marking behind."""

from __future__ import annotations

from dlkit.gradebook import Result, Run, instructor_items
from dlkit.portal.pages import VersionState, dashboard_state


def _state(status: str) -> VersionState:
    return VersionState(1, "exp5-cbow", 1, None, "on time", "cbow.ipynb", status, status)


def test_data_not_provided_is_not_graded_yet_rather_than_the_student_s_error():
    assert dashboard_state(_state("data not provided"), {}, set()) == "not graded"
    assert dashboard_state(_state("error"), {}, set()) == "stopped with an error"


def test_what_a_run_left_to_the_instructor_puts_it_in_the_marking_queue():
    run = Run(results=[Result(question="embedding", test=0, hidden=False, passed=True,
                              points=2.0, max_points=2.0, message="", state="judged"),
                       Result(question="neighbour_quality", test=0, hidden=False, passed=False,
                              points=0.0, max_points=4.0, message="", state="instructor")])
    pending = instructor_items(run)
    assert pending == {"neighbour_quality": 4.0}
    assert dashboard_state(_state("graded"), pending, set()) == "needs marking"
    assert dashboard_state(_state("graded"), pending, {"neighbour_quality"}) == "graded"
