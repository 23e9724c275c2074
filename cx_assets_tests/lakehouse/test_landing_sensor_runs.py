"""The landing sensor's run requests: which days it asks runs for (the partition days, not
today's nor a folder that is no date), how it asks (one run for the days of a tick, in
order, through the later days already built that read them), and what else a tick does
(freeing a killed run's place in the queue)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import pytest
from dagster import Definitions

from cx_assets.lakehouse.landing_state import DaysSeen
from cx_assets.lakehouse.partitions import daily_partitions
from cx_assets_tests.lakehouse.sensor_ticks import (
    BRONZE,
    DAY,
    Ticker,
    digital_day_redelivered_before_built_ones,
    keys,
    make_sensor,
    sensor_instance,
    sensor_ticker,
    tick_at,
    ticks_after_the_quiet,
)

instance = pytest.fixture(sensor_instance, name="instance", scope="module")
ticker = pytest.fixture(sensor_ticker, name="ticker")


def test_a_new_file_requests_its_day(lake, ticker):
    lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    result = ticker.tick()
    [request] = result.run_requests
    assert request.partition_key == DAY
    assert request.run_key.startswith(f"crm:{DAY}:")
    assert len(request.run_key) > len(f"crm:{DAY}:")
    assert request.tags["cx/source"] == "crm"
    assert request.tags["cx/trigger"] == "landing"
    assert request.tags["dagster/max_retries"] == "2"  # the daemon retries it if it fails
    assert DAY in ticker.state()


def test_a_tick_with_nothing_new_says_where_it_looked(lake, ticker):
    """The sensor's page in the UI lists its ticks' skip reasons: "no new or re-delivered
    crm files" read the same for a UI started on another data root than the files landed
    in (seen in a UI audit), so a skip names the folder looked in, and whether it exists."""
    landing = lake.root / "landing" / "crm"
    assert ticker.tick().skip_message == f"nothing has landed in {landing} (no such folder)"
    lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    assert ticker.tick().run_requests
    assert ticker.tick().skip_message == f"no new or re-delivered crm files in {landing}"


def test_days_outside_the_partitions_are_skipped_and_valid_ones_still_requested(
    lake, ticker, monkeypatch
):
    start = daily_partitions.start.date()
    now = datetime.now(UTC)
    tick_at(monkeypatch, now)
    today = now.date()
    before_start = (start - timedelta(days=1)).isoformat()
    for folder in [before_start, today.isoformat(), (today + timedelta(days=1)).isoformat(), DAY]:
        lake.land_jsonl("crm", "interactions", folder, [{"Id": 1}])

    result = ticker.tick()

    assert keys(result) == [DAY]
    state = ticker.state()
    assert {day for day, value in state.items() if value != DaysSeen.SKIPPED} == {
        DaysSeen.LANDING,
        DAY,
    }


def test_a_tick_while_only_today_has_landed_says_when_it_runs(lake, ticker, monkeypatch):
    """Found ticking through a day of a producer landing files as it goes: every tick's
    skip said "no new or re-delivered crm files", today's files included, which read as a
    sensor that does not see them (the log's line on today's folder is written once, on the
    first tick). The skip names the day and when it becomes a partition."""
    now = datetime.now(UTC)
    tick_at(monkeypatch, now)
    today = now.date()
    tomorrow = today + timedelta(days=1)
    for day in (tomorrow, today):
        lake.land_jsonl("crm", "interactions", day.isoformat(), [{"Id": 1}])
    for _ in range(2):
        message = ticker.tick().skip_message
        assert message.startswith("no new or re-delivered crm files in "), message
        # The first of them, and the day it becomes one (mutation testing: the last day
        # named, or the day itself given as when it runs, passed every test).
        said = f"{today} runs once it is a partition, after 00:00 UTC on {tomorrow}"
        assert message.endswith(said), message


def test_folders_that_are_not_dates_are_skipped(lake, ticker):
    lake.land_jsonl("crm", "interactions", "latest", [{"Id": 1}])
    lake.land_jsonl("crm", "interactions", "2024-02-30", [{"Id": 1}])
    lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    assert keys(ticker.tick()) == [DAY]


def test_a_run_stops_short_of_the_first_day_it_may_not_read_after_its_own():
    """`_short_of`, worked by hand: of the later days built, those before the first held day
    after the run's last (found by mutation testing: stopping at the last held day, a run
    through one it may not read, passed every test, none holding two days)."""
    from cx_assets.lakehouse.automation import _short_of

    later = ["2024-01-06", "2024-01-07", "2024-01-08", "2024-01-09"]
    held = ["2024-01-08", "2024-01-04", "2024-01-07"]  # the 4th comes before the run's days
    assert _short_of(later, "2024-01-05", held) == (["2024-01-06"], "2024-01-07")
    assert _short_of(later, "2024-01-05", ["2024-01-04"]) == (later, None)


def days_of(result) -> list[tuple[str, str]]:
    """The days each requested run covers: (first, last)."""
    spans = []
    for request in result.run_requests or []:
        if request.partition_key:
            spans.append((request.partition_key, request.partition_key))
        else:
            tags = request.tags
            spans.append(
                (
                    tags["dagster/asset_partition_range_start"],
                    tags["dagster/asset_partition_range_end"],
                )
            )
    return spans


def test_days_that_land_together_are_one_run_in_order_capped_per_tick(lake, instance):
    """One run per day let a later day take the data root's lock first and be built without
    the day before it (digital's leakage calls then missed sessions), every check passing:
    the days of a tick are one run, which builds them in order."""
    ticker = Ticker(make_sensor(max_requests_per_tick=2), lake.root, instance)
    for day in ["2024-01-07", "2024-01-05", "2024-01-06"]:
        lake.land_jsonl("crm", "interactions", day, [{"Id": 1}])

    first = ticker.tick()
    assert days_of(first) == [("2024-01-05", "2024-01-06")]
    second = ticker.tick()
    assert days_of(second) == [("2024-01-07", "2024-01-07")]
    assert not ticker.tick().run_requests
    run_keys = [r.run_key for r in [*first.run_requests, *second.run_requests]]
    assert len(set(run_keys)) == 2
    # The same days changed again: a new key (a re-delivery runs again).
    for day in ["2024-01-05", "2024-01-06"]:
        lake.land_jsonl("crm", "interactions", day, [{"Id": 2}])
    again = ticker.tick()
    assert days_of(again) == [("2024-01-05", "2024-01-06")]
    assert again.run_requests[0].run_key not in run_keys


def test_the_defined_crm_sensor_requests_the_crm_job(lake, instance, monkeypatch):
    from cx_assets.definitions import defs

    sensor = defs.resolve_sensor_def("crm_landing_sensor")
    lake.land_jsonl("crm", "contacts", DAY, [{"Id": 1}])
    ticker = Ticker(sensor, lake.root, instance, definitions=defs)
    # A file that has just changed may still be being written: the day waits for it.
    assert "still being written" in ticker.tick().skip_message
    ticks_after_the_quiet(monkeypatch)
    assert keys(ticker.tick()) == [DAY]
    assert sensor.job_name == "crm_daily"


def test_a_tick_releases_a_run_whose_process_was_killed(lake, ticker):
    """The UI's run queue drains after a killed run: each tick marks dead runs failed."""
    import socket
    import subprocess
    import sys

    from dagster import DagsterRun, DagsterRunStatus

    from cx_assets.lakehouse import run_lock

    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    killed = DagsterRun(
        job_name="crm_daily",
        status=DagsterRunStatus.STARTED,
        tags={run_lock.PID_TAG: str(finished.pid), run_lock.HOST_TAG: socket.gethostname()},
    )
    ticker.instance.add_run(killed)

    ticker.tick()

    assert ticker.instance.get_run_by_id(killed.run_id).status == DagsterRunStatus.FAILURE


def test_a_day_landing_after_later_ones_were_built_runs_through_them(lake, tmp_path, monkeypatch):
    """Digital's leakage calls read the journeys of the day before and every member version
    up to their day: a day landing after the days that read it asks for one run of it and
    them, not of it alone (which left them computed without it, and said nothing)."""
    from cx_assets_tests.cli import landed
    from cx_assets_tests.conftest import Domain

    digital = Domain.named("digital")
    landed(lake.root, "digital", days=3, start="2024-01-01", seed=None)
    late = {
        folder: tmp_path / "late" / folder.parent.name
        for folder in (lake.layout.landing_dir / "digital").glob("*/2024-01-01")
    }
    for folder, aside in late.items():
        shutil.move(folder, aside)
    assert lake.materialize(digital.everything, day="2024-01-02", last_day="2024-01-03").success
    for folder, aside in late.items():
        shutil.move(aside, folder)

    definitions = Definitions.merge(digital.defs, Definitions(resources=lake.resources))
    sensor = definitions.resolve_sensor_def("digital_landing_sensor")
    ticker = Ticker(sensor, lake.root, lake.instance, definitions=definitions)
    ticks_after_the_quiet(monkeypatch)

    (request,) = ticker.tick().run_requests  # days 2 and 3 were built from their files
    assert request.partition_key is None
    assert request.tags["dagster/asset_partition_range_start"] == "2024-01-01"
    assert request.tags["dagster/asset_partition_range_end"] == "2024-01-03"
    assert lake.materialize(digital.everything, day="2024-01-01", last_day="2024-01-03").success

    # the latest day re-delivered is a run of that day alone: no day after it was built
    (calls_file,) = (lake.layout.landing_dir / "digital" / "calls" / "2024-01-03").iterdir()
    calls_file.write_text(calls_file.read_text() + "\n")
    assert keys(ticker.tick()) == ["2024-01-03"]


def test_a_run_through_later_days_stops_short_of_one_it_may_not_read_and_runs_it_once_it_can(
    lake, monkeypatch
):
    """A day re-delivered before a day another user's upload made unreadable (0700), and a
    later day built from both: one run through the later day read the unreadable one and
    failed, as did its retries, and the re-delivered day was built no more. The run now
    stops before it. Then the later days stayed as built for good: the day was made readable
    again as it was (its files unchanged), so no tick ran it, nor the days after it that read
    the re-delivered day (the re-delivered day's old rows in 2024-01-02 and -03 for good).
    They run once it can be read."""
    from cx_assets_tests.lakehouse.test_landing_sensor_ignored import refuse_listing

    ticker = digital_day_redelivered_before_built_ones(lake, monkeypatch)
    with monkeypatch.context() as locked:
        refuse_listing(locked, {lake.layout.landing_dir / "digital" / "calls" / "2024-01-02"})
        assert keys(ticker.tick()) == ["2024-01-01"]
        assert not ticker.tick().run_requests  # it still may not be read

    assert days_of(ticker.tick()) == [("2024-01-02", "2024-01-03")]
    assert not ticker.tick().run_requests  # once


def test_a_day_landing_for_one_source_runs_alone_whatever_another_built_later(lake, monkeypatch):
    """Only the source's own tables read its days: calls landing for a day before the
    digital days already built is a run of that day alone, not a range through digital's."""
    from cx_assets_tests.cli import landed
    from cx_assets_tests.conftest import Domain

    digital, calls = Domain.named("digital"), Domain.named("calls")
    landed(lake.root, "digital", days=3, start="2024-01-01", seed=None)
    assert lake.materialize(digital.everything, day="2024-01-02", last_day="2024-01-03").success
    landed(lake.root, "calls", start="2024-01-01", seed=None)

    definitions = Definitions.merge(digital.defs, calls.defs, Definitions(resources=lake.resources))
    sensor = definitions.resolve_sensor_def("calls_landing_sensor")
    ticks_after_the_quiet(monkeypatch)
    (request,) = (
        Ticker(sensor, lake.root, lake.instance, definitions=definitions).tick().run_requests
    )
    assert request.partition_key == "2024-01-01"
    assert "dagster/asset_partition_range_end" not in request.tags


def test_a_tick_compares_a_bounded_number_of_days_with_their_bronze(lake, instance, monkeypatch):
    """Found ticking over 3,000 landed days: each day the sensor's state did not know was
    compared with its bronze materializations (a query per table) on every tick, those
    waiting behind the cap included, so a tick of a backlog took 10-13 s on a SQLite instance,
    and a state started again over years of days built (a cursor reset, a state lost) four
    queries a day in one tick (40 s for 3,000 CRM days; past Dagster's 60 s for a sensor's
    evaluation at some 4,500, and a tick that times out keeps no cursor). Days beyond the
    budget wait for the next tick, in order, and are still all seen."""
    from dagster import materialize

    from cx_assets.lakehouse import automation
    from cx_assets.lakehouse.partitions import run_tags_for_days

    looked_up: list[str] = []
    compare = automation.already_built
    monkeypatch.setattr(
        automation,
        "already_built",
        lambda instance, source, day, *rest: (
            looked_up.append(str(day)) or compare(instance, source, day, *rest)
        ),
    )
    days = [f"2024-02-{n:02d}" for n in range(1, 8)]
    for day in days:
        lake.land_jsonl("crm", "interactions", day, [{"Id": 1}])
    ticker = Ticker(make_sensor(max_requests_per_tick=2), lake.root, instance)
    monkeypatch.setattr(automation, "LOOK_UPS_PER_TICK", 3)

    spans = []
    for _ in range(4):
        spans += days_of(ticker.tick())
        assert len(looked_up) <= 3, looked_up
        looked_up.clear()

    assert spans == [(days[0], days[1]), (days[2], days[3]), (days[4], days[5]), (days[6], days[6])]
    assert not ticker.tick().run_requests

    # every day built, then the state started again: each tick compares at most 3 days
    ranged = run_tags_for_days(days[0], days[-1])
    assert materialize(BRONZE, instance=instance, tags=ranged, resources=lake.resources).success
    ticker.cursor = None
    for waiting in [4, 1, 0]:
        skipped = ticker.tick()
        assert not skipped.run_requests
        assert 0 < len(looked_up) <= 3, looked_up
        looked_up.clear()
        if waiting:  # the UI says why nothing runs yet
            assert skipped.skip_message.startswith(f"{waiting} days of "), skipped.skip_message
    assert set(days) <= set(ticker.state())
    assert not ticker.tick().run_requests and not looked_up
