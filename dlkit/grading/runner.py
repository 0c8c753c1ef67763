"""The grading runner: runs INSIDE the sandbox, where the student's code lives.

    python -P -m dlkit.grading.runner WORK NOTEBOOK

Its input comes on ``$DLKIT_INPUT_FD`` (JSON: the notebook and the tests' extract halves), its
output goes on ``$DLKIT_RESULT_FD`` (:mod:`dlkit.grading.channel`): pipes no other process of
the run can open, since the runner makes itself undumpable first and its kernel does not
inherit them. ``-P``: nothing the notebook writes into ``WORK`` is ever imported here.

1. writes the notebook to ``WORK/NOTEBOOK`` (the released file name, which otter's init cell
   expects) and executes it in a fresh kernel (``started`` once the kernel is up: a run that
   ends without a record after that was ended by something of the student's, before it by the
   grader's own failure); sends the run ``record`` and the ``executed``
   notebook, both made from what the runner itself saw (no file the kernel could rewrite);
2. runs each test's extract half in a scope of its own that starts as a copy of the student's
   namespace (a test's names never replace the student's); the kernel exports what it returns
   to ``WORK/exports/<id>/`` through the safe formats;
3. kills every other process of the run (the kernel and whatever it started), and only then
   reads the exports: never through a link, only regular files with one link, size-capped
   (:func:`dlkit.grading.channel.open_regular`), named as the export formats name them; sends
   them as ``file`` frames, then the ``timings`` and ``end``.

It keeps no clock: the sandbox (:mod:`dlkit.sandbox`) measures the run's CPU time. The runner
reports the cell it runs (``cell N``, then ``collect``) on ``$DLKIT_PROGRESS_FD``; when asked to
stop on ``$DLKIT_CONTROL_FD`` it interrupts the running cell (and kills the kernel if that does
not end it), records the timeout at that cell, skips the rest and still collects what ran.
The timings are wall and kernel CPU seconds of each phase (kernel start, prelude, every cell,
collect) and the most threads the kernel ran, for the grader's figures.

It never judges anything: the judge halves are not here.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

from dlkit.grading.channel import CAPS, EXPORT_NAME, Caps, Sender, open_folder, open_regular

MAX_OUTPUT_CHARS = 20_000  # per output, in the kept executed notebook
INTERRUPT_WAIT = 30.0  # seconds a stopped cell has to end after its interrupt, before a kill
MAX_ERROR_REPORT = 1 << 20  # bytes of the kernel's error report the runner reads

EXPORT_CALL = """
import dlkit.checks as _dlkit_checks
_dlkit_checks.export_extract({code!r}, globals(), {folder!r})
del _dlkit_checks
"""


def main(work: Path, notebook: str) -> None:
    import nbformat
    from nbclient import NotebookClient

    _undumpable()
    control = _Control.from_environment()
    out = Sender.from_environment()
    given = _read_input()
    (work / notebook).write_text(given["notebook"], encoding="utf-8")
    _warm_cache()
    started = time.monotonic()
    clock = Clock(out)
    record: dict = {"errors": [], "timeout": False, "dead_kernel": False}
    nb = nbformat.read(work / notebook, as_version=4)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    client = NotebookClient(nb, timeout=None, kernel_name="python3",
                            allow_errors=True, record_timing=False,
                            resources={"metadata": {"path": str(work)}})
    try:
        with _kernel(client), clock:
            control.kernel_group = client.km.provisioner.pgid
            clock.watch(client.km.provisioner.pid, "kernel start")
            out.send("started")  # from now on, what ends the run may be the student's code
            run_cells(client, nb, record, control, clock, work)
            record["seconds"] = round(time.monotonic() - started, 2)
            out.send("record", json.dumps(record).encode())
            out.send("executed", executed_bytes(nb))
            if not (record["dead_kernel"] or control.killed):
                collect(client, nb, given["extracts"], control, out, work)
                clock.lap("collect")
    finally:
        end_every_other_process(control)
        if record.get("seconds") is not None and not record["dead_kernel"]:
            ship_exports(work, [item["id"] for item in given["extracts"]], out)
        out.send("timings", json.dumps(clock.summary()).encode())
        out.send("end")
        out.close()


def _read_input() -> dict:
    """The notebook and the extract halves, from the pipe only the runner holds."""
    fd = os.environ.pop("DLKIT_INPUT_FD", "")
    if not fd.isdigit():
        raise SystemExit("the runner was started without its input")
    with os.fdopen(int(fd), "rb") as pipe:
        return json.loads(pipe.read())  # the trusted side wrote it


def _warm_cache() -> None:
    """A writable copy of the warm PyTensor cache in the work folder, when the grader asks."""
    flags = os.environ.get("PYTENSOR_FLAGS", "")
    if flags.startswith("base_compiledir="):
        from dlkit.warm import pytensor_run_cache

        pytensor_run_cache(Path(flags.partition("=")[2]).parent)


def run_cells(client, nb, record: dict, control: _Control, clock: Clock, work: Path) -> None:
    """The student's cells in order, stopping at the first error as Run All does."""
    from nbclient.exceptions import DeadKernelError

    clear_outputs(nb)  # a cell the grader does not reach shows nothing, not the student's run
    run_prelude(client, record)
    clock.lap("prelude")
    cells_by_count: dict[int, int] = {}  # In [n] -> the notebook's cell number
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or is_grader_check(cell.source):
            continue
        if not control.stop:
            control.report(f"cell {index + 1}")
            try:
                client.execute_cell(cell, index)
            except DeadKernelError:
                if not control.stop:
                    record["dead_kernel"] = True
                    record["errors"].append({"cell": index + 1, "error": "the kernel died"})
                    return
            control.cells_done += 1
            clock.lap(index + 1)
        if control.stop:  # asked to stop while this cell ran (or before it began)
            record["timeout"] = True
            record["errors"].append({"cell": index + 1, "error": "timeout", "why": control.stop})
            return
        if cell.get("execution_count"):
            cells_by_count[cell["execution_count"]] = index + 1
        if (error := cell_error(cell)) is not None:  # the notebook stops here, as Run All does
            record["errors"].append(error_record(client, nb, index, error, cells_by_count, work))
            record["stopped_at"] = index + 1
            return


def collect(client, nb, extracts: list[dict], control: _Control, out: Sender, work: Path) -> None:
    """Each test's extract half in the kernel; a test the runner could not collect is sent as
    ``uncollected`` with the reason."""
    import nbformat
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    control.report("collect")
    control.stop = ""  # a stop from now on ends the collection
    for item in extracts:
        folder = work / "exports" / item["id"]
        code = EXPORT_CALL.format(code=item["code"], folder=str(folder))
        cell = nbformat.v4.new_code_cell(code)
        nb.cells.append(cell)
        problem = ""
        if control.stop:
            problem = "it had used up its CPU time"
        else:
            try:
                client.execute_cell(cell, len(nb.cells) - 1)
            except (CellTimeoutError, DeadKernelError) as exc:
                problem = type(exc).__name__
            control.cells_done += 1
            if control.stop and not (folder / "outcome.json").exists():
                problem = "it had used up its CPU time"
        if problem:
            out.send("uncollected", test=item["id"],
                     why=f"the grader could not collect this: {problem}")
            if problem == "DeadKernelError" or control.killed:
                return


def end_every_other_process(control: _Control) -> None:
    """Kill the kernel and everything it started, before anything it wrote is read. In the
    sandbox's own PID namespace that is every process but this one and bubblewrap's (the
    runner is not their parent once they left the kernel's session); without one, the kernel's
    process group and this process's descendants."""
    me = os.getpid()
    for _ in range(200):
        others = _namespace_processes(me) if os.environ.get("DLKIT_PID_NAMESPACE") == "1" \
            else _descendants(me)
        if control.kernel_group:
            try:
                os.killpg(control.kernel_group, signal.SIGKILL)
            except OSError:
                pass
        if not others:
            return
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        _reap()
        time.sleep(0.02)


def _namespace_processes(me: int) -> list[int]:
    """Live processes of this PID namespace but this one and PID 1 (bubblewrap's)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in (1, me):
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    state = stat.read().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if state not in ("Z", "X"):
                found.append(int(entry))
    return found


def _descendants(me: int) -> list[int]:
    import psutil

    try:
        return [p.pid for p in psutil.Process(me).children(recursive=True)
                if p.status() != psutil.STATUS_ZOMBIE]
    except psutil.Error:
        return []


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def ship_exports(work: Path, tests: list[str], out: Sender, caps: Caps = CAPS) -> None:
    """Send each test's exported files: only under ``exports/<test id>/``, only names of the
    export formats, never through a link, one link each, within the caps (a file that breaks
    a rule is left out; its test then finds it missing)."""
    try:
        exports = open_folder(str(work / "exports"))
    except OSError:
        return
    total = 0
    try:
        for test in tests:
            try:
                folder = open_folder(test, exports)
            except OSError:
                continue
            try:
                names = _exported_names(folder, caps)
                for name in names[:caps.files_per_test]:
                    try:
                        fd, size = open_regular(name, folder, caps.file_bytes)
                    except (OSError, ValueError):
                        continue
                    try:
                        if total + size > caps.export_bytes:
                            out.send("uncollected", test=test, why=(
                                f"the grader could not collect this: the exports are larger "
                                f"than {caps.export_bytes / 2**20:g} MB"))
                            return
                        out.send_file(test, name, fd, size)
                        total += size
                    finally:
                        os.close(fd)
            finally:
                os.close(folder)
    finally:
        os.close(exports)


class Clock:
    """Wall and CPU seconds per phase of a run, the CPU time being the kernel's (all its
    threads and the children it reaped), and the most threads the kernel had at a lap."""

    def __init__(self, out: Sender | None = None) -> None:
        self.started = time.time()
        self.phases: list[dict] = []
        self.threads = 0
        self._kernel = None
        self._wall, self._cpu = time.monotonic(), 0.0

    def watch(self, pid: int | None, phase: str) -> None:
        """From now on, CPU time is the kernel's (``pid``); what came before is ``phase``."""
        import psutil

        try:
            self._kernel = psutil.Process(pid) if pid else None
        except psutil.Error:
            self._kernel = None
        self.phases.append({"phase": phase, "wall": round(time.monotonic() - self._wall, 3),
                            "cpu": 0.0})
        self._wall, self._cpu = time.monotonic(), self._kernel_cpu()

    def lap(self, phase: int | str) -> None:
        wall, cpu = time.monotonic(), self._kernel_cpu()
        self.phases.append({"phase": phase, "wall": round(wall - self._wall, 3),
                            "cpu": round(cpu - self._cpu, 3)})
        self._wall, self._cpu = wall, cpu
        try:
            self.threads = max(self.threads, self._kernel.num_threads() if self._kernel else 0)
        except Exception:  # noqa: BLE001 - a dead kernel has no threads to count
            pass

    def _kernel_cpu(self) -> float:
        try:
            times = self._kernel.cpu_times()
            return times.user + times.system + times.children_user + times.children_system
        except Exception:  # noqa: BLE001 - no kernel (yet, or any more): nothing to add
            return self._cpu

    def summary(self) -> dict:
        return {"started": self.started, "phases": self.phases, "threads": self.threads}

    def __enter__(self) -> Clock:
        return self

    def __exit__(self, *exc) -> None:
        pass


class _Control:
    """The runner's side of the sandbox's pipes: progress out, stop requests in. A stop
    interrupts the kernel's process group; a cell that does not end within
    :data:`INTERRUPT_WAIT` seconds has its kernel killed."""

    def __init__(self, progress: int | None, control: int | None) -> None:
        self.progress = os.fdopen(progress, "w", buffering=1) if progress is not None else None
        self.stop = ""  # "cpu" or "idle" once asked
        self.killed = False
        self.kernel_group: int | None = None
        self.cells_done = 0
        if control is not None:
            threading.Thread(target=self._listen, args=(control,), daemon=True).start()

    @classmethod
    def from_environment(cls) -> _Control:
        """The pipes the sandbox passed (taken out of the environment the kernel inherits)."""
        fds = [os.environ.pop(name, "") for name in ("DLKIT_PROGRESS_FD", "DLKIT_CONTROL_FD")]
        fds = [int(fd) if fd.isdigit() else None for fd in fds]
        for fd in fds:
            if fd is not None:
                os.set_inheritable(fd, False)  # never passed on to the student's kernel
        return cls(*fds)

    def report(self, line: str) -> None:
        if self.progress is not None:
            try:
                self.progress.write(line + "\n")
            except OSError:
                self.progress = None

    def _listen(self, fd: int) -> None:
        with open(fd, encoding="utf-8", errors="replace") as requests:
            for line in requests:
                word, _, why = line.strip().partition(" ")
                if word == "stop":
                    self._stop(why or "cpu")

    def _stop(self, why: str) -> None:
        running = self.cells_done
        self.stop = why
        self._signal(signal.SIGINT)
        ends = time.monotonic() + INTERRUPT_WAIT
        while time.monotonic() < ends:
            if self.cells_done != running:
                return
            time.sleep(0.1)
        self.killed = True
        self._signal(signal.SIGKILL)

    def _signal(self, signum: int) -> None:
        if self.kernel_group:
            try:
                os.killpg(self.kernel_group, signum)
            except OSError:
                pass


def _undumpable() -> None:
    """PR_SET_DUMPABLE 0: processes of the same user (the student's kernel) can no longer open
    this process's file descriptors through /proc."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass


class _kernel:
    """Start the kernel; leave it running at the end (the sandbox's end kills it)."""

    def __init__(self, client) -> None:
        self.client = client

    def __enter__(self):
        self.client.km = self.client.create_kernel_manager()
        self.client.start_new_kernel()
        self.client.start_new_kernel_client()
        return self.client

    def __exit__(self, *exc) -> None:
        if exc[0] is not None:  # an error of the runner itself: stop the kernel properly
            self.client.km.shutdown_kernel(now=True)


def _exported_names(folder: int, caps: Caps) -> list[str]:
    """The files of one test's export to send: its outcome, its manifest and the files the
    manifest names (whatever else lies there is not the grader's)."""
    from dlkit.checks import MANIFEST

    names = ["outcome.json", MANIFEST]
    try:
        fd, _ = open_regular(MANIFEST, folder, caps.json_bytes)
        with os.fdopen(fd, "rb") as manifest:
            entries = json.loads(manifest.read())
    except (OSError, ValueError):
        return names
    suffixes = {"keras": "keras", "npy": "npy", "torch": "npz"}
    for name, entry in (entries.items() if isinstance(entries, dict) else ()):
        if isinstance(entry, dict) and entry.get("kind") in suffixes and "file" not in entry:
            file = f"{name}.{suffixes[entry['kind']]}"
            if EXPORT_NAME.match(file) and file not in names:
                names.append(file)
    return names


def executed_bytes(nb, cap: int = CAPS.executed_bytes) -> bytes:
    """The executed notebook as the runner saw it, each output cut at :data:`MAX_OUTPUT_CHARS`;
    when it is still over ``cap`` bytes, its largest outputs are replaced by a note."""
    import nbformat

    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if "text" in output and len(output["text"]) > MAX_OUTPUT_CHARS:
                output["text"] = output["text"][:MAX_OUTPUT_CHARS] + "\n... [output truncated]\n"
            data = output.get("data", {})
            for key in ("text/plain", "text/html"):
                if key in data and len(data[key]) > MAX_OUTPUT_CHARS:
                    data[key] = data[key][:MAX_OUTPUT_CHARS] + "\n... [output truncated]"
    text = nbformat.writes(nb).encode()
    if len(text) <= cap:
        return text
    outputs = sorted(((len(json.dumps(o)), cell, i) for cell in nb.cells
                      for i, o in enumerate(cell.get("outputs", []))), key=lambda t: -t[0])
    removed = 0
    for size, cell, i in outputs:
        cell.outputs[i] = nbformat.v4.new_output(
            "stream", name="stdout", text="[output removed: the notebook's outputs were over "
                                          f"{cap / 2**20:g} MB]\n")
        removed += size
        if len(text) - removed <= cap * 0.9:
            break
    return nbformat.writes(nb).encode()[:cap]


# --------------------------------------------------------------------------- the student's kernel
# Cell numbers are the student's notebook's: 1-based, counting every cell from the top as Jupyter
# shows them (markdown included), as in every "cell N" the grader writes. The grader's own code
# (the prelude, the error report) runs without history, so it adds no cell and no In [n].

PRELUDE = ("import dlkit.grading.kernel_env as _dlkit_kernel_env\n"
           "_dlkit_kernel_env.install()\ndel _dlkit_kernel_env\n")
REPORT_ERROR = ("import dlkit.grading.kernel_env as _dlkit_kernel_env\n"
                "_dlkit_kernel_env.report_last_error({path!r})\ndel _dlkit_kernel_env\n")
#: otter's calls in a starter notebook's check cells: the grader judges outside the notebook
#: (and has no tests folder for them), so cells made only of these are not run
GRADER_CALLS = frozenset({"check", "check_all", "export", "run_plugin", "to_pdf"})
MAX_FRAMES = 5
MAX_MESSAGE_CHARS = 2_000


def run_silently(client, code: str) -> list[dict]:
    """Run the grader's own ``code`` in the kernel: no history, not in the notebook; returns
    its outputs (an error among them is the grader's, never the student's)."""
    import nbformat

    cell = nbformat.v4.new_code_cell(code)
    cells = client.nb.cells
    cells.append(cell)  # nbclient puts the executed cell back at its index: one of its own
    try:
        client.execute_cell(cell, len(cells) - 1, store_history=False)
    finally:
        if cells and cells[-1] is cell:
            cells.pop()
    return list(cell.get("outputs", []))


def clear_outputs(nb) -> None:
    """Drop the outputs the student's own run left: what the executed notebook (and the plots
    of the feedback page) show is what the grader's run produced."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None


def run_prelude(client, record: dict) -> None:
    """Seeds, the offline loaders and the stand-ins (:mod:`dlkit.grading.kernel_env`)."""
    for output in run_silently(client, PRELUDE):
        if output.get("output_type") == "error":
            record.setdefault("grader_notes", []).append(
                f"prelude: {output.get('ename')}: {output.get('evalue')}"[:500])


def is_grader_check(source: str) -> bool:
    """A cell made only of otter calls such as ``grader.check("q1")``."""
    import ast

    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    return bool(body) and all(
        isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Attribute) and node.value.func.attr in GRADER_CALLS
        and isinstance(node.value.func.value, ast.Name) and node.value.func.value.id == "grader"
        for node in body)


def first_line(source: str) -> str:
    """The cell's first line that is not blank, as the student wrote it (cut at 120 characters)."""
    line = next((ln.strip() for ln in source.splitlines() if ln.strip()), "")
    return line if len(line) <= 120 else line[:119] + "…"


def cell_error(cell) -> dict | None:
    """The exception a cell raised (its error output), or None."""
    import re

    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            message = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", str(output.get("evalue", "")))
            return {"error": str(output.get("ename", "")), "message": message[:MAX_MESSAGE_CHARS]}
    return None


def error_record(client, nb, index: int, error: dict, cells_by_count: dict[int, int],
                 work: Path) -> dict:
    """What the feedback shows of the first error: the cell (its number and first line), the
    exception and its message, and the last frames that are the student's own code (cells and
    modules in the notebook's folder; never libraries, the kernel or the grader)."""
    from dlkit.grading.channel import read_regular

    report = work / ".dlkit-error.json"
    try:
        run_silently(client, REPORT_ERROR.format(path=str(report)))
        found = json.loads(read_regular(report, MAX_ERROR_REPORT)).get("frames", [])
    except Exception:  # noqa: BLE001 - the record goes on without frames
        found = []
    finally:
        report.unlink(missing_ok=True)
    frames = []
    for frame in found if isinstance(found, list) else []:
        if not isinstance(frame, dict) or not isinstance(frame.get("line"), int):
            continue
        if "count" in frame:
            number = cells_by_count.get(frame["count"])
            if number is None:
                continue
            lines = nb.cells[number - 1].source.splitlines()
            code = lines[frame["line"] - 1].strip() if 0 < frame["line"] <= len(lines) else ""
            frames.append({"cell": number, "line": frame["line"], "code": code[:200],
                           "function": str(frame.get("function", ""))[:100]})
        elif "file" in frame:
            frames.append({"file": str(frame["file"])[:200], "line": frame["line"],
                           "code": str(frame.get("code", ""))[:200],
                           "function": str(frame.get("function", ""))[:100]})
    return {"cell": index + 1, **error, "first_line": first_line(nb.cells[index].source),
            "frames": frames[-MAX_FRAMES:]}


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
    # Everything is sent; the kernel was killed instead of a slow polite shutdown.
    sys.stdout.flush()
    os._exit(0)
