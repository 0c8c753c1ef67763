"""The late policy counts days on the course's calendar (its time zone), not UTC's."""

from __future__ import annotations

import datetime as dt

from dlkit.reports.course import ExperimentRecord, _days_late, _timeliness, load_course


def record(submitted: dt.datetime) -> ExperimentRecord:
    """Experiment 2, planned for 11 Jan 2027 (grace 7 days: on time through the 18th)."""
    return ExperimentRecord("exp2-feedforward", 2, "Feed-forward", "", "", dt.date(2027, 1, 11),
                            submitted=submitted, status="graded")


def test_a_day_late_is_a_day_on_the_course_calendar(tmp_path):
    (tmp_path / "course.yml").write_text("time_zone: Asia/Kolkata\n")
    kolkata = load_course(folder=tmp_path)
    assert kolkata.late_policy["grace_days"] == 7  # the kit's keys stay where not replaced
    night = record(dt.datetime(2027, 1, 18, 19, 0))  # 00:30 IST on the 19th: a day late
    night.days_late = _days_late(kolkata, night)
    assert night.days_late == 1 and _timeliness(kolkata, night) == 0.5
    evening = record(dt.datetime(2027, 1, 18, 18, 0))  # 23:30 IST on the 18th: on time
    assert _days_late(kolkata, evening) == 0
    (tmp_path / "course.yml").write_text("time_zone: UTC\n")
    assert _days_late(load_course(folder=tmp_path), night) == 0  # the 18th in UTC
