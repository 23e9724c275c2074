"""The Dagster instance's home under the data root, and the dagster.yaml we write there."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from cx_assets.cli.options import UsageError
from cx_assets.lakehouse import durable
from cx_assets.lakehouse.settings import DataLayout, foreign_home

DAGSTER_YAML = """\
# Written by cx-lakehouse. Runs on one data root queue on its run lock (see
# docs/architecture.md), which a killed run cannot leave behind; a Dagster run or pool
# limit here would be held for ever by a run that was killed.
# Events go to Dagster's own SQLite files, through an engine kept open per file
# (cx_assets/lakehouse/event_log.py): a fifth of the cost per event.
concurrency:
  runs:
    max_concurrent_runs: 4
# A landed day's run leaves the queue within a second (Dagster's default is 5).
run_queue:
  dequeue_interval_seconds: 1
# The daemon retries a failed run that asks for it: the sensors', the schedule's and the
# rollup automation's runs are tagged dagster/max_retries (cx_assets/lakehouse/automation.py).
run_retries:
  enabled: true
# A landing sensor ticks every 5 s per source, about 70,000 ticks a day that mostly skip:
# kept a day, not Dagster's 7. A sensor that fails for a cause that lasts fails on every
# tick, some 3 kB each with its error: kept a week, not for good as Dagster keeps them (a
# landing folder it may not list is said once, its tick skipped). Ticks that started runs
# are kept for good.
retention:
  sensor:
    purge_after_days:
      skipped: 1
      failure: 7
event_log_storage:
  module: cx_assets.lakehouse.event_log
  class: PooledSqliteEventLogStorage
  config:
    base_dir: {event_log_dir}
telemetry:
  enabled: false
# No "Join the Dagster community" dialog over the UI's first page (it loads a page from
# dagster.io, which an offline machine cannot reach).
nux:
  enabled: false
# Runs without logger config of ours (the sensors', the schedule's, the automation's, the
# UI's) write Dagster's console lines from INFO up, not each step's DEBUG events (about a
# hundred lines a run), to their own output (a step's is captured for the UI's stdout and
# stderr view; none reaches the terminal of `cx-lakehouse ui`, README). Every event is still
# stored for the UI's run logs.
python_logs:
  python_log_level: INFO
"""
# A file we wrote starts so, and is ours to replace (an earlier version had run and pool
# limits that outlive a killed run). A file the user wrote is never touched.
WRITTEN_BY_US = "# Written by cx-lakehouse."


def dagster_yaml(home: Path) -> str:
    """Our dagster.yaml for a DAGSTER_HOME (absolute paths, so any process opening the
    instance, with or without DAGSTER_HOME set, finds the same event files)."""
    from cx_assets.lakehouse.event_log import event_log_dir

    # JSON's quoting is valid YAML, for a path with spaces or colons.
    return DAGSTER_YAML.format(event_log_dir=json.dumps(event_log_dir(str(home.resolve()))))


# The DAGSTER_HOME this process set for a data root (`prepare_dagster_home`): not the user's,
# so a later command of the same process on another data root (a test, a notebook calling
# `cx_assets.cli.main` twice) takes that root's own, neither the earlier root's history nor
# its refusal.
_set_here: str | None = None


def dagster_home_path(data_dir: Path) -> Path:
    """The DAGSTER_HOME runs of `data_dir` use, refused in one line when Dagster could not
    use it (checked before anything is created): the folder (`dagster_home_folder`), then a
    dagster.yaml the user wrote there."""
    home = dagster_home_folder(data_dir)
    config = home / "dagster.yaml"
    # Its bytes: one the user wrote may be no UTF-8 (an editor's Latin-1), said below.
    if config.is_file() and not config.read_bytes().startswith(WRITTEN_BY_US.encode()):
        _check_yours(config)
    return home


def dagster_home_folder(data_dir: Path) -> Path:
    """The DAGSTER_HOME runs of `data_dir` use, refused in one line when it can be no run
    history of theirs: a path Dagster refuses or misreads, no folder, or another data root's
    home. Without Dagster (its dagster.yaml is read with it, `dagster_home_path`), so a
    command checks it with the other settings, before it imports anything."""
    configured = os.environ.get("DAGSTER_HOME")
    if configured is not None and configured == _set_here:
        configured = None
    # A space is part of a folder's name: `/srv/cx/home ` a home beside the one meant.
    if configured and not configured.strip():
        raise UsageError(f"DAGSTER_HOME={configured!r} names no folder: unset it, or give one")
    if configured and configured != configured.strip():
        raise UsageError(
            f"DAGSTER_HOME={configured!r} begins or ends with a space (or a tab or line end), "
            f"which would be part of a folder's name: give {configured.strip()!r}"
        )
    if configured and not Path(configured).is_absolute():
        raise UsageError(f"DAGSTER_HOME={configured} must be an absolute path")
    home = Path(configured) if configured else DataLayout(data_dir).dagster_home
    # The URL of Dagster's SQLite run storage reads `%41` as `A`, and the text after a `?`
    # as options ("no such table"): a raw traceback either way.
    for mark, read_as in (("%", "an escape"), ("?", "the start of options")):
        if mark in str(home):
            raise UsageError(
                f"DAGSTER_HOME={home} holds a '{mark}', which Dagster's SQLite storage reads "
                f"as {read_as}: choose a data root (CX_DATA_DIR) or DAGSTER_HOME without one"
            )
    if home.exists() and not home.is_dir():
        raise UsageError(f"DAGSTER_HOME={home} is a file, not a folder")
    if home.is_symlink() and not home.exists():
        # A link to a disk not mounted (or a loop of links): making the home ended in
        # mkdir's FileExistsError traceback.
        raise UsageError(
            f"DAGSTER_HOME={home} is a link to {os.readlink(home)}, which is no folder (not "
            "there, or a loop of links): mount or make it, or give DAGSTER_HOME a folder"
        )
    if refused := foreign_home(home, data_dir):
        raise UsageError(refused)
    return home


def prepare_dagster_home(data_dir: Path) -> Path:
    """A persistent DAGSTER_HOME under the data root (unless the user set one), so runs
    from the CLI show up in the UI."""
    home = dagster_home_path(data_dir)
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    ours = dagster_yaml(home)
    # An earlier version of ours (or ours for a data root since moved) is replaced.
    if not config.exists() or (
        config.read_text().startswith(WRITTEN_BY_US) and config.read_text() != ours
    ):
        _write_whole(config, ours)
    global _set_here
    chosen_by_user = os.environ.get("DAGSTER_HOME") not in (None, _set_here)
    os.environ["DAGSTER_HOME"] = str(home)
    _set_here = None if chosen_by_user else str(home)
    _initialize_storage(home)
    return home


def _check_yours(config: Path) -> None:
    """A dagster.yaml the user wrote, refused in one line where Dagster cannot read it: not
    YAML, a key or value its instance does not take, or a class it names Dagster cannot make
    (`_class_refused`). It ended the command in Dagster's traceback, on a home already used
    inside the run, after the run lock was taken."""
    import yaml
    from dagster._core.errors import DagsterInvalidConfigError
    from dagster._core.instance.config import dagster_instance_config

    try:
        dagster_instance_config(str(config.parent))
    except UnicodeDecodeError as error:
        # An editor's Latin-1 (`São Paulo` in a comment), which Dagster reads as UTF-8: the
        # line, as `run --config` says it, not Dagster's traceback.
        line = error.object[: error.start].count(b"\n") + 1
        said = f"not UTF-8 text (line {line}: byte 0x{error.object[error.start]:02x})"
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        detail = f"line {where.line + 1}: {problem}" if where is not None else problem
        said = f"not YAML ({detail})"
    except DagsterInvalidConfigError as error:
        # Its first error, without the whole schema Dagster appends to an unexpected key.
        first = error.errors[0].message if error.errors else str(error)
        said = f"not Dagster's instance config ({first.split(' Expected: ')[0]})"
    else:
        if (refused := _class_refused(config.parent)) is None:
            return
        said = f"not a storage or service Dagster can make ({refused})"
    raise UsageError(f"{config}: {said}: fix it, or remove it for cx-lakehouse's own")


# What Dagster makes of an instance's configured classes, each through
# `ConfigurableClassData.rehydrate` as a subclass of what it is for (InstanceRef's
# properties; a custom instance class is made otherwise), and how that is said.
_MADE_FROM_CONFIG = {
    "local_artifact_storage_data": ("storage.root", "LocalArtifactStorage", "an artifact storage"),
    "storage_data": ("storage.base_storage", "DagsterStorage", "a storage"),
    "run_storage_data": ("storage.runs.base", "RunStorage", "a run storage"),
    "event_storage_data": ("storage.event_log.base", "EventLogStorage", "an event log storage"),
    "schedule_storage_data": ("storage.schedules.base", "ScheduleStorage", "a schedule storage"),
    "compute_logs_data": (
        "storage.compute_log_manager", "ComputeLogManager", "a compute log manager",
    ),
    "scheduler_data": ("scheduler.scheduler", "Scheduler", "a scheduler"),
    "run_coordinator_data": ("run_coordinator.base", "RunCoordinator", "a run coordinator"),
    "run_launcher_data": ("launcher.base", "RunLauncher", "a run launcher"),
    "secrets_loader_data": ("secrets.loader", "SecretsLoader", "a secrets loader"),
}  # fmt: skip


def _class_refused(home: Path) -> str | None:
    """Why Dagster would refuse a class the home's dagster.yaml names (a storage, a run
    launcher or coordinator) when it makes the instance, else None: a module not installed
    (`dagster_postgres`), no such class, a class not of what it is named for (a run
    coordinator as the run launcher), or settings its class does not take (`base_dir: 5`),
    none of which its instance config checks. Made so, it ended the command in a traceback,
    inside the run on a home already used. Checked as Dagster checks each before making it
    (`ConfigurableClassData.rehydrate`), without making it: nothing is written."""
    import importlib

    from dagster._config import process_config, resolve_to_config_type
    from dagster._core.instance.ref import InstanceRef
    from dagster._serdes.config_class import ConfigurableClassData

    instance = InstanceRef.from_dir(str(home))
    for field, (base_module, base_name, what) in _MADE_FROM_CONFIG.items():
        named = getattr(instance, field, None)
        if not isinstance(named, ConfigurableClassData):
            continue
        where = f"{named.module_name}.{named.class_name}"
        try:
            module = importlib.import_module(named.module_name)
        except ImportError as error:
            return f"{where}: {str(error)[:1].lower()}{str(error)[1:]}"
        if (klass := getattr(module, named.class_name, None)) is None:
            return f"{where}: {named.module_name} holds no class {named.class_name}"
        base = getattr(importlib.import_module(f"dagster._core.{base_module}"), base_name)
        if not (isinstance(klass, type) and issubclass(klass, base)):
            return f"{where}: not {what}"
        checked = process_config(resolve_to_config_type(klass.config_type()), named.config_dict)
        if not checked.success:
            return f"{where}: {checked.errors[0].message}"
    return None


def _write_whole(config: Path, text: str) -> None:
    """`text` as `config`, whole or not at all: written in place on a full disk, it was left
    empty, which later commands took for a file the user wrote and kept (found in an audit)."""
    in_flight = config.with_name(f"_{config.name}.{os.getpid()}.tmp")
    try:
        with durable.naming(config):
            in_flight.write_text(text)
        durable.replace(in_flight, config)
    finally:
        in_flight.unlink(missing_ok=True)


# Written once the home's storage is made: later commands skip the lock and the instance.
STORAGE_MADE = ".cx-storage-made"


def _initialize_storage(home: Path) -> None:
    """Dagster's storage of `home` made once, one process at a time, before a command of
    ours opens it. Two processes opening a new home at once (a run and the UI's `dagster
    dev`, or the UI's daemon and a script) each stamp the run database's schema revision:
    with two rows in `alembic_version`, every later open failed ("more than one head
    present"), a data root stuck for good. Seen in a test of the daemon on a busy machine."""
    if (home / STORAGE_MADE).exists():
        return
    with open(home / f"{STORAGE_MADE}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if (home / STORAGE_MADE).exists():
            return
        from dagster import DagsterInstance

        with DagsterInstance.from_config(str(home)) as instance:
            instance.get_runs(limit=1)
        (home / STORAGE_MADE).touch()
