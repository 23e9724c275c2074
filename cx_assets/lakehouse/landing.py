"""Landing-zone discovery and the readers that turn landed files into bronze rows.

Layout (contract section 2): `<data>/landing/<source>/<table>/<YYYY-MM-DD>/<name>.<ext>`.
Names starting with `.` or `_` are in flight and ignored. Every file of a date folder
is read; a re-delivered file simply replaces its content on the next read.

Readers never fail a file because of one bad record. Each landed record becomes one
bronze row carrying its original text (`raw`), its 1-based `line_number` and, when the
reader itself could not make sense of it (invalid UTF-8, a CSV row with the wrong
number of fields, a `.json` file that does not parse), a `read_error`. JSON *content*
is validated later in SQL, where DuckDB parses it far faster than Python.

Rows stream out in Arrow batches so a 300 MB day never sits in Python memory at once.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".jsonl", ".json", ".csv")
_DATE_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_BOM = b"\xef\xbb\xbf"
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


def is_in_flight(path: Path) -> bool:
    return path.name.startswith((".", "_"))


@dataclass(frozen=True)
class LandedFile:
    path: Path
    relative_path: str
    day: date
    mtime_ns: int
    size: int


def discover(landing_dir: Path, source: str, table: str, day: date) -> list[LandedFile]:
    """Files delivered for one (source, table, day), in a stable order (by name)."""
    folder = landing_dir / source / table / day.isoformat()
    if not folder.is_dir():
        return []
    files = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or is_in_flight(path):
            continue
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            log.warning("ignoring %s: not one of %s", path, ", ".join(SUPPORTED_SUFFIXES))
            continue
        stat = path.stat()
        files.append(
            LandedFile(
                path=path,
                relative_path=path.relative_to(landing_dir.parent).as_posix(),
                day=day,
                mtime_ns=stat.st_mtime_ns,
                size=stat.st_size,
            )
        )
    return files


def date_folders(landing_dir: Path, source: str) -> dict[str, list[Path]]:
    """Every `<table>/<date>` folder of a source, keyed by the folder's name (maybe not a date)."""
    found: dict[str, list[Path]] = {}
    source_dir = landing_dir / source
    if not source_dir.is_dir():
        return found
    for table_dir in sorted(p for p in source_dir.iterdir() if p.is_dir()):
        for date_dir in sorted(p for p in table_dir.iterdir() if p.is_dir()):
            found.setdefault(date_dir.name, []).append(date_dir)
    return found


def parse_date_folder(name: str) -> date | None:
    if not _DATE_FOLDER.match(name):
        return None
    try:
        return date.fromisoformat(name)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------
# Readers: each yields (line_number, raw, record, read_error)
# ---------------------------------------------------------------------------------------

Row = tuple[int, str, str | None, str | None]


def _decode(line: bytes) -> tuple[str, str | None]:
    try:
        return line.decode("utf-8"), None
    except UnicodeDecodeError as error:
        return line.decode("utf-8", errors="replace"), f"invalid UTF-8 at byte {error.start}"


def read_jsonl(path: Path) -> Iterator[Row]:
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
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    text, error = _decode(data)
    if error:
        yield 1, text, None, error
        return
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        yield (
            exc.lineno,
            text,
            None,
            f"invalid JSON: {exc.msg} (line {exc.lineno} column {exc.colno})",
        )
        return
    if isinstance(payload, list):
        # The element's 1-based position stands in for its line (contract section 2).
        for position, element in enumerate(payload, start=1):
            yield position, json.dumps(element, ensure_ascii=False), None, None
    else:
        yield 1, text.strip(), None, None


class _LineRecorder:
    """Feeds lines to csv.reader while remembering them, so each row keeps its raw text
    and the line it started on (a quoted field may span lines)."""

    def __init__(self, lines: Iterable[str]):
        self._lines = iter(lines)
        self.consumed: list[str] = []

    def __iter__(self) -> _LineRecorder:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.consumed.append(line)
        return line


def read_csv(path: Path) -> Iterator[Row]:
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        recorder = _LineRecorder(handle)
        reader = csv.reader(recorder)
        header = next(reader, None)
        if header is None:
            return
        header = [name.strip() for name in header]
        line_number = len(recorder.consumed)
        recorder.consumed.clear()
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                values, csv_error = None, f"unreadable CSV: {exc}"
            else:
                csv_error = None
            start_line = line_number + 1
            line_number += len(recorder.consumed)
            raw = "".join(recorder.consumed).rstrip("\r\n")
            recorder.consumed.clear()
            if values == [] or (values is not None and not raw.strip()):
                continue  # blank line
            raw, decode_error = _clean_surrogates(raw)
            error = csv_error or decode_error
            record = None
            if error is None and len(values) != len(header):
                error = f"expected {len(header)} fields, got {len(values)}"
            if error is None:
                record = json.dumps(dict(zip(header, values, strict=True)), ensure_ascii=False)
            yield start_line, raw, record, error


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
        columns: dict[str, list] = {name: [] for name in BRONZE_SCHEMA.names}
        for landed in files:
            reader = READERS[landed.path.suffix.lower()]
            for line_number, raw, record, error in reader(landed.path):
                columns["date"].append(landed.day)
                columns["source_file"].append(landed.relative_path)
                columns["line_number"].append(line_number)
                columns["ingested_at"].append(ingested_at)
                columns["raw"].append(raw)
                columns["record"].append(record)
                columns["read_error"].append(error)
                if error:
                    log.warning("%s:%d: %s", landed.relative_path, line_number, error)
                if len(columns["raw"]) >= BATCH_ROWS:
                    yield pa.RecordBatch.from_pydict(columns, schema=BRONZE_SCHEMA)
                    columns = {name: [] for name in BRONZE_SCHEMA.names}
        if columns["raw"]:
            yield pa.RecordBatch.from_pydict(columns, schema=BRONZE_SCHEMA)

    return pa.RecordBatchReader.from_batches(BRONZE_SCHEMA, batches())
