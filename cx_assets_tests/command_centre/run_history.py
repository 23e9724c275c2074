"""Run histories for the command centre's tests: a real Dagster instance's storage, empty
or holding runs and check evaluations inserted by hand (what the overview lists of them is
worked out in the tests that read them)."""

from __future__ import annotations

import json
import sqlite3
import warnings
from pathlib import Path

from dagster import DagsterInstance

from cx_assets.command_centre import runs
from cx_assets.lakehouse.checks import COLUMN_SCHEMA_CHANGE


def empty_runs_db(home: Path) -> Path:
    """A real instance's run storage, without runs."""
    home.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        DagsterInstance.from_config(str(home)).dispose()
    return home / "history" / "runs.db"


def evaluation(severity: str | None, description: str) -> str:
    """A check evaluation as Dagster stores it beside its execution (`evaluation_event`);
    `severity=None`: one that names none."""
    data: dict = {"description": description}
    if severity is not None:
        data["severity"] = {"__enum__": f"AssetCheckSeverity.{severity}"}
    return json.dumps({"dagster_event": {"event_specific_data": data}})


def history_by_hand(home: Path) -> None:
    """A real instance's storage (`empty_runs_db`) holding three runs and the check
    evaluations of `test_data.test_runs_and_check_problems_are_read_as_recorded`, inserted
    by hand."""
    empty_runs_db(home)
    con = sqlite3.connect(home / "history" / "runs.db")
    con.executemany(
        "INSERT INTO runs (id, run_id, pipeline_name, status, run_body, create_timestamp, "
        "start_time, end_time) VALUES (?, ?, 'job', ?, '{}', ?, ?, ?)",
        [
            (1, "r1", "SUCCESS", "2024-01-01 00:05:00", 1704067200.0, 1704067260.0),
            (2, "r2", "FAILURE", "2024-01-05 01:00:00", None, None),
            (3, "r3", "SUCCESS", "2024-01-06 00:00:00", None, None),
        ],
    )
    con.executemany(
        "INSERT INTO run_tags (run_id, key, value) VALUES (?, ?, ?)",
        [
            ("r1", "dagster/partition", "2024-01-01"),
            ("r2", runs.RANGE_START, "2024-01-02"),
            ("r2", runs.RANGE_END, "2024-01-04"),
        ],
    )
    con.commit()
    con.close()
    grain = evaluation("ERROR", "2 rows repeated")
    warned = evaluation("WARN", "added columns: x")
    con = sqlite3.connect(home / "history" / "runs" / "index.db")
    con.executemany(
        "INSERT INTO asset_check_executions (id, asset_key, check_name, partition, run_id, "
        "execution_status, evaluation_event) VALUES (?, '[\"noise\"]', ?, ?, ?, ?, ?)",
        [
            (1, "grain", "2024-01-01", "r0", "SUCCEEDED", None),
            (2, "volume", "2024-01-01", "r0", "FAILED", grain),
            (3, COLUMN_SCHEMA_CHANGE, "2023-12-31", "r0", "SUCCEEDED", None),
            (4, "grain", "2024-01-01", "r1", "FAILED", grain),
            (5, "grain", "2024-01-02", "r1", "FAILED", grain),
            (6, "grain", "2024-01-03", "r1", "SUCCEEDED", None),
            (7, "volume", "2024-01-01", "r1", "SUCCEEDED", None),
            (8, COLUMN_SCHEMA_CHANGE, "2024-01-01", "r1", "FAILED", warned),
            (9, COLUMN_SCHEMA_CHANGE, "2024-01-02", "r1", "FAILED", warned),
            (10, "freshness", None, "r1", "EXECUTION_FAILED", None),
            (11, "grain", "2024-01-02", "r2", "SKIPPED", None),
            (12, "grain", "2024-01-01", "r2", "PLANNED", None),
        ],
    )
    con.commit()
    con.close()
