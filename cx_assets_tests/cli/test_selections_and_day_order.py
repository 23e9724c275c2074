"""What `cx-lakehouse run` does with a selection or a day order: a table selected alone
(refused for a day its input was never built for, rebuilding the rollups downstream, reading
bronze on a moved data root), a day run after a later one that kept its record, and a range
run after an earlier day never built."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from cx_assets_tests.cli import BIN, START, built, calls_day, cli, landed, summary_line

pytestmark = pytest.mark.long_module


@pytest.fixture(scope="module")
def calls_built(tmp_path_factory) -> Path:
    """A small day of calls landed and run (`--select group:calls`) once for the module,
    where four tests each landed and ran it; each test copies it (`_copy`)."""
    data_dir = calls_day(tmp_path_factory.mktemp("calls") / "data")
    built(data_dir, "run", "--date", START, "--select", "group:calls")
    return data_dir


@pytest.fixture(scope="module")
def digital_built(tmp_path_factory) -> tuple[Path, str]:
    """Two small days of digital landed, the first run (`--select group:digital`), and what
    that run printed, once for the module's two tests that start there."""
    data_dir = landed(tmp_path_factory.mktemp("digital") / "data", "digital", days=2)
    printed = built(data_dir, "run", "--date", START, "--select", "group:digital")
    return data_dir, printed


def _copy(data_dir: Path, to: Path) -> Path:
    """A test's own copy of a module's data root: the command re-points a copied root's
    bronze views and rewrites its dagster.yaml when it opens it."""
    return Path(shutil.copytree(data_dir, to))


def test_a_moved_data_root_runs_a_step_reading_bronze_it_did_not_write(tmp_path, calls_built):
    """`mv data /bigger/disk/data`, then a run of silver alone: its bronze view named the
    old place, and the step failed on files no longer there."""
    first = _copy(calls_built, tmp_path / "data")
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


def test_a_table_selected_alone_for_a_day_its_input_was_never_built_for_is_refused(
    tmp_path, calls_built
):
    """It wrote that day's gold from no rows (zero calls, every check passing) where the
    truth was that the day had never been loaded."""
    data_dir = _copy(calls_built, tmp_path / "data")
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


def test_a_table_selected_alone_reads_a_day_built_under_another_instance(tmp_path, calls_built):
    """Its input's rows are in the warehouse, though this instance never recorded them (a
    run of Dagster's own CLI on a throwaway instance, another DAGSTER_HOME): the step reads
    such a day, and the command refused it before the run (found in a code audit)."""
    data_dir = _copy(calls_built, tmp_path / "data")
    # The day's run recorded in another instance: here, none of its records are left.
    shutil.move(data_dir / "dagster_home", tmp_path / "other_home")
    alone = cli("run", "--date", START, "--select", "key:gold/calls_kpis_daily", data_dir=data_dir)
    assert alone.returncode == 0, alone.stdout + alone.stderr
    assert "calls_kpis_daily" in alone.stdout


def test_dagsters_own_cli_reads_a_day_built_empty_by_another_instance(tmp_path, calls_built):
    """The contract's `dagster asset materialize ... --partition D` of one table whose
    upstreams exist, without `DAGSTER_HOME` (a throwaway instance), on a day nothing landed:
    found in a contract audit refused as never built, since the day's tables hold no rows
    to tell it by. Every day written is recorded in the warehouse, and a bronze day has its
    (empty) file."""
    data_dir = _copy(calls_built, tmp_path / "data")
    next_day = (date.fromisoformat(START) + timedelta(days=1)).isoformat()
    built(data_dir, "run", "--date", next_day, "--select", "group:calls")
    environment = {**os.environ, "CX_DATA_DIR": str(data_dir)}
    environment.pop("DAGSTER_HOME", None)
    for table in ("silver/calls_transcripts", "gold/calls_kpis_daily"):  # bronze, silver read
        result = subprocess.run(
            [str(BIN / "dagster"), "asset", "materialize", "-m", "cx_assets.definitions",
             "--select", table, "--partition", next_day],
            env=environment, cwd=tmp_path, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, (table, result.stderr[-3000:])
    never_ran = (date.fromisoformat(START) + timedelta(days=2)).isoformat()
    refused = subprocess.run(
        [str(BIN / "dagster"), "asset", "materialize", "-m", "cx_assets.definitions",
         "--select", "gold/calls_kpis_daily", "--partition", never_ran],
        env=environment, cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert refused.returncode != 0
    assert f"gold/calls_performance was never built for {never_ran}" in refused.stderr


def test_a_table_reading_its_day_with_days_before_is_refused_for_a_day_never_built(
    tmp_path, digital_built
):
    """The daily leakage summary reads its day and the 13 before it: the refusal above
    looked only at inputs of the day alone, so the summary of a day never run was written
    from no rows (seen in an audit, through Dagster's own CLI)."""
    data_dir = _copy(digital_built[0], tmp_path / "data")
    next_day = (date.fromisoformat(START) + timedelta(days=1)).isoformat()
    refused = cli(
        "run", "--date", next_day, "--select", "key:gold/leakage_daily_summary", data_dir=data_dir
    )  # fmt: skip
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr == (
        f"cx-lakehouse: --select reads silver/digital_calls of {next_day}, never built for "
        "it: include it (e.g. --select '*gold/leakage_daily_summary') or run that day first\n"
    )
    assert not (data_dir / "gold" / "leakage_daily_summary" / f"date={next_day}").exists()


def test_a_gold_table_reading_a_trained_model_is_run_alone_once_the_model_is_stored(tmp_path):
    """Seen in a probe of the CLI: `--select key:gold/support_ticket_categories` (and so
    `key:gold/*`, the `--help` example) was refused after a full run, saying the models were
    never built: they are files of the model store, and the warehouse was asked for tables."""
    data_dir = landed(tmp_path / "data", "support")
    alone = ("run", "--date", START, "--select", "key:gold/support_ticket_categories")
    refused = cli(*alone, data_dir=data_dir)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "model/support_ticket_classifier" in refused.stderr  # not yet trained: refused
    built(data_dir, "run", "--date", START, "--select", "group:support")
    assert list((data_dir / "models").glob("*/model.joblib"))

    ran = cli(*alone, data_dir=data_dir)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert summary_line(ran.stdout, "support_ticket_categories")[1] != "0"


# One landed call, given its id and time by the test.
CALL = {
    "agent_name": "Dana Reyes", "transcript_text": "Sign me up.", "duration_seconds": 60,
    "customer_id": "CUST-1",
}  # fmt: skip


def test_a_day_run_after_a_later_one_that_kept_its_record_says_how_to_give_it_back(tmp_path):
    """Seen in an audit: days run out of order (a day landed late) left a call on the later
    day and its first delivery quarantined as `already kept on` it, and nothing said that
    running the days together puts it back; gold depended on the order days ran in. Said
    when the late run fails too: its records quarantined, the reject ratio raised to ERROR
    fails it (the advice was once given only after a run that succeeded)."""
    data_dir = tmp_path / "data"
    next_day = (date.fromisoformat(START) + timedelta(days=1)).isoformat()
    for day, calls in ((START, "A"), (next_day, "ABCD")):
        folder = data_dir / "landing" / "calls" / "transcripts" / day
        folder.mkdir(parents=True)
        records = [{**CALL, "call_id": call, "timestamp": f"{day}T10:00:00"} for call in calls]
        (folder / "part.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    # A day quarantining over half its calls fails: the late day's one call (kept on the
    # next day) does, the next day's A of four (first delivered on the late day) does not.
    checks = tmp_path / "checks.yaml"
    checks.write_text(
        "ops: {silver__calls_transcripts: {config: {reject_ratio: {high: 0.5, severity: ERROR}}}}\n"
    )
    config = ("--select", "group:calls", "--config", str(checks))

    later_first = built(data_dir, "run", "--date", next_day, *config)
    assert "kept on later days" not in later_first
    late = cli("run", "--date", START, *config, data_dir=data_dir)

    assert late.returncode == 1, late.stdout + late.stderr
    assert "reject_ratio" in late.stdout
    command = f"cx-lakehouse run --date {START} --to {next_day} --select group:calls"
    assert (
        f"kept on later days: calls, silver/calls_transcripts kept records of these days on "
        f"{next_day} (run before them)" in late.stdout
    )
    assert f"\n  {command} --config {checks}\n" in late.stdout, late.stdout
    together = cli(*command.split()[1:], "--config", str(checks), data_dir=data_dir)
    assert together.returncode == 0, together.stdout + together.stderr
    assert "kept on later days" not in together.stdout
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as warehouse:
        kept = warehouse.execute(
            "SELECT date, call_id FROM silver.calls_transcripts ORDER BY call_id"
        ).fetchall()
    day, later = date.fromisoformat(START), date.fromisoformat(next_day)
    assert kept == [(day, "A"), (later, "B"), (later, "C"), (later, "D")]


def test_a_partitioned_table_selected_alone_rebuilds_the_rollups_downstream(
    tmp_path, digital_built
):
    """`run --select` of one date-grained table materializes it for the day, then the
    whole-history rollups that read it (contract section 1), though none is selected:
    the CLI's other runs select whole groups, where the rollups are selected anyway. The
    day's tables reading it, left out, are named with the run that rebuilds them."""
    data_dir = _copy(digital_built[0], tmp_path / "data")
    whole = digital_built[1]  # what the run of the whole group printed

    ran = cli(
        "run", "--date", START, "--select", "key:silver/digital_leakage_calls", data_dir=data_dir
    )  # fmt: skip

    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert (
        f"materializing 1 date-grained asset, {START}..{START}, then 2 whole-history rollups"
        in ran.stdout
    ), ran.stdout
    for rollup in ("leakage_savings_model", "leakage_action_recommendations"):
        line = summary_line(ran.stdout, rollup)
        assert len(line) == 2 and line[1].replace(",", "").isdigit(), line  # written by this run
    # the day's gold tables reading it were left out, and the run says so, with the command
    assert "left out of date" not in whole
    readers = ", ".join(f"gold/leakage_{name}" for name in
                        ("daily_summary", "journey_timeline", "root_cause", "segment_drilldown"))  # fmt: skip
    assert (
        f"left out of date by the selection: {readers} of {START} read "
        "silver/digital_leakage_calls, rebuilt by this run after them" in ran.stdout
    ), ran.stdout
    command = f"cx-lakehouse run --date {START} --select key:silver/digital_leakage_calls+"
    assert f"\n  {command}\n" in ran.stdout
    again = cli(*shlex.split(command)[1:], data_dir=data_dir)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "left out of date" not in again.stdout


def _call(call_id: str, day: str) -> str:
    return json.dumps({
        "call_id": call_id, "agent_name": "Dana Reyes", "timestamp": f"{day}T10:00:00",
        "transcript_text": "Sign me up.", "duration_seconds": 60, "customer_id": "CUST-1",
    }) + "\n"  # fmt: skip


def _kept_days(data_dir, call_id: str) -> list[str]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as warehouse:
        return [
            str(day)
            for (day,) in warehouse.execute(
                "SELECT date FROM silver.calls_transcripts WHERE call_id = ?", [call_id]
            ).fetchall()
        ]


@pytest.mark.parametrize("dropping", ["earlier", "later"])
def test_a_day_that_drops_a_record_another_day_quarantined_a_copy_of_says_how_to_keep_it(
    tmp_path, dropping
):
    """Found in an audit: call A (and here C), delivered on two days, is kept on one and its
    copy on the other quarantined as a repeat. Re-delivered without A, the keeping day ran again and
    dropped it: A was in no silver table, with every check passing and nothing said. Every
    run of that day now names the other day and the command that runs both, which keeps
    the copy."""
    data_dir = tmp_path / "data"
    next_day = (date.fromisoformat(START) + timedelta(days=1)).isoformat()
    files = {}
    for day in (START, next_day):
        folder = data_dir / "landing" / "calls" / "transcripts" / day
        folder.mkdir(parents=True)
        files[day] = folder / "part.jsonl"
        files[day].write_text(_call("A", day) + _call(f"B-{day}", day) + _call("C", day))
    if dropping == "earlier":  # the days ran together: the earlier kept A
        built(data_dir, "run", "--date", START, "--to", next_day, "--select", "group:calls")
        keeper = START
    else:  # the later day ran first and kept A; then the earlier one
        for day in (next_day, START):
            built(data_dir, "run", "--date", day, "--select", "group:calls")
        keeper = next_day
    assert _kept_days(data_dir, "A") == [keeper]
    again = built(data_dir, "run", "--date", keeper, "--select", "group:calls")
    assert "records_only_in_quarantine (" not in again

    files[keeper].write_text(_call(f"B-{keeper}", keeper))  # re-delivered without A and C
    dropped = cli("run", "--date", keeper, "--select", "group:calls", data_dir=data_dir)

    assert dropped.returncode == 0, dropped.stdout + dropped.stderr
    assert _kept_days(data_dir, "A") == []
    other = next_day if keeper == START else START
    command = f"cx-lakehouse run --date {START} --to {next_day} --select group:calls"
    said = (
        "WARN  silver/calls_transcripts:records_only_in_quarantine (2 record(s) of "
        f"{keeper} kept on no day, with copies quarantined as repeats on {other}; keep them "
        f"with: {command})"
    )
    assert said in dropped.stdout, dropped.stdout
    # Said again by the next run of that day, until done (not only by the run that dropped it).
    again = cli("run", "--date", keeper, "--select", "group:calls", data_dir=data_dir)
    assert said in again.stdout, again.stdout
    kept = cli(*command.split()[1:], data_dir=data_dir)
    assert kept.returncode == 0 and "records_only_in_quarantine (" not in kept.stdout
    assert _kept_days(data_dir, "A") == _kept_days(data_dir, "C") == [other]


def test_a_selection_reading_a_table_as_of_its_day_runs_on_the_days_that_table_has(tmp_path):
    """Silver interactions read the contact versions up to their day, not of it: a run of
    the interactions alone for a day the contacts were not built for reads what there is,
    as the UI's materialization does, and is not refused as a table read on its own day
    would be."""
    data_dir = landed(tmp_path / "data", "crm", days=2)
    day_two = (date.fromisoformat(START) + timedelta(days=1)).isoformat()
    built(data_dir, "run", "--date", START, "--select", "group:crm")

    interactions = "key:bronze/crm_interactions or key:silver/crm_interactions"
    ran = cli("run", "--date", day_two, "--select", interactions, data_dir=data_dir)

    assert ran.returncode == 0, ran.stdout + ran.stderr


def test_a_range_run_after_an_earlier_day_never_built_names_the_command_to_its_last_day(
    tmp_path,
):
    """Three digital days landed, the second and third run as a range: the first, landed
    and never built, read as a day with no rows, is named with the command that builds it
    and the range's days, to the range's last day; the run says its days first to last.
    Found by mutation testing, each passing every test of the command (whose runs of
    earlier days not built were of one day): the command to the range's first day, which
    left its last day built from the day read as empty; `2024-02-03..2024-02-02`."""
    data_dir = landed(tmp_path / "data", "digital", days=3)
    second, third = (date.fromisoformat(START) + timedelta(days=n) for n in (1, 2))

    ran = cli("run", "--date", f"{second}", "--to", f"{third}", "--select", "group:digital",
              data_dir=data_dir)  # fmt: skip

    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0].startswith("materializing ") and f", {second}..{third}" in lines[0]
    said = next(n for n, line in enumerate(lines) if line.startswith("earlier days not built"))
    assert lines[said].startswith(f"earlier days not built: digital, 1 day, {START}, landed")
    assert lines[said + 1] == (
        f"  cx-lakehouse run --date {START} --to {third} --select group:digital"
    )


def test_a_silver_table_run_alone_says_what_it_quarantined_and_which_later_days_kept_it(
    tmp_path,
):
    """Seen in a probe: `--select key:silver/calls_transcripts` quarantined a late day's call
    as already kept on the next day, and the summary said neither the quarantined record
    nor how to give it back: both were looked for only under the run's bronze tables."""
    data_dir = tmp_path / "data"
    next_day = (date.fromisoformat(START) + timedelta(days=1)).isoformat()
    for day in (START, next_day):
        folder = data_dir / "landing" / "calls" / "transcripts" / day
        folder.mkdir(parents=True)
        record = {**CALL, "call_id": "A", "timestamp": f"{day}T10:00:00"}
        (folder / "part.jsonl").write_text(json.dumps(record) + "\n")
    built(data_dir, "run", "--date", next_day, "--select", "group:calls")
    built(data_dir, "run", "--date", START, "--select", "key:bronze/calls_transcripts")

    alone = built(data_dir, "run", "--date", START, "--select", "key:silver/calls_transcripts")

    assert (
        f"  calls_transcripts                           1  landing/calls/transcripts/{START}/"
        f"part.jsonl:1: duplicate call_id (already kept on {next_day})\n" in alone
    ), alone
    assert (
        f"kept on later days: calls, silver/calls_transcripts kept records of these days on "
        f"{next_day} (run before them)" in alone
    )
