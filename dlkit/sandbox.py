"""Run untrusted student code in a sandbox: an allow-list, and limits that measure the code.

**What the code sees.** With bubblewrap (``bwrap``) only what is listed exists inside: the
system's ``/usr`` (with the ``/bin``, ``/lib*``, ``/sbin`` links), the few files of ``/etc``
programs need (and a ``passwd`` that knows only ``nobody``), the interpreter and the virtual
environment, the ``dlkit`` package folder (not the checkout around it), the data cache
(read-only), the run's work folder (the one writable place), a fresh ``/proc``, a minimal
``/dev``, a private ``/tmp``; GPU device files (and ``/sys``) only for GPU runs. Another course's
folder, a second checkout of the kit with its ``autograder/``, ``/srv``, ``/opt``, ``/var`` and
home do not exist there. The code runs in new PID, network, IPC and UTS namespaces (no network,
only a private loopback) as ``nobody`` with no capabilities: the host's own ``nobody`` when the
grader is root (bubblewrap sets the mounts up, ``setpriv`` drops to ``nobody``; a user namespace
would map the sandbox's user to root outside), otherwise a user namespace maps ``nobody`` to the
grader's own unprivileged user. Folders bubblewrap makes on the way to a bound path are 0755, so
``nobody`` can pass ``/root``'s 0700. Without bubblewrap the same limits apply but nothing is
hidden: the run's record says so, and ``require`` refuses it.

**Limits.** Memory and processes from cgroups where the grader may create them (else rlimits),
file size from rlimits, and time as **CPU time**: what the run's cgroup used (v2 ``cpu.stat``,
v1 ``cpuacct``), or where cgroups are missing what its process tree used (``/proc``). A busy
machine slows a run down; it does not use up the run's limit. The command inside takes part
through two pipes:

- it reports progress as lines on ``$DLKIT_PROGRESS_FD``: ``cell N`` (the notebook runs its
  cell N) and ``collect`` (the notebook is over; the grader's own collection runs);
- it is asked to stop by a line on ``$DLKIT_CONTROL_FD``: ``stop cpu`` once the notebook has used
  ``Limits.seconds`` of CPU time. It stops the cell, keeps what ran, collects and exits; stopping
  and collecting get ``Limits.grace_seconds`` more, after which the run is killed.
- a wall-clock backstop, ``Limits.wall_factor`` times each CPU allowance, ends what does not
  compute. A run that mostly waited (sleep, a deadlock) is asked to stop like a CPU timeout
  (``stop idle``). A run that met the backstop while the rest of the machine kept the CPUs busy
  is killed and reported ``overloaded``: the grader was too busy, which is never the student's
  fault. "The rest of the machine" is the machine's busy time (``/proc/stat``) less the run's
  own CPU time, so no process of the run, however it spins or waits, can make it look starved.

**The channel.** Nothing the command leaves in its work folder is believed. The command gets
its input on ``$DLKIT_INPUT_FD`` and sends what it produced on ``$DLKIT_RESULT_FD`` (read by
the caller's ``on_result``, see :mod:`dlkit.grading.channel`): pipes only it holds, since
bubblewrap's own process inside closes every descriptor above 2 and the command makes itself
undumpable. bubblewrap starts with an empty environment (only ``env`` is set, explicitly) and
``/dev/null`` as stdin. With bubblewrap the work folder is a fresh tmpfs of
``Sandbox.work_bytes`` that ends with the run: nothing of it stays on the host.
"""

from __future__ import annotations

import os
import queue
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from dlkit.errors import DlkitError
from dlkit.settings import MEMORY_BYTES, WALL_FACTOR

CGROUP_ROOT = Path("/sys/fs/cgroup")
#: ``/etc`` entries bound read-only when present (the dynamic linker's cache, fonts, time zone,
#: the ``/usr/bin`` alternatives links, MIME types for Python's ``mimetypes``)
ETC_ALLOWED = ("ld.so.cache", "localtime", "fonts", "alternatives", "mime.types")
#: ``/etc`` files written for the sandbox instead of the host's (which list the host's users)
ETC_WRITTEN = {
    "passwd": "root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n"
              "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
    "group": "root:x:0:\nnogroup:x:65534:\n",
    "hosts": "127.0.0.1 localhost\n::1 localhost\n",
    "hostname": "sandbox\n",
}
POLL_SECONDS = 0.25
NOBODY = 65534  # the user code runs as in a sandbox
_OUTPUT_CHARS = 20_000  # of stdout and stderr kept for the record


class SandboxUnavailable(DlkitError):
    """The sandbox the caller required cannot be set up here."""


@dataclass(frozen=True)
class Limits:
    """What one run may use. ``seconds`` is CPU time, all its processes and threads together."""

    seconds: float = 600.0
    memory_bytes: int = MEMORY_BYTES
    processes: int = 512
    file_bytes: int = 512 * 2**20
    #: the wall-clock backstop: this many times each CPU allowance
    wall_factor: float = WALL_FACTOR
    #: CPU seconds to stop and to collect the answers once the notebook has ended or was stopped
    grace_seconds: float = 300.0

    @property
    def wall_seconds(self) -> float:
        """When the backstop ends a notebook that has not used its CPU time."""
        return self.seconds * self.wall_factor


@dataclass
class SandboxResult:
    returncode: int
    seconds: float  # wall clock
    #: stopped for time: the CPU limit or the backstop of an idle run (the student's timeout)
    timed_out: bool = False
    memory_exceeded: bool = False
    stdout: str = ""
    stderr: str = ""
    kind: str = ""
    cpu_seconds: float = 0.0
    #: killed by the backstop while under the CPU limit and starved: the grader was too busy
    overloaded: bool = False
    #: why the command was asked to stop: "" (never), "cpu" or "idle"
    stopped: str = ""
    #: the last progress the command reported: "cell N" or "collect" ("" if none)
    progress: str = ""
    #: seconds the run's threads waited for a CPU (run queue), where the kernel reports it
    waited_seconds: float = 0.0
    #: what ``on_result`` made of the command's result pipe (None without one)
    received: object = None

    @property
    def cell(self) -> int | None:
        """The notebook cell (1-based) that ran last, from the progress reports."""
        word, _, number = self.progress.partition(" ")
        return int(number) if word == "cell" and number.isdigit() else None


@dataclass
class Sandbox:
    """Where student code may look (``readable``, read-only) and write (``work``), and how it is
    confined; everything else does not exist inside."""

    #: folders and files shown read-only at the same path (interpreter, venv, dlkit, data cache)
    readable: list[Path] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)  # e.g. /dev/nvidia0 for a GPU grader
    #: files or folders shown read-only at another path inside (source, destination), e.g. a
    #: course's dataset-pack file where the student's notebook expects it
    mounts: list[tuple[Path, Path]] = field(default_factory=list)
    require: bool = False
    #: private folders (a course) masked with an empty folder where a readable one contains them
    hide: list[Path] = field(default_factory=list)
    #: the size of the work folder, a tmpfs inside (bubblewrap); files, inodes and all
    work_bytes: int = 2 * 2**30

    @property
    def kind(self) -> str:
        if shutil.which("bwrap"):
            return ("bubblewrap (allow-list: system, venv, dlkit, data cache, work folder; "
                    "no network; CPU-time limits)")
        return ("FALLBACK: no bubblewrap; resource and CPU-time limits only, no filesystem or "
                "network isolation")

    @property
    def isolated(self) -> bool:
        return shutil.which("bwrap") is not None

    def command(self, argv: list[str], work: Path, env: dict[str, str],
                etc_fds: dict[str, int] | None = None) -> list[str]:
        """The confined command line. ``etc_fds``: for each of :data:`ETC_WRITTEN`, a file
        descriptor its content can be read from (``run`` makes them); without them those files
        are absent inside."""
        if not self.isolated:
            if self.require:
                raise SandboxUnavailable(
                    "bubblewrap is not installed", fix="apt-get install bubblewrap, or grade "
                    "without --require-sandbox (limits only, no isolation)")
            return argv
        privileged = os.geteuid() == 0 and shutil.which("setpriv") is not None
        cmd = ["bwrap", "--ro-bind", "/usr", "/usr"]
        for link in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            target = Path("/") / link
            if target.is_symlink():
                cmd += ["--symlink", os.readlink(target), f"/{link}"]
            elif target.is_dir():  # a system without the merged /usr
                cmd += ["--ro-bind", str(target), f"/{link}"]
        cmd += ["--perms", "0755", "--dir", "/etc"]
        for name in ETC_ALLOWED:
            if (Path("/etc") / name).exists():
                cmd += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
        for name, fd in (etc_fds or {}).items():
            cmd += ["--perms", "0444", "--ro-bind-data", str(fd), f"/etc/{name}"]
        cmd += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp",
                "--perms", "1777", "--tmpfs", "/dev/shm"]
        if self.devices:  # a GPU run: the driver reads /sys to find its devices
            cmd += ["--ro-bind", "/sys", "/sys"]
        made: set[Path] = set()
        for path in _outermost(self.readable):
            cmd += _parents(path, made) + ["--ro-bind", str(path), str(path)]
        for folder in self.hide:
            if any(_inside(folder, path.resolve()) for path in self.readable) \
                    and not _inside(work.resolve(), folder):
                cmd += ["--tmpfs", str(folder)]
        for device in self.devices:
            cmd += ["--dev-bind", device, device]
        cmd += _parents(work, made) + ["--perms", "0777", "--size", str(self.work_bytes),
                                       "--tmpfs", str(work)]
        made.add(work)  # the student's to write: never made again as a folder of root's
        for source, destination in self.mounts:  # after the work folder: may lie inside it
            cmd += _parents(destination, made) + ["--ro-bind", str(source), str(destination)]
        cmd += ["--chdir", str(work), "--hostname", "sandbox", "--unshare-ipc", "--unshare-pid",
                "--unshare-net", "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent",
                "--new-session", "--clearenv"]
        for key, value in {**env, "DLKIT_PID_NAMESPACE": "1"}.items():
            cmd += ["--setenv", key, value]
        if privileged:  # as root: the command runs as the host's own nobody, with no capability
            return cmd + ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                          "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--", *argv]
        # not root: a user namespace maps nobody inside to the grader's own (unprivileged) user
        return cmd + ["--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY),
                      "--cap-drop", "ALL", *argv]

    def run(self, argv: list[str], work: Path, env: dict[str, str], limits: Limits,
            input: bytes = b"", on_result=None) -> SandboxResult:
        """Run ``argv`` confined, watching its CPU time; never raises for what the code inside
        does. ``input`` is what it reads on ``$DLKIT_INPUT_FD``; ``on_result(stream)`` reads
        what it sends on ``$DLKIT_RESULT_FD`` (its return value is ``SandboxResult.received``).
        See the module's docstring for the progress and stop pipes."""
        running = self.start(argv, work, env, limits, on_result=on_result)
        running.send(input)
        running.close_input()
        return running.wait()

    def start(self, argv: list[str], work: Path, env: dict[str, str], limits: Limits,
              on_result=None) -> Running:
        """Start ``argv`` confined and return at once: :meth:`Running.send` feeds its input,
        :meth:`Running.wait` watches it to the end."""
        control_read, control_write = os.pipe()
        progress_read, progress_write = os.pipe()
        input_read, input_write = os.pipe()
        result_read, result_write = os.pipe()
        etc_fds = _data_fds(ETC_WRITTEN) if self.isolated else {}
        env = {**env, "DLKIT_CONTROL_FD": str(control_read),
               "DLKIT_PROGRESS_FD": str(progress_write), "DLKIT_INPUT_FD": str(input_read),
               "DLKIT_RESULT_FD": str(result_write)}
        passed = (control_read, progress_write, input_read, result_write, *etc_fds.values())
        ours = (control_write, progress_read, input_write, result_read)
        cgroups = None
        try:
            command = self.command(argv, work, env, etc_fds)
            cgroups = _CGroups.create(limits)
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True, errors="replace", pass_fds=passed,
                env=env if not self.isolated else {},  # bubblewrap sets the command's own
                start_new_session=True, preexec_fn=_limit_child(limits, cgroups),
            )
        except BaseException:
            for fd in (*passed, *ours):
                os.close(fd)
            if cgroups:
                cgroups.remove()
            raise
        for fd in passed:
            os.close(fd)
        return Running(self, process, limits, cgroups, control_write, progress_read,
                       input_write, result_read, on_result)


class Running:
    """A confined command that has started: feed its input, then :meth:`wait`."""

    def __init__(self, sandbox: Sandbox, process: subprocess.Popen, limits: Limits,
                 cgroups: _CGroups | None, control: int, progress: int, input_fd: int,
                 result_fd: int, on_result) -> None:
        self.sandbox, self.process, self.limits, self.cgroups = sandbox, process, limits, cgroups
        self.control = control
        self.started = time.monotonic()
        self.streams = _Streams(process, progress, input_fd, result_fd, on_result)

    def send(self, data: bytes) -> None:
        """Queue ``data`` for the command's input (written by a thread: never blocks)."""
        self.streams.send(data)

    def close_input(self) -> None:
        self.streams.send(None)

    def wait(self) -> SandboxResult:
        """Watch the command to its end (limits and backstop from now), kill what is left of
        it, and return its record."""
        monitor = _Monitor(self.process, self.limits, self.cgroups, self.control, time.monotonic())
        try:
            monitor.watch(self.streams)
        finally:
            self.close_input()
            _kill_group(self.process)
            memory = self.cgroups.memory_exceeded() if self.cgroups else False
            if self.cgroups:  # also what left the process group (a kernel starts its own session)
                self.cgroups.kill_all()
            self.process.wait()
            monitor.final_reading()
            if self.cgroups:
                self.cgroups.remove()
            os.close(self.control)
            self.streams.join()
        return SandboxResult(
            self.process.returncode, time.monotonic() - self.started, monitor.timed_out, memory,
            self.streams.stdout(), self.streams.stderr(), self.sandbox.kind,
            cpu_seconds=monitor.cpu, overloaded=monitor.overloaded, stopped=monitor.stopped,
            progress=self.streams.progress, waited_seconds=monitor.waited,
            received=self.streams.received)

    def kill(self) -> SandboxResult:
        """End the command now (it was not needed after all)."""
        _kill_group(self.process)
        return self.wait()


# --------------------------------------------------------------------------- the monitor

class _Monitor:
    """Watches one run's CPU time and wall clock in stages, each with a CPU allowance and a
    wall-clock backstop ``wall_factor`` times as long: the notebook (``Limits.seconds``), then
    collecting or stopping (``Limits.grace_seconds``)."""

    def __init__(self, process: subprocess.Popen, limits: Limits, cgroups: _CGroups | None,
                 control: int, started: float) -> None:
        self.process, self.limits, self.control, self.started = process, limits, control, started
        self.meter = _CpuMeter(process.pid, cgroups)
        self.cpu = 0.0
        self.waited = 0.0
        self.timed_out = self.overloaded = False
        self.stopped = ""
        self.stage = "notebook"
        self.stage_cpu, self.stage_wall = 0.0, 0.0
        self.allowance = limits.seconds

    def watch(self, streams: _Streams) -> None:
        while self.process.poll() is None:
            time.sleep(POLL_SECONDS)
            wall = time.monotonic() - self.started
            self.cpu = self.meter.cpu()
            if self.stage == "notebook" and streams.progress == "collect":
                self._enter("collect", wall)
            used = self.cpu - self.stage_cpu
            if used >= self.allowance:
                if not self._stop("cpu", wall):
                    return
            elif wall - self.stage_wall >= self.allowance * self.limits.wall_factor:
                self.waited = self.meter.waited()
                if self.meter.starved(self.stage_wall):
                    self.overloaded = True
                    return
                if not self._stop("idle", wall):
                    return

    def _stop(self, why: str, wall: float) -> bool:
        """Ask the command to stop; False when it was asked already (time to kill it)."""
        if self.stage == "stopping":
            self.timed_out = True
            return False
        if self.stage == "notebook":
            self.stopped, self.timed_out = why, True
        try:
            os.write(self.control, f"stop {why}\n".encode())
        except OSError:  # the command closed its end: it is ending
            pass
        self._enter("stopping", wall)
        return True

    def _enter(self, stage: str, wall: float) -> None:
        self.stage, self.stage_cpu, self.stage_wall = stage, self.cpu, wall
        self.allowance = self.limits.grace_seconds

    def final_reading(self) -> None:
        self.cpu = max(self.cpu, self.meter.cpu())
        self.waited = max(self.waited, self.meter.waited())


class _CpuMeter:
    """CPU time of one run: its cgroup's counter, else the sum over its process tree (``/proc``:
    each process's own and its waited-for children's time). Also how long its threads waited for
    a CPU on the run queue (``/proc/<pid>/task/<tid>/schedstat``, for the figures), and the
    machine's busy time (``/proc/stat``), to tell a starved run from an idle one."""

    def __init__(self, pid: int, cgroups: _CGroups | None) -> None:
        self.pid, self.cgroups = pid, cgroups
        self.started = time.monotonic()
        self.highest = 0.0
        self.tick = os.sysconf("SC_CLK_TCK")
        self.cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
            else os.cpu_count() or 1
        self.waits: dict[int, float] = {}  # thread id -> seconds waited (highest seen)
        self.next_sample = 0.0
        #: (wall, the run's CPU, its threads' waits, the machine's busy CPU) every few seconds,
        #: to judge the recent past
        self.samples: list[tuple[float, float, float, float | None]] = [
            (0.0, 0.0, 0.0, machine_busy())]

    def cpu(self) -> float:
        used = self.cgroups.cpu_seconds() if self.cgroups else None
        if used is None:
            used = sum(self._process_cpu(pid) for pid in self._pids())
        self.highest = max(self.highest, used)  # a process tree's sum dips while a child is reaped
        if time.monotonic() >= self.next_sample:
            self.samples.append((time.monotonic() - self.started, self.highest, self.waited(),
                                 machine_busy()))
            self.next_sample = time.monotonic() + 2.0
        return self.highest

    def waited(self) -> float:
        self._read_waits()
        return sum(self.waits.values())

    def starved(self, since: float) -> bool:
        """Was the rest of the machine busy in the recent past (the last quarter of the time
        since ``since``, at least 10 s)? Processes other than this run's kept 3/4 of the CPUs
        busy, or half of them while the run itself wanted the CPU (running it, or waiting for
        it on the run queue, half the time). The run's own processes never count as the rest
        of the machine, so on an idle machine no notebook can look starved, however it spins or
        waits. Where ``/proc/stat`` cannot be read, nothing is starved."""
        now = time.monotonic() - self.started
        used, waited, busy = self.cpu(), self.waited(), machine_busy()
        window = max(10.0, 0.25 * (now - since))
        then = next((s for s in reversed(self.samples) if s[0] <= now - window), self.samples[0])
        span = now - then[0]
        if busy is None or then[3] is None or span <= 0:
            return False
        others = (busy - then[3]) - (used - then[1])
        wanted = (used - then[1]) + (waited - then[2])
        return others >= 0.75 * self.cores * span or \
            (others >= 0.5 * self.cores * span and wanted >= 0.5 * span)

    def _pids(self) -> list[int]:
        pids = self.cgroups.pids() if self.cgroups else None
        if pids is not None:
            return pids
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(parent, []).append(int(entry.name))
        tree, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo += children.get(pid, [])
        return tree

    def _process_cpu(self, pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return 0.0
        # utime, stime, cutime, cstime: fields 14-17 of stat(5); here after "pid (comm)"
        return sum(int(v) for v in fields[11:15]) / self.tick

    def _read_waits(self) -> None:
        for pid in self._pids():
            try:
                tasks = list(Path(f"/proc/{pid}/task").iterdir())
            except OSError:
                continue
            for task in tasks:
                try:
                    waited = int((task / "schedstat").read_text().split()[1]) / 1e9
                except (OSError, IndexError, ValueError):
                    continue
                tid = int(task.name)
                self.waits[tid] = max(self.waits.get(tid, 0.0), waited)


class _Streams:
    """Feeds the input pipe and drains stdout, stderr (keeping their ends), the progress pipe
    and the result pipe (through ``on_result``) in threads, so that no pipe fills up while the
    monitor watches."""

    def __init__(self, process: subprocess.Popen, progress_fd: int, input_fd: int,
                 result_fd: int, on_result) -> None:
        self.progress = ""
        self.received = None
        self._out: deque[str] = deque()
        self._err: deque[str] = deque()
        self._input: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._feed, args=(input_fd,), daemon=True),
            threading.Thread(target=self._drain, args=(process.stdout, self._out), daemon=True),
            threading.Thread(target=self._drain, args=(process.stderr, self._err), daemon=True),
            threading.Thread(target=self._follow, args=(progress_fd,), daemon=True),
            threading.Thread(target=self._result, args=(result_fd, on_result), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def send(self, data: bytes | None) -> None:
        self._input.put(data)

    def _feed(self, fd: int) -> None:
        with open(fd, "wb", buffering=0) as pipe:
            while (data := self._input.get()) is not None:
                try:
                    pipe.write(data)
                except (OSError, ValueError):  # the command exited without reading it
                    break

    def _result(self, fd: int, on_result) -> None:
        with open(fd, "rb") as stream:
            if on_result is not None:
                self.received = on_result(stream)
            while stream.read(1 << 20):  # whatever the reader left: never block the sender
                pass

    @staticmethod
    def _drain(pipe, kept: deque[str]) -> None:
        size = 0
        for chunk in iter(lambda: pipe.read(8192), ""):
            kept.append(chunk)
            size += len(chunk)
            while size - len(kept[0]) >= _OUTPUT_CHARS:
                size -= len(kept.popleft())
        pipe.close()

    def _follow(self, fd: int) -> None:
        with open(fd, encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if line.strip():
                    self.progress = line.strip()[:100]

    def join(self) -> None:
        self._input.put(None)
        for thread in self._threads:
            thread.join(timeout=30)

    def stdout(self) -> str:
        return "".join(self._out)[-_OUTPUT_CHARS:]

    def stderr(self) -> str:
        return "".join(self._err)[-_OUTPUT_CHARS:]


# --------------------------------------------------------------------------- process control

def machine_busy() -> float | None:
    """CPU seconds the whole machine has been busy since boot (``/proc/stat``: all but idle and
    I/O wait), or None where it cannot be read."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
        ticks = [int(v) for v in fields[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = ticks
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


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


def _data_fds(files: dict[str, str]) -> dict[str, int]:
    """A readable pipe holding each file's text (bubblewrap's ``--ro-bind-data`` reads it)."""
    fds = {}
    for name, text in files.items():
        read, write = os.pipe()
        os.write(write, text.encode())  # a few bytes: fits the pipe's buffer
        os.close(write)
        fds[name] = read
    return fds


def _parents(path: Path, made: set[Path]) -> list[str]:
    """``--dir`` arguments for the folders above ``path`` (0755, so that the sandbox's user can
    pass through them whatever their modes on the host, such as ``/root``'s 0700)."""
    args = []
    for parent in reversed(path.parents[:-1]):
        if parent not in made and parent != Path("/tmp") \
                and parent.parts[1:2] not in (("usr",), ("proc",), ("dev",)):
            made.add(parent)
            args += ["--perms", "0755", "--dir", str(parent)]
    return args


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _outermost(paths: list[Path]) -> list[Path]:
    """Existing paths, without those inside another one of them (bound once, outermost first)."""
    resolved = sorted({p.resolve() for p in paths if p.exists()}, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for path in resolved:
        if not any(_inside(path, outer) for outer in kept):
            kept.append(path)
    return kept


@dataclass
class _CGroups:
    """Memory, pids and CPU-accounting cgroups (v1 or v2) for one run, when this process may
    create them."""

    folders: list[Path]
    memory_file: Path | None
    limit: int
    cpu_file: Path | None = None  # v2 cpu.stat or v1 cpuacct.usage

    @classmethod
    def create(cls, limits: Limits) -> _CGroups | None:
        name = f"dlkit-{uuid.uuid4().hex[:12]}"
        v2 = (CGROUP_ROOT / "cgroup.controllers").exists()
        made: list[Path] = []
        try:
            if v2:
                folder = CGROUP_ROOT / name
                folder.mkdir()
                made.append(folder)
                (folder / "memory.max").write_text(str(limits.memory_bytes))
                (folder / "memory.swap.max").write_text("0")
                (folder / "pids.max").write_text(str(limits.processes))
                return cls([folder], folder / "memory.events", limits.memory_bytes,
                           folder / "cpu.stat")
            memory, pids = CGROUP_ROOT / "memory" / name, CGROUP_ROOT / "pids" / name
            for folder in (memory, pids):
                folder.mkdir()
                made.append(folder)
            (memory / "memory.limit_in_bytes").write_text(str(limits.memory_bytes))
            (pids / "pids.max").write_text(str(limits.processes))
            cpu = CGROUP_ROOT / "cpuacct" / name
            try:
                cpu.mkdir()
                made.append(cpu)
            except OSError:  # no cpuacct hierarchy: the process tree is measured instead
                return cls(made, memory / "memory.failcnt", limits.memory_bytes)
            return cls(made, memory / "memory.failcnt", limits.memory_bytes,
                       cpu / "cpuacct.usage")
        except OSError:
            for folder in reversed(made):
                try:
                    folder.rmdir()
                except OSError:
                    pass
            return None

    def join(self, pid: int) -> None:
        for folder in self.folders:
            (folder / "cgroup.procs").write_text(str(pid))

    def cpu_seconds(self) -> float | None:
        if self.cpu_file is None:
            return None
        try:
            text = self.cpu_file.read_text()
        except OSError:
            return None
        if self.cpu_file.name == "cpu.stat":
            for line in text.splitlines():
                key, _, value = line.partition(" ")
                if key == "usage_usec":
                    return int(value) / 1e6
            return None
        return int(text.strip() or 0) / 1e9

    def pids(self) -> list[int] | None:
        try:
            return [int(p) for p in (self.folders[-1] / "cgroup.procs").read_text().split()]
        except OSError:
            return None

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
            pids = self.pids()
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


def default_sandbox(private: Path | list[Path] | None = None, require: bool = False,
                    devices: list[str] | None = None) -> Sandbox:
    """The grader's allow-list: the interpreter, the virtual environment, the dlkit package
    folder and the data cache, read-only; the training sets in the cache are shown without the
    images the grader keeps back (:mod:`dlkit.data.views`). ``private`` folders (the course, the
    experiments' kit with their hidden tests, always) are not on it; should one lie inside an
    allowed folder (an installed kit's ``dlkit/_kit``) it is masked. ``devices``: GPU device
    files, for GPU runs only."""
    from dlkit.data.views import sandbox_views
    from dlkit.experiments import private_kit_folders

    folders = [] if private is None else [private] if isinstance(private, Path) else private
    hide = sorted({Path(p).resolve() for p in [*folders, *private_kit_folders()]},
                  key=lambda p: len(p.parts))
    return Sandbox(readable=_kit_readable(), devices=devices or [], require=require, hide=hide,
                   mounts=sandbox_views())


def judge_sandbox(exports: Path, readable: list[Path] = (), devices: list[str] | None = None,
                  ) -> Sandbox:
    """The judge's sandbox: the same system, interpreter, virtual environment, dlkit package
    and the whole data cache (the kept-back images included), ``readable`` folders (the
    experiment's rubrics) and the run's ``exports``, all read-only; nothing of the course."""
    return Sandbox(readable=[*_kit_readable(), *readable, exports], devices=devices or [])


def _kit_readable() -> list[Path]:
    import dlkit
    from dlkit.data import cache_root

    return [Path(sys.prefix), Path(sys.base_prefix), Path(dlkit.__file__).parent, cache_root()]
