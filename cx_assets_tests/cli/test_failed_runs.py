"""What a failed or killed `cx-lakehouse run` says and leaves: which gold and quarantine
counts are an earlier run's, and the next run publishing what a killed run left unpublished."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from cx_assets_tests.cli import END, START, built, calls_day, cli, summary_line

pytestmark = pytest.mark.long_module


@pytest.fixture(scope="module")
def landed_calls(tmp_path_factory) -> Path:
    """One small day of calls, landed once for the module's six tests, each of which ran
    `generate` for it; each test runs on a copy of its own."""
    return calls_day(tmp_path_factory.mktemp("landed") / "data")


@pytest.fixture
def data_dir(landed_calls, tmp_path) -> Path:
    return Path(shutil.copytree(landed_calls, tmp_path / "data"))


def test_a_failed_run_says_which_gold_counts_are_an_earlier_runs(data_dir, monkeypatch, capsys):
    """Seen after a Ctrl-C: the summary counted every gold table as if the run had written
    it. A table the failed run did not write is marked, and one never written says so."""
    from cx_assets import cli as cli_module
    from cx_assets.calls import table_rules

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
    assert summary_line(first, "calls_agent_daily") == ["calls_agent_daily", "(never", "written)"]
    assert summary_line(first, "calls_performance")[-1].replace(",", "").isdigit()

    monkeypatch.undo()
    monkeypatch.setenv("CX_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert cli_module.main(arguments) == 0
    capsys.readouterr()

    monkeypatch.setattr(table_rules, "agent_daily_sql", breaks)
    assert cli_module.main(arguments) == 1
    again = capsys.readouterr().out
    agents = summary_line(again, "calls_agent_daily")
    assert (
        agents[1].isdigit()
        and " ".join(agents[2:]) == "(not written by this run: an earlier run's)"
    )
    assert "not written" not in " ".join(summary_line(again, "calls_performance"))
    assert again.rstrip().endswith("FAILED")

    # A step failing leaves out the steps reading it: they never start, which Dagster says
    # only in a log line (seen in a probe of a blocking check raised to ERROR, whose gold
    # tables read "(never written)" with no word of why).
    performance_sql = table_rules.performance_sql
    monkeypatch.setattr(table_rules, "performance_sql", breaks)
    assert cli_module.main(arguments) == 1
    monkeypatch.setattr(table_rules, "performance_sql", performance_sql)
    left_out = capsys.readouterr().out
    earlier = "not written by this run: an earlier run's)"
    assert " ".join(summary_line(left_out, "calls_performance")[2:]) == f"({earlier}"
    assert " ".join(summary_line(left_out, "calls_agent_daily")[2:]) == (
        f"(its step did not run; {earlier}"
    )

    # Seen in a newcomer's audit: a day the table was never built for, its step failing
    # (here, the next day, nothing landed), read "0 (not materialized: rows a failed step
    # left in the warehouse)", where no step had left a row.
    assert cli_module.main(["run", "--date", END, "--select", "group:calls"]) == 1
    next_day = capsys.readouterr().out
    assert summary_line(next_day, "calls_agent_daily")[1:] == [
        "0", "(never", "written", "for", "these", "days)"
    ]  # fmt: skip


def test_a_failed_run_does_not_call_rows_its_failed_step_left_an_earlier_runs(
    data_dir, monkeypatch, capsys
):
    """Seen in an audit: gold Parquet that cannot be written (a file where its folder goes)
    fails the step after the warehouse took its rows, and the summary called those rows an
    earlier run's on a data root where no run had ever written the table."""
    from cx_assets import cli as cli_module
    from cx_assets.lakehouse.gold_io_manager import GoldIOManager

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
    assert " ".join(summary_line(out, "calls_kpis_daily")[1:]) == unpublished
    assert "not written" not in " ".join(summary_line(out, "calls_performance"))

    # Seen in the docs audit: with the table materialized by an earlier run, the rows this
    # run's failed step wrote were called that earlier run's.
    monkeypatch.setattr(GoldIOManager, "publish", publish)
    assert cli_module.main(["run", "--date", START, "--select", "group:calls"]) == 0
    capsys.readouterr()
    monkeypatch.setattr(GoldIOManager, "publish", fails_for_the_kpis)
    assert cli_module.main(["run", "--date", START, "--select", "group:calls"]) == 1
    out = capsys.readouterr().out
    assert " ".join(summary_line(out, "calls_kpis_daily")[1:]) == unpublished


def test_steps_failed_by_a_full_disk_end_the_run_in_the_full_disk_line(
    data_dir, monkeypatch, capsys
):
    """Seen in an audit, gold's folder (or the data root, DAGSTER_HOME elsewhere) on a full
    disk: Dagster's history still wrote, so the steps failed and the run ended in `FAILED`,
    never saying the disk was full nor what to do. It ends in the full-disk line, naming
    the disk of the file a step could not write; freed, the next run completes."""
    import pyarrow.parquet as parquet_module

    from cx_assets import cli as cli_module

    monkeypatch.setenv("CX_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    arguments = ["run", "--date", START, "--select", "group:calls"]

    def no_space(table, where, **options):  # Arrow's own error, naming no file
        raise OSError(28, "Error writing bytes to file. Detail: [errno 28] No space left on device")

    monkeypatch.setattr(parquet_module, "write_table", no_space)
    assert cli_module.main(arguments) == 1
    said = capsys.readouterr()
    assert said.out.rstrip().endswith("FAILED")
    (line,) = said.err.strip().splitlines()
    assert line.startswith(f"cx-lakehouse: the disk holding {data_dir}/"), line
    assert "is full" in line and "No space left on device" in line and "run it again" in line

    monkeypatch.undo()
    monkeypatch.setenv("CX_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert cli_module.main(arguments) == 0


def test_steps_failed_by_a_file_they_may_not_write_end_the_run_in_one_line_naming_it(
    data_dir, monkeypatch, capsys
):
    """Seen in an audit, a data root whose bronze folders another user had made (root, mode
    755): every bronze step failed on Permission denied and the run ended in `FAILED`, its
    summary naming the steps' errors but never what to do, where the README says a data
    root the command may not write ends in one line naming the file. It ends in that line;
    once the file may be written, the next run completes."""
    import errno

    import pyarrow.parquet as parquet_module

    from cx_assets import cli as cli_module

    monkeypatch.setenv("CX_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    arguments = ["run", "--date", START, "--select", "group:calls"]
    denied = []

    def not_ours(table, where, **options):  # as a folder of another user's refuses it
        denied.append(str(where))
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(where))

    monkeypatch.setattr(parquet_module, "write_table", not_ours)
    assert cli_module.main(arguments) == 1
    said = capsys.readouterr()
    assert said.out.rstrip().endswith("FAILED")
    (line,) = said.err.strip().splitlines()
    assert line.startswith("cx-lakehouse: cannot write "), line
    named = line.removeprefix("cx-lakehouse: cannot write ").split(": Permission denied.")[0]
    assert named in denied and Path(named).is_relative_to(data_dir)
    assert line.endswith("The data root (CX_DATA_DIR) must be a folder this user can write to, "
                         "on a disk mounted for writing.")  # fmt: skip

    monkeypatch.undo()
    monkeypatch.setenv("CX_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert cli_module.main(arguments) == 0


def test_a_failed_run_says_its_quarantine_counts_are_an_earlier_runs(data_dir, monkeypatch, capsys):
    from cx_assets import cli as cli_module
    from cx_assets.calls import table_rules

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


def test_a_run_first_publishes_what_a_killed_run_left_unpublished(data_dir):
    """A run killed between a gold table's warehouse commit and its Parquet leaves a journal;
    the next run publishes it before anything else, whatever that run selects."""
    built(data_dir, "run", "--date", START, "--select", "group:calls")
    day_folder = data_dir / "gold" / "calls_kpis_daily" / f"date={START}"
    shutil.rmtree(day_folder)  # as if the killed run had not published the day yet
    journal = data_dir / ".gold-journal" / "calls_kpis_daily.json"
    journal.parent.mkdir(exist_ok=True)
    journal.write_text(json.dumps({"days": [START]}))

    ran = cli("run", "--date", START, "--select", "key:gold/calls_performance", data_dir=data_dir)

    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "note: gold/calls_kpis_daily's Parquet published again from the warehouse" in ran.stdout
    assert pq.read_table(day_folder).num_rows == 1 and not journal.exists()


def test_a_run_whose_two_steps_failed_says_each_in_a_line(data_dir, monkeypatch, capsys):
    """Two gold steps failing in one run: each is said in its own line, the step and its
    error (found by mutation testing: the first alone said passed every test, whose failed
    runs failed one step)."""
    from cx_assets import cli as cli_module
    from cx_assets.calls import table_rules

    monkeypatch.setenv("CX_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)

    def breaks(what: str):
        def broken(*args):
            raise RuntimeError(f"{what} broke")

        return broken

    monkeypatch.setattr(table_rules, "agent_daily_sql", breaks("agent rollup"))
    monkeypatch.setattr(table_rules, "kpis_daily_sql", breaks("kpis"))
    assert cli_module.main(["run", "--date", START, "--select", "group:calls"]) == 1
    lines = capsys.readouterr().out.splitlines()
    failed_at = next(i for i, line in enumerate(lines) if line.endswith(" failed:"))
    assert sorted(lines[failed_at + 1 : lines.index("gold rows:")]) == [
        "  gold__calls_agent_daily: RuntimeError: agent rollup broke",
        "  gold__calls_kpis_daily: RuntimeError: kpis broke",
    ]
