"""The course's settings files and the kit's defaults: where each file lives, each read once per
version, each default written once (the API's signatures and the CLI read it from here).

    <course>/course.yml        institute, batches, planned dates, marks (over the kit's
                               rubrics/course.yml, key by key)       -> dlkit.reports.course.load_course
    rubrics/<experiment>.yml   each question's marks, the free-form  -> rubric_data (read by
                               switch and its marks                     reports.course and grading.free_form)
    <course>/portal.yml        what `dlkit serve` opens and its       -> dlkit.portal.config.load_schedule
                               limits
    <course>/datasets.yml      the paths students' own loaders read,  -> dlkit.data.datamap.read_dataset_map
                               mapped to data-registry entries
    <course>/dlkit.toml        [slurm]: dlkit's own keys (jobs, gpus, -> slurm_settings
                               data_cache) and dask-jobqueue's SLURMCluster options, passed on as they are

Every YAML file goes through :func:`read_yaml`, which parses a file once per version (its
modification time and size): the portal asks for the rubric and the schedule on every page.
"""

from __future__ import annotations

import copy
import functools
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlkit.errors import DlkitError

#: A notebook's memory limit, in GB (``dlkit grade --memory``, ``dlkit serve --memory``).
MEMORY_GB = 6.0
MEMORY_BYTES = int(MEMORY_GB * 2**30)
#: The wall-clock backstop of a run, as a multiple of its CPU-time limit (``--backstop``).
WALL_FACTOR = 3.0

COURSE_FILE = "course.yml"
PORTAL_FILE = "portal.yml"
DATASETS_FILE = "datasets.yml"
CLUSTER_FILE = "dlkit.toml"


class SettingsError(DlkitError):
    """A settings file cannot be read as its format (YAML, TOML)."""


# --------------------------------------------------------------------------- YAML, read once

def read_yaml(path: Path) -> Any:
    """The parsed file (a fresh copy: callers may change it), or None when it does not exist.
    Raises :class:`yaml.YAMLError` for a file that is not YAML (callers say what it should be)."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return copy.deepcopy(_parsed(path.resolve(), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=128)
def _parsed(path: Path, _mtime_ns: int, _size: int) -> Any:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))


def rubric_path(root: Path, experiment_id: str) -> Path:
    """``rubrics/<experiment>.yml`` under the kit's (or a course's) folder."""
    return root / "rubrics" / f"{experiment_id}.yml"


def rubric_data(path: Path) -> dict:
    """An experiment's rubric file as data ({} when there is none)."""
    import yaml

    try:
        data = read_yaml(path)
    except yaml.YAMLError as exc:
        raise SettingsError(f"invalid rubric: {exc}", where=str(path),
                            fix="correct the YAML (dlkit init --with-masters writes a fresh copy)") from None
    if data is not None and not isinstance(data, dict):
        raise SettingsError("a rubric is a mapping (experiment, auto, manual, ...)", where=str(path))
    return data or {}


# --------------------------------------------------------------------------- SLURM

#: dlkit's defaults for dask-jobqueue's SLURMCluster (the file's and the flags' win).
SLURM_DEFAULTS = {"cores": 4, "memory": "16GB", "walltime": "02:00:00"}


@dataclass(frozen=True)
class SlurmSettings:
    """Workers as SLURM jobs (dask-jobqueue), from ``<course>/dlkit.toml``'s ``[slurm]`` table.

    dlkit's own keys are ``jobs`` (jobs to start), ``gpus`` (``--gres=gpu:N`` per job; runs then
    hold a GPU each) and ``data_cache`` (``DLKIT_DATA`` on the nodes). Every other key is one of
    SLURMCluster's options and is passed to it as it is (``queue``, ``account``, ``cores``,
    ``memory``, ``walltime``, ``job_extra_directives``, ``job_script_prologue``, ``interface``,
    ``local_directory``, ``log_directory``, ``python``, ...): dask-jobqueue checks them."""

    jobs: int = 1
    gpus: int = 0
    data_cache: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    where: str = CLUSTER_FILE

    @property
    def cluster_options(self) -> dict[str, Any]:
        """What SLURMCluster is given: dlkit's defaults, the file's options, the flags'."""
        return {"python": sys.executable, **SLURM_DEFAULTS, **self.options}


def slurm_settings(course: Path, **overrides: Any) -> SlurmSettings:
    """``<course>/dlkit.toml``'s ``[slurm]`` table with ``overrides`` (the CLI's flags; None:
    not given) on top."""
    path = course / CLUSTER_FILE
    table: dict[str, Any] = {}
    if path.exists():
        try:
            table = dict(tomllib.loads(path.read_text(encoding="utf-8")).get("slurm", {}))
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{CLUSTER_FILE} is not valid TOML: {exc}", where=str(path),
                                fix="correct the file") from None
    table.update({k: v for k, v in overrides.items() if v is not None})
    own = {}
    for name in ("jobs", "gpus"):
        value = table.pop(name, SlurmSettings.__dataclass_fields__[name].default)
        if type(value) is not int or value < 0:
            raise SettingsError(f"[slurm] {name} must be a whole number >= 0, not {value!r}",
                                where=str(path))
        own[name] = value
    cache = table.pop("data_cache", None)
    if cache is not None and not isinstance(cache, str):
        raise SettingsError(f"[slurm] data_cache must be a folder's path, not {cache!r}",
                            where=str(path))
    return SlurmSettings(own["jobs"], own["gpus"], cache, table, str(path))
