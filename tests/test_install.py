"""`pip install` of the repository gives a working kit outside the checkout (issue #23).

The wheel and sdist are built once (``python -m build``) and the wheel installed with
``--no-deps --target`` (the heavy stack is this environment's): every command below runs with
that folder first on ``PYTHONPATH``, from a folder outside the checkout, the checkout on no path.
One notebook is graded in the sandbox, so this module costs about one graded Experiment 2 run.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import time
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

import dlkit
from dlkit.experiments import EXPERIMENTS, KIT_FOLDER, PRIVATE_KIT_FOLDERS
from dlkit.notebook.master import read_master
from dlkit.release import _searchable_text  # the leak scan's own reading of a file

CHECKOUT = Path(__file__).resolve().parent.parent
KIT_IDS = [e.id for e in EXPERIMENTS.values() if e.root == CHECKOUT]
#: what the wheel's dlkit/_kit may hold, folder by folder (anything else is a mistake)
KIT_TOP = {"source", "release", "autograder", "rubrics", "reports"}
REPORTS_PARTS = {"README.md", "templates", "questions"}
#: environment variables that would point the installed kit back at the checkout or elsewhere
CLEARED = ("PYTHONPATH", "DLKIT_COURSE", "DLKIT_COURSE_MASTERS", "DLKIT_EXTRA_EXPERIMENTS")


@dataclass
class Installed:
    wheel: Path
    sdist: Path
    site: Path  # the --target folder
    outside: Path  # a folder outside the checkout, the commands' working folder
    build_seconds: float
    install_seconds: float

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in CLEARED}
        return {**env, "PYTHONPATH": str(self.site), "PYTHONSAFEPATH": "1"}

    def python(self, code: str, *args: str, cwd: Path | None = None) -> str:
        return self._run([sys.executable, "-c", code, *args], cwd)

    def dlkit(self, *args: str, cwd: Path | None = None, ok: bool = True) -> str:
        return self._run([sys.executable, "-m", "dlkit", *args], cwd, ok)

    def _run(self, argv: list[str], cwd: Path | None, ok: bool = True) -> str:
        result = subprocess.run(argv, cwd=cwd or self.outside, env=self.env, text=True,
                                capture_output=True, timeout=900)
        output = result.stdout + result.stderr
        assert (result.returncode == 0) == ok, f"{argv[1:]} exited {result.returncode}:\n{output[-4000:]}"
        return output


def leaks(folder: Path) -> list[tuple[str, str]]:
    """The release's leak scan over ``folder``, for every master at once: (file, line) for each
    solution or hidden-test line found in a file there. A line some released starter shows
    (``return model``) teaches nothing the release does not."""
    with warnings.catch_warnings():  # it decodes .py escapes too: the package's regexes warn
        warnings.simplefilter("ignore", DeprecationWarning)
        shown = "\n".join(_searchable_text(p) for p in (CHECKOUT / "release").rglob("*") if p.is_file())
        secrets = {line for exp in KIT_IDS
                   for line in read_master(CHECKOUT / "source" / exp / f"{exp}.ipynb").secret_lines()
                   if line not in shown}
        assert secrets
        return [(str(path.relative_to(folder)), line) for path in sorted(folder.rglob("*"))
                if path.is_file() for line in sorted(secrets) if line in _searchable_text(path)]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    root = tmp_path_factory.mktemp("install")
    assert not root.resolve().is_relative_to(CHECKOUT)
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(root / "dist"),
                    str(CHECKOUT)], check=True, capture_output=True, timeout=600)
    built = time.monotonic()
    (wheel,) = (root / "dist").glob("*.whl")
    (sdist,) = (root / "dist").glob("*.tar.gz")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--target", str(root / "site"), str(wheel)], check=True, capture_output=True,
                   timeout=300)
    kit = Installed(wheel, sdist, root / "site", root / "outside", built - started,
                    time.monotonic() - built)
    kit.outside.mkdir()
    print(f"\nbuilt sdist+wheel in {kit.build_seconds:.1f} s, wheel {wheel.stat().st_size / 1e3:.0f} "
          f"kB, installed in {kit.install_seconds:.1f} s")
    return kit


def test_the_installed_package_is_the_one_imported_and_finds_its_kit(installed):
    shown = json.loads(installed.python(
        "import json, sys, dlkit; from dlkit.experiments import ROOT, kit_is_installed\n"
        "print(json.dumps([dlkit.__file__, str(ROOT), kit_is_installed(), sys.path]))"))
    assert Path(shown[0]).is_relative_to(installed.site)
    assert Path(shown[1]) == (installed.site / "dlkit" / KIT_FOLDER).resolve() and shown[2]
    on_path = [Path(p).resolve() for p in shown[3] if Path(p).is_absolute()]  # not path hooks
    assert not [p for p in on_path if p.is_relative_to(CHECKOUT) and not p.is_relative_to(Path(sys.prefix))]
    assert installed.dlkit("--version").strip() == f"dlkit, version {dlkit.__version__}"


def test_the_wheel_holds_the_kit_and_nothing_a_student_receives_leaks(installed, tmp_path):
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
        wheel.extractall(tmp_path / "wheel")
    kit = {n.removeprefix(f"dlkit/{KIT_FOLDER}/") for n in names if n.startswith(f"dlkit/{KIT_FOLDER}/")}
    # the list: every experiment's master, release, autograder, rubrics, questions; templates
    for exp in KIT_IDS:
        assert {f"source/{exp}/{exp}.ipynb", f"release/{exp}/{exp}.ipynb", f"rubrics/{exp}.yml",
                f"autograder/{exp}/{exp}-autograder.zip", f"autograder/{exp}/manifest.json",
                f"rubrics/free-form/{exp}.py", f"reports/questions/{exp}.yml"} <= kit, exp
    for folder in ("release", "autograder", "reports/templates"):
        files = {str(p.relative_to(CHECKOUT)) for p in (CHECKOUT / folder).rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts}
        assert files and files <= kit, sorted(files - kit)
    assert "rubrics/course.yml" in kit
    assert {n.split("/")[0] for n in kit} == KIT_TOP
    assert {n.split("/")[1] for n in kit if n.startswith("reports/")} == REPORTS_PARTS
    assert not any(n.startswith("solutions/") for n in kit), "solutions/ must not ship"
    # the package: every module, the portal's scripts, the kernel's google.colab stand-in
    modules = {str(p.relative_to(CHECKOUT)) for p in (CHECKOUT / "dlkit").rglob("*.py")
               if "__pycache__" not in p.parts}
    assert modules <= names, sorted(modules - names)
    assert {"dlkit/portal/static/poll.js", "dlkit/grading/kernel_path/google/colab/drive.py",
            "dlkit-0.1.0.dist-info/licenses/LICENSE".replace("0.1.0", dlkit.__version__)} <= names
    assert not any(n.startswith(("tests/", "solutions/")) or "__pycache__" in n for n in names)
    # the leak scan's rule over the kit's files a student may see: all but its private folders
    # (the package's modules are the library the starters import, public by design)
    student_view = tmp_path / "wheel" / "dlkit" / KIT_FOLDER
    for private in PRIVATE_KIT_FOLDERS:
        shutil.rmtree(student_view / private, ignore_errors=True)
    assert leaks(student_view) == []
    # the sdist builds that wheel and holds no more of the instructor's than it
    with tarfile.open(installed.sdist) as sdist:
        members = {m.name.split("/", 1)[1] for m in sdist.getmembers() if "/" in m.name}
    assert {"setup.py", "LICENSE", "MANIFEST.in", "source/exp2-feedforward/exp2-feedforward.ipynb"} <= members
    assert not any(m.startswith(("solutions", "tests", "demo/")) for m in members)


def test_a_students_wheel_holds_no_solution_hidden_test_or_viva_answer(installed, tmp_path):
    with tarfile.open(installed.sdist) as sdist:
        sdist.extractall(tmp_path, filter="data")
    (source,) = tmp_path.glob("dlkit-*")
    env = {**os.environ, "DLKIT_WHEEL": "student"}
    subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir",
                    str(tmp_path / "dist"), str(source)], check=True, capture_output=True, env=env,
                   timeout=600)
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path / "wheel")
    kit = f"dlkit/{KIT_FOLDER}/"
    assert f"{kit}release/exp2-feedforward/exp2-feedforward.ipynb" in names
    assert f"{kit}reports/templates/feedback.html" in names
    assert not [n for n in names if any(n.startswith(kit + p + "/") for p in PRIVATE_KIT_FOLDERS)]
    assert leaks(tmp_path / "wheel" / "dlkit" / KIT_FOLDER) == []


@pytest.fixture(scope="module")
def graded_course(installed) -> Path:
    """``dlkit init``, one demo notebook collected and graded in the sandbox, its feedback page
    and term-work PDF: all from the installed kit, outside the checkout."""
    course = installed.outside / "dl-lab"
    installed.dlkit("init", "dl-lab")
    roster = (CHECKOUT / "demo" / "roster.csv").read_text(encoding="utf-8").splitlines()
    with (course / "roster.csv").open("a", encoding="utf-8") as out:
        out.write("\n".join(line + ",," for line in roster[1:]) + "\n")
    # the partial Experiment 2 (one epoch), with a last cell that looks for the kit's secrets
    notebook = nbformat.read(CHECKOUT / "demo/submissions/exp2-feedforward/41002_exp2-feedforward.ipynb",
                             as_version=4)
    probe = nbformat.v4.new_code_cell(PROBE)
    if notebook.nbformat_minor < 5:  # cell ids came with nbformat 4.5
        del probe["id"]
    notebook.cells.append(probe)
    inbox = installed.outside / "inbox"
    inbox.mkdir()
    nbformat.write(notebook, inbox / "41002_exp2-feedforward.ipynb")
    collected = installed.dlkit("collect", "exp2-feedforward", str(inbox), "--roster",
                                str(course / "roster.csv"), "--due", "2030-01-01 17:00", "--course", str(course))
    assert "1 stored, 0 duplicate, 0 rejected" in collected, collected
    sandbox = ["--require-sandbox"] if shutil.which("bwrap") else []
    installed.dlkit("grade", "exp2-feedforward", "--course", str(course), "--workers", "1", *sandbox)
    installed.dlkit("feedback", "exp2-feedforward", "--course", str(course))
    installed.dlkit("report", "term-work", "--student", "41002", "--course", str(course))
    return course


#: the last cell of the graded notebook: which of the kit's files can student code see?
PROBE = """\
import os, dlkit
_kit = os.path.join(os.path.dirname(dlkit.__file__), "_kit")
_seen = []
for _folder, _, _files in os.walk(_kit):
    for _name in _files:
        try:
            with open(os.path.join(_folder, _name), "rb") as _file:
                _seen.append(os.path.relpath(os.path.join(_folder, _name), _kit) + f" {len(_file.read())}")
        except OSError:
            pass
print("KIT-PROBE", len(_seen), _seen[:5])
"""


@pytest.mark.sandbox
def test_the_installed_kit_grades_a_notebook_and_writes_its_papers(installed, graded_course):
    course = graded_course
    with sqlite3.connect(course / "gradebook.db") as db:
        status, score, max_score, sandbox, kit_version = db.execute(
            "SELECT status, score, max_score, sandbox, kit_version FROM runs").fetchone()
    assert status == "graded" and 0 < score < max_score, (status, score, max_score)
    assert kit_version == dlkit.__version__
    if shutil.which("bwrap"):
        assert sandbox.startswith("bubblewrap")
    page = course / "feedback" / "exp2-feedforward" / "41002.html"
    assert "exp2-feedforward" in page.read_text(encoding="utf-8") or "Feed-forward" in page.read_text()
    assert leaks(course / "feedback") == []
    (pdf,) = (course / "reports").rglob("*41002*.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")


@pytest.mark.skipif(not shutil.which("bwrap"), reason="the sandbox's isolation needs bubblewrap")
@pytest.mark.sandbox
def test_the_graded_notebook_could_not_read_the_installed_kit(installed, graded_course):
    outside = installed.python(PROBE)  # where nothing masks it, the probe reads every kit file
    assert int(outside.split("KIT-PROBE ")[1].split()[0]) > 100, outside
    (executed,) = (graded_course / "graded" / "exp2-feedforward").glob("*/executed.ipynb")
    last = nbformat.read(executed, as_version=4).cells[-1]
    text = "".join(o.get("text", "") for o in last.get("outputs", []))
    assert "KIT-PROBE 0 []" in text, text


def test_a_course_of_its_own_masters_releases_into_itself(installed):
    course = installed.outside / "own-masters"
    out = installed.dlkit("init", "own-masters", "--with-masters")
    assert "wrote" in out and (course / "source/exp2-feedforward/exp2-feedforward.ipynb").exists()
    assert (course / "autograder/exp2-feedforward/manifest.json").exists()
    again = installed.dlkit("init", "own-masters")
    assert "wrote" not in again and "kept" in again
    # the installed kit's own folders are never written; the course's masters are released there
    refused = installed.dlkit("release", "--no-check", "exp2-feedforward", ok=False)
    assert "Error: the installed kit's masters are released already" in refused
    assert "dlkit release --course COURSE" in refused
    master = course / "source/exp2-feedforward/exp2-feedforward.ipynb"
    notebook = nbformat.read(master, as_version=4)
    notebook.cells[1].source += "\n\n*Changed by this course.*"
    nbformat.write(notebook, master)
    installed.dlkit("release", "--no-check", "--course", "own-masters", "exp2-feedforward")
    released = (course / "release/exp2-feedforward/exp2-feedforward.ipynb").read_text(encoding="utf-8")
    assert "Changed by this course." in released
    shutil.rmtree(course / "source" / "exp4-autoencoder-anomaly")  # the kit's own serves it again
    shown = json.loads(installed.python(
        "import json, sys; from pathlib import Path; from dlkit import experiments as e\n"
        "e.use_course(Path(sys.argv[1]))\n"
        "print(json.dumps([str(e.get('exp2-feedforward').master), str(e.get('exp4-autoencoder-anomaly')"
        ".master), [str(p) for p in e.private_kit_folders()]]))", str(course)))
    assert Path(shown[0]) == master.resolve()
    assert Path(shown[1]).is_relative_to(installed.site)
    assert [Path(p) for p in shown[2]] == [(installed.site / "dlkit" / KIT_FOLDER).resolve(), course.resolve()]


@pytest.mark.skipif(not shutil.which("bwrap"), reason="the sandbox's isolation needs bubblewrap")
@pytest.mark.sandbox
def test_the_private_kit_folders_are_masked_in_the_sandbox(installed):
    """``default_sandbox`` always masks the kit and the course's masters."""
    course = installed.outside / "own-masters"
    if not course.exists():
        installed.dlkit("init", "own-masters", "--with-masters")
    out = installed.python(SANDBOXED, str(course))
    (counts,) = [line.split()[1:] for line in out.splitlines() if line.startswith("COUNTS")]
    files, read, unmasked = map(int, counts)
    assert files > 200 and read == 0, out  # the kit's and the course's masters, hidden tests, ...
    assert unmasked > 100, out  # unmasked, the installed kit inside the package folder is readable


SANDBOXED = """\
import json, sys
from pathlib import Path
from dlkit import experiments
from dlkit.sandbox import Limits, default_sandbox
course = Path(sys.argv[1]).resolve()
experiments.use_course(course)
private = experiments.private_kit_folders()
files = [str(p) for folder in private for p in folder.rglob("*") if p.is_file()]
work = course.parent / "work"
work.mkdir(exist_ok=True)
probe = ("read = 0\\nfor path in " + json.dumps(files) + ":\\n    try:\\n"
         "        read += len(open(path, 'rb').read(1)) >= 0\\n    except OSError:\\n        pass\\n"
         "print(read)")
result = default_sandbox(private).run([sys.executable, "-c", probe], work, {"PATH": "/usr/bin"},
                                      Limits(30))
print(result.stderr[-2000:], file=sys.stderr)
import dataclasses
bare = dataclasses.replace(default_sandbox([]), hide=[])  # what default_sandbox never gives
unmasked = bare.run([sys.executable, "-c", probe], work, {"PATH": "/usr/bin"}, Limits(30))
print("COUNTS", len(files), result.stdout.strip(), unmasked.stdout.strip())
"""


def test_without_tensorflow_grading_says_what_to_install(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from dlkit import stack
    from dlkit.cli import main

    monkeypatch.setattr(stack, "find_spec", lambda name: None if name == "tensorflow" else object())
    result = CliRunner().invoke(main, ["grade", "exp2-feedforward", "--course", str(tmp_path)])
    assert result.exit_code == 1
    assert "Error: TensorFlow is not installed; dlkit grade needs it" in result.output
    assert "pip install 'dlkit[cpu]'" in result.output and "Traceback" not in result.output
    dry = CliRunner().invoke(main, ["grade", "exp2-feedforward", "--course", str(tmp_path), "--dry-run"])
    assert dry.exit_code == 0, dry.output


def test_runs_record_the_kit_version_and_older_gradebooks_gain_the_column(tmp_path):
    import datetime as dt

    from dlkit.gradebook import Gradebook, Run, Student, Submission

    gradebook = Gradebook.open(tmp_path)
    with gradebook.session() as s:
        s.add(Student(roll="41001", name="Asha Kulkarni", batch="B1"))
        submission = Submission(experiment="exp2-feedforward", student_roll="41001", version=1,
                                sha256="0" * 64, path="submissions/x.ipynb", original_name="x.ipynb",
                                arrived_at=dt.datetime(2027, 1, 1), status="stored")
        s.add(Run(submission=submission, started_at=dt.datetime(2027, 1, 2), seconds=1.0,
                  device="cpu", sandbox="bubblewrap", status="graded"))
    gradebook.engine.dispose()
    with sqlite3.connect(tmp_path / "gradebook.db") as db:
        assert db.execute("SELECT kit_version FROM runs").fetchall() == [(dlkit.__version__,)]
        db.execute("ALTER TABLE runs DROP COLUMN kit_version")  # a gradebook of an older kit
    Gradebook.open(tmp_path).engine.dispose()
    with sqlite3.connect(tmp_path / "gradebook.db") as db:
        assert db.execute("SELECT kit_version FROM runs").fetchall() == [(None,)]  # unknown, not ours
