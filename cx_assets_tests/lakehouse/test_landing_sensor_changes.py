"""What the landing sensor takes for a changed day: a re-delivered file (even one keeping its
size and modification time), another table's file, a removed one; each change gets a run
key of its own, because Dagster drops a request whose key it has seen. The same files, a
copied data root or a date folder removed as a whole are no change."""

from __future__ import annotations

import json
import os
import shutil
import time

import pytest

from cx_assets_tests.lakehouse.sensor_ticks import (
    DAY,
    Ticker,
    keys,
    make_sensor,
    sensor_instance,
    sensor_ticker,
)

instance = pytest.fixture(sensor_instance, name="instance", scope="module")
ticker = pytest.fixture(sensor_ticker, name="ticker")


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


def test_a_file_still_being_written_runs_once_it_is_whole(lake, instance, monkeypatch):
    """Found copying a day's file into landing in place, as `cp` and SFTP uploads write (under
    the file's own name): each tick that saw it grow asked for a run, three for one file
    written in three parts, the first two reading it cut off (its last line quarantined as
    not JSON, gold showing part of the day). A day now waits while one of its files changed
    within the last `LANDING_QUIET_SECONDS`, and the skip names that file."""
    from datetime import UTC, datetime, timedelta

    from cx_assets.lakehouse import automation

    quiet = automation.LANDING_QUIET_SECONDS
    ticker = Ticker(make_sensor(quiet_seconds=quiet), lake.root, instance)
    content = b"".join(b'{"Id": %d, "Title": "x"}\n' % n for n in range(30))
    path = lake.layout.landing_dir / "crm" / "interactions" / DAY / "day.jsonl"
    path.parent.mkdir(parents=True)
    with path.open("wb") as handle:
        for part in (content[:100], content[100:400], content[400:]):
            handle.write(part)
            handle.flush()
            waits = ticker.tick()
            assert not waits.run_requests
            assert f"landing/crm/interactions/{DAY}/day.jsonl" in waits.skip_message
            assert "still being written" in waits.skip_message
            # and no later day waits with it (mutation testing: "; 0 later days wait with
            # it" said, no test failed)
            assert waits.skip_message.endswith(f"have not changed for {quiet:g} s)")

    later = datetime.now(UTC) + timedelta(seconds=quiet + 1)
    monkeypatch.setattr(automation, "_now", lambda: later)
    assert keys(ticker.tick()) == [DAY]
    assert not ticker.tick().run_requests


@pytest.mark.parametrize("finished_by", ["a rename into place", "its times set, as cp -p does"])
def test_a_file_whose_writer_finished_runs_without_waiting(
    lake, instance, monkeypatch, finished_by
):
    """Seen in the latency bench under the daemon: a day landed as the contract asks, under
    an in-flight name and renamed whole, waited for the tick after the one that first saw it
    (the daemon's rounds of a sensor come 5-10 s apart): the median landing to gold went from
    5.7 to 11.0 s. A write moves a file's ctime and mtime together; a ctime later than the
    mtime means the last change was no write (a rename, cp -p's times set), so its writer is
    done and its day runs on the tick that first sees it."""
    from datetime import UTC, datetime

    from cx_assets.lakehouse import automation

    folder = lake.layout.landing_dir / "crm" / "interactions" / DAY
    folder.mkdir(parents=True)
    path = folder / "day.jsonl"
    if finished_by == "a rename into place":
        (folder / ".day.jsonl").write_text('{"Id": 1}\n', encoding="utf-8")
        time.sleep(0.05)  # a later tick of the kernel's coarse clock, which stamps the rename
        os.rename(folder / ".day.jsonl", path)
    else:
        path.write_text('{"Id": 1}\n', encoding="utf-8")
        time.sleep(0.05)
        os.utime(path, (time.time() - 3600, time.time() - 3600))
    stat = path.stat()
    assert stat.st_ctime_ns > stat.st_mtime_ns
    changed = datetime.fromtimestamp(stat.st_ctime_ns / 1e9, UTC)
    monkeypatch.setattr(automation, "_now", lambda: changed)  # the tick right after it
    quiet = automation.LANDING_QUIET_SECONDS
    assert keys(Ticker(make_sensor(quiet_seconds=quiet), lake.root, instance).tick()) == [DAY]


def test_the_days_after_a_file_still_being_written_wait_with_it(lake, instance, monkeypatch):
    """Days are asked for in order (a day reads the ones before it): a later day landed whole
    while an earlier one's file is still being written waits with it, rather than running
    first, and both run, in order, once the earlier one's file is whole."""
    from datetime import UTC, date, datetime, timedelta

    from cx_assets.lakehouse import automation

    later_day = (date.fromisoformat(DAY) + timedelta(days=1)).isoformat()
    whole = lake.land_jsonl("crm", "interactions", later_day, [{"Id": 2}])
    time.sleep(0.05)  # the earlier day's file changes after the later day's landed
    writing = lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    gap = (writing.stat().st_ctime_ns - whole.stat().st_ctime_ns) / 1e9
    assert gap > 0
    at = datetime.fromtimestamp(writing.stat().st_ctime_ns / 1e9, UTC)
    monkeypatch.setattr(automation, "_now", lambda: at)
    ticker = Ticker(make_sensor(quiet_seconds=gap / 2), lake.root, instance)

    waits = ticker.tick()  # the later day's file is older than the wait, the earlier one's not
    assert not waits.run_requests
    assert f"landing/crm/interactions/{DAY}/" in waits.skip_message
    assert "1 later days wait with it" in waits.skip_message

    monkeypatch.setattr(automation, "_now", lambda: at + timedelta(seconds=gap))
    [both] = ticker.tick().run_requests  # one run, which builds them in order
    assert (
        both.tags["dagster/asset_partition_range_start"],
        both.tags["dagster/asset_partition_range_end"],
    ) == (DAY, later_day)


def test_a_file_changed_a_little_ahead_of_the_ticks_clock_waits_too(lake, instance, monkeypatch):
    """The wait holds either way: a file server whose clock runs a little ahead gives a file
    just written a ctime after the tick's time, and that file may still be being written."""
    from datetime import UTC, datetime, timedelta

    from cx_assets.lakehouse import automation

    path = lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    written = datetime.fromtimestamp(path.stat().st_ctime_ns / 1e9, UTC)
    monkeypatch.setattr(automation, "_now", lambda: written - timedelta(seconds=2))
    ticker = Ticker(make_sensor(quiet_seconds=5), lake.root, instance)
    waits = ticker.tick()
    assert not waits.run_requests
    assert f"{DAY} waits: landing/crm/interactions/{DAY}/" in waits.skip_message
    assert "changed 0.0 s ago" in waits.skip_message  # never said as a negative time

    monkeypatch.setattr(automation, "_now", lambda: written + timedelta(seconds=6))
    assert keys(ticker.tick()) == [DAY]


def _discovered_with_times(monkeypatch, times) -> None:
    """The sensor's files discovered with the times a file system other than the tests' own
    gives them: `times(landed)` is their (ctime_ns, mtime_ns)."""
    from dataclasses import replace

    from cx_assets.lakehouse import automation

    real = automation.discover

    def discovering(*args, **kwargs):
        found = []
        for landed in real(*args, **kwargs):
            ctime_ns, mtime_ns = times(landed)
            found.append(replace(landed, ctime_ns=ctime_ns, mtime_ns=mtime_ns))
        return found

    monkeypatch.setattr(automation, "discover", discovering)


def _ticks_at(monkeypatch, ns: int) -> None:
    from datetime import UTC, datetime

    from cx_assets.lakehouse import automation

    monkeypatch.setattr(automation, "_now", lambda: datetime.fromtimestamp(ns / 1e9, UTC))


def test_a_file_on_a_mount_that_keeps_no_ctime_waits_after_its_last_write(
    lake, instance, monkeypatch
):
    """Some FUSE and network mounts keep no status-change time and report it as 0: the wait
    went by that 0, decades before the tick, and a file written in place there ran at once,
    cut off. A ctime earlier than the mtime tells nothing of the last write; the mtime
    does."""
    from cx_assets.lakehouse import automation

    quiet = automation.LANDING_QUIET_SECONDS
    path = lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    written = path.stat().st_mtime_ns
    _discovered_with_times(monkeypatch, lambda landed: (0, landed.mtime_ns))
    ticker = Ticker(make_sensor(quiet_seconds=quiet), lake.root, instance)

    _ticks_at(monkeypatch, written + 100_000_000)
    waits = ticker.tick()
    assert not waits.run_requests
    assert "changed 0.1 s ago" in waits.skip_message

    _ticks_at(monkeypatch, written + int((quiet + 0.1) * 1e9))
    assert keys(ticker.tick()) == [DAY]


def test_a_file_on_a_file_system_of_two_second_times_waits_after_its_last_write(
    lake, instance, monkeypatch
):
    """A FAT mount (a USB disk, an SMB share served from one) stamps a write with the even
    second it came in, rounded down, as its ctime and its mtime alike: a file written in
    place 0.1 s before the tick read as written 2.05 s before, longer ago than the 2 s
    wait, and ran cut off. A time of whole seconds is taken as maybe 2 s later."""
    from cx_assets.lakehouse import automation

    quiet = automation.LANDING_QUIET_SECONDS
    lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    written = 1_706_745_603_950_000_000  # the last write, 2024-02-01 00:00:03.95 UTC
    stamp = written - written % 2_000_000_000  # 00:00:02, on FAT's clock
    _discovered_with_times(monkeypatch, lambda landed: (stamp, stamp))
    ticker = Ticker(make_sensor(quiet_seconds=quiet), lake.root, instance)

    for after in (0.1, 1.5):  # after the write; 2.05 and 3.45 s after its stamp
        _ticks_at(monkeypatch, written + int(after * 1e9))
        waits = ticker.tick()
        assert not waits.run_requests
        assert f"landing/crm/interactions/{DAY}/part.jsonl" in waits.skip_message

    _ticks_at(monkeypatch, written + int((quiet + 0.1) * 1e9))
    assert keys(ticker.tick()) == [DAY]


def test_a_file_written_further_ahead_of_the_ticks_clock_than_the_wait_is_said(
    lake, instance, monkeypatch, capfd
):
    """A file server whose clock runs a minute ahead gives a file just written a time a
    minute after the tick's: the wait, which takes a file server's clock a little ahead,
    cannot tell whether it is still being written, and its day ran at once without a word
    (read cut off if it was). It still runs, and the sensor's log says why it did not wait."""
    from cx_assets.lakehouse import automation

    path = lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    other = lake.land_jsonl("crm", "interactions", DAY, [{"Id": 2}], name="zz.jsonl")
    written = path.stat().st_mtime_ns
    for ahead in (path, other):
        os.utime(ahead, ns=(written, written + 60_000_000_000))  # the file server's clock
    _discovered_with_times(monkeypatch, lambda landed: (landed.mtime_ns, landed.mtime_ns))
    ticker = Ticker(
        make_sensor(quiet_seconds=automation.LANDING_QUIET_SECONDS), lake.root, instance
    )
    _ticks_at(monkeypatch, written)

    assert keys(ticker.tick()) == [DAY]
    said = [line for line in capfd.readouterr().err.splitlines() if "ahead of" in line]
    assert len(said) == 1
    assert f"landing/crm/interactions/{DAY}/part.jsonl was written 60 s ahead of" in said[0]
    # The first file by name, and how many more (mutation testing: left out, no test failed).
    assert said[0].endswith("its day runs as it is (1 more files of the day so)"), said[0]
