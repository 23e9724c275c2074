"""The readers that turn landed files into bronze rows.

Readers never fail a file because of one bad record. Each landed record becomes one
bronze row carrying its original text (`raw`), its 1-based `line_number` and, when the
reader itself could not make sense of it (invalid UTF-8, a CSV row with the wrong
number of fields or a quote never closed, a `.json` array element that does not parse), a
`read_error`. JSON *content* is validated later in SQL, where DuckDB parses it far faster
than Python.

One hostile file never fails a day either. A file that cannot be read as a whole (a name
that is not UTF-8, an OS error, a `.json` whose elements cannot be told apart, a CSV header
that is not UTF-8 or names a column twice) becomes ONE bronze row on line 1 with the
reason, so it is quarantined and the day's other files go on.

Rows stream out in Arrow batches so a 300 MB day never sits in Python memory at once.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime
from json.encoder import encode_basestring
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from dagster import get_dagster_logger

from cx_assets.lakehouse.landing import LandedFile

# A file's records that could not be read are logged once for the file (`_ReadErrors`),
# into the run's event log too: a binary file dropped into landing is thousands of lines,
# and silver quarantines each one with its reason anyway.
log = get_dagster_logger(__name__)

_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
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


# ---------------------------------------------------------------------------------------
# Readers: each yields (line_number, raw, record, read_error)
# ---------------------------------------------------------------------------------------

Row = tuple[int, str, str | None, str | None]


def _decode(line: bytes) -> tuple[str, str | None]:
    try:
        return line.decode("utf-8"), None
    except UnicodeDecodeError as error:
        return line.decode("utf-8", errors="replace"), f"invalid UTF-8 at byte {error.start}"


# A file that opens with a UTF-16 byte order mark (a Windows "Unicode" export): its every
# line would be read as bytes that are not UTF-8, one bad record for each, saying so.
UTF16_FILE = "file not read: the file is UTF-16, not UTF-8"


def _is_utf16(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) in _UTF16_BOMS


def read_jsonl(path: Path) -> Iterator[Row]:
    if _is_utf16(path):
        yield _whole_file(path, UTF16_FILE)
        return
    with open(path, "rb") as handle:
        for line_number, line in enumerate(handle, start=1):
            if line_number == 1 and line.startswith(_BOM):
                line = line[len(_BOM) :]
            line = line.rstrip(b"\r\n")
            if not line.strip():
                continue  # blank lines are not records
            text, error = _decode(line)
            yield line_number, text, None, error


def read_json(path: Path) -> Iterator[Row]:
    data = path.read_bytes()
    if data.startswith(_UTF16_BOMS):
        yield _whole_file(path, UTF16_FILE)
        return
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    # Bytes that are not UTF-8 become lone surrogates, so the structure can still be read
    # and only the element holding them is a bad record.
    text = data.decode("utf-8", errors="surrogateescape")
    if not text.strip(_JSON_SPACE):
        return  # nothing delivered: no records, as for an empty .jsonl or .csv
    try:
        elements = _array_elements(text)
    except json.JSONDecodeError as exc:
        cleaned, _ = _clean_surrogates(text)
        yield 1, cleaned, None, _json_reason(exc)
        return
    if elements is None:
        cleaned, error = _clean_surrogates(text.strip(_JSON_SPACE))
        yield 1, cleaned, None, error and _utf8_error(data)
        return
    # The element's 1-based position stands in for its line (contract section 2), and its
    # raw text is its own slice of the file, exactly as delivered.
    for position, (start, end, json_error) in enumerate(elements, start=1):
        raw, decode_error = _clean_surrogates(text[start:end])
        yield position, raw, None, decode_error or json_error


def _utf8_error(data: bytes) -> str:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"invalid UTF-8 at byte {error.start}"
    return "invalid UTF-8"


_JSON_SPACE = " \t\n\r"
_JSON_WHITESPACE = re.compile(r"[ \t\n\r]*")
# Only the elements' extents are wanted, not their values: numbers stay text, which also
# spares Python's 4,300-digit limit on integers (a longer one would raise ValueError).
# `NaN` and `Infinity` (Python's parser takes them, JSON does not) are refused later, in
# SQL, as in JSONL: with the field's name when the contract declares the field.
_JSON_DECODER = json.JSONDecoder(parse_int=str, parse_float=str, parse_constant=str)


def _array_elements(text: str) -> list[tuple[int, int, str | None]] | None:
    """(start, end, reason) of each element when `text` is one JSON array (`reason` says why
    an element is not valid JSON, else None), None when it is one other valid JSON value.

    Where the array's structure breaks (an element that never ends, a missing `,`, no `]`
    before the end, text after it), the elements before the break are kept and the rest of
    the text is one more element, with json.loads' reason: a truncated export loses no
    element it delivered whole. Raises `JSONDecodeError` (json.loads' messages) when no
    element can be told apart: not an array and not valid, or broken at its first element."""

    def skip_whitespace(position: int) -> int:
        return _JSON_WHITESPACE.match(text, position).end()

    def broken(position: int, error: json.JSONDecodeError) -> list[tuple[int, int, str | None]]:
        if not elements:
            raise error
        end = max(position, len(text.rstrip(_JSON_SPACE)))
        return [*elements, (position, end, _json_reason(error))]

    position = skip_whitespace(0)
    elements: list[tuple[int, int, str | None]] = []
    if not text.startswith("[", position):
        end, error = _decoded_end(text, position)
        if error is not None:
            raise error
        if skip_whitespace(end) != len(text):
            raise json.JSONDecodeError("Extra data", text, skip_whitespace(end))
        return None
    position = skip_whitespace(position + 1)
    closed = text.startswith("]", position)
    while not closed:
        end, error = _decoded_end(text, position)
        reason = None
        if error is not None:
            # One bad element: skip to where it ends, and read on.
            end = _element_end(text, position)
            if end is None:
                return broken(position, error)
            reason = _json_reason(error)
        elements.append((position, end, reason))
        position = skip_whitespace(end)
        if text.startswith(",", position):
            position = skip_whitespace(position + 1)
        elif text.startswith("]", position):
            closed = True
        else:
            return broken(position, json.JSONDecodeError("Expecting ',' delimiter", text, position))
    after = skip_whitespace(position + 1)
    if after != len(text):
        return broken(after, json.JSONDecodeError("Extra data", text, after))
    return elements


_TOO_DEEP = "nested too deeply to read"


def _decoded_end(text: str, position: int) -> tuple[int, json.JSONDecodeError | None]:
    """Where the JSON value at `position` ends, or why it is not a valid one."""
    try:
        _, end = _JSON_DECODER.raw_decode(text, position)
    except json.JSONDecodeError as error:
        return position, error
    except RecursionError:
        return position, json.JSONDecodeError(_TOO_DEEP, text, position)
    return end, None


def _json_reason(error: json.JSONDecodeError) -> str:
    """json.loads' own message, and where in the file (not for nesting: it is everywhere)."""
    if error.msg == _TOO_DEEP:
        return f"invalid JSON: {_TOO_DEEP}"
    return f"invalid JSON: {error.msg} (line {error.lineno} column {error.colno})"


def _element_end(text: str, position: int) -> int | None:
    """Where a broken array element starting at `position` ends: before the first `,` or
    `]` outside strings and brackets opened in it (trailing whitespace left out), or None
    when the text ends first."""
    depth, in_string, index = 0, False, position
    while index < len(text):
        char = text[index]
        if in_string:
            if char == "\\":
                index += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}" and depth > 0:
            depth -= 1
        elif char in ",]" and depth == 0:
            return len(text[position:index].rstrip(_JSON_SPACE)) + position
        index += 1
    return None


class _LineRecorder:
    """Feeds lines to csv.reader while remembering them, so each row keeps its raw text
    and the line it started on (a quoted field may span lines)."""

    def __init__(self, lines: Iterable[str]):
        self.remaining = iter(lines)  # the lines not fed yet
        self.consumed: list[str] = []
        self.exhausted = False

    def __iter__(self) -> _LineRecorder:
        return self

    def __next__(self) -> str:
        try:
            line = next(self.remaining)
        except StopIteration:
            self.exhausted = True
            raise
        self.consumed.append(line)
        return line


UNCLOSED_QUOTE = "a quote opened on this line is never closed"
# A field may be as long as the file: Python's csv module refuses fields over 128 KiB by
# default, and such a row is not a bad record (JSONL takes the same text).
csv.field_size_limit(2**31 - 1)


def _csv_reader(lines: Iterable[str]) -> tuple[_LineRecorder, Iterator[list[str]]]:
    recorder = _LineRecorder(lines)
    # Strict: a quote that is never closed is an error, not a field that swallows the
    # rest of the file; so is text after a closing quote (`"ab"c`).
    return recorder, csv.reader(recorder, strict=True)


def read_csv(path: Path) -> Iterator[Row]:
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        recorder, reader = _csv_reader(handle)
        try:
            header = next(reader, None)
            while header == [] or (header and len(header) == 1 and not header[0].strip()):
                header = next(reader, None)  # blank lines before the header
        except csv.Error as exc:
            yield _whole_file(path, f"file not read: unreadable CSV header: {exc}")
            return
        if header is None:
            return
        header = _header_names(header)
        problem = _header_problem("".join(recorder.consumed), header)
        if problem:
            yield _whole_file(path, f"file not read: {problem}")
            return
        line_number = len(recorder.consumed)
        recorder.consumed.clear()
        key_prefixes = [encode_basestring(name) + ": " for name in header]
        unread: list[str] = []
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                values, csv_error = None, f"unreadable CSV: {exc}"
                if recorder.exhausted or len(recorder.consumed) > 1:
                    # A quote opened on this row was read across line ends into an error
                    # (the file's end, or text after the quote that closed it): it was never
                    # closed. The row is its first line, and the lines after it are read
                    # again as rows of their own.
                    csv_error = f"unreadable CSV: {UNCLOSED_QUOTE}"
                    unread = recorder.consumed[1:]
                    del recorder.consumed[1:]
            else:
                csv_error = None
            start_line = line_number + 1
            line_number += len(recorder.consumed)
            raw = "".join(recorder.consumed).rstrip("\r\n")
            recorder.consumed.clear()
            if unread:
                recorder, reader = _csv_reader(itertools.chain(unread, recorder.remaining))
                unread = []
            if values == [] or (values is not None and not raw.strip()):
                continue  # blank line
            raw, decode_error = _clean_surrogates(raw)
            error = csv_error or decode_error
            record = None
            if error is None and len(values) != len(header):
                error = f"expected {len(header)} fields, got {len(values)}"
            if error is None:
                record = _json_object(key_prefixes, values)
            yield start_line, raw, record, error


def _json_object(key_prefixes: list[str], values: list[str]) -> str:
    """`json.dumps(dict(zip(header, values)), ensure_ascii=False)`, text for text, given
    each header name already encoded with its `": "`: a CSV row's values are all strings,
    so only they need encoding (twice as fast, on every row of every CSV)."""
    return "{" + ", ".join(map(str.__add__, key_prefixes, map(encode_basestring, values))) + "}"


def _header_names(names: list[str]) -> list[str]:
    """A CSV header's column names, trimmed; a column without a name (the empty columns a
    spreadsheet adds at the end of its rows) is named by its 1-based position, `_column_7`:
    an extra field like any other, kept in bronze, rather than one name given twice."""
    trimmed = [name.strip() for name in names]
    return [name or f"_column_{number}" for number, name in enumerate(trimmed, start=1)]


def _header_problem(line: str, names: list[str]) -> str | None:
    """Why a CSV header makes every row of its file meaningless, if it does."""
    if line.startswith(("\udcff\udcfe", "\udcfe\udcff")):
        return "the CSV is UTF-16, not UTF-8"
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        _, error = _decode(line.encode("utf-8", errors="surrogateescape"))
        return f"CSV header is not UTF-8 ({error})"
    if "\x00" in line:
        return "CSV header holds NUL characters (UTF-16 without a byte order mark?)"
    repeated = [name for name, count in Counter(names).items() if count > 1]
    if repeated:
        return "CSV header names a column more than once: " + ", ".join(
            json.dumps(name, ensure_ascii=False) for name in repeated
        )
    return None


def _whole_file(path: Path, reason: str) -> Row:
    """One bad record standing for a whole file: its text (best effort) on line 1."""
    data = path.read_bytes()
    if data.startswith(_UTF16_BOMS):
        return 1, data.decode("utf-16", errors="replace"), None, reason
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    return 1, data.decode("utf-8", errors="replace"), None, reason


def _clean_surrogates(text: str) -> tuple[str, str | None]:
    try:
        text.encode("utf-8")
        return text, None
    except UnicodeEncodeError:
        cleaned = text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")
        return cleaned, "invalid UTF-8"


READERS = {".jsonl": read_jsonl, ".json": read_json, ".csv": read_csv}


def read_landed(files: Iterable[LandedFile], ingested_at: datetime) -> pa.RecordBatchReader:
    """All records of the given files as a stream of bronze batches."""

    def batches() -> Iterator[pa.RecordBatch]:
        for landed in files:
            errors = _ReadErrors(landed)
            for batch in _file_batches(landed, ingested_at):
                errors.count(batch)
                yield batch
            errors.report()

    return pa.RecordBatchReader.from_batches(BRONZE_SCHEMA, batches())


def _file_batches(landed: LandedFile, ingested_at: datetime) -> Iterator[pa.RecordBatch]:
    suffix = landed.path.suffix.lower()
    if landed.read_error is None and suffix == ".jsonl":
        yield from _jsonl_batches(landed, ingested_at)
    elif landed.read_error is None and suffix == ".csv":
        yield from _csv_batches(landed, ingested_at)
    else:
        yield from _row_batches(landed, _records(landed), ingested_at)


class _ReadErrors:
    """The records of one file the reader could not make sense of, logged as one line when
    the file is done: how many, and the first one's line and reason."""

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

    def report(self) -> None:
        if self.first is None:
            return
        line, reason = self.first
        records = "record" if self.records == 1 else "records"
        log.warning(
            f"{self.landed.relative_path}: {self.records:,} {records} could not be read, the "
            f"first on line {line}: {reason} (silver quarantines each with its reason)"
        )


def _batch(
    landed: LandedFile, ingested_at: datetime, line_numbers: pa.Array, raw: pa.Array, **more
) -> pa.RecordBatch:
    rows = len(raw)
    return pa.RecordBatch.from_arrays(
        [
            pa.array([landed.day] * rows, pa.date32()),
            pa.array([landed.relative_path] * rows, pa.string()),
            line_numbers,
            pa.array([ingested_at] * rows, BRONZE_SCHEMA.field("ingested_at").type),
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
# 270 MB CRM day in a fraction of the time a Python loop over its lines takes.
JSONL_BLOCK_BYTES = 16 * 2**20


def _jsonl_batches(landed: LandedFile, ingested_at: datetime) -> Iterator[pa.RecordBatch]:
    """A JSONL file as bronze batches, the same rows `read_jsonl` gives: a block holding
    a line that is not UTF-8 is read line by line, so that line gets its own read error;
    a read that breaks off keeps what was read, then one bad record saying why."""
    last_line = 0
    try:
        if _is_utf16(landed.path):
            yield from _row_batches(landed, [_whole_file(landed.path, UTF16_FILE)], ingested_at)
            return
        for first_line, block in _jsonl_blocks(landed.path):
            lines = _split_lines(block)
            if lines is None:
                rows = _jsonl_rows(block, first_line)
                yield from _row_batches(landed, rows, ingested_at)
            else:
                numbers, raw = lines
                batch = _batch(landed, ingested_at, pa.array(numbers + first_line), raw)
                for offset in range(0, batch.num_rows, BATCH_ROWS):
                    yield batch.slice(offset, BATCH_ROWS)
            last_line = first_line + block.count(b"\n") - block.endswith(b"\n")
    except OSError as error:
        cause = f"{type(error).__name__}: {error.strerror or 'error'}"
        reason = (
            f"file not read: {cause}"
            if last_line == 0
            else f"file read broke off after line {last_line}: {cause}"
        )
        yield from _row_batches(landed, [(last_line + 1, "", None, reason)], ingested_at)


def _jsonl_blocks(path: Path) -> Iterator[tuple[int, bytes]]:
    """(number of the block's first line, block) of whole lines; a leading BOM dropped."""
    with open(path, "rb") as handle:
        first_line, carry, at_start = 1, b"", True
        while chunk := handle.read(JSONL_BLOCK_BYTES):
            data = carry + chunk
            if at_start:
                data = data.removeprefix(_BOM)
                at_start = False
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                carry = data
                continue
            block, carry = data[:cut], data[cut:]
            yield first_line, block
            first_line += block.count(b"\n")
        if carry:
            yield first_line, carry  # a last line without its newline


# A blank line holds only what `bytes.strip()` strips (JSONL is read as bytes). A match
# anchored at the start stops at a line's first other character: trimming every line to
# look at its length cost 30 times more.
_BLANK_BYTES_LINE = r"^[ \t\n\r\x0b\x0c]*$"


def _split_lines(
    block: bytes, blank_line: str = _BLANK_BYTES_LINE
) -> tuple[np.ndarray, pa.Array] | None:
    """(0-based line index, text) of the block's lines that do not match `blank_line`,
    without their line endings; None when a line is not valid UTF-8 (Arrow checks the whole
    block at once)."""
    newlines = np.flatnonzero(np.frombuffer(block, np.uint8) == ord("\n"))
    ends = newlines + 1 if block.endswith(b"\n") else np.append(newlines + 1, len(block))
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
# file can hold: a space, or a Unicode space (see `test_landing` for the set).
_BLANK_TEXT_LINE = (
    r"^[ \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]*$"
)


def _csv_batches(landed: LandedFile, ingested_at: datetime) -> Iterator[pa.RecordBatch]:
    plain = _plain_csv(landed.path)
    if plain is None:
        yield from _row_batches(landed, _records(landed), ingested_at)
        return
    numbers, raw, records = plain
    batch = _batch(landed, ingested_at, pa.array(numbers), raw, record=records)
    for offset in range(0, batch.num_rows, BATCH_ROWS):
        yield batch.slice(offset, BATCH_ROWS)


def _plain_csv(path: Path) -> tuple[np.ndarray, pa.Array, pa.Array] | None:
    """(1-based line, raw text, record as a JSON object) of a plain CSV file's data rows,
    the rows `read_csv` gives; None when the file is not plain (see above)."""
    try:
        if path.stat().st_size > CSV_WHOLE_FILE_BYTES:
            return None
        with open(path, "rb") as handle:
            data = handle.read().removeprefix(_BOM)
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
    lines = _split_lines(data, _BLANK_TEXT_LINE)
    if lines is None or len(lines[0]) == 0 or lines[0][0] != 0:
        return None  # not UTF-8, empty, or a blank first line: `read_csv` knows what to do
    numbers, raw = lines
    header = _header_names(raw[0].as_py().split(","))
    if _header_problem(raw[0].as_py(), header):
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
            text, error = _decode(line)
            yield line_number, text, None, error


def _records(landed: LandedFile) -> Iterator[Row]:
    """A file's records. A file that cannot be opened is one bad record; one whose reading
    breaks off keeps the records read so far, then one bad record saying why."""
    if landed.read_error:
        try:
            row = _whole_file(landed.path, landed.read_error)
        except OSError:
            row = (1, "", None, landed.read_error)
        yield row
        return
    last_line = 0
    try:
        for row in READERS[landed.path.suffix.lower()](landed.path):
            last_line = row[0]
            yield row
    except OSError as error:
        # `str(error)` would repeat the path, which may not be printable.
        cause = f"{type(error).__name__}: {error.strerror or 'error'}"
        if last_line == 0:
            yield 1, "", None, f"file not read: {cause}"
        else:
            yield last_line + 1, "", None, f"file read broke off after line {last_line}: {cause}"
