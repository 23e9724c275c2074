"""Landing-zone discovery (`landing.py`): which landed files make a (source, table, day),
what is skipped and said, date folders, and links out of the landing folder, which are
never followed.

Every expectation is worked out by hand from the files laid out in the test.
"""

from __future__ import annotations

import contextlib
import os
from datetime import date, timedelta

import pytest

from cx_assets.lakehouse.landing import (
    DayFoldersNotRead,
    date_folders,
    discover,
    discover_days,
    landed_days,
    misplaced,
    misplaced_sources,
    parse_date_folder,
)
from cx_assets_tests.lakehouse.landed_files import DAY, land_in, read_day, write
from cx_assets_tests.lakehouse.test_landing_sensor_ignored import refuse_listing

# ---------------------------------------------------------------------------------------
# Discovery
# ---------------------------------------------------------------------------------------


def test_discover_ignores_in_flight_and_unsupported_files_and_sorts_by_name(tmp_path):
    landing_dir = tmp_path / "data" / "landing"
    folder = landing_dir / "crm" / "interactions" / DAY.isoformat()
    write(folder / "b.jsonl", b'{"a": 1}\n')
    write(folder / "a.jsonl", b'{"a": 2}\n')
    write(folder / "c.csv", b"id\n1\n")
    write(folder / "d.JSON", b"[]")
    write(folder / "_partial.jsonl", b'{"a": 3}\n')
    write(folder / ".hidden.jsonl", b'{"a": 4}\n')
    write(folder / "_c.csv.tmp", b"id\n")
    write(folder / "notes.txt", b"hello")
    write(folder / "data.parquet", b"PAR1")
    (folder / "sub.jsonl").mkdir()  # a directory, even with a supported suffix

    files = discover(landing_dir, "crm", "interactions", DAY)

    assert [f.path.name for f in files] == ["a.jsonl", "b.jsonl", "c.csv", "d.JSON"]
    first = files[0]
    assert first.relative_path == "landing/crm/interactions/2024-01-05/a.jsonl"
    assert first.day == DAY
    assert first.size == len(b'{"a": 2}\n')
    assert first.mtime_ns == os.stat(folder / "a.jsonl").st_mtime_ns


def test_discover_says_what_it_does_not_read_as_a_file(tmp_path, caplog):
    landing_dir = tmp_path / "data" / "landing"
    folder = landing_dir / "crm" / "interactions" / DAY.isoformat()
    write(folder / "a.jsonl", b'{"a": 1}\n')
    # A batch delivered in a folder of its own: its files would go unread without a word.
    write(folder / "batch-2" / "b.jsonl", b'{"a": 2}\n')
    (folder / "gone.jsonl").symlink_to(folder / "removed.jsonl")  # a link to nothing
    os.mkfifo(folder / "pipe.csv")
    (folder / "to-pipe.csv").symlink_to(folder / "pipe.csv")
    # Found in a hostile-input audit: a link loop raised ELOOP out of the listing, failing
    # the day's bronze step (and the landing sensor's tick) for one bad entry.
    (folder / "loop-1.jsonl").symlink_to(folder / "loop-2.jsonl")
    (folder / "loop-2.jsonl").symlink_to(folder / "loop-1.jsonl")
    (folder / "_upload").mkdir()  # in flight: nothing to say

    with caplog.at_level("WARNING"):
        files = discover(landing_dir, "crm", "interactions", DAY)

    assert [landed.path.name for landed in files] == ["a.jsonl"]
    day = f"landing/crm/interactions/{DAY.isoformat()}"
    assert sorted(record.getMessage() for record in caplog.records) == [
        f"ignoring {day}/batch-2: a folder: only the files directly in a date folder are read",
        f"ignoring {day}/gone.jsonl: a link to nothing",
        f"ignoring {day}/loop-1.jsonl: a link that loops",
        f"ignoring {day}/loop-2.jsonl: a link that loops",
        f"ignoring {day}/pipe.csv: not a regular file",
        f"ignoring {day}/to-pipe.csv: not a regular file",
    ]


def test_discover_missing_folder_is_empty(tmp_path):
    assert discover(tmp_path / "landing", "crm", "interactions", DAY) == []


def test_date_folders_groups_tables_by_folder_name(tmp_path):
    landing_dir = tmp_path / "landing"
    for table, folder in [
        ("interactions", "2024-01-05"),
        ("contacts", "2024-01-05"),
        ("contacts", "2024-01-06"),
        ("contacts", "not-a-date"),
    ]:
        (landing_dir / "crm" / table / folder).mkdir(parents=True)
    write(landing_dir / "crm" / "contacts" / "stray.jsonl", b"{}")  # a file, not a folder
    # Nor is a file of the source's folder a table's (taken for one, listing it raised).
    write(landing_dir / "crm" / "README.txt", b"where files land")
    (landing_dir / "calls" / "transcripts" / "2024-01-07").mkdir(parents=True)

    found = date_folders(landing_dir, "crm")

    assert set(found) == {"2024-01-05", "2024-01-06", "not-a-date"}
    crm = landing_dir / "crm"
    assert found["2024-01-05"] == [
        crm / "contacts" / "2024-01-05",
        crm / "interactions" / "2024-01-05",
    ]
    assert found["2024-01-06"] == [crm / "contacts" / "2024-01-06"]
    assert date_folders(landing_dir, "support") == {}


def test_landed_days_are_date_folders_holding_a_file_that_would_be_read(tmp_path):
    landing_dir = tmp_path / "landing"
    digital = landing_dir / "digital"
    write(digital / "calls" / "2024-01-05" / "calls.csv", b"call_id\n")
    write(digital / "journeys" / "2024-01-06" / "j.CSV", b"member_id\n")
    write(digital / "calls" / "2024-01-07" / "_writing.csv", b"call_id\n")  # in flight
    write(digital / "calls" / "2024-01-08" / "notes.txt", b"not read")
    (digital / "calls" / "2024-01-12" / "batch.csv").mkdir(parents=True)  # a folder, so named
    (digital / "members" / "2024-01-09").mkdir(parents=True)  # an empty folder
    write(digital / "members" / "latest" / "m.csv", b"member_id\n")  # not a date
    write(digital / "members" / "2024-01-11.bak" / "m.csv", b"member_id\n")  # nor this
    # Shaped as a date and none: taken for a landed day, it ended `cx-lakehouse run
    # --select group:digital` in a ValueError traceback after the run (its summary naming
    # the days landed and never built before the run's parsed each one).
    write(digital / "calls" / "2024-02-30" / "calls.csv", b"call_id\n")
    write(digital / "_staging" / "2024-01-10" / "m.csv", b"member_id\n")  # in flight

    assert landed_days(landing_dir, "digital") == {"2024-01-05", "2024-01-06"}
    assert landed_days(landing_dir, "support") == set()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("2024-01-05", date(2024, 1, 5)),
        ("2024-02-29", date(2024, 2, 29)),
        ("2023-02-29", None),  # not a leap year
        ("2024-13-01", None),
        ("2024-1-5", None),
        ("20240105", None),
        ("2024-01-05x", None),
        ("2024-01-05\n", None),
        (" 2024-01-05", None),
        ("latest", None),
        ("", None),
    ],
)
def test_parse_date_folder(name, expected):
    assert parse_date_folder(name) == expected


# ---------------------------------------------------------------------------------------
# A file listed with the reason it cannot be read
# ---------------------------------------------------------------------------------------


# Found by mutation testing: a CSV's was read as any other file (its rows, no bad record),
# which passed, as only a JSONL file was landed here; both are read by Arrow when plain.
@pytest.mark.parametrize(
    ("suffix", "content"), [(".jsonl", '{"Id": 1}\n{"Id": 2}\n'), (".csv", "Id\n1\n2\n")]
)
def test_a_file_name_that_is_not_utf8_is_one_bad_record_with_a_printable_name(
    tmp_path, suffix, content
):
    landing_dir = tmp_path / "data" / "landing"
    land_in(landing_dir, b"caf\xe9" + suffix.encode(), content.encode())  # Latin-1 `é`
    land_in(landing_dir, "good.jsonl", b'{"Id": 3}\n')
    folder = "landing/crm/interactions/2024-01-05"

    [bad, _] = discover(landing_dir, "crm", "interactions", DAY)
    assert bad.relative_path == f"{folder}/caf\\xe9{suffix}"
    assert bad.relative_path.encode("utf-8")  # Parquet and DuckDB take it

    assert read_day(landing_dir) == [
        {
            "source_file": f"{folder}/caf\\xe9{suffix}",
            "line_number": 1,
            "raw": content,
            "read_error": "file not read: its name is not UTF-8",
        },
        {"source_file": f"{folder}/good.jsonl", "line_number": 1, "raw": '{"Id": 3}',
         "read_error": None},
    ]  # fmt: skip


def test_control_characters_in_a_file_name_are_escaped_and_the_file_is_read(tmp_path):
    """Found in a hostile-input audit: a name holding a line break or a terminal escape
    reached `cx-lakehouse run`'s summary, the run's log and the quarantine as is, so a
    delivered name could write lines of its own there (`ok\\nchecks: 0 failed`) or recolour
    and clear the terminal. Such characters are written as `\\xNN` (bidirectional overrides,
    which reorder what a name shows, as `\\uNNNN`), and the file is read as any other."""
    landing_dir = tmp_path / "data" / "landing"
    # DEL and a C1 control (U+0085, a line break to some terminals) too: each as `\\xNN`.
    land_in(landing_dir, "a\nb\x1b[2J\x7f\x85\u202ec.jsonl", b'{"Id": 1}\n')
    folder = "landing/crm/interactions/2024-01-05"

    [landed] = discover(landing_dir, "crm", "interactions", DAY)
    assert landed.relative_path == f"{folder}/a\\x0ab\\x1b[2J\\x7f\\x85\\u202ec.jsonl"
    assert landed.read_error is None
    assert read_day(landing_dir) == [
        {"source_file": landed.relative_path, "line_number": 1, "raw": '{"Id": 1}',
         "read_error": None},
    ]  # fmt: skip


def test_a_name_spelling_an_escape_is_told_apart_from_the_name_escaped_to_it(tmp_path):
    """Found in a determinism audit: `a<U+0001>.jsonl` and a file named `a\\x01.jsonl` as
    typed were both `a\\x01.jsonl` in bronze's `source_file`, so their records tied on
    (day, file, line), the order latest-version and first-copy rules go by, and which copy
    won was DuckDB's to pick. A backslash a name holds before `x` or `u` is written
    `\\x5c`, so every shown name stands for one name."""
    landing_dir = tmp_path / "data" / "landing"
    land_in(landing_dir, "a\x01.jsonl", b'{"Id": 1}\n')
    land_in(landing_dir, "a\\x01.jsonl", b'{"Id": 2}\n')
    land_in(landing_dir, "a\\b.jsonl", b'{"Id": 3}\n')  # no escape spelled: as typed
    land_in(landing_dir, "a\\u202e.jsonl", b'{"Id": 4}\n')  # as `a<U+202E>.jsonl` shows
    folder = "landing/crm/interactions/2024-01-05"

    shown = [landed.relative_path for landed in discover(landing_dir, "crm", "interactions", DAY)]
    assert shown == [
        f"{folder}/a\\x01.jsonl",
        f"{folder}/a\\b.jsonl",
        f"{folder}/a\\x5cu202e.jsonl",
        f"{folder}/a\\x5cx01.jsonl",
    ]  # listed by name as landed: U+0001, then `\\b`, `\\u`, `\\x`
    assert [row["source_file"] for row in read_day(landing_dir)] == shown


# ---------------------------------------------------------------------------------------
# Links out of the landing folder
# ---------------------------------------------------------------------------------------


def test_links_that_resolve_outside_landing_are_ignored_with_a_log_line(tmp_path, caplog):
    landing_dir = tmp_path / "data" / "landing"
    outside = write(tmp_path / "secrets" / "passwd", b"root:x:0:0:root:/root:/bin/bash\n")
    inside = land_in(landing_dir, "good.jsonl", b'{"Id": 1}\n')
    folder = inside.parent
    (folder / "passwd.jsonl").symlink_to(outside)
    (folder / "alias.jsonl").symlink_to("good.jsonl")  # a link within landing is fine
    # A date folder that is itself a link out of landing.
    (landing_dir / "crm" / "contacts").mkdir(parents=True)
    (landing_dir / "crm" / "contacts" / DAY.isoformat()).symlink_to(outside.parent)
    (outside.parent / "contacts.jsonl").write_bytes(b'{"Id": 9}\n')
    # A table folder that is a link out of landing, its date folder no link.
    write(tmp_path / "elsewhere" / DAY.isoformat() / "deals.jsonl", b'{"Id": 5}\n')
    (landing_dir / "crm" / "deals").symlink_to(tmp_path / "elsewhere")

    with caplog.at_level("WARNING"):
        found = discover(landing_dir, "crm", "interactions", DAY)
        contacts = discover(landing_dir, "crm", "contacts", DAY)
        deals = discover(landing_dir, "crm", "deals", DAY)
        # as a landing sensor discovers, the real folders kept from day to day and table to table
        resolved: dict = {}
        each = [discover(landing_dir, "crm", table, DAY, [], resolved)
                for table in ("interactions", "contacts", "deals")]  # fmt: skip

    assert [landed.path.name for landed in found] == ["alias.jsonl", "good.jsonl"]
    assert contacts == [] and deals == []
    assert each == [found, [], []]
    messages = [record.getMessage() for record in caplog.records]
    assert (
        "ignoring landing/crm/interactions/2024-01-05/passwd.jsonl: "
        "a link to outside the landing folder"
    ) in messages
    assert (
        "ignoring landing/crm/contacts/2024-01-05/contacts.jsonl: "
        "a link to outside the landing folder"
    ) in messages


def test_a_landing_folder_that_is_itself_a_link_is_read(tmp_path):
    # The landing root may live on another disk: only links leaving it are refused.
    real = tmp_path / "disk" / "landing"
    land_in(real, "good.jsonl", b'{"Id": 1}\n')
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "landing").symlink_to(real)
    found = discover(tmp_path / "data" / "landing", "crm", "interactions", DAY)
    assert [landed.relative_path for landed in found] == [
        "landing/crm/interactions/2024-01-05/good.jsonl"
    ]


# ---------------------------------------------------------------------------------------
# Folders it may not list or look into
# ---------------------------------------------------------------------------------------


def test_landed_days_of_a_folder_it_may_not_list_are_none(tmp_path, monkeypatch):
    """`landed_days` names the days `cx-lakehouse run` says were landed and never built: a
    day folder it may not list holds no file it knows of, and a source folder it may not
    list no day (the steps that read them say why). Found by mutation testing: a day
    folder it may not list taken as landed, and the source folder's refusal raised, passed
    every landing test."""
    landing_dir = tmp_path / "landing"
    write(landing_dir / "crm" / "interactions" / "2024-01-05" / "a.jsonl", b"{}\n")
    write(landing_dir / "crm" / "interactions" / "2024-01-06" / "b.jsonl", b"{}\n")
    write(landing_dir / "calls" / "transcripts" / "2024-01-05" / "c.jsonl", b"{}\n")
    refuse_listing(
        monkeypatch,
        {landing_dir / "crm" / "interactions" / "2024-01-06", landing_dir / "calls"},
    )

    assert landed_days(landing_dir, "crm") == {"2024-01-05"}
    assert landed_days(landing_dir, "calls") == set()


def test_a_file_it_may_not_look_at_fails_the_discovery_and_is_never_left_out(tmp_path, monkeypatch):
    """A file listed in its date folder that cannot be looked at (a folder this user may
    list, not enter) fails the day's read, which then names it (`failures`): dropped, the
    day would be built without it, without a word. Found by mutation testing: any error
    looking at a file skipped as a file removed since the listing passed every landing
    test."""
    landing_dir = tmp_path / "data" / "landing"
    land_in(landing_dir, "a.jsonl", b'{"Id": 1}\n')
    landed = land_in(landing_dir, "b.jsonl", b'{"Id": 2}\n')
    real_scandir = os.scandir

    def listing_of_one_it_may_not_look_at(path="."):
        with real_scandir(path) as entries:
            return contextlib.nullcontext([_NotLookedAt(entry, landed) for entry in entries])

    monkeypatch.setattr(os, "scandir", listing_of_one_it_may_not_look_at)
    with pytest.raises(PermissionError) as refused:
        discover(landing_dir, "crm", "interactions", DAY)
    assert refused.value.filename == str(landed)


class _NotLookedAt:
    """A listed entry as `os.scandir` gives it, which cannot be looked at if it is `refused`."""

    def __init__(self, entry: os.DirEntry, refused) -> None:
        self._entry, self._refused = entry, refused
        self.name, self.path = entry.name, entry.path

    def is_file(self) -> bool:
        return self._entry.is_file()

    def is_symlink(self) -> bool:
        return self._entry.is_symlink()

    def stat(self) -> os.stat_result:
        if self.path == str(self._refused):
            raise PermissionError(13, "Permission denied", self.path)
        return self._entry.stat()


def test_a_table_folder_it_may_not_list_is_said_of_any_table_when_no_tables_are_named(
    tmp_path, monkeypatch
):
    """Found by mutation testing: a table's folder that cannot be listed was left unsaid
    when no tables were named, which passed every landing test."""
    landing_dir = tmp_path / "landing"
    (landing_dir / "crm" / "contacts" / "2024-01-05").mkdir(parents=True)
    (landing_dir / "crm" / "interactions" / "2024-01-05").mkdir(parents=True)
    refuse_listing(monkeypatch, {landing_dir / "crm" / "interactions"})
    unreadable: list[tuple[str, str]] = []

    found = date_folders(landing_dir, "crm", unreadable)

    assert found == {"2024-01-05": [landing_dir / "crm" / "contacts" / "2024-01-05"]}
    assert unreadable == [
        ("landing/crm/interactions", "cannot read it (PermissionError: Permission denied)")
    ]


def test_one_day_folder_it_may_not_list_fails_the_read_with_its_own_error(tmp_path, monkeypatch):
    landing_dir = tmp_path / "landing"
    days = [date(2024, 1, 5), date(2024, 1, 6)]
    for day in days:
        write(landing_dir / "calls" / "transcripts" / day.isoformat() / "t.jsonl", b"{}\n")
    folder = landing_dir / "calls" / "transcripts" / "2024-01-06"
    refuse_listing(monkeypatch, {folder})

    with pytest.raises(PermissionError) as refused:
        discover_days(landing_dir, "calls", "transcripts", days, {day: [] for day in days})
    assert type(refused.value) is PermissionError  # not "and 0 more day folders"
    assert str(refused.value) == f"[Errno 13] Permission denied: '{folder}'"


@pytest.mark.parametrize(
    ("others", "said"),
    [
        (10, "10 more day folders of calls/t it cannot read either: 2024-01-02, 2024-01-03, "
             "2024-01-04, 2024-01-05, 2024-01-06, 2024-01-07, 2024-01-08, 2024-01-09, "
             "2024-01-10, 2024-01-11"),
        (11, "11 more day folders of calls/t it cannot read either: 2024-01-02, 2024-01-03, "
             "2024-01-04, 2024-01-05, 2024-01-06, 2024-01-07, 2024-01-08, 2024-01-09, "
             "2024-01-10, 2024-01-11, …"),
    ],
)  # fmt: skip
def test_the_day_folders_not_read_are_named_up_to_ten(others, said):
    """Found by mutation testing: nine named, or an ellipsis after exactly ten, passed every
    landing test."""
    days = [(date(2024, 1, 2) + timedelta(days=n)).isoformat() for n in range(others)]
    first = PermissionError(13, "Permission denied", "/l/calls/t/2024-01-01")
    assert str(DayFoldersNotRead(first, "calls/t", days)) == (
        f"[Errno 13] Permission denied: '/l/calls/t/2024-01-01'; and {said}"
    )


# ---------------------------------------------------------------------------------------
# What lies where no run reads it
# ---------------------------------------------------------------------------------------


def test_what_lies_where_no_run_reads_it_is_said_with_why_and_in_flight_names_are_not(
    tmp_path,
):
    """Worked by hand over one landing folder. Found by mutation testing, each passing
    every landing test (the command's summary tests catch a few, at a run each): in-flight
    names said (a source's, a table's, inside a table's), a file of a source's folder said
    as a table, a file of a table's folder not said, and the first partition's own day
    said to be before it."""
    landing = tmp_path / "landing"
    for landed in (
        "crm/interactions/2024-01-01/a.jsonl",  # the first partition: read
        "crm/interactions/2023-12-31/b.jsonl",
        "crm/interactions/2024-1-2/c.jsonl",
        "crm/interactions/d.jsonl",
        "crm/interactions/_e.jsonl.tmp",
        "crm/interactions/_upload/2024-01-02/f.jsonl",
        "crm/interactionz/2024-01-01/g.jsonl",
        "crm/_staging/2024-01-01/h.jsonl",
        "crm/README.txt",
        "crm/.DS_Store",
        "crn/interactions/2024-01-01/i.jsonl",
        "NOTES.txt",
        ".hidden/j.jsonl",
        "_k.csv",
    ):
        write(landing / landed, b"{}\n")
    outside = "a file outside a date folder: files land in landing/crm/<table>/<YYYY-MM-DD>/"

    assert misplaced(landing, "crm", ["contacts", "interactions"], date(2024, 1, 1)) == [
        ("landing/crm/interactionz", "not a table of crm (its tables: contacts, interactions)"),
        ("landing/crm/README.txt", outside),
        (
            "landing/crm/interactions/2023-12-31",
            "a day before the first partition (2024-01-01): no run reads it "
            "(CX_PARTITIONS_START sets the first)",
        ),
        (
            "landing/crm/interactions/2024-1-2",
            "not a YYYY-MM-DD folder: a day's files land in one",
        ),
        ("landing/crm/interactions/d.jsonl", outside),
    ]
    assert misplaced_sources(landing, ["calls", "crm"]) == [
        (
            "landing/NOTES.txt",
            "a file outside a source's folder: files land in "
            "landing/<source>/<table>/<YYYY-MM-DD>/",
        ),
        ("landing/crn", "not a source (the sources: calls, crm)"),
    ]
