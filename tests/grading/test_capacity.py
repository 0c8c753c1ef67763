"""How many notebooks are graded at once, the batch's estimate, the first line and --dry-run;
the per-phase timings of a grading run."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

from click.testing import CliRunner

from dlkit.cli import main
from dlkit.experiments import EXPERIMENTS, Cost
from dlkit.grading.capacity import batch_seconds, plan_workers, queue_plans
from dlkit.grading.run import phase_timings

from .test_batch import toy_batch  # noqa: F401 - the fixture

GB = 2**30


def costing(cpu_seconds, threads, contention=1.0, experiment=EXPERIMENTS["exp2-feedforward"]):
    return dataclasses.replace(experiment, cost=Cost(cpu_seconds, threads, contention))


def test_a_run_that_uses_every_core_or_slows_in_company_is_graded_one_at_a_time():
    heavy = costing(200, 1.9, 1.2)  # alone, it keeps 1.9 of 2 cores busy; 20% slower in company
    plan = plan_workers(heavy, 4, cores=2, memory_bytes=24 * GB)
    assert (plan.workers, plan.threads) == (1, 2)
    assert plan.seconds == batch_seconds(heavy, 4, 1, 2) == 4 * 200 / 1.9
    assert plan.seconds < batch_seconds(heavy, 4, 2, 2) == 2 * 200 * 1.2
    assert "chosen for exp2-feedforward on 2 cores" in plan.why
    assert plan_workers(costing(200, 1.9, 1.0), 4, cores=2, memory_bytes=24 * GB).workers == 2


def test_a_run_that_leaves_cores_idle_is_graded_beside_others():
    light = costing(30, 1.1)
    plan = plan_workers(light, 4, cores=2, memory_bytes=24 * GB)
    assert (plan.workers, plan.threads) == (2, 1)
    assert plan.seconds == 2 * 30 < batch_seconds(light, 4, 1, 2)
    wide = plan_workers(light, 160, cores=16, memory_bytes=512 * GB)
    assert (wide.workers, wide.threads) == (16, 1)


def test_a_tie_takes_fewer_workers_and_memory_and_the_batch_cap_them():
    even = costing(100, 2.0)  # 2 threads each: one run at a time is as fast as two at once
    assert plan_workers(even, 4, cores=2, memory_bytes=24 * GB).workers == 1
    light = costing(30, 1.0)
    assert plan_workers(light, 100, cores=16, memory_bytes=16 * GB).workers == 2  # 6 GB each
    assert plan_workers(light, 100, cores=16, memory_bytes=16 * GB,
                        memory_limit=2 * GB).workers == 8
    assert plan_workers(light, 3, cores=16, memory_bytes=512 * GB).workers == 3
    assert plan_workers(light, 0, cores=16, memory_bytes=512 * GB).seconds == 0


def test_a_servers_queue_plans_each_experiment_for_one_submission_per_core():
    heavy, light = costing(200, 1.9, 1.2), costing(30, 1.1,
                                                    experiment=EXPERIMENTS["exp4-autoencoder-anomaly"])
    plans = queue_plans([heavy, light], cores=2, memory_bytes=24 * GB)
    assert {e: (p.workers, p.threads) for e, p in plans.items()} == {
        "exp2-feedforward": (1, 2), "exp4-autoencoder-anomaly": (2, 1)}
    assert queue_plans([light], cores=16, memory_bytes=24 * GB)["exp4-autoencoder-anomaly"].workers == 4


def test_workers_given_are_kept_and_estimated():
    heavy = costing(200, 1.9, 1.2)
    plan = plan_workers(heavy, 5, workers=2, cores=2, memory_bytes=24 * GB)
    assert (plan.workers, plan.threads, plan.why) == (2, 1, "--workers")
    assert plan.seconds == 3 * 200 * 1.2  # three waves of one-thread runs in company
    crowded = plan_workers(heavy, 4, workers=4, cores=2, memory_bytes=24 * GB)
    assert crowded.seconds == 1 * 200 / 0.5 * 1.2  # four runs share two cores


def test_every_registered_experiment_has_a_cost_and_experiment_6_grades_two_at_once_on_2_cores():
    for experiment in EXPERIMENTS.values():
        assert 0 < experiment.cost.cpu_seconds < experiment.time_limit / 2
        assert 1 <= experiment.cost.threads <= 16 and 1 <= experiment.cost.contention < 10
    # measured side by side (benchmarks/grading_scaling.py): 191 s two at once, 313 s one at a time
    plan = plan_workers(EXPERIMENTS["exp6-transfer-learning"], 4, cores=2, memory_bytes=24 * GB)
    assert (plan.workers, plan.threads) == (2, 1)


def test_dry_run_says_the_plan_and_grades_nothing(toy_batch, monkeypatch):  # noqa: F811
    course, gradebook = toy_batch
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    result = CliRunner().invoke(main, ["grade", "toy", "--gpus", "none", "--dry-run",
                                       "--course", str(course)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        "grading 4 submission(s) of toy: 2 worker(s) x 1 thread(s) (chosen for toy on 2 cores); "
        "estimated 30 s")  # the toy's 120 s limit / 8 without a measured cost, two waves
    assert gradebook.current_runs("toy") == []
    forced = CliRunner().invoke(main, ["grade", "toy", "--gpus", "none", "--workers", "1",
                                       "--dry-run", "--course", str(course)])
    assert "1 worker(s) x 2 thread(s) (--workers); estimated 60 s" in forced.output


def test_a_run_reports_where_its_time_went(grade_toy):
    outcome, work = grade_toy()
    timings = outcome.timings
    assert outcome.status == "graded" and outcome.timings
    for phase in ("sandbox start", "kernel start", "prelude", "cells", "collect", "judge"):
        assert 0 <= timings[phase] < timings["wall"] + 1, (phase, timings)
    assert timings["kernel start"] + timings["prelude"] + timings["cells"] <= timings["wall"]
    assert 0 < timings["cells cpu"] <= timings["cpu"] and timings["threads"] >= 1
    assert len(timings["slowest cells"]) == 3
    assert all(wall >= 0 and cpu >= 0 for wall, cpu in timings["slowest cells"].values())


def test_a_run_stopped_before_its_clock_was_written_keeps_its_totals():
    run = SimpleNamespace(seconds=3.0, cpu_seconds=1.5, waited_seconds=0.25)
    assert phase_timings({}, 0.0, run) == {"cells": 0, "cells cpu": 0, "slowest cells": {},
                                           "threads": 0, "wall": 3.0, "cpu": 1.5, "waited": 0.25}
