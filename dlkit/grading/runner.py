"""The grading runner: runs INSIDE the sandbox, where the student's code lives.

    python -m dlkit.grading.runner WORK NOTEBOOK

1. executes ``WORK/NOTEBOOK`` (the released file name, which otter's init cell expects) in a
   fresh kernel, writes ``WORK/executed.ipynb`` and ``WORK/execution.json``;
2. only then reads the extract halves of the tests from stdin (JSON), runs each in a scope of
   its own that starts as a copy of the student's namespace (a test's names never replace the
   student's) and exports what it returns to ``WORK/exports/<id>/`` through the safe formats.

It keeps no clock: the sandbox (:mod:`dlkit.sandbox`) measures the run's CPU time. The runner
reports the cell it runs (``cell N``, then ``collect``) on ``$DLKIT_PROGRESS_FD``; when asked to
stop on ``$DLKIT_CONTROL_FD`` it interrupts the running cell (and kills the kernel if that does
not end it), records the timeout at that cell, skips the rest and still collects what ran.
It makes itself undumpable, so that the student's kernel cannot open those pipes or its stdin.
It writes ``WORK/timings.json``: wall and kernel CPU seconds of each phase (kernel start,
prelude, every cell, collect) and the most threads the kernel ran, for the grader's figures.

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

MAX_OUTPUT_CHARS = 20_000  # per output, in the kept executed notebook
INTERRUPT_WAIT = 30.0  # seconds a stopped cell has to end after its interrupt, before a kill

EXPORT_CALL = """
import dlkit.checks as _dlkit_checks
_dlkit_checks.export_extract({code!r}, globals(), {folder!r})
del _dlkit_checks
"""


def main(work: Path, notebook: str) -> None:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    _undumpable()
    control = _Control.from_environment()
    started = time.monotonic()
    clock = Clock(work / "timings.json")
    record: dict = {"errors": [], "timeout": False, "dead_kernel": False}
    nb = nbformat.read(work / notebook, as_version=4)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    client = NotebookClient(nb, timeout=None, kernel_name="python3",
                            allow_errors=True, record_timing=False,
                            resources={"metadata": {"path": str(work)}})
    with _kernel(client), clock:
        control.kernel_group = client.km.provisioner.pgid
        clock.watch(client.km.provisioner.pid, "kernel start")
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
                        break
                control.cells_done += 1
                clock.lap(index + 1)
            if control.stop:  # asked to stop while this cell ran (or before it began)
                record["timeout"] = True
                record["errors"].append({"cell": index + 1, "error": "timeout",
                                         "why": control.stop})
                break
            if cell.get("execution_count"):
                cells_by_count[cell["execution_count"]] = index + 1
            if (error := cell_error(cell)) is not None:  # the notebook stops here, as Run All does
                record["errors"].append(error_record(client, nb, index, error, cells_by_count, work))
                record["stopped_at"] = index + 1
                break
        record["seconds"] = round(time.monotonic() - started, 2)
        _write_executed(nb, work)
        (work / "execution.json").write_text(json.dumps(record))
        if record["dead_kernel"] or control.killed:
            return
        control.report("collect")
        control.stop = ""  # a stop from now on ends the collection
        extracts = json.loads(sys.stdin.read() or "[]")
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
                folder.mkdir(parents=True, exist_ok=True)
                (folder / "outcome.json").write_text(json.dumps(
                    {"ok": False, "message": f"the grader could not collect this: {problem}"}))
                if problem == "DeadKernelError" or control.killed:
                    break
        clock.lap("collect")


class Clock:
    """Wall and CPU seconds per phase of a run, the CPU time being the kernel's (all its
    threads and the children it reaped), and the most threads the kernel had at a lap. Written
    to ``path`` when the run ends, however it ends."""

    def __init__(self, path: Path) -> None:
        self.path, self.started = path, time.time()
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

    def __enter__(self) -> Clock:
        return self

    def __exit__(self, *exc) -> None:
        self.path.write_text(json.dumps({"started": self.started, "phases": self.phases,
                                         "threads": self.threads}))


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
        return cls(*(int(fd) if fd.isdigit() else None for fd in fds))

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


def _write_executed(nb, work: Path) -> None:
    import nbformat

    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if "text" in output and len(output["text"]) > MAX_OUTPUT_CHARS:
                output["text"] = output["text"][:MAX_OUTPUT_CHARS] + "\n... [output truncated]\n"
            data = output.get("data", {})
            for key in ("text/plain", "text/html"):
                if key in data and len(data[key]) > MAX_OUTPUT_CHARS:
                    data[key] = data[key][:MAX_OUTPUT_CHARS] + "\n... [output truncated]"
    nbformat.write(nb, work / "executed.ipynb")


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
    report = work / ".dlkit-error.json"
    try:
        run_silently(client, REPORT_ERROR.format(path=str(report)))
        found = json.loads(report.read_text()).get("frames", [])
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
    # Everything is on disk; the kernel is killed with the sandbox instead of a slow polite
    # shutdown (the grader kills the whole process group).
    sys.stdout.flush()
    os._exit(0)
