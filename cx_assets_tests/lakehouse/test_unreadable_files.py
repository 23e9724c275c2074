"""Hostile files as `readers` and `bronze_stream` read them: a file that cannot be read as
a whole (too deeply nested, a CSV header that is not UTF-8 or cannot be parsed, a file
removed, locked or whose read breaks off) is one bad record for the file, never an
exception, and the day's other files are still read (end to end, through a run:
`test_hostile_files`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cx_assets.lakehouse import bronze_stream, readers
from cx_assets.lakehouse.bronze_stream import read_landed
from cx_assets.lakehouse.landing import LandedFile, discover
from cx_assets.lakehouse.readers import lacks_its_header, read_csv, read_json, read_jsonl
from cx_assets_tests.lakehouse.landed_files import BOM, DAY, DAY_AFTER, land_in, read_day, write

# ---------------------------------------------------------------------------------------
# Hostile files: one bad record for the file, never an exception
# ---------------------------------------------------------------------------------------


def test_json_nested_deeper_than_python_parses_is_one_bad_record(tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    text = '[{"a": 1}, ' + deep + "]"
    assert list(read_json(write(tmp_path / "a.json", text.encode()))) == [
        (1, '{"a": 1}', None, None),
        (2, deep, None, "invalid JSON: nested too deeply to read"),
    ]
    # An array whose one element is too deep: that element.
    [(line, raw, record, error)] = read_json(write(tmp_path / "b.json", deep.encode()))
    assert (line, raw, record) == (1, deep[1:-1], None)
    assert error == "invalid JSON: nested too deeply to read"


# Told its table's fields, the header names none of them: still no record of its own.
@pytest.mark.parametrize("table_fields", [(), ("member_id", "plan_type")])
def test_csv_latin1_header_is_one_bad_record_for_the_file(tmp_path, table_fields):
    content = BOM + "id,descrição\n1,ação\n".encode("latin-1")  # the BOM is no part of its text
    [(line, raw, record, error)] = read_csv(write(tmp_path / "a.csv", content), table_fields)
    assert (line, record) == (1, None)
    # `id,descri` is 9 bytes: the Latin-1 `ç` is byte 9.
    assert error == "file not read: CSV header is not UTF-8 (invalid UTF-8 at byte 9)"
    assert raw == "id,descri\ufffd\ufffdo\n1,a\ufffd\ufffdo\n"


CSV_UTF16 = "file not read: the CSV is UTF-16, not UTF-8"
JSON_UTF16 = "file not read: the file is UTF-16, not UTF-8"


@pytest.mark.parametrize(
    ("read", "mark", "encoding", "reason"),
    [
        (read_csv, "\ufeff", "utf-16-le", CSV_UTF16),  # with a byte order mark, either way
        (read_csv, "\ufeff", "utf-16-be", CSV_UTF16),
        (
            read_csv,
            "",
            "utf-16-le",
            "file not read: CSV header holds NUL characters (UTF-16 without a byte order mark?)",
        ),
        (read_jsonl, "\ufeff", "utf-16-le", JSON_UTF16),
        (read_jsonl, "\ufeff", "utf-16-be", JSON_UTF16),
        (read_json, "\ufeff", "utf-16-le", JSON_UTF16),
        (read_json, "\ufeff", "utf-16-be", JSON_UTF16),
    ],
    ids=["csv-le", "csv-be", "csv-no-mark", "jsonl-le", "jsonl-be", "json-le", "json-be"],
)
def test_utf16_is_one_bad_record_for_the_file(tmp_path, read, mark, encoding, reason):
    content = "id,name\n1,Ana\n2,Bo\n"  # the same bytes whatever the reader: none are read
    path = write(tmp_path / "a.txt", (mark + content).encode(encoding))
    [(line, raw, record, error)] = read(path)
    assert (line, record, error) == (1, None, reason)
    if mark:
        assert raw == content  # the text, read in the encoding it really has


def test_a_utf16_jsonl_file_is_one_bad_record_with_its_text(tmp_path):
    """Found by mutation testing: read in blocks as UTF-8 (its NULs are valid UTF-8), its
    lines became records of `{\x00"\x00I...`, and only a whole CRM run's test said so."""
    content = '{"Id": 1}\n{"Id": 2}\n'
    land_in(tmp_path / "landing", "a.jsonl", content.encode("utf-16"))
    assert read_day(tmp_path / "landing") == [
        {
            "source_file": f"landing/crm/interactions/{DAY}/a.jsonl",
            "line_number": 1,
            "raw": content,
            "read_error": "file not read: the file is UTF-16, not UTF-8",
        }
    ]


@pytest.mark.parametrize(
    ("content", "cause"),
    [
        ('id,"x"y\n1,2\n', "',' expected after '\"'"),  # text after a closing quote
        # One field, its quote never closed: a name the table has, yet no other separator
        # than commas is guessed from one name.
        ('"member_id\n', "unexpected end of data"),
    ],
)
def test_csv_header_the_csv_module_cannot_read_is_one_bad_record(tmp_path, content, cause):
    path = write(tmp_path / "a.csv", content.encode())
    [(line, raw, record, error)] = read_csv(path, ("member_id", "plan_type"))
    assert (line, raw, record) == (1, content, None)
    assert error == f"file not read: unreadable CSV header: {cause}"


# ---------------------------------------------------------------------------------------
# Files that cannot be opened, or whose reading breaks off
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("a.jsonl", "file not read: FileNotFoundError: No such file or directory"),
        # Not read for its name: that reason, still on line 1, though its text is gone too.
        (b"a-\xff.jsonl", "file not read: its name is not UTF-8"),
    ],
)
def test_a_file_removed_after_discovery_is_one_bad_record(tmp_path, name, reason):
    landing_dir = tmp_path / "landing"
    gone = land_in(landing_dir, name, b'{"Id": 1}\n')
    land_in(landing_dir, "b.jsonl", b'{"Id": 2}\n')
    files = discover(landing_dir, "crm", "interactions", DAY)
    gone.unlink()

    table = read_landed(files, DAY_AFTER).read_all()

    assert table.select(["line_number", "raw", "read_error"]).to_pylist() == [
        {"line_number": 1, "raw": "", "read_error": reason},
        {"line_number": 1, "raw": '{"Id": 2}', "read_error": None},
    ]


def test_a_csv_that_cannot_be_opened_is_not_said_to_lack_its_header(tmp_path):
    # Its reading says why it was not read (above); the early look guesses nothing.
    assert not lacks_its_header(tmp_path / "gone.csv", ("member_id", "plan_type"))


class _BreaksOff:
    """A binary file whose reading fails with an I/O error after its first line."""

    def __init__(self, first_line: bytes):
        self.lines = [first_line]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __iter__(self):
        yield from self.lines
        raise OSError(5, "Input/output error")

    def read(self, _size: int = -1) -> bytes:  # a look at the first bytes (UTF-16?)
        if self.lines:
            return self.lines[0][:_size]
        raise OSError(5, "Input/output error")

    def readinto(self, buffer: memoryview) -> int:  # JSONL is read in blocks
        if self.lines:
            line = self.lines.pop()
            buffer[: len(line)] = line
            return len(line)
        raise OSError(5, "Input/output error")


def test_a_file_whose_reading_breaks_off_in_its_reader_keeps_the_lines_read(tmp_path, monkeypatch):
    # `file_records` (the readers' own path: a `.json`, or a file Arrow could not read) says
    # after which line, and the line after it stands for the rest.
    path = write(tmp_path / "b-broken.jsonl", b'{"Id": 2}\n{"Id": 3}\n')

    def failing_open(_path, *args, **kwargs):
        return _BreaksOff(b'{"Id": 2}\n')

    monkeypatch.setattr(readers, "open", failing_open, raising=False)
    landed = LandedFile(path, "b-broken.jsonl", DAY, 1_000, 20, 1_000)
    assert list(readers.file_records(landed)) == [
        (1, '{"Id": 2}', None, None),
        (2, "", None, "file read broke off after line 1: OSError: Input/output error"),
    ]


def test_unreadable_files_are_one_bad_record_and_the_others_still_read(tmp_path, monkeypatch):
    # Tests run as root, where chmod 000 does not stop a read: fail `open` instead.
    landing_dir = tmp_path / "landing"
    land_in(landing_dir, "a-locked.jsonl", b'{"Id": 1}\n')
    land_in(landing_dir, "b-broken.jsonl", b'{"Id": 2}\n{"Id": 3}\n')
    land_in(landing_dir, "c-locked.csv", b"Id\n4\n")
    land_in(landing_dir, "d-good.jsonl", b'{"Id": 5}\n')
    real_open = open

    def failing_open(path, *args, **kwargs):
        name = Path(path).name
        if "locked" in name:
            raise PermissionError(13, "Permission denied", str(path))
        if "broken" in name:
            return _BreaksOff(b'{"Id": 2}\n')
        return real_open(path, *args, **kwargs)

    # Both ways of reading a file open it: Arrow's for plain files, the readers' for others.
    monkeypatch.setattr(bronze_stream, "open", failing_open, raising=False)
    monkeypatch.setattr(readers, "open", failing_open, raising=False)

    rows = [(row["source_file"].rsplit("/", 1)[1], row["line_number"], row["read_error"])
            for row in read_day(landing_dir)]  # fmt: skip
    assert rows == [
        ("a-locked.jsonl", 1, "file not read: PermissionError: Permission denied"),
        ("b-broken.jsonl", 1, None),
        ("b-broken.jsonl", 2, "file read broke off after line 1: OSError: Input/output error"),
        ("c-locked.csv", 1, "file not read: PermissionError: Permission denied"),
        ("d-good.jsonl", 1, None),
    ]
