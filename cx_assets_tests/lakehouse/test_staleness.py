"""Later days an earlier run built from days a run has just rebuilt: found from the
partition mappings of what the run rebuilt, on hand-made graphs, and said by
`cx-lakehouse run` end to end (digital days run out of order)."""

from __future__ import annotations

from dagster import AssetIn, AssetKey, Definitions, asset

from cx_assets.lakehouse.inputs import all_days, same_day, with_days_before
from cx_assets.lakehouse.partitions import daily_partitions
from cx_assets.lakehouse.staleness import LaterDays, later_days_built_before, read_ahead_parents
from cx_assets_tests.cli import cli, landed


@asset(partitions_def=daily_partitions, group_name="source")
def events() -> None: ...


@asset(partitions_def=daily_partitions, group_name="source", ins={"events": same_day(events)})
def per_day(events) -> None: ...


@asset(
    partitions_def=daily_partitions,
    group_name="source",
    ins={"events": with_days_before(events, 2)},
)
def two_days_back(events) -> None: ...


@asset(partitions_def=daily_partitions, group_name="other", ins={"events": all_days(events)})
def as_of_the_day(events) -> None: ...


@asset(ins={"events": AssetIn(key=events.key)})
def rollup(events) -> None: ...


GRAPH = Definitions(
    assets=[events, per_day, two_days_back, as_of_the_day, rollup]
).resolve_asset_graph()
BUILT = [f"2024-01-{day:02d}" for day in range(1, 11)]  # every asset, days 1 to 10


def built(key: AssetKey) -> list[str]:
    return BUILT


def test_only_windows_reaching_past_the_run_count_and_only_days_already_built():
    rebuilt = {events.key, per_day.key, two_days_back.key, as_of_the_day.key}
    found = later_days_built_before(GRAPH, built, rebuilt, ["2024-01-03", "2024-01-04"])
    # two days back from 5 and 6 read the 4th; as of the day, every later day reads both
    assert found == [
        LaterDays("other", tuple(BUILT[4:]), ("as_of_the_day",)),
        LaterDays("source", ("2024-01-05", "2024-01-06"), ("two_days_back",)),
    ]


def test_a_parent_the_run_did_not_rebuild_leaves_later_days_as_they_were():
    assert later_days_built_before(GRAPH, built, {two_days_back.key}, ["2024-01-03"]) == []


def test_a_parent_whose_rows_came_out_as_they_were_leaves_later_days_as_they_were():
    rebuilt = {events.key, two_days_back.key, as_of_the_day.key}
    assert read_ahead_parents(GRAPH, rebuilt) == {events.key}
    assert later_days_built_before(GRAPH, built, rebuilt, ["2024-01-03"], {events.key}) == []


def test_nothing_is_out_of_date_after_the_latest_built_day():
    rebuilt = {events.key, two_days_back.key, as_of_the_day.key}
    assert later_days_built_before(GRAPH, built, rebuilt, ["2024-01-10"]) == []


def test_the_command_runs_the_rebuilt_days_and_the_later_ones_as_one_range():
    later = LaterDays("digital", ("2024-01-03", "2024-01-05"), ("t",))
    assert later.command("2024-01-01") == (
        "cx-lakehouse run --date 2024-01-01 --to 2024-01-05 --select group:digital"
    )


def test_a_day_run_after_later_ones_names_them_and_the_command(tmp_path):
    """Seen in an audit: digital day 3 built before day 1 kept members of day 1 as `Other`
    and day 2's journeys out of its window; the run said only OK."""
    data_dir = tmp_path / "data"
    landed(data_dir, "digital", days=3, start="2024-01-01", seed=None)
    run = ("run", "--select", "group:digital", "--date")
    assert "later days" not in cli(*run, "2024-01-03", data_dir=data_dir).stdout

    earlier = cli(*run, "2024-01-01", data_dir=data_dir)

    assert earlier.returncode == 0, earlier.stdout + earlier.stderr
    lines = earlier.stdout.splitlines()
    said = next(n for n, line in enumerate(lines) if line.startswith("later days out of date"))
    assert lines[said].startswith("later days out of date: digital, 1 day from 2024-01-03: ")
    assert "silver/digital_leakage_calls" in lines[said]
    command = "cx-lakehouse run --date 2024-01-01 --to 2024-01-03 --select group:digital"
    assert lines[said + 1] == f"  {command}"
    # which brings them up to date: nothing is left behind
    caught_up = cli(*command.split()[1:], data_dir=data_dir)
    assert caught_up.returncode == 0 and "later days" not in caught_up.stdout
    # Seen in an audit: the same day run again on the same files named them again.
    again = cli(*run, "2024-01-01", data_dir=data_dir)
    assert again.returncode == 0 and "later days" not in again.stdout, again.stdout
    # A file of the day delivered again with other content does.
    calls = sorted((data_dir / "landing" / "digital" / "calls" / "2024-01-01").iterdir())[0]
    header, *rows = calls.read_text().splitlines(keepends=True)
    calls.write_text(header + "".join(rows[: len(rows) // 2]))
    redelivered = cli(*run, "2024-01-01", data_dir=data_dir)
    assert "later days out of date: digital, 2 days from 2024-01-02 to 2024-01-03" in (
        redelivered.stdout
    ), redelivered.stdout
