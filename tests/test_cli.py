"""The CLI driven in-process (click's CliRunner)."""

from __future__ import annotations

from click.testing import CliRunner

from dlkit.cli import main


def test_help_explains_commands():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0 and "data" in result.output
    result = CliRunner().invoke(main, ["data", "fetch", "--help"])
    assert "checksums" in result.output


def test_data_status_table():
    result = CliRunner().invoke(main, ["data", "status"])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
    for name in ("mnist", "bbc-news", "kjv", "efficientnet-lite0", "kdd-tsad-135"):
        assert rows[name].split()[1] == "yes", rows[name]
        assert "PyPI wheel" in rows[name]
    assert rows["cifar10"].split()[1] == "NO"
    assert "no offline source exists" in rows["cifar10"]


def test_unavailable_entry_is_one_error_line_and_exit_1(cache):
    result = CliRunner().invoke(main, ["data", "fetch", "cifar10"])
    assert result.exit_code == 1
    assert "Error: cifar10 unavailable; tried: upstream www.cs.toronto.edu" in result.output
    assert "; to fix: " in result.output
    assert "Traceback" not in result.output


def test_verbose_shows_the_kits_info_messages(cache):
    """-v: each source the registry tried, with why it failed (an INFO message); by default
    and with -q those lines are not shown, the one Error line is."""
    verbose = CliRunner().invoke(main, ["-v", "data", "fetch", "cifar10"])
    assert verbose.exit_code == 1
    assert "INFO dlkit.data.registry: cifar10: upstream www.cs.toronto.edu failed after" in verbose.output
    for flags in ([], ["-q"]):
        plain = CliRunner().invoke(main, [*flags, "data", "fetch", "cifar10"])
        assert plain.exit_code == 1 and "INFO" not in plain.output
        assert "Error: cifar10 unavailable" in plain.output


def test_unknown_dataset_lists_known_ones():
    result = CliRunner().invoke(main, ["data", "fetch", "nosuch"])
    assert result.exit_code == 1
    assert "Error: unknown dataset 'nosuch'" in result.output and "mnist" in result.output
