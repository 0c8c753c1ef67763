"""A grading worker of the portal: takes queued submissions from the gradebook and grades them.

    python -m dlkit.portal.worker --course PATH [--slot cpu|gpu:N] [--share N] [--rank K] [--name NAME]

It loops: the oldest claim of a grader that died (``stale_owners``) or else the oldest queued
submission is handed to the coordinator, ``grade_submissions``, on this machine's pool with one
slot; the coordinator claims it (atomically: a submission is graded by one grader at a time),
runs it in the sandbox and writes the run, which clears the claim. The server starts one worker
per GPU, or as many CPU workers as the registry's costs say (each with its ``--rank``), and
supervises them; ``dlkit grade`` in a terminal shares the same queue.
Each worker writes a heartbeat (``<course>/portal/workers/<name>.json``) for the health page,
and exits when the server that started it is gone.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as dt
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from dlkit.gradebook import Gradebook, Submission, utcnow
from dlkit.portal.config import State
from dlkit.reports.render import write_atomic
from dlkit.settings import MEMORY_GB

log = logging.getLogger("dlkit.portal.worker")


class Heartbeat:
    """The worker's state, written to its file every ``every`` seconds by a thread."""

    def __init__(self, path: Path, name: str, slot: str, every: float = 2.0) -> None:
        self.path, self.every = path, every
        self.state = {"name": name, "pid": os.getpid(), "slot": slot, "state": "starting",
                      "submission": None, "experiment": None, "since": _now(), "graded": 0,
                      "last_error": ""}
        self._stop = threading.Event()
        threading.Thread(target=self._beat, daemon=True, name="heartbeat").start()

    def set(self, **changes) -> None:
        if "state" in changes and changes["state"] != self.state["state"]:
            changes.setdefault("since", _now())
        self.state.update(changes)
        self.write()

    def write(self) -> None:
        try:
            write_atomic(self.path, json.dumps({**self.state, "beat": _now()}))
        except OSError as exc:
            log.warning("cannot write the heartbeat %s: %s", self.path, exc)

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            self.write()


def next_submission(gradebook: Gradebook, takes: Callable[[str], bool] | None = None
                    ) -> tuple[Submission | None, set[str]]:
    """The oldest claim of a dead grader (taken over), else the oldest queued submission, of an
    experiment this worker ``takes`` (None: any); and the dead owners, which the coordinator may
    take claims from."""
    from dlkit.grading.grade import stale_owners

    claims = gradebook.claims()
    stale = stale_owners(claims)
    for submission_id in sorted(i for owner in stale for i in claims[owner]):
        orphan = gradebook.submission(submission_id)
        if orphan is not None and (takes is None or takes(orphan.experiment)):
            return orphan, stale
    queued = [s for s in gradebook.queued() if takes is None or takes(s.experiment)]
    return (queued[0] if queued else None), stale


class Ranked:
    """What the k-th of a server's CPU workers grades, from the registry's costs
    (:func:`~dlkit.grading.capacity.queue_plans`): experiments whose plan grades k or more
    notebooks at once, each with the plan's share of the cores."""

    def __init__(self, rank: int, memory_gb: float, cores: int | None = None) -> None:
        from dlkit.experiments import EXPERIMENTS
        from dlkit.grading.capacity import queue_plans

        self.rank = rank
        self.plans = queue_plans(EXPERIMENTS.values(), cores=cores,
                                 memory_limit=int(memory_gb * 2**30))

    def takes(self, experiment: str) -> bool:
        plan = self.plans.get(experiment)
        return plan is None or plan.workers >= self.rank

    def share(self, experiment: str, default: int) -> int:
        plan = self.plans.get(experiment)
        return plan.workers if plan is not None else default


def grade_one(submission: Submission, course: Path, gradebook: Gradebook, pools: dict,
              slot: str, share: int, memory_gb: float) -> str:
    """Grade one submission through the coordinator; returns the run's status (or "skipped"
    when another grader claimed it first). A failure of the grader itself is recorded as a
    sandbox error, so the student is told and ``dlkit grade`` tries it again."""
    from dlkit.experiments import get as get_experiment
    from dlkit.grading.executors import LocalPool
    from dlkit.grading.grade import grade_submissions
    from dlkit.grading.tasks import Outcome
    from dlkit.sandbox import Limits

    try:
        experiment = get_experiment(submission.experiment)
        if experiment.id not in pools:
            gpus = slot.split(":", 1)[1] if slot.startswith("gpu:") else "none"
            pools[experiment.id] = LocalPool.for_course(course, experiment, gpus=gpus, workers=1,
                                                        share=share)
        limits = Limits(seconds=experiment.time_limit, memory_bytes=int(memory_gb * 2**30))
        summary = grade_submissions([submission], pools[experiment.id], course=course,
                                    gradebook=gradebook, limits=limits, progress=False)
    except Exception as exc:  # noqa: BLE001 - whatever broke, the submission gets a status
        log.exception("grading submission %d failed", submission.id)
        current = gradebook.submission(submission.id)
        if current is not None and current.claimed_by in ("", claim_name()):
            gradebook.record_run(submission.id, Outcome(
                "sandbox error", f"the grader failed: {exc}"[:500], 0.0, slot, "", host=""))
        raise
    return next(iter(summary.statuses), "skipped")


def claim_name() -> str:
    from dlkit.grading.grade import claim_owner

    return claim_owner()


def run(course: Path, *, slot: str = "cpu", share: int = 1, name: str = "worker",
        memory_gb: float = MEMORY_GB, poll: float = 1.0, parent: int | None = None,
        once: bool = False, rank: int | None = None) -> None:
    """The worker's loop (see the module); ``once`` stops when the queue is empty; with
    ``rank`` it grades what the k-th CPU worker should (:class:`Ranked`), else everything."""
    course = course.resolve()
    gradebook = Gradebook.open(course)
    heartbeat = Heartbeat(State.of(course).workers / f"{name}.json", name, slot)
    heartbeat.set(state="idle")
    ranked = Ranked(rank, memory_gb) if rank else None
    pools: dict = {}
    while True:
        if parent is not None and os.getppid() != parent:
            log.info("the server (pid %d) is gone: stopping", parent)
            return
        submission, _ = next_submission(gradebook, ranked.takes if ranked else None)
        if submission is None:
            if once:
                return
            time.sleep(poll)
            continue
        heartbeat.set(state="grading", submission=submission.id,
                      experiment=submission.experiment)
        threads_share = ranked.share(submission.experiment, share) if ranked else share
        try:
            status = grade_one(submission, course, gradebook, pools, slot, threads_share,
                               memory_gb)
            log.info("submission %d (%s, %s): %s", submission.id, submission.experiment,
                     submission.student_roll, status)
            heartbeat.set(state="idle", submission=None, experiment=None,
                          graded=heartbeat.state["graded"] + (status != "skipped"))
        except Exception as exc:  # noqa: BLE001 - recorded; the worker goes on with the next
            heartbeat.set(state="idle", submission=None, experiment=None,
                          last_error=f"{_now()} submission {submission.id}: {exc}"[:500])
            time.sleep(poll)


def die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies (a killed server leaves no graders
    running); called in the child between fork and exec."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _now() -> str:
    return utcnow().replace(tzinfo=dt.UTC).isoformat(timespec="seconds")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dlkit.portal.worker", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", type=Path, required=True, help="the course folder")
    parser.add_argument("--slot", default="cpu", help="cpu, or gpu:N for one GPU")
    parser.add_argument("--share", type=int, default=1,
                        help="how many workers share this machine's CPU threads")
    parser.add_argument("--name", default=f"worker-{os.getpid()}")
    parser.add_argument("--memory", type=float, default=MEMORY_GB, help="GB per notebook")
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between queue checks")
    parser.add_argument("--parent", type=int, default=None,
                        help="stop when this process (the server) is no longer the parent")
    parser.add_argument("--once", action="store_true", help="stop when the queue is empty")
    parser.add_argument("--rank", type=int, default=None,
                        help="this worker's place k among the server's CPU workers: it grades "
                             "only experiments whose measured cost makes k or more at once the "
                             "fastest, with their share of the cores (default: everything)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format=f"%(asctime)s {args.name} %(levelname)s %(message)s")
    run(args.course, slot=args.slot, share=args.share, name=args.name, memory_gb=args.memory,
        poll=args.poll, parent=args.parent, once=args.once, rank=args.rank)


if __name__ == "__main__":
    main()
