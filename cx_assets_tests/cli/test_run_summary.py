"""What `cx-lakehouse run` says at its end about what it read and wrote: landed files it did
not read, what it quarantined, its failed checks, and rows per gold table of its days."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pyarrow.parquet as pq
import pytest

from cx_assets_tests.cli import END, START, cli, landed, summary_line

pytestmark = pytest.mark.long_module


@pytest.fixture(scope="module")
def landed_copy(tmp_path_factory):
    """`landed_copy(data_dir, source, days=1)`: a data root at `data_dir` with `days` small
    days of `source` landed, as `landed` lands them: each landing generated once for the
    module, then copied into the data root of each test that asks for it (its files, their
    times too, as generated)."""
    generated: dict[tuple[str, int], Path] = {}

    def copied(data_dir: Path, source: str, *, days: int = 1) -> Path:
        if (source, days) not in generated:
            made = tmp_path_factory.mktemp(f"landed-{source}-{days}") / "data"
            generated[source, days] = landed(made, source, days=days)
        return shutil.copytree(generated[source, days], data_dir)

    return copied


def test_run_says_which_landed_files_it_did_not_read(tmp_path, landed_copy):
    """Seen in an audit: a `.txt` export or a batch in a subfolder was skipped with a
    warning only `--verbose` showed, and the run said OK: the files were lost without a word."""
    data_dir = landed_copy(tmp_path / "data", "calls")
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
    # files that did not change while the run read them are not named as changed
    assert "landed files changed" not in ran.stdout


def test_run_names_a_landed_file_that_changed_after_it_read_it(tmp_path, landed_copy):
    """Found running a day while its file was still being copied in place (`cp`, an SFTP
    upload): the run read the file as far as it was written, said nothing, and exited 0, the
    records written after it read them missing from gold until someone ran the day again.
    The summary now names the file and the command that runs the day again."""
    import itertools
    import json
    import threading

    data_dir = landed_copy(tmp_path / "data", "calls")
    folder = data_dir / "landing" / "calls" / "transcripts" / START
    growing = folder / "upload.jsonl"
    record = json.loads((folder / "transcripts-part-0001.jsonl").read_text().splitlines()[0])
    done = threading.Event()

    def write_slowly() -> None:  # a writer still going through the run
        with growing.open("a") as handle:
            for number in itertools.count():
                if done.wait(0.02):
                    return
                handle.write(json.dumps({**record, "call_id": f"UPLOAD-{number}"}) + "\n")
                handle.flush()

    writer = threading.Thread(target=write_slowly)
    writer.start()
    try:
        ran = cli("run", "--date", START, "--select", "group:calls", data_dir=data_dir)
    finally:
        done.set()
        writer.join()
    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = ran.stdout.splitlines()
    at = next(n for n, line in enumerate(lines) if line.startswith("landed files changed"))
    assert lines[at : at + 2] == [
        f"landed files changed after the run read them (still being written?): calls {START}, "
        f"landing/calls/transcripts/{START}/upload.jsonl. Once they are whole, run the day "
        "again with:",
        f"  cx-lakehouse run --date {START} --select group:calls",
    ]
    assert len([line for line in lines if line.startswith("landed files changed")]) == 1


def test_a_landed_file_removed_after_the_run_read_it_names_its_date_folder(tmp_path):
    """A day whose landed files changed after the run read them is named with the files
    changed since the run began; a file removed meanwhile has none to name (it is gone):
    the day is named by its date folder then, not by an empty list ('crm 2024-01-05, .')."""
    import time

    from cx_assets.cli.run_plan import RunPlan
    from cx_assets.lakehouse.assets import LANDED_TABLE, metadata_value
    from cx_assets.lakehouse.landing import discover
    from cx_assets.lakehouse.landing_state import day_fingerprints

    plan = RunPlan.resolve("group:crm")
    (key,) = [
        key
        for key in plan.graph.get_all_asset_keys()
        if metadata_value(plan.graph.get(key).metadata, LANDED_TABLE) == "crm/interactions"
    ]
    landing, day = tmp_path / "landing", date(2024, 1, 5)
    folder = landing / "crm" / "interactions" / day.isoformat()
    folder.mkdir(parents=True)
    for name in ("a.jsonl", "b.jsonl"):
        (folder / name).write_text('{"Id": 1}\n')
    read = {key: day_fingerprints(discover(landing, "crm", "interactions", day, []), [day])}
    since = time.time()
    assert plan.landing_changed_since_read(landing, read, since) == []  # as it was read

    (folder / "b.jsonl").unlink()
    assert plan.landing_changed_since_read(landing, read, since) == [
        ("crm", "2024-01-05", ["landing/crm/interactions/2024-01-05"])
    ]
    time.sleep(0.02)  # past the file system's coarser clock
    (folder / "c.jsonl").write_text('{"Id": 2}\n')  # and one landed since: named
    assert plan.landing_changed_since_read(landing, read, since) == [
        ("crm", "2024-01-05", ["landing/crm/interactions/2024-01-05/c.jsonl"])
    ]


def test_run_counts_every_landed_file_it_did_not_read_beyond_those_listed(tmp_path, landed_copy):
    """The bronze materialization lists the first 50 files not read and counts the rest
    (found in a landing-shape audit: 5,000 listed made a 455 kB event): the summary still
    says how many in all."""
    data_dir = landed_copy(tmp_path / "data", "calls")
    folder = data_dir / "landing" / "calls" / "transcripts" / START
    for number in range(60):
        (folder / f"export-{number:02d}.txt").write_text("{}\n")
    ran = cli("run", "--date", START, "--select", "group:calls", data_dir=data_dir)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = ran.stdout.splitlines()
    at = lines.index("not read: 60 landed files, the first 5:")
    assert lines[at + 1] == (
        f"  landing/calls/transcripts/{START}/export-00.txt: not one of .jsonl, .json, .csv"
    )


def test_run_says_what_lies_where_no_step_reads_it_once_for_a_range(tmp_path, landed_copy):
    """Seen in an audit: a misspelled table folder, a date folder not named YYYY-MM-DD and a
    file outside a date folder were skipped without a word; and a range run listed a date
    folder's skipped file once per day of the range."""
    data_dir = landed_copy(tmp_path / "data", "calls")
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


def test_run_says_a_day_landed_before_the_first_partition_is_read_by_no_run(tmp_path, landed_copy):
    """Found in an audit: files landed for a day before CX_PARTITIONS_START were read by
    no run, and only the landing sensor's log said so."""
    data_dir = landed_copy(tmp_path / "data", "calls")
    early = data_dir / "landing" / "calls" / "transcripts" / "2023-12-31" / "f.jsonl"
    early.parent.mkdir(parents=True)
    early.write_text("{}\n")

    ran = cli("run", "--date", START, "--select", "group:calls", data_dir=data_dir)

    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = ran.stdout.splitlines()
    at = lines.index("not read: 1 landed file:")
    assert lines[at + 1] == (
        "  landing/calls/transcripts/2023-12-31: a day before the first partition "
        "(2024-01-01): no run reads it (CX_PARTITIONS_START sets the first)"
    )
    earlier_start = {"CX_PARTITIONS_START": "2023-12-31"}
    ran = cli("run", "--date", START, "--select", "group:calls", data_dir=data_dir, **earlier_start)
    assert ran.returncode == 0 and "not read" not in ran.stdout, ran.stdout


def test_run_says_what_lies_in_landing_outside_every_source(tmp_path, landed_copy):
    """Seen in a probe of the CLI: a folder of no source (`landing/crn`, a typo of `crm`)
    was read by no run and nothing said so. Every run says it, whatever it selects: no
    selection would ever read it."""
    data_dir = landed_copy(tmp_path / "data", "calls")
    landing = data_dir / "landing"
    (landing / "crn" / "interactions" / START).mkdir(parents=True)
    (landing / "crn" / "interactions" / START / "a.jsonl").write_text("{}\n")
    (landing / "README.txt").write_text("where files land\n")
    (landing / ".DS_Store").write_text("")  # hidden: in flight, never said

    ran = cli("run", "--date", START, "--select", "group:calls", data_dir=data_dir)

    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = ran.stdout.splitlines()
    at = lines.index("not read: 2 landed files:")
    assert lines[at + 1 : at + 3] == [
        "  landing/README.txt: a file outside a source's folder: files land in "
        "landing/<source>/<table>/<YYYY-MM-DD>/",
        "  landing/crn: not a source (the sources: calls, crm, digital, support)",
    ]


@pytest.fixture(scope="module")
def a_digital_day_run_with_two_exports_of_other_columns(tmp_path_factory, landed_copy):
    """`cx-lakehouse run` of a small digital day with two journeys exports more: `late.csv`
    without the optional error columns, and `spelled.csv` with `Action` for `action` among
    columns named as the contract names them. One run for the two tests of what its summary
    names, each file in a section of its own."""
    data_dir = landed_copy(tmp_path_factory.mktemp("digital") / "data", "digital")
    folder = data_dir / "landing" / "digital" / "journeys" / START
    (folder / "late.csv").write_text(
        "member_id,session_id,timestamp,journey_type,action,device_type\n"
        f"M1,S1,{START}T10:00:00,billing,start,mobile_web\n"
    )
    (folder / "spelled.csv").write_text(
        "member_id,session_id,timestamp,journey_type,Action,device_type,error_code,"
        f"error_message\nM2,S2,{START}T10:00:00,billing,start,mobile_web,,\n"
    )
    return cli("run", "--date", START, "--select", "group:digital", data_dir=data_dir)


def test_run_names_the_landed_files_without_a_column_for_an_optional_field(
    a_digital_day_run_with_two_exports_of_other_columns,
):
    """Seen in a probe of the CLI: a journeys export without its error columns was taken,
    every error code null, and only the step's log and metadata said so; the root causes
    of that day would read "no error" without a word in the summary."""
    ran = a_digital_day_run_with_two_exports_of_other_columns

    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = ran.stdout.splitlines()
    at = lines.index(
        "optional fields without a column, their records kept without a value: 1 landed file:"
    )
    assert lines[at + 1] == (
        f"  landing/digital/journeys/{START}/late.csv: error_code, error_message"
    )


def test_run_names_a_landed_json_file_whose_source_likely_renamed_an_optional_field(
    tmp_path, landed_copy
):
    """A ticket export sending `ticket_csat_score` for `csat_score` was taken silently,
    every score null; the summary names the file with both names (and no other optional
    field its records lack, with no undeclared field spelled as theirs), as it names a CSV
    file without an optional column. The generated day's own files are named nowhere."""
    data_dir = landed_copy(tmp_path / "data", "support")
    folder = data_dir / "landing" / "support" / "tickets" / START
    renamed = {
        "ticket_id": "TX1", "customer_id": "C1", "created_at": f"{START}T10:00:00Z",
        "status": "resolved", "priority": "low", "channel": "email", "subject": "Refund",
        "description": "Refund, please.", "ticket_csat_score": 5, "tags": ["refund"],
    }  # fmt: skip
    (folder / "late.jsonl").write_text(json.dumps(renamed) + "\n")

    ran = cli("run", "--date", START, "--select", "group:support", data_dir=data_dir)

    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = ran.stdout.splitlines()
    at = lines.index(
        "optional fields no record has, beside fields the contract does not declare "
        "(may be renames), their records kept without a value: 1 landed file:"
    )
    assert lines[at + 1] == (
        f"  landing/support/tickets/{START}/late.jsonl: csat_score absent, ticket_csat_score "
        "undeclared"
    )


def test_run_names_a_landed_csv_file_that_spelled_a_required_column_otherwise(
    a_digital_day_run_with_two_exports_of_other_columns,
):
    """A journeys export with `Action` for `action` among columns named as the contract
    names them: the summary's quarantine section said `missing required field "action"`,
    a name the user never delivered wrong. It now names the file and the column delivered,
    as it names a CSV file without an optional column."""
    ran = a_digital_day_run_with_two_exports_of_other_columns

    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = ran.stdout.splitlines()
    at = lines.index(
        "required fields spelled otherwise, their records quarantined as missing them: "
        "1 landed file:"
    )
    assert lines[at + 1] == f"  landing/digital/journeys/{START}/spelled.csv: Action for action"


def test_run_says_what_it_quarantined_and_where(tmp_path, landed_copy):
    data_dir = landed_copy(tmp_path / "data", "calls")
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


def test_the_quarantine_summary_of_a_range_finds_a_later_days_rejects(tmp_path, landed_copy):
    """The first day of the range is clean (its quarantine file is empty): the summary still
    names the later day's first bad record, rather than failing on the empty day."""
    data_dir = tmp_path / "data"
    landed_copy(data_dir, "calls", days=2)
    second = (date.fromisoformat(START) + timedelta(days=1)).isoformat()
    folder = data_dir / "landing" / "calls" / "transcripts" / second
    (folder / "late.jsonl").write_text("not json\n")
    ran = cli("run", "--date", START, "--to", second, "--select", "group:calls", data_dir=data_dir)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "Traceback" not in ran.stdout + ran.stderr
    (line,) = [line for line in ran.stdout.splitlines() if line.startswith("  calls_transcripts ")]
    assert f"landing/calls/transcripts/{second}/late.jsonl:1: invalid JSON" in line


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


def test_the_summary_counts_a_per_day_gold_table_over_the_runs_days_only(tmp_path, landed_copy):
    """A day run after an earlier one: a per-day gold table's summary line counts that day's
    rows, not every day the table holds."""
    data_dir = tmp_path / "data"
    landed_copy(data_dir, "calls", days=2)
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
    assert summary_line(ran.stdout, "calls_performance") == [
        "calls_performance", f"{by_day[END]:,}"
    ]  # fmt: skip


def _failed_step(step_key: str | None, cls_name: str, message: str, *, cause=None, run=False):
    """A step's failure event (`run`: the run's own, `step_key` None), of an error with
    `cause` under it; `cls_name` None: an event without an error."""
    error = SimpleNamespace(cls_name=cls_name, message=message, cause=cause) if cls_name else None
    return SimpleNamespace(
        is_step_failure=not run, is_run_failure=run, is_step_start=False, step_key=step_key,
        event_specific_data=SimpleNamespace(error=error),
    )  # fmt: skip


def _step_started(step_key: str):
    return SimpleNamespace(
        is_step_failure=False, is_run_failure=False, is_step_start=True, step_key=step_key,
        event_specific_data=None,
    )  # fmt: skip


# The error of a run that Ctrl-C or a stop signal interrupted: its class, its message.
_INTERRUPTED = (
    "DagsterExecutionInterruptedError",
    "dagster._core.errors.DagsterExecutionInterruptedError: Execution was interrupted",
)


def test_a_failed_step_is_one_readable_line():
    """Found by adding a domain in an audit: a class of the project's own came out twice, the
    second time with its module, and a blocking check's failure ended at its colon."""
    from cx_assets.cli.run_report import failure_lines

    result = SimpleNamespace(
        all_events=[
            _failed_step(
                "gold__answers",
                "SchemaViolation",
                "cx_assets.lakehouse.validation.SchemaViolation: Answers: column 'score' is "
                "missing\n\nStack Trace:\n  File ...",
            ),
            _failed_step(
                "gold__weekly",
                "DagsterAssetCheckFailedError",
                "dagster._core.errors.DagsterAssetCheckFailedError: 2 blocking asset checks "
                "failed with ERROR severity:\ngold/weekly: unique_key\ngold/other: row_count\n",
            ),
            _failed_step("gold__daily", "RuntimeError", "RuntimeError: rollup broke\n"),
            _failed_step("gold__bare", "KeyError", "'agent'"),
            # a message opening on a blank line: its first line of words
            _failed_step("gold__blank", "Failure", "\n  no answers landed\n"),
            # another error's lines after a colon may hold the data's values: left out
            _failed_step("silver__rows", "ValueError", "rows failed:\nmaria@example.com\n"),
        ]
    )
    assert failure_lines(result) == [
        "gold__answers: SchemaViolation: Answers: column 'score' is missing",
        "gold__weekly: DagsterAssetCheckFailedError: 2 blocking asset checks failed with ERROR "
        "severity: gold/weekly: unique_key; gold/other: row_count",
        "gold__daily: RuntimeError: rollup broke",
        "gold__bare: KeyError: 'agent'",
        "gold__blank: Failure: no answers landed",
        "silver__rows: ValueError: rows failed:",
    ]


def test_the_summary_of_a_damaged_warehouse_says_so_instead_of_counting(tmp_path, capsys):
    """Seen in an audit: a warehouse cut short after its catalog failed six steps, then the
    summary counting gold rows ended the command with a traceback."""
    from dagster import AssetKey

    from cx_assets.cli.run_report import RunTally, print_summary
    from cx_assets.lakehouse.warehouse import Warehouse

    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA gold")
        for _ in range(2):  # rewritten: its rows after the catalog, in the file
            con.execute(
                "CREATE OR REPLACE TABLE gold.kpis AS SELECT DATE '2024-02-01' + (range % 29)::INT "
                "AS date FROM range(300000)"
            )
            con.execute("CHECKPOINT")
    os.truncate(path, 300_000)
    warehouse = Warehouse(path=str(path))
    kpis = AssetKey(["gold", "kpis"])
    tally = RunTally(written={kpis})

    day = date(2024, 2, 1)
    print_summary({"warehouse": warehouse}, None, {kpis}, {kpis}, (day, day), tally)

    warehouse.close()
    said = capsys.readouterr().out.splitlines()
    assert said[0] == "gold rows: not counted, the warehouse file is damaged"
    assert said[1] == "checks: 0 passed, 0 warned, 0 failed"
    assert tally.damaged.startswith(f"{path} is damaged (")


def test_a_step_the_warehouse_s_full_disk_failed_names_the_file_duckdb_could_not_write():
    """DuckDB's failed COMMIT on a full disk (seen on a full tmpfs) names its write-ahead log."""
    from cx_assets.cli.run_report import full_disk_met

    said = (
        'TransactionContext Error: Failed to commit: Could not write file "/d/warehouse.duckdb'
        '.wal": No space left on device'
    )
    error = SimpleNamespace(message=said, cls_name="TransactionException", cause=None)
    failed = SimpleNamespace(is_step_failure=True, event_specific_data=SimpleNamespace(error=error))
    found = full_disk_met(SimpleNamespace(all_events=[failed]))
    assert (found.errno, found.filename) == (28, "/d/warehouse.duckdb.wal")


def test_a_step_a_full_disk_failed_moving_a_file_names_where_it_went():
    """A file copied into a full bronze folder (seen on a full mount): its error names the
    source too, on a disk with room; the disk named is the destination's."""
    from cx_assets.cli.run_report import full_disk_met

    said = "[Errno 28] No space left on device: '/big/.early-bronze/d.parquet' -> '/full/b.tmp'"
    error = SimpleNamespace(message=f"OSError: {said}", cls_name="OSError", cause=None)
    failed = SimpleNamespace(is_step_failure=True, event_specific_data=SimpleNamespace(error=error))
    assert full_disk_met(SimpleNamespace(all_events=[failed])).filename == "/full/b.tmp"


def test_a_step_refused_moving_a_file_names_where_it_went():
    """Seen in an audit: an early read's bronze file moved into a bronze folder of another
    user's; the folder refused is the destination's, not the early read's own."""
    from cx_assets.cli.run_report import not_writable_met

    said = (
        "[Errno 13] Permission denied: '/d/.early-bronze/v-1/data.parquet' -> '/d/bronze/x.parquet'"
    )
    error = SimpleNamespace(
        message=f"PermissionError: {said}", cls_name="PermissionError", cause=None
    )
    failed = SimpleNamespace(is_step_failure=True, event_specific_data=SimpleNamespace(error=error))
    other = SimpleNamespace(
        message="ValueError: Permission denied", cls_name="ValueError", cause=None
    )
    unnamed = SimpleNamespace(
        is_step_failure=True, event_specific_data=SimpleNamespace(error=other)
    )
    found = not_writable_met(SimpleNamespace(all_events=[unnamed, failed]))
    assert (found.errno, found.filename) == (13, "/d/bronze/x.parquet")
    assert not_writable_met(SimpleNamespace(all_events=[unnamed])) is None


def test_the_quarantine_summary_shows_a_file_named_after_a_person_masked(tmp_path, capsys):
    """A command's output is kept (a terminal's scrollback, a scheduler's log): the first
    quarantined record's file, named after a person (found in an audit), and the first copy
    its reason names are shown as silver shows them; the quarantine keeps the landed name."""
    import pandas as pd
    from dagster import AssetKey

    from cx_assets.cli.run_report import print_quarantined
    from cx_assets.lakehouse import quarantine

    day = date(2024, 1, 5)
    landed = f"landing/calls/transcripts/{day}/ana.souza@example.com.jsonl"
    rejects = pd.DataFrame(
        {
            "date": [day],
            "source_file": [landed],
            "line_number": [2],
            "reason": [f"duplicate call_id (first seen at {landed}:1)"],
            "raw": ["{}"],
        }
    )
    quarantine.write(tmp_path, "calls_transcripts", rejects, [day], datetime.now(UTC))
    print_quarantined(tmp_path, {AssetKey(["bronze", "calls_transcripts"])}, day, day, since=0)
    said = capsys.readouterr().out
    assert "ana.souza" not in said
    shown = re.search(r"landing/calls/transcripts/2024-01-05/\[email\]\.jsonl#[0-9a-f]{8}", said)
    assert shown and f"{shown[0]}:2: duplicate call_id (first seen at {shown[0]}:1)" in said


def test_the_quarantine_summary_counts_each_table_by_reason_with_its_first_place(tmp_path, capsys):
    """Found in an audit: a day of 100,000 calls, 30% bad in five ways, was summed up as
    30,000 records and the first one's bad timestamp, so the other four reasons, and a file
    re-delivered the next day (70 of its 100 records repeats of the day before), read as
    bad timestamps. Each table's records are counted by reason (positions left out, as
    `reject_ratio` counts them), most first, each with its first place, over the range's
    days and files; the first five reasons, and a line for the rest."""
    import pandas as pd
    from dagster import AssetKey

    from cx_assets.cli.run_report import print_quarantined
    from cx_assets.lakehouse import quarantine

    first, second = date(2024, 1, 5), date(2024, 1, 6)
    folder = f"landing/digital/calls/{first}"
    bad_time = 'field "call_timestamp" is not an ISO-8601 timestamp in years 1900-2199'
    rows = [  # (day, file, line, reason): four reasons on the first day, seven in all
        (first, f"{folder}/b.csv", 2, bad_time),
        (first, f"{folder}/a.csv", 9, 'missing required field "member_id"'),
        (first, f"{folder}/a.csv", 3, 'missing required field "member_id"'),
        (first, f"{folder}/a.csv", 4, f"duplicate call_id (first seen at {folder}/a.csv:2)"),
        (first, f"{folder}/b.csv", 5, f"duplicate call_id (first seen at {folder}/a.csv:7)"),
        (first, f"{folder}/b.csv", 6, "expected 9 fields, got 11"),
        (second, f"landing/digital/calls/{second}/c.csv", 2, bad_time),
        (second, f"landing/digital/calls/{second}/c.csv", 3, bad_time),
        (second, f"landing/digital/calls/{second}/c.csv", 4, "reason six"),
        (second, f"landing/digital/calls/{second}/c.csv", 5, "reason seven"),
    ]
    rejects = pd.DataFrame(rows, columns=["date", "source_file", "line_number", "reason"])
    quarantine.write(
        tmp_path, "digital_calls", rejects.assign(raw="x"), [first, second], datetime.now(UTC)
    )

    bronze = {AssetKey(["bronze", "digital_calls"])}
    print_quarantined(tmp_path, bronze, first, second, since=0)

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"quarantined: 10 records of these days, in {tmp_path}/ (first of each):"
    assert lines[1].split()[:3] == ["digital_calls", "10", f"{folder}/a.csv:3:"]
    assert lines[2:] == [
        "    from 3 files, by reason:",
        f"             3  {bad_time}  (first: {folder}/b.csv:2)",
        f"             2  duplicate call_id  (first: {folder}/a.csv:4)",
        f'             2  missing required field "member_id"  (first: {folder}/a.csv:3)',
        f"             1  expected 9 fields, got 11  (first: {folder}/b.csv:6)",
        f"             1  reason seven  (first: landing/digital/calls/{second}/c.csv:5)",
        "    and 1 more reason, 1 record",
    ]


def test_a_check_failing_on_two_days_says_one_more_day():
    """A check failing on two days of a range: 'and 1 more day', not '1 more days', and the
    range's first day before its last (found by mutation testing: the plural of one more
    day, untested, passed every test of the summary)."""
    from dagster import AssetCheckSeverity, AssetKey

    from cx_assets.cli.run import RunTally

    tally = RunTally()
    for day in ("2024-01-02", "2024-01-01"):
        tally.add(SimpleNamespace(
            passed=False, asset_key=AssetKey(["bronze", "a"]), check_name="non_empty",
            description=f"no records on {day}", severity=AssetCheckSeverity.WARN, partition=day,
        ))  # fmt: skip
    assert tally.problem_lines() == [
        "WARN  bronze/a:non_empty (no records on 2024-01-01) and 1 more day, "
        "2024-01-01 to 2024-01-02"
    ]


@pytest.mark.parametrize(
    ("changed", "named"),
    [
        (["a.jsonl", "b.jsonl", "c.jsonl"], "a.jsonl, b.jsonl, c.jsonl."),
        (["a.jsonl", "b.jsonl", "c.jsonl", "d.jsonl"], "a.jsonl, b.jsonl, c.jsonl and 1 more."),
        ([f"{n}.jsonl" for n in range(1, 8)], "1.jsonl, 2.jsonl, 3.jsonl and 4 more."),
    ],
    ids=["three", "four", "seven"],
)
def test_files_changed_after_the_run_read_them_are_three_named_and_the_rest_counted(
    capsys, changed, named
):
    """A day's files changed after the run read them: the first three named, every other
    one counted (found by mutation testing: four files named three and left the fourth
    uncounted, passing every test of the summary, whose days changed one or two files)."""
    from cx_assets.cli.run_report import print_changed_since_read

    print_changed_since_read([("calls", START, changed)])

    assert capsys.readouterr().out.splitlines() == [
        "landed files changed after the run read them (still being written?): calls "
        f"{START}, {named} Once they are whole, run the day again with:",
        f"  cx-lakehouse run --date {START} --select group:calls",
    ]


@pytest.mark.parametrize(
    ("checks", "named"),
    [
        (1, "gold/weekly: check_1"),
        (3, "gold/weekly: check_1; gold/weekly: check_2; gold/weekly: check_3"),
        (6, "gold/weekly: check_1; gold/weekly: check_2; gold/weekly: check_3; and 3 more lines"),
    ],
    ids=["one", "three", "six"],
)
def test_a_blocking_checks_failure_names_three_checks_and_counts_the_rest(checks, named):
    """A step that blocking checks failed names the first three and counts the others
    (found by mutation testing: two named, the rest miscounted or not counted at all, each
    passed every test of the summary, whose step named two checks; and again: one check
    left unnamed, its line ending at the colon, and three said `and 0 more lines`)."""
    from cx_assets.cli.run_report import failure_lines

    lines = [f"gold/weekly: check_{n}" for n in range(1, checks + 1)]
    message = (
        f"dagster._core.errors.DagsterAssetCheckFailedError: {checks} blocking asset checks "
        "failed with ERROR severity:\n" + "\n".join(lines) + "\n"
    )
    result = SimpleNamespace(
        all_events=[_failed_step("gold__weekly", "DagsterAssetCheckFailedError", message)]
    )
    assert failure_lines(result) == [
        f"gold__weekly: DagsterAssetCheckFailedError: {checks} blocking asset checks failed "
        f"with ERROR severity: {named}"
    ]


def test_a_step_that_met_the_warehouse_damaged_says_the_damage_and_not_what_to_do():
    """A step's line of a damaged warehouse ends at the damage: what to do is the command's
    last line, said once (found by mutation testing: the whole advice repeated on every
    failed step's line passed every test, which looked for the damage in it)."""
    from cx_assets.cli.run_report import damage_met, failure_lines

    said = (
        "/data/warehouse.duckdb is damaged (IO Error: Could not read enough bytes). The "
        "landing files and bronze Parquet it is built from are outside it: move it aside"
    )
    result = SimpleNamespace(
        all_events=[
            _failed_step("silver__a", "WarehouseDamagedError", f"{said}\n"),
            _failed_step("silver__b", "WarehouseDamagedError", f"{said}\n"),
        ]
    )
    damage = "/data/warehouse.duckdb is damaged (IO Error: Could not read enough bytes)"
    assert failure_lines(result) == [
        f"silver__a: WarehouseDamagedError: {damage}",
        f"silver__b: WarehouseDamagedError: {damage}",
    ]
    assert damage_met(result) == said  # the command's last line, whole


class _GoldInMemory:
    """A warehouse of gold tables in memory, connected to as `print_summary` connects."""

    def __init__(self, con):
        self.con = con

    @contextlib.contextmanager
    def connect(self):
        yield self.con


def test_the_summary_counts_each_gold_table_by_name_and_lists_five_files_not_read(capsys):
    """Worked by hand, a run of 2024-01-02 to 01-03: gold tables in name order whatever
    order the plan holds them in; a per-day table it wrote counted over its two days (2 + 4
    of 9 rows), a whole-history one whole; one it did not write, built by an earlier run on
    01-02 alone, said to be that run's; a whole-history one it did not write, never
    materialized, holding what a failed step left (no rows); one never written; one whose
    step wrote the warehouse and failed before its Parquet, to be published; six landed
    files not read, the first five listed; the checks' three counts each in its place. The
    run failed: the tables whose steps it did not start (left out after a step before them
    failed) say so. Found by mutation testing, each passing every test of the summary: the
    tables in the plan's order; an earlier run's days asked all to be materialized before
    (its rows said a failed step's); a rollup's rows said never written for the days; the
    cap of five files said only past six, or a sixth file listed; warned and failed
    swapped. And again, each passing the summary's fast tests: a silver table of the plan
    counted as a gold one; the rows of a table left unpublished said a failed step's."""
    from dagster import AssetKey

    from cx_assets.cli.run_report import RunTally, print_summary

    con = duckdb.connect()
    con.execute("CREATE SCHEMA gold")
    days = ["2024-01-01"] * 3 + ["2024-01-02"] * 2 + ["2024-01-03"] * 4
    con.execute("CREATE TABLE gold.calls_kpis_daily AS SELECT unnest(?::DATE[]) AS date", [days])
    con.execute("CREATE TABLE gold.calls_earlier_daily AS SELECT unnest(?::DATE[]) AS date",
                [["2024-01-02", "2024-01-02"]])  # fmt: skip
    con.execute("CREATE TABLE gold.calls_agent_totals AS SELECT * FROM range(5)")
    con.execute("CREATE TABLE gold.calls_left_totals AS SELECT * FROM range(0)")
    con.execute("CREATE TABLE gold.calls_unpublished_daily AS SELECT DATE '2024-01-03' AS date")
    per_day, earlier, rollup, left, never, unpublished = (
        AssetKey(["gold", name])
        for name in ("calls_kpis_daily", "calls_earlier_daily", "calls_agent_totals",
                     "calls_left_totals", "calls_never_built", "calls_unpublished_daily")
    )  # fmt: skip
    tally = RunTally(passed=3, warned=1, failed=2, written={per_day, rollup})
    tally.steps_started = {f"gold__{key.path[-1]}" for key in (per_day, rollup, left, unpublished)}
    tally.ignored = {(f"calls/transcripts/2024-01-02/{n}.txt", "not .json") for n in "fedcba"}
    instance = SimpleNamespace(
        get_materialized_partitions=lambda key: {"2024-01-02"} if key == earlier else set(),
        get_latest_materialization_event=lambda key: None,
    )
    resources = {
        "warehouse": _GoldInMemory(con),
        "gold_io_manager": SimpleNamespace(
            left_unpublished={"calls_unpublished_daily"}.__contains__
        ),
    }

    silver = AssetKey(["silver", "calls_transcripts"])  # of the plan too: no gold row
    planned = [per_day, never, unpublished, left, silver, earlier, rollup]
    print_summary(resources, instance, planned, {per_day, earlier, silver, unpublished},
                  (date(2024, 1, 2), date(2024, 1, 3)), tally)  # fmt: skip

    assert capsys.readouterr().out.splitlines() == [
        "gold rows:",
        f"  {'calls_agent_totals':<34} {5:>10,}",
        f"  {'calls_earlier_daily':<34} {2:>10,}  (its step did not run; not written by this "
        "run: an earlier run's)",
        f"  {'calls_kpis_daily':<34} {6:>10,}",
        f"  {'calls_left_totals':<34} {0:>10,}  (not materialized: rows a failed step left in "
        "the warehouse)",
        f"  {'calls_never_built':<34} (its step did not run; never written)",
        f"  {'calls_unpublished_daily':<34} {1:>10,}  (not materialized: its step wrote the "
        "warehouse, then failed before the Parquet; the next run publishes it)",
        "not read: 6 landed files, the first 5:",
        *(f"  calls/transcripts/2024-01-02/{n}.txt: not .json" for n in "abcde"),
        "checks: 3 passed, 1 warned, 2 failed",
    ]


def test_the_summary_lists_five_landed_files_of_each_kind_and_counts_them_all(capsys):
    """Worked by hand: six files without an optional field's column (the first five by name
    listed, all six counted), one of a likely rename, five spelling a required field
    otherwise (all five listed, no `the first 5`), each under its heading. Found by mutation
    testing: four listed of six passed every test of the summary, whose days had a file or
    two of each kind; and `the first 5` said of five."""
    from cx_assets.cli.run_report import RunTally, print_summary

    tally = RunTally()
    tally.missing_columns = {(f"digital/members/2024-01-02/{n}.csv", "segment") for n in "fedcba"}
    tally.renamed_fields = {("calls/transcripts/2024-01-02/a.jsonl", "customer_id absent, "
                             "client_id undeclared")}  # fmt: skip
    tally.spelled_otherwise = {
        (f"support/agents/2024-01-02/{n}.csv", "Agent ID for agent_id") for n in "edcba"
    }

    print_summary({}, None, [], set(), (date(2024, 1, 2), date(2024, 1, 2)), tally)

    assert capsys.readouterr().out.splitlines() == [
        "optional fields without a column, their records kept without a value: 6 landed "
        "files, the first 5:",
        *(f"  digital/members/2024-01-02/{n}.csv: segment" for n in "abcde"),
        "optional fields no record has, beside fields the contract does not declare (may be "
        "renames), their records kept without a value: 1 landed file:",
        "  calls/transcripts/2024-01-02/a.jsonl: customer_id absent, client_id undeclared",
        "required fields spelled otherwise, their records quarantined as missing them: 5 "
        "landed files:",
        *(f"  support/agents/2024-01-02/{n}.csv: Agent ID for agent_id" for n in "abcde"),
        "checks: 0 passed, 0 warned, 0 failed",
    ]


def test_the_quarantine_summary_of_one_record_and_of_one_file_in_seven_ways(tmp_path, capsys):
    """Worked by hand: a day of one quarantined record says `1 record`, with no reasons
    under it; one file's 28 records in seven ways are counted by reason (one file, several
    reasons), the five most first, then the other two reasons' 3 records in a line. Found by
    mutation testing, each passing every test of the summary: `1 records`; the reasons of a
    single file left out; the rest counted as 2 records (one per reason)."""
    import pandas as pd
    from dagster import AssetKey

    from cx_assets.cli.run_report import print_quarantined
    from cx_assets.lakehouse import quarantine

    day = date(2024, 1, 5)
    one = f"landing/calls/transcripts/{day}/a.jsonl"
    rejects = pd.DataFrame(
        [(day, one, 4, "line is not valid JSON")],
        columns=["date", "source_file", "line_number", "reason"],
    )
    quarantine.write(tmp_path, "calls_transcripts", rejects.assign(raw="x"), [day],
                     datetime.now(UTC))  # fmt: skip
    print_quarantined(tmp_path, {AssetKey(["bronze", "calls_transcripts"])}, day, day, since=0)

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"quarantined: 1 record of these days, in {tmp_path}/ (first of each):"
    assert lines[1].split() == ["calls_transcripts", "1", f"{one}:4:", "line", "is", "not",
                                "valid", "JSON"]  # fmt: skip
    assert len(lines) == 2

    many = f"landing/digital/calls/{day}/b.csv"
    counts = {"reason one": 7, "reason two": 6, "reason three": 5, "reason four": 4,
              "reason five": 3, "reason six": 2, "reason seven": 1}  # fmt: skip
    reasons = [reason for reason, count in counts.items() for _ in range(count)]
    rejects = pd.DataFrame(
        [(day, many, line, reason) for line, reason in enumerate(reasons, start=2)],
        columns=["date", "source_file", "line_number", "reason"],
    )
    quarantine.write(tmp_path, "digital_calls", rejects.assign(raw="x"), [day], datetime.now(UTC))
    print_quarantined(tmp_path, {AssetKey(["bronze", "digital_calls"])}, day, day, since=0)

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"quarantined: 28 records of these days, in {tmp_path}/ (first of each):"
    assert lines[2:] == [
        "    from 1 file, by reason:",
        f"             7  reason one  (first: {many}:2)",
        f"             6  reason two  (first: {many}:9)",
        f"             5  reason three  (first: {many}:15)",
        f"             4  reason four  (first: {many}:20)",
        f"             3  reason five  (first: {many}:24)",
        "    and 2 more reasons, 3 records",
    ]


def test_kept_on_later_days_reads_only_the_quarantine_written_since_the_run_began(tmp_path):
    """The advice to run a late day with the later days that kept its records says this
    run's copies were quarantined: a day's quarantine an earlier run wrote (this run failed
    before the day's silver step) names no later day. A silver table run alone quarantines
    its bronze's records too (seen in a probe: neither its quarantined records nor this
    advice were said, as the run held no bronze table); a gold table writes none."""
    import time

    import pyarrow as pa
    from dagster import AssetKey

    from cx_assets.cli.run_plan import RunPlan
    from cx_assets.lakehouse.parquet import partition_folder

    plan = RunPlan.resolve("key:silver/calls_transcripts")
    assert plan.landed_tables() == [AssetKey(["bronze", "calls_transcripts"])]
    assert RunPlan.resolve("key:gold/calls_kpis_daily").landed_tables() == []
    # Not the contacts the interactions read too: their quarantine is another step's.
    interactions = RunPlan.resolve("key:silver/crm_interactions").landed_tables()
    assert interactions == [AssetKey(["bronze", "crm_interactions"])]
    quarantine = tmp_path / "quarantine"
    for day, kept_on in ((date(2024, 1, 1), "2024-01-03"), (date(2024, 1, 2), "2024-01-05")):
        folder = partition_folder(quarantine / "calls_transcripts", day)
        folder.mkdir(parents=True)
        reason = f"duplicate call_id (already kept on {kept_on})"
        pq.write_table(pa.table({"reason": [reason, "not valid JSON"]}), folder / "part.parquet")
    written = partition_folder(quarantine / "calls_transcripts", date(2024, 1, 2)) / "part.parquet"
    since = written.stat().st_mtime + 1
    os.utime(written, (since + 1, since + 1))  # the second day's is this run's

    (later,) = plan.kept_on_later_days(quarantine, date(2024, 1, 1), date(2024, 1, 2), since=since)
    assert (later.group, later.days, later.tables) == (
        "calls",
        ("2024-01-05",),
        ("silver/calls_transcripts",),
    )
    before = time.time() - 3600
    both = plan.kept_on_later_days(quarantine, date(2024, 1, 1), date(2024, 1, 2), since=before)
    assert [found.days for found in both] == [("2024-01-03", "2024-01-05")]


def _metadata(**values) -> dict:
    """A materialization's metadata: each value as Dagster holds it (`.value`)."""
    return {name: SimpleNamespace(value=value) for name, value in values.items()}


def test_the_tally_gathers_what_each_day_s_materialization_says_of_its_landed_files():
    """Worked by hand, a range's two bronze materializations of one table: the files each
    lists as not read, and those it counted without listing them (5 counted, 2 listed: 3
    more); each day's fingerprint kept, the first day's too; the optional columns missing,
    the likely renamed fields and the required ones spelled otherwise, each as the summary
    says them. Found by mutation testing, each passing the summary's fast tests (whose
    tallies were made by hand): the listed files counted twice; the second day's
    fingerprints replacing the first's (its changes after the read then never said); the
    asset not marked written."""
    from dagster import AssetKey

    from cx_assets.cli.run_report import RunTally
    from cx_assets.lakehouse.asset_factories import IGNORED_COUNT, IGNORED_FILES
    from cx_assets.lakehouse.landing_state import LANDING_FINGERPRINTS
    from cx_assets.lakehouse.silver_report import (
        LIKELY_RENAMED_FIELDS,
        MISSING_OPTIONAL_COLUMNS,
        REQUIRED_SPELLED_OTHERWISE,
    )

    key = AssetKey(["bronze", "digital_journeys"])
    first = _metadata(**{
        IGNORED_FILES: [["a/x.txt", "not .csv"], ["a/y.txt", "not .csv"]], IGNORED_COUNT: 5,
        LANDING_FINGERPRINTS: {"2024-01-05": ["f1"]},
        MISSING_OPTIONAL_COLUMNS: {"m.csv": ["error_code", "error_message"]},
    })  # fmt: skip
    second = _metadata(**{
        IGNORED_FILES: [["b/z.txt", "a folder"]], LANDING_FINGERPRINTS: {"2024-01-06": ["f2"]},
        LIKELY_RENAMED_FIELDS: {"t.jsonl": {"absent": ["csat_score"],
                                            "undeclared": ["ticket_csat_score"]}},
        REQUIRED_SPELLED_OTHERWISE: {"s.csv": {"Action": "action", "Member": "member_id"}},
    })  # fmt: skip
    tally = RunTally()
    for metadata in (first, second):
        tally.add_materialization(
            SimpleNamespace(asset_key=key, materialization=SimpleNamespace(metadata=metadata))
        )

    assert tally.written == {key}
    assert tally.ignored == {("a/x.txt", "not .csv"), ("a/y.txt", "not .csv"),
                             ("b/z.txt", "a folder")}  # fmt: skip
    assert tally.ignored_unlisted == 3
    assert tally.read_landing == {key: {"2024-01-05": ["f1"], "2024-01-06": ["f2"]}}
    assert tally.missing_columns == {("m.csv", "error_code, error_message")}
    assert tally.renamed_fields == {("t.jsonl", "csat_score absent, ticket_csat_score undeclared")}
    assert tally.spelled_otherwise == {("s.csv", "Action for action, Member for member_id")}


def test_the_tally_of_a_failed_run_keeps_the_steps_it_started_and_whether_it_was_stopped():
    """Worked by hand: a run that started two steps, one failing, and then was interrupted:
    the steps started are the two (a step of a table the summary says `its step did not
    run` for is none of them), and it was interrupted; nothing of a damaged warehouse, a
    full disk or a file it may not write. Found by mutation testing: the steps that
    succeeded taken for those started passed the summary's fast tests."""
    from cx_assets.cli.run_report import RunTally

    result = SimpleNamespace(all_events=[
        _step_started("silver__calls_transcripts"), _step_started("gold__calls_kpis_daily"),
        _failed_step("gold__calls_kpis_daily", "RuntimeError", "RuntimeError: kpis broke"),
        _failed_step(None, *_INTERRUPTED, run=True),
    ])  # fmt: skip
    tally = RunTally()

    tally.add_failure(result)

    assert tally.steps_started == {"silver__calls_transcripts", "gold__calls_kpis_daily"}
    assert tally.interrupted is True
    assert (tally.damaged, tally.full_disk, tally.not_writable) == (None, None, None)


@pytest.mark.parametrize(
    ("events", "said"),
    [
        (
            [_failed_step("gold__a", "RuntimeError", "RuntimeError: a broke"),
             _failed_step(None, "DagsterExecutionStepExecutionError", "steps failed", run=True)],
            ["gold__a: RuntimeError: a broke"],
        ),
        ([_failed_step(None, *_INTERRUPTED, run=True)],
         ["run: interrupted (Ctrl-C or a stop signal) before it finished"]),
        ([_failed_step(None, None, "", run=True)], ["see the Dagster UI for the run's events"]),
        ([_failed_step(None, "RuntimeError", "RuntimeError: no job", run=True)],
         ["run: RuntimeError: no job"]),
        ([_failed_step("bronze__a", "InterruptedError", "[Errno 4] Interrupted system call")],
         ["bronze__a: InterruptedError: [Errno 4] Interrupted system call"]),
    ],
    ids=["a-step-and-the-run", "interrupted", "the-run-without-an-error", "the-run-alone",
         "a-system-call-interrupted"],
)  # fmt: skip
def test_the_runs_own_failure_is_said_only_when_no_step_failed(events, said):
    """The run's failure repeats its failed step's error: said only without one (an
    interruption, in one line; an error before any step), and without an error of its own,
    the UI is where to look; a step's system call interrupted (Python's `InterruptedError`)
    is the step's error, no Ctrl-C. Found by mutation testing, each passing the summary's
    fast tests: the run's failure said before (or with) the step's; an interruption said
    twice, its error's line after the words; `run: unknown error`; the interrupted system
    call taken for Ctrl-C."""
    from cx_assets.cli.run_report import failure_lines

    assert failure_lines(SimpleNamespace(all_events=events)) == said


def test_a_damaged_parquet_file_is_said_by_the_error_naming_it_not_as_the_warehouse():
    """A step that met a damaged bronze Parquet file: its line is our error naming the file,
    not Arrow's cause below it ("Parquet magic bytes not found", naming neither the file nor
    the run that writes it anew); and it is no damaged warehouse, whose line ends the command
    telling to move the warehouse aside. Found by mutation testing, each passing the summary's
    fast tests: Arrow's cause said; the file taken for the warehouse."""
    from cx_assets.cli.run_report import damage_met, failure_lines

    said = "/d/bronze/x/date=2024-01-05/part.parquet cannot be read as Parquet (magic bytes)"
    arrow = SimpleNamespace(cls_name="ArrowInvalid", message="Parquet magic bytes not found",
                            cause=None)  # fmt: skip
    damaged = _failed_step("silver__x", "DamagedParquetError", said, cause=arrow)
    result = SimpleNamespace(all_events=[damaged])

    assert failure_lines(result) == [f"silver__x: DamagedParquetError: {said}"]
    assert damage_met(result) is None


@pytest.mark.parametrize(
    ("cls_name", "message", "said"),
    [
        ("OperationalError", "sqlite3.OperationalError: database or disk is full\nmore",
         "database or disk is full"),
        ("OSError", "OSError: [Errno 28] Error writing bytes: No space left on device",
         "[Errno 28] Error writing bytes: No space left on device"),
    ],
    ids=["sqlite", "arrow"],
)  # fmt: skip
def test_a_step_a_full_disk_failed_naming_no_file_is_said_by_its_first_line(
    cls_name, message, said
):
    """A full disk whose error names no file (SQLite's, of Dagster's history; Arrow's,
    writing Parquet) is a full disk too, said by its error's first line without its class.
    Found by mutation testing, each passing the summary's fast tests: SQLite's words not
    taken for a full disk; an unnamed one not at all; its class left in its line."""
    from cx_assets.cli.run_report import full_disk_met

    found = full_disk_met(SimpleNamespace(all_events=[_failed_step("gold__a", cls_name, message)]))
    assert (found.errno, found.strerror, found.filename) == (28, said, None)


@pytest.mark.parametrize(
    ("message", "code", "said"),
    [
        ("OSError: [Errno 30] Read-only file system: '/ro/bronze/x.parquet'", 30,
         "Read-only file system"),
        ("DayFoldersNotRead: [Errno 13] Permission denied: '/l/calls/t/2024-01-05'; and 2 more "
         "day folders of calls/t it cannot read either: 2024-01-06, 2024-01-07", 13,
         "Permission denied; and 2 more day folders of calls/t it cannot read either: "
         "2024-01-06, 2024-01-07"),
    ],
    ids=["read-only-mount", "day-folders"],
)  # fmt: skip
def test_a_step_that_may_not_write_or_read_names_the_file_and_the_other_days(message, code, said):
    """A read-only mount is a file the step may not write, as a folder of another user's; a
    range's day folders a bronze step may not read name the first and count the others.
    Found by mutation testing, each passing the summary's fast tests: a read-only file
    system left to end in `FAILED`; the other day folders left out of the line."""
    from cx_assets.cli.run_report import not_writable_met

    found = not_writable_met(SimpleNamespace(all_events=[_failed_step("b", "OSError", message)]))
    assert (found.errno, found.strerror) == (code, said)
    assert found.filename == message.split("'")[1]


def test_the_advice_after_a_run_names_every_table_and_the_days_to_run_together(capsys):
    """Worked by hand, a run of 2024-01-04 to 01-05: later days an earlier run built from
    what it rebuilt (one day of a group, two of another), from the first day it rebuilt,
    2024-01-03; days before it never built, to its last day; tables the selection left out;
    later days that kept records of its days, from its first day. Each names every table
    it is about, with the one command. Found by mutation testing, each passing the summary's
    fast tests: two later days said as `1 day`; one table named of two; a command from
    the later or earlier days themselves, leaving days between run apart; the left-out
    tables said as the rebuilt ones."""
    from cx_assets.cli.run_report import (
        print_earlier_days,
        print_kept_on_later_days,
        print_later_days,
        print_readers_left_out,
    )
    from cx_assets.lakehouse.staleness import EarlierDays, LaterDays, ReadersLeftOut

    print_later_days([LaterDays("digital", ("2024-01-07",), ("silver/a", "gold/b")),
                      LaterDays("calls", ("2024-01-06", "2024-01-08"), ("gold/c",))],
                     "2024-01-03")  # fmt: skip
    print_earlier_days([EarlierDays("crm", ("2024-01-01",), ("gold/d",))], "2024-01-05")
    print_readers_left_out(None)
    print_readers_left_out(ReadersLeftOut(("2024-01-04", "2024-01-05"), ("gold/e", "gold/f"),
                                          ("silver/g",)))  # fmt: skip
    print_kept_on_later_days(
        [LaterDays("calls", ("2024-01-06", "2024-01-09"), ("silver/h", "silver/i"))], "2024-01-04"
    )

    assert capsys.readouterr().out.splitlines() == [
        "later days out of date: digital, 1 day, 2024-01-07: silver/a, gold/b read these days, "
        "and an earlier run built them. Bring them up to date with:",
        "  cx-lakehouse run --date 2024-01-03 --to 2024-01-07 --select group:digital",
        "later days out of date: calls, 2 days from 2024-01-06 to 2024-01-08: gold/c read these "
        "days, and an earlier run built them. Bring them up to date with:",
        "  cx-lakehouse run --date 2024-01-03 --to 2024-01-08 --select group:calls",
        "earlier days not built: crm, 1 day, 2024-01-01, landed but was never built, and gold/d "
        "read it as a day with no rows. Build it with:",
        "  cx-lakehouse run --date 2024-01-01 --to 2024-01-05 --select group:crm",
        "left out of date by the selection: gold/e, gold/f of 2024-01-04 to 2024-01-05 read "
        "silver/g, rebuilt by this run after them. Bring them up to date with:",
        "  cx-lakehouse run --date 2024-01-04 --to 2024-01-05 --select key:silver/g+",
        "kept on later days: calls, silver/h, silver/i kept records of these days on 2024-01-06 "
        "to 2024-01-09 (run before them), and quarantined this run's copies as already kept "
        "there. Give each record to its first delivery with:",
        "  cx-lakehouse run --date 2024-01-04 --to 2024-01-09 --select group:calls",
    ]


@pytest.mark.parametrize(
    ("listed", "unlisted", "heading"),
    [
        (1, 0, "not read: 1 landed file:"),
        (2, 3, "not read: 5 landed files:"),
        (5, 1000, "not read: 1,005 landed files, the first 5:"),
    ],
    ids=["one", "five-two-listed", "past-a-thousand"],
)
def test_the_summary_counts_every_landed_file_not_read_listed_or_not(
    capsys, listed, unlisted, heading
):
    """Worked by hand: the files the materializations listed and those they only counted
    (`ignored_unlisted`) are counted together, `the first 5` said only past five, the files
    listed by name. Found by mutation testing, each passing the summary's fast tests (a
    whole run of the command caught the second): `1 landed files`; `the first 5` of five;
    the files only counted left out of the count."""
    from cx_assets.cli.run_report import RunTally, print_summary

    names = [f"calls/transcripts/2024-01-02/{n}.txt" for n in "abcde"[:listed]]
    tally = RunTally(ignored={(name, "not .json") for name in names}, ignored_unlisted=unlisted)

    print_summary({}, None, [], set(), (date(2024, 1, 2), date(2024, 1, 2)), tally)

    assert capsys.readouterr().out.splitlines() == [
        heading,
        *(f"  {name}: not .json" for name in names),
        "checks: 0 passed, 0 warned, 0 failed",
    ]


def test_the_quarantine_summary_of_two_tables_says_whose_each_table_s_records_are(tmp_path, capsys):
    """Worked by hand, a failed run of 2024-01-05 to 01-06 that began at `since`: the calls'
    first day clean (its empty file an earlier run's), their second day's one record this
    run's; the digital calls' first day's two records an earlier run's (the run failed
    before rewriting it), their second day's one record this run's. Each table says its own
    count and first record, from the first day holding one; a table holding an earlier
    run's records on any day says so, an earlier empty file says nothing. Found by mutation
    testing, each passing the summary's fast tests: each table given the total; the second
    table left out; a clean first day read for the first record; `an earlier run's` only
    when every day is; an earlier empty file marking the table an earlier run's."""
    import time

    import pandas as pd
    from dagster import AssetKey

    from cx_assets.cli.run_report import print_quarantined
    from cx_assets.lakehouse import quarantine
    from cx_assets.lakehouse.parquet import partition_folder

    first, second = date(2024, 1, 5), date(2024, 1, 6)
    rows = {
        "calls_transcripts": [(second, f"landing/calls/transcripts/{second}/c.jsonl", 3, "bad")],
        "digital_calls": [(first, f"landing/digital/calls/{first}/a.csv", 2, "late"),
                          (first, f"landing/digital/calls/{first}/a.csv", 4, "late"),
                          (second, f"landing/digital/calls/{second}/b.csv", 5, "late")],
    }  # fmt: skip
    since, earlier = time.time() - 60, time.time() - 3600
    for table, rejected in rows.items():
        rejects = pd.DataFrame(rejected, columns=["date", "source_file", "line_number", "reason"])
        quarantine.write(tmp_path, table, rejects.assign(raw="x"), [first, second],
                         datetime.now(UTC))  # fmt: skip
        for written in partition_folder(tmp_path / table, first).glob("*.parquet"):
            os.utime(written, (earlier, earlier))
    tables = {AssetKey(["bronze", "digital_calls"]), AssetKey(["bronze", "calls_transcripts"])}

    print_quarantined(tmp_path, tables, first, second, since=since)

    assert capsys.readouterr().out.splitlines() == [
        f"quarantined: 4 records of these days, in {tmp_path}/ (first of each):",
        f"  {'calls_transcripts':<34} {1:>10,}  landing/calls/transcripts/{second}/c.jsonl:3: bad",
        f"  {'digital_calls':<34} {3:>10,}  landing/digital/calls/{first}/a.csv:2: late  "
        "(an earlier run's)",
        "    from 2 files, by reason:",
        f"             3  late  (first: landing/digital/calls/{first}/a.csv:2)",
    ]


def _run_ended(monkeypatch, tmp_path, tally, *, succeeded: bool, last: date = date(2024, 1, 5)):
    """How `run` ends after its run and summary (`_run_and_report` giving `succeeded` and
    `tally`, made by hand) of 2024-01-05 to `last`, `group:calls`, on a data root of its own:
    its exit code."""
    from argparse import Namespace

    from cx_assets.cli import run
    from cx_assets.lakehouse import resources
    from cx_assets.lakehouse.settings import Settings

    def run_and_report(*args, **kwargs):
        return succeeded, tally

    def unused(*args) -> None:
        return None

    def resources_of(data_dir) -> dict:
        return {"warehouse": SimpleNamespace(close=unused)}

    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setattr(run, "prepare_dagster_home", unused)
    monkeypatch.setattr(run, "_run_and_report", run_and_report)
    monkeypatch.setattr(resources, "build_resources", resources_of)
    args = Namespace(select="group:calls", verbose=False)
    return run._run_planned(args, Settings.from_env(), None, [], (date(2024, 1, 5), last))


@pytest.mark.parametrize(
    ("succeeded", "counts", "code", "last_line"),
    [
        (True, {"passed": 3, "warned": 2}, 0, "OK"),
        (True, {"passed": 3, "warned": 2, "failed": 1}, 1, "FAILED"),
        (False, {"passed": 3}, 1, "FAILED"),
    ],
    ids=["warned", "an-error-check-failed", "a-step-failed"],
)
def test_run_exits_0_only_if_every_step_succeeded_and_no_error_check_failed(
    monkeypatch, tmp_path, capsys, succeeded, counts, code, last_line
):
    """Contract section 1: exit code 0 only if every step succeeded and no ERROR-severity
    check failed; a WARN check failing fails nothing. Found by mutation testing, each passing
    the summary's fast tests: a failed ERROR check ending in OK and 0; a warning failing the
    run; a failed step ending in 0 (only whole runs of the command caught them, if any)."""
    from cx_assets.cli.run_report import RunTally

    tally = RunTally(**counts)

    assert _run_ended(monkeypatch, tmp_path, tally, succeeded=succeeded) == code
    assert capsys.readouterr().out.splitlines()[-1] == last_line


@pytest.mark.parametrize(
    ("last", "command"),
    [
        (date(2024, 1, 5), "cx-lakehouse run --date 2024-01-05 --select group:calls"),
        (
            date(2024, 1, 7),
            "cx-lakehouse run --date 2024-01-05 --to 2024-01-07 --select group:calls",
        ),
    ],
    ids=["a-day", "a-range"],
)
def test_an_interrupted_run_says_the_command_again_and_exits_as_stopped(
    monkeypatch, tmp_path, capsys, last, command
):
    """A run Ctrl-C stopped during its steps (and that met a damaged warehouse too) says the
    command that runs it again, `--to` only for a range, and exits 130 as any command Ctrl-C
    stopped, not 1 nor the damage's line. Found by mutation testing, each passing the summary's
    fast tests: `--to` of the one day; a range's `--to` left out; exit code 1."""
    from cx_assets.cli.run_report import RunTally

    tally = RunTally(interrupted=True, damaged="/d/warehouse.duckdb is damaged")

    assert _run_ended(monkeypatch, tmp_path, tally, succeeded=False, last=last) == 130
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["stopped before it finished; run it again with:", f"  {command}"]
    assert lines[-1] == "FAILED"


@pytest.mark.parametrize(
    ("met", "raised"),
    [
        ({"damaged": "/d/warehouse.duckdb is damaged"}, "DamagedError"),
        ({"full_disk": OSError(28, "No space left on device", "/d/gold/x.parquet")}, "OSError"),
        (
            {"not_writable": PermissionError(13, "Permission denied", "/d/bronze")},
            "PermissionError",
        ),
    ],
    ids=["damaged", "full-disk", "not-writable"],
)
def test_a_run_whose_steps_met_the_data_root_broken_ends_in_its_error(
    monkeypatch, tmp_path, capsys, met, raised
):
    """A failed run whose steps met a damaged warehouse, a full disk or a file they may not
    write ends in that error (the command's last line, `failures`), after the summary's
    FAILED. Found by mutation testing: each left unraised, ending in exit 1 alone, passed
    the summary's fast tests."""
    from cx_assets.cli.failures import DamagedError
    from cx_assets.cli.run_report import RunTally

    with pytest.raises((DamagedError, OSError)) as ended:
        _run_ended(monkeypatch, tmp_path, RunTally(**met), succeeded=False)

    assert type(ended.value).__name__ == raised
    assert capsys.readouterr().out.splitlines()[-1] == "FAILED"


class _AnsweredPlan:
    """A `RunPlan` of a run of 2024-01-05 to 01-07 whose answers are made by hand: its run
    `succeeded` or not; its rows of silver/a, which later days read, changed on 2024-01-04
    (left by a stopped run) too; a later day built from them, an earlier day never built,
    a later day that kept its records."""

    selected, rollups, partitioned = set(), set(), set()
    later = ("calls", ("2024-01-09",), ("silver/a",))

    def __init__(self, succeeded: bool):
        self.succeeded = succeeded

    def require_built_upstreams(self, *args) -> None:
        return None

    require_built_days = require_built_upstreams

    def reads_later_built_days(self, instance, days) -> bool:
        return True

    def read_ahead_rows(self, warehouse, days) -> dict:
        return {"silver/a": {"2024-01-05": [1, "a"]}}

    def of_this_plan(self, fingerprints: dict) -> tuple[dict, dict]:
        return fingerprints, {}

    def materialize(self, instance, keys, tally, *, verbose: bool) -> bool:
        return self.succeeded

    def landing_changed_since_read(self, *args) -> list:
        return []

    misplaced_landing = landing_changed_since_read

    def later_days_after(self, instance, warehouse, before) -> tuple[list, list[str]]:
        from cx_assets.lakehouse.staleness import LaterDays

        return [LaterDays(*self.later)], ["2024-01-04", "2024-01-05"]

    def readers_left_out(self, instance, days) -> None:
        return None

    def earlier_days_not_built(self, *args) -> list:
        from cx_assets.lakehouse.staleness import EarlierDays

        return [EarlierDays("calls", ("2024-01-01",), ("silver/a",))]

    def landed_tables(self) -> list:
        return []

    def kept_on_later_days(self, quarantine_dir, first, last, *, since: float) -> list:
        from cx_assets.lakehouse.staleness import LaterDays

        return [LaterDays(*self.later)]


@pytest.mark.parametrize("succeeded", [True, False], ids=["succeeded", "failed"])
def test_the_run_s_advice_runs_from_the_days_each_is_about(
    monkeypatch, tmp_path, capsys, succeeded
):
    """Worked by hand, a run of 2024-01-05 to 01-07 (`_AnsweredPlan`): the later days built
    from rows it changed, from the first changed day (2024-01-04, before the run's); the
    earlier day never built, through the run's last day; the later day that kept its
    records, from the run's first. A failed run keeps the fingerprints of what it read for
    the next run; one that succeeded compared them and keeps none. Found by mutation
    testing, each passing the summary's fast tests: the later days' command from the
    run's first day (2024-01-04 left out), the earlier days' to its first, the kept days'
    from its last; a failed run's fingerprints dropped."""
    import dagster

    from cx_assets.cli import run
    from cx_assets.cli.read_ahead import ReadAheadJournal
    from cx_assets.lakehouse import run_lock
    from cx_assets.lakehouse.settings import Settings

    def the_instance():
        return contextlib.nullcontext(SimpleNamespace())

    def no_dead_runs(instance) -> list:
        return []

    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(dagster.DagsterInstance, "get", the_instance)
    monkeypatch.setattr(run_lock, "release_dead_runs", no_dead_runs)
    settings = Settings.from_env()
    resources = {"warehouse": None, "gold_io_manager": SimpleNamespace(republish_left_behind=list)}
    keys = ["2024-01-05", "2024-01-06", "2024-01-07"]

    days = (date(2024, 1, 5), date(2024, 1, 7))
    plan = _AnsweredPlan(succeeded)

    ended = run._run_and_report(settings, resources, plan, keys, days, 0.0, verbose=False)

    assert ended[0] is succeeded
    said = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  ")]
    assert said == [
        "  cx-lakehouse run --date 2024-01-04 --to 2024-01-09 --select group:calls",
        "  cx-lakehouse run --date 2024-01-01 --to 2024-01-07 --select group:calls",
        "  cx-lakehouse run --date 2024-01-05 --to 2024-01-09 --select group:calls",
    ]
    kept = ReadAheadJournal(settings.layout.read_ahead_journal).read()
    assert kept == ({} if succeeded else {"silver/a": {"2024-01-05": [1, "a"]}})


@pytest.mark.parametrize(
    ("to", "days"),
    [
        (None, ["2024-01-05"]),
        ("2024-01-05", ["2024-01-05"]),
        ("2024-01-07", ["2024-01-05", "2024-01-06", "2024-01-07"]),
    ],
    ids=["no-to", "to-the-same-day", "a-range"],
)
def test_run_materializes_every_day_from_date_through_to(monkeypatch, tmp_path, to, days):
    """Contract section 1: `--date` alone is its day; `--to` the last day of the range, the
    same day too (a script's `--to "$DAY"` of a one-day range). Found by mutation testing:
    `--to` of `--date`'s own day refused as before it passed the summary's fast tests."""
    from argparse import Namespace

    from cx_assets.cli import run
    from cx_assets.lakehouse import early_bronze

    planned = []

    def run_planned(args, settings, keys, first_last, config) -> int:
        planned.append(keys)
        return 0

    def no_early_read(*args) -> None:
        return None

    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setattr(early_bronze, "start", no_early_read)
    monkeypatch.setattr(early_bronze, "finish", no_early_read)
    monkeypatch.setattr(run, "_run", run_planned)
    args = Namespace(date="2024-01-05", to=to, select=None, config=None, verbose=False)

    assert run.cmd_run(args) == 0
    assert planned == [days]


@pytest.mark.parametrize(
    ("select", "said"),
    [
        ("key:gold/leakage_daily_summary or key:gold/leakage_journey_timeline",
         "--select reads silver/digital_calls, silver/digital_journeys, "
         "silver/digital_leakage_calls, never built: include them (e.g. --select "
         "'*gold/leakage_daily_summary') or run them first"),
        ("key:gold/leakage_daily_summary",
         "--select reads silver/digital_calls, silver/digital_leakage_calls, never built: include "
         "them (e.g. --select '*gold/leakage_daily_summary') or run them first"),
        ("key:gold/leakage_root_cause",
         "--select reads silver/digital_leakage_calls, never built: include it (e.g. --select "
         "'*gold/leakage_root_cause') or run it first"),
        ("key:silver/digital_calls or key:silver/digital_leakage_calls",
         "--select reads bronze/digital_calls, silver/digital_journeys, "
         "silver/digital_member_versions, never built: include them (e.g. --select "
         "'*silver/digital_calls') or run them first"),
        ("key:gold/calls_performance",
         "--select reads silver/calls_transcripts of 2024-01-05 (and 1 more day), never built for "
         "it: include it (e.g. --select '*gold/calls_performance') or run that day first"),
    ],
    ids=["three-tables", "two-tables", "one-table", "the-plan-builds-one", "two-days"],
)  # fmt: skip
def test_a_selection_reading_what_was_never_built_is_refused_naming_it(select, said):
    """Worked by hand on a warehouse holding only silver/calls_transcripts of 2024-01-01: a
    selection reading tables never built names them, `it` or `them`, and the first planned
    table reading the first of them for the hint; a table the plan builds itself (the
    digital calls, read by the leakage calls) is none of them; one built, but not for the
    run's two days, names the first and counts the other. Found by mutation testing, each
    passing the summary's fast tests (whole runs of the command may catch some): the hint
    naming the last reader; `it` of two tables; a table the plan builds refused; `1 more
    days`."""
    from cx_assets.cli.options import UsageError
    from cx_assets.cli.run_plan import RunPlan

    con = duckdb.connect()
    con.execute("CREATE SCHEMA silver")
    con.execute("CREATE TABLE silver.calls_transcripts AS SELECT DATE '2024-01-01' AS date")

    def never_materialized(key) -> set:
        return set()

    plan = RunPlan.resolve(select)

    with pytest.raises(UsageError) as refused:
        plan.require_built_upstreams(_GoldInMemory(con), None)
        instance = SimpleNamespace(get_materialized_partitions=never_materialized)
        plan.require_built_days(instance, _GoldInMemory(con), ["2024-01-05", "2024-01-06"])

    assert str(refused.value) == said


@pytest.mark.parametrize(
    ("select", "rollups"),
    [
        ("key:silver/digital_leakage_calls",
         ["gold/leakage_action_recommendations", "gold/leakage_savings_model"]),
        ("key:silver/calls_transcripts or key:gold/support_ticket_analytics",
         ["gold/support_ticket_analytics"]),
    ],
    ids=["a-date-grained-table", "a-rollup-beside-one"],
)  # fmt: skip
def test_a_plan_runs_the_rollups_downstream_of_its_days_and_those_selected(select, rollups):
    """Contract section 1: the selected date-grained assets, then the whole-history rollups
    that depend on them, none selected (silver/digital_leakage_calls feeds two; the calls'
    transcripts none); a rollup selected runs, not the rollups that read it (support's
    agent daily and customer insights read the ticket analytics). Found by mutation
    testing, each passing the summary's fast tests (a whole run of the command caught the
    first): the rollups downstream left out; those of a selected rollup run too."""
    from cx_assets.cli.run_plan import RunPlan

    plan = RunPlan.resolve(select)

    assert sorted(key.to_user_string() for key in plan.rollups) == rollups


def test_fingerprints_a_stopped_run_left_are_split_by_the_domains_the_plan_defines():
    """A run of the calls defines their tables alone: a stopped run's fingerprints of the
    CRM's are kept for a run that defines them to compare (found by mutation testing: the
    split turned over passed the summary's fast tests and the journal's)."""
    from cx_assets.cli.run_plan import RunPlan

    fingerprints = {"bronze/calls_transcripts": {"2024-01-05": [1]},
                    "bronze/crm_contacts": {"2024-01-05": [2]}}  # fmt: skip

    ours, others = RunPlan.resolve("group:calls").of_this_plan(fingerprints)

    assert ours == {"bronze/calls_transcripts": {"2024-01-05": [1]}}
    assert others == {"bronze/crm_contacts": {"2024-01-05": [2]}}


def test_a_run_of_one_table_says_what_lies_misplaced_in_its_source_s_folder_alone(tmp_path):
    """Worked by hand, a run of the CRM's interactions alone: a folder of the CRM that is no
    table of it is said; its sibling tables' folders (contacts landed) are not, one table
    selected being no reason to call them misplaced; another source's folder (calls) is
    left to that source's runs. Found by mutation testing: the siblings' folders called
    misplaced passed the summary's fast tests."""
    from cx_assets.cli.run_plan import RunPlan

    landing = tmp_path / "landing"
    landed_files = [
        f"{folder}/2024-01-05/a.jsonl"
        for folder in ("crm/contacts", "crm/interactions", "crm/nope", "calls/transcript")
    ]
    for landed_file in landed_files:
        (landing / landed_file).parent.mkdir(parents=True)
        (landing / landed_file).write_text("{}\n")

    plan = RunPlan.resolve("key:bronze/crm_interactions")

    assert plan.misplaced_landing(landing, date(2024, 1, 1)) == [
        (
            "landing/crm/nope",
            "not a table of crm (its tables: contacts, deals, interactions, users)",
        )
    ]


def test_a_selection_reading_a_table_as_of_its_day_is_not_refused_for_that_day(tmp_path):
    """Worked by hand: silver interactions read the contact versions up to their day, not of
    it; a run of the interactions alone for a day the contact versions were never built
    for (only 2024-01-01 was) is not refused, as a table read on its own day would be, the
    contacts' bronze day being built (and the CRM's rollups, run after, reading the built
    contacts and deals). Found by mutation testing: refusing it passed the
    summary's fast tests (a whole run of the command catches it)."""
    from cx_assets.cli.run_plan import RunPlan

    con = duckdb.connect()
    for layer, table in (("bronze", "crm_contacts"), ("silver", "crm_contact_versions"),
                         ("silver", "crm_contacts"), ("silver", "crm_deals")):  # fmt: skip
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {layer}")
        con.execute(f"CREATE TABLE {layer}.{table} AS SELECT DATE '2024-01-01' AS date")
    warehouse = _GoldInMemory(con)
    warehouse.data_dir = tmp_path

    def bronze_built(key) -> set:
        return {"2024-01-05"} if key.path[0] == "bronze" else set()

    instance = SimpleNamespace(get_materialized_partitions=bronze_built)
    plan = RunPlan.resolve("key:bronze/crm_interactions or key:silver/crm_interactions")

    assert plan.require_built_upstreams(warehouse, None) is None
    assert plan.require_built_days(instance, warehouse, ["2024-01-05"]) is None


def test_a_selection_of_no_asset_naming_a_group_after_a_key_is_told_the_groups():
    """A group misspelled after a key (`key:silver/calls_transcripts and group:cals`)
    selects nothing: the hint is the groups, as for `group:nope`. Found by mutation testing:
    the groups named only for a selection starting with one passed the summary's fast tests
    and, by reading, the command's (whose case starts with the group)."""
    from cx_assets.cli.options import UsageError
    from cx_assets.cli.run_plan import RunPlan

    select = "key:silver/calls_transcripts and group:cals"
    with pytest.raises(UsageError) as refused:
        RunPlan.resolve(select)

    assert str(refused.value) == (
        f"--select {select!r} matches no asset (the groups: calls, crm, digital, support)"
    )
