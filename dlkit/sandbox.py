"""Run untrusted student code in a sandbox.

With bubblewrap (``bwrap``): new user, PID, network, IPC and UTS namespaces (no network at all,
only a private loopback), the student as ``nobody`` with no capabilities, a read-only system, a
private ``/tmp``, the course folder and home hidden (gradebook, hidden tests, submissions), only
the work folder writable. Limits come from cgroups when the grader may create them (memory and
number of processes) and from rlimits (file size, and memory where cgroups are missing); the
wall clock is enforced from outside. Without bubblewrap the same limits apply but no namespaces:
the run's record says so, and ``require`` refuses it.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from dlkit.errors import DlkitError

CGROUP_ROOT = Path("/sys/fs/cgroup")


class SandboxUnavailable(DlkitError):
    """The sandbox the caller required cannot be set up here."""


@dataclass(frozen=True)
class Limits:
    seconds: float = 600.0
    memory_bytes: int = 6 * 2**30
    processes: int = 512
    file_bytes: int = 512 * 2**20


@dataclass
class SandboxResult:
    returncode: int
    seconds: float
    timed_out: bool = False
    memory_exceeded: bool = False
    stdout: str = ""
    stderr: str = ""
    kind: str = ""


@dataclass
class Sandbox:
    """Where student code may look (``readable``) and write (``work``), and how it is confined."""

    hide: list[Path] = field(default_factory=list)  # folders to hide (course, home)
    readable: list[Path] = field(default_factory=list)  # re-exposed read-only (venv, data cache)
    devices: list[str] = field(default_factory=list)  # e.g. /dev/nvidia0 for a GPU grader
    #: files or folders shown read-only at another path inside (source, destination), e.g. a
    #: course's dataset-pack file where the student's notebook expects it
    mounts: list[tuple[Path, Path]] = field(default_factory=list)
    require: bool = False

    @property
    def kind(self) -> str:
        if shutil.which("bwrap"):
            return "bubblewrap (no network, read-only system, private /tmp, hidden course folder)"
        return "FALLBACK: no bubblewrap; resource limits only, no filesystem or network isolation"

    @property
    def isolated(self) -> bool:
        return shutil.which("bwrap") is not None

    def command(self, argv: list[str], work: Path, env: dict[str, str]) -> list[str]:
        if not self.isolated:
            if self.require:
                raise SandboxUnavailable(
                    "bubblewrap is not installed", fix="apt-get install bubblewrap, or grade "
                    "without --require-sandbox (limits only, no isolation)")
            return argv
        cmd = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
               "--tmpfs", "/tmp", "--tmpfs", "/dev/shm"]
        for folder in self.hide:
            cmd += ["--tmpfs", str(folder)]
        for path in self.readable:
            if path.exists():
                cmd += ["--ro-bind", str(path), str(path)]
        for device in self.devices:
            cmd += ["--dev-bind", device, device]
        cmd += ["--bind", str(work), str(work)]
        for source, destination in self.mounts:  # after the work folder: may lie inside it
            cmd += ["--ro-bind", str(source), str(destination)]
        cmd += ["--chdir", str(work),
                "--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534",
                "--cap-drop", "ALL", "--die-with-parent", "--new-session", "--clearenv"]
        for key, value in env.items():
            cmd += ["--setenv", key, value]
        return cmd + argv

    def run(self, argv: list[str], work: Path, env: dict[str, str], limits: Limits,
            stdin: str = "") -> SandboxResult:
        """Run ``argv`` confined; never raises for what the code inside does."""
        command = self.command(argv, work, env)
        cgroups = _CGroups.create(limits)
        started = time.monotonic()
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env={**os.environ, **env} if not self.isolated else None,
            start_new_session=True, preexec_fn=_limit_child(limits, cgroups),
        )
        timed_out = False
        try:
            stdout, stderr = process.communicate(stdin, timeout=limits.seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(process)
            stdout, stderr = process.communicate()
        finally:
            _kill_group(process)
            memory = cgroups.memory_exceeded() if cgroups else False
            if cgroups:  # also what left the process group (a kernel starts its own session)
                cgroups.kill_all()
                cgroups.remove()
        return SandboxResult(process.returncode, time.monotonic() - started, timed_out, memory,
                             stdout[-20000:], stderr[-20000:], self.kind)


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _limit_child(limits: Limits, cgroups: _CGroups | None):
    def apply() -> None:  # runs in the child between fork and exec
        if cgroups:
            cgroups.join(os.getpid())
        else:
            resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


@dataclass
class _CGroups:
    """A memory and a pids cgroup (v1 or v2) for one run, when this process may create them."""

    folders: list[Path]
    memory_file: Path | None
    limit: int

    @classmethod
    def create(cls, limits: Limits) -> _CGroups | None:
        name = f"dlkit-{uuid.uuid4().hex[:12]}"
        v2 = (CGROUP_ROOT / "cgroup.controllers").exists()
        try:
            if v2:
                folder = CGROUP_ROOT / name
                folder.mkdir()
                (folder / "memory.max").write_text(str(limits.memory_bytes))
                (folder / "memory.swap.max").write_text("0")
                (folder / "pids.max").write_text(str(limits.processes))
                return cls([folder], folder / "memory.events", limits.memory_bytes)
            memory, pids = CGROUP_ROOT / "memory" / name, CGROUP_ROOT / "pids" / name
            memory.mkdir()
            pids.mkdir()
            (memory / "memory.limit_in_bytes").write_text(str(limits.memory_bytes))
            (pids / "pids.max").write_text(str(limits.processes))
            return cls([memory, pids], memory / "memory.failcnt", limits.memory_bytes)
        except OSError:
            return None

    def join(self, pid: int) -> None:
        for folder in self.folders:
            (folder / "cgroup.procs").write_text(str(pid))

    def memory_exceeded(self) -> bool:
        try:
            text = self.memory_file.read_text() if self.memory_file else ""
        except OSError:
            return False
        if self.memory_file and self.memory_file.name == "memory.events":
            return any(line.split()[0] in ("oom_kill", "max") and int(line.split()[1]) > 0
                       for line in text.splitlines() if line.strip())
        return text.strip() not in ("", "0")

    def kill_all(self) -> None:
        for _ in range(20):
            try:
                pids = [int(p) for p in (self.folders[-1] / "cgroup.procs").read_text().split()]
            except OSError:
                return
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)

    def remove(self) -> None:
        for folder in self.folders:
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except OSError:  # processes still exiting
                    time.sleep(0.05)


def default_sandbox(private: Path | list[Path], require: bool = False,
                    devices: list[str] | None = None) -> Sandbox:
    """Hide the private folders (course, experiments with their hidden tests) and home;
    re-expose the interpreter, dlkit and the data cache read-only."""
    import dlkit
    from dlkit.data import cache_root

    readable = [Path(sys.prefix), Path(sys.base_prefix), Path(dlkit.__file__).parent,
                cache_root()]
    folders = [private] if isinstance(private, Path) else private
    hide = sorted({p.resolve() for p in folders} | {Path.home()}, key=lambda p: len(p.parts))
    return Sandbox(hide=hide, readable=readable,
                   devices=devices or [], require=require)
