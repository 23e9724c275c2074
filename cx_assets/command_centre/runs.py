"""What the runs recorded: the latest runs and the checks that failed or warned, read from the
Dagster instance under the data root (`$DAGSTER_HOME`, default `$CX_DATA_DIR/dagster_home`).

Read-only and without importing Dagster (which would cost the overview page ~2 s): the
instance's default storage is SQLite in WAL mode, whose readers never block its writers, and
the files are opened with `mode=ro`, so the dashboard cannot change or lock the history. The
rows read are Dagster's own tables (`runs`, `run_tags`, `asset_check_executions`) and the
check evaluation each execution stores as JSON. An instance on other storage (Postgres), or
a layout this code does not know, is reported as unreadable, never as "no problems".
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cx_assets.lakehouse.run_lock import owner_gone
from cx_assets.lakehouse.settings import DataLayout
from cx_assets.lakehouse.sql import sqlite_read_only_uri

# A run's statuses before it ends.
UNFINISHED = ("NOT_STARTED", "STARTING", "STARTED")

# Execution states of a check that did not pass: evaluated as failed, or could not run.
NOT_PASSED = ("FAILED", "EXECUTION_FAILED")
# The check whose verdict is its step's, recorded against each of the step's days
# (`history_checks.column_schema_change`): a later run's evaluation, of any day, is its
# latest. Kept by day, a schema change that the next day's run passed stayed listed for good
# as the latest evaluation of the day it was first seen on (seen after an upgrade added a
# column).
STEPS_VERDICT = "column_schema_change"
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def dagster_home(data_dir: Path) -> Path:
    """Where runs are recorded: as `cx-lakehouse` sets it up."""
    configured = os.environ.get("DAGSTER_HOME")
    return Path(configured) if configured else DataLayout(data_dir).dagster_home


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    days: str
    trigger: str
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def shown_status(self) -> str:
        """Its status, or that its process is gone when it was killed outright: its record
        stays STARTED until the next run or sensor tick marks it failed. Asked at each
        render: the history itself is cached until the run storage changes, and a killed
        run changes nothing."""
        if self.status in UNFINISHED and owner_gone(self.tags, self.run_id):
            return f"{self.status} (its process is gone: a killed run)"
        return self.status


@dataclass(frozen=True)
class CheckProblem:
    asset: str
    check: str
    severity: str  # WARN or ERROR
    days: list[str]
    description: str
    run_id: str


@dataclass
class RunHistory:
    readable: bool
    reason: str = ""
    runs: list[RunSummary] = field(default_factory=list)
    problems: list[CheckProblem] = field(default_factory=list)


def _connect(path: Path) -> sqlite3.Connection:
    """`path` opened read-only. SQLite reads a database in WAL mode (Dagster's) through its
    `-shm` file, made beside it when there is none: in a folder this user may not write (the
    service user's DAGSTER_HOME, every file readable), the overview said "run history
    unreadable: attempt to write a readonly database". With no `-wal` beside it either,
    everything committed is in the file itself, which is then read as it is (`immutable`)."""
    connection = sqlite3.connect(sqlite_read_only_uri(path), uri=True, timeout=2)
    try:
        connection.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
    except sqlite3.OperationalError as error:
        connection.close()
        if "readonly database" not in str(error) or os.path.exists(f"{path}-wal"):
            raise
        uri = f"{sqlite_read_only_uri(path)}&immutable=1"
        return sqlite3.connect(uri, uri=True, timeout=2)
    return connection


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


ELSEWHERE = (
    "this instance's dagster.yaml keeps its runs in another storage (such as Postgres, or "
    "SQLite in a folder of its own); the command centre reads the SQLite history under "
    "DAGSTER_HOME only"
)
# Dagster's SQLite run storage, as a dagster.yaml's `run_storage` names it (its module, or
# one of the modules under it, and its class).
_SQLITE_RUNS = ("dagster._core.storage.runs", "SqliteRunStorage")


def _keeps_runs_elsewhere(home: Path) -> bool:
    """Whether the instance's dagster.yaml keeps its runs anywhere but SQLite under the
    home's history/: a database server, a storage of its own, or SQLite under another
    `base_dir` (its runs were read as "no runs recorded yet"). One naming the home itself
    (Dagster's example written out) keeps them there: it was said to keep them elsewhere
    until its first run."""
    import yaml

    try:
        config = yaml.safe_load((home / "dagster.yaml").read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False  # none, or one Dagster cannot read either (`run` refuses it)
    if not isinstance(config, dict):
        return False
    if (storage := config.get("storage")) is not None:
        sqlite = storage.get("sqlite") if isinstance(storage, dict) else None
        return not (isinstance(sqlite, dict) and _is_folder(sqlite.get("base_dir"), home, home))
    if (run_storage := config.get("run_storage")) is not None:
        named = run_storage if isinstance(run_storage, dict) else {}
        settings = named.get("config") if isinstance(named.get("config"), dict) else {}
        in_sqlite = str(named.get("module", "")).startswith(_SQLITE_RUNS[0]) and (
            named.get("class") == _SQLITE_RUNS[1]
        )
        return not (in_sqlite and _is_folder(settings.get("base_dir"), home / "history", home))
    return False


def _is_folder(configured: Any, folder: Path, home: Path) -> bool:
    """Whether a dagster.yaml's `base_dir` (a path, or `{env: NAME}`) is `folder`. Runs of
    `cx-lakehouse` set DAGSTER_HOME to the home, whatever this process's is."""
    if isinstance(configured, dict) and set(configured) == {"env"}:
        name = configured["env"]
        configured = str(home) if name == "DAGSTER_HOME" else os.environ.get(str(name))
    if not isinstance(configured, str) or not configured:
        return False
    return os.path.realpath(configured) == os.path.realpath(folder)


def read_history(home: Path, runs: int = 5) -> RunHistory:
    """The latest `runs` runs, and every check whose latest evaluation (per day, for per-day
    checks) did not pass, grouped by asset and check."""
    runs_db, index_db = home / "history" / "runs.db", home / "history" / "runs" / "index.db"
    # Before the history's files: those an earlier dagster.yaml (ours) left there are not
    # what Dagster records now, and were listed as the latest runs for good.
    if _keeps_runs_elsewhere(home):
        return RunHistory(readable=False, reason=ELSEWHERE)
    try:
        runs_there, index_there = runs_db.exists(), index_db.exists()
    except PermissionError as refused:
        # The service user's DAGSTER_HOME under umask 077 (0700), with gold/ opened to the
        # analysts by hand: said here, where it had ended the page in the line for gold.
        return RunHistory(readable=False, reason=_refused(refused.filename))
    for path in (runs_db, index_db) if runs_there and index_there else ():
        if not os.access(path, os.R_OK):  # its files 0600: SQLite would say "unable to open"
            return RunHistory(readable=False, reason=_refused(path))
    if not runs_there:
        return RunHistory(readable=False, reason="no runs recorded yet")
    if not index_there:
        # Dagster creates both at once: without it, no check could be said to have passed.
        return RunHistory(readable=False, reason=f"check evaluations not found at {index_db}")
    if os.access(runs_db.parent, os.W_OK) and os.access(index_db.parent, os.W_OK):
        return _read(runs_db, index_db, runs)  # through the `-wal`: one moment of it
    # A file read as it is (`_connect`'s `immutable`, where this user may not write its
    # folder) may be written meanwhile: Dagster copies each write into it as it closes,
    # under a reader that takes it to never change ("database disk image is malformed",
    # or rows of before and after). A read during which either file or its `-wal` changed
    # is read again. So is one that failed, a moment later: a writer opening the file makes
    # its `-wal` some 40 ms before its `-shm`, which this user may not make ("unable to open
    # database file").
    for _ in range(READ_ATTEMPTS - 1):
        before = _written_state(runs_db, index_db)
        history = _read(runs_db, index_db, runs)
        if history.readable and _written_state(runs_db, index_db) == before:
            return history
        if not history.readable:
            time.sleep(FAILED_READ_PAUSE_SECONDS)
    return _read(runs_db, index_db, runs)


# Reads of the history while it is written, the last one shown as it came out.
READ_ATTEMPTS = 3
# The wait after a failed read: a writer's opening of the file, seen lasting 36-56 ms.
FAILED_READ_PAUSE_SECONDS = 0.1


def _refused(path: str | os.PathLike[str]) -> str:
    return f"this user may not read `{path}` (Permission denied)"


def _read(runs_db: Path, index_db: Path, runs: int) -> RunHistory:
    try:
        history = RunHistory(readable=True, runs=_latest_runs(runs_db, runs))
        history.problems = _check_problems(index_db)
        return history
    except (sqlite3.Error, ValueError, KeyError) as error:
        return RunHistory(readable=False, reason=f"run history unreadable: {error}")


def _written_state(*paths: Path) -> tuple:
    """What a write to these SQLite files changes: each file's identity, size and times, and
    whether its `-wal` is there (from a write's start until it is copied into the file)."""
    state = []
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            state.append(None)
            continue
        wal = os.path.exists(f"{path}-wal")
        state.append((stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, wal))
    return tuple(state)


def _latest_runs(path: Path, limit: int) -> list[RunSummary]:
    con = _connect(path)
    try:
        rows = con.execute(
            "SELECT run_id, status, start_time, end_time, create_timestamp FROM runs "
            "ORDER BY id DESC LIMIT ?",
            [limit],
        ).fetchall()
        tags: dict[str, dict[str, str]] = {}
        if rows:
            marks = ", ".join("?" * len(rows))
            for run_id, key, value in con.execute(
                f"SELECT run_id, key, value FROM run_tags WHERE run_id IN ({marks})",
                [row[0] for row in rows],
            ):
                tags.setdefault(run_id, {})[key] = value
    finally:
        con.close()
    summaries = []
    for run_id, status, start, end, created in rows:
        run_tags = tags.get(run_id, {})
        if RANGE_START in run_tags:
            days = f"{run_tags[RANGE_START]} to {run_tags.get(RANGE_END, '?')}"
        else:
            days = run_tags.get("dagster/partition", "whole history")
        summaries.append(
            RunSummary(
                run_id=run_id,
                status=status,
                started_at=_time(start) or _time(created),
                ended_at=_time(end),
                days=days,
                trigger=_trigger(run_tags),
                tags=run_tags,
            )
        )
    return summaries


def _trigger(tags: dict[str, str]) -> str:
    """What started a run: the CLI, a sensor or the schedule by name, a backfill, else the UI
    (or Dagster's own CLI)."""
    for tag in ("cx/trigger", "dagster/sensor_name", "dagster/schedule_name"):
        if tag in tags:
            return tags[tag]
    return "backfill" if "dagster/backfill" in tags else "ui"


def _check_problems(path: Path) -> list[CheckProblem]:
    con = _connect(path)
    try:
        rows = con.execute(
            f"""
            WITH latest AS (
                SELECT max(id) AS id FROM asset_check_executions
                WHERE execution_status NOT IN ('PLANNED', 'SKIPPED')
                GROUP BY asset_key, check_name, coalesce(partition, '')
            )
            SELECT e.asset_key, e.check_name, e.partition, e.run_id, e.execution_status,
                   e.evaluation_event
            FROM asset_check_executions e JOIN latest USING (id)
            WHERE e.execution_status IN ({", ".join("?" * len(NOT_PASSED))})
              AND NOT (e.check_name = ? AND EXISTS (
                  SELECT 1 FROM asset_check_executions later
                  WHERE later.asset_key = e.asset_key AND later.check_name = e.check_name
                    AND later.id > e.id AND later.run_id != e.run_id
                    AND later.execution_status NOT IN ('PLANNED', 'SKIPPED')))
            ORDER BY e.id DESC
            """,
            [*NOT_PASSED, STEPS_VERDICT],
        ).fetchall()
    finally:
        con.close()
    grouped: dict[tuple[str, str], CheckProblem] = {}
    for asset_key, check, partition, run_id, status, event in rows:
        asset = "/".join(json.loads(asset_key))
        severity, description = _evaluation(event, status)
        problem = grouped.get((asset, check))
        if problem is None:
            problem = grouped[(asset, check)] = CheckProblem(
                asset=asset,
                check=check,
                severity=severity,
                days=[],
                description=description,
                run_id=run_id,
            )
        if partition:
            problem.days.append(partition)
    for problem in grouped.values():
        problem.days.sort()
    return sorted(grouped.values(), key=_problem_order)


def _problem_order(problem: CheckProblem) -> tuple[int, str, str]:
    return (0 if problem.severity == "ERROR" else 1, problem.asset, problem.check)


def _evaluation(event: str | None, status: str) -> tuple[str, str]:
    """(severity, description) of a stored evaluation; a check that could not run is ERROR."""
    if status == "EXECUTION_FAILED" or not event:
        return "ERROR", "the check could not run (see the run in the Dagster UI)"
    data = json.loads(event).get("dagster_event", {}).get("event_specific_data", {}) or {}
    severity = str((data.get("severity") or {}).get("__enum__", "ERROR")).rsplit(".", 1)[-1]
    return severity, data.get("description") or ""
