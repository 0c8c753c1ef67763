"""The judge: runs OUTSIDE the sandbox, in a clean process that never runs student code.

    python -m dlkit.grading.judge WORK TESTS_JSON

It starts while the notebook still runs: it imports what the judge halves import (TensorFlow
takes seconds) and then waits for ``go`` on stdin. For each test it loads what the runner
exported (safe formats only) and runs the judge half on it. Writes ``WORK/judged.json``: one
record per test with passed and message.
"""

from __future__ import annotations

import ast
import json
import sys
import threading
import traceback
from pathlib import Path

_LOADED: dict = {}  # models shared by several tests are loaded once


def judge_one(item: dict, work: Path) -> dict:
    from dlkit import checks

    folder = work / "exports" / item["id"]
    try:
        outcome = json.loads((folder / "outcome.json").read_text())
    except (OSError, ValueError):
        return {"passed": False, "message": "the notebook did not get this far (no data exported)"}
    if not outcome.get("ok"):
        return {"passed": False, "message": outcome.get("message", "extraction failed"),
                "missing": outcome.get("missing")}
    try:
        data = checks.load(folder, _LOADED)
    except Exception as exc:  # noqa: BLE001 - anything a student's export can break
        return {"passed": False, "message": f"the grader could not load your objects: {exc}"}
    namespace: dict = {"__name__": "dlkit_judge"}
    try:
        exec(compile(item["judge"], f"<judge {item['id']}>", "exec"), namespace)  # noqa: S102
        figures = namespace["judge"](data)
    except AssertionError as exc:
        return {"passed": False, "message": str(exc) or "a check failed"}
    except Exception as exc:  # noqa: BLE001
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return {"passed": False, "message": f"{type(exc).__name__}: {exc} (while judging, "
                                            f"line {where.lineno})"}
    measured = {str(k): float(v) for k, v in figures.items()} if isinstance(figures, dict) else {}
    return {"passed": True, "message": "", "measured": measured}


def warm_up(tests: list[dict]) -> None:
    """Run the import statements of the judge halves ahead of time (errors surface later),
    and read the MNIST test set if a judge measures on it."""
    from dlkit import checks

    sources = "\n".join(item["judge"] for item in tests)
    if "mnist" in sources:
        checks.mnist_test_inputs((None, 784))
    if "mnist_train_digits" in sources:
        checks.mnist_train_digits(checks.mnist_test_inputs((None, 784))[0][:1])
    for item in tests:
        for node in ast.parse(item["judge"]).body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                try:
                    exec(compile(ast.Module([node], []), "<warm-up>", "exec"), {})  # noqa: S102
                except Exception:  # noqa: BLE001, S110 - judged (and reported) later
                    pass


def main(work: Path, tests_file: Path) -> None:
    """Judge each test as soon as its export is complete, overlapping the runner's extraction;
    whatever is still missing when the grader says ``go`` (the runner ended) is judged then."""
    tests = json.loads(tests_file.read_text())
    warm_up(tests)
    finished = threading.Event()
    verdict: dict[str, str] = {}

    def wait_for_go() -> None:
        verdict["go"] = sys.stdin.readline().strip()
        finished.set()

    threading.Thread(target=wait_for_go, daemon=True).start()
    judged: dict[str, dict] = {}
    for item in tests:
        outcome = work / "exports" / item["id"] / "outcome.json"
        while not outcome.exists() and not finished.wait(0.05):
            pass
        if finished.is_set() and verdict.get("go") != "go":
            return  # the grader gave up on this submission
        judged[item["id"]] = judge_one(item, work)
    finished.wait()
    if verdict.get("go") == "go":
        (work / "judged.json").write_text(json.dumps(judged))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
