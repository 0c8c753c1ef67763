"""The release pipeline: goldens, determinism, the three release checks, errors."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from dlkit.cli import main
from dlkit.errors import NotebookFormatError
from dlkit.experiments import EXPERIMENTS, ROOT, Threshold
from dlkit.release import ReleaseCheckFailed, build, leak_scan, release_experiment
from tests.conftest import tree_bytes

GOLDENS = Path(__file__).parent / "goldens" / "toy"


def test_build_matches_goldens(toy, tmp_path, update_goldens):
    build(toy, tmp_path / "out")
    for kind in ("release", "autograder"):
        made = tree_bytes(tmp_path / "out" / kind / "toy")
        golden = GOLDENS / kind
        if update_goldens:
            shutil.rmtree(golden, ignore_errors=True)
            shutil.copytree(tmp_path / "out" / kind / "toy", golden)
        assert made == tree_bytes(golden), f"{kind}/ differs from tests/goldens/toy/{kind}"


def test_student_notebook_is_redacted(toy, tmp_path):
    build(toy, tmp_path)
    nb = nbformat.read(tmp_path / "release" / "toy" / "toy.ipynb", as_version=4)
    sources = "\n".join(c.source for c in nb.cells)
    assert "centred = ..." in sources and "def scale(x):\n    ..." in sources
    assert "data.mean()" not in sources and "np.abs(x).max()" not in sources
    assert "secret" not in sources
    public_tests = (tmp_path / "release" / "toy" / "tests" / "q1_mean.py").read_text()
    assert "centred should have 10 values" in public_tests and "hidden" in public_tests
    assert "secret mean" not in public_tests
    assert not (tmp_path / "release" / "toy" / "tests" / "q2_scale.py").read_text().count(
        "largest absolute")
    assert all(c.get("outputs", []) == [] for c in nb.cells)


@pytest.mark.parametrize("experiment_id", sorted(EXPERIMENTS))
def test_committed_release_is_what_release_makes_now(experiment_id, tmp_path):
    """release/ and autograder/ in the repository match `dlkit release` on source/ today."""
    build(EXPERIMENTS[experiment_id], tmp_path)
    for kind in ("release", "autograder"):
        assert tree_bytes(tmp_path / kind / experiment_id) == tree_bytes(
            ROOT / kind / experiment_id), f"{kind}/{experiment_id} is stale: run `make release`"


def test_manifest_lists_points_thresholds_and_dataset():
    manifest = json.loads((ROOT / "autograder" / "exp2-feedforward" / "manifest.json").read_text())
    assert manifest["datasets"] == ["mnist"]
    assert manifest["thresholds"]["test_accuracy"]["value"] == 0.97
    assert manifest["points"] == {"auto": 14, "manual": 2}
    accuracy = next(q for q in manifest["questions"] if q["name"] == "q5_accuracy")
    assert {"hidden": True, "points": 4} in accuracy["tests"]


def test_release_with_all_checks(toy):
    result = release_experiment(toy, progress=False)
    assert result.checked
    assert result.solution_scores == {"q1_mean": (3, 3), "q2_scale": (2, 2)}
    assert result.student_scores == {"q1_mean": (0, 3), "q2_scale": (0, 2)}
    solutions = toy.root / "solutions" / "toy"
    executed = nbformat.read(solutions / "toy.ipynb", as_version=4)
    assert any(c.get("outputs") for c in executed.cells if c.cell_type == "code")
    assert (solutions / "toy.html").read_text().count("<html") == 1
    assert (toy.root / "autograder" / "toy" / "toy-autograder.zip").is_file()


def _edit_master(experiment, old: str, new: str) -> None:
    nb = nbformat.read(experiment.master, as_version=4)
    for cell in nb.cells:
        cell.source = cell.source.replace(old, new)
    nbformat.write(nb, experiment.master)


def test_wrong_reference_stops_the_release_and_replaces_nothing(toy):
    keep = toy.root / "release" / "toy" / "published-before.txt"
    keep.parent.mkdir(parents=True)
    keep.write_text("the last good release")
    _edit_master(toy, "centred = data - data.mean() # SOLUTION", "centred = data # SOLUTION")
    with pytest.raises(ReleaseCheckFailed, match=r"does not get full marks.*question q1_mean: 1/3"):
        release_experiment(toy, progress=False)
    assert keep.read_text() == "the last good release"
    assert not (toy.root / "autograder" / "toy").exists()


def test_a_test_that_passes_unanswered_stops_the_release(toy):
    nb = nbformat.read(toy.master, as_version=4)
    public = next(c for c in nb.cells if "centred should have 10 values" in c.source)
    # a public test that checks nothing: the rules checks (a comparison of code) let it through
    public.source = ("import dlkit.checks as checks\n\ndef extract(ns):\n    return {}\n\n"
                     "def judge(data):\n    return None\n\nchecks.run(extract, judge, globals())")
    nbformat.write(nb, toy.master)
    with pytest.raises(ReleaseCheckFailed, match=r"unanswered student notebook scores marks.*q1_mean: 1/3"):
        release_experiment(toy, progress=False)


def test_leak_scan_finds_planted_secrets(toy, tmp_path):
    master = build(toy, tmp_path)
    folder = tmp_path / "release" / "toy"
    assert leak_scan(master, folder) == []
    nb = nbformat.read(folder / "toy.ipynb", as_version=4)
    hidden_test = master.question("q2_scale").tests[0].source
    nb.metadata["notes"] = hidden_test
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", text="return x / np.abs(x).max()\n")]
    nbformat.write(nb, folder / "toy.ipynb")
    (folder / "hint.txt").write_text(
        "**SOLUTION:** so that the secret model answer about centring stays hidden from students.")
    leaks = {(leak.path, leak.line) for leak in leak_scan(master, folder)}
    assert ("toy/toy.ipynb", 'assert np.allclose(data["scaled"], [0.5, -1.0, 0.25]), '
            '"divide by the largest absolute value"') in leaks
    assert ("toy/toy.ipynb", "return x / np.abs(x).max()") in leaks
    assert any(p == "toy/hint.txt" for p, _ in leaks)


def test_leak_stops_the_release(toy):
    _edit_master(toy, "Compute `centred`", "Compute `centred` like `centred = data - data.mean()`")
    release_experiment(toy, check=False, progress=False)  # the prompt gives it away on purpose
    # a side file shipped to students that carries a solution line is a leak
    (toy.master.parent / "notes.txt").write_text("reminder: return x / np.abs(x).max()\n")
    _edit_master(toy, "run_tests: false", "run_tests: false\nfiles:\n- notes.txt")
    with pytest.raises(ReleaseCheckFailed, match=r"1 secret line.*toy/notes.txt.*np.abs"):
        release_experiment(toy, check=False, progress=False)
    assert not (toy.root / "release" / "toy" / "notes.txt").exists()  # nothing was replaced


def test_release_of_unknown_experiment_lists_known_ones():
    result = CliRunner().invoke(main, ["release", "nosuch"])
    assert result.exit_code == 1
    assert "Error: unknown experiment 'nosuch'" in result.output
    assert "exp2-feedforward" in result.output and "exp4-autoencoder-anomaly" in result.output


def test_malformed_master_is_refused_with_cell_and_question(toy):
    _edit_master(toy, "# BEGIN TESTS", "# BEGIN TEST")
    with pytest.raises(Exception) as caught:
        release_experiment(toy, progress=False)
    assert "malformed marker '# BEGIN TEST'" in str(caught.value)
    assert "toy.ipynb, cell 9, question q1_mean" in str(caught.value)


# --------------------------------------------------------------------------- the rules checks

TOY_MEAN_CHECK = 'assert abs(float(data["centred"].mean())) < 1e-12, "subtract the secret mean of the toy data"'


def _with_threshold(toy):
    """The toy experiment with a registry threshold its hidden test reads."""
    experiment = dataclasses.replace(toy, thresholds={"max_mean": Threshold(1e-9, "toy figure")})
    _edit_master(experiment, TOY_MEAN_CHECK,
                 'from dlkit.experiments import threshold\n    assert abs(float(data["centred"].mean())) '
                 '<= threshold("toy", "max_mean"), "subtract the secret mean of the toy data"')
    return experiment


def test_a_threshold_the_text_does_not_state_is_refused_by_name(toy):
    experiment = _with_threshold(toy)
    with pytest.raises(ReleaseCheckFailed) as caught:
        release_experiment(experiment, check=False, progress=False)
    message = str(caught.value)
    assert message.startswith("criterion not in the brief: 1 problem(s)")
    assert "q1_mean (cell 11): the hidden test applies the threshold max_mean (1e-09" in message
    assert "write {{ thresholds.max_mean }}" in message
    assert not (toy.root / "release" / "toy").exists()  # nothing was built or replaced


def test_a_threshold_written_as_a_placeholder_is_filled_in_from_the_registry(toy):
    experiment = _with_threshold(toy)
    _edit_master(experiment, "the array `data` minus its mean.",
                 "the array `data` minus its mean (|mean| at most {{ thresholds.max_mean }}).")
    release_experiment(experiment, check=False, progress=False)
    released = nbformat.read(toy.root / "release" / "toy" / "toy.ipynb", as_version=4)
    text = "\n".join(c.source for c in released.cells if c.cell_type == "markdown")
    assert "(|mean| at most 1e-09)" in text and "{{" not in text
    assert "{{ thresholds.max_mean }}" in toy.master.read_text()  # the master keeps the placeholder


def test_an_unknown_placeholder_stops_the_release(toy):
    _edit_master(toy, "the array `data` minus its mean.", "the mean, at most {{ thresholds.nosuch }}.")
    with pytest.raises(NotebookFormatError, match=r"registry has no threshold 'nosuch' for toy"):
        release_experiment(toy, check=False, progress=False)


def test_a_number_a_hidden_test_compares_with_must_be_in_the_text(toy):
    _edit_master(toy, TOY_MEAN_CHECK, TOY_MEAN_CHECK + '\n    assert len(data["centred"]) >= 7, "too short"')
    with pytest.raises(ReleaseCheckFailed, match=r"(?s)criterion not in the brief.*compares with 7 "
                       r"\(line 14: `len\(data\['centred'\]\) >= 7`\)"):
        release_experiment(toy, check=False, progress=False)
    _edit_master(toy, "the array `data` minus its mean.", "the array `data` (at least seven values) "
                 "minus its mean.")
    release_experiment(toy, check=False, progress=False)  # stated in words: accepted


def test_a_public_check_no_hidden_test_repeats_is_refused_by_name(toy):
    # the public test accepts any length the hidden test refuses: two rules for one input
    _edit_master(toy, 'assert data["centred"].shape == (10,), "centred should have 10 values"\n\n',
                 'assert data["centred"].ndim == 1, "centred should be a vector"\n\n')
    with pytest.raises(ReleaseCheckFailed) as caught:
        release_experiment(toy, check=False, progress=False)
    message = str(caught.value)
    assert message.startswith("public and hidden tests disagree: 1 problem(s)")
    assert ("q1_mean (cell 10): the public test has the check `assert data['centred'].ndim == 1, "
            "'centred should be a vector'`, which no hidden test of q1_mean repeats") in message


def test_a_public_test_on_another_input_is_refused(toy):
    _edit_master(toy, 'return {"centred": np.asarray(checks.get(ns, "centred"))}\n\ndef judge(data):\n'
                 '    assert data["centred"].shape == (10,), "centred should have 10 values"\n\n',
                 'return {"centred": np.asarray(checks.get(ns, "centred"))[:10]}\n\ndef judge(data):\n'
                 '    assert data["centred"].shape == (10,), "centred should have 10 values"\n\n')
    with pytest.raises(ReleaseCheckFailed, match=r"(?s)public and hidden tests disagree.*extracts "
                       r"data\['centred'\] as `np.asarray\(checks.get\(ns, 'centred'\)\)\[:10\]`"):
        release_experiment(toy, check=False, progress=False)
