"""What the landing sensor knows of days, and where it keeps it: its state stored in the
instance under a short cursor, a cursor an older version of it kept, and the files'
fingerprints bronze recorded, so a day the CLI already built from the same files is not
run again while a day changed since still is."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from datetime import date, timedelta

import pytest

from cx_assets.lakehouse.landing_state import STATE_CURSOR_PREFIX, DaysSeen
from cx_assets_tests.instance import in_memory_instance
from cx_assets_tests.lakehouse.sensor_ticks import (
    BRONZE,
    DAY,
    JOB,
    Ticker,
    keys,
    make_sensor,
    sensor_instance,
    sensor_ticker,
)

instance = pytest.fixture(sensor_instance, name="instance", scope="module")
ticker = pytest.fixture(sensor_ticker, name="ticker")


def test_the_cursor_stays_short_however_many_days_have_landed(lake, ticker):
    """Dagster stores the cursor with every tick (every 5 s): the state it names is stored
    once, when it changes."""
    days = [(date(2024, 2, 1) + timedelta(days=n)).isoformat() for n in range(40)]
    for day in days:
        lake.land_jsonl("crm", "interactions", day, [{"Id": 1}])
    requested = []
    for _ in range(5):  # at most 10 days a tick
        requested += [request.tags["dagster/asset_partition_range_start"]
                      for request in ticker.tick().run_requests]  # fmt: skip
        assert ticker.cursor.startswith(STATE_CURSOR_PREFIX) and len(ticker.cursor) < 40
    assert requested == days[::10]
    assert set(days) <= set(ticker.state())
    quiet = ticker.cursor
    assert not ticker.tick().run_requests
    assert ticker.cursor == quiet  # nothing changed: the same cursor, nothing written


def test_a_cursor_dagster_did_not_keep_is_read_and_the_one_before_it_is_cleared(lake, ticker):
    """A tick that fails leaves the cursor before it: the state it replaced is still
    stored. The state before that is no cursor's and is cleared."""
    lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    ticker.tick()
    first = ticker.cursor
    lake.land_jsonl("crm", "contacts", DAY, [{"Id": 2}])
    ticker.tick()
    second = ticker.cursor
    ticker.cursor = first  # the second tick failed after its state was stored
    [again] = ticker.tick().run_requests
    assert again.partition_key == DAY and ticker.cursor == second
    lake.land_jsonl("crm", "contacts", DAY, [{"Id": 3}])
    ticker.tick()
    assert ticker.state()[DAY]
    stored = ticker.instance.run_storage.get_cursor_values(
        {f"cx/landing_seen/crm/{cursor.removeprefix(STATE_CURSOR_PREFIX)}"
         for cursor in (first, second)}
    )  # fmt: skip
    assert sorted(bool(text) for text in stored.values()) == [False, True]  # first cleared


@pytest.mark.parametrize("stored", [None, "", "not json", "[]", '{"state": "{"}'])
def test_a_cursor_naming_a_state_no_longer_stored_starts_over_and_says_so(
    lake, ticker, capfd, stored
):
    """The store cleared, or a value in it damaged: the tick goes on (failing would fail
    every tick after it), and says so."""
    lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    digest = hashlib.sha256(repr(stored).encode()).hexdigest()[:24]
    if stored is not None:
        ticker.instance.run_storage.set_cursor_values({f"cx/landing_seen/crm/{digest}": stored})
    ticker.cursor = STATE_CURSOR_PREFIX + digest

    assert keys(ticker.tick()) == [DAY]  # never built: runs (a built day would not)
    assert "names a state of crm's landed days no longer stored" in capfd.readouterr().err
    assert DAY in ticker.state()


def test_a_state_started_again_after_runs_makes_run_keys_of_its_own(lake, tmp_path):
    """Found under the daemon: a cursor reset (or a state lost) counts a day's changes from
    0 again, so a later re-delivery repeated an earlier run key, and Dagster dropped its
    request without a word. A state started again where the sensor has run before takes a
    generation of its own into its keys; a first state on a new root does not."""
    from dagster import DagsterRun, DagsterRunStatus
    from dagster._core.storage.tags import RUN_KEY_TAG, SENSOR_NAME_TAG

    with in_memory_instance() as fresh:
        ticker = Ticker(make_sensor(), lake.root, fresh)
        path = lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])

        def redelivered() -> str:  # `cp -p`: the same bytes and times, a new ctime
            stat = path.stat()
            path.write_bytes(path.read_bytes())
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
            [request] = ticker.tick().run_requests
            return request.run_key

        [first] = ticker.tick().run_requests
        assert ticker.state().get(DaysSeen.GENERATION) is None  # nothing ran before it
        keys_used = [first.run_key, redelivered()]
        for key in keys_used:  # as the daemon records the runs it starts
            fresh.add_run(DagsterRun(job_name=JOB.name, status=DagsterRunStatus.SUCCESS,
                                     tags={RUN_KEY_TAG: key, SENSOR_NAME_TAG: "crm_landing_sensor"}))  # fmt: skip

        ticker.cursor = None  # reset by an engineer
        [again] = ticker.tick().run_requests  # never built (no bronze here): runs again
        later = redelivered()

        assert ticker.state()[DaysSeen.GENERATION]
        assert len({*keys_used, again.run_key, later}) == 4, (keys_used, again.run_key, later)


def test_a_cursor_from_before_rewrites_were_kept_is_read(lake, ticker):
    lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    [first] = ticker.tick().run_requests
    found = first.run_key.split(":")[-1]
    ticker.cursor = json.dumps({DAY: f"{found}/3"})  # a sensor upgraded over its cursor

    assert not ticker.tick().run_requests
    assert ticker.state()[DAY].split("/")[:2] == [found, "3"]
    assert not ticker.tick().run_requests


def test_a_cursor_from_before_change_counts_is_read(lake, ticker):
    lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    [first] = ticker.tick().run_requests
    fingerprint_only = {day: value.split("/")[0] for day, value in ticker.state().items()}
    ticker.cursor = json.dumps(fingerprint_only)
    assert not ticker.tick().run_requests  # the same files: nothing to do
    assert ticker.state()[DAY].split("/")[:2] == [first.run_key.split(":")[-1], "0"]


def test_a_day_already_built_from_the_same_files_is_not_run_again(lake):
    """Starting the UI after `cx-lakehouse run` must not re-run what the CLI built: the
    bronze materialization recorded the files' fingerprint; a changed file still runs."""
    from dagster import materialize

    from cx_assets_tests.conftest import QUIET

    with in_memory_instance() as fresh:
        lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
        lake.land_jsonl("crm", "contacts", DAY, [{"Id": 2}])
        materialize(
            BRONZE, instance=fresh, partition_key=DAY, resources=lake.resources, run_config=QUIET
        )
        ticker = Ticker(make_sensor(), lake.root, fresh)

        assert keys(ticker.tick()) == []
        assert ticker.cursor is not None  # remembered, not asked again next tick

        lake.land_jsonl("crm", "contacts", DAY, [{"Id": 2}, {"Id": 3}])  # re-delivered
        assert keys(ticker.tick()) == [DAY]


def test_a_rewrite_after_the_cli_built_the_day_runs_and_a_copied_root_does_not(lake, tmp_path):
    """Bronze records the files' rewrites with the landing folder's identity: a `cp -p`
    re-delivery after `cx-lakehouse run`, before any sensor looked at the day, still runs;
    the data root copied elsewhere (every ctime moved) is taken as built."""
    from dagster import materialize

    from cx_assets_tests.conftest import QUIET

    with in_memory_instance() as fresh:
        path = lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
        lake.land_jsonl("crm", "contacts", DAY, [{"Id": 2}])
        materialize(
            BRONZE, instance=fresh, partition_key=DAY, resources=lake.resources, run_config=QUIET
        )
        time.sleep(0.05)  # file times move in kernel ticks
        copy = tmp_path / "copied"
        shutil.copytree(lake.root, copy)  # keeps modification times, as `cp -a` does
        assert keys(Ticker(make_sensor(), copy, fresh).tick()) == []

        before = path.stat()
        path.write_text(json.dumps({"Id": 9}) + "\n")  # the same size
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))

        assert keys(Ticker(make_sensor(), lake.root, fresh).tick()) == [DAY]


def test_a_day_changed_in_a_copied_root_after_the_cli_built_it_runs(lake, tmp_path):
    """In a copied data root the recorded rewrites are another landing folder's, so only
    the recorded fingerprint tells a day built from these files from one changed since."""
    from dagster import materialize

    from cx_assets_tests.conftest import QUIET

    with in_memory_instance() as fresh:
        lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
        lake.land_jsonl("crm", "contacts", DAY, [{"Id": 2}])
        materialize(
            BRONZE, instance=fresh, partition_key=DAY, resources=lake.resources, run_config=QUIET
        )
        copy = tmp_path / "copied"
        shutil.copytree(lake.root, copy)  # keeps modification times, as `cp -a` does
        path = copy / "landing" / "crm" / "interactions" / DAY / "part.jsonl"
        with path.open("a") as appended:
            appended.write(json.dumps({"Id": 3}) + "\n")  # a new size

        assert keys(Ticker(make_sensor(), copy, fresh).tick()) == [DAY]


def test_a_same_size_rewrite_in_a_copied_root_the_sensor_saw_runs(lake, tmp_path):
    """A copied root's day taken as built is in the sensor's cursor: a `cp -p` re-delivery
    after that keeps the fingerprint bronze recorded, but the sensor saw the day's files
    itself, so their new ctimes are a re-delivery, whatever bronze recorded from the
    first root."""
    from dagster import materialize

    from cx_assets_tests.conftest import QUIET

    with in_memory_instance() as fresh:
        lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
        lake.land_jsonl("crm", "contacts", DAY, [{"Id": 2}])
        materialize(
            BRONZE, instance=fresh, partition_key=DAY, resources=lake.resources, run_config=QUIET
        )
        time.sleep(0.05)  # file times move in kernel ticks
        copy = tmp_path / "copied"
        shutil.copytree(lake.root, copy)  # keeps modification times, as `cp -a` does
        moved = Ticker(make_sensor(), copy, fresh)
        assert keys(moved.tick()) == []
        assert DAY in moved.state()

        path = copy / "landing" / "crm" / "interactions" / DAY / "part.jsonl"
        before = path.stat()
        time.sleep(0.05)
        path.write_text(json.dumps({"Id": 9}) + "\n")  # the same size
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))

        assert keys(moved.tick()) == [DAY]


@pytest.mark.parametrize(
    ("changed", "fingerprinted", "rewritten"),
    [
        ({"size": 11}, True, False),  # cp -p of a corrected file into a copied root
        ({"mtime_ns": 2_000}, True, False),
        ({"ctime_ns": 4_000}, False, True),  # cp -p: only its ctime moved
    ],
    ids=["size", "mtime", "ctime"],
)
def test_a_days_fingerprint_is_its_files_paths_times_and_sizes(changed, fingerprinted, rewritten):
    """A run key holds the day's fingerprint (path, mtime and size of each file) and the
    state keeps its rewrites (their ctimes) apart: rewrites are not compared on the first
    tick after a data root was copied, so a file re-delivered there keeping its mtime is
    told by its size alone (mutation testing: the size or the mtime left out of the
    fingerprint, no test failed)."""
    from dataclasses import replace
    from pathlib import Path

    from cx_assets.lakehouse.landing import LandedFile
    from cx_assets.lakehouse.landing_state import fingerprint, rewrites

    path = f"landing/crm/interactions/{DAY}/part.jsonl"
    first = LandedFile(Path(path), path, date.fromisoformat(DAY), 1_000, 10, 3_000)
    again = replace(first, **changed)
    assert (fingerprint([again]) != fingerprint([first])) is fingerprinted
    assert (rewrites([again]) != rewrites([first])) is rewritten
