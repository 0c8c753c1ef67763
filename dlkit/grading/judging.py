"""Judging a run's exports, the first time or again: the judge's sandbox, and a batch of kept runs.

The judge (:mod:`dlkit.grading.judge`) never runs student code: it loads each test's exports
(:func:`dlkit.checks.load`, bounded) and runs the test's judge half on them, in a sandbox of its
own that reads only those exports (:func:`~dlkit.sandbox.judge_sandbox`). :class:`Judge` judges
one run, started early so its imports overlap the notebook's run; :func:`rejudge_runs` judges
runs whose notebooks are not run again (a regrade where only the judging changed), one judge
sandbox for up to :data:`~dlkit.grading.capacity.REJUDGE_BATCH` of them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from dlkit.data import cache_root
from dlkit.gradebook import duration
from dlkit.grading.capacity import REJUDGE_BATCH
from dlkit.grading.channel import CAPS, Received, receive
from dlkit.grading.devices import device_env
from dlkit.grading.execution import REJUDGED, Execution, judge_digests
from dlkit.grading.tasks import Outcome, PlannedTest
from dlkit.grading.verdicts import results_for, scrub_hidden_code
from dlkit.sandbox import Limits, Running, Sandbox, judge_sandbox
from dlkit.stack import import_root

log = logging.getLogger(__name__)


#: what the judge may use: CPU seconds, memory (the run's), processes, the size of its files
JUDGE_SECONDS = 900.0


#: judges started for one run: one that dies on a test is started again for the tests after it
JUDGE_STARTS = 3


def judge_env(scratch: Path, slots: int) -> dict[str, str]:
    """The judge's environment (its own scratch folder for HOME; CPU threads for ``slots``)."""
    return {"HOME": str(scratch), "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "DLKIT_DATA": str(cache_root()), "TF_CPP_MIN_LOG_LEVEL": "3", "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg", "PYTHONPATH": import_root(),
            **device_env("cpu", slots)}


def judge_limits(limits: Limits, runs: int = 1) -> Limits:
    """The judge's: the run's memory, :data:`JUDGE_SECONDS` of CPU time per run it judges."""
    return Limits(seconds=JUDGE_SECONDS * runs, memory_bytes=limits.memory_bytes,
                  processes=256, grace_seconds=30.0)


@dataclass
class Judge:
    """The judging process, in a sandbox of its own (:func:`~dlkit.sandbox.judge_sandbox`),
    started early so that its imports overlap the notebook's run."""

    plan: list[PlannedTest]
    exports: Path
    sandbox: Sandbox
    env: dict[str, str]
    limits: Limits
    scratch: Path
    running: Running | None = None

    @classmethod
    def start(cls, plan: list[PlannedTest], exports: Path, slots: int, limits: Limits,
              rubrics: tuple[Path, ...] = ()) -> Judge:
        scratch = Path(tempfile.mkdtemp(prefix="dlkit-judge-"))
        judge = cls(plan, exports, judge_sandbox(exports, list(rubrics)),
                    judge_env(scratch, slots), judge_limits(limits), scratch)
        judge.running = judge._launch(plan)
        return judge

    def _launch(self, tests: list[PlannedTest]) -> Running:
        ids = {t.id for t in self.plan}
        running = self.sandbox.start(
            [sys.executable, "-P", "-m", "dlkit.grading.judge", str(self.exports)], self.scratch,
            self.env, self.limits,
            on_result=lambda stream: receive(stream, tests=ids, exports=None, caps=CAPS))
        running.send(json.dumps([{"id": t.id, "judge": t.judge} for t in tests]).encode() + b"\n")
        return running

    def finish(self) -> dict[str, dict]:
        """Say ``go`` and gather the verdicts. A test the judge died on is failed with the
        reason (its memory limit: the student's exports; anything else: a grader failure); a
        judge is started again for the tests after it."""
        verdicts: dict[str, dict] = {}
        remaining = list(self.plan)
        for _ in range(JUDGE_STARTS):
            running, self.running = self.running or self._launch(remaining), None
            running.send(b"go\n")
            running.close_input()
            result = running.wait()
            got: Received = result.received or Received(problems=["no channel"])
            verdicts.update(got.verdicts)
            remaining = [t for t in remaining if t.id not in verdicts]
            if got.ended and not got.problems or not remaining:
                break
            culprit = got.judging if got.judging in {t.id for t in remaining} else None
            why = self._failure(result, got)
            log.warning("the judge stopped%s: %s", f" at {culprit}" if culprit else "", why)
            if culprit is None:
                break
            verdicts[culprit] = {"passed": False, "message": why,
                                 "grader_failure": not result.memory_exceeded}
            remaining = [t for t in remaining if t.id != culprit]
            if not remaining:
                break
        for test in remaining:
            verdicts.setdefault(test.id, {"passed": False, "grader_failure": True,
                                          "message": "the grader could not judge this test"})
        return verdicts

    def _failure(self, result, got: Received) -> str:
        if result.memory_exceeded:
            return (f"the grader ran out of memory ({self.limits.memory_bytes / 2**30:g} GB) "
                    "loading or judging what this test exported: your exported objects are too "
                    "large")
        if result.timed_out:
            return f"judging this test took more than {duration(self.limits.seconds)} of CPU time"
        if got.problems:
            return f"the judge's answer broke the rules ({got.problems[0]})"
        return f"the judge stopped (exit code {result.returncode})"

    def stop(self) -> None:
        if self.running is not None:
            self.running.kill()
            self.running = None
        shutil.rmtree(self.scratch, ignore_errors=True)


def judge_execution(outcome: Outcome, verdicts: dict[str, dict], plan: list[PlannedTest],
                    execution: Execution, starter: dict[str, int] | None) -> None:
    """Set the outcome's results, status and reason from the judge's ``verdicts`` on an
    execution's exports and from the execution's own status: the one way a run is judged,
    first or again."""
    stopped = execution.stopped
    verdicts = {**verdicts, **{test: {"passed": False, "message": why}
                               for test, why in execution.uncollected.items()}}
    outcome.results = results_for(plan, verdicts,
                               starter if execution.from_starter and starter else {}, stopped,
                               unrun=frozenset(execution.unrun))
    scrub_hidden_code(outcome.results, plan)
    failed = [r for r in outcome.results if r.pop("grader_failure", False)]
    missing = sorted({r["message"] for r in outcome.results if r.get("missing")})
    outcome.status, outcome.reason = execution.status, execution.reason
    if failed:
        outcome.status = "sandbox error"
        outcome.reason = f"the grader failed while judging {failed[0]['question']}: " \
                         f"{failed[0]['message']}"[:1000]
    elif outcome.status == "graded" and missing:
        outcome.status, outcome.reason = "missing object", "; ".join(missing)[:1000]


@dataclass(frozen=True)
class KeptRun:
    """A run whose kept exports a regrade judges again: ``work`` holds them (``exports/``)."""

    submission_id: int
    work: Path
    execution: Execution


def rejudge_runs(kept: list[KeptRun], plan: list[PlannedTest], limits: Limits,
                 slots: int = 1, starter: dict[str, int] | None = None,
                 rubrics: tuple[Path, ...] = ()) -> list[Outcome]:
    """Judge again the exports runs kept (their notebooks are not run), under ``plan``'s
    current judge halves and points. A test whose judge digest is the one its verdict was
    given under keeps that verdict; the others are judged, in one judge sandbox for all the
    runs that need the same tests (:func:`judge_kept`), read as the first judging read them.
    The coordinator checked first that the exports answer ``plan``'s extract halves
    (:func:`~dlkit.grading.execution.rejudge_decision`)."""
    started = time.monotonic()
    digests = judge_digests(plan)
    stale = {run.submission_id: tuple(t for t in plan if t.id not in run.execution.verdicts
                                      or run.execution.judges.get(t.id) != digests[t.id])
             for run in kept}
    verdicts: dict[str, dict[str, dict]] = {}
    for tests in set(stale.values()):
        runs = [run for run in kept if stale[run.submission_id] == tests]
        if tests:
            verdicts.update(judge_kept(list(tests), {str(r.submission_id): r.work / "exports"
                                                     for r in runs}, slots, limits, rubrics))
    seconds = (time.monotonic() - started) / max(1, len(kept))  # each run's share
    outcomes = []
    for run in kept:
        execution = run.execution
        judged = {**{t.id: execution.verdicts[t.id] for t in plan
                     if t.id in execution.verdicts}, **verdicts.get(str(run.submission_id), {})}
        outcome = Outcome(execution.status, execution.reason, seconds, "cpu",
                          judge_sandbox(run.work).kind, origin=REJUDGED,
                          error=execution.stopped if execution.status == "error" else {},
                          timings={"judge": round(seconds, 2), "wall": round(seconds, 2),
                                   "judged": len(stale[run.submission_id])})
        judge_execution(outcome, judged, plan, execution, starter)
        tests = {t.id for t in plan}
        outcome.execution = dataclasses.replace(
            execution, judges=digests,
            verdicts={t: v for t, v in judged.items() if not v.get("grader_failure")},
            extracts={t: d for t, d in execution.extracts.items() if t in tests},
            uncollected={t: w for t, w in execution.uncollected.items() if t in tests})
        outcomes.append(outcome)
    return outcomes


def judge_kept(plan: list[PlannedTest], kept: dict[str, Path], slots: int, limits: Limits,
               rubrics: tuple[Path, ...] = ()) -> dict[str, dict[str, dict]]:
    """Key -> verdicts of the exports in ``kept`` (key -> exports folder), from judge sandboxes
    of :data:`REJUDGE_BATCH` runs each. A run a batch's judge did not finish (it died on one of
    its tests: its memory or CPU limit) is judged on its own by :class:`Judge`, which fails the
    test it died on with the reason and judges the rest; the batch goes on without it."""
    verdicts: dict[str, dict[str, dict]] = {}
    left = list(kept)
    while left:
        chunk = left[:REJUDGE_BATCH]
        got = _judge_batch(plan, {k: kept[k] for k in chunk}, slots, limits, rubrics)
        for key in got.done:
            verdicts[key] = {t.id: got.batches[key].get(t.id) or {
                "passed": False, "grader_failure": True,
                "message": "the grader could not judge this test"} for t in plan}
        left = [k for k in left if k not in got.done]
        unfinished = [k for k in chunk if k not in got.done]
        if not unfinished:
            continue
        culprit = got.current if got.current in unfinished else unfinished[0]
        log.warning("the judge of %d kept run(s) stopped at %s (%s): judging it alone",
                    len(chunk), culprit, "; ".join(got.problems) or "no answer")
        judge = Judge.start(plan, kept[culprit], slots, limits, rubrics)
        try:
            verdicts[culprit] = judge.finish()
        finally:
            judge.stop()
        left.remove(culprit)
    return verdicts


def _judge_batch(plan: list[PlannedTest], kept: dict[str, Path], slots: int, limits: Limits,
                 rubrics: tuple[Path, ...]) -> Received:
    """One judge sandbox for several runs' kept exports (all read-only there), each judged in
    turn; what it answered, checked (:func:`channel.receive` with the runs' keys)."""
    scratch = Path(tempfile.mkdtemp(prefix="dlkit-judge-"))
    folders = list(kept.values())
    sandbox = judge_sandbox(folders[0], [*rubrics, *folders[1:]])
    ids = {t.id for t in plan}
    running = None
    try:
        running = sandbox.start(
            [sys.executable, "-P", "-m", "dlkit.grading.judge", str(folders[0])], scratch,
            judge_env(scratch, slots), judge_limits(limits, len(kept)),
            on_result=lambda stream: receive(stream, tests=ids, exports=None, caps=CAPS,
                                             keys=frozenset(kept)))
        running.send(json.dumps({"tests": [{"id": t.id, "judge": t.judge} for t in plan],
                                 "exports": {k: str(p) for k, p in kept.items()}}).encode()
                     + b"\n" + b"".join(f"go {k}\n".encode() for k in kept))
        running.close_input()
        result = running.wait()
        running = None
        return result.received or Received(problems=["the judge's channel was not read"])
    finally:
        if running is not None:
            running.kill()
        shutil.rmtree(scratch, ignore_errors=True)
