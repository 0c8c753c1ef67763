"""The judge: runs in a sandbox of its own (:func:`dlkit.sandbox.judge_sandbox`), as an
unprivileged user with its own limits, and never runs student code.

    python -P -m dlkit.grading.judge EXPORTS

It starts while the notebook still runs: it reads the judge halves from ``$DLKIT_INPUT_FD``
(one JSON line), imports what they import (TensorFlow takes seconds) and then waits for the
line ``go`` there: by then the run is over and the trusted side has put the exports it received
under ``EXPORTS`` (read-only here). For each test it loads them (safe formats only, declared
sizes bounded first: :func:`dlkit.checks.load`) and runs the judge half on them. It sends a
``judging`` frame before each test and a ``verdict`` after it on ``$DLKIT_RESULT_FD``
(:mod:`dlkit.grading.channel`); a test it could not finish has no verdict, and the grader says
so.

A regrade's re-judge gives it several runs' kept exports instead (the JSON line is
``{"tests": [...], "exports": {key: folder}}``, every folder read-only here) and one line
``go KEY`` per run: it judges each in turn, between an ``exports`` frame naming the key and a
``done`` frame, forgetting the models it loaded for the one before; a key it was not given ends
it. Its imports are paid once for the batch.
"""

from __future__ import annotations

import ast
import json
import os
import sys
import traceback
from pathlib import Path

from dlkit.grading.channel import Sender, read_regular

_LOADED: dict = {}  # models shared by several tests are loaded once
MAX_OUTCOME_BYTES = 1 << 20
#: a judge's words (:func:`judge_one`'s ``labels``): the most characters of a name and a value
LABEL_KEY_CHARS, LABEL_CHARS = 40, 200


def judge_one(item: dict, exports: Path) -> dict:
    from dlkit import checks

    folder = exports / item["id"]
    try:
        outcome = json.loads(read_regular(folder / "outcome.json", MAX_OUTCOME_BYTES))
    except (OSError, ValueError):
        return {"passed": False, "message": "the notebook did not get this far (no data exported)"}
    if not isinstance(outcome, dict) or not isinstance(outcome.get("ok"), bool):
        return {"passed": False, "message": "the exported outcome is not one the grader wrote"}
    if not outcome["ok"]:
        message = outcome.get("message")
        return {"passed": False, "missing": outcome.get("missing") is True,
                "message": message[:1000] if isinstance(message, str) else "extraction failed"}
    try:
        data = checks.load(folder, _LOADED)
    except MemoryError:
        return {"passed": False, "message": "the grader ran out of memory loading your objects"}
    except Exception as exc:  # noqa: BLE001 - anything a student's export can break
        return {"passed": False, "message": f"the grader could not load your objects: {exc}"[:1000]}
    namespace: dict = {"__name__": "dlkit_judge"}
    try:
        exec(compile(item["judge"], f"<judge {item['id']}>", "exec"), namespace)  # noqa: S102
        figures = namespace["judge"](data)
    except checks.LeftToInstructor as exc:
        return {"passed": False, "manual": True, "message": str(exc) or "left to the instructor"}
    except AssertionError as exc:
        return {"passed": False, "message": str(exc) or "a check failed"}
    except Exception as exc:  # noqa: BLE001
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return {"passed": False, "message": f"{type(exc).__name__}: {exc} (while judging, "
                                            f"line {where.lineno})"}
    measured, labels = {}, {}
    for key, value in (figures.items() if isinstance(figures, dict) else ()):
        if isinstance(value, str):  # words: the data it measured on, the inputs' scaling
            if value:
                labels[str(key)[:LABEL_KEY_CHARS]] = value[:LABEL_CHARS]
            continue
        try:
            measured[str(key)] = float(value)
        except (TypeError, ValueError):
            continue
    return {"passed": True, "message": "", "measured": measured, "labels": labels}


def warm_up(tests: list[dict]) -> None:
    """Run the import statements of the judge halves ahead of time (errors surface later),
    and read the MNIST test set if a judge measures on it."""
    from dlkit import checks

    sources = "\n".join(item["judge"] for item in tests)
    if "keras" in sources:
        import_keras()
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


def import_keras() -> None:
    """Import Keras with scikit-learn hidden from it: Keras imports scikit-learn (a second of
    the judge's start on a 2-core grader) only for its scikit-learn wrappers, which no judge
    uses. A judge half that imports scikit-learn gets it as usual, afterwards."""
    if "sklearn" in sys.modules:
        return
    sys.modules["sklearn"] = None  # type: ignore[assignment] - `import sklearn` fails for now
    try:
        import keras  # noqa: F401
    except Exception:  # noqa: BLE001, S110 - the judge half's own import reports it
        pass
    finally:
        if sys.modules.get("sklearn", ...) is None:
            del sys.modules["sklearn"]


def main(exports: Path) -> None:
    from dlkit import checks

    out = Sender.from_environment()
    fd = os.environ.pop("DLKIT_INPUT_FD", "")
    if not fd.isdigit():
        raise SystemExit("the judge was started without its input")
    with os.fdopen(int(fd), "rb") as given:
        plan = json.loads(given.readline())
        tests, folders = (plan["tests"], plan["exports"]) if isinstance(plan, dict) else (plan, None)
        out.send("started")
        warm_up(tests)
        checks.measure_once()
        if folders is None:
            if given.readline().strip() != b"go":
                return  # the grader gave up on this submission
            judge_all(tests, exports, out)
        else:
            for line in given:
                word, _, key = line.decode(errors="replace").strip().partition(" ")
                if word != "go" or key not in folders:
                    break
                _LOADED.clear()
                checks.measure_once()
                out.send("exports", key=key)
                judge_all(tests, Path(folders[key]), out)
                out.send("done", key=key)
    out.send("end")
    out.close()


def judge_all(tests: list[dict], exports: Path, out: Sender) -> None:
    for item in tests:
        out.send("judging", test=item["id"])
        out.send("verdict", test=item["id"], verdict=judge_one(item, exports))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
    sys.stdout.flush()
    os._exit(0)
