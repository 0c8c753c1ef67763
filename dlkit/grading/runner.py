"""The grading runner: runs INSIDE the sandbox, where the student's code lives.

    python -m dlkit.grading.runner WORK NOTEBOOK SECONDS

1. executes ``WORK/NOTEBOOK`` (the released file name, which otter's init cell expects) in a
   fresh kernel (a cell that runs past the time left is interrupted and the rest skipped),
   writes ``WORK/executed.ipynb`` and ``WORK/execution.json``;
2. only then reads the extract halves of the tests from stdin (JSON), runs each in the student's
   namespace and exports what it returns to ``WORK/exports/<id>/`` through the safe formats.

It never judges anything: the judge halves are not here.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

MAX_OUTPUT_CHARS = 20_000  # per output, in the kept executed notebook

EXPORT_CALL = """
import dlkit.checks as _dlkit_checks
_dlkit_checks.export_outcome(extract, globals(), {folder!r})
del _dlkit_checks, extract
"""


def main(work: Path, notebook: str, seconds: float) -> None:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    deadline = time.monotonic() + seconds
    record: dict = {"errors": [], "timeout": False, "dead_kernel": False}
    nb = nbformat.read(work / notebook, as_version=4)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    client = NotebookClient(nb, timeout=max(1, int(seconds)), kernel_name="python3",
                            allow_errors=True, interrupt_on_timeout=True, record_timing=False,
                            resources={"metadata": {"path": str(work)}})
    with _kernel(client):
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            left = deadline - time.monotonic()
            if left <= 1:
                record["timeout"] = True
                break
            client.timeout = int(left)
            cell_started = time.monotonic()
            try:
                client.execute_cell(cell, index)
            except CellTimeoutError:
                record["timeout"] = True
                record["errors"].append({"cell": index + 1, "error": "timeout"})
                break
            except DeadKernelError:
                record["dead_kernel"] = True
                record["errors"].append({"cell": index + 1, "error": "the kernel died"})
                break
            if time.monotonic() - cell_started >= client.timeout - 0.5 and any(
                    o.get("ename") == "KeyboardInterrupt" for o in cell.get("outputs", [])):
                # nbclient interrupts a cell that runs past its timeout and goes on
                record["timeout"] = True
                record["errors"].append({"cell": index + 1, "error": "timeout"})
                break
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    record["errors"].append({"cell": index + 1, "error": output.get("ename", ""),
                                             "message": str(output.get("evalue", ""))[:500]})
        record["seconds"] = round(seconds - (deadline - time.monotonic()), 2)
        _write_executed(nb, work)
        (work / "execution.json").write_text(json.dumps(record))
        if record["dead_kernel"]:
            return
        extracts = json.loads(sys.stdin.read() or "[]")
        client.timeout = 300
        for item in extracts:
            folder = work / "exports" / item["id"]
            code = item["code"] + EXPORT_CALL.format(folder=str(folder))
            cell = nbformat.v4.new_code_cell(code)
            nb.cells.append(cell)
            try:
                client.execute_cell(cell, len(nb.cells) - 1)
            except (CellTimeoutError, DeadKernelError) as exc:
                folder.mkdir(parents=True, exist_ok=True)
                (folder / "outcome.json").write_text(json.dumps(
                    {"ok": False, "message": f"the grader could not collect this: {type(exc).__name__}"}))
                if isinstance(exc, DeadKernelError):
                    break


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


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], float(sys.argv[3]))
    # Everything is on disk; the kernel is killed with the sandbox instead of a slow polite
    # shutdown (the grader kills the whole process group).
    sys.stdout.flush()
    os._exit(0)
