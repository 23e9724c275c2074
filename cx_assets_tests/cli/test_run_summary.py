"""What `cx-lakehouse run` says at its end: rows per gold table, checks, quarantine, files
it did not read, and which counts are an earlier run's after a failure."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from types import SimpleNamespace

import duckdb
import pyarrow.parquet as pq
import pytest

from cx_assets_tests.cli import END, START, calls_day, cli, landed

pytestmark = pytest.mark.long_module


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
    landed(data_dir, "calls", days=2)
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
    landed(data_dir, "digital")
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
    landed(data_dir, "calls", days=2)
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
