"""From what a run sent to its verdicts: the status and reason, where the notebook stopped, each
test's result, and messages cleaned of the hidden tests' code.

Only what the sandbox recorded and what the runner sent over the channel is read here, never a
file the notebook wrote (:mod:`dlkit.grading.channel`).
"""

from __future__ import annotations

import logging
import re

from dlkit.gradebook import duration
from dlkit.grading.channel import Received
from dlkit.grading.not_provided import STATUS as NOT_PROVIDED
from dlkit.grading.tasks import PlannedTest
from dlkit.sandbox import Limits

log = logging.getLogger(__name__)


def run_status(run, got: Received, limits: Limits) -> tuple[str, str]:
    """The run's status from the sandbox's record and what the runner sent; never from
    anything the run's own processes wrote (their stderr is kept for the log only)."""
    record = got.record
    if run.memory_exceeded:
        return "memory limit", f"the notebook used more than {limits.memory_bytes / 2**30:g} GB"
    if run.overloaded:
        return "grader overloaded", (
            f"the grader machine was too busy: twice your notebook got only "
            f"{duration(run.cpu_seconds)} of CPU time in {duration(run.seconds)} (its limit is "
            f"{duration(limits.seconds)} of CPU time); not your doing, it will be graded again")
    if record is None and run.timed_out:
        return "timeout", _timeout_reason(run.cell, run.stopped, limits) + " (it was stopped)"
    if record is None:
        if got.started:  # the runner got going, and something of the run's ended it
            return "crashed", ("the grading process was killed while your notebook ran "
                               "(did the notebook kill its parent process?)")
        log.warning("the runner did not start (exit %s): %s", run.returncode,
                    run.stderr.strip()[-2000:] or "no output")
        return "sandbox error", (f"the grader's runner did not start (exit code "
                                 f"{run.returncode}); the instructor's log has the details")
    if any(e.get("error") == "MemoryError" for e in record.get("errors", [])):
        return "memory limit", (f"the notebook ran out of memory (limit "
                                f"{limits.memory_bytes / 2**30:g} GB)")
    if record.get("dead_kernel"):
        cell = next((e["cell"] for e in record["errors"] if e["error"] == "the kernel died"), "?")
        return "crashed", f"the kernel died while running cell {cell} (sys.exit, os._exit or a crash)"
    if record.get("timeout"):
        error = next((e for e in record["errors"] if e["error"] == "timeout"), {})
        return "timeout", _timeout_reason(error.get("cell"), error.get("why", "cpu"), limits)
    if stopped := stopped_at(record):
        return "error", error_reason(stopped)
    return "graded", ""


def data_not_provided(record: dict | None, datasets, experiment_id: str,
                      reason: str) -> tuple[str, str, str]:
    """An "error" that is a read of a path or URL the course does not provide (not in its
    dataset map) becomes "data not provided", with the path; any other stays as it was."""
    from dlkit.data.datamap import from_pairs
    from dlkit.grading import not_provided

    stopped = stopped_at(record)
    path = not_provided.missing_read(stopped)
    if path is None or not_provided.provided(path, from_pairs(datasets)):
        return "error", reason, ""
    return NOT_PROVIDED, not_provided.reason(path[:300], stopped.get("cell", "?"), experiment_id), \
        path[:300]


def stopped_at(record: dict | None) -> dict:
    """The error the notebook stopped at (the runner stops at the first one, as Run All does),
    or the cell a timeout or a dead kernel stopped it at; {} when it ran to the end."""
    if not record:
        return {}
    errors = record.get("errors") or []
    at = record.get("stopped_at")
    return next((e for e in errors if e.get("cell") == at), {}) if at else \
        next((e for e in errors if e.get("error") in ("timeout", "the kernel died")), {})


def error_reason(error: dict) -> str:
    """"cell 4 (`x = load()`) raised FileNotFoundError: ..." — the cell number is the student's
    notebook's, 1-based, counting every cell from the top (markdown included)."""
    line = f" (`{error['first_line']}`)" if error.get("first_line") else ""
    message = str(error.get("message", "")).strip()
    message = message if len(message) <= 400 else message[:399] + "…"
    return f"cell {error.get('cell', '?')}{line} raised {error.get('error', 'an error')}" + \
        (f": {message}" if message else "")


def _stopped_words(stopped: dict) -> str:
    """Why a test was not judged: where the notebook stopped, and on what."""
    cell = stopped.get("cell", "?")
    if stopped.get("not_provided"):
        from dlkit.grading.not_provided import not_judged_words

        return not_judged_words(stopped["not_provided"], cell)
    if stopped.get("error") == "timeout":
        return f"not judged: the notebook was stopped at cell {cell} by the time limit"
    if stopped.get("error") == "the kernel died":
        return f"not judged: the kernel died at cell {cell}"
    first = str(stopped.get("message", "")).strip().splitlines()[:1]
    what = stopped.get("error", "an error") + (f": {first[0][:150]}" if first else "")
    return f"not judged: the notebook stopped at cell {cell} ({what})"


def questions_not_run(nb, stopped: dict | None) -> frozenset[str]:
    """The questions whose cells the notebook did not finish before it stopped: those whose
    ``grader.check("<question>")`` cell (which follows a question's cells in the starter) comes
    after the cell it stopped at. Empty when it did not stop or has no such cells."""
    import ast

    at = (stopped or {}).get("cell")
    if not isinstance(at, int):
        return frozenset()
    late = set()
    for number, cell in enumerate(nb.cells, start=1):
        if number <= at or cell.cell_type != "code" or "grader.check" not in cell.source:
            continue
        try:
            calls = [n for n in ast.walk(ast.parse(cell.source)) if isinstance(n, ast.Call)]
        except SyntaxError:
            continue
        late.update(str(c.args[0].value) for c in calls if isinstance(c.func, ast.Attribute)
                    and c.func.attr == "check" and c.args and isinstance(c.args[0], ast.Constant))
    return frozenset(late)


def from_starter(nb) -> bool:
    """Does the notebook come from the released starter (its otter init cell)? Only then do
    the starter's cell numbers mean anything to the student."""
    return any(cell.cell_type == "code" and "otter.Notebook(" in cell.source for cell in nb.cells)


def _timeout_reason(cell: int | None, why: str, limits: Limits) -> str:
    """The limit counts the notebook's CPU time; an idle notebook meets the wall-clock backstop."""
    where = f"cell {cell}" if cell else "the notebook"
    if why == "idle":
        return (f"{where} was still running after {duration(limits.wall_seconds)} while it "
                "mostly waited instead of computing (sleep, input, a deadlock?); later cells "
                "were not run")
    return (f"{where} was still running when the notebook had used its "
            f"{duration(limits.seconds)} of CPU time (the limit); later cells were not run")


def results_for(plan: list[PlannedTest], judged: dict, starter: dict[str, int],
             stopped: dict | None = None, unrun: frozenset[str] = frozenset()) -> list[dict]:
    """Each test's verdict. When the notebook stopped early (an error, a timeout), a test
    *could still run* if every object its extract half asks for existed when it stopped
    (defined by the cells before): it is judged as usual, even if a later cell would have
    changed the object. A test whose object did not exist yet is "not judged: the notebook
    stopped at cell N (<exception>)", never "missing". So is a failed test of a question in
    ``unrun`` (its cells came after the stop): what it measured, an untrained model say, is not
    what the student's cells would have made of it; a passed one keeps its marks."""
    results = []
    for test in plan:
        verdict = judged.get(test.id, {"passed": False, "message": "not judged"})
        message = verdict.get("message", "")
        if stopped and (verdict.get("missing") or "did not get this far" in message
                        or message == "not judged"
                        or (test.question in unrun and not verdict.get("passed"))):
            verdict = {"passed": False}
            message = _stopped_words(stopped)
        if verdict.get("missing"):
            name = re.search(r"`(\w+)`", message)
            if name and name.group(1) in starter:
                cell = starter[name.group(1)]
                asks = "the starter notebook asks you to define it"
                message = message.replace(asks, f"{asks} in cell {cell}") if asks in message \
                    else message + f" (the starter notebook asks for it in cell {cell})"
        state = "instructor" if verdict.get("manual") and not stopped else \
            "not judged" if message.startswith("not judged") and not verdict.get("passed") \
            else "judged"
        results.append({"question": test.question, "test": test.index, "hidden": test.hidden,
                        "points": test.points if verdict.get("passed") else 0.0,
                        "max_points": test.points, "passed": bool(verdict.get("passed")),
                        "message": message, "missing": bool(verdict.get("missing")),
                        "measured": verdict.get("measured") or {},
                        "labels": verdict.get("labels") or {}, "state": state,
                        "grader_failure": bool(verdict.get("grader_failure"))})
    return results


def zero_results(plan: list[PlannedTest], message: str) -> list[dict]:
    return [{"question": t.question, "test": t.index, "hidden": t.hidden, "points": 0.0,
             "max_points": t.points, "passed": False, "message": message, "state": "not judged"}
            for t in plan]


#: characters of a hidden test's code that, found in a message, mean the message holds it
HIDDEN_WINDOW = 20


def scrub_hidden_code(results: list[dict], plan: list[PlannedTest]) -> None:
    """Remove any message that quotes a hidden test's code. The extract halves run in the
    student's kernel, which can read them there and write them into what it exports (an
    outcome's message): such a message is replaced. The code's string literals are left out
    of the comparison, so a test's own words ("`history` should be ...") still reach the
    student."""
    windows = set()
    for test in plan:
        if test.hidden:
            code = _code_without_strings(test.extract + "\n" + test.judge)
            windows.update(code[i:i + HIDDEN_WINDOW] for i in range(len(code) - HIDDEN_WINDOW + 1))
    for result in results:
        text = "".join(result["message"].split())
        if any(text[i:i + HIDDEN_WINDOW] in windows for i in range(len(text) - HIDDEN_WINDOW + 1)):
            result["message"] = ("the message for this test quoted the grader's hidden test, so "
                                 "it was removed")


def _code_without_strings(source: str) -> str:
    """The code's tokens but its strings and comments, without white space."""
    import io
    import tokenize

    kept = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type not in (tokenize.STRING, tokenize.COMMENT, tokenize.NL,
                                  tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT) \
                    and not token.type == getattr(tokenize, "FSTRING_MIDDLE", -1):
                kept.append(token.string)
    except (tokenize.TokenError, SyntaxError):
        return ""
    return "".join("".join(kept).split())
