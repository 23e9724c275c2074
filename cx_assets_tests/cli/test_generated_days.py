"""`cx-lakehouse generate` and `run` on two small days of every source, read back as an
analyst reads gold: with DuckDB, pandas and Dagster's own CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from cx_assets_tests.cli import BIN, END, REPO, START, cli, gold_tables
from cx_assets_tests.cli.preloaded import FRESH_COMMANDS_ENV

pytestmark = pytest.mark.long_module


def test_generate_writes_every_source(generated_and_run):
    from cx_assets.definitions import domain_names

    data_dir, generated, _ = generated_and_run
    for source in domain_names():
        assert any((data_dir / "landing" / source).rglob("*.*")), source
        assert f"{source}:" in generated.stdout


def test_generate_is_deterministic_for_a_seed(tmp_path, generated_and_run):
    data_dir, _, _ = generated_and_run
    again = tmp_path / "again"
    # In a fresh process: a child of the preloaded process has its string hashes (the order
    # of a set of names) of the fixture's, and a generator reading one came out the same.
    result = cli(
        "generate", "--start", START, "--days", "2", "--scale", "0.01", "--seed", "7",
        "--quiet", "--sources", "crm", data_dir=again, **{FRESH_COMMANDS_ENV: "1"},
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


def test_the_generated_files_are_named_for_no_missing_or_renamed_optional_field(
    generated_and_run,
):
    """Every source's generated files send every field they declare (a null as a null), and
    none the contract does not: the summary names no file as lacking an optional field's
    column or as holding a likely rename of one."""
    _, _, ran = generated_and_run
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "optional fields" not in ran.stdout


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


# The order of each gold table's rows within a file, as docs/<domain>.md states it (files
# of a per-day table hold one day each): None for one row a day. The assignment plan's
# rank goes on with the SLA deadline and ticket_id, which its file does not hold.
ROW_ORDER = {
    "calls_agent_daily": "agent_name",
    "calls_kpis_daily": None,
    "calls_performance": "called_at, call_id",
    "crm_churn_risk": "churn_risk_score DESC, company_id",
    "crm_companies": "company_id",
    "crm_contact_linkage": None,
    "crm_cx_volumetrics": "owner_id, company_id",
    "crm_friction_heuristics": "occurred_at, interaction_id",
    "crm_managers": "owner_id",
    "crm_noise_summary": "category",
    "crm_sales_velocity": "owner_id",
    "crm_segmentation_matrix": "segment",
    "crm_temporal_heat": "day_of_week, hour",
    "leakage_action_recommendations": "rank",
    "leakage_daily_summary": "journey_type",
    "leakage_journey_timeline": "member_id, sequence",
    "leakage_root_cause": "journey_type, leakage_calls DESC, error_code NULLS LAST, device_type",
    "leakage_savings_model": "annualized_cost DESC NULLS LAST, journey_type",
    "leakage_segment_drilldown": "journey_type, member_category",
    "support_agent_daily": "agent_id",
    "support_assignment_plan": "list_position(['urgent', 'high', 'medium', 'low'], priority)",
    "support_customer_insights": "customer_id",
    "support_ticket_analytics": "ticket_id",
    "support_ticket_categories": "ticket_id",
    "support_volume_forecast": "category",
}


def test_every_gold_file_holds_its_rows_in_the_documented_order(generated_and_run):
    """Analysts diff a day's file against yesterday's copy and cache files by their hash:
    each table's rows come in the order its domain's page states, by its key or ranking."""
    import pyarrow.parquet as pq

    data_dir, _, ran = generated_and_run
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert sorted(ROW_ORDER) == gold_tables()  # a new table states its order
    con = duckdb.connect()
    con.execute("SET threads = 1")
    out_of_order, ordered = [], set()
    for table, order in ROW_ORDER.items():
        for path in sorted((data_dir / "gold" / table).rglob("*.parquet")):
            rows = pq.read_table(path)
            if order is None:
                assert rows.num_rows <= 1, path
                continue
            con.register("rows_", rows.append_column("read_at_", pa.array(range(rows.num_rows))))
            sorted_at = [at for (at,) in con.execute(
                f"SELECT read_at_ FROM rows_ ORDER BY {order}, read_at_"
            ).fetchall()]  # fmt: skip
            if sorted_at != list(range(rows.num_rows)):
                out_of_order.append(str(path.relative_to(data_dir)))
            if rows.num_rows > 1:
                ordered.add(table)
    con.close()
    assert out_of_order == []
    # every table but the plan (few open tickets without an agent) had rows to order
    assert {t for t, order in ROW_ORDER.items() if order} - ordered <= {"support_assignment_plan"}


def test_dagsters_own_cli_materializes_one_partition(generated_and_run, tmp_path):
    # A copy: the materialization writes the day's rows and Parquet of the data root, which
    # the module's other tests read as the range run left them.
    data_dir = tmp_path / "data"
    shutil.copytree(generated_and_run[0], data_dir)
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
        # Given empty (`--to "$LAST"`, `--select "$WHAT"` with the variable unset), each was
        # taken as not given: the first day alone, or every asset of every domain, exit 0.
        (["run", "--date", START, "--to", ""], "--to '' is not a date in YYYY-MM-DD form"),
        (["run", "--date", START, "--select", ""], "--select '' names no asset"),
        (
            ["run", "--date", START, "--select", "key:gold/nothing_here"],
            "matches no asset (keys read as layer/table, e.g. key:gold/crm_churn_risk)",
        ),
        (["run", "--date", START, "--select", "bad:::selection"], "--select"),
        (
            ["run", "--date", START, "--select", "crm_churn_risk"],
            "--select 'crm_churn_risk' matches no asset (keys read as layer/table",
        ),
        (
            ["run", "--date", START, "--select", "group:nope"],
            "matches no asset (the groups: calls, crm, digital, support)",
        ),
        (
            ["run", "--date", START, "--select", "group:calls,group:crm"],
            "join selections with `or`: 'group:calls or group:digital'",
        ),
        (["generate", "--start", START, "--days", "1", "--sources", "crm,nope"], "unknown source"),
    ],
)
def test_user_mistakes_are_one_line_and_exit_2(generated_and_run, args, message):
    data_dir, _, _ = generated_and_run
    result = cli(*args, data_dir=data_dir)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_the_readme_pandas_recipe_types_the_partition_day(generated_and_run):
    """The README's recipe, as an analyst copies it: `date` is a real date, comparable."""
    import re

    data_dir, _, _ = generated_and_run
    readme = (REPO / "README.md").read_text()
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


def test_the_readme_power_bi_recipe_reads_every_day_once_while_a_run_writes(
    generated_and_run, tmp_path
):
    """The README's Power Query recipe, step by step as Power BI takes it (Power BI is not
    here): every file under the table's folder (`Folder.Files`), those whose extension is
    the recipe's, the day between its delimiters in the folder's path. It reads what DuckDB
    reads, each day once, with a run's in-flight file beside a day's."""
    import os
    import re
    import shutil

    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    data_dir, _, _ = generated_and_run
    readme = (REPO / "README.md").read_text()
    recipe = re.search(r"```powerquery\n(.*?)```", readme, re.S).group(1)
    (table,) = re.findall(r'Folder\.Files\("[^"]*\\gold\\(\w+)"\)', recipe)
    (extension,) = re.findall(r'\[Extension\] = "([^"]+)"', recipe)
    (start, end) = re.findall(
        r'Text\.BetweenDelimiters\(\[Folder Path\], "([^"]+)", "([^"]+)"\)', recipe
    )[0]
    assert end == "\\"  # Windows' separator, as Folder Path ends; this machine's below

    gold = tmp_path / "gold"
    shutil.copytree(data_dir / "gold" / table, gold / table)
    day_folder = sorted((gold / table).iterdir())[0]
    # A run rewriting that day: its new file is written under an in-flight name first.
    shutil.copy(day_folder / "data.parquet", day_folder / f"_data.parquet.{os.getpid()}.tmp")

    parts = []
    for folder, _, names in os.walk(gold / table):  # Folder.Files: every file below
        folder_path = folder + os.sep  # Power Query's Folder Path ends with the separator
        for name in names:
            if os.path.splitext(name)[1] != extension:
                continue
            day = folder_path.split(start, 1)[1].split(os.sep, 1)[0]
            # Parquet.Document reads the file alone (`partitioning=None`: pyarrow before 25
            # adds the folder's `date`, which would then be there twice).
            rows = pq.read_table(os.path.join(folder, name), partitioning=None)
            parts.append(
                rows.append_column("date", pa.array([date.fromisoformat(day)] * len(rows)))
            )
    read = pa.concat_tables(parts).to_pandas()

    expected = duckdb.sql(
        f"SELECT * FROM read_parquet('{gold / table}/**/*.parquet', hive_partitioning = true)"
    ).df()
    expected["date"] = expected["date"].dt.date
    key = ["date"]  # calls_kpis_daily: a row a day
    assert sorted(read.columns) == sorted(expected.columns)
    assert len(read) == len(expected) and not read.duplicated(key).any()
    columns = sorted(expected.columns)
    assert (
        read[columns]
        .sort_values(key)
        .reset_index(drop=True)
        .equals(expected[columns].sort_values(key).reset_index(drop=True))
    )
    assert sorted(set(read["date"])) == [date.fromisoformat(START), date.fromisoformat(END)]


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
    docs = (REPO / "docs" / "checks.md").read_text()
    recipe = re.search(r"```python\n(.*?check = AssetCheckKey.*?)```", docs, re.S).group(1)
    environment = {**os.environ, "CX_DATA_DIR": str(data_dir),
                   "DAGSTER_HOME": str(data_dir / "dagster_home")}  # fmt: skip
    ran = subprocess.run(
        [sys.executable, "-c", recipe.replace("2024-01-02", END)],
        env=environment, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("unique_key FAILED:"), ran.stdout
    # Dagster's current API: it warned of `partitions_def` and `get_job_def` (an audit)
    assert "Warning" not in ran.stderr, ran.stderr
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
        assert con.execute("SELECT count(*) FROM gold.calls_performance").fetchone() == rows


def _documented_severities() -> dict[str, str]:
    """Each check's severity as docs/checks.md's two tables give it (the check kinds, then
    the domain checks), by check name."""
    import itertools
    import re

    severities: dict[str, str] = {}
    for line in (REPO / "docs" / "checks.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        for name, severity in itertools.pairwise(cells):
            if re.fullmatch(r"`\w+`", name) and severity in ("WARN", "ERROR"):
                severities[name.strip("`")] = severity
                break
    return severities


def test_every_check_records_its_documented_severity_passed_or_not(generated_and_run):
    """A check's result carries the severity docs/checks.md gives it whether it passes or
    fails: the UI and the event log show a passed WARN check as WARN (Dagster's default for
    a result without one is ERROR)."""
    from dagster import DagsterEventType, DagsterInstance

    data_dir, _, _ = generated_and_run
    documented = _documented_severities()
    recorded: dict[tuple[str, str], set[str]] = {}
    with DagsterInstance.from_config(str(data_dir / "dagster_home")) as instance:
        for run in instance.get_runs():
            for record in instance.get_records_for_run(
                run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
            ).records:
                evaluation = record.event_log_entry.dagster_event.event_specific_data
                recorded.setdefault((evaluation.check_name, str(evaluation.passed)), set()).add(
                    evaluation.severity.value
                )
    checked = {name for name, _ in recorded}
    assert {"records_only_in_quarantine", "names_masked_on_other_days", "non_empty"} <= checked
    assert checked <= set(documented), sorted(checked - set(documented))
    wrong = {
        (name, passed): severities
        for (name, passed), severities in recorded.items()
        if severities != {documented[name]}
    }
    assert not wrong, wrong


def test_the_readme_names_everything_a_data_root_holds(generated_and_run):
    """Seen in a newcomer's audit: after `make demo` the data root held `.run.lock`,
    `.run-queue/` and `.generate.lock`, which the README's list of what `CX_DATA_DIR` holds
    left out (a reader of `ls -a` wondered whether a run had been left behind)."""
    import re

    data_dir, _, _ = generated_and_run
    readme = (REPO / "README.md").read_text()
    (row,) = [line for line in readme.splitlines() if line.startswith("| `CX_DATA_DIR` |")]
    named = {name.rstrip("/") for name in re.findall(r"`([^`]+)`", row)}
    held = {path.name for path in data_dir.iterdir()}
    assert held and held <= named, f"README.md's CX_DATA_DIR row leaves out {held - named}"
