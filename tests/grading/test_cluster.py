"""Grading on Dask: the same verdicts as the local pool (LocalCluster, and a real `dask scheduler`
with two `dlkit worker` processes), a worker killed mid-run, refused workers, retries, SLURM.

Experiment 2's demo submissions are real notebooks (about a minute each here); the toy
experiment serves where Experiment 2 is not the point. Workers are other processes: they learn
the toy experiment from DLKIT_EXTRA_EXPERIMENTS.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

import dlkit
from dlkit.cli import main
from dlkit.collect import collect
from dlkit.experiments import EXPERIMENTS, EXTRA_EXPERIMENTS_ENV, Experiment
from dlkit.gradebook import Gradebook, Run, Submission
from dlkit.grading import cluster
from dlkit.grading.cluster import (
    ClusterError,
    DaskExecutor,
    WorkersLost,
    connect,
    expectation,
    local_cluster,
)
from dlkit.grading.grade import grade_experiment
from dlkit.grading.tasks import GradingTask
from dlkit.release import build
from dlkit.roster import read_roster, sync_roster
from dlkit.sandbox import Limits
from dlkit.settings import SettingsError, slurm_settings

ROOT = Path(__file__).resolve().parents[2]
EXP2 = "exp2-feedforward"
FIXTURE_COURSE = ROOT / "tests" / "fixtures" / "course"
TOY_VERDICTS = {"101": ("graded", 5.0), "102": ("graded", 3.0), "103": ("crashed", 0.0),
                "104": ("missing object", 2.0)}


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def toy_root(tmp_path_factory):
    """The toy experiment built once, known to this process and (through the environment) to
    every worker process the tests start."""
    root = tmp_path_factory.mktemp("toy") / "course"
    shutil.copytree(FIXTURE_COURSE, root)
    toy = Experiment(id="toy", number=0, title="Toy", datasets=(), time_limit=120, root=root)
    build(toy, root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(EXPERIMENTS, "toy", toy)
        patch.setenv(EXTRA_EXPERIMENTS_ENV, str(root))
        patch.setenv(cluster.HOST_SLOTS_ENV, "2")  # two runs at once on this machine, like the pool
        yield root


def _course(folder: Path, experiment: str, inbox: Path, roster: Path | None = None):
    gradebook = Gradebook.open(folder)
    entries = read_roster(roster) if roster else None
    if entries:
        sync_roster(gradebook, entries)
    collect(experiment, inbox, course=folder, gradebook=gradebook, roster=entries)
    return folder, gradebook


def _exp2_course(folder: Path):
    return _course(folder, EXP2, ROOT / "demo" / "submissions" / EXP2, ROOT / "demo" / "roster.csv")


def _toy_inbox(toy_root: Path, folder: Path, sleep: float = 0, rolls: str = "101 102 103 104",
               first: str = "") -> Path:
    """Toy submissions: right (101), partial (102), crashing (103), incomplete (104); each
    sleeping ``sleep`` seconds first, or running the code ``first``."""
    folder.mkdir(parents=True)
    reference = nbformat.read(toy_root / "autograder" / "toy" / "toy.ipynb", as_version=4)
    edits = {"101": None, "102": ("return x / np.abs(x).max()", "return x"),
             "103": ("centred = data - data.mean()", "import os; os._exit(3)"),
             "104": ("centred = data - data.mean()", "centred = ...")}
    for roll, edit in edits.items():
        if roll not in rolls.split():
            continue
        nb = nbformat.from_dict(reference)
        for cell in nb.cells:
            if edit:
                cell.source = cell.source.replace(*edit)
        if sleep or first:
            nb.cells.insert(2, nbformat.v4.new_code_cell(first or f"import time; time.sleep({sleep})"))
            nb.cells[2].pop("id")  # the released notebooks are nbformat 4.4
        nbformat.write(nb, folder / f"{roll}_toy.ipynb")
    return folder


def _verdicts(gradebook: Gradebook, experiment: str) -> dict[str, tuple]:
    """Per roll: status, reason, score and every test's (question, test, passed, points)."""
    verdicts = {}
    with gradebook.session() as session:
        for run in gradebook.current_runs(experiment):
            run = session.merge(run)
            tests = tuple(sorted((r.question, r.test, r.passed, r.points) for r in run.results))
            verdicts[run.submission.student_roll] = (run.status, run.reason, run.score, tests)
    return verdicts


def _runs_per_submission(gradebook: Gradebook) -> Counter:
    with gradebook.session() as session:
        return Counter(session.scalars(select(Run.submission_id)).all())


@pytest.fixture(scope="module")
def pool_verdicts(tmp_path_factory):
    """Experiment 2's demo submissions graded by this machine's pool: the reference."""
    course, gradebook = _exp2_course(tmp_path_factory.mktemp("pool") / "course")
    summary = grade_experiment(EXP2, course=course, gradebook=gradebook, workers=2, gpus="none",
                               progress=False)
    assert summary.graded == 3  # 41003's file is damaged: rejected when collected
    return _verdicts(gradebook, EXP2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A real `dask scheduler` on 127.0.0.1 and `dlkit worker` processes, each in its own
    process group (so that a SIGKILL takes its grading runs with it)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        self.workers: dict[str, subprocess.Popen] = {}
        self.scheduler = self._start("scheduler", [
            str(Path(sys.executable).parent / "dask"), "scheduler", "--host", "127.0.0.1",
            "--port", self.address.rsplit(":", 1)[1], "--no-dashboard"], os.environ)
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", int(self.address.rsplit(":", 1)[1])), 1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and self.scheduler.poll() is None, self.log("scheduler")
                time.sleep(0.2)

    def _start(self, name: str, argv: list[str], env) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=dict(env),
                                start_new_session=True)

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text()

    def start_worker(self, name: str, *, kit: str | None = None, gpus: str = "none",
                     **env: str) -> None:
        """``dlkit worker`` (with ``kit``: the same, pretending to be that version of dlkit)."""
        args = ["worker", self.address, "--name", name, "--nthreads", "1", "--gpus", gpus,
                "--host", "127.0.0.1"]
        argv = [sys.executable, "-m", "dlkit", *args] if kit is None else [
            sys.executable, "-c", f"import dlkit; dlkit.__version__ = {kit!r}\n"
            f"from dlkit.cli import main; main({args!r}, prog_name='dlkit')"]
        self.workers[name] = self._start(name, argv, {**os.environ, **env})

    def wait_for(self, client, names: set[str], timeout: float = 180) -> dict[str, str]:
        """Until workers ``names`` have joined: name -> address."""
        deadline = time.monotonic() + timeout
        while True:
            joined = {info["name"]: address
                      for address, info in client.scheduler_info(n_workers=-1)["workers"].items()}
            if names <= set(joined):
                return {name: joined[name] for name in names}
            for name in names:
                assert self.workers[name].poll() is None, f"worker {name} exited:\n{self.log(name)}"
            assert time.monotonic() < deadline, f"workers {names - set(joined)} did not join"
            time.sleep(0.3)

    def kill(self, name: str) -> None:
        os.killpg(self.workers[name].pid, signal.SIGKILL)
        self.workers[name].wait()

    def close(self) -> None:
        for process in [*self.workers.values(), self.scheduler]:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in [*self.workers.values(), self.scheduler]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture(scope="module")
def lab(toy_root, tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp("lab"))
    yield lab
    lab.close()


# --------------------------------------------------------------------------- the same verdicts

def test_a_local_cluster_gives_the_local_pools_verdicts(toy_root, pool_verdicts, tmp_path):
    course, gradebook = _exp2_course(tmp_path / "course")
    executor = local_cluster(workers=2, gpus="none", hide=(course,), patience=120)
    try:
        summary = grade_experiment(EXP2, course=course, gradebook=gradebook, executor=executor,
                                   progress=False)
        assert len(executor.client.scheduler_info(n_workers=-1)["workers"]) == 2
        assert executor.refusals == {}
    finally:
        executor.close()
    assert summary.graded == 3
    assert _verdicts(gradebook, EXP2) == pool_verdicts
    assert set(_runs_per_submission(gradebook).values()) == {1}
    runs = gradebook.current_runs(EXP2)
    assert {(r.device, r.host) for r in runs} == {("cpu", socket.gethostname())}
    with gradebook.session() as session:  # the executed notebooks came back to the coordinator
        for submission in session.scalars(select(Submission).where(Submission.status == "stored")):
            executed = course / "graded" / EXP2 / str(submission.id) / "executed.ipynb"
            assert nbformat.reads(executed.read_text(), as_version=4).cells


def test_a_dask_scheduler_and_two_dlkit_workers_grade_experiment_2(lab, pool_verdicts, tmp_path):
    course, gradebook = _exp2_course(tmp_path / "course")
    lab.start_worker("pc1")
    lab.start_worker("pc2")
    result = CliRunner().invoke(main, ["grade", EXP2, "--scheduler", lab.address, "--course",
                                       str(course), "--wait", "180"])
    assert result.exit_code == 0, result.output
    assert "graded 3 submission(s) of exp2-feedforward" in result.output
    assert _verdicts(gradebook, EXP2) == pool_verdicts
    assert set(_runs_per_submission(gradebook).values()) == {1}
    for name in ("pc1", "pc2"):  # each checked its data cache and said what it can grade
        assert re.search(rf"^  {EXP2} +ready$", lab.log(name), re.M), lab.log(name)
    executor = connect(lab.address)  # every executor caps the retries of a run whose worker dies
    try:
        assert executor.client.run_on_scheduler(
            lambda dask_scheduler: dask_scheduler.allowed_failures) == cluster.RETRIES
        assert sorted(lab.wait_for(executor.client, {"pc1", "pc2"})) == ["pc1", "pc2"]
    finally:
        executor.close()


def test_a_worker_killed_mid_run_and_every_submission_is_graded_once(lab, toy_root, tmp_path):
    course, gradebook = _course(tmp_path / "course", "toy",
                                _toy_inbox(toy_root, tmp_path / "inbox", sleep=6, rolls="101 102 103"))
    for name in ("pc1", "pc2"):
        if name not in lab.workers or lab.workers[name].poll() is not None:
            lab.start_worker(name)
    executor = connect(lab.address, patience=120)
    addresses = lab.wait_for(executor.client, {"pc1", "pc2"})
    done: list = []
    grader = threading.Thread(target=lambda: done.append(grade_experiment(
        "toy", course=course, gradebook=gradebook, executor=executor, progress=False)))
    grader.start()
    try:
        deadline = time.monotonic() + 120
        while not executor.client.processing(workers=[addresses["pc1"]])[addresses["pc1"]]:
            assert time.monotonic() < deadline and grader.is_alive()
            time.sleep(0.2)
        time.sleep(1)
        lab.kill("pc1")  # mid-run: its notebook sleeps 6 s before anything else
        grader.join(timeout=300)
        assert not grader.is_alive()
    finally:
        executor.close()
    assert done and done[0].graded == 3
    assert {roll: (status, score) for roll, (status, _, score, _) in
            _verdicts(gradebook, "toy").items()} == {r: TOY_VERDICTS[r] for r in ("101", "102", "103")}
    with gradebook.session() as session:
        assert session.scalar(select(func.count()).select_from(Run)) == 3
    assert set(_runs_per_submission(gradebook).values()) == {1}


def _die(counter: Path, task, expected, hide):
    """A 'grading run' that kills its worker process, leaving a mark per attempt."""
    (counter / f"attempt-{os.getpid()}").write_text("")
    os._exit(1)


def test_a_run_whose_worker_keeps_dying_is_tried_three_times_then_fails(toy_root, tmp_path):
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                      resources=cluster.worker_resources(cluster.build_inventory(1, [])),
                      silence_logs=50) as local:
        executor = DaskExecutor(Client(local, set_as_default=False), patience=120,
                                function=functools.partial(_die, tmp_path))
        try:
            task = GradingTask(1, "toy", b"{}", Limits(30))
            with pytest.raises(WorkersLost, match=r"died 3 times \(tried again on other workers 2 times\)"):
                executor.submit(task).result(timeout=240)
        finally:
            executor.close()
    assert len(list(tmp_path.glob("attempt-*"))) == 1 + cluster.RETRIES


# --------------------------------------------------------------------------- refusals

def test_refused_workers_give_their_reason_and_gpu_runs_are_pinned(toy_root, tmp_path):
    """One worker has another kit; the other has no data and says it has GPU 7 (a GPU id
    without the hardware: the run is pinned to it all the same, and computes on the CPU)."""
    lab = Lab(tmp_path)
    try:
        lab.start_worker("old-kit", kit="0.0.1")
        lab.start_worker("no-data", gpus="7", DLKIT_DATA=str(tmp_path / "empty-cache"))
        toy_course, toy_book = _course(tmp_path / "toy-course", "toy", _toy_inbox(
            toy_root, tmp_path / "inbox", rolls="101 102",
            first="import os; print('CUDA_VISIBLE_DEVICES=' + os.environ['CUDA_VISIBLE_DEVICES'])"))
        exp2_course, exp2_book = _exp2_course(tmp_path / "exp2-course")
        executor = connect(lab.address, patience=5)
        try:
            addresses = lab.wait_for(executor.client, {"old-kit", "no-data"})
            # the toy experiment needs no data: only the worker with another kit is refused
            grade_experiment("toy", course=toy_course, gradebook=toy_book, executor=executor,
                             progress=False)
            assert {roll: (status, score) for roll, (status, _, score, _) in
                    _verdicts(toy_book, "toy").items()} == {"101": ("graded", 5), "102": ("graded", 3)}
            assert executor.refusals == {(addresses["old-kit"], "toy"): (
                f"its dlkit is 0.0.1, the coordinator's {dlkit.__version__} "
                f"(install dlkit {dlkit.__version__} there)")}
            assert executor.gpus == 1  # the cluster has a GPU: every run holds one
            runs = toy_book.current_runs("toy")
            assert {(r.device, r.host) for r in runs} == {("gpu:7", socket.gethostname())}
            for run in runs:
                executed = toy_course / "graded" / "toy" / str(run.submission_id) / "executed.ipynb"
                assert "CUDA_VISIBLE_DEVICES=7" in executed.read_text()
            # Experiment 2 needs MNIST: nobody can take it; the runs fail with both reasons
            summary = grade_experiment(EXP2, course=exp2_course, gradebook=exp2_book,
                                       executor=executor, progress=False)
        finally:
            executor.close()
    finally:
        lab.close()
    assert summary.statuses == {"sandbox error": 3}
    reasons = {reason for _, reason, _, _ in _verdicts(exp2_book, EXP2).values()}
    assert len(reasons) == 1
    reason = reasons.pop()
    assert "no worker can grade exp2-feedforward" in reason
    assert f"old-kit ({socket.gethostname()}): its dlkit is 0.0.1" in reason
    assert "no-data" in reason and f"mnist not in its data cache {tmp_path / 'empty-cache'}" in reason
    assert "cannot grade: mnist not in its data cache" in lab.log("no-data")


def test_the_check_at_the_start_of_a_run_refuses_what_the_resources_let_through(toy_root):
    """A worker whose state changed after it started (or that was started by hand with dlkit's
    resources) still refuses a run it cannot grade as the coordinator expects."""
    expected = expectation("toy")
    inventory = cluster.build_inventory(1, [])
    assert cluster.refusal(expected, inventory) is None
    other = cluster.Expectation("toy", expected.kit, "0" * 64, expected.data)
    assert "its autograder for toy differs" in cluster.refusal(other, inventory)
    assert "it has no GPU" in cluster.refusal(expected, inventory, gpu=True)
    del inventory["experiments"]["toy"]
    assert "toy is not registered there (set DLKIT_EXTRA_EXPERIMENTS" in cluster.refusal(
        expected, inventory)
    exp2 = expectation(EXP2)
    assert dict(exp2.data).keys() == {"mnist"} and exp2.resource.startswith(f"dlkit:{EXP2}:")
    # a course's dataset map: runs need the mapped entries in the worker's cache
    inventory = cluster.build_inventory(1, [])
    assert cluster.data_resource("mnist") in cluster.worker_resources(inventory)
    assert cluster.refusal(expected, inventory, mapped=(cluster.data_resource("mnist"),)) is None
    assert "the course's dataset map needs ecg, not in its data cache" in cluster.refusal(
        expected, inventory, mapped=("dlkit-data:ecg:0123456789abcdef",))


# --------------------------------------------------------------------------- SLURM

def test_the_slurm_job_script_for_a_gpu_queue(tmp_path):
    (tmp_path / "dlkit.toml").write_text(
        '[slurm]\nqueue = "gpu"\naccount = "dl-lab"\ncores = 8\nmemory = "32GB"\n'
        'walltime = "04:00:00"\ngpus = 1\njobs = 3\ndata_cache = "/shared/dlkit-cache"\n'
        'job_script_prologue = ["module load cuda/12.4"]\n')
    result = CliRunner().invoke(main, ["grade", EXP2, "--cluster", "slurm", "--job-script",
                                       "--slurm-walltime", "01:30:00", "--course", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    for directive in ["-J dlkit-worker", "-p gpu", "-A dl-lab", "--cpus-per-task=8",
                      "--mem=30G", "-t 01:30:00", "--gres=gpu:1"]:
        assert f"#SBATCH {directive}" in lines
    assert "export DLKIT_DATA=/shared/dlkit-cache" in lines
    assert "module load cuda/12.4" in lines
    command = lines[-1].split()
    assert command[:4] == [sys.executable, "-m", "dlkit", "worker"]
    assert command[4].startswith("tcp://")
    assert command[command.index("--nthreads") + 1] == "8"
    assert command[command.index("--gpus") + 1] == "auto"
    # the worker command it runs exists and takes every option dask-jobqueue passes
    help_text = CliRunner().invoke(main, ["worker", "--help"]).output
    for option in ("--name", "--nthreads", "--memory-limit", "--death-timeout",
                   "--local-directory", "--interface", "--gpus"):
        assert option in help_text
    assert slurm_settings(tmp_path, jobs=None, cores=2).jobs == 3


def test_slurm_settings_are_checked(tmp_path, monkeypatch):
    monkeypatch.setattr(cluster.shutil, "which", lambda name: None)  # not a SLURM login node
    result = CliRunner().invoke(main, ["grade", EXP2, "--cluster", "slurm", "--course", str(tmp_path)])
    assert result.exit_code == 1
    assert "Error: sbatch not found: this machine cannot submit SLURM jobs" in result.output
    # dlkit's own keys are checked here; SLURMCluster's options by dask-jobqueue, named
    (tmp_path / "dlkit.toml").write_text('[slurm]\njobs = "two"\n')
    with pytest.raises(SettingsError, match=r"\[slurm\] jobs must be a whole number >= 0, not 'two'"):
        slurm_settings(tmp_path)
    (tmp_path / "dlkit.toml").write_text('[slurm]\ncorse = 8\n')
    with pytest.raises(ClusterError, match=r"SLURMCluster refused the \[slurm\] options \{'corse': 8\}"
                                           r".*unexpected keyword argument 'corse'"):
        cluster.slurm_job_script(slurm_settings(tmp_path))
    (tmp_path / "dlkit.toml").write_text('[slurm]\ncores = "eight"\n')
    result = CliRunner().invoke(main, ["grade", EXP2, "--cluster", "slurm", "--job-script",
                                       "--course", str(tmp_path)])
    assert result.exit_code == 1
    assert "Error: dask-jobqueue's SLURMCluster refused the [slurm] options {'cores': 'eight'}" in result.output


def test_an_unreachable_scheduler_is_one_clear_error(tmp_path):
    result = CliRunner().invoke(main, ["grade", "toy", "--scheduler",
                                       f"tcp://127.0.0.1:{_free_port()}", "--course", str(tmp_path)])
    assert result.exit_code == 1
    assert "Error: cannot reach the Dask scheduler tcp://127.0.0.1:" in result.output
    assert "start it with `dask scheduler`" in result.output
