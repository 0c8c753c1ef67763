"""Known version changes: the error a right-when-written notebook stops at, explained."""

from __future__ import annotations

import pytest

from dlkit.grading.version_changes import explain, version_changes


@pytest.mark.parametrize(("name", "message", "says"), [
    ("KeyError", "'acc'", "`history.history['acc']`: Keras 3 names it `'accuracy'`"),
    ("KeyError", "'val_acc'", "Keras 3 names it `'accuracy'`"),
    ("ModuleNotFoundError", "No module named 'keras.preprocessing.text'", "TextVectorization"),
    ("TypeError", "OneHotEncoder.__init__() got an unexpected keyword argument 'sparse'",
     "`OneHotEncoder(sparse_output=...)`"),
    ("AttributeError", "module 'numpy' has no attribute 'float'.\n`np.float` was a deprecated alias",
     "removed in NumPy 1.24"),
    ("AttributeError", "module 'tensorflow' has no attribute 'placeholder'", "tf.compat.v1"),
    ("ValueError", "Argument(s) not recognized: {'lr': 0.01}", "`learning_rate=`"),
])
def test_a_known_change_is_explained_with_its_replacement(name, message, says):
    assert says in explain({"error": name, "message": message})


def test_anything_else_is_not_a_version_change():
    assert explain({"error": "KeyError", "message": "'accuracy'"}) is None
    assert explain({"error": "ValueError", "message": "could not convert 'acc'"}) is None
    assert explain({}) is None


def test_the_table_is_one_data_file_every_row_complete():
    assert len(version_changes()) >= 8


def test_the_page_shows_the_keras_3_name(tmp_path):
    from dlkit.feedback import write_feedback
    from dlkit.gradebook import Gradebook, Student
    from tests.test_feedback import EXP, _result, _run, _submission

    gradebook = Gradebook.open(tmp_path)
    error = {"cell": 9, "error": "KeyError", "message": "'acc'",
             "first_line": "plt.plot(history.history['acc'])", "frames": [],
             "version_change": explain({"error": "KeyError", "message": "'acc'"})}
    with gradebook.session() as s:
        s.add(Student(roll="41008", name="Kiran More", batch="B1"))
        s.flush()
        submission = _submission("41008", 1)
        run = _run(submission, [_result("q1", 0, False, True, 2.0)], status="error",
                   reason="cell 9 raised KeyError: 'acc'")
        run.error = __import__("json").dumps(error)
        s.add(submission)
    (page,) = write_feedback(EXP, course=tmp_path, gradebook=gradebook)
    html = page.read_text(encoding="utf-8")
    assert "A library version change, not a mistake:" in html
    assert "Keras 3 names it `&#39;accuracy&#39;`" in html
    gradebook.engine.dispose()
