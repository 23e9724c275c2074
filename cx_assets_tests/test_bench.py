"""The benchmark harness's pure parts on tiny inputs: the time split read from a real run's
event log, the verdicts, the rewrite between docs markers. Nothing here times anything."""

import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))  # the harness's modules import each other as scripts

import bench_events  # noqa: E402
import bench_report  # noqa: E402


@pytest.fixture(scope="module")
def tiny_run_logs():
    """One real partitioned run of two assets and a check, on a throwaway instance."""
    from dagster import (
        AssetCheckResult,
        DailyPartitionsDefinition,
        Definitions,
        asset,
        asset_check,
        define_asset_job,
    )

    from cx_assets_tests.instance import in_memory_instance

    days = DailyPartitionsDefinition(start_date="2024-01-01")

    @asset(partitions_def=days)
    def upstream() -> int:
        return 1

    @asset(partitions_def=days)
    def downstream(upstream: int) -> int:
        return upstream + 1

    @asset_check(asset=downstream)
    def downstream_positive() -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    defs = Definitions(
        assets=[upstream, downstream],
        asset_checks=[downstream_positive],
        jobs=[define_asset_job("tiny_daily")],
    )
    with in_memory_instance() as instance:
        began = time.time()
        result = defs.resolve_job_def("tiny_daily").execute_in_process(
            instance=instance, partition_key="2024-01-02"
        )
        assert result.success
        ended = time.time()
        return bench_events.runs_from_instance(instance, began), began, ended


def test_time_split_of_a_real_run(tiny_run_logs):
    runs, began, ended = tiny_run_logs
    assert [run.date_grained for run in runs] == [True]
    split = bench_events.split_command(runs, began, ended)
    (run,) = split.runs
    assert sorted((step.key, step.is_check) for step in run.steps) == [
        ("downstream", False),
        ("downstream_downstream_positive", True),
        ("upstream", False),
    ]
    rows = bench_events.split_rows(split)
    # The rows account for the whole command, nothing twice.
    assert sum(seconds for _, seconds in rows) == pytest.approx(split.wall)
    assert split.data_seconds == pytest.approx(run.asset_seconds + run.check_seconds)
    assert any("1 check steps" in what for what, _ in rows)


def test_split_of_synthetic_events():
    def log(job, created, events, date_grained):
        return bench_events.RunLog(
            job, created, [bench_events.Event(*e) for e in events], date_grained
        )

    daily = log(
        "daily", 10.0,
        [(11.0, "PIPELINE_START"), (11.5, "STEP_START", "a"), (11.6, "ASSET_MATERIALIZATION", "a"),
         (13.5, "STEP_SUCCESS", "a"), (13.7, "STEP_START", "c"),
         (13.8, "ASSET_CHECK_EVALUATION", "c"), (14.2, "STEP_SUCCESS", "c"),
         (15.0, "PIPELINE_SUCCESS")],
        True,
    )  # fmt: skip
    rollup = log(
        "rollups", 16.0,
        [(16.5, "PIPELINE_START"), (16.5, "STEP_START", "r"), (17.5, "STEP_SUCCESS", "r"),
         (18.0, "PIPELINE_SUCCESS")],
        False,
    )  # fmt: skip
    split = bench_events.split_command([rollup, daily], began=6.0, ended=19.0)
    assert split.start_up == pytest.approx(4.0)
    assert split.between_runs == pytest.approx(1.0)
    assert split.after_runs == pytest.approx(1.0)
    daily_split = split.runs[0]
    assert daily_split.set_up == pytest.approx(1.0)
    assert daily_split.asset_seconds == pytest.approx(2.0)
    assert daily_split.check_seconds == pytest.approx(0.5)
    assert daily_split.gaps == pytest.approx(1.5)
    # Data time: the date-grained run's steps only, not the rollup's.
    assert split.data_seconds == pytest.approx(2.5)
    rows = bench_events.split_rows(split)
    assert sum(s for _, s in rows) == pytest.approx(13.0)
    # the rollup run has no check step: no row says "0 check steps"
    assert [what for what, _ in rows if "check steps" in what] == ["  1 check steps"]


def test_data_time_counts_an_early_reads_time_before_its_step_once():
    """A bronze step that took an early read (`early_bronze`) lasts only what it waited for:
    the reading's time before the step began counts in data time, once for a range's step
    (whose every day's materialization carries the same value)."""
    daily = bench_events.RunLog(
        "daily", 10.0,
        [bench_events.Event(11.0, "PIPELINE_START"),
         bench_events.Event(11.0, "STEP_START", "bronze"),
         bench_events.Event(11.3, "ASSET_MATERIALIZATION", "bronze", 1.2),
         bench_events.Event(11.3, "ASSET_MATERIALIZATION", "bronze", 1.2),
         bench_events.Event(11.4, "STEP_SUCCESS", "bronze"),
         bench_events.Event(11.4, "STEP_START", "silver"),
         bench_events.Event(12.4, "ASSET_MATERIALIZATION", "silver"),
         bench_events.Event(12.4, "STEP_SUCCESS", "silver"),
         bench_events.Event(12.5, "PIPELINE_SUCCESS")],
        True,
    )  # fmt: skip
    split = bench_events.split_command([daily], began=9.0, ended=13.0)

    assert split.runs[0].read_early == pytest.approx(0.8)  # 1.2 s, of which the step waited 0.4
    assert split.data_seconds == pytest.approx(0.4 + 1.0 + 0.8)
    assert sum(s for _, s in bench_events.split_rows(split)) == pytest.approx(4.0)


def test_verdicts_say_met_or_not_and_by_how_much():
    met = bench_report.verdict("CRM day", 4.0, 5.0, bench_report.ratio)
    assert met == "- CRM day: 4.00x, at most 5.00x: **met**, 1.00x (20%) to spare"
    missed = bench_report.verdict("peak", 1280, 1024, bench_report.megabytes)
    assert missed == "- peak: 1280 MB, at most 1024 MB: **not met** by 256 MB (25% over)"
    assert bench_report.VERDICT_LINE.match(met) and bench_report.VERDICT_LINE.match(missed)


def test_sections_are_rewritten_between_their_markers_only(tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text(
        "# Benchmarks\n\nprose\n\n<!-- bench:targets -->\nold\n<!-- bench:targets -->\n\n"
        "<!-- bench:a -->\nold a\n<!-- bench:a -->\n\nreading, kept\n"
    )
    body = "Last run: 2026-01-02 03:04 UTC, `make bench`.\n\n- x: 1 s, at most 2 s: **met**"
    bench_report.write_section(doc, "<!-- bench:a -->", body, "## A")
    bench_report.write_section(doc, "<!-- bench:b -->", "new b", "## B")  # absent: appended
    bench_report.rewrite_targets(doc)
    text = doc.read_text()
    assert "old a" not in text and "prose" in text and "reading, kept" in text
    assert text.endswith("## B\n\n<!-- bench:b -->\nnew b\n<!-- bench:b -->\n")
    found = bench_report.sections(text)
    assert found["a"] == body
    assert found["targets"].splitlines()[-1] == (
        "- x: 1 s, at most 2 s: **met** [a, 2026-01-02 03:04 UTC]"
    )


def test_a_report_not_yet_written_starts_as_a_copy_of_the_projects(tmp_path):
    import bench

    project = (BENCHMARKS.parent / "docs" / "benchmarks.md").read_text()
    named = bench.prepared_report(tmp_path / "new" / "b.md", work_dir=tmp_path, quick=False)
    assert named == tmp_path / "new" / "b.md" and named.read_text() == project
    # --quick without --report: a copy in the work folder, left as it is once there.
    quick = bench.prepared_report(None, work_dir=tmp_path, quick=True)
    assert quick == tmp_path / "benchmarks.md" and quick.read_text() == project
    quick.write_text("earlier quick run")
    assert bench.prepared_report(None, work_dir=tmp_path, quick=True).read_text() == (
        "earlier quick run"
    )
    # Without either, the project's own document, which is not rewritten here.
    assert bench.prepared_report(None, work_dir=tmp_path, quick=False) == (
        BENCHMARKS.parent / "docs" / "benchmarks.md"
    )


def _day(source: str, floor_s: float, warm_s: float, empty_s: float | None):
    import bench_run
    import bench_sections

    def measured(seconds: float) -> bench_run.Measurement:
        return bench_run.Measurement(seconds, 500.0, 0.0, seconds)

    return bench_sections.DayResult(
        source=source,
        scale=1.0,
        landed_mb=7.0,
        floor_s=floor_s,
        cold=measured(warm_s + 1),
        warm=measured(warm_s),
        warm_split=None,
        empty=None if empty_s is None else measured(empty_s),
    )


def test_sources_section_names_targets_below_the_fixed_costs():
    import bench_sections

    results = [
        # support: 4 × 0.2 s leaves 0.8 s, under the bare run and the empty day.
        _day("support", 0.2, 8.0, 5.0),
        # calls: 0.1 + 3 s leaves 3.1 s, over the bare run (1.5 s) and the empty day (2.9 s).
        _day("calls", 0.1, 4.0, 2.9),
    ]
    body = bench_sections.sources_section(
        "Last run: 2026-01-02 03:04 UTC, `make bench`.", results, {}, ["calls", "support"], 1.5
    )
    assert "A bare Dagster run took 1.50 s" in body
    rows = bench_sections.earlier_source_rows(body, ["calls", "support"])
    assert bench_sections.parse_source_row(rows["support"])["empty_s"] == 5.0
    assert "| 3.00 (15.0x) |" in rows["support"]  # warm − nothing landed, × floor
    verdicts = {line.split(" day,")[0]: line for line in body.splitlines() if line.startswith("- ")}
    assert verdicts["- support"].endswith(
        "**not met** by 36.00x (900% over); the target leaves 0.80 s for the command, and a "
        "bare Dagster run takes 1.50 s and with nothing landed the run takes 5.00 s"
    )
    assert verdicts["- calls"].endswith("**not met** by 0.9 s (30% over)")
    assert bench_report.VERDICT_LINE.match(verdicts["- support"])


def test_bare_dagster_run_materializes_one_partition(tmp_path):
    import os
    import subprocess

    from dagster import DagsterInstance, DagsterRunStatus

    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bare_dagster.py")], env=env, capture_output=True
    )
    assert completed.returncode == 0, completed.stderr.decode()[-2000:]
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        (run,) = instance.get_runs()
        assert run.status == DagsterRunStatus.SUCCESS
        assert run.tags["dagster/partition"] == "2024-01-03"


def test_the_floor_copies_every_landed_table_of_its_days_in_a_process_of_its_own(tmp_path):
    """The floor reads each table's files of the days once and writes them once as Parquet,
    in a process of its own (issue 12: timed as a whole process); its files are removed."""
    import bench_run
    import duckdb
    import floor_copy

    for table, day, lines in [
        ("interactions", "2024-01-03", ['{"Id": 1}', '{"Id": 2}']),
        ("interactions", "2024-01-04", ['{"Id": 3}']),
        ("contacts", "2024-01-03", ['{"Id": 7, "Name": "A"}']),
    ]:
        folder = tmp_path / "landing" / "crm" / table / day
        folder.mkdir(parents=True)
        (folder / "part-1.jsonl").write_text("\n".join(lines) + "\n")
    out = tmp_path / "copied"
    out.mkdir()
    floor_copy.copy_landing(tmp_path, "crm", ["2024-01-03"], out)
    counts = {
        path.name: duckdb.sql(f"SELECT count(*) FROM '{path}'").fetchall()[0][0]
        for path in out.iterdir()
    }
    assert counts == {
        "interactions_2024-01-03_jsonl.parquet": 2,
        "contacts_2024-01-03_jsonl.parquet": 1,
    }

    seconds = bench_run.floor(tmp_path, "crm", [date(2024, 1, 3), date(2024, 1, 4)])
    assert seconds > 0 and not (tmp_path / "floor").exists()
    # A day that cannot be read fails the floor rather than timing nothing.
    (tmp_path / "landing" / "crm" / "contacts" / "2024-01-03" / "part-1.jsonl").write_text("{")
    with pytest.raises(subprocess.CalledProcessError):
        bench_run.floor(tmp_path, "crm", [date(2024, 1, 3)])


def test_a_days_peak_is_the_largest_of_all_its_runs():
    import bench_run
    import bench_sections

    cold, best_warm = bench_run.Measurement(9.0, 600.0, 0, 9), bench_run.Measurement(7, 550.0, 0, 7)
    day = bench_sections.DayResult("crm", 1.0, 272.0, 1.0, cold, best_warm, None)
    assert day.peak_rss_mb == 600.0
    # A slower warm run that peaked higher than the reported one still counts.
    day = bench_sections.DayResult("crm", 1.0, 272.0, 1.0, cold, best_warm, None, None, 700.0)
    assert day.peak_rss_mb == 700.0


def test_a_commands_runs_are_those_created_while_it_ran():
    """The best of three warm runs is split from its own runs, not the later two's too."""
    from dagster import Definitions, asset, define_asset_job

    from cx_assets_tests.instance import in_memory_instance

    @asset
    def one() -> int:
        return 1

    job = Definitions(assets=[one], jobs=[define_asset_job("one_job")]).resolve_job_def("one_job")
    with in_memory_instance() as instance:
        began = time.time()
        assert job.execute_in_process(instance=instance).success
        ended = time.time()
        time.sleep(1.0)
        assert job.execute_in_process(instance=instance).success
        assert len(bench_events.runs_from_instance(instance, began)) == 2
        assert len(bench_events.runs_from_instance(instance, began, ended)) == 1


def test_steps_at_the_same_time_are_counted_once():
    """Steps execute two at a time: the time they overlap is taken off once, and the gaps
    are the time no step was running."""
    daily = bench_events.RunLog(
        "daily", 10.0,
        [bench_events.Event(*e) for e in [
            (11.0, "PIPELINE_START"), (11.5, "STEP_START", "a"), (12.0, "STEP_START", "b"),
            (13.0, "STEP_SUCCESS", "b"), (13.5, "STEP_SUCCESS", "a"), (14.0, "STEP_START", "c"),
            (14.5, "STEP_SUCCESS", "c"), (15.0, "PIPELINE_SUCCESS")]],
        True,
    )  # fmt: skip
    split = bench_events.split_command([daily], began=6.0, ended=16.0)
    (run,) = split.runs
    assert run.asset_seconds == pytest.approx(2.0 + 1.0 + 0.5)
    assert run.overlap == pytest.approx(1.0)  # b ran wholly within a
    assert run.gaps == pytest.approx(
        (15.0 - 11.0) - (2.0 + 0.5)
    )  # no step 11-11.5, 13.5-14, 14.5-15
    rows = bench_events.split_rows(split)
    assert ("  steps at the same time (their time counted twice above)", -1.0) in rows
    assert sum(seconds for _, seconds in rows) == pytest.approx(10.0)
