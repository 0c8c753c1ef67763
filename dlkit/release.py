"""Release: one master notebook -> student notebook, autograder bundle, executed solution.

``release_experiment`` builds everything in a staging folder, runs the release checks and only
then replaces ``release/<id>``, ``autograder/<id>`` and ``solutions/<id>``:

1. the reference solution gets full marks from the autograder zip (``otter run``, real data);
2. the student notebook as released, run unanswered, gets zero and does not crash the grader;
3. a leak scan: no solution line and no hidden-test line appears anywhere under ``release/``;
4. every criterion in the brief and one rule for public and hidden tests
   (:mod:`dlkit.notebook.rules`, read from the tests' code): each threshold and numeric bar a
   hidden test applies is in its question's text, thresholds filled in from the experiment
   registry; each public test is contained in a hidden test of its question.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from dlkit.errors import DlkitError, NotebookFormatError
from dlkit.experiments import Experiment
from dlkit.experiments import get as get_experiment
from dlkit.notebook.master import Master, read_master
from dlkit.notebook.rules import fill_thresholds, problems_of
from dlkit.notebook.steps import RELEASE_STEPS, SOLUTION_STEPS, run_steps
from dlkit.variants import Variant, default_variant, fill_parameters, fill_text

log = logging.getLogger(__name__)

#: The fixed timestamp written into autograder zips, so a release is byte-for-byte repeatable.
ZIP_DATE = (2024, 1, 1, 0, 0, 0)
#: Environment for every notebook the release runs: quiet TensorFlow, fixed hashing.
RUN_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": "0"}


class ReleaseCheckFailed(DlkitError):
    """One of the three release checks failed; nothing was replaced."""


@dataclass
class Leak:
    path: str
    line: str


@dataclass
class ReleaseResult:
    experiment: str
    seconds: float = 0.0
    solution_scores: dict[str, tuple[float, float]] = field(default_factory=dict)
    student_scores: dict[str, tuple[float, float]] = field(default_factory=dict)
    checked: bool = False


# --------------------------------------------------------------------------- building

def build(experiment: Experiment, out: Path, variant: Variant | None = None) -> Master:
    """Transform the master into ``out/release/<id>`` and ``out/autograder/<id>`` (no execution),
    with the exam ``variant``'s parameters filled in (default: the term-work values).

    Deterministic: the same master gives the same bytes.
    """
    with tempfile.TemporaryDirectory(prefix="dlkit-assign-") as tmp:
        master = assign(experiment, Path(tmp))
        fill_build(experiment, Path(tmp), out, variant)
    _write_manifest(experiment, master, out / "autograder" / experiment.id / "manifest.json",
                    variant)
    return master


def assign(experiment: Experiment, dist: Path) -> Master:
    """otter assign into ``dist`` (``student/``, ``autograder/`` with its zip): nothing filled
    in yet, so one assignment serves every variant (:func:`fill_build`)."""
    master = read_master(experiment.master)
    expected = experiment.id
    if master.config.get("name") != expected:
        raise NotebookFormatError(f"ASSIGNMENT CONFIG name is {master.config.get('name')!r}",
                                  path=str(experiment.master), cell=1,
                                  fix=f"set `name: {expected}`")
    _otter(["assign", "--no-run-tests", "--no-pdfs", str(experiment.master), str(dist)],
           cwd=experiment.master.parent, where=str(experiment.master))
    return master


def fill_build(experiment: Experiment, dist: Path, out: Path, variant: Variant | None) -> None:
    """One variant's ``out/release/<id>`` and ``out/autograder/<id>`` from an assignment."""
    release_dir = out / "release" / experiment.id
    grader_dir = out / "autograder" / experiment.id
    for target in (release_dir, grader_dir):
        shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(dist / "student", release_dir)
    shutil.copytree(dist / "autograder", grader_dir, ignore=shutil.ignore_patterns("*.zip"))
    fill_variant(experiment, variant, [release_dir, grader_dir], experiment.master.name)
    (zip_path,) = (dist / "autograder").glob("*.zip")
    _rewrite_zip(zip_path, grader_dir / f"{experiment.id}-autograder.zip",
                 lambda entry, data: _filled_entry(experiment, variant, entry, data))


def fill_variant(experiment: Experiment, variant: Variant | None, folders: list[Path],
                 name: str) -> None:
    """Fill thresholds and the variant into otter's output in ``folders``: each notebook goes
    through the release steps, each OK-format test file has its cases' code bound. Run on a
    copy of an unfilled build, it makes one variant's release without running otter again."""
    variant = variant or default_variant(experiment)
    for folder in folders:
        path = folder / name
        nb = run_steps(nbformat.read(path, as_version=4),
                       [fill_thresholds(experiment), fill_parameters(experiment, variant),
                        *RELEASE_STEPS])
        nbformat.write(nb, path)
        for test_file in sorted((folder / "tests").glob("*.py")) if experiment.parameters else []:
            test_file.write_text(fill_test_file(test_file.read_text(), experiment, variant,
                                                where=str(test_file)))


def fill_test_file(text: str, experiment: Experiment, variant: Variant, where: str = "") -> str:
    """An otter OK-format test file (``OK_FORMAT = True`` then ``test = {...}``, written by
    pprint) with the variant bound into each case's code, written back as otter writes it."""
    import ast
    import pprint

    head, sep, body = text.partition("test = ")
    if not sep or "parameter(" not in body:
        return text
    test = ast.literal_eval(body)  # our own release's file, from the master's tests
    for suite in test.get("suites", []):
        for case in suite.get("cases", []):
            case["code"] = fill_text(case["code"], variant, experiment, code=True, where=where)
    return head + sep + pprint.pformat(test, indent=4, width=200, depth=None) + "\n"


def _filled_entry(experiment: Experiment, variant: Variant | None, entry: str,
                  data: bytes) -> bytes:
    if not experiment.parameters or not entry.startswith("tests/") or not entry.endswith(".py"):
        return data
    return fill_test_file(data.decode("utf-8"), experiment, variant or default_variant(experiment),
                          where=entry).encode("utf-8")


def _otter(args: list[str], cwd: Path, where: str, timeout: int = 600) -> str:
    command = [sys.executable, "-m", "otter", *args]
    env = {**os.environ, **RUN_ENV}
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                            env=env)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise NotebookFormatError(f"otter {args[0]} failed: {tail[0]}", path=where)
    return result.stdout


def _rewrite_zip(source: Path, target: Path, transform=None) -> None:
    """Copy a zip with sorted entries and a fixed timestamp (otter stamps the current time),
    each entry's bytes through ``transform(name, data)`` when given."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            fixed.external_attr, fixed.compress_type = info.external_attr, zipfile.ZIP_DEFLATED
            data = src.read(info)
            dst.writestr(fixed, transform(info.filename, data) if transform else data)


def _write_manifest(experiment: Experiment, master: Master, path: Path,
                    variant: Variant | None = None) -> None:
    questions = [{
        "name": q.name, "points": q.points, "manual": q.manual,
        "tests": [{"hidden": t.hidden, "points": t.points} for t in q.tests],
    } for q in master.questions]
    manifest = {
        "experiment": experiment.id, "number": experiment.number, "title": experiment.title,
        "notebook": experiment.master.name, "datasets": list(experiment.datasets),
        "time_limit_s": experiment.time_limit,
        "autograder_zip": f"{experiment.id}-autograder.zip",
        "points": {"auto": sum(q.points for q in master.autograded),
                   "manual": sum(q.points for q in master.questions if q.manual)},
        "thresholds": {k: {"value": t.value, "measured": t.measured}
                       for k, t in experiment.thresholds.items()},
        "questions": questions,
    }
    if experiment.parameters:
        manifest["parameters"] = json.loads((variant or default_variant(experiment)).to_json())
    path.write_text(json.dumps(manifest, indent=1) + "\n")


# --------------------------------------------------------------------------- checks

def check_rules(master: Master, experiment: Experiment) -> None:
    """Release check 4 (:mod:`dlkit.notebook.rules`): refuse, by the check's name, a master
    whose hidden tests apply a criterion its text omits, or whose public and hidden tests of a
    question disagree; every problem is listed."""
    found = problems_of(master, experiment)
    if found:
        listed = "".join(f"\n  {check}:" * (len(found) > 1) + "".join(
            f"\n  {'  ' * (len(found) > 1)}{problem}" for problem in problems)
            for check, problems in found.items())
        raise ReleaseCheckFailed(
            "; ".join(f"{check}: {len(problems)} problem(s)" for check, problems in found.items()),
            where=str(experiment.master), fix="correct the master:" + listed)


def leak_scan(master: Master, folder: Path, experiment: Experiment | None = None,
              variant: Variant | None = None) -> list[Leak]:
    """Every secret line found anywhere under ``folder``: cell sources, metadata, outputs,
    attachments and side files are all searched as text; with ``experiment``, each line as the
    ``variant`` (default: the term-work values) fills it in too."""
    secrets = master.secret_lines()
    if experiment is not None and experiment.parameters:
        chosen = variant or default_variant(experiment)
        secrets |= {fill_text(line, chosen, experiment, code=True) for line in secrets}
    leaks = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = _searchable_text(path)
        for line in sorted(secrets):
            if line in text:
                leaks.append(Leak(str(path.relative_to(folder.parent)), line))
    return leaks


def _searchable_text(path: Path) -> str:
    raw = path.read_bytes()
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            raw = b"\n".join(archive.read(i) for i in archive.infolist())
    text = raw.decode("utf-8", errors="replace")
    if path.suffix in (".ipynb", ".json", ".py"):
        # JSON and repr()'d test files escape quotes and newlines: search the decoded forms too.
        try:
            text += "\n" + json.dumps(json.loads(text), ensure_ascii=False).encode().decode(
                "unicode_escape", errors="replace")
        except ValueError:
            text += "\n" + text.encode().decode("unicode_escape", errors="replace")
    return text


def otter_run(zip_path: Path, notebook: Path, timeout: int) -> dict[str, tuple[float, float]]:
    """Grade ``notebook`` with otter's own runner (what Gradescope runs): question -> (score, max)."""
    with tempfile.TemporaryDirectory(prefix="dlkit-otter-run-") as out:
        _otter(["run", "--no-logo", "-a", str(zip_path), "-o", out, str(notebook)],
               cwd=Path(out), where=str(notebook), timeout=timeout)
        results = json.loads((Path(out) / "results.json").read_text())
    return {t["name"]: (float(t.get("score") or 0), float(t.get("max_score") or 0))
            for t in results["tests"] if "max_score" in t}


def execute_solution(experiment: Experiment, grader_dir: Path, out_dir: Path) -> Path:
    """Run the reference notebook on the real data, keep outputs and plots, render HTML."""
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    name = experiment.master.name
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dlkit-solution-") as tmp:
        work = Path(tmp)
        shutil.copytree(grader_dir, work, dirs_exist_ok=True)
        nb = nbformat.read(work / name, as_version=4)
        old_env = {k: os.environ.get(k) for k in RUN_ENV}
        os.environ.update(RUN_ENV)
        try:
            NotebookClient(nb, timeout=experiment.time_limit, kernel_name="python3",
                           resources={"metadata": {"path": str(work)}}).execute()
        except Exception as exc:
            raise ReleaseCheckFailed("the reference solution raised an error",
                                     where=f"{experiment.id}, {name}",
                                     fix=str(exc).strip().splitlines()[-1][:300]) from None
        finally:
            for key, value in old_env.items():
                os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    nb = run_steps(nb, SOLUTION_STEPS)
    nbformat.write(nb, out_dir / name)
    html, _ = HTMLExporter().from_notebook_node(nb)
    (out_dir / name).with_suffix(".html").write_text(html)
    return out_dir / name


# --------------------------------------------------------------------------- the release

def release_experiment(experiment: Experiment | str, *, check: bool = True,
                       progress: bool = True) -> ReleaseResult:
    """Build, check and publish one experiment; on any failure nothing is replaced."""
    from tqdm import tqdm

    if isinstance(experiment, str):
        experiment = get_experiment(experiment)
    root = experiment.root
    result = ReleaseResult(experiment.id)
    started = time.monotonic()
    steps = ["rules", "build", "leak scan"] + (["solution", "full marks", "zero marks"]
                                               if check else [])
    with tqdm(total=len(steps), desc=experiment.id, unit="step", disable=not progress,
              file=sys.stderr) as bar, \
            tempfile.TemporaryDirectory(prefix="dlkit-release-", dir=root) as staging_dir:
        staging = Path(staging_dir)
        bar.set_postfix_str("rules")
        check_rules(read_master(experiment.master), experiment)
        bar.update()
        bar.set_postfix_str("otter assign")
        master = build(experiment, staging)
        bar.update()
        release_dir = staging / "release" / experiment.id
        grader_dir = staging / "autograder" / experiment.id
        leaks = leak_scan(master, release_dir, experiment)
        if leaks:
            shown = "; ".join(f"{leak.path}: {leak.line!r}" for leak in leaks[:5])
            raise ReleaseCheckFailed(f"{len(leaks)} secret line(s) would reach students",
                                     where=experiment.id, fix=shown)
        bar.update()
        if check:
            check_marks(experiment, grader_dir, release_dir, staging / "solutions" / experiment.id,
                        result, bar)
            result.checked = True
        _publish(staging, root, experiment.id, with_solutions=check)
    result.seconds = time.monotonic() - started
    return result


def check_marks(experiment: Experiment, grader_dir: Path, release_dir: Path,
                solutions_dir: Path, result: ReleaseResult, bar=None) -> None:
    """Release checks 1 and 2 on one build: the reference, executed, gets full marks from the
    autograder zip; the student notebook as released, unanswered, gets zero."""
    def step(what: str) -> None:
        if bar is not None:
            bar.set_postfix_str(what)

    zip_path = grader_dir / f"{experiment.id}-autograder.zip"
    name = experiment.master.name
    step("executing the reference")
    solution = execute_solution(experiment, grader_dir, solutions_dir)
    bar and bar.update()
    step("otter run on the reference")
    result.solution_scores = otter_run(zip_path, solution, experiment.time_limit * 2)
    short = {q: s for q, s in result.solution_scores.items() if s[0] < s[1]}
    if short or not result.solution_scores:
        raise ReleaseCheckFailed(
            "the reference solution does not get full marks", where=experiment.id,
            fix="; ".join(f"question {q}: {s:g}/{m:g}" for q, (s, m) in short.items())
            or "no question was graded")
    bar and bar.update()
    step("otter run on the unanswered notebook")
    result.student_scores = otter_run(zip_path, release_dir / name, experiment.time_limit * 2)
    scored = {q: s for q, s in result.student_scores.items() if s[0] > 0}
    if scored or set(result.student_scores) != set(result.solution_scores):
        raise ReleaseCheckFailed(
            "the unanswered student notebook scores marks", where=experiment.id,
            fix="; ".join(f"question {q}: {s:g}/{m:g}" for q, (s, m) in scored.items())
            or "its questions differ from the reference's")
    bar and bar.update()


def _publish(staging: Path, root: Path, experiment_id: str, with_solutions: bool) -> None:
    kinds = ["release", "autograder"] + (["solutions"] if with_solutions else [])
    for kind in kinds:
        target = root / kind / experiment_id
        target.parent.mkdir(parents=True, exist_ok=True)
        old = target.with_name(f".{experiment_id}.old")
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            target.rename(old)
        shutil.move(str(staging / kind / experiment_id), target)
        shutil.rmtree(old, ignore_errors=True)
