"""What the landing sensor does not read: in-flight and unsupported files, other sources'
and unlisted tables' folders, links out of landing, names that are not UTF-8; and that it
says so once, as it does of a folder it skips (today's, one that is no date), on the first
tick that meets it, not on every tick after."""

from __future__ import annotations

import os
import shutil
import time
from datetime import UTC, datetime

import pytest

from cx_assets_tests.lakehouse.sensor_ticks import (
    DAY,
    keys,
    sensor_instance,
    sensor_ticker,
    tick_at,
)

instance = pytest.fixture(sensor_instance, name="instance", scope="module")
ticker = pytest.fixture(sensor_ticker, name="ticker")


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


def test_a_folder_of_no_source_is_said_once(lake, ticker, capfd):
    """Seen in a probe of the CLI: files under a misspelled source (`landing/crn`) were read
    by no sensor and nothing said so. Said again if it comes back after it was gone."""
    lake.land_jsonl("crn", "interactions", DAY, [{"Id": 1}])
    stray = lake.layout.landing_dir / "README.txt"
    stray.write_text("where files land")

    def said() -> list[str]:
        lines = capfd.readouterr().err.splitlines()
        return sorted(line.split(" - ")[-1] for line in lines if "ignoring landing/" in line)

    assert not ticker.tick().run_requests
    assert said() == [
        "ignoring landing/README.txt: a file outside a source's folder: files land in "
        "landing/<source>/<table>/<YYYY-MM-DD>/",
        "ignoring landing/crn: not a source (the sources: calls, crm, digital, support)",
    ]
    assert not ticker.tick().run_requests and said() == []
    stray.unlink()
    assert not ticker.tick().run_requests and said() == []
    stray.write_text("back")
    ticker.tick()
    assert said() == [
        "ignoring landing/README.txt: a file outside a source's folder: files land in "
        "landing/<source>/<table>/<YYYY-MM-DD>/"
    ]


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


def test_a_link_loop_is_said_and_the_day_still_runs(lake, ticker, capfd):
    """Found in a hostile-input audit: a link that loops raised ELOOP out of the listing, so
    the landing sensor's every tick failed and no day of the source ran."""
    lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    folder = lake.layout.landing_dir / "crm" / "interactions" / DAY
    (folder / "loop.jsonl").symlink_to(folder / "loop.jsonl")

    assert len(ticker.tick().run_requests) == 1
    said = [line.split(" - ")[-1] for line in capfd.readouterr().err.splitlines()]
    assert f"ignoring landing/crm/interactions/{DAY}/loop.jsonl: a link that loops" in said


@pytest.mark.parametrize(
    ("count", "more"),
    [
        (120, [f"ignoring 70 more landed files of crm {DAY}, 120 in all"]),
        # Exactly 50: each said, and no "0 more" (mutation testing: said, no test failed).
        (50, []),
    ],
)
def test_many_files_not_read_are_said_in_a_bounded_number_of_lines(
    lake, ticker, capfd, count, more
):
    """Found in a landing-shape audit: a day folder holding 5,000 files of another
    extension made 5,000 lines in the tick's log. The first 50 are said each, the rest in
    one line."""
    lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    folder = lake.layout.landing_dir / "crm" / "interactions" / DAY
    for number in range(count):
        (folder / f"note-{number:03d}.txt").write_text("not a record")

    assert len(ticker.tick().run_requests) == 1
    lines = [
        line.split(" - ")[-1]
        for line in capfd.readouterr().err.splitlines()
        if " - ignoring " in line
    ]
    why = "not one of .jsonl, .json, .csv"
    assert lines == [
        *(f"ignoring landing/crm/interactions/{DAY}/note-{number:03d}.txt: {why}"
          for number in range(50)),
        *more,
    ]  # fmt: skip


def test_a_skipped_folder_is_logged_once_not_on_every_tick(lake, ticker, capfd, monkeypatch):
    now = datetime.now(UTC)
    tick_at(monkeypatch, now)
    today = now.date().isoformat()
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


def test_a_name_not_read_is_said_and_remembered_with_its_contacts_masked(lake, ticker, capfd):
    """A sensor's log and its stored state are files outside bronze (Dagster's storage under
    the data root): a folder or file named after a person (found in an audit) is said and
    kept as `privacy.shown_path` shows it, once, as any other."""
    email, phone = "ana.souza@example.com", "+55 11 94242-0150"
    lake.land_jsonl("crm", "interactions", email, [{"Id": 1}])  # not a date folder
    lake.land("crm", "interactions", DAY, f"{phone}.txt", "not read\n")
    lake.land_jsonl("crm", phone, DAY, [{"Id": 1}])  # not a table

    ticker.tick()
    said = capfd.readouterr().err
    assert "ana.souza" not in said and "94242" not in said
    assert "skipping landing/crm/*/[email]#" in said
    assert f"ignoring landing/crm/interactions/{DAY}/[phone].txt#" in said
    assert "ignoring landing/crm/[phone]#" in said
    assert not [name for name in ticker.state() if "ana.souza" in name or "94242" in name]
    ticker.tick()
    assert "[email]" not in capfd.readouterr().err  # said once


def refuse_listing(monkeypatch, locked: set) -> None:
    """Listing the `locked` folders fails as for a folder another user made 0700 (tests run
    as root, where chmod does not stop a listing)."""
    from pathlib import Path

    def refusing(real):
        def listing(path="."):
            if Path(os.fsdecode(path)) in locked:
                raise PermissionError(13, "Permission denied", os.fsdecode(path))
            return real(path)

        return listing

    monkeypatch.setattr(os, "scandir", refusing(os.scandir))
    monkeypatch.setattr(os, "listdir", refusing(os.listdir))  # Path.iterdir's on 3.11


def cannot_read_lines(capfd) -> list[str]:
    lines = capfd.readouterr().err.splitlines()
    return sorted(line.split(" - ")[-1] for line in lines if "cannot read" in line)


def test_a_date_folder_it_may_not_read_is_said_once_and_the_other_days_run(
    lake, ticker, capfd, monkeypatch
):
    """Found landing a day as another user (an SFTP upload's date folder made 0700): listing
    it raised PermissionError out of the tick, on every tick, so no day of the source ran,
    the readable ones included. The folder is now said once, its day left as the state knew
    it (never taken for emptied), and run once it can be read."""
    lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    lake.land_jsonl("crm", "interactions", "2024-01-06", [{"Id": 2}])
    assert len(ticker.tick().run_requests) == 1  # both days, as the state knows them
    lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}, {"Id": 4}])
    lake.land_jsonl("crm", "interactions", "2024-01-06", [{"Id": 2}, {"Id": 5}])
    with monkeypatch.context() as locked:
        refuse_listing(locked, {lake.layout.landing_dir / "crm" / "interactions" / DAY})
        assert keys(ticker.tick()) == ["2024-01-06"]
        assert cannot_read_lines(capfd) == [
            f"ignoring landing/crm/interactions/{DAY}: cannot read it (PermissionError: "
            "Permission denied)",
        ]
        assert not ticker.tick().run_requests and cannot_read_lines(capfd) == []
    assert keys(ticker.tick()) == [DAY]
    assert cannot_read_lines(capfd) == []


def test_a_date_folder_it_may_not_read_is_named_by_every_skipped_tick(
    lake, ticker, capfd, monkeypatch
):
    """Found as a service user, a day landed by another user in a folder 0700: its line was
    said once, in the log of a skipped tick (which the daemon keeps a day), and every tick
    after it said "no new or re-delivered crm files", so a day later nothing showed that the
    day was held. Each skipped tick's reason now names the first such folder and why."""
    lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    with monkeypatch.context() as locked:
        refuse_listing(locked, {lake.layout.landing_dir / "crm" / "interactions" / DAY})
        for _ in range(2):
            skipped = ticker.tick()
            assert not skipped.run_requests
            assert skipped.skip_message.endswith(
                f"; 1 day waits until it can be read: landing/crm/interactions/{DAY}: cannot "
                "read it (PermissionError: Permission denied)"
            ), skipped.skip_message
    assert keys(ticker.tick()) == [DAY]


def test_a_run_never_spans_a_date_folder_it_may_not_read(lake, ticker, capfd, monkeypatch):
    """Found running as a service user, landing written by another (an upload's date folder
    made 0700): the days around one it may not read were asked as one run through it, whose
    bronze step failed on that folder, and again on each of its two retries, so none of them
    was built, and the sensor, having seen them, asked for them no more. A run now stops
    short of such a day: the days after it run on the next tick."""
    for day in ["2024-01-04", DAY, "2024-01-06", "2024-01-07"]:
        lake.land_jsonl("crm", "interactions", day, [{"Id": 1}])
    with monkeypatch.context() as locked:
        refuse_listing(locked, {lake.layout.landing_dir / "crm" / "interactions" / DAY})
        assert keys(ticker.tick()) == ["2024-01-04"]
        assert cannot_read_lines(capfd) == [
            f"ignoring landing/crm/interactions/{DAY}: cannot read it (PermissionError: "
            "Permission denied)",
        ]
        later = ticker.tick().run_requests
        assert [request.tags["dagster/asset_partition_range_start"] for request in later] == [
            "2024-01-06"
        ]
        assert later[0].tags["dagster/asset_partition_range_end"] == "2024-01-07"
        assert not ticker.tick().run_requests
    assert keys(ticker.tick()) == [DAY]


def test_a_day_copied_in_again_keeping_its_times_waits_behind_one_it_may_not_read(
    lake, ticker, capfd, monkeypatch
):
    """A day after one it may not read waits for a later tick, as a new day does, when it is
    a re-delivery the state knows by its fingerprint (`cp -p` of a corrected file, only its
    ctime moved), which needs no comparison with bronze: taken on the same tick, it made one
    run from the day before the unreadable one through it, which fails on that day, as do
    its retries, building none of them (mutation testing: the wait dropped, no test
    failed)."""
    paths = {
        day: lake.land_jsonl("crm", "interactions", day, [{"Id": 1}])
        for day in ["2024-01-04", DAY, "2024-01-06"]
    }
    assert len(ticker.tick().run_requests) == 1  # the three days, as the state knows them
    before = paths["2024-01-06"].stat()
    time.sleep(0.05)  # file times move in kernel ticks: step past the first write's
    lake.land_jsonl("crm", "interactions", "2024-01-04", [{"Id": 1}, {"Id": 2}])
    lake.land_jsonl("crm", "interactions", "2024-01-06", [{"Id": 3}])
    os.utime(paths["2024-01-06"], ns=(before.st_atime_ns, before.st_mtime_ns))
    with monkeypatch.context() as locked:
        refuse_listing(locked, {lake.layout.landing_dir / "crm" / "interactions" / DAY})
        first = ticker.tick().run_requests
        assert [request.partition_key for request in first] == ["2024-01-04"]
        assert keys(ticker.tick()) == ["2024-01-06"]
        assert not ticker.tick().run_requests


@pytest.mark.parametrize("folder", ["crm/contacts", "crm"])
def test_a_table_or_source_folder_it_may_not_read_holds_every_day_and_says_why(
    lake, ticker, capfd, monkeypatch, folder
):
    """The same for a table's folder, or the source's own: a day's run reads every table,
    so none runs until the folder can be read, and the tick's skip says which folder and
    why (the source's folder had still failed every tick, from the look for folders that
    are no table)."""
    lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    lake.land_jsonl("crm", "contacts", DAY, [{"Id": 2}])
    with monkeypatch.context() as locked:
        refuse_listing(locked, {lake.layout.landing_dir / folder})
        skipped = ticker.tick()
        assert not skipped.run_requests
        assert skipped.skip_message == (
            f"landing/{folder}: cannot read it (PermissionError: Permission denied); "
            "no day of crm runs until it can be read"
        )
        assert cannot_read_lines(capfd) == [
            f"ignoring landing/{folder}: cannot read it (PermissionError: Permission denied)"
        ]
        assert not ticker.tick().run_requests and cannot_read_lines(capfd) == []
    assert keys(ticker.tick()) == [DAY]


@pytest.mark.parametrize("folder", ["lost+found", "interactionz", ".upload-tmp"])
def test_a_folder_that_is_no_table_it_may_not_read_holds_no_day(
    lake, ticker, capfd, monkeypatch, folder
):
    """A folder of the source's landing folder that is none of its tables is never read by
    a day's run (a misspelled table is said as such; a source folder that is a file
    system of its own holds `lost+found`, root's and 0700): one this user may not list held
    every day of the source, for as long as it stayed, as a table's folder does."""
    lake.land_jsonl("crm", "interactions", DAY, [{"Id": 1}])
    other = lake.layout.landing_dir / "crm" / folder
    (other / DAY).mkdir(parents=True)
    with monkeypatch.context() as locked:
        refuse_listing(locked, {other})
        assert keys(ticker.tick()) == [DAY]
        assert cannot_read_lines(capfd) == []
