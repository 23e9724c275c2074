"""`cx-lakehouse` end to end, as a user runs it: generate, run, read gold with DuckDB."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pyarrow.parquet as pq
import pytest

BIN = Path(sys.executable).parent
START, END = "2024-02-01", "2024-02-02"


def cli(
    *args: str, data_dir: Path, cwd: str | None = None, **env: str
) -> subprocess.CompletedProcess:
    environment = {**os.environ, "CX_DATA_DIR": str(data_dir)}
    environment.pop("DAGSTER_HOME", None)
    environment.update(env)
    return subprocess.run(
        [str(BIN / "cx-lakehouse"), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
    )


def gold_tables() -> list[str]:
    from cx_assets.definitions import defs

    return sorted(a.key.path[-1] for a in defs.assets if a.key.path[0] == "gold")


@pytest.fixture(scope="module")
def generated_and_run(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("cli") / "data"
    generated = cli(
        "generate", "--start", START, "--days", "2", "--scale", "0.01", "--seed", "7", "--quiet",
        data_dir=data_dir,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr
    ran = cli("run", "--date", START, "--to", END, data_dir=data_dir)
    return data_dir, generated, ran


def test_generate_writes_every_source(generated_and_run):
    from cx_assets.definitions import domain_names

    data_dir, generated, _ = generated_and_run
    for source in domain_names():
        assert any((data_dir / "landing" / source).rglob("*.*")), source
        assert f"{source}:" in generated.stdout


def test_generate_is_deterministic_for_a_seed(tmp_path, generated_and_run):
    data_dir, _, _ = generated_and_run
    again = tmp_path / "again"
    result = cli(
        "generate", "--start", START, "--days", "2", "--scale", "0.01", "--seed", "7",
        "--quiet", "--sources", "crm", data_dir=again,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    written = sorted(path.relative_to(again) for path in (again / "landing").rglob("*.*"))
    assert written and {path.parts[1] for path in written} == {"crm"}
    originals = sorted(
        path.relative_to(data_dir) for path in (data_dir / "landing" / "crm").rglob("*.*")
    )
    assert written == originals
    for path in written:
        assert (data_dir / path).read_bytes() == (again / path).read_bytes(), path


def _published(data_dir: Path, kind: str, table: str):
    """A gold table (or a quarantine table) as an analyst reads its Parquet, in a fixed row
    order; the time a row was quarantined left out, as it is the run's own."""
    files = [str(path) for path in sorted((data_dir / kind / table).rglob("*.parquet"))]
    if not files:
        return None
    frame = duckdb.sql(
        f"SELECT * EXCLUDE (quarantined_at) FROM read_parquet({files}, hive_partitioning=true)"
        if kind == "quarantine"
        else f"SELECT * FROM read_parquet({files}, hive_partitioning=true)"
    ).df()
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def _assert_same_published(expected: Path, actual: Path) -> None:
    import pandas as pd

    compared = []
    for kind in ("gold", "quarantine"):
        tables = sorted(path.name for path in (expected / kind).iterdir())
        assert tables == sorted(path.name for path in (actual / kind).iterdir()), kind
        for table in tables:
            want, got = _published(expected, kind, table), _published(actual, kind, table)
            assert (want is None) == (got is None), (kind, table)
            if want is not None:
                pd.testing.assert_frame_equal(got, want, obj=f"{kind}/{table}")
                compared.append(table)
    assert set(gold_tables()) <= set(compared)


def test_a_range_run_again_and_its_days_run_one_by_one_publish_the_same(
    generated_and_run, tmp_path
):
    """Re-materializing replaces exactly (contract section 1), whether a range runs again
    or its days run one at a time: every gold table and every quarantine, row for row."""
    data_dir, _, ran = generated_and_run
    assert ran.returncode == 0, ran.stdout + ran.stderr
    again = tmp_path / "again"
    shutil.copytree(data_dir, again, symlinks=True)
    one_by_one = tmp_path / "one_by_one"
    shutil.copytree(data_dir / "landing", one_by_one / "landing")

    rerun = cli("run", "--date", START, "--to", END, data_dir=again)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    for day in (START, END):
        daily = cli("run", "--date", day, data_dir=one_by_one)
        assert daily.returncode == 0, daily.stdout + daily.stderr

    _assert_same_published(data_dir, again)
    _assert_same_published(data_dir, one_by_one)


def test_run_materializes_everything_and_summarises(generated_and_run):
    _, _, ran = generated_and_run
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "checks:" in ran.stdout and " 0 failed" in ran.stdout
    for table in gold_tables():
        assert table in ran.stdout
    # a whole-history table counts whole, even when its days (a forecast's) lie ahead
    (forecast,) = [
        line for line in ran.stdout.splitlines() if line.startswith("  support_volume_forecast ")
    ]
    assert int(forecast.split()[-1].replace(",", "")) > 0
    assert "not written by this run" not in ran.stdout and "never written" not in ran.stdout
    assert ran.stdout.rstrip().endswith("OK")


def calls_day(data_dir: Path) -> Path:
    """A data root with one small day of calls landed (the quickest source to run)."""
    generated = cli(
        "generate", "--start", START, "--days", "1", "--scale", "0.01", "--seed", "7",
        "--quiet", "--sources", "calls", data_dir=data_dir,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr
    return data_dir


def test_run_says_which_landed_files_it_did_not_read(tmp_path):
    """Seen in an audit: a `.txt` export or a batch in a subfolder was skipped with a
    warning only `--verbose` showed, and the run said OK: the files were lost without a word."""
    data_dir = calls_day(tmp_path / "data")
    folder = data_dir / "landing" / "calls" / "transcripts" / START
    (folder / "export.txt").write_text("{}\n")
    (folder / "batch").mkdir()
    ran = cli("run", "--date", START, "--select", "group:calls", data_dir=data_dir)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = ran.stdout.splitlines()
    at = lines.index("not read: 2 landed files:")
    assert lines[at + 1 : at + 3] == [
        f"  landing/calls/transcripts/{START}/batch: a folder: only the files directly in a "
        "date folder are read",
        f"  landing/calls/transcripts/{START}/export.txt: not one of .jsonl, .json, .csv",
    ]
    (folder / "export.txt").unlink()
    (folder / "batch").rmdir()
    ran = cli("run", "--date", START, "--select", "group:calls", data_dir=data_dir)
    assert ran.returncode == 0 and "not read" not in ran.stdout


def test_run_says_what_lies_where_no_step_reads_it_once_for_a_range(tmp_path):
    """Seen in an audit: a misspelled table folder, a date folder not named YYYY-MM-DD and a
    file outside a date folder were skipped without a word; and a range run listed a date
    folder's skipped file once per day of the range."""
    data_dir = calls_day(tmp_path / "data")
    calls = data_dir / "landing" / "calls"
    (calls / "transcripts" / START / "export.txt").write_text("{}\n")
    for misplaced in ("transcript/2024-01-05/a.jsonl", "transcripts/2024-1-5/b.jsonl",
                      "transcripts/c.jsonl", "d.jsonl", "transcripts/_e.jsonl.tmp"):  # fmt: skip
        (calls / misplaced).parent.mkdir(parents=True, exist_ok=True)
        (calls / misplaced).write_text("{}\n")
    next_day = (date.fromisoformat(START) + timedelta(days=1)).isoformat()

    ran = cli(
        "run", "--date", START, "--to", next_day, "--select", "group:calls", data_dir=data_dir
    )  # fmt: skip

    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = ran.stdout.splitlines()
    at = lines.index("not read: 5 landed files:")
    outside = "a file outside a date folder: files land in landing/calls/<table>/<YYYY-MM-DD>/"
    assert lines[at + 1 : at + 6] == [
        f"  landing/calls/d.jsonl: {outside}",
        "  landing/calls/transcript: not a table of calls (its tables: transcripts)",
        f"  landing/calls/transcripts/{START}/export.txt: not one of .jsonl, .json, .csv",
        "  landing/calls/transcripts/2024-1-5: not a YYYY-MM-DD folder: a day's files land in one",
        f"  landing/calls/transcripts/c.jsonl: {outside}",
    ]


def test_run_says_what_it_quarantined_and_where(tmp_path):
    data_dir = calls_day(tmp_path / "data")
    folder = data_dir / "landing" / "calls" / "transcripts" / START
    (folder / "late.jsonl").write_text('{"call_id": "X1"}\nnot json\n')
    ran = cli("run", "--date", START, "--select", "group:calls", data_dir=data_dir)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = ran.stdout.splitlines()
    at = lines.index(f"quarantined: 2 records of these days, in {data_dir / 'quarantine'}/ "
                     "(first of each):")  # fmt: skip
    assert lines[at + 1].split() == [
        "calls_transcripts", "2",
        f"landing/calls/transcripts/{START}/late.jsonl:1:",
        "missing", "required", "field", '"agent_name"',
    ]  # fmt: skip
    # A clean day says nothing about quarantine.
    (folder / "late.jsonl").unlink()
    again = cli("run", "--date", START, "--select", "group:calls", data_dir=data_dir)
    assert again.returncode == 0 and "quarantined" not in again.stdout


def test_the_quarantine_summary_of_a_range_finds_a_later_days_rejects(tmp_path):
    """The first day of the range is clean (its quarantine file is empty): the summary still
    names the later day's first bad record, rather than failing on the empty day."""
    data_dir = tmp_path / "data"
    generated = cli(
        "generate", "--start", START, "--days", "2", "--scale", "0.01", "--seed", "7",
        "--quiet", "--sources", "calls", data_dir=data_dir,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr
    second = (date.fromisoformat(START) + timedelta(days=1)).isoformat()
    folder = data_dir / "landing" / "calls" / "transcripts" / second
    (folder / "late.jsonl").write_text("not json\n")
    ran = cli("run", "--date", START, "--to", second, "--select", "group:calls", data_dir=data_dir)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "Traceback" not in ran.stdout + ran.stderr
    (line,) = [line for line in ran.stdout.splitlines() if line.startswith("  calls_transcripts ")]
    assert f"landing/calls/transcripts/{second}/late.jsonl:1: invalid JSON" in line


def test_a_moved_data_root_runs_a_step_reading_bronze_it_did_not_write(tmp_path):
    """`mv data /bigger/disk/data`, then a run of silver alone: its bronze view named the
    old place, and the step failed on files no longer there."""
    first = calls_day(tmp_path / "data")
    assert cli("run", "--date", START, "--select", "group:calls", data_dir=first).returncode == 0
    moved = tmp_path / "elsewhere" / "data"
    moved.parent.mkdir()
    shutil.move(first, moved)

    ran = cli("run", "--date", START, "--select", "key:silver/calls_transcripts", data_dir=moved)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    with duckdb.connect(str(moved / "warehouse.duckdb"), read_only=True) as warehouse:
        (definition,) = warehouse.execute(
            "SELECT sql FROM duckdb_views() WHERE view_name = 'calls_transcripts'"
        ).fetchone()
        assert f"'{moved}/bronze/calls_transcripts/" in definition
        silver = warehouse.execute("SELECT count(*) FROM silver.calls_transcripts").fetchone()
        assert silver[0] > 0


def test_a_table_selected_alone_for_a_day_its_input_was_never_built_for_is_refused(tmp_path):
    """It wrote that day's gold from no rows (zero calls, every check passing) where the
    truth was that the day had never been loaded."""
    data_dir = calls_day(tmp_path / "data")
    assert cli("run", "--date", START, "--select", "group:calls", data_dir=data_dir).returncode == 0
    next_day, later = ((date.fromisoformat(START) + timedelta(days=n)).isoformat() for n in (1, 2))
    for first, last, said in (
        (later, later, later),
        (START, later, f"{next_day} (and 1 more day)"),  # the first day not built, and more
    ):
        refused = cli(
            "run", "--date", first, "--to", last, "--select", "key:gold/calls_kpis_daily",
            data_dir=data_dir,
        )  # fmt: skip
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert refused.stderr == (
            f"cx-lakehouse: --select reads gold/calls_performance of {said}, never built for "
            "it: include it (e.g. --select '*gold/calls_kpis_daily') or run that day first\n"
        )
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as warehouse:
        assert warehouse.execute("SELECT count(*) FROM gold.calls_kpis_daily").fetchone() == (1,)
    # The day built: the table alone is rebuilt.
    alone = cli("run", "--date", START, "--select", "key:gold/calls_kpis_daily", data_dir=data_dir)
    assert alone.returncode == 0, alone.stdout + alone.stderr
    # The hint works as given ('+', the table's parents only, was refused again a level up).
    hinted = cli("run", "--date", later, "--select", "*gold/calls_kpis_daily", data_dir=data_dir)
    assert hinted.returncode == 0, hinted.stdout + hinted.stderr


def test_run_piped_into_a_reader_that_leaves_early_still_finishes(tmp_path):
    # `cx-lakehouse run ... | head -1`: the run goes on to its end and its exit code.
    data_dir = calls_day(tmp_path / "data")
    environment = {**os.environ, "CX_DATA_DIR": str(data_dir)}
    environment.pop("DAGSTER_HOME", None)
    run = subprocess.Popen(
        [str(BIN / "cx-lakehouse"), "run", "--date", START, "--select", "group:calls"],
        env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert run.stdout.readline().startswith("materializing")
    run.stdout.close()  # the reader leaves
    stderr = run.stderr.read()
    assert run.wait(timeout=600) == 0, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as warehouse:
        assert warehouse.execute("SELECT count(*) FROM gold.calls_kpis_daily").fetchone() == (1,)


def test_gold_is_readable_with_duckdb_from_parquet_and_the_warehouse(generated_and_run):
    data_dir, _, _ = generated_and_run
    gold = data_dir / "gold"
    con = duckdb.connect()
    try:
        per_day = con.execute(
            "SELECT date, total_calls FROM read_parquet(?, hive_partitioning = true) ORDER BY date",
            [str(gold / "calls_kpis_daily" / "**" / "*.parquet")],
        ).fetchall()
        heat = con.execute(
            "SELECT count(*) FROM read_parquet(?)", [str(gold / "crm_temporal_heat" / "*.parquet")]
        ).fetchall()
    finally:
        con.close()
    assert [str(day) for day, _ in per_day] == [START, END]
    assert all(calls > 0 for _, calls in per_day)
    assert heat == [(168,)]

    warehouse = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        rows = warehouse.execute("SELECT count(*) FROM gold.leakage_daily_summary").fetchall()
    finally:
        warehouse.close()
    assert rows[0][0] > 0


def test_dagsters_own_cli_materializes_one_partition(generated_and_run, tmp_path):
    data_dir, _, _ = generated_and_run
    environment = {**os.environ, "CX_DATA_DIR": str(data_dir), "DAGSTER_HOME": str(tmp_path)}
    result = subprocess.run(
        [
            str(BIN / "dagster"), "asset", "materialize", "-m", "cx_assets.definitions",
            "--select", "gold/crm_noise_summary", "--partition", START,
        ],
        env=environment, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    from dagster import AssetKey, DagsterInstance

    with DagsterInstance.from_config(str(tmp_path)) as instance:
        (run,) = instance.get_runs()
        assert run.tags["dagster/partition"] == START
        materialized = instance.get_materialized_partitions(AssetKey(["gold", "crm_noise_summary"]))
    assert materialized == {START}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--date", "2024-02-30"], "not a date in YYYY-MM-DD form"),
        (["run", "--date", "2023-12-31"], "is not a partition"),
        (["run", "--date", "2099-01-01"], "2099-01-01 is not a partition yet"),
        (["run", "--date", START, "--to", "2099-01-01"], "2099-01-01 is not a partition yet"),
        (["run", "--date", "20240201"], "not a date in YYYY-MM-DD form"),
        (["run", "--date", "2024-W05-4"], "not a date in YYYY-MM-DD form"),
        (["run", "--date", START, "--to", "2024-01-31"], "is before --date"),
        (["run", "--date", START, "--select", "key:gold/nothing_here"], "matches no asset"),
        (["run", "--date", START, "--select", "bad:::selection"], "--select"),
        (["run", "--date", START, "--select", "group:nope"], "matches no asset"),
        (["generate", "--start", START, "--days", "1", "--sources", "crm,nope"], "unknown source"),
    ],
)
def test_user_mistakes_are_one_line_and_exit_2(generated_and_run, args, message):
    data_dir, _, _ = generated_and_run
    result = cli(*args, data_dir=data_dir)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_data_root_that_does_not_exist_yet_is_created_and_said_so(tmp_path):
    """Nothing has landed there: every table is written empty (zero input), exit 0, with a
    note naming the root, as a mistyped CX_DATA_DIR would look the same."""
    root = tmp_path / "new" / "data"
    result = cli("run", "--date", START, "--select", "group:calls", data_dir=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"data root {root} did not exist and was created" in result.stderr
    assert "cx-lakehouse generate" in result.stderr
    for table in ("calls_performance", "calls_agent_daily", "calls_kpis_daily"):
        assert (root / "gold" / table).is_dir(), table
    kpis = duckdb.sql(
        f"SELECT total_calls FROM read_parquet('{root}/gold/calls_kpis_daily/**/*.parquet')"
    ).fetchall()
    assert kpis == [(0,)]
    again = cli("run", "--date", START, "--select", "group:calls", data_dir=root)
    assert again.returncode == 0 and "did not exist" not in again.stderr


def test_a_data_root_that_cannot_be_created_is_explained(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = cli("run", "--date", START, data_dir=blocker / "data")
    assert result.returncode == 2
    assert "cannot be created" in result.stderr and "Traceback" not in result.stderr


def test_a_damaged_warehouse_ends_the_run_in_one_line_saying_how_to_rebuild(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    (root / "warehouse.duckdb").write_text("a spreadsheet saved over the warehouse\n")
    result = cli("run", "--date", START, "--select", "group:calls", data_dir=root)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"cx-lakehouse: {root / 'warehouse.duckdb'} is damaged (")
    assert "move it aside" in line and "Traceback" not in result.stderr


def disk_with(free_bytes: int):
    """A stand-in for `shutil.disk_usage` reporting `free_bytes` free on any disk."""
    total = 10 * 2**30
    return lambda path: SimpleNamespace(total=total, used=total - free_bytes, free=free_bytes)


def test_a_full_disk_ends_the_command_in_one_line(tmp_path, monkeypatch, capsys):
    """SQLite says "disk I/O error" when the disk fills under it (seen on a full tmpfs, as
    DuckDB's and Parquet's writes say "No space left on device"): one line naming the disk,
    not Dagster's traceback; the next run recovers (marks the run failed, writes again)."""
    import sqlite3

    from cx_assets import cli as cli_module

    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path))

    def fills_the_disk(args):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(cli_module, "cmd_run", fills_the_disk)
    monkeypatch.setattr(shutil, "disk_usage", disk_with(2**20))

    assert cli_module.main(["run", "--date", START]) == 1

    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"cx-lakehouse: the disk holding {tmp_path} is full (1.0 MB free)")
    assert "disk I/O error" in line and "run it again" in line


def test_no_space_left_anywhere_in_an_errors_chain_is_a_full_disk(tmp_path, monkeypatch, capsys):
    import errno

    from cx_assets import cli as cli_module

    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path))

    def generate_fails(args):
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as error:
            raise RuntimeError("writing landing/crm/interactions failed") from error

    monkeypatch.setattr(cli_module, "cmd_generate", generate_fails)
    # The space came back by the time the error is looked at: the error still says why.
    monkeypatch.setattr(shutil, "disk_usage", disk_with(5 * 2**30))

    assert cli_module.main(["generate", "--start", START, "--days", "1"]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "is full (5120.0 MB free)" in line
    assert "writing landing/crm/interactions failed" in line


def test_a_data_root_on_a_read_only_disk_is_one_line(tmp_path, monkeypatch, capsys):
    """Seen with a tmpfs remounted read-only: Dagster's instance failed to create its home,
    in a traceback."""
    import errno

    from cx_assets import cli as cli_module

    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path))

    def read_only(args):
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path / "dagster_home"))

    monkeypatch.setattr(cli_module, "cmd_run", read_only)
    # nearly full too: the refusal to write is the reason given, not a guess at the space
    monkeypatch.setattr(shutil, "disk_usage", disk_with(2**20))
    assert cli_module.main(["run", "--date", START]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == (
        f"cx-lakehouse: cannot write {tmp_path / 'dagster_home'}: Read-only file system. The "
        "data root (CX_DATA_DIR) must be a folder this user can write to, on a disk mounted "
        "for writing."
    )


def test_a_defect_with_room_on_the_disk_keeps_its_traceback(tmp_path, monkeypatch):
    from cx_assets import cli as cli_module

    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path))

    def breaks(args):
        raise ValueError("a defect")

    monkeypatch.setattr(cli_module, "cmd_run", breaks)
    monkeypatch.setattr(shutil, "disk_usage", disk_with(5 * 2**30))
    with pytest.raises(ValueError, match="a defect"):
        cli_module.main(["run", "--date", START])


def test_a_failed_run_says_which_gold_counts_are_an_earlier_runs(tmp_path, monkeypatch, capsys):
    """Seen after a Ctrl-C: the summary counted every gold table as if the run had written
    it. A table the failed run did not write is marked, and one never written says so."""
    from cx_assets import cli as cli_module
    from cx_assets.calls import table_rules

    data_dir = calls_day(tmp_path / "data")
    monkeypatch.setenv("CX_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    arguments = ["run", "--date", START, "--select", "group:calls"]

    def breaks(rows):
        raise RuntimeError("agent rollup broke")

    monkeypatch.setattr(table_rules, "agent_daily_sql", breaks)
    assert cli_module.main(arguments) == 1
    first = capsys.readouterr().out
    lines = first.splitlines()
    failed_at = next(i for i, line in enumerate(lines) if line.endswith(" failed:"))
    # One line for the step, its error once: not the run's failure repeating it.
    assert lines[failed_at + 1 : lines.index("gold rows:")] == [
        "  gold__calls_agent_daily: RuntimeError: agent rollup broke"
    ]
    assert _summary_line(first, "calls_agent_daily") == ["calls_agent_daily", "(never", "written)"]
    assert _summary_line(first, "calls_performance")[-1].replace(",", "").isdigit()

    monkeypatch.undo()
    monkeypatch.setenv("CX_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert cli_module.main(arguments) == 0
    capsys.readouterr()

    monkeypatch.setattr(table_rules, "agent_daily_sql", breaks)
    assert cli_module.main(arguments) == 1
    again = capsys.readouterr().out
    agents = _summary_line(again, "calls_agent_daily")
    assert (
        agents[1].isdigit()
        and " ".join(agents[2:]) == "(not written by this run: an earlier run's)"
    )
    assert "not written" not in " ".join(_summary_line(again, "calls_performance"))
    assert again.rstrip().endswith("FAILED")


def test_a_failed_run_does_not_call_rows_its_failed_step_left_an_earlier_runs(
    tmp_path, monkeypatch, capsys
):
    """Seen in an audit: gold Parquet that cannot be written (a file where its folder goes)
    fails the step after the warehouse took its rows, and the summary called those rows an
    earlier run's on a data root where no run had ever written the table."""
    from cx_assets import cli as cli_module
    from cx_assets.lakehouse.gold_io_manager import GoldIOManager

    data_dir = calls_day(tmp_path / "data")
    monkeypatch.setenv("CX_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    publish = GoldIOManager.publish

    def fails_for_the_kpis(self, table, *args, **kwargs):
        if table == "calls_kpis_daily":
            raise NotADirectoryError("gold/calls_kpis_daily is a file")
        return publish(self, table, *args, **kwargs)

    unpublished = (
        "1 (not materialized: its step wrote the warehouse, then failed before the Parquet; "
        "the next run publishes it)"
    )
    monkeypatch.setattr(GoldIOManager, "publish", fails_for_the_kpis)
    assert cli_module.main(["run", "--date", START, "--select", "group:calls"]) == 1
    out = capsys.readouterr().out
    assert " ".join(_summary_line(out, "calls_kpis_daily")[1:]) == unpublished
    assert "not written" not in " ".join(_summary_line(out, "calls_performance"))

    # Seen in the docs audit: with the table materialized by an earlier run, the rows this
    # run's failed step wrote were called that earlier run's.
    monkeypatch.setattr(GoldIOManager, "publish", publish)
    assert cli_module.main(["run", "--date", START, "--select", "group:calls"]) == 0
    capsys.readouterr()
    monkeypatch.setattr(GoldIOManager, "publish", fails_for_the_kpis)
    assert cli_module.main(["run", "--date", START, "--select", "group:calls"]) == 1
    out = capsys.readouterr().out
    assert " ".join(_summary_line(out, "calls_kpis_daily")[1:]) == unpublished


def test_a_failed_run_says_its_quarantine_counts_are_an_earlier_runs(tmp_path, monkeypatch, capsys):
    from cx_assets import cli as cli_module
    from cx_assets.calls import table_rules

    data_dir = calls_day(tmp_path / "data")
    folder = data_dir / "landing" / "calls" / "transcripts" / START
    (folder / "late.jsonl").write_text("not json\n")
    monkeypatch.setenv("CX_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    arguments = ["run", "--date", START, "--select", "group:calls"]
    assert cli_module.main(arguments) == 0
    (written,) = [line for line in capsys.readouterr().out.splitlines() if "late.jsonl" in line]
    assert written.endswith("invalid JSON: Expecting value (column 1)")  # this run's

    def breaks(table):
        raise RuntimeError("typing broke")

    monkeypatch.setattr(table_rules, "silver_transcripts_sql", breaks)
    assert cli_module.main(arguments) == 1
    (earlier,) = [line for line in capsys.readouterr().out.splitlines() if "late.jsonl" in line]
    assert earlier == f"{written}  (an earlier run's)"


def _summary_line(stdout: str, table: str) -> list[str]:
    (line,) = [line for line in stdout.splitlines() if line.startswith(f"  {table} ")]
    return line.split()


def test_ctrl_c_ends_the_run_in_one_line_and_the_next_run_finishes(tmp_path):
    """Ctrl-C during start-up was a page of traceback; during the steps, a line of Dagster's
    error class and message. Now one line each, no traceback, and the next run finishes."""
    data_dir = calls_day(tmp_path / "data")
    environment = {**os.environ, "CX_DATA_DIR": str(data_dir)}
    environment.pop("DAGSTER_HOME", None)
    command = [str(BIN / "cx-lakehouse"), "run", "--date", START, "--select", "group:calls"]
    # As from a terminal, whatever started pytest: a shell's background job (`make test &`)
    # passes SIGINT on ignored, and the command then never sees the Ctrl-C.
    early = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True,
                             preexec_fn=_answering_ctrl_c)  # fmt: skip
    time.sleep(0.3)  # importing Dagster: long before the run
    early.send_signal(signal.SIGINT)
    out, err = early.communicate(timeout=600)
    assert early.returncode == 130, out + err
    assert err == "cx-lakehouse: interrupted; run the command again to finish it\n"

    # During the steps Dagster turns it into a failed run, summarised like any other, and
    # the command exits as for Ctrl-C anywhere else.
    # (`--verbose` to see a step start: its step logs, with their traces, go to stderr.)
    during = subprocess.Popen([*command, "--verbose"], env=environment, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              preexec_fn=_answering_ctrl_c)  # fmt: skip
    while "STEP_START" not in (line := during.stderr.readline()):
        assert line, during.communicate()
    during.send_signal(signal.SIGINT)
    out, _ = during.communicate(timeout=600)
    assert during.returncode == 130, out
    lines = out.splitlines()
    failed_at = next(i for i, line in enumerate(lines) if line.endswith(" failed:"))
    assert lines[failed_at + 1 : lines.index("gold rows:")] == [
        "  run: interrupted (Ctrl-C or a stop signal) before it finished"
    ]
    assert lines[-1] == "FAILED"

    after = cli("run", "--date", START, "--select", "group:calls", data_dir=data_dir)
    assert after.returncode == 0, after.stdout + after.stderr


def test_generate_refuses_what_cannot_fit_on_the_disk_before_writing(tmp_path, monkeypatch, capsys):
    """A mistyped `--scale 1000` filled the disk and stopped half-way."""
    from cx_assets import cli as cli_module

    data_dir = tmp_path / "data"  # not there yet: the disk of its nearest folder is asked
    monkeypatch.setenv("CX_DATA_DIR", str(data_dir))
    monkeypatch.setattr(shutil, "disk_usage", disk_with(2 * 2**30))
    arguments = ["generate", "--start", START, "--days", "3", "--sources", "crm,calls"]

    assert cli_module.main([*arguments, "--scale", "3"]) == 2
    assert capsys.readouterr().err == (
        f"cx-lakehouse: 3 days at --scale 3 are about 2.5 GB of landing files, and the disk "
        f"holding {data_dir / 'landing'} has 2.0 GB free: lower --scale or --days\n"
    )
    assert not data_dir.exists()
    # 3 days × 0.01 × (280 + 5.5) MB, about 9 MB, fit: the request goes ahead.
    assert cli_module.main([*arguments, "--scale", "0.01", "--quiet"]) == 0
    assert (data_dir / "landing" / "crm").is_dir()


def test_a_second_generate_into_the_same_data_root_waits_its_turn(tmp_path, monkeypatch, capsys):
    """Two at once wrote the same in-flight file: bytes interleaved, then a failed rename."""
    import fcntl

    from cx_assets import cli as cli_module
    from cx_assets.cli.generate import GENERATE_LOCK

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    monkeypatch.setenv("CX_DATA_DIR", str(data_dir))
    arguments = ["generate", "--start", START, "--days", "1", "--scale", "0.01", "--quiet"]
    with open(data_dir / GENERATE_LOCK, "a") as first:  # a generate still writing
        fcntl.flock(first, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert cli_module.main([*arguments, "--sources", "calls"]) == 1
        assert capsys.readouterr().err == (
            f"cx-lakehouse: another `cx-lakehouse generate` is writing into {data_dir}: wait "
            "for it to finish, then run this one\n"
        )
        assert not (data_dir / "landing").exists()
    assert cli_module.main([*arguments, "--sources", "calls"]) == 0  # its turn
    assert (data_dir / "landing" / "calls").is_dir()


def test_generate_with_no_source_named_is_a_mistake(tmp_path, monkeypatch, capsys):
    from cx_assets import cli as cli_module

    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path / "data"))
    assert cli_module.main(["generate", "--start", START, "--days", "1", "--sources", ","]) == 2
    assert "--sources names no source: choose from calls, crm, digital, support" in (
        capsys.readouterr().err
    )


def test_a_bad_partitions_start_is_explained(tmp_path):
    result = cli("run", "--date", START, data_dir=tmp_path, CX_PARTITIONS_START="yesterday")
    assert result.returncode == 2
    assert "CX_PARTITIONS_START" in result.stderr


def test_a_partitions_start_after_yesterday_says_there_are_none(tmp_path):
    """It said the day "is not a partition: partitions are daily from 2099-01-01 up to
    yesterday", a range that is empty."""
    result = cli("run", "--date", START, data_dir=tmp_path, CX_PARTITIONS_START="2099-01-01")
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        "cx-lakehouse: there are no partitions yet: CX_PARTITIONS_START=2099-01-01 is after "
        "yesterday ("
    )


def test_ui_runs_dagster_dev_on_loopback_with_a_persistent_home(tmp_path, monkeypatch):
    from cx_assets import cli as cli_module

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = cli_module.prepare_dagster_home(tmp_path)
    command = cli_module.ui_command(3999)
    assert command[1:4] == ["-m", "dagster", "dev"]  # webserver and daemon together
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert command[command.index("--port") + 1] == "3999"
    assert home == tmp_path / "dagster_home"
    assert os.environ["DAGSTER_HOME"] == str(home)
    config = (home / "dagster.yaml").read_text()
    # runs queue on the data root's lock, not on limits a killed run would hold for ever
    assert "default_limit" not in config and "max_concurrent_runs: 4" in config


@pytest.mark.parametrize("command", ["ui", "dashboard"])
def test_a_port_in_use_is_one_line_before_anything_starts(command, tmp_path, monkeypatch, capsys):
    """`dagster dev` went on running its daemon, without a UI, when its web server found the
    port taken; the command now refuses first, as for any mistake of its arguments."""
    from cx_assets import cli as cli_module

    def must_not_start(*args):
        raise AssertionError("started a server on a port in use")

    monkeypatch.setattr(os, "execvp", must_not_start)
    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert cli_module.main([command, "--port", str(port)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == (
        f"cx-lakehouse: port {port} on 127.0.0.1 is in use (Address already in use): stop "
        "what holds it, or choose another with --port"
    )


def test_a_free_port_goes_on_to_start_the_server(tmp_path, monkeypatch):
    from cx_assets import cli as cli_module

    started = []
    monkeypatch.setattr(os, "execvp", lambda *args: started.append(args))
    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed
    assert cli_module.main(["dashboard", "--port", str(port)]) == 0
    (command,) = [args[1] for args in started]
    assert str(port) in command


def test_the_readme_pandas_recipe_types_the_partition_day(generated_and_run):
    """The README's recipe, as an analyst copies it: `date` is a real date, comparable."""
    import re
    from datetime import date

    data_dir, _, _ = generated_and_run
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    recipe = re.search(r"```python\n(import pandas as pd.*?)```", readme, re.S).group(1)
    recipe = recipe.replace('"data/gold', f'"{data_dir}/gold').replace("2024-01-02", END)
    namespace: dict = {}
    exec(recipe, namespace)

    kpis, recent = namespace["kpis"], namespace["recent"]
    assert sorted(kpis["date"]) == [date.fromisoformat(START), date.fromisoformat(END)]
    assert recent["date"].tolist() == [date.fromisoformat(END)]
    assert len(namespace["heat"]) == 168
    days = namespace["table"].column("date")
    assert str(days.type) == "date32[day]" and sorted(days.to_pylist()) == sorted(kpis["date"])


def test_cli_runs_are_the_named_jobs_with_their_range(generated_and_run, tmp_path):
    """A run shows in the UI as `daily_partitions` with its range (the rollups built in the
    same run), not as an anonymous job without partitions; rollups alone run as
    `whole_history`."""
    from dagster import DagsterInstance

    data_dir, _, _ = generated_and_run
    with DagsterInstance.from_config(str(data_dir / "dagster_home")) as instance:
        (run,) = [run for run in instance.get_runs() if run.tags.get("cx/trigger") == "cli"]
        events = [
            record.event_log_entry.dagster_event
            for record in instance.get_records_for_run(run.run_id).records
            if record.event_log_entry.dagster_event
        ]
        materialized = {
            event.asset_key.to_user_string() for event in events if event.is_step_materialization
        }
    assert run.job_name == "daily_partitions"
    # executed by the job's own executor (steps in threads), not `execute_in_process`'s
    assert any("up to 2 steps at once" in (event.message or "") for event in events)
    assert run.tags["dagster/asset_partition_range_start"] == START
    assert run.tags["dagster/asset_partition_range_end"] == END
    assert {"gold/crm_cx_volumetrics", "gold/crm_noise_summary"} <= materialized

    copy = tmp_path / "data"  # the module's data root stays as the other tests expect it
    shutil.copytree(data_dir, copy)
    rollups_only = cli("run", "--date", START, "--select", "gold/crm_cx_volumetrics",
                       data_dir=copy)  # fmt: skip
    assert rollups_only.returncode == 0, rollups_only.stdout + rollups_only.stderr
    with DagsterInstance.from_config(str(copy / "dagster_home")) as instance:
        assert instance.get_runs(limit=1)[0].job_name == "whole_history"


def test_help_says_the_defaults_and_the_ui_stays_quiet():
    from cx_assets import cli as cli_module

    parser = cli_module.build_parser()
    commands = parser._subparsers._group_actions[0].choices  # argparse keeps them here
    generate = commands["generate"].format_help()
    assert "1.0 (the default)" in generate and "default 42" in generate
    assert "default 3000" in commands["ui"].format_help()
    command = cli_module.ui_command(3000)
    assert command[command.index("--log-level") + 1] == "warning"
    assert command[command.index("--code-server-log-level") + 1] == "warning"


@pytest.mark.parametrize("armed", [True, False], ids=["the command's process", "a caller of main"])
def test_start_up_objects_are_frozen_and_collection_resumes_for_the_run(
    tmp_path, monkeypatch, armed
):
    """The command's own process collects no garbage during start-up, freezes what start-up
    left once the definitions and resources are built, and runs the day with the collector
    on; a process that calls `main` (this one) keeps its collector untouched."""
    import gc

    from cx_assets import cli as cli_module

    collection = cli_module.StartUpCollection()
    collection.armed = armed
    monkeypatch.setattr(cli_module.process, "START_UP_COLLECTION", collection)
    frozen, thresholds = [], []
    # Recorded, not done: this test process's own heap must not be frozen for good.
    monkeypatch.setattr(
        gc, "freeze", lambda: frozen.append((gc.isenabled(), "dagster" in sys.modules))
    )
    monkeypatch.setattr(gc, "set_threshold", lambda *generations: thresholds.append(generations))
    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))

    try:
        assert cli_module.main(["run", "--date", START, "--select", "group:calls"]) == 0
        assert gc.isenabled()
    finally:
        gc.enable()  # for the tests after this one, whatever happened
    if armed:
        assert frozen == [(False, True)]  # once, with collection paused, after the imports
        assert [young for young, *_ in thresholds] == [
            cli_module.StartUpCollection.YOUNG_GENERATION
        ]
    else:
        assert frozen == [] and thresholds == []


def test_the_demo_ends_yesterday():
    """`make demo` lands recent days, so the UI shows filled partitions, not 1,000 missing."""
    from datetime import UTC, datetime, timedelta

    root = Path(__file__).resolve().parent.parent
    planned = subprocess.run(
        ["make", "-n", "demo"], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    runs = [line for line in planned.splitlines() if "cx-lakehouse run" in line]
    assert runs and runs[-1].split("--to ")[1].split()[0] == yesterday


# --------------------------------------------------------------------------- the UI, served


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answering_ctrl_c() -> None:
    """In the child before exec: SIGINT answered by default, as in a terminal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _as_a_background_job() -> None:
    """In the child before exec: SIGINT ignored, as a non-interactive shell's `cmd &` has it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def served_ui(data_dir: Path, log: Path) -> Iterator[Callable[..., dict]]:
    """`cx-lakehouse ui` on a free port until its code location is loaded; yields a GraphQL
    client of its web server (the API the UI's own pages call)."""
    port = _free_port()
    environment = {**os.environ, "CX_DATA_DIR": str(data_dir)}
    environment.pop("DAGSTER_HOME", None)
    with log.open("w") as output:
        # Its own session: `dagster dev` starts the web server, the daemon and a code server.
        # Started as a script's background job is, with SIGINT ignored: it still stops on
        # SIGTERM (seen in an audit: it ignored both, and only SIGKILL stopped it).
        ui = subprocess.Popen(
            [str(BIN / "cx-lakehouse"), "ui", "--port", str(port)],
            env=environment, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_as_a_background_job,
        )  # fmt: skip

    def graphql(query: str, **variables) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/graphql",
            data=json.dumps({"query": query, "variables": variables}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.load(response)
        assert "errors" not in answer, answer["errors"]
        return answer["data"]

    try:
        deadline = time.monotonic() + 180
        while True:
            assert ui.poll() is None, log.read_text()
            try:
                statuses = graphql(LOCATION_STATUS)["locationStatusesOrError"]["entries"]
                if statuses and all(entry["loadStatus"] == "LOADED" for entry in statuses):
                    break
            except OSError:
                pass  # not listening yet
            assert time.monotonic() < deadline, "the UI did not load\n" + log.read_text()
            time.sleep(0.5)
        yield graphql
    finally:
        os.killpg(ui.pid, signal.SIGTERM)
        try:
            ui.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(ui.pid, signal.SIGKILL)
            ui.wait()
            raise AssertionError("cx-lakehouse ui did not stop on SIGTERM") from None


LOCATION_STATUS = """{ locationStatusesOrError {
    ... on WorkspaceLocationStatusEntries { entries { loadStatus } }
} }"""
ASSET_NODES = """{ assetNodes {
    assetKey { path } isPartitioned repository { name location { name } }
    assetChecksOrError { ... on AssetChecks { checks { name canExecuteIndividually jobNames } } }
} }"""
LAUNCH = """mutation ($params: ExecutionParams!) { launchPipelineExecution(executionParams: $params) {
    __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
} }"""
RUN_STATUS = "query ($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
RUN_EVENTS = """query ($id: ID!) { logsForRun(runId: $id) { ... on EventConnection { events {
    __typename
    ... on AssetCheckEvaluationEvent { evaluation { checkName success description } }
} } } }"""


def test_the_ui_serves_every_asset_and_its_check_button_runs_the_check_alone(
    generated_and_run, tmp_path
):
    """The UI for real, not its command line: the web server loads every asset, offers every
    check to run on its own, and the request its "Execute" button sends for a whole-history
    table's check is picked up by the daemon and evaluates only the check, on the table as
    stored. (For a partitioned asset Dagster's UI greys that button out; docs/checks.md
    says how to run such a check alone.)"""
    from cx_assets.definitions import defs

    data_dir = tmp_path / "data"
    shutil.copytree(generated_and_run[0], data_dir)
    # the stored table loses a slot behind the pipeline's back
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
        con.execute("DELETE FROM gold.crm_temporal_heat WHERE day_of_week = 2 AND hour = 3")

    with served_ui(data_dir, tmp_path / "ui.log") as graphql:
        nodes = graphql(ASSET_NODES)["assetNodes"]
        assert {tuple(node["assetKey"]["path"]) for node in nodes} == {
            tuple(asset_def.key.path) for asset_def in defs.assets
        }
        declared = {
            (tuple(node["assetKey"]["path"]), check["name"]): check
            for node in nodes
            for check in node["assetChecksOrError"]["checks"]
        }
        assert len(declared) >= 150
        only_with_the_table = [
            key for key, check in declared.items()
            if check["canExecuteIndividually"] != "CAN_EXECUTE"
        ]  # fmt: skip
        assert only_with_the_table == []

        (heat,) = [n for n in nodes if n["assetKey"]["path"] == ["gold", "crm_temporal_heat"]]
        row_count = declared[("gold", "crm_temporal_heat"), "row_count"]
        launched = graphql(LAUNCH, params={  # what the button sends
            "mode": "default", "executionMetadata": {}, "runConfigData": "{}",
            "selector": {
                "repositoryLocationName": heat["repository"]["location"]["name"],
                "repositoryName": heat["repository"]["name"],
                "jobName": row_count["jobNames"][0],
                "assetSelection": [],
                "assetCheckSelection": [
                    {"assetKey": {"path": heat["assetKey"]["path"]}, "name": "row_count"}
                ],
            },
        })["launchPipelineExecution"]  # fmt: skip
        assert launched["__typename"] == "LaunchRunSuccess", launched
        run_id = launched["run"]["runId"]
        deadline = time.monotonic() + 180
        while (status := graphql(RUN_STATUS, id=run_id)["runOrError"]["status"]) not in (
            "SUCCESS", "FAILURE", "CANCELED",
        ):  # fmt: skip
            assert time.monotonic() < deadline, f"run {run_id} still {status}"
            time.sleep(0.5)
        events = graphql(RUN_EVENTS, id=run_id)["logsForRun"]["events"]

    kinds = [event["__typename"] for event in events]
    assert "MaterializationEvent" not in kinds  # the table was not rebuilt
    (evaluation,) = [
        event["evaluation"] for event in events
        if event["__typename"] == "AssetCheckEvaluationEvent"
    ]  # fmt: skip
    assert evaluation["checkName"] == "row_count" and not evaluation["success"]
    assert "167 rows" in evaluation["description"]
    assert status == "FAILURE"  # row_count is a blocking ERROR


def test_the_docs_recipe_rechecks_one_day_of_a_partitioned_table(generated_and_run, tmp_path):
    """docs/checks.md's recipe for what the UI cannot do, as a user copies it: a duplicate
    slipped into a stored day is found, and nothing is rebuilt."""
    import re

    data_dir = tmp_path / "data"
    shutil.copytree(generated_and_run[0], data_dir)
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
        con.execute(
            f"INSERT INTO gold.calls_performance "
            f"(SELECT * FROM gold.calls_performance WHERE date = '{END}' LIMIT 1)"
        )
        rows = con.execute("SELECT count(*) FROM gold.calls_performance").fetchone()
    docs = (Path(__file__).resolve().parent.parent / "docs" / "checks.md").read_text()
    recipe = re.search(r"```python\n(.*?check = AssetCheckKey.*?)```", docs, re.S).group(1)
    environment = {**os.environ, "CX_DATA_DIR": str(data_dir),
                   "DAGSTER_HOME": str(data_dir / "dagster_home"), "PYTHONWARNINGS": "ignore"}  # fmt: skip
    ran = subprocess.run(
        [sys.executable, "-c", recipe.replace("2024-01-02", END)],
        env=environment, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("unique_key FAILED:"), ran.stdout
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
        assert con.execute("SELECT count(*) FROM gold.calls_performance").fetchone() == rows


def test_a_run_first_publishes_what_a_killed_run_left_unpublished(tmp_path):
    """A run killed between a gold table's warehouse commit and its Parquet leaves a journal;
    the next run publishes it before anything else, whatever that run selects."""
    data_dir = calls_day(tmp_path / "data")
    assert cli("run", "--date", START, "--select", "group:calls", data_dir=data_dir).returncode == 0
    day_folder = data_dir / "gold" / "calls_kpis_daily" / f"date={START}"
    shutil.rmtree(day_folder)  # as if the killed run had not published the day yet
    journal = data_dir / ".gold-journal" / "calls_kpis_daily.json"
    journal.parent.mkdir(exist_ok=True)
    journal.write_text(json.dumps({"days": [START]}))

    ran = cli("run", "--date", START, "--select", "key:gold/calls_performance", data_dir=data_dir)

    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "note: gold/calls_kpis_daily's Parquet published again from the warehouse" in ran.stdout
    assert pq.read_table(day_folder).num_rows == 1 and not journal.exists()


def test_the_summary_lists_failed_checks_in_the_same_order_every_run():
    """Steps run two at a time, so their evaluations arrive in either order; the lines did
    too (an audit saw two identical runs list their warnings differently)."""
    from dagster import AssetCheckSeverity, AssetKey

    from cx_assets.cli.run import RunTally

    def evaluation(table: str, check: str, severity=AssetCheckSeverity.WARN):
        return SimpleNamespace(
            passed=False, asset_key=AssetKey(table.split("/")), check_name=check,
            description=None, severity=severity,
        )  # fmt: skip

    evaluations = [
        evaluation("silver/b", "reject_ratio"),
        evaluation("bronze/a", "non_empty"),
        evaluation("gold/c", "unique_key", AssetCheckSeverity.ERROR),
    ]
    lines = []
    for order in (evaluations, evaluations[::-1]):
        tally = RunTally()
        for one in order:
            tally.add(one)
        lines.append(tally.problem_lines())
    assert (
        lines[0]
        == lines[1]
        == [
            "ERROR gold/c:unique_key",
            "WARN  bronze/a:non_empty",
            "WARN  silver/b:reject_ratio",
        ]
    )


def test_a_check_failing_on_several_days_of_a_range_is_one_summary_line():
    """Seen in an audit: with a range's checks judged day by day, a source that never
    landed gave a line per table, check and day."""
    from dagster import AssetCheckSeverity, AssetKey

    from cx_assets.cli.run import RunTally

    tally = RunTally()
    for day in ("2024-01-03", "2024-01-01", "2024-01-02"):
        tally.add(SimpleNamespace(
            passed=False, asset_key=AssetKey(["bronze", "a"]), check_name="non_empty",
            description=f"no records on {day}", severity=AssetCheckSeverity.WARN, partition=day,
        ))  # fmt: skip
    tally.add(SimpleNamespace(
        passed=False, asset_key=AssetKey(["gold", "c"]), check_name="unique_key",
        description="2 keys repeat", severity=AssetCheckSeverity.ERROR, partition="2024-01-02",
    ))  # fmt: skip
    assert tally.problem_lines() == [
        "ERROR gold/c:unique_key (2 keys repeat)",
        "WARN  bronze/a:non_empty (no records on 2024-01-01) and 2 more days, "
        "2024-01-01 to 2024-01-03",
    ]
    assert (tally.warned, tally.failed) == (3, 1)


def test_a_day_run_after_a_later_one_that_kept_its_record_says_how_to_give_it_back(tmp_path):
    """Seen in an audit: days run out of order (a day landed late) left a call on the later
    day and its first delivery quarantined as `already kept on` it, and nothing said that
    running the days together puts it back; gold depended on the order days ran in."""
    data_dir = tmp_path / "data"
    next_day = (date.fromisoformat(START) + timedelta(days=1)).isoformat()
    record = {
        "call_id": "A", "agent_name": "Dana Reyes", "timestamp": f"{START}T10:00:00",
        "transcript_text": "Sign me up.", "duration_seconds": 60, "customer_id": "CUST-1",
    }  # fmt: skip
    for day in (START, next_day):
        folder = data_dir / "landing" / "calls" / "transcripts" / day
        folder.mkdir(parents=True)
        (folder / "part.jsonl").write_text(json.dumps(record) + "\n")

    later_first = cli("run", "--date", next_day, "--select", "group:calls", data_dir=data_dir)
    assert later_first.returncode == 0 and "kept on later days" not in later_first.stdout
    late = cli("run", "--date", START, "--select", "group:calls", data_dir=data_dir)

    assert late.returncode == 0, late.stdout + late.stderr
    command = f"cx-lakehouse run --date {START} --to {next_day} --select group:calls"
    assert (
        f"kept on later days: calls, silver/calls_transcripts kept records of these days on "
        f"{next_day} (run before them)" in late.stdout
    )
    assert f"\n  {command}\n" in late.stdout, late.stdout
    together = cli(*command.split()[1:], data_dir=data_dir)
    assert together.returncode == 0 and "kept on later days" not in together.stdout
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as warehouse:
        kept = warehouse.execute("SELECT date, call_id FROM silver.calls_transcripts").fetchall()
    assert kept == [(date.fromisoformat(START), "A")]


def test_a_partitioned_table_selected_alone_rebuilds_the_rollups_downstream(tmp_path):
    """`run --select` of one date-grained table materializes it for the day, then the
    whole-history rollups that read it (contract section 1), though none is selected:
    the CLI's other runs select whole groups, where the rollups are selected anyway."""
    data_dir = tmp_path / "data"
    generated = cli(
        "generate", "--start", START, "--days", "1", "--scale", "0.01", "--seed", "7",
        "--quiet", "--sources", "digital", data_dir=data_dir,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr
    whole = cli("run", "--date", START, "--select", "group:digital", data_dir=data_dir)
    assert whole.returncode == 0, whole.stdout + whole.stderr

    ran = cli(
        "run", "--date", START, "--select", "key:silver/digital_leakage_calls", data_dir=data_dir
    )  # fmt: skip

    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert (
        f"materializing 1 date-grained assets, {START}..{START}, then 2 whole-history rollups"
        in ran.stdout
    ), ran.stdout
    for rollup in ("leakage_savings_model", "leakage_action_recommendations"):
        line = _summary_line(ran.stdout, rollup)
        assert len(line) == 2 and line[1].replace(",", "").isdigit(), line  # written by this run


def test_the_summary_counts_a_per_day_gold_table_over_the_runs_days_only(tmp_path):
    """A day run after an earlier one: a per-day gold table's summary line counts that day's
    rows, not every day the table holds."""
    data_dir = tmp_path / "data"
    generated = cli(
        "generate", "--start", START, "--days", "2", "--scale", "0.01", "--seed", "7",
        "--quiet", "--sources", "calls", data_dir=data_dir,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr
    for day in (START, END):
        ran = cli("run", "--date", day, "--select", "group:calls", data_dir=data_dir)
        assert ran.returncode == 0, ran.stdout + ran.stderr

    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as warehouse:
        by_day = dict(
            warehouse.execute(
                "SELECT date::VARCHAR, count(*) FROM gold.calls_performance GROUP BY ALL"
            ).fetchall()
        )
    assert set(by_day) == {START, END} and by_day[START] > 0, by_day
    day_two = pq.read_table(data_dir / "gold" / "calls_performance" / f"date={END}")
    assert day_two.num_rows == by_day[END]
    assert _summary_line(ran.stdout, "calls_performance") == [
        "calls_performance", f"{by_day[END]:,}"
    ]  # fmt: skip
