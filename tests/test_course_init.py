"""dlkit init: a course folder ready for a semester, on the server's own clock."""

from __future__ import annotations

from dlkit.course_init import init_course, server_time_zone
from dlkit.reports.course import load_course


def test_init_writes_the_servers_time_zone_into_the_course_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    assert server_time_zone() == "Asia/Kolkata"
    init_course(tmp_path / "course")
    course = load_course(folder=tmp_path / "course")
    assert course.time_zone == "Asia/Kolkata"
    # a course file the instructor changed is kept as it is
    (tmp_path / "course" / "course.yml").write_text("time_zone: Europe/London\n")
    init_course(tmp_path / "course")
    assert load_course(folder=tmp_path / "course").time_zone == "Europe/London"


def test_a_tz_that_is_no_zone_is_passed_over(monkeypatch):
    from zoneinfo import ZoneInfo

    monkeypatch.setenv("TZ", "not a zone")
    zone = server_time_zone()  # the system's own (/etc/timezone, /etc/localtime) or UTC
    assert zone != "not a zone" and ZoneInfo(zone)


def test_a_courses_own_rubric_is_read_first(tmp_path, monkeypatch):
    import yaml

    import dlkit.experiments as registry
    from dlkit.rubrics import load_rubric

    monkeypatch.setattr(registry, "EXPERIMENTS", dict(registry.EXPERIMENTS))
    monkeypatch.delenv(registry.COURSE_MASTERS_ENV, raising=False)
    course = tmp_path / "course"
    init_course(course, with_masters=True)
    own = course / "rubrics" / "exp2-feedforward.yml"
    rubric = yaml.safe_load(own.read_text())
    assert load_rubric("exp2-feedforward")["write_up"] == rubric["write_up"]  # the kit's, alike
    rubric["write_up"] = rubric["write_up"] + 3
    own.write_text(yaml.safe_dump(rubric))
    assert "exp2-feedforward" in registry.use_course(course)
    assert load_rubric("exp2-feedforward")["write_up"] == rubric["write_up"]
    assert load_rubric("exp2-feedforward", registry.kit_root())["write_up"] == rubric["write_up"] - 3
