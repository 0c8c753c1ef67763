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


def test_the_instructor_s_run_page_keeps_states_and_titles_a_vgg16_run_by_what_was_found(tmp_path):
    import datetime as dt
    import json

    from dlkit.feedback import environment
    from dlkit.gradebook import Gradebook, Student, Submission
    from dlkit.portal.config import Clock
    from dlkit.portal.pages import run_page

    gradebook = Gradebook.open(tmp_path)
    with gradebook.session() as s:
        s.add(Student(roll="41009", name="Rahul More", batch="B1"))
        submission = Submission(experiment="exp6-transfer-learning", student_roll="41009", version=1,
                                sha256="0" * 64, path="s/41009.ipynb", original_name="vgg.ipynb",
                                status="stored", arrived_at=dt.datetime(2026, 1, 1))
        s.add(Run(submission=submission, started_at=dt.datetime(2026, 1, 2), seconds=9.0,
                  device="cpu", sandbox="bubblewrap", status="error", mode="free-form", results=[
                      Result(question="frozen_backbone", test=0, hidden=False, passed=True, points=3.0,
                             max_points=3.0, message="", labels=json.dumps({"model": "VGG16"})),
                      Result(question="training", test=0, hidden=False, passed=False, points=0.0,
                             max_points=2.0, message="not judged: the notebook stopped at cell 4",
                             state="not judged"),
                      Result(question="test_accuracy", test=0, hidden=False, passed=False, points=0.0,
                             max_points=4.0, message="no image folder", state="instructor")]))
        s.flush()
        submission_id = submission.id
    page = run_page(gradebook, "exp6-transfer-learning", submission_id)
    clock = Clock.server()
    assert page.title == "Transfer learning from a pretrained CNN: VGG16 backbone"
    assert [r.state for r in page.results] == ["judged", "not judged", "instructor"]
    html = " ".join(environment().get_template("portal/run.html").render(
        page=page, csrf="x", user=None, flash=None, csp_nonce="n", now=clock.now(),
        clock=clock).split())
    assert "VGG16 backbone" in html and "EfficientNet" not in html and "model: VGG16" in html
    assert html.count('class="fail"') == 0  # neither not judged nor the instructor's is a fail
    assert "left to the instructor" in html and "not judged" in html
    gradebook.engine.dispose()
