"""Landed files as a stream of bronze batches: the rows of `readers`, fast.

Rows stream out in Arrow batches so a 300 MB day never sits in Python memory at once. A
plain JSONL or CSV file (the usual case) is split and checked by Arrow in one pass; any
file Arrow cannot vouch for goes through `readers`, record by record, which gives the same
rows with their reasons (tests hold the two paths to the same rows).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from datetime import datetime
from json.encoder import encode_basestring
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cx_assets.lakehouse.landing import LandedFile, shown
from cx_assets.lakehouse.readers import (
    BOM,
    UTF16_FILE,
    Row,
    decode_line,
    ends_lines_in_carriage_returns,
    file_records,
    header_names,
    header_problem,
    is_utf16,
    names_a_field,
    read_broke_off,
    whole_file_row,
)

BATCH_ROWS = 20_000

BRONZE_SCHEMA = pa.schema(
    [
        pa.field("date", pa.date32()),
        pa.field("source_file", pa.string()),
        pa.field("line_number", pa.int64()),
        pa.field("ingested_at", pa.timestamp("us", tz="UTC")),
        pa.field("raw", pa.string()),
        # The record as a JSON object when `raw` is not one already (CSV rows); else null.
        pa.field("record", pa.string()),
        pa.field("read_error", pa.string()),
    ]
)

BRONZE_COLUMN_DESCRIPTIONS = {
    "date": "Partition day: the landing date folder the file was delivered in.",
    "source_file": "Landed file, relative to the data root.",
    "line_number": "1-based line of the record in its file (CSV: the data row's line; "
    ".json array: the element's position).",
    "ingested_at": "When this bronze partition was read (UTC).",
    "raw": "The record's original text, exactly as delivered.",
    "record": "CSV rows as a JSON object of header -> text; null for JSON sources.",
    "read_error": "Why the reader could not decode the record, if it could not.",
}


def read_landed(
    files: Iterable[LandedFile],
    ingested_at: datetime,
    warn: Callable[[str], None] | None = None,
    table_fields: Collection[str] = (),
    required_fields: Collection[str] = (),
) -> pa.RecordBatchReader:
    """All records of the given files as a stream of bronze batches. `table_fields`: the
    fields of the files' table, to tell a CSV header from a record (`readers.read_csv`);
    `required_fields`: those its records must hold, to read a broken `.json` array again
    (`readers.read_json`).

    A file's records that could not be read are reported once for the file (`_ReadErrors`)
    to `warn`, by default into the run's event log: a binary file dropped into landing is
    thousands of lines, and silver quarantines each one with its reason anyway."""

    def batches() -> Iterator[pa.RecordBatch]:
        for landed in files:
            errors = _ReadErrors(landed)
            for batch in _file_batches(landed, ingested_at, table_fields, required_fields):
                errors.count(batch)
                yield batch
            if report := errors.report():
                (warn or _log_warning)(report)

    return pa.RecordBatchReader.from_batches(BRONZE_SCHEMA, batches())


def _log_warning(line: str) -> None:
    # Dagster is imported here, not with the module: `early_bronze` reads landing without it.
    from dagster import get_dagster_logger

    get_dagster_logger(__name__).warning(line)


def _file_batches(
    landed: LandedFile,
    ingested_at: datetime,
    table_fields: Collection[str],
    required_fields: Collection[str] = (),
) -> Iterator[pa.RecordBatch]:
    suffix = landed.path.suffix.lower()
    if landed.read_error is None and suffix == ".jsonl":
        yield from _jsonl_batches(landed, ingested_at)
    elif landed.read_error is None and suffix == ".csv":
        yield from _csv_batches(landed, ingested_at, table_fields)
    else:
        records = file_records(landed, table_fields, required_fields)
        yield from _row_batches(landed, records, ingested_at)


class _ReadErrors:
    """The records of one file the reader could not make sense of, reported as one line
    when the file is done: how many, and the first one's line and reason."""

    def __init__(self, landed: LandedFile) -> None:
        self.landed = landed
        self.records = 0
        self.first: tuple[int, str] | None = None

    def count(self, batch: pa.RecordBatch) -> None:
        errors = batch.column("read_error")
        found = len(errors) - errors.null_count
        if not found:
            return
        if self.first is None:
            at = pc.index(pc.is_valid(errors), True).as_py()
            self.first = (batch.column("line_number")[at].as_py(), errors[at].as_py())
        self.records += found

    def report(self) -> str | None:
        """The line to log for the file, if any record could not be read."""
        if self.first is None:
            return None
        line, reason = self.first
        records = "record" if self.records == 1 else "records"
        return (
            f"{shown(self.landed.relative_path)}: {self.records:,} {records} could not be read, the "
            f"first on line {line}: {reason} (silver quarantines each with its reason)"
        )


def _batch(
    landed: LandedFile, ingested_at: datetime, line_numbers: pa.Array, raw: pa.Array, **more
) -> pa.RecordBatch:
    rows = len(raw)
    return pa.RecordBatch.from_arrays(
        [
            pa.repeat(pa.scalar(landed.day, pa.date32()), rows),
            pa.repeat(pa.scalar(landed.relative_path, pa.string()), rows),
            line_numbers,
            pa.repeat(pa.scalar(ingested_at, BRONZE_SCHEMA.field("ingested_at").type), rows),
            raw,
            more.get("record", pa.nulls(rows, pa.string())),
            more.get("read_error", pa.nulls(rows, pa.string())),
        ],
        schema=BRONZE_SCHEMA,
    )


def _row_batches(
    landed: LandedFile, rows: Iterable[Row], ingested_at: datetime
) -> Iterator[pa.RecordBatch]:
    """Bronze batches of a reader's rows (every format, and JSONL blocks that need a look
    line by line)."""
    columns: dict[str, list] = {"line_number": [], "raw": [], "record": [], "read_error": []}

    def flush() -> pa.RecordBatch:
        batch = _batch(
            landed,
            ingested_at,
            pa.array(columns["line_number"], pa.int64()),
            pa.array(columns["raw"], pa.string()),
            record=pa.array(columns["record"], pa.string()),
            read_error=pa.array(columns["read_error"], pa.string()),
        )
        for values in columns.values():
            values.clear()
        return batch

    for line_number, raw, record, error in rows:
        columns["line_number"].append(line_number)
        columns["raw"].append(raw)
        columns["record"].append(record)
        columns["read_error"].append(error)
        if len(columns["raw"]) >= BATCH_ROWS:
            yield flush()
    if columns["raw"]:
        yield flush()


# JSONL is read in blocks of whole lines, each split and checked by Arrow in one pass: a
# 270 MB CRM day in a fraction of the time a Python loop over its lines takes. A block is
# read into a buffer of its own, which the Arrow array of its lines then points into: its
# bytes are never copied, and its line ends are found once (a 16 MB block copied twice and
# scanned three times cost a CRM day about 0.4 s).
JSONL_BLOCK_BYTES = 16 * 2**20
SMALL_BLOCK_BYTES = 2**16


def _jsonl_batches(landed: LandedFile, ingested_at: datetime) -> Iterator[pa.RecordBatch]:
    """A JSONL file as bronze batches, the same rows `read_jsonl` gives: a block holding
    a line that is not UTF-8 is read line by line, so that line gets its own read error;
    a read that breaks off keeps what was read, then one bad record saying why."""
    last_line = 0
    try:
        if is_utf16(landed.path):
            yield from _row_batches(landed, [whole_file_row(landed.path, UTF16_FILE)], ingested_at)
            return
        if ends_lines_in_carriage_returns(landed.path):  # rare: read line by line
            yield from _row_batches(landed, file_records(landed), ingested_at)
            return
        first_line = 1
        for block in _jsonl_blocks(landed.path):
            newlines = _newlines(block)
            lines = _split_lines(block, newlines)
            if lines is None:
                rows = _jsonl_rows(bytes(block), first_line)
                yield from _row_batches(landed, rows, ingested_at)
            else:
                numbers, raw = lines
                batch = _batch(landed, ingested_at, pa.array(numbers + first_line), raw)
                for offset in range(0, batch.num_rows, BATCH_ROWS):
                    yield batch.slice(offset, BATCH_ROWS)
            # Only the file's last block may end without a newline: its last line then.
            last_line = first_line + len(newlines) - int(block[-1] == ord("\n"))
            first_line += len(newlines)
    except OSError as error:
        row = (last_line + 1, "", None, read_broke_off(last_line, error))
        yield from _row_batches(landed, [row], ingested_at)


def _jsonl_blocks(path: Path) -> Iterator[memoryview]:
    """The file in blocks of whole lines (a last line without its newline ends the last
    one), a leading BOM dropped; each block a buffer of its own, never reused."""
    size = path.stat().st_size
    with open(path, "rb", buffering=0) as handle:
        carry, at_start, read = b"", True, 0
        while True:
            # No larger than what is left of the file (a byte more, to see its end), or than
            # 64 kB: a small file's block holds no 16 MB buffer while its batch waits to be
            # written, and a file that grew meanwhile is still read in sizeable steps.
            left = max(size - read + 1, SMALL_BLOCK_BYTES)
            buffer = bytearray(len(carry) + min(JSONL_BLOCK_BYTES, left))
            buffer[: len(carry)] = carry
            # One read a block (a short one makes a short block): what was read before an
            # error is kept.
            count = handle.readinto(memoryview(buffer)[len(carry) :]) or 0
            read += count
            filled = len(carry) + count
            at_end = filled == len(carry)
            start = 0
            if at_start and (filled >= len(BOM) or at_end):  # enough read to tell
                start = len(BOM) if buffer.startswith(BOM) else 0
                at_start = False
            if at_end:
                if filled > start:
                    yield memoryview(buffer)[start:filled]
                return
            cut = buffer.rfind(b"\n", start, filled) + 1
            if cut == 0:  # no line ends in what is read yet: read on
                carry = bytes(buffer[start:filled])
                continue
            at_start = False
            carry = bytes(buffer[cut:filled])
            yield memoryview(buffer)[start:cut]


# A blank line holds only what `bytes.strip()` strips (JSONL is read as bytes). A match
# anchored at the start stops at a line's first other character: trimming every line to
# look at its length cost 30 times more.
_BLANK_BYTES_LINE = r"^[ \t\n\r\x0b\x0c]*$"


def _newlines(block: bytes | memoryview) -> np.ndarray:
    """The positions of the block's line feeds."""
    return np.flatnonzero(np.frombuffer(block, np.uint8) == ord("\n"))


def _split_lines(
    block: bytes | memoryview, newlines: np.ndarray, blank_line: str = _BLANK_BYTES_LINE
) -> tuple[np.ndarray, pa.Array] | None:
    """(0-based line index, text) of the block's lines that do not match `blank_line`,
    without their line endings, given its line feeds' positions; None when a line is not
    valid UTF-8 (Arrow checks the whole block at once)."""
    ends_with_newline = len(newlines) > 0 and newlines[-1] == len(block) - 1
    ends = newlines + 1 if ends_with_newline else np.append(newlines + 1, len(block))
    offsets = np.concatenate([[0], ends]).astype(np.int64)
    with_endings = pa.Array.from_buffers(
        pa.large_binary(), len(ends), [None, pa.py_buffer(offsets), pa.py_buffer(block)]
    )
    try:
        text = with_endings.cast(pa.large_string())
    except pa.ArrowInvalid:
        return None
    raw = pc.utf8_rtrim(text, characters="\r\n")
    kept = pc.invert(pc.match_substring_regex(raw, blank_line))
    numbers = np.flatnonzero(kept.to_numpy(zero_copy_only=False))
    if len(numbers) < len(raw):
        raw = raw.filter(kept)
    return numbers, raw.cast(pa.string())


# A CSV file of plain text (no quote, no control character but line ends, no `\r` but in
# `\r\n`, no backslash but in the header) whose every row has the header's number of
# fields is read by Arrow in one pass: its rows are its lines and its fields what the commas
# separate, which is all `csv.reader` makes of such text. Every other file goes to
# `read_csv`, row by row, for its reasons. Digital's and support's generated files are
# plain: read 3-4 times faster than row by row.
CSV_WHOLE_FILE_BYTES = 64 * 2**20
CSV_RECORDS_BYTES = 2**30  # under Arrow's 2 GB for a string array
# A blank CSV line holds only what `str.strip()` strips (CSV is read as text) and a plain
# file can hold: a space, or a Unicode space (see `test_bronze_stream` for the set).
_BLANK_TEXT_LINE = (
    r"^[ \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]*$"
)


def _csv_batches(
    landed: LandedFile, ingested_at: datetime, table_fields: Collection[str]
) -> Iterator[pa.RecordBatch]:
    plain = _plain_csv(landed.path, table_fields)
    if plain is None:
        yield from _row_batches(landed, file_records(landed, table_fields), ingested_at)
        return
    numbers, raw, records = plain
    batch = _batch(landed, ingested_at, pa.array(numbers), raw, record=records)
    for offset in range(0, batch.num_rows, BATCH_ROWS):
        yield batch.slice(offset, BATCH_ROWS)


def _plain_csv(
    path: Path, table_fields: Collection[str] = ()
) -> tuple[np.ndarray, pa.Array, pa.Array] | None:
    """(1-based line, raw text, record as a JSON object) of a plain CSV file's data rows,
    the rows `read_csv` gives; None when the file is not plain (see above), or its first
    line names none of `table_fields` (no header: `read_csv` says so)."""
    try:
        if path.stat().st_size > CSV_WHOLE_FILE_BYTES:
            return None
        with open(path, "rb") as handle:
            data = handle.read().removeprefix(BOM)
    except OSError:
        return None  # `read_csv` says why
    codes = np.frombuffer(data, np.uint8)
    returns = np.flatnonzero(codes == ord("\r"))
    header_end = data.find(b"\n") + 1 or len(data)
    if (
        ((codes < 0x20) & (codes != ord("\n")) & (codes != ord("\r"))).any()
        or (codes == ord('"')).any()
        or (codes[header_end:] == ord("\\")).any()  # a value's would need escaping
        or (returns + 1 >= len(codes)).any()
        or (codes[returns[returns + 1 < len(codes)] + 1] != ord("\n")).any()
    ):
        return None
    lines = _split_lines(data, _newlines(data), _BLANK_TEXT_LINE)
    if lines is None or len(lines[0]) == 0 or lines[0][0] != 0:
        return None  # not UTF-8, empty, or a blank first line: `read_csv` knows what to do
    numbers, raw = lines
    header = header_names(raw[0].as_py().split(","))
    if header_problem(raw[0].as_py(), header) or not names_a_field(header, table_fields):
        return None
    numbers, raw = numbers[1:] + 1, raw.slice(1)
    fields = pc.split_pattern(raw, ",")
    if len(raw) and pc.any(pc.not_equal(pc.list_value_length(fields), len(header))).as_py():
        return None
    # Each value as `"name": "value"` (a plain value needs no escaping), a row's joined.
    names = pa.array([encode_basestring(name) + ': "' for name in header])
    if len(raw) * (pc.sum(pc.binary_length(names)).as_py() + 3 * len(header)) > CSV_RECORDS_BYTES:
        return None  # `read_csv`'s rows are built in batches
    values = pc.list_flatten(fields)
    prefixes = names.take(np.tile(np.arange(len(header)), len(raw)))
    pairs = pc.binary_join_element_wise(prefixes, values, '"', "")
    offsets = pa.array(np.arange(len(raw) + 1, dtype=np.int32) * len(header))
    joined = pc.binary_join(pa.ListArray.from_arrays(offsets, pairs), ", ")
    return numbers, raw, pc.binary_join_element_wise("{", joined, "}", "")


def _jsonl_rows(block: bytes, first_line: int) -> Iterator[Row]:
    for line_number, line in enumerate(block.split(b"\n"), start=first_line):
        line = line.rstrip(b"\r\n")
        if line.strip():
            text, error = decode_line(line)
            yield line_number, text, None, error
