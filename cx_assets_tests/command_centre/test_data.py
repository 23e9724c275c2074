"""The command centre's reading layer (gold Parquet through its own in-memory DuckDB) and its
reading of the run history (Dagster's SQLite storage, read-only)."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import warnings
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    DagsterInstance,
    DailyPartitionsDefinition,
    MaterializeResult,
    asset,
    materialize,
)

from cx_assets.command_centre import data, runs
from cx_assets.command_centre.data import GoldLake, MissingTables, run_hint
from cx_assets.lakehouse import parquet
from cx_assets.lakehouse.checks import COLUMN_SCHEMA_CHANGE
from cx_assets_tests.command_centre.gold_rows import DAY1, DAY2
from cx_assets_tests.command_centre.run_history import empty_runs_db, evaluation, history_by_hand


@pytest.fixture
def gold(gold_root, tmp_path) -> GoldLake:
    """The module's gold dataset, copied for the test to change as it likes."""
    return GoldLake(shutil.copytree(gold_root, tmp_path / "data"))


def test_per_day_tables_get_their_date_from_the_folders(gold):
    frame = gold.query(
        "SELECT date, sum(total_calls) AS calls FROM calls_kpis_daily GROUP BY date ORDER BY date",
        ["calls_kpis_daily"],
    )
    assert [day.date() for day in frame["date"]] == [DAY1, DAY2]
    assert frame["calls"].tolist() == [20, 40]


def test_parameters_bind_days_and_lists(gold):
    frame = gold.query(
        "SELECT agent_name, sum(calls) AS calls FROM calls_agent_daily "
        "WHERE date BETWEEN ? AND ? AND list_contains(?, agent_name) GROUP BY ALL",
        ["calls_agent_daily"],
        [DAY2, DAY2, ("Bob",)],
    )
    assert frame.to_dict("records") == [{"agent_name": "Bob", "calls": 20}]


def test_times_are_read_in_utc_whatever_the_machines_zone(gold, monkeypatch):
    """Seen in a time audit: the command centre's DuckDB took the machine's zone, so under
    TZ=Asia/Kolkata a call at 10:00 UTC came back as 15:30+05:30, its day and hour computed
    there were Kolkata's, and the journey playback said "15:30:00 UTC"."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    monkeypatch.setattr(data, "_DATABASE", None)  # a process started in that zone
    try:
        frame = gold.query(
            "SELECT called_at, hour(called_at) AS hour, CAST(called_at AS DATE) AS day "
            "FROM calls_performance",
            ["calls_performance"],
        )
    finally:
        monkeypatch.undo()  # the zone, and the process's own database
        time.tzset()
    called_at = frame["called_at"].iloc[0]
    assert str(called_at.tz) == "UTC"
    assert f"{called_at:%Y-%m-%d %H:%M}" == f"{DAY2} 10:00"
    assert frame["hour"].iloc[0] == 10
    assert frame["day"].iloc[0].date() == DAY2


def test_in_flight_files_are_never_read(gold):
    folder = gold.gold_dir / "calls_kpis_daily" / "date=2024-01-02"
    (folder / "_data.parquet.999.tmp").write_bytes(b"half a file")
    assert [path.name for path in gold.files("calls_kpis_daily")] == ["data.parquet"] * 2
    assert len(gold.query("SELECT * FROM calls_kpis_daily", ["calls_kpis_daily"])) == 2


def test_the_version_changes_when_a_run_replaces_a_file(gold):
    before = gold.version(["calls_kpis_daily"])
    folder = parquet.partition_folder(gold.gold_dir / "calls_kpis_daily", date(2024, 1, 2))
    parquet.publish(
        pa.table({"total_calls": [41], "conversion_rate": [0.5], "total_upsell_revenue": [1.0],
                  "avg_upsell_per_call": [0.1]}),
        folder,
    )  # fmt: skip
    assert gold.version(["calls_kpis_daily"]) != before
    calls = gold.query("SELECT sum(total_calls) AS n FROM calls_kpis_daily", ["calls_kpis_daily"])
    assert calls["n"].iloc[0] == 61


def _day2_kpis(gold: GoldLake) -> Path:
    (path,) = [path for path in gold.files("calls_kpis_daily") if f"date={DAY2}" in str(path)]
    return path


def _kpis_of_day2_with_total_calls(gold: GoldLake, total_calls: list[int]) -> None:
    """Day 2's `calls_kpis_daily` published again with these `total_calls` (its other
    columns repeated), as a run rewriting the day does."""
    path = _day2_kpis(gold)
    rows = pq.read_table(path)
    position = rows.schema.get_field_index("total_calls")
    rows = rows.take([0] * len(total_calls)).set_column(
        position, rows.schema.field(position), pa.array(total_calls, pa.int64())
    )
    parquet.publish(rows, path.parent)


def test_a_rewrite_of_the_same_size_changes_the_version_by_its_time(gold):
    """A run rewriting a day with one number changed writes a file of the same size (40 calls
    become 41: 3,186 bytes both): its time alone says the cached results are old."""
    path = _day2_kpis(gold)
    size = path.stat().st_size
    before = gold.version(["calls_kpis_daily"])
    _kpis_of_day2_with_total_calls(gold, [41])
    assert path.stat().st_size == size  # the case: the same size, a later time
    assert gold.version(["calls_kpis_daily"]) != before


def test_a_rewrite_at_the_same_time_changes_the_version_by_its_size(gold):
    """A file system that keeps whole seconds (or a copy made with `cp -p`) can give the
    rewritten file the time of the one it replaces: its size says the results are old."""
    path = _day2_kpis(gold)
    written = path.stat()
    before = gold.version(["calls_kpis_daily"])
    _kpis_of_day2_with_total_calls(gold, [40, 1])  # two rows: a larger file
    os.utime(path, ns=(written.st_atime_ns, written.st_mtime_ns))
    assert path.stat().st_mtime_ns == written.st_mtime_ns
    assert path.stat().st_size != written.st_size
    assert gold.version(["calls_kpis_daily"]) != before


def test_a_table_without_files_is_reported_missing(gold):
    with pytest.raises(MissingTables) as raised:
        gold.query("SELECT * FROM nothing_yet", ["nothing_yet"])
    assert raised.value.tables == ["nothing_yet"]
    assert gold.row_count("nothing_yet") == 0


def test_freshness_counts_rows_and_days_from_the_footers(gold):
    fresh = {item.table: item for item in gold.freshness()}
    assert (fresh["calls_agent_daily"].rows, fresh["calls_agent_daily"].days) == (4, 2)
    assert fresh["calls_agent_daily"].last_day == DAY2
    heat = fresh["crm_temporal_heat"]
    assert (heat.per_day, heat.rows, heat.last_day) == (False, 168, None)


def test_freshness_gives_a_tables_first_day_and_its_latest_write(gold):
    """`calls_agent_daily`'s two days, day 1's file written at 06:00 and day 2's at 05:00
    (day 1 run again later): its days run from day 1 to day 2, and it was last written at
    06:00, whichever day's file that was."""
    from datetime import UTC, datetime

    written = {DAY1: datetime(2024, 1, 3, 6, tzinfo=UTC), DAY2: datetime(2024, 1, 3, 5, tzinfo=UTC)}
    for path in gold.files("calls_agent_daily"):
        at = written[date.fromisoformat(path.parent.name.removeprefix("date="))].timestamp()
        os.utime(path, (at, at))
    fresh = {item.table: item for item in gold.freshness()}["calls_agent_daily"]
    assert (fresh.first_day, fresh.last_day, fresh.days) == (DAY1, DAY2, 2)
    assert fresh.written_at == datetime(2024, 1, 3, 6, tzinfo=UTC)


def test_hidden_and_underscored_folders_in_gold_are_not_tables(gold):
    """A file server's `.snapshot` folder (NFS, NetApp) and a folder set aside by hand
    (`_old`) beside the tables are not gold tables, and the freshness table lists neither."""
    for folder in (".snapshot", "_old"):
        (gold.gold_dir / folder / "calls_kpis_daily").mkdir(parents=True)
    assert ".snapshot" not in gold.tables() and "_old" not in gold.tables()
    assert len(gold.tables()) == len(data.GOLD_TABLES)
    assert {item.table for item in gold.freshness()} == set(data.GOLD_TABLES)


def test_freshness_reads_each_version_of_a_file_once(gold, monkeypatch):
    """A run rewrites a few files of a table: the footers of the others are not read again
    at each view (0.46 s at a year of days)."""
    from cx_assets.command_centre import data

    read = []
    read_metadata = data.pq.read_metadata
    monkeypatch.setattr(
        data.pq, "read_metadata", lambda path: read.append(path) or read_metadata(path)
    )
    first = gold.freshness()
    assert read
    read.clear()
    assert gold.freshness() == first and read == []
    rewritten = (
        parquet.partition_folder(gold.gold_dir / "calls_agent_daily", DAY1) / parquet.DATA_FILE
    )
    rows = parquet.pq.read_table(rewritten)
    os.unlink(rewritten)  # as a run replaces a file: another one in its place
    parquet.pq.write_table(rows.slice(0, 1), rewritten)
    again = {item.table: item for item in gold.freshness()}
    assert read == [rewritten] and again["calls_agent_daily"].rows == 3


class _ClearedByAnotherThread(dict):
    """The footers' cache as a second Streamlit session leaves it: emptied (it had grown to
    its bound) just after this one stored its footer and before it read it back."""

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        self.clear()


def test_a_footer_read_while_another_session_empties_the_cache_is_still_counted(gold, monkeypatch):
    """Streamlit serves each browser tab from a thread of its own, all sharing the cache: a
    footer read as another emptied it ended the page in a KeyError."""
    monkeypatch.setattr(data, "_FOOTERS", _ClearedByAnotherThread())
    fresh = {item.table: item for item in gold.freshness()}
    assert (fresh["calls_agent_daily"].rows, fresh["calls_agent_daily"].days) == (4, 2)


def test_a_query_reads_each_files_footer_once_and_unions_columns_only_where_they_differ(
    tmp_path, monkeypatch
):
    """Seen opening the command centre on a year of every source: each query's views read
    their tables with `union_by_name`, so DuckDB read the footer of every day's file before
    it could filter on the day, a query of one day as much as one of the year (a day of
    support_ticket_analytics in 0.14-0.28 s, 0.014-0.028 s without), and a page's first view
    after a run took 2-3 times its time on two weeks (support 4-5 s). Each file's columns are
    now read from its footer once per version of it, and a table's views union by name only
    where its files' columns differ (a column gained by a newer version)."""
    statements, read = [], []
    connection = data._connection
    monkeypatch.setattr(data, "_connection", lambda: _Recorded(connection(), statements))
    read_metadata = data.pq.read_metadata
    monkeypatch.setattr(
        data.pq, "read_metadata", lambda path: read.append(path) or read_metadata(path)
    )
    dataset = tmp_path / "data" / "gold" / "calls_kpis_daily"
    days = [date(2024, 1, 1) + timedelta(days=n) for n in range(40)]
    for n, day in enumerate(days):
        parquet.publish(
            pa.table({"total_calls": [n], "conversion_rate": [0.5]}),
            parquet.partition_folder(dataset, day),
        )
    gold = GoldLake(tmp_path / "data")
    one_day = "SELECT total_calls FROM calls_kpis_daily WHERE date = ?"

    assert gold.query(one_day, ["calls_kpis_daily"], [days[-1]])["total_calls"].tolist() == [39]
    assert "union_by_name = false" in statements[0], statements[0][-120:]
    assert len(read) == 40
    read.clear()
    assert gold.row_count("calls_kpis_daily") == 40 and read == []  # its footers, read once

    # A newer version's file with a column the older ones lack: read by name, NULL before it.
    parquet.publish(
        pa.table({"total_calls": [7], "conversion_rate": [0.5], "total_upsell_revenue": [1.0]}),
        parquet.partition_folder(dataset, days[-1]),
    )
    statements.clear()
    frame = gold.query(
        "SELECT date, total_calls, total_upsell_revenue FROM calls_kpis_daily "
        "WHERE date >= ? ORDER BY date",
        ["calls_kpis_daily"],
        [days[-2]],
    )
    assert "union_by_name = true" in statements[0], statements[0][-120:]
    assert frame["total_calls"].tolist() == [38, 7]
    assert frame["total_upsell_revenue"].isna().tolist() == [True, False]
    assert read == [dataset / f"date={days[-1]}" / parquet.DATA_FILE]


def test_a_file_replaced_by_one_of_other_columns_after_its_footer_was_read_is_read_again(
    gold, monkeypatch
):
    """A view reads a table's files by position when their footers gave the same columns;
    a run replacing a file meanwhile by one with fewer columns (an earlier version's, after
    going back) made DuckDB fail with a schema mismatch. The query is run again, its files
    listed and their footers read afresh."""
    folder = parquet.partition_folder(gold.gold_dir / "calls_kpis_daily", DAY2)
    rows = parquet.pq.read_table(folder / parquet.DATA_FILE)
    parquet.publish(rows.drop_columns(["avg_upsell_per_call"]), folder)
    seen = []
    same_columns = GoldLake._same_columns

    def judged(self, entries):  # the first listing as before the replacement: all alike
        seen.append(entries)
        return len(seen) == 1 or same_columns(self, entries)

    monkeypatch.setattr(GoldLake, "_same_columns", judged)
    monkeypatch.setattr(data.time, "sleep", lambda seconds: None)
    calls = gold.query(
        "SELECT sum(total_calls) AS n, count(avg_upsell_per_call) AS priced FROM calls_kpis_daily",
        ["calls_kpis_daily"],
    )
    assert calls[["n", "priced"]].iloc[0].tolist() == [60, 1] and len(seen) == 2


class _Recorded:
    """A DuckDB connection that records the statements it runs."""

    def __init__(self, con, statements: list[str]):
        self.con, self.statements = con, statements

    def execute(self, sql, *args):
        self.statements.append(sql)
        return self.con.execute(sql, *args)

    def close(self):
        self.con.close()


def test_freshness_names_a_table_not_written_and_counts_around_a_damaged_file(gold):
    """Seen in an audit: a gold table removed (or never written: a step that failed) left no
    row, and one damaged day counted its whole table as 0 rows."""
    import shutil

    shutil.rmtree(gold.gold_dir / "leakage_savings_model")
    damaged = parquet.partition_folder(gold.gold_dir / "calls_agent_daily", DAY1)
    (damaged / parquet.DATA_FILE).write_bytes(b"PAR1 cut short")
    fresh = {item.table: item for item in gold.freshness()}

    missing = fresh["leakage_savings_model"]
    assert (missing.files, missing.rows, missing.written_at) == (0, 0, None)
    assert missing.problem.startswith("not written yet")
    agents = fresh["calls_agent_daily"]
    assert agents.rows == 2  # the second day's two rows; the first day's file is damaged
    assert agents.problem.startswith(
        f"gold file calls_agent_daily/date={DAY1}/data.parquet cannot be read"
    )
    assert all(item.problem is None for name, item in fresh.items() if name not in {
        "leakage_savings_model", "calls_agent_daily"
    })  # fmt: skip

    # A domain with no table at all is not listed table by table: nothing of it is built.
    for table in [name for name in fresh if name.startswith("support_")]:
        shutil.rmtree(gold.gold_dir / table)
    assert not [item for item in gold.freshness() if item.table.startswith("support_")]


def test_a_footer_that_does_not_decode_is_damage_not_a_file_being_replaced(gold):
    """Found in an audit: pyarrow raises a footer it cannot decode as an `OSError`, which
    was taken for a file a run removed meanwhile: the table's rows were counted without
    it and the file was never named. Only a missing file is a file being replaced."""
    path = parquet.partition_folder(gold.gold_dir / "calls_agent_daily", DAY1) / parquet.DATA_FILE
    content = bytearray(path.read_bytes())
    footer = int.from_bytes(content[-8:-4], "little")
    content[-8 - footer : -8] = b"\xff" * footer  # the footer's bytes, garbled in place
    path.write_bytes(bytes(content))

    agents = {item.table: item for item in gold.freshness()}["calls_agent_daily"]

    assert agents.problem.startswith(
        f"gold file calls_agent_daily/date={DAY1}/data.parquet cannot be read"
    )


def test_the_gold_tables_the_command_centre_expects_are_the_definitions(gold):
    from cx_assets import definitions
    from cx_assets.command_centre.data import GOLD_TABLES

    gold_keys = {
        key.path[-1]
        for key in definitions.defs.resolve_asset_graph().get_all_asset_keys()
        if key.path[0] == "gold"
    }
    assert sorted(GOLD_TABLES) == sorted(gold_keys)
    assert {item.table for item in gold.freshness()} == gold_keys  # the fixture has them all


def test_every_gold_table_is_of_a_source_the_command_centre_knows():
    """Found in a code audit: a new domain's tables would be of source "", and the hints
    would lose their `--select group:` and `--sources`."""
    from cx_assets import definitions
    from cx_assets.command_centre.data import GOLD_PREFIXES, GOLD_TABLES, source_of
    from cx_assets.domain_names import domain_names

    assert sorted(GOLD_PREFIXES) == sorted(domain_names())
    graph = definitions.defs.resolve_asset_graph()
    assert {table: source_of(table) for table in GOLD_TABLES} == {
        key.path[-1]: graph.get(key).group_name
        for key in graph.get_all_asset_keys()
        if key.path[0] == "gold"
    }


def test_the_run_hint_names_the_landed_days(tmp_path):
    lake = GoldLake(tmp_path)
    # Nothing anywhere: the three days up to yesterday (today is not a partition yet).
    assert run_hint(lake, "crm", today=date(2026, 12, 4)) == (
        "cx-lakehouse generate --start 2026-12-01 --days 3 --sources crm` and then "
        "`cx-lakehouse run --date 2026-12-01 --to 2026-12-03"
    )
    # Another source landed: the same days, not days two years away (seen in an audit).
    for day in ("2026-11-20", "2026-11-21"):
        (tmp_path / "landing" / "calls" / "transcripts" / day).mkdir(parents=True)
    assert run_hint(lake, "crm", today=date(2026, 12, 4)) == (
        "cx-lakehouse generate --start 2026-11-20 --days 2 --sources crm` and then "
        "`cx-lakehouse run --date 2026-11-20 --to 2026-11-21"
    )
    # The source's gold built for days whose files are gone: those days are generated again.
    (tmp_path / "gold" / "crm_noise_summary" / "date=2024-03-05").mkdir(parents=True)
    (tmp_path / "gold" / "calls_kpis_daily" / "date=2024-03-09").mkdir(parents=True)
    # One day: named alone (`--date 2024-03-05`, not `... --to 2024-03-05` after it).
    assert run_hint(lake, "crm") == (
        "cx-lakehouse generate --start 2024-03-05 --days 1 --sources crm` and then "
        "`cx-lakehouse run --date 2024-03-05"
    )
    for day in ("2024-02-01", "2024-02-03", "not-a-day"):
        (tmp_path / "landing" / "crm" / "interactions" / day).mkdir(parents=True)
    assert run_hint(lake, "crm") == "cx-lakehouse run --date 2024-02-01 --to 2024-02-03"


def test_the_pipeline_never_imports_the_command_centre():
    code = (
        "import sys, cx_assets.definitions; "
        "print(sorted(m for m in sys.modules "
        "if m.startswith('cx_assets.command_centre') or m.split('.')[0] in "
        "('streamlit', 'plotly', 'altair')))"
    )
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# --------------------------------------------------------------------------- run history


@asset(
    check_specs=[
        AssetCheckSpec("band", asset="checked", blocking=False),
        AssetCheckSpec("keys", asset="checked", blocking=False),
        AssetCheckSpec("fine", asset="checked", blocking=False),
    ]
)
def checked():
    return MaterializeResult(
        check_results=[
            AssetCheckResult(check_name="band", passed=False, severity=AssetCheckSeverity.WARN,
                             description="ratio 0.9 outside 0.2-0.5"),
            AssetCheckResult(check_name="keys", passed=False, severity=AssetCheckSeverity.ERROR),
            AssetCheckResult(check_name="fine", passed=True),
        ]
    )  # fmt: skip


def run_checked_once(home: Path) -> None:
    """One run of `checked` from the CLI, recorded in a new Dagster home `home`."""
    home.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        instance = DagsterInstance.from_config(str(home))
        materialize([checked], instance=instance, tags={"cx/trigger": "cli"})
        instance.dispose()


@pytest.fixture(scope="module")
def home_run_once(tmp_path_factory) -> Path:
    """A Dagster home holding one run of `checked` (`run_checked_once`), copied by each test
    that reads a history as that run left it."""
    home = tmp_path_factory.mktemp("run_once") / "dagster_home"
    run_checked_once(home)
    return home


@pytest.fixture(scope="module")
def empty_home(tmp_path_factory) -> Path:
    """A Dagster home whose run storage a real instance made, without runs
    (`empty_runs_db`), copied by each test that writes runs into it by hand."""
    home = tmp_path_factory.mktemp("empty") / "home"
    empty_runs_db(home)
    return home


def test_run_history_lists_runs_and_checks_that_did_not_pass(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = runs.dagster_home(tmp_path)
    assert home == tmp_path / "dagster_home"
    assert runs.read_history(home).reason == "no runs recorded yet"
    run_checked_once(home)

    history = runs.read_history(home)
    assert history.readable
    (run,) = history.runs
    assert (run.status, run.trigger, run.days) == ("SUCCESS", "cli", "whole history")
    problems = [(p.severity, p.asset, p.check, p.description) for p in history.problems]
    assert problems == [
        ("ERROR", "checked", "keys", ""),
        ("WARN", "checked", "band", "ratio 0.9 outside 0.2-0.5"),
    ]


DAYS = DailyPartitionsDefinition(start_date="2024-01-01")


@asset(
    partitions_def=DAYS,
    check_specs=[AssetCheckSpec(COLUMN_SCHEMA_CHANGE, asset="reshaped", partitions_def=DAYS)],
)
def reshaped(context):
    """Its columns changed on the first day it is run for (its check's verdict is the step's,
    recorded against the step's day), as they were on the day before."""
    changed = context.partition_key == "2024-01-04"
    return MaterializeResult(
        check_results=[
            AssetCheckResult(
                check_name=COLUMN_SCHEMA_CHANGE,
                passed=not changed,
                severity=AssetCheckSeverity.WARN,
                description="added columns: content_bytes" if changed else None,
            )
        ]
    )


def test_a_column_schema_change_a_later_run_passed_is_no_longer_listed(tmp_path, monkeypatch):
    """Seen upgrading a data root built two sessions before: the first run of a new day warned
    column_schema_change (added columns: content_bytes), the next day's run passed it, and the
    overview went on listing the warning for good, as the latest evaluation of the first day
    (a per-day check's problems are kept by day): the change is the step's, not the day's, and
    a later run's columns matching the run before are no change left."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = tmp_path / "dagster_home"
    home.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        instance = DagsterInstance.from_config(str(home))
        for day in ("2024-01-04", "2024-01-05"):
            materialize([reshaped], instance=instance, partition_key=day)
            problems = [(p.check, p.days, p.description) for p in runs.read_history(home).problems]
            if day == "2024-01-04":
                assert problems == [
                    (COLUMN_SCHEMA_CHANGE, ["2024-01-04"], "added columns: content_bytes")
                ]
        instance.dispose()
    assert problems == []


def read_where_this_user_may_not_write(home: Path) -> runs.RunHistory:
    """`runs.read_history(home)` with the history's folders made read-only (0555), as a
    manager's user reads the service user's; made writable again after."""
    folders = [home / "history", home / "history" / "runs"]
    for folder in folders:
        folder.chmod(0o555)
    try:
        return runs.read_history(home)
    finally:
        for folder in folders:
            folder.chmod(0o755)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in any folder: chmod is moot")
def test_run_history_in_folders_this_user_may_only_read_is_read(
    home_run_once, tmp_path, monkeypatch
):
    """Found with the command centre started as a manager's user on the service user's data
    root (umask 022, every file readable): the overview said "run history unreadable: attempt
    to write a readonly database". SQLite opens a database of Dagster's (WAL) read-only by
    making its `-shm` file beside it, which a folder this user may not write refuses."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = shutil.copytree(home_run_once, tmp_path / "dagster_home")
    history = read_where_this_user_may_not_write(home)
    assert history.readable, history.reason
    assert [run.status for run in history.runs] == ["SUCCESS"]
    assert [(p.asset, p.check) for p in history.problems] == [
        ("checked", "keys"),
        ("checked", "band"),
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in any folder: chmod is moot")
def test_run_history_written_while_this_user_reads_it_read_only_is_read_again(
    home_run_once, tmp_path, monkeypatch
):
    """Read as it is on disk (`immutable`: no `-shm` can be made beside it), the history was
    read while the service wrote it: Dagster opens and closes SQLite for each write, which
    copies the write into the file then, under a reader that takes the file to never change
    (a writer's loop beside such a reader: "database disk image is malformed" in 2% of its
    reads). Here the service records 40 runs while the overview reads the latest five."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = shutil.copytree(home_run_once, tmp_path / "dagster_home")
    history_dir, runs_db = home / "history", home / "history" / "runs.db"

    def service_records_runs() -> None:
        history_dir.chmod(0o755)
        writer = sqlite3.connect(runs_db)
        for number in range(40):
            writer.execute(
                "INSERT INTO runs (run_id, pipeline_name, status, run_body, partition, "
                "partition_set, create_timestamp, update_timestamp) "
                "SELECT ?, pipeline_name, 'QUEUED', run_body, partition, partition_set, "
                "create_timestamp, update_timestamp FROM runs ORDER BY id LIMIT 1",
                [f"queued-{number:02d}" + "0" * 24],
            )
        writer.commit()
        writer.close()  # its last connection: the write is copied into runs.db
        history_dir.chmod(0o555)

    connect, written = runs._connect, []

    def once_the_read_began() -> int:
        if not written:
            written.append(True)
            service_records_runs()
        return 0  # the read goes on

    def read_while_written(path: Path) -> sqlite3.Connection:
        connection = connect(path)
        if path == runs_db:
            connection.set_progress_handler(once_the_read_began, 1)
        return connection

    monkeypatch.setattr(runs, "_connect", read_while_written)
    history = read_where_this_user_may_not_write(home)
    assert history.readable, history.reason
    assert [run.run_id[:9] for run in history.runs] == [
        f"queued-{number:02d}" for number in (39, 38, 37, 36, 35)
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in any folder: chmod is moot")
def test_run_history_a_writer_is_opening_is_read_once_it_has(home_run_once, tmp_path, monkeypatch):
    """A writer opening the history makes its `-wal` some 40 ms before its `-shm` (seen
    beside a Dagster instance recording a run every 10 ms: 99 of 3,459 reads unreadable,
    each of its reads "unable to open database file"): a user who may not write its folder
    cannot make the `-shm` a read through the `-wal` needs, and the three reads, made at
    once, all came in that moment. A read that fails waits a moment, the writer's, and reads
    again."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = shutil.copytree(home_run_once, tmp_path / "dagster_home")
    history_dir, runs_db = home / "history", home / "history" / "runs.db"
    writer = sqlite3.connect(runs_db)
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("UPDATE runs SET update_timestamp = update_timestamp")
    writer.commit()
    wal = Path(f"{runs_db}-wal").read_bytes()
    writer.close()
    Path(f"{runs_db}-wal").write_bytes(wal)  # its -wal made, its -shm not yet
    waited = []

    def writer_opens_it(seconds: float) -> None:
        if not waited:
            history_dir.chmod(0o755)
            done = sqlite3.connect(runs_db)  # the -shm made, the write copied in and done
            done.execute("SELECT count(*) FROM runs").fetchall()
            done.close()
            history_dir.chmod(0o555)
        waited.append(seconds)

    monkeypatch.setattr(runs.time, "sleep", writer_opens_it)
    history = read_where_this_user_may_not_write(home)
    assert history.readable, history.reason
    assert [run.status for run in history.runs] == ["SUCCESS"]
    assert waited


def test_run_history_written_while_read_through_its_wal_is_read_once(
    home_run_once, tmp_path, monkeypatch
):
    """Read through its `-wal` (this user may write its folders: the service user's own
    dashboard), a read sees the history as one moment of it, whatever is written meanwhile:
    it is read once, where each read during a run's writes had been made three times."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = shutil.copytree(home_run_once, tmp_path / "dagster_home")
    runs_db, connect, reads = home / "history" / "runs.db", runs._connect, []

    def service_records_a_run() -> int:
        if len(reads) == 1:
            reads.append("written")
            writer = sqlite3.connect(runs_db)
            writer.execute("UPDATE runs SET update_timestamp = update_timestamp")
            writer.commit()
            writer.close()
        return 0

    def read_while_written(path: Path) -> sqlite3.Connection:
        connection = connect(path)
        if path == runs_db:
            reads.append(path)
            connection.set_progress_handler(service_records_a_run, 1)
        return connection

    monkeypatch.setattr(runs, "_connect", read_while_written)
    history = runs.read_history(home)
    assert history.readable, history.reason
    assert reads == [runs_db, "written"]


def test_a_run_whose_process_was_killed_is_shown_so(tmp_path):
    """Seen in an audit: a `cx-lakehouse run` killed with -9 stayed STARTED on the overview
    until the next run marked it failed; with only the CLI and the dashboard in use, that
    could be days."""
    from cx_assets.lakehouse import run_lock

    killed = subprocess.Popen(["sleep", "60"])
    tags = {
        run_lock.PID_TAG: str(killed.pid),
        run_lock.PID_STARTED_TAG: run_lock.process_started(killed.pid),
        run_lock.HOST_TAG: socket.gethostname(),
        run_lock.OWNER_OF_TAG: "",
    }
    killed.kill()
    killed.wait()

    def summary(status: str, **more: str) -> runs.RunSummary:
        return runs.RunSummary("r1", status, None, None, "2024-01-05", "cli", {**tags, **more})

    assert summary("STARTED").shown_status == "STARTED (its process is gone: a killed run)"
    assert summary("SUCCESS").shown_status == "SUCCESS"
    # the process alive; another host's; a re-execution still carrying its parent's tags
    alive = {
        run_lock.PID_TAG: str(os.getpid()),
        run_lock.PID_STARTED_TAG: run_lock.process_started(os.getpid()),
    }
    assert summary("STARTED", **alive).shown_status == "STARTED"
    assert summary("STARTED", **{run_lock.HOST_TAG: "elsewhere"}).shown_status == "STARTED"
    assert summary("STARTED", **{"dagster/parent_run_id": "r0"}).shown_status == "STARTED"


def test_unreadable_run_history_is_said_so(tmp_path):
    (tmp_path / "history").mkdir()
    (tmp_path / "history" / "runs.db").write_bytes(b"not a database")
    history = runs.read_history(tmp_path)
    assert not history.readable and "unreadable" in history.reason
    assert history.runs == [] and history.problems == []  # nothing made up


def test_run_history_kept_elsewhere_or_without_its_check_evaluations_is_unreadable(
    empty_home, tmp_path
):
    """Found in a code audit: an instance on Postgres read as "no runs recorded yet", and a
    history without its check evaluations as readable with no problems ("every check passed")."""
    (tmp_path / "dagster.yaml").write_text(
        "storage:\n  postgres:\n    postgres_url: postgresql://lake@db/dagster\n"
    )
    history = runs.read_history(tmp_path)
    assert not history.readable and history.reason == runs.ELSEWHERE
    (tmp_path / "dagster.yaml").unlink()  # the default storage, under the home
    (tmp_path / "history").mkdir()
    shutil.copy(empty_home / "history" / "runs.db", tmp_path / "history" / "runs.db")
    history = runs.read_history(tmp_path)
    assert not history.readable
    assert history.reason == (
        f"check evaluations not found at {tmp_path / 'history' / 'runs' / 'index.db'}"
    )


@pytest.mark.parametrize(
    "storage",
    [
        "storage: {sqlite: {base_dir: 'STORE'}}",
        "run_storage: {module: dagster._core.storage.runs, class: SqliteRunStorage, "
        "config: {base_dir: 'STORE'}}",
    ],
    ids=["storage", "run_storage"],
)
def test_run_history_a_dagster_yaml_keeps_in_another_folder_is_not_said_to_be_none(
    tmp_path, storage
):
    """A dagster.yaml of the user's keeping Dagster's SQLite storage in a folder of its own:
    its runs were read as "no runs recorded yet", the overview listing no failing check,
    as an instance on Postgres had been."""
    home, store = tmp_path / "home", tmp_path / "store"
    home.mkdir()
    (home / "dagster.yaml").write_text(storage.replace("STORE", str(store)) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with DagsterInstance.from_config(str(home)) as instance:
            materialize([checked], instance=instance, tags={"cx/trigger": "cli"})
    assert list(store.rglob("runs.db"))  # recorded, in that folder

    history = runs.read_history(home)
    assert not history.readable and history.reason == runs.ELSEWHERE


@pytest.mark.parametrize(
    "storage",
    [
        "storage: {sqlite: {base_dir: '<home>'}}",
        "storage: {sqlite: {base_dir: '<home>/'}}",
        "storage: {sqlite: {base_dir: '<link>'}}",
        "storage: {sqlite: {base_dir: {env: DAGSTER_HOME}}}",
        "run_storage: {module: dagster._core.storage.runs, class: SqliteRunStorage, "
        "config: {base_dir: '<home>/history'}}",
    ],
    ids=["storage", "trailing_slash", "link", "env", "run_storage"],
)
def test_run_history_a_dagster_yaml_keeps_in_the_home_itself_is_read_there(
    tmp_path, monkeypatch, storage
):
    """A dagster.yaml of the user's naming the home itself as its SQLite storage (Dagster's
    own example written out, `base_dir` the home): its runs are under the home's history/,
    where the command centre reads them. Before its first run the overview said its runs
    were kept in another storage, not that none was recorded yet."""
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "link").symlink_to(home)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    written = storage.replace("<home>", str(home)).replace("<link>", str(tmp_path / "link"))
    (home / "dagster.yaml").write_text(written + "\n")
    history = runs.read_history(home)
    assert not history.readable and history.reason == "no runs recorded yet"

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with DagsterInstance.from_config(str(home)) as instance:
            materialize([checked], instance=instance, tags={"cx/trigger": "cli"})
    history = runs.read_history(home)
    assert history.readable and [run.trigger for run in history.runs] == ["cli"]


@pytest.mark.parametrize(
    "storage",
    [
        "storage: {postgres: {postgres_url: 'postgresql://lake@db/dagster'}}",
        "storage: {sqlite: {base_dir: '<store>'}}",
    ],
    ids=["postgres", "sqlite"],
)
def test_run_history_a_dagster_yaml_moved_elsewhere_is_not_read_from_the_history_left(
    home_run_once, tmp_path, storage
):
    """A home whose runs were recorded under its history/ (cx-lakehouse's own dagster.yaml)
    and whose dagster.yaml was then replaced by one keeping them elsewhere (Postgres for
    production): the overview listed the runs and failing checks left under history/, as
    the latest, for good; Dagster records every later run elsewhere."""
    home = shutil.copytree(home_run_once, tmp_path / "home")
    assert runs.read_history(home).runs  # the run left under history/
    written = storage.replace("<store>", str(tmp_path / "store"))
    (home / "dagster.yaml").write_text(written + "\n")
    history = runs.read_history(home)
    assert not history.readable and history.reason == runs.ELSEWHERE
    assert history.runs == [] and history.problems == []


@pytest.mark.parametrize(
    ("tags", "trigger"),
    [
        ({"cx/trigger": "cli", "dagster/backfill": "b1"}, "cli"),
        ({"dagster/sensor_name": "calls_landing_sensor"}, "calls_landing_sensor"),
        ({"dagster/schedule_name": "daily_yesterday"}, "daily_yesterday"),
        ({"dagster/backfill": "b1"}, "backfill"),
        ({}, "ui"),
    ],
)
def test_a_run_is_said_started_by_what_tagged_it(empty_home, tmp_path, tags, trigger):
    """Found in a code audit: the daily schedule's runs were said started from the UI."""
    home = shutil.copytree(empty_home, tmp_path / "home")
    con = sqlite3.connect(home / "history" / "runs.db")
    con.execute(
        "INSERT INTO runs (run_id, pipeline_name, status, run_body, create_timestamp) "
        "VALUES ('r1', 'daily_partitions', 'SUCCESS', '{}', '2024-01-05 00:00:00')"
    )
    con.executemany(
        "INSERT INTO run_tags (run_id, key, value) VALUES ('r1', ?, ?)", list(tags.items())
    )
    con.commit()
    con.close()
    (run,) = runs.read_history(home).runs
    assert run.trigger == trigger


def test_runs_and_check_problems_are_read_as_recorded(tmp_path):
    """Runs and check evaluations written by hand, what the overview lists worked out here:

    - runs, newest first: r3 (no tags: the whole history, from the UI), r2 (a range, its
      start time unknown: its creation, 01:00 UTC), r1 (a day, started at its start time,
      2024-01-01 00:00 UTC, not its creation five minutes after); two asked, r3 and r2;
    - `grain`: failed on days 1 and 2 in r1 (day 1 passed in r0, before), passed on day 3;
      r2's later SKIPPED and PLANNED rows evaluated nothing: listed, days 1 and 2, ERROR;
    - `volume`: failed in r0, passed in r1: not listed;
    - `column_schema_change`: its step's verdict, failed on days 1 and 2 of r1 (no later
      run's evaluation; r0's was earlier): listed, both days, WARN;
    - `freshness`, of the whole history: could not run in r1: listed, ERROR, without days.
    ERROR before WARN, then by asset and check."""
    from datetime import UTC, datetime

    home = tmp_path / "home"
    history_by_hand(home)

    history = runs.read_history(home, runs=3)
    assert history.readable, history.reason
    assert [(run.run_id, run.status, run.days, run.trigger) for run in history.runs] == [
        ("r3", "SUCCESS", "whole history", "ui"),
        ("r2", "FAILURE", "2024-01-02 to 2024-01-04", "ui"),
        ("r1", "SUCCESS", "2024-01-01", "ui"),
    ]
    assert [run.started_at for run in history.runs[1:]] == [
        datetime(2024, 1, 5, 1, tzinfo=UTC),
        datetime(2024, 1, 1, tzinfo=UTC),
    ]
    # r1 ended a minute after it started; r3 and r2 have no end recorded.
    assert [run.ended_at for run in history.runs] == [
        None,
        None,
        datetime(2024, 1, 1, 0, 1, tzinfo=UTC),
    ]
    assert [run.run_id for run in runs.read_history(home, runs=2).runs] == ["r3", "r2"]
    assert [(p.severity, p.check, p.days, p.description, p.run_id) for p in history.problems] == [
        ("ERROR", "freshness", [], "the check could not run (see the run in the Dagster UI)", "r1"),
        ("ERROR", "grain", ["2024-01-01", "2024-01-02"], "2 rows repeated", "r1"),
        ("WARN", COLUMN_SCHEMA_CHANGE, ["2024-01-01", "2024-01-02"], "added columns: x", "r1"),
    ]


def test_a_check_is_listed_under_its_whole_asset_key_as_its_latest_evaluation_says(
    empty_home, tmp_path
):
    """Found by mutation testing: each of these passed every run history test. Evaluations
    written by hand, of two assets of one table name in two layers:

    - `silver/noise`'s `grain` failed on day 1 in r1 ("2 rows repeated") and on day 2 in r2
      ("5 rows repeated"): listed with both days, as its latest evaluation describes it (r2);
    - `gold/noise`'s `grain` failed on day 1 in r2, its evaluation naming no severity: an
      ERROR, listed apart from silver's (the key's last part alone made them one);
    - `gold/noise`'s `freshness` could not run in r2, though an evaluation is stored: ERROR,
      "could not run", not the evaluation's WARN;
    - `silver/noise`'s `column_schema_change` (its step's verdict) warned on day 1 in r1;
      `gold/noise`'s passed later in r2, another asset's step, and r3, on its way, has only
      planned silver's: still listed, its later evaluation not made yet."""
    home = shutil.copytree(empty_home, tmp_path / "home")
    silver, gold = '["silver", "noise"]', '["gold", "noise"]'
    con = sqlite3.connect(home / "history" / "runs" / "index.db")
    con.executemany(
        "INSERT INTO asset_check_executions (id, asset_key, check_name, partition, run_id, "
        "execution_status, evaluation_event) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (1, silver, "grain", "2024-01-01", "r1", "FAILED",
             evaluation("ERROR", "2 rows repeated")),
            (2, silver, "grain", "2024-01-02", "r2", "FAILED",
             evaluation("ERROR", "5 rows repeated")),
            (3, gold, "grain", "2024-01-01", "r2", "FAILED", evaluation(None, "1 row repeated")),
            (4, gold, "freshness", None, "r2", "EXECUTION_FAILED", evaluation("WARN", "stale")),
            (5, silver, COLUMN_SCHEMA_CHANGE, "2024-01-01", "r1", "FAILED",
             evaluation("WARN", "added columns: x")),
            (6, gold, COLUMN_SCHEMA_CHANGE, "2024-01-02", "r2", "SUCCEEDED", None),
            (7, silver, COLUMN_SCHEMA_CHANGE, "2024-01-02", "r3", "PLANNED", None),
        ],
    )  # fmt: skip
    con.commit()
    con.close()

    history = runs.read_history(home)
    assert history.readable, history.reason
    could_not_run = "the check could not run (see the run in the Dagster UI)"
    listed = [(p.severity, p.asset, p.check, p.days, p.description, p.run_id)
              for p in history.problems]  # fmt: skip
    assert listed == [
        ("ERROR", "gold/noise", "freshness", [], could_not_run, "r2"),
        ("ERROR", "gold/noise", "grain", ["2024-01-01"], "1 row repeated", "r2"),
        ("ERROR", "silver/noise", "grain", ["2024-01-01", "2024-01-02"], "5 rows repeated", "r2"),
        ("WARN", "silver/noise", COLUMN_SCHEMA_CHANGE, ["2024-01-01"], "added columns: x", "r1"),
    ]


@pytest.mark.parametrize(
    "storage",
    [
        "run_storage: {module: dagster._core.storage.runs.sqlite, class: SqliteRunStorage, "
        "config: {base_dir: '<home>/history'}}",
        "storage: {sqlite: {base_dir: {env: DAGSTER_HOME}}}",
    ],
    ids=["module_under_runs", "env_of_the_runs_not_of_this_process"],
)
def test_a_dagster_yaml_keeping_runs_in_the_homes_history_is_read_there(
    tmp_path, monkeypatch, storage
):
    """Found by mutation testing: each passed every run history test. A `run_storage` named
    by a module under `dagster._core.storage.runs` (where Dagster's own SqliteRunStorage is
    defined) is SQLite's; `{env: DAGSTER_HOME}` is the home itself, as `cx-lakehouse` sets
    it for its runs, whatever this process's DAGSTER_HOME (here another folder). Read there:
    no runs yet, not runs kept in another storage."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "elsewhere"))
    (home / "dagster.yaml").write_text(storage.replace("<home>", str(home)) + "\n")
    history = runs.read_history(home)
    assert not history.readable and history.reason == "no runs recorded yet"
