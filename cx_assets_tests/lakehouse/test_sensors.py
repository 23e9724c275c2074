"""The landing sensor: one run request per new or re-delivered day of a source."""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import UTC, datetime, timedelta

import pytest
from dagster import (
    AssetSelection,
    Definitions,
    build_sensor_context,
    define_asset_job,
)

from cx_assets.lakehouse.asset_factories import bronze_asset
from cx_assets.lakehouse.automation import landing_sensor
from cx_assets.lakehouse.landing_state import DaysSeen
from cx_assets.lakehouse.partitions import daily_partitions
from cx_assets.lakehouse.resources import Lake as LakeResource
from cx_assets.lakehouse.resources import build_resources
from cx_assets_tests.instance import in_memory_instance

DAY = "2024-01-05"
BRONZE = [
    bronze_asset("crm", "interactions", "Test interactions."),
    bronze_asset("crm", "contacts", "Test contacts."),
]
JOB = define_asset_job("crm_landing_test_job", selection=AssetSelection.assets(*BRONZE))


def make_sensor(max_requests_per_tick: int = 10):
    return landing_sensor(
        "crm", ["interactions", "contacts"], JOB.name, max_requests_per_tick=max_requests_per_tick
    )


@pytest.fixture(scope="module")
def instance():
    with in_memory_instance() as ephemeral:
        yield ephemeral


class Ticker:
    """Evaluates a sensor tick after tick, carrying the cursor like the daemon does."""

    def __init__(self, sensor, data_dir, instance, definitions: Definitions | None = None):
        self.sensor, self.instance = sensor, instance
        self.resources = {"lake": LakeResource(data_dir=str(data_dir))}
        # Partitioned run requests are resolved against the job, so the context needs the
        # definitions the sensor belongs to.
        self.definitions = definitions or Definitions(
            assets=BRONZE, jobs=[JOB], sensors=[sensor], resources=build_resources(data_dir)
        )
        self.cursor: str | None = None

    def tick(self):
        context = build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            resources=self.resources,
            definitions=self.definitions,
        )
        result = self.sensor.evaluate_tick(context)
        if result.cursor is not None:
            self.cursor = result.cursor
        return result


@pytest.fixture
def ticker(lake, instance) -> Ticker:
    return Ticker(make_sensor(), lake.root, instance)


def keys(result) -> list[str]:
    return [request.partition_key for request in result.run_requests or []]


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
    assert DAY in json.loads(result.cursor)


def test_the_same_files_again_are_skipped(lake, ticker):
    lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    assert keys(ticker.tick()) == [DAY]
    again = ticker.tick()
    assert not again.run_requests
    assert again.skip_message


def test_a_re_delivered_file_gets_a_new_run_key(lake, ticker):
    path = lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    [first] = ticker.tick().run_requests
    lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}, {"Id": 2}])
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    [second] = ticker.tick().run_requests
    assert second.partition_key == DAY
    assert second.run_key != first.run_key
    assert not ticker.tick().run_requests


def test_same_size_rewrite_with_a_new_mtime_is_a_re_delivery(lake, ticker):
    path = lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    [first] = ticker.tick().run_requests
    lake.land_jsonl("crm", "interactions", DAY, [{"Id": 2}])  # same size
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    [second] = ticker.tick().run_requests
    assert second.run_key != first.run_key


def test_a_copy_keeping_size_and_modification_time_is_a_re_delivery(lake, ticker):
    # `cp -p` of a corrected file over the first: same name, size and modification time;
    # only the status-change time (ctime) tells.
    path = lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    before = path.stat()
    [first] = ticker.tick().run_requests
    time.sleep(0.05)  # file times move in kernel ticks: step past the first write's
    lake.land_jsonl("crm", "interactions", DAY, [{"Id": 2}])
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert after.st_ctime_ns != before.st_ctime_ns

    [second] = ticker.tick().run_requests

    assert second.partition_key == DAY
    assert second.run_key != first.run_key
    assert not ticker.tick().run_requests


def test_a_copied_data_root_does_not_run_its_days_again(lake, ticker, tmp_path):
    """Copying or restoring a data root (`cp -a`, a backup) gives every file a new ctime;
    the sensor sees the landing folder is another one and runs nothing. A re-delivery in
    the copy is still seen."""
    lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    [first] = ticker.tick().run_requests
    time.sleep(0.05)  # file times move in kernel ticks
    copy = tmp_path / "copied"
    shutil.copytree(lake.root, copy)  # keeps modification times, as `cp -a` does
    moved = Ticker(make_sensor(), copy, ticker.instance)
    moved.cursor = ticker.cursor

    assert not moved.tick().run_requests
    assert not moved.tick().run_requests

    path = copy / "landing" / "crm" / "interactions" / DAY / "part.jsonl"
    before = path.stat()
    time.sleep(0.05)
    path.write_text(json.dumps({"Id": 2}) + "\n")  # same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    [again] = moved.tick().run_requests
    assert again.run_key != first.run_key


def test_a_cursor_from_before_rewrites_were_kept_is_read(lake, ticker):
    lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    [first] = ticker.tick().run_requests
    found = first.run_key.split(":")[-1]
    ticker.cursor = json.dumps({DAY: f"{found}/3"})  # a sensor upgraded over its cursor

    assert not ticker.tick().run_requests
    assert json.loads(ticker.cursor)[DAY].split("/")[:2] == [found, "3"]
    assert not ticker.tick().run_requests


def test_another_table_or_a_removed_file_changes_the_day(lake, ticker):
    lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    extra = lake.land_jsonl("crm", "interactions", DAY, [{"Id": 2}], name="late.jsonl")
    run_keys = {ticker.tick().run_requests[0].run_key}
    lake.land_jsonl("crm", "contacts", DAY, [{"Id": 9}])
    [with_contacts] = ticker.tick().run_requests
    run_keys.add(with_contacts.run_key)
    extra.unlink()
    [after_removal] = ticker.tick().run_requests
    run_keys.add(after_removal.run_key)
    assert len(run_keys) == 3
    assert [with_contacts.partition_key, after_removal.partition_key] == [DAY, DAY]


def test_a_date_folder_removed_as_a_whole_is_not_a_change(lake, ticker):
    """Clearing landing of days already loaded (archiving them) must not empty their tables:
    only a day whose files go while its folder stays comes out empty (docs/architecture.md)."""
    import shutil

    path = lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    assert ticker.tick().run_requests
    shutil.rmtree(path.parent)
    assert not ticker.tick().run_requests
    lake.land_jsonl("crm", "interactions", DAY, [{"Id": 2}])
    [again] = ticker.tick().run_requests
    assert again.partition_key == DAY


def test_a_day_whose_files_were_all_removed_runs_again(lake, ticker):
    # Its rows must go: the day is now empty. Every change gets a key of its own, also a
    # return to an earlier state (Dagster drops a request whose key it has seen).
    path = lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    content, stat = path.read_bytes(), path.stat()
    [first] = ticker.tick().run_requests
    path.unlink()
    [emptied] = ticker.tick().run_requests
    assert emptied.partition_key == DAY
    assert not ticker.tick().run_requests
    path.write_bytes(content)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as delivered first, times kept
    [back] = ticker.tick().run_requests
    path.unlink()
    [emptied_again] = ticker.tick().run_requests
    run_keys = [r.run_key for r in (first, emptied, back, emptied_again)]
    assert len(set(run_keys)) == 4, run_keys


def test_a_cursor_from_before_change_counts_is_read(lake, ticker):
    lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    [first] = ticker.tick().run_requests
    fingerprint_only = {
        day: value.split("/")[0] for day, value in json.loads(ticker.cursor).items()
    }
    ticker.cursor = json.dumps(fingerprint_only)
    assert not ticker.tick().run_requests  # the same files: nothing to do
    assert json.loads(ticker.cursor)[DAY].split("/")[:2] == [first.run_key.split(":")[-1], "0"]


def test_days_outside_the_partitions_are_skipped_and_valid_ones_still_requested(lake, ticker):
    start = daily_partitions.start.date()
    today = datetime.now(UTC).date()
    before_start = (start - timedelta(days=1)).isoformat()
    for folder in [before_start, today.isoformat(), (today + timedelta(days=1)).isoformat(), DAY]:
        lake.land_jsonl("crm", "interactions", folder, [{"Id": 1}])

    result = ticker.tick()

    assert keys(result) == [DAY]
    cursor = json.loads(result.cursor)
    assert {day for day, value in cursor.items() if value != DaysSeen.SKIPPED} == {
        DaysSeen.LANDING,
        DAY,
    }


def test_a_folder_that_is_no_table_of_the_source_is_said_once(lake, ticker, capfd):
    """Seen in an audit: files under a misspelled table (`interactionz`) were never read and
    nothing said so."""
    lake.land_jsonl("crm", "interactionz", DAY, [{"Id": 1}])

    def said() -> list[str]:
        lines = capfd.readouterr().err.splitlines()
        return [line.split(" - ")[-1] for line in lines if "ignoring landing/" in line]

    assert not ticker.tick().run_requests
    assert said() == [
        "ignoring landing/crm/interactionz: not a table of crm "
        "(its tables: interactions, contacts)"  # the tables of this test's sensor
    ]
    assert not ticker.tick().run_requests and said() == []


def test_what_a_date_folder_holds_besides_files_is_said_once_not_on_every_tick(lake, ticker, capfd):
    """A stray file, a subfolder (a batch that will not be read) or a link to nothing: the
    sensor says so on the first tick that meets it, not on each tick after."""
    lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    folder = lake.layout.landing_dir / "crm" / "interactions" / DAY
    (folder / "notes.txt").write_text("not a record")
    (folder / "batch-2").mkdir()

    def ignoring() -> list[str]:
        # Dagster's loggers write to stderr and do not propagate to `caplog`.
        lines = capfd.readouterr().err.splitlines()
        return sorted(line.split(" - ")[-1] for line in lines if "ignoring landing/" in line)

    assert len(ticker.tick().run_requests) == 1
    assert ignoring() == [
        f"ignoring landing/crm/interactions/{DAY}/batch-2: a folder: only the files "
        "directly in a date folder are read",
        f"ignoring landing/crm/interactions/{DAY}/notes.txt: not one of .jsonl, .json, .csv",
    ]
    assert not ticker.tick().run_requests
    assert ignoring() == []
    (folder / "gone.jsonl").symlink_to(folder / "removed.jsonl")  # something new: said
    ticker.tick()
    assert ignoring() == [f"ignoring landing/crm/interactions/{DAY}/gone.jsonl: a link to nothing"]


def test_a_skipped_folder_is_logged_once_not_on_every_tick(lake, ticker, capfd):
    today = datetime.now(UTC).date().isoformat()
    lake.land_jsonl("crm", "interactions", today, [{"Id": 1}])
    lake.land_jsonl("crm", "interactions", "latest", [{"Id": 1}])

    def skip_lines() -> list[str]:
        # Dagster's loggers write to stderr and do not propagate to `caplog`.
        return [line for line in capfd.readouterr().err.splitlines() if "skipping landing/" in line]

    ticker.tick()
    first = skip_lines()
    assert len(first) == 2 and any(today in line for line in first), first
    assert not ticker.tick().run_requests
    assert skip_lines() == []
    # gone, then back: said again
    shutil.rmtree(lake.layout.landing_dir / "crm" / "interactions" / "latest")
    ticker.tick()
    lake.land_jsonl("crm", "interactions", "latest", [{"Id": 1}])
    ticker.tick()
    assert [line for line in skip_lines() if "latest" in line]
    # a day landed meanwhile is still requested
    lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    assert keys(ticker.tick()) == [DAY]
    assert skip_lines() == []


def test_folders_that_are_not_dates_are_skipped(lake, ticker):
    lake.land_jsonl("crm", "interactions", "latest", [{"Id": 1}])
    lake.land_jsonl("crm", "interactions", "2024-02-30", [{"Id": 1}])
    lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    assert keys(ticker.tick()) == [DAY]


def test_only_in_flight_or_unsupported_files_request_nothing(lake, ticker):
    lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}], name="_part.jsonl")
    lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}], name=".part.jsonl")
    lake.land("crm", "interactions", DAY, "readme.txt", "not data")
    result = ticker.tick()
    assert not result.run_requests
    assert result.skip_message
    # Renamed into place: now it is a delivery.
    folder = lake.layout.landing_dir / "crm" / "interactions" / DAY
    (folder / "_part.jsonl").rename(folder / "part.jsonl")
    assert keys(ticker.tick()) == [DAY]


def test_other_sources_and_unlisted_tables_are_ignored(lake, ticker):
    lake.land_jsonl("calls", "transcripts", DAY, [{"call_id": "A"}])
    lake.land_jsonl("crm", "not_a_table", DAY, [{"Id": 1}])
    assert not ticker.tick().run_requests
    # The sensor does look: a listed table of its source on another day is requested.
    lake.land_jsonl("crm", "interactions", "2024-01-06", [{"Id": 1}])
    assert keys(ticker.tick()) == ["2024-01-06"]


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


def test_the_defined_crm_sensor_requests_the_crm_job(lake, instance):
    from cx_assets.definitions import defs

    sensor = defs.get_sensor_def("crm_landing_sensor")
    lake.land_jsonl("crm", "contacts", DAY, [{"Id": 1}])
    result = Ticker(sensor, lake.root, instance, definitions=defs).tick()
    assert keys(result) == [DAY]
    assert sensor.job_name == "crm_daily"


def test_a_file_name_that_is_not_utf8_does_not_fail_the_tick(lake, ticker):
    # The fingerprint used to encode the raw name and raise on every tick of the source.
    folder = lake.layout.landing_dir / "crm" / "interactions" / DAY
    folder.mkdir(parents=True)
    with open(os.path.join(os.fsencode(folder), b"caf\xe9.jsonl"), "wb") as handle:
        handle.write(b'{"Id": 1}\n')
    (lake.layout.landing_dir / "crm" / "contacts" / os.fsdecode(b"2024-01-0\xff")).mkdir(
        parents=True
    )

    result = ticker.tick()

    assert keys(result) == [DAY]
    assert not ticker.tick().run_requests


def test_a_link_out_of_landing_requests_nothing(lake, ticker, tmp_path):
    secret = tmp_path / "etc" / "passwd"
    secret.parent.mkdir()
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    folder = lake.layout.landing_dir / "crm" / "interactions" / DAY
    folder.mkdir(parents=True)
    (folder / "passwd.jsonl").symlink_to(secret)
    assert not ticker.tick().run_requests
    # A real file beside it is a delivery.
    lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    assert keys(ticker.tick()) == [DAY]


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
        assert DAY in json.loads(moved.cursor)

        path = copy / "landing" / "crm" / "interactions" / DAY / "part.jsonl"
        before = path.stat()
        time.sleep(0.05)
        path.write_text(json.dumps({"Id": 9}) + "\n")  # the same size
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))

        assert keys(moved.tick()) == [DAY]


def test_a_day_landing_after_later_ones_were_built_runs_through_them(lake, tmp_path):
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
    sensor = definitions.get_sensor_def("digital_landing_sensor")
    ticker = Ticker(sensor, lake.root, lake.instance, definitions=definitions)

    (request,) = ticker.tick().run_requests  # days 2 and 3 were built from their files
    assert request.partition_key is None
    assert request.tags["dagster/asset_partition_range_start"] == "2024-01-01"
    assert request.tags["dagster/asset_partition_range_end"] == "2024-01-03"
    assert lake.materialize(digital.everything, day="2024-01-01", last_day="2024-01-03").success

    # the latest day re-delivered is a run of that day alone: no day after it was built
    (calls_file,) = (lake.layout.landing_dir / "digital" / "calls" / "2024-01-03").iterdir()
    calls_file.write_text(calls_file.read_text() + "\n")
    assert keys(ticker.tick()) == ["2024-01-03"]


def test_a_day_landing_for_one_source_runs_alone_whatever_another_built_later(lake):
    """Only the source's own tables read its days: calls landing for a day before the
    digital days already built is a run of that day alone, not a range through digital's."""
    from cx_assets_tests.cli import landed
    from cx_assets_tests.conftest import Domain

    digital, calls = Domain.named("digital"), Domain.named("calls")
    landed(lake.root, "digital", days=3, start="2024-01-01", seed=None)
    assert lake.materialize(digital.everything, day="2024-01-02", last_day="2024-01-03").success
    landed(lake.root, "calls", start="2024-01-01", seed=None)

    definitions = Definitions.merge(digital.defs, calls.defs, Definitions(resources=lake.resources))
    sensor = definitions.get_sensor_def("calls_landing_sensor")
    (request,) = (
        Ticker(sensor, lake.root, lake.instance, definitions=definitions).tick().run_requests
    )
    assert request.partition_key == "2024-01-01"
    assert "dagster/asset_partition_range_end" not in request.tags
