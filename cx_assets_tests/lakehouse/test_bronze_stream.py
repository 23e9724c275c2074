"""Landed files as bronze batches (`bronze_stream`): the rows of every file, and Arrow's
fast path over JSONL blocks and plain CSV files held to the record-by-record readers' rows.
"""

from __future__ import annotations

import io
import json
import os
import random
import threading
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from cx_assets.lakehouse import bronze_stream, readers
from cx_assets.lakehouse.bronze_stream import BRONZE_SCHEMA, read_landed
from cx_assets.lakehouse.landing import discover
from cx_assets.lakehouse.readers import read_csv
from cx_assets_tests.lakehouse.landed_files import (
    BOM,
    DAY,
    DAY_AFTER,
    land_in,
    read_day,
    write,
)

# ---------------------------------------------------------------------------------------
# Bronze batches
# ---------------------------------------------------------------------------------------


def test_read_landed_streams_bronze_rows_of_every_file(tmp_path):
    data_dir = tmp_path / "data"
    landing_dir = data_dir / "landing"
    folder = landing_dir / "digital" / "members" / DAY.isoformat()
    write(folder / "a.csv", b"member_id,plan\nM1,MAPD\nM2\n")
    write(folder / "b.jsonl", b'{"member_id": "M3"}\n')
    files = discover(landing_dir, "digital", "members", DAY)
    ingested_at = datetime(2024, 1, 6, 2, 30, tzinfo=UTC)

    reader = read_landed(files, ingested_at)

    assert isinstance(reader, pa.RecordBatchReader)
    assert reader.schema == BRONZE_SCHEMA
    table = reader.read_all()
    assert table.schema == BRONZE_SCHEMA
    assert table.schema.field("ingested_at").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("date").type == pa.date32()
    assert table.to_pylist() == [
        {
            "date": DAY,
            "source_file": "landing/digital/members/2024-01-05/a.csv",
            "line_number": 2,
            "ingested_at": ingested_at,
            "raw": "M1,MAPD",
            "record": json.dumps({"member_id": "M1", "plan": "MAPD"}),
            "read_error": None,
        },
        {
            "date": DAY,
            "source_file": "landing/digital/members/2024-01-05/a.csv",
            "line_number": 3,
            "ingested_at": ingested_at,
            "raw": "M2",
            "record": None,
            "read_error": "expected 2 fields, got 1",
        },
        {
            "date": DAY,
            "source_file": "landing/digital/members/2024-01-05/b.jsonl",
            "line_number": 1,
            "ingested_at": ingested_at,
            "raw": '{"member_id": "M3"}',
            "record": None,
            "read_error": None,
        },
    ]


# Five records as each way of reading lands them: JSONL in blocks, a `.json` array record
# by record, a plain CSV in one pass; and their line numbers.
FIVE_RECORDS = {
    "a.jsonl": (b"".join(b'{"Id": %d}\n' % n for n in range(1, 6)), [1, 2, 3, 4, 5]),
    "a.json": (b"[" + b",\n".join(b'{"Id": %d}' % n for n in range(1, 6)) + b"]", [1, 2, 3, 4, 5]),
    "a.csv": (b"Id\n" + b"".join(b"%d\n" % n for n in range(1, 6)), [2, 3, 4, 5, 6]),
}


@pytest.mark.parametrize("name", FIVE_RECORDS)
def test_read_landed_splits_into_batches_without_losing_rows(tmp_path, monkeypatch, name):
    """Found by mutation testing for the record-by-record path: a batch of three rows (one
    over `BATCH_ROWS`) passed, as only JSONL was read here."""
    monkeypatch.setattr(bronze_stream, "BATCH_ROWS", 2)
    landing_dir = tmp_path / "landing"
    folder = landing_dir / "crm" / "users" / DAY.isoformat()
    content, line_numbers = FIVE_RECORDS[name]
    write(folder / name, content)
    write(folder / "b.jsonl", b'{"Id": 6}\n')
    files = discover(landing_dir, "crm", "users", DAY)

    batches = list(read_landed(files, datetime(2024, 1, 6, tzinfo=UTC)))

    assert [batch.num_rows for batch in batches] == [2, 2, 1, 1]  # never more, per file
    table = pa.Table.from_batches(batches)
    records = [record or raw for raw, record in zip(table["raw"].to_pylist(),
               table["record"].to_pylist(), strict=True)]  # fmt: skip
    assert [int(json.loads(record)["Id"]) for record in records] == [1, 2, 3, 4, 5, 6]
    assert table["line_number"].to_pylist() == [*line_numbers, 1]


def test_read_landed_logs_a_files_unreadable_records_once_with_the_first(
    tmp_path, caplog, monkeypatch
):
    landing_dir = tmp_path / "data" / "landing"
    land_in(landing_dir, "clean.jsonl", b'{"Id": 1}\n{"Id": 2}\n')
    # Not UTF-8 on lines 2, 4 and 5 (a file of binary junk would be thousands of lines).
    land_in(landing_dir, "mixed.jsonl", b'{"Id": 3}\n\xff\xfe\n{"Id": 4}\n\x80\n{"\xc3": 1}\n')
    monkeypatch.setattr(bronze_stream, "BATCH_ROWS", 2)  # a file in several batches: still one line

    with caplog.at_level("WARNING"):
        rows = read_day(landing_dir)

    assert [row["line_number"] for row in rows if row["read_error"]] == [2, 4, 5]
    assert [record.getMessage() for record in caplog.records] == [
        f"landing/crm/interactions/{DAY.isoformat()}/mixed.jsonl: 3 records could not be "
        "read, the first on line 2: invalid UTF-8 at byte 0 (silver quarantines each with its "
        "reason)"
    ]
    # From the thread reading the stream (the step's): a step's log takes the records of
    # its own thread (`executor`), so a file read by another thread would go unsaid.
    assert {record.thread for record in caplog.records} == {threading.get_ident()}


def test_read_landed_reads_a_files_suffix_in_any_case(tmp_path):
    # Discovery takes `.JSON` for `.json` (`test_landing`): its reader does too. Read as
    # `.JSON` it raised a KeyError, failing the day, where it stands alone among the rest.
    landing_dir = tmp_path / "landing"
    land_in(landing_dir, "a.JSON", b'[{"Id": 1}, {"Id": 2}]')
    land_in(landing_dir, "b.JSONL", b'{"Id": 3}\n')
    land_in(landing_dir, "c.Csv", b"Id\n4\n")
    assert [(row["source_file"].rsplit("/", 1)[1], row["line_number"], row["raw"],
             row["read_error"]) for row in read_day(landing_dir)] == [
        ("a.JSON", 1, '{"Id": 1}', None),
        ("a.JSON", 2, '{"Id": 2}', None),
        ("b.JSONL", 1, '{"Id": 3}', None),
        ("c.Csv", 2, "4", None),
    ]  # fmt: skip


def test_read_landed_with_no_files_is_an_empty_stream(tmp_path):
    table = read_landed([], datetime(2024, 1, 6, tzinfo=UTC)).read_all()
    assert table.num_rows == 0
    assert table.schema == BRONZE_SCHEMA


# ---------------------------------------------------------------------------------------
# Arrow's fast path: JSONL blocks and plain CSV files
# ---------------------------------------------------------------------------------------


def test_jsonl_read_in_blocks_gives_the_rows_a_line_by_line_read_gives(tmp_path, monkeypatch):
    """Blocks end inside lines, a bad line sits in one block, CRLF, blanks, a BOM and a
    last line without its newline: the same rows, numbers and errors as `read_jsonl`."""
    monkeypatch.setattr(bronze_stream, "JSONL_BLOCK_BYTES", 7)
    content = (
        b'\xef\xbb\xbf{"Id": 1}\r\n\n  \n{"Id": "\xc3\xa9t\xc3\xa9"}\n{"Id": "\xff"}\n'
        b'{"Id": "\xed\xa0\x80"}\n' + b'{"Id": 42, "pad": "' + b"x" * 40 + b'"}\n{"Id": 7}'
    )
    landing_dir = tmp_path / "landing"
    write(landing_dir / "crm" / "users" / DAY.isoformat() / "a.jsonl", content)
    files = discover(landing_dir, "crm", "users", DAY)

    table = read_landed(files, datetime(2024, 1, 6, tzinfo=UTC)).read_all()

    expected = list(readers.read_jsonl(files[0].path))
    assert table["line_number"].to_pylist() == [row[0] for row in expected]
    assert table["raw"].to_pylist() == [row[1] for row in expected]
    assert table["read_error"].to_pylist() == [row[3] for row in expected]
    assert table["line_number"].to_pylist() == [1, 4, 5, 6, 7, 8]
    assert [error is not None for error in table["read_error"].to_pylist()] == [
        False, False, True, True, False, False,
    ]  # fmt: skip


def test_a_small_jsonl_file_is_read_into_a_small_buffer(tmp_path):
    """A day of many small files must not hold a 16 MB buffer for each batch waiting to be
    written."""
    path = write(tmp_path / "a.jsonl", b'{"Id": 1}\n{"Id": 2}')

    blocks = list(bronze_stream._jsonl_blocks(path))

    assert [bytes(block) for block in blocks] == [b'{"Id": 1}\n', b'{"Id": 2}']
    assert all(len(block.obj) <= bronze_stream.SMALL_BLOCK_BYTES + 20 for block in blocks)


def test_random_jsonl_files_read_in_blocks_give_the_rows_of_a_line_by_line_read(
    tmp_path, monkeypatch
):
    """Seeded random files read in blocks of 1 to 40 bytes, so block ends fall everywhere:
    inside a BOM, a CRLF, a multi-byte character; blank lines of every kind, bytes that are
    not UTF-8, a BOM later in the file (text, not dropped), with and without a last
    newline: whichever way each file is read, its bronze rows are `read_jsonl`'s."""
    pieces = [b'{"Id": 1}', b'{"n": "\xc3\xa9\xf0\x9f\x99\x82"}', b"[1, 2]", b"  ", b"\t",
              b"\r", b"", b"\xff", b"\xc3", BOM, b"x" * 30]  # fmt: skip
    chooser = random.Random(20261203)
    landing_dir = tmp_path / "landing"
    for case in range(300):
        lines = [b"".join(chooser.choices(pieces, k=chooser.randint(0, 3)))
                 for _ in range(chooser.randint(0, 6))]  # fmt: skip
        ending = chooser.choice([b"\n", b"\r\n"])
        content = ending.join(lines) + chooser.choice([b"", ending])
        if chooser.random() < 0.3:
            content = BOM + content
        path = land_in(landing_dir, "a.jsonl", content)
        monkeypatch.setattr(bronze_stream, "JSONL_BLOCK_BYTES", chooser.randint(1, 40))

        table = read_landed(discover(landing_dir, "crm", "interactions", DAY), DAY_AFTER).read_all()

        columns = [
            table[name].to_pylist() for name in ("line_number", "raw", "record", "read_error")
        ]
        assert list(zip(*columns, strict=True)) == list(readers.read_jsonl(path)), (
            case,
            content,
        )


# Plain CSV files are read by Arrow in one pass; every other file row by row by `read_csv`.
PLAIN_CSVS = {
    "rows": b"id,name\n1,Ana\n2,Bruno\n",
    "no last newline": b"id,name\n1,Ana\n2,Bruno",
    "crlf, bom and blank lines": BOM + b"id,name\r\n\r\n1,Ana\r\n   \r\n2,Bruno\r\n\n",
    "unicode blanks and text": "id,name\n\u00a0\n1,Zoë 🙂\n\u3000\u2028\n2,\u00a0x\n".encode(),
    "empty fields and spaces kept": b"id, name ,note\n1,,\n, Ana ,x y\n",
    "one column": b"id\n1\n\n2\n",
    "header only": b"id,name\n",
    "json escapes in names only": b"id,na\\me\n1,x\n",
    "a spreadsheet's unnamed columns": b"id,name,,\r\n1,Ana,,\r\n2,Bo,,x\r\n",
}
NOT_PLAIN_CSVS = {
    "a quoted field": b'id,name\n1,"Ana, Bia"\n',
    "a quoted field without a comma": b'id,name\n1,"Ana"\n',
    "a tab": b"id,name\n1,A\tna\n",
    "a bare carriage return": b"id,name\n1,Ana\r2,Bruno\n",
    "a NUL": b"id,name\n1,A\x00na\n",
    "a row with too few fields": b"id,name\n1,Ana\n2\n",
    "invalid utf-8": b"id,name\n1,\xffAna\n",
    "a blank first line": b"\nid,name\n1,Ana\n",
    "unnamed columns and a quote": b'id,,name,\n1,,"Ana",\n',
    "a header naming a column twice": b"id,id\n1,2\n",
    "nothing": b"",
    "a backslash in a value": b"id,name\n1,A\\na\n",
}


@pytest.mark.parametrize(
    "content, plain",
    [(content, True) for content in PLAIN_CSVS.values()]
    + [(content, False) for content in NOT_PLAIN_CSVS.values()],
    ids=[*PLAIN_CSVS, *NOT_PLAIN_CSVS],
)
def test_csv_read_in_one_pass_gives_the_rows_a_row_by_row_read_gives(tmp_path, content, plain):
    """Line numbers, raw text, records and errors as `read_csv` gives them, whichever way
    the file is read; plain files are the ones read in one pass."""
    landing_dir = tmp_path / "landing"
    path = write(landing_dir / "digital" / "members" / DAY.isoformat() / "a.csv", content)
    files = discover(landing_dir, "digital", "members", DAY)

    table = read_landed(files, datetime(2024, 1, 6, tzinfo=UTC)).read_all()

    expected = list(read_csv(path))
    assert table["line_number"].to_pylist() == [row[0] for row in expected]
    assert table["raw"].to_pylist() == [row[1] for row in expected]
    assert table["record"].to_pylist() == [row[2] for row in expected]
    assert table["read_error"].to_pylist() == [row[3] for row in expected]
    assert (bronze_stream._plain_csv(path) is not None) == plain


def test_a_plain_csv_reads_its_values_as_written():
    """A worked case, so the comparison above cannot pass on two equally wrong readers."""
    content = PLAIN_CSVS["crlf, bom and blank lines"]
    path = write(Path(os.environ.get("TMPDIR", "/tmp")) / f"plain-{os.getpid()}.csv", content)
    try:
        numbers, raw, records = bronze_stream._plain_csv(path)
    finally:
        path.unlink()
    assert numbers.tolist() == [3, 5]
    assert raw.to_pylist() == ["1,Ana", "2,Bruno"]
    assert records.to_pylist() == ['{"id": "1", "name": "Ana"}', '{"id": "2", "name": "Bruno"}']


def test_blank_csv_lines_are_what_str_strip_strips_in_a_plain_file():
    """The one-pass reader's blank-line pattern matches exactly the characters Python's
    `str.strip()` strips (as `read_csv` does) that a plain file can hold (none below 0x20)."""
    import pyarrow.compute as pc

    characters = [chr(code) for code in range(0x20, 0x110000) if not 0xD800 <= code <= 0xDFFF]
    matched = pc.match_substring_regex(pa.array(characters), bronze_stream._BLANK_TEXT_LINE)
    assert {c for c, blank in zip(characters, matched.to_pylist(), strict=True) if blank} == {
        c for c in characters if c.isspace()
    }


# `PLAIN_CSVS["rows"]` is 22 bytes; its records as JSON 2 rows of `"id": "` and `"name": "`
# (16 bytes) and 3 a value (quotes, separator): 44.
@pytest.mark.parametrize(
    ("limit", "size"), [("CSV_WHOLE_FILE_BYTES", 22), ("CSV_RECORDS_BYTES", 44)]
)
def test_a_plain_csv_too_large_to_read_at_once_is_read_row_by_row(
    tmp_path, monkeypatch, limit, size
):
    """Read at once up to its limit, row by row a byte beyond (found by mutation testing:
    a file the limit's size read row by row passed, the limit set far below the file's)."""
    content = PLAIN_CSVS["rows"]
    landing_dir = tmp_path / "landing"
    path = write(landing_dir / "digital" / "members" / DAY.isoformat() / "a.csv", content)
    monkeypatch.setattr(bronze_stream, limit, size)
    assert bronze_stream._plain_csv(path) is not None
    monkeypatch.setattr(bronze_stream, limit, size - 1)

    table = read_landed(discover(landing_dir, "digital", "members", DAY), DAY_AFTER).read_all()

    assert bronze_stream._plain_csv(path) is None
    assert table["record"].to_pylist() == [row[2] for row in read_csv(path)]


def test_random_csv_files_read_the_same_either_way(tmp_path):
    """Seeded random files of rows the header's width, from values that make CSV hard
    (quotes, a quoted comma, backslashes, tabs, Unicode spaces), blank lines of every kind,
    both line ends, and now and then a bare carriage return, a short row or a byte that is
    not UTF-8: whichever way each file is read, its bronze rows are `read_csv`'s."""

    values = ["a", "1", "é", "🙂", "", " ", "a b", "\u00a0", '"q"', '"a,b"', "\\", "x\ty"]
    blanks = ["", " ", "\u00a0", "\u3000 ", "\u2028"]
    chooser = random.Random(20261201)
    landing_dir = tmp_path / "landing"
    folder = landing_dir / "digital" / "members" / DAY.isoformat()
    plain = 0
    for case in range(300):
        header = chooser.choice(["id, name ,note", "id"])  # one column: a blank is no row
        lines = [header]
        for _ in range(chooser.randint(0, 6)):
            if chooser.random() < 0.2:
                lines.append(chooser.choice(blanks))
            columns = header.count(",") + 1
            width = columns if chooser.random() < 0.95 else columns + 1
            plain_only = case % 2 == 0  # half the files hold plain values only
            pool = values[:8] if plain_only else values
            lines.append(",".join(chooser.choice(pool) for _ in range(width)))
        ending = chooser.choice(["\n", "\r\n"])
        text = ending.join(lines) + chooser.choice(["", ending])
        if chooser.random() < 0.05:
            text = text.replace(ending, "\r", 1)
        content = text.encode("utf-8") + (b"\xff" if chooser.random() < 0.05 else b"")
        for old in folder.glob("*"):
            old.unlink()
        path = write(folder / "a.csv", content)

        table = read_landed(discover(landing_dir, "digital", "members", DAY), DAY_AFTER).read_all()

        columns = [
            table[name].to_pylist() for name in ("line_number", "raw", "record", "read_error")
        ]
        assert list(zip(*columns, strict=True)) == list(read_csv(path)), (case, content)
        plain += bronze_stream._plain_csv(path) is not None
    assert plain >= 60, plain  # the one-pass reader was compared, not only the row-by-row one


def test_jsonl_lines_ended_by_carriage_returns_are_lines(tmp_path):
    """A file of lone `\\r` line ends (classic Mac OS text), BOM and blank lines included,
    gives a row a line, numbered as an editor numbers them; a `\\r` inside a file of `\\n`
    line ends stays in its line."""
    landing_dir = tmp_path / "landing"
    path = land_in(landing_dir, "a.jsonl", BOM + b'{"Id": 1}\r\r{"Id": 2}\r  \r{"Id": 3}')

    assert read_day(landing_dir) == [
        {"source_file": f"landing/crm/interactions/{DAY}/a.jsonl", "line_number": number,
         "raw": raw, "read_error": None}
        for number, raw in [(1, '{"Id": 1}'), (3, '{"Id": 2}'), (5, '{"Id": 3}')]
    ]  # fmt: skip
    assert [row[:2] for row in readers.read_jsonl(path)] == [
        (1, '{"Id": 1}'), (3, '{"Id": 2}'), (5, '{"Id": 3}'),
    ]  # fmt: skip

    path.write_bytes(b'{"Id": 1,\r"n": 2}\n{"Id": 3}\n')
    assert [row["raw"] for row in read_day(landing_dir)] == ['{"Id": 1,\r"n": 2}', '{"Id": 3}']


def test_carriage_return_lines_are_whole_across_the_chunks_they_are_read_in(tmp_path):
    """A line split between two reads is one line; a first record longer than 256 bytes
    still shows the file's `\r` line ends (found within its first 64 kB)."""
    lines = readers._carriage_return_lines(io.BytesIO(b"ab\rcd\ref"), chunk_bytes=4)
    assert list(lines) == [b"ab", b"cd", b"ef"]
    path = write(tmp_path / "a.jsonl", b'{"t": "' + b"x" * 1000 + b'"}\r{"t": 1}\r')
    assert [row[0] for row in readers.read_jsonl(path)] == [1, 2]


@pytest.mark.parametrize(
    "content",
    [b"M1,MAPD,3\nM2,Commercial,14\n", b"M1,MAPD,3", b"member_id,plan_type\nM1,MAPD\n"],
    ids=["no header row", "one record, no header row", "a header"],
)
def test_a_csv_without_its_header_row_reads_the_same_either_way(tmp_path, content):
    landing_dir = tmp_path / "landing"
    path = write(landing_dir / "digital" / "members" / DAY.isoformat() / "a.csv", content)
    files = discover(landing_dir, "digital", "members", DAY)
    fields = ("member_id", "plan_type")

    table = read_landed(files, datetime(2024, 1, 6, tzinfo=UTC), table_fields=fields).read_all()

    expected = list(read_csv(path, fields))
    assert table.select(["line_number", "raw", "record", "read_error"]).to_pylist() == [
        dict(zip(["line_number", "raw", "record", "read_error"], row, strict=True))
        for row in expected
    ]
    assert table["line_number"].to_pylist()[0] == (2 if b"member_id" in content else 1)
