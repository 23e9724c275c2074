"""A landed day whose run failed, its retries too: the landing sensor asks for it again after
a wait that grows, a bounded number of times, and never when the day failed its checks, was
built since, or its files changed or went."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    MaterializeResult,
    asset,
    materialize,
)

from cx_assets.lakehouse import automation, failed_runs
from cx_assets.lakehouse.partitions import daily_partitions
from cx_assets_tests.conftest import QUIET
from cx_assets_tests.instance import in_memory_instance
from cx_assets_tests.lakehouse.sensor_ticks import BRONZE, DAY, Ticker, make_sensor

RANGE = ["2024-01-05", "2024-01-06", "2024-01-07"]  # the days of one landing run


@asset(partitions_def=daily_partitions)
def disk_full() -> None:
    raise OSError(28, "No space left on device")


@asset(
    partitions_def=daily_partitions,
    check_specs=[AssetCheckSpec("grain", asset="bad_rows", blocking=True)],
)
def bad_rows() -> MaterializeResult:
    return MaterializeResult(check_results=[AssetCheckResult(passed=False, check_name="grain")])


@pytest.fixture(name="ticker")
def landed_and_asked(lake):
    """A day of CRM landed and asked for once, on an instance of its own (failed runs
    recorded in it would be failed runs for the other tests)."""
    with in_memory_instance() as instance:
        lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
        lake.land_jsonl("crm", "contacts", DAY, [{"Id": 2}])
        ticker = Ticker(make_sensor(), lake.root, instance)
        (ticker.request,) = ticker.tick().run_requests
        yield ticker


@pytest.fixture(name="range_ticker")
def range_landed_and_failed(lake):
    """Three days of CRM landed, asked for as one run, and that run failed (`fail_as`)."""
    with in_memory_instance() as instance:
        for day in RANGE:
            lake.land_jsonl("crm", "interactions", day, [{"Id": 1}])
        ticker = Ticker(make_sensor(), lake.root, instance)
        (ticker.request,) = ticker.tick().run_requests
        fail_as(ticker, ticker.request)
        yield ticker


def fail_as(ticker, request, failing=disk_full) -> None:
    """The run `request` asked for, recorded as it fails (its retries, if any, failed too)."""
    tags = {**request.tags, "dagster/run_key": request.run_key}
    result = materialize(
        [failing],
        instance=ticker.instance,
        partition_key=request.partition_key,
        tags=tags,
        raise_on_error=False,
        run_config=QUIET,
    )
    assert not result.success


def tick_at(ticker, monkeypatch, after: timedelta):
    """A tick `after` the latest run's end (now: each run is recorded just before)."""
    at = datetime.now(UTC) + after
    monkeypatch.setattr(automation, "_now", lambda: at)
    return ticker.tick()


def test_a_day_whose_run_failed_is_asked_again_after_waits_that_grow_and_then_no_more(
    ticker, monkeypatch
):
    """Seen under dagster-daemon: a calls day's run waited past CX_RUN_WAIT_SECONDS for the
    run lock, failed, as did its two retries within 45 s; the lock was freed a minute later
    and the day stayed unbuilt, every tick after skipping with "no new or re-delivered calls
    files". The sensor now asks again, each time after twice the wait before, and stops."""
    fail_as(ticker, ticker.request)
    first_wait = failed_runs.FIRST_WAIT

    waiting = tick_at(ticker, monkeypatch, first_wait - timedelta(seconds=5))
    assert not waiting.run_requests
    assert f"{DAY}: its run failed" in waiting.skip_message
    assert "(OSError: [Errno 28] No space left on device)" in waiting.skip_message
    assert "asked again at" in waiting.skip_message

    keys = {ticker.request.run_key}
    for asked in range(1, failed_runs.ASKS_AGAIN + 1):
        wait = first_wait * 2 ** (asked - 1)
        assert not tick_at(ticker, monkeypatch, wait - timedelta(seconds=5)).run_requests
        (again,) = tick_at(ticker, monkeypatch, wait + timedelta(seconds=5)).run_requests
        assert again.partition_key == DAY
        assert again.tags["cx/trigger"] == "landing"  # the schedule leaves it to this run
        assert again.tags[failed_runs.ASKED_AGAIN_TAG] == str(asked)
        assert "dagster/max_retries" not in again.tags  # it is itself the retry
        assert again.run_key not in keys  # Dagster drops a request whose key it has seen
        keys.add(again.run_key)
        fail_as(ticker, again)

    given_up = tick_at(ticker, monkeypatch, timedelta(days=0.5))
    assert not given_up.run_requests
    assert f"not asked again after {failed_runs.ASKS_AGAIN}" in given_up.skip_message
    assert f"cx-lakehouse run --date {DAY}" in given_up.skip_message


def test_a_day_built_since_its_run_failed_is_not_asked_again(ticker, lake, monkeypatch):
    fail_as(ticker, ticker.request)
    built = materialize(
        BRONZE,
        instance=ticker.instance,
        partition_key=DAY,
        resources=lake.resources,
        tags={"cx/trigger": "cli"},
        run_config=QUIET,
    )
    assert built.success

    later = tick_at(ticker, monkeypatch, failed_runs.FIRST_WAIT * 2)
    assert not later.run_requests
    assert "failed" not in later.skip_message


def test_a_day_that_failed_its_checks_is_not_asked_again(ticker, monkeypatch):
    """Bad data fails the same way every time: asking again would only fail again."""
    fail_as(ticker, ticker.request, failing=bad_rows)

    later = tick_at(ticker, monkeypatch, failed_runs.FIRST_WAIT * 2)
    assert not later.run_requests
    assert "failed its checks" in later.skip_message
    assert "not asked again" in later.skip_message


def test_a_day_whose_retry_is_coming_or_whose_folder_went_is_not_asked_again(
    ticker, lake, monkeypatch
):
    fail_as(ticker, ticker.request)
    (failed,) = ticker.instance.get_runs()
    retried = {"dagster/will_retry": "true", "dagster/auto_retry_run_id": "a-retry"}
    ticker.instance.add_run_tags(failed.run_id, retried)
    assert not tick_at(ticker, monkeypatch, failed_runs.FIRST_WAIT * 2).run_requests

    ticker.instance.add_run_tags(failed.run_id, {"dagster/will_retry": "false"})
    for table in ["interactions", "contacts"]:  # archived: asked again, it would come out empty
        for landed in (lake.root / "landing" / "crm" / table / DAY).iterdir():
            landed.unlink()
        (lake.root / "landing" / "crm" / table / DAY).rmdir()
    assert not tick_at(ticker, monkeypatch, failed_runs.FIRST_WAIT * 2).run_requests


def test_a_day_whose_retry_dagster_never_made_is_asked_again(ticker, monkeypatch):
    """Seen under dagster-daemon: of four landing runs failing within 20 s, one kept
    `dagster/will_retry: true` and no retry came (Dagster stores a run's failure, then marks
    the run failed and tags it: its daemon read the failure in between, took the run for one
    still going, and moved past it). The sensor took the tag for a retry coming and the day
    stayed unbuilt, every tick saying 'no new or re-delivered digital files'. A retry Dagster
    has not made (no `dagster/auto_retry_run_id`) by the first wait is not coming."""
    fail_as(ticker, ticker.request)
    (failed,) = ticker.instance.get_runs()
    ticker.instance.add_run_tags(failed.run_id, {"dagster/will_retry": "true"})

    coming = tick_at(ticker, monkeypatch, failed_runs.FIRST_WAIT - timedelta(seconds=5))
    assert not coming.run_requests
    assert "its run failed" not in coming.skip_message  # Dagster may still retry it
    (again,) = tick_at(
        ticker, monkeypatch, failed_runs.FIRST_WAIT + timedelta(seconds=5)
    ).run_requests
    assert again.partition_key == DAY
    assert again.tags[failed_runs.ASKED_AGAIN_TAG] == "1"


def test_a_day_a_later_landing_run_took_over_is_not_asked_again(ticker, monkeypatch):
    """A re-execution from the UI (it keeps the run's tags) that succeeded: the day's latest
    run is no failed one."""
    from dagster import DagsterRun, DagsterRunStatus

    fail_as(ticker, ticker.request)
    over = {key: ticker.request.tags[key] for key in ("cx/source", "cx/trigger")}
    ticker.instance.add_run(
        DagsterRun(
            job_name="crm_daily",
            status=DagsterRunStatus.SUCCESS,
            tags={**over, "dagster/partition": DAY},
        )
    )

    later = tick_at(ticker, monkeypatch, failed_runs.FIRST_WAIT * 2)
    assert not later.run_requests
    assert "failed" not in later.skip_message


def test_a_day_whose_files_changed_after_its_run_failed_runs_as_a_new_delivery(
    ticker, lake, monkeypatch
):
    fail_as(ticker, ticker.request)
    lake.land_jsonl("crm", "contacts", DAY, [{"Id": 2}, {"Id": 3}])

    (request,) = tick_at(ticker, monkeypatch, failed_runs.FIRST_WAIT * 2).run_requests
    assert failed_runs.ASKED_AGAIN_TAG not in request.tags
    assert request.tags["dagster/max_retries"] == "2"


def test_a_failed_run_of_several_days_is_asked_again_as_one_run_of_them(range_ticker, monkeypatch):
    from cx_assets.lakehouse.partitions import run_tags_for_days

    waiting = tick_at(range_ticker, monkeypatch, timedelta(seconds=5))
    assert f"{RANGE[0]} to {RANGE[-1]}: its run failed" in waiting.skip_message
    (again,) = tick_at(range_ticker, monkeypatch, failed_runs.FIRST_WAIT * 2).run_requests

    assert again.partition_key is None
    assert run_tags_for_days(RANGE[0], RANGE[-1]).items() <= again.tags.items()
    assert again.run_key.startswith(f"{range_ticker.request.run_key}:again:1:")


def test_the_days_of_a_failed_run_a_later_run_took_only_some_of_are_asked_again(
    range_ticker, monkeypatch
):
    """A run of three days failed, and a later delivery of its last day ran that day alone
    (and built it): the first two days, neither built nor being built, are still owed the
    run that failed. They had been left unbuilt for good, the later run taken to cover the
    whole failed one."""
    from dagster import DagsterRun, DagsterRunStatus

    from cx_assets.lakehouse.partitions import run_tags_for_days

    range_ticker.instance.add_run(
        DagsterRun(
            job_name="crm_daily",
            status=DagsterRunStatus.SUCCESS,
            tags={"cx/source": "crm", "cx/trigger": "landing", "dagster/partition": RANGE[2]},
        )
    )

    (again,) = tick_at(range_ticker, monkeypatch, failed_runs.FIRST_WAIT * 2).run_requests

    assert run_tags_for_days(RANGE[0], RANGE[1]).items() <= again.tags.items()
    assert again.tags[failed_runs.ASKED_AGAIN_TAG] == "1"


def test_a_day_run_again_by_hand_after_it_was_asked_again_gets_a_key_of_its_own(
    ticker, monkeypatch
):
    """Asked again once and failed, the day's first run was re-executed from the UI (its tags
    kept: no count of asks) and failed too: the next ask's key was the first ask's, which
    Dagster drops, so the day was never asked again, each tick asking in vain."""
    fail_as(ticker, ticker.request)
    (again,) = tick_at(ticker, monkeypatch, failed_runs.FIRST_WAIT * 2).run_requests
    fail_as(ticker, again)
    fail_as(ticker, ticker.request)  # the re-execution, with the first run's tags

    (by_hand,) = tick_at(ticker, monkeypatch, failed_runs.FIRST_WAIT * 2).run_requests
    assert by_hand.run_key not in {ticker.request.run_key, again.run_key}


def test_a_failed_run_is_asked_again_short_of_a_later_day_it_may_not_read(lake, monkeypatch):
    """digital 2024-01-01 re-delivered while 2024-01-02's calls folder could not be read: its
    run, 2024-01-01 alone (a run through -02 would fail on it), failed. Asked again through
    the later built days reading it, -02 among them, each ask failed on that folder as long
    as it stayed unreadable, six at most: asked again, it stops short of that day too."""
    from cx_assets_tests.lakehouse.sensor_ticks import digital_day_redelivered_before_built_ones
    from cx_assets_tests.lakehouse.test_landing_sensor_ignored import refuse_listing

    ticker = digital_day_redelivered_before_built_ones(lake, monkeypatch)
    refuse_listing(monkeypatch, {lake.layout.landing_dir / "digital" / "calls" / "2024-01-02"})
    (request,) = ticker.tick().run_requests
    assert request.partition_key == "2024-01-01"
    fail_as(ticker, request)

    (again,) = tick_at(ticker, monkeypatch, failed_runs.FIRST_WAIT * 2).run_requests
    assert again.partition_key == "2024-01-01"


def test_a_day_whose_run_failed_before_another_days_is_asked_again_too(ticker, lake, monkeypatch):
    """Two days landed apart, each run failed (a disk full for a while): both are owed a
    run, the older one too once the newer one's ask has been made (mutation testing: the
    runs looked at taken from the newest failed one, the older day never asked again, no
    test failed)."""
    later_day = "2024-01-06"
    fail_as(ticker, ticker.request)
    time.sleep(1.1)  # runs are looked at from a second before the one they start from
    lake.land_jsonl("crm", "interactions", later_day, [{"Id": 3}])
    (later,) = ticker.tick().run_requests
    assert later.partition_key == later_day
    fail_as(ticker, later)

    (first_ask,) = tick_at(ticker, monkeypatch, failed_runs.FIRST_WAIT * 2).run_requests
    assert first_ask.partition_key == later_day  # the newest failed run first
    fail_as(ticker, first_ask)  # asked again, failed again: its next ask waits longer
    after_the_first_wait = failed_runs.FIRST_WAIT + timedelta(seconds=30)
    (second_ask,) = tick_at(ticker, monkeypatch, after_the_first_wait).run_requests
    assert second_ask.partition_key == DAY
    assert second_ask.tags[failed_runs.ASKED_AGAIN_TAG] == "1"


def test_a_day_whose_earlier_landing_run_is_still_going_is_not_asked_again(ticker, monkeypatch):
    """A long run of several days holds the data root; a re-delivery of one of them asked a
    run that waited past CX_RUN_WAIT_SECONDS for the lock and failed. Asked again while the
    long run still goes, each ask would wait and fail the same way, spending the asks: it
    waits for that run (mutation testing: the look for a landing run going dropped, no test
    failed)."""
    from dagster import DagsterRun, DagsterRunStatus

    from cx_assets.lakehouse.partitions import run_tags_for_days

    landing = {key: ticker.request.tags[key] for key in ("cx/source", "cx/trigger")}
    going = ticker.instance.add_run(
        DagsterRun(
            job_name="crm_daily",
            status=DagsterRunStatus.STARTED,
            tags={**landing, **run_tags_for_days("2024-01-04", "2024-01-06")},
        )
    )
    fail_as(ticker, ticker.request)  # the re-delivery's run, failed waiting for the lock

    assert not tick_at(ticker, monkeypatch, failed_runs.FIRST_WAIT * 2).run_requests
    ticker.instance.report_run_failed(going)
    (again,) = tick_at(ticker, monkeypatch, failed_runs.FIRST_WAIT * 2).run_requests
    assert again.partition_key == DAY


def test_a_failed_day_is_asked_again_through_the_later_built_days_reading_it(lake, monkeypatch):
    """digital 2024-01-01's run, of that day alone, failed, and 2024-01-02 and -03 are
    built, their leakage calls read from its old files: asked again, the run goes through
    them, as a changed day's does (mutation testing: the ask made of the day alone, the
    later days left computed from what it replaced, no test failed)."""
    from dagster import RunRequest

    from cx_assets_tests.lakehouse.sensor_ticks import digital_day_redelivered_before_built_ones

    ticker = digital_day_redelivered_before_built_ones(lake, monkeypatch)
    assert ticker.tick().run_requests  # the state takes in the re-delivered day
    alone = {"cx/source": "digital", "cx/trigger": "landing"}
    fail_as(
        ticker, RunRequest(run_key="digital:2024-01-01:a", partition_key="2024-01-01", tags=alone)
    )

    (again,) = tick_at(ticker, monkeypatch, failed_runs.FIRST_WAIT * 2).run_requests
    assert again.partition_key is None
    assert again.tags["dagster/asset_partition_range_start"] == "2024-01-01"
    assert again.tags["dagster/asset_partition_range_end"] == "2024-01-03"
