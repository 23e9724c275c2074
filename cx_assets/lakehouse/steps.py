"""The plain helpers asset bodies share (they are not assets; `assets.py` declares those).

- `silver_from_bronze`: type, rule-check, validate and quarantine the records of a landed
  table, for one silver step, wholly in DuckDB (the model's checks as SQL, `schema_sql`),
  handing Arrow to the IO manager, a day at a time when the step's rules allow it.

Rows the pipeline derives (gold, silver built from silver) are validated by `derived`.
"""

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any

import duckdb
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.parquet as pq
from dagster import AssetExecutionContext, Output

from cx_assets.lakehouse import sql
from cx_assets.lakehouse.duplicates import forget_seen, heading_duplicates
from cx_assets.lakehouse.io_managers import DayTables, TableRef
from cx_assets.lakehouse.parquet import DATA_FILE, partition_folder
from cx_assets.lakehouse.parsing import (
    RecordSpec,
    explain_csv_in_typed_table,
    explain_invalid_json,
    parse_bronze,
)
from cx_assets.lakehouse.partitions import partition_dates
from cx_assets.lakehouse.privacy import bind_hash_key_for, with_shown_source_files
from cx_assets.lakehouse.readers import field_spelling, spelled_otherwise
from cx_assets.lakehouse.resources import Lake
from cx_assets.lakehouse.silver_report import Chunk, SilverReport
from cx_assets.lakehouse.silver_validation import RULE_REASON, validated
from cx_assets.lakehouse.warehouse import Warehouse
from cx_assets.lakehouse.warehouse_tables import table_exists

# What `silver_from_bronze` names the typed records of a day (or a part) for the domain's SQL.
TYPED_RECORDS = "typed_records"
# The temp table holding the rows the domain's SQL selected, before validation.
CANDIDATES = "silver_candidates"

# Frames a domain computes in Python from the typed records, by the name SQL sees them as.
DerivedFrames = Callable[
    [duckdb.DuckDBPyConnection, str], Mapping[str, pd.DataFrame | pyarrow.Table]
]


def silver_from_bronze(
    context: AssetExecutionContext,
    *,
    warehouse: Warehouse,
    lake: Lake,
    bronze: TableRef,
    spec: RecordSpec,
    model: type[pa.DataFrameModel],
    select_sql: str,
    derived_frames: DerivedFrames | None = None,
    by_day: bool = False,
) -> Output[Any]:
    """The silver step of one landed table.

    1. type every bronze record of the step's days (`parse_bronze`) into the temp table
       `TYPED_RECORDS`, with a reject reason for bad ones;
    2. run the domain's `select_sql`, which reads the good rows of `TYPED_RECORDS` (and any
       `derived_frames`, computed in Python from the typed records and visible to the query
       under their names) and returns `date`, `source_file`, `line_number` plus the
       model's columns, and optionally `reject_reason`: a domain rule's reason to
       quarantine the record (null keeps it);
    3. validate against the Pandera model: in SQL when `schema_sql` can render every check
       of it, else with Pandera itself;
    4. quarantine every rejected record (parse, rule or validation) with its file, line,
       reason and original text; report counts and a masked sample (no record content).

    `by_day`: the query relates a record only to records of its own day (and to other
    tables), so a range run computes and writes one day at a time, in the memory of one
    day, small days a few at a time (`day_chunks`). An asset declaring a `DayTables`
    output gets them, for the warehouse IO manager to write chunk by chunk; any other gets
    one frame (Arrow-backed: no copy) for all its days.
    """
    days = partition_dates(context)
    chunk_days = day_chunks(days, _bronze_day_sizes(lake, bronze, days)) if by_day else [days]
    schema, table = context.asset_key.path[-2:]

    def compute(chunk: list[date]) -> Chunk:
        with warehouse.connect() as con:
            if spec.text_values:
                headers = _csv_headers(con, bronze, chunk)
                report.note_missing_columns(_missing_optional_columns(headers, spec))
                report.note_renamed_fields(_likely_renamed(headers, spec, bronze.table))
                report.note_required_spelled_otherwise(_required_spelled_otherwise(headers, spec))
            optional_unfilled: set[str] = set()
            typed = functools.partial(
                _silver_chunk, con, bronze, spec, model, select_sql, derived_frames, chunk,
                kept_keys=_kept_keys(con, spec, schema, table, chunk[0], days[-1]),
                optional_unfilled=optional_unfilled,
            )  # fmt: skip
            parts = _file_parts(con, bronze, chunk[0]) if by_day and len(chunk) == 1 else [None]
            if len(parts) == 1:
                typed_chunk = _typed_with_good_first_copies(con, spec, typed)
            else:
                try:
                    typed_chunk = _joined(
                        [
                            _typed_with_good_first_copies(
                                con, spec, typed, files=files, seen_keys=SEEN_KEYS
                            )
                            for files in parts
                        ]
                    )
                finally:
                    con.execute(f"DROP TABLE IF EXISTS {SEEN_KEYS}")
            if not spec.text_values:
                report.note_required_spelled_otherwise(
                    _json_required_spelled_otherwise(typed_chunk.rejects, spec)
                )
            if optional_unfilled:
                report.note_renamed_fields(
                    _likely_renamed_fields(con, bronze, spec, chunk, sorted(optional_unfilled))
                )
            return typed_chunk

    report = SilverReport(context, lake, bronze.table)
    if spec.unique_across_days and by_day and not _declares_day_tables(context):
        # Its days must be written one by one for a day to see the keys of the day before.
        raise TypeError("a key unique across days, typed by day, needs a DayTables output")
    if not _declares_day_tables(context):
        typed_chunks = [report.add(chunk, compute(chunk)) for chunk in chunk_days]
        rows = pyarrow.concat_tables(typed_chunks) if typed_chunks else None
        frame = rows.to_pandas(types_mapper=pd.ArrowDtype) if rows is not None else pd.DataFrame()
        return Output(frame, metadata=report.metadata())

    output = DayTables(chunks=())

    def chunks() -> Iterator[tuple[Sequence[date], pyarrow.Table]]:
        for chunk in chunk_days:
            yield chunk, report.add(chunk, compute(chunk))
        output.metadata.update(report.metadata())

    output.chunks = chunks()
    return Output(output)


# A day of a `by_day` step is typed in parts of whole files of about this many records, so
# the typed records (CRM e-mail bodies among them) of one part are in memory at a time,
# whatever the day's size: 120,000 CRM interactions are about 160 MB of JSON. A part's
# queries cost about 0.2 s however few its records (regular expressions compiled, the
# contacts' names and versions joined again), so parts of 60,000 (one 50,000-record CRM
# file each) made a scale-1 CRM day's silver step 13% slower (docs/benchmarks.md).
PART_ROWS = 120_000
# The first record of every key typed so far in the day (see `parsing.parse_bronze`).
SEEN_KEYS = "seen_keys"


# A `by_day` step types a range's small days together, in chunks of consecutive days of at
# most this many records and bytes (uncompressed, in bronze): a chunk costs the step about
# 0.2 s however few its records (its dozen queries planned and run, its rows written in a
# transaction of their own), so 90 small digital days (scale 0.01) one at a time spent
# 13-25 s in each of silver journeys and calls, 6-8 s in chunks. A day above either bound
# is typed alone, as before (a part at a time beyond `PART_ROWS`), so a range of large days
# holds one day's records; a chunk of small days holds no more than a day of a few MB does
# (a scale-1 digital day's journeys are 50,000 records, a CRM day's interactions 270 MB).
GROUP_ROWS = 20_000
GROUP_BYTES = 4 * 2**20


def day_chunks(
    days: Sequence[date],
    sizes: Mapping[date, tuple[int, int] | None],
    most_rows: int | None = None,
) -> list[list[date]]:
    """`days` (in order) in chunks of consecutive days holding at most `most_rows` records
    (by default `GROUP_ROWS`, and never more than `PART_ROWS`) and `GROUP_BYTES` bytes, by
    `sizes[day]` = (records, bytes); a day above either, or whose size is not known (None),
    is a chunk of its own."""
    most_rows = min(GROUP_ROWS if most_rows is None else most_rows, PART_ROWS)
    chunks: list[list[date]] = []
    rows = size = 0
    grouping = False  # whether the last chunk may take the next day
    for day in days:
        known = sizes.get(day)
        small = known is not None and known[0] <= most_rows and known[1] <= GROUP_BYTES
        if small and grouping and rows + known[0] <= most_rows and size + known[1] <= GROUP_BYTES:
            chunks[-1].append(day)
            rows, size = rows + known[0], size + known[1]
        else:
            chunks.append([day])
            rows, size = known if small else (0, 0)
            grouping = small
    return chunks


def _bronze_day_sizes(
    lake: Lake, bronze: TableRef, days: Sequence[date]
) -> dict[date, tuple[int, int] | None]:
    """(records, uncompressed bytes) of each day's bronze file, from its footer; None for a
    day whose file cannot be read (typed alone, where its reading says why). A one-day step
    reads none."""
    if len(days) < 2:
        return {}
    folder = lake.layout.bronze_dir / bronze.table
    sizes: dict[date, tuple[int, int] | None] = {}
    for day in days:
        try:
            footer = pq.read_metadata(partition_folder(folder, day) / DATA_FILE)
        except (OSError, pyarrow.ArrowInvalid):
            sizes[day] = None
            continue
        size = sum(
            footer.row_group(group).total_byte_size for group in range(footer.num_row_groups)
        )
        sizes[day] = (footer.num_rows, size)
    return sizes


def _kept_keys(
    con: duckdb.DuckDBPyConnection,
    spec: RecordSpec,
    schema: str,
    table: str,
    first_day: date,
    step_last_day: date,
) -> str | None:
    """For a key unique across days: a query of the key and day of every record this silver
    table kept before `first_day` (the chunk's) or after `step_last_day` (a later day run
    before this one). The step's own days from `first_day` on are left out, whatever an
    earlier run wrote for them, so a re-run replaces them exactly; a range's earlier days
    are written before its later ones are typed (`by_day`) or ranked with them (one chunk)."""
    if not spec.unique_across_days or not table_exists(con, schema, table):
        return None
    key = ", ".join(sql.quote_identifier(column) for column in spec.unique_key)
    return (
        f"SELECT date, {key} FROM {sql.qualified(schema, table)} "
        f"WHERE date < {sql.date_literal(first_day)} "
        f"OR date > {sql.date_literal(step_last_day)}"
    )


def _csv_headers(
    con: duckdb.DuckDBPyConnection, bronze: TableRef, days: Sequence[date]
) -> list[tuple[str, list[str]]]:
    """(file, its header's names) of each CSV file of `days`, from its first record."""
    return con.execute(
        f"SELECT source_file, json_keys(record) FROM {bronze.name} "
        f"WHERE {sql.in_days(list(days))} AND record IS NOT NULL "
        f"QUALIFY row_number() OVER (PARTITION BY source_file ORDER BY line_number) = 1 "
        f"ORDER BY source_file"
    ).fetchall()


def _missing_optional_columns(
    headers: list[tuple[str, list[str]]], spec: RecordSpec
) -> dict[str, list[str]]:
    """The optional fields of `spec` that a CSV file (of `headers`) has no column for, by
    file. Its records are kept with no value there, as for a blank field: a source that
    stopped exporting a column would otherwise go unnoticed (a missing required field
    quarantines every record, which is seen)."""
    optional = [item.source for item in spec.fields if not item.required]
    missing = {}
    for source_file, columns in headers:
        if absent := [name for name in optional if name not in columns]:
            missing[source_file] = absent
    return missing


def _required_spelled_otherwise(
    headers: list[tuple[str, list[str]]], spec: RecordSpec
) -> dict[str, dict[str, str]]:
    """{column: field} of each CSV file (of `headers`) whose header spells a required field
    of `spec` it lacks otherwise (`Call_Reason` for `call_reason`), by file. Its records
    are quarantined as missing the field, a reason built per record that cannot name the
    column the user delivered; said once per file here instead. The column is not taken
    for the field (as for a whole header so spelled, `readers.spelled_otherwise`)."""
    required = spec.landed_required
    spelled = {}
    for source_file, columns in headers:
        renamed = {
            column: field
            for column, field in spelled_otherwise(columns, required)
            if field not in columns
        }
        if renamed:
            spelled.setdefault(source_file, {}).update(renamed)
    return spelled


# Of a JSON file's records quarantined as missing a required field, the first this many of
# each field are read for a key spelled otherwise: a few json.loads a file, however many.
RECORDS_READ_FOR_SPELLING = 5


def _json_required_spelled_otherwise(
    rejects: pd.DataFrame, spec: RecordSpec
) -> dict[str, dict[str, str]]:
    """{key: field} of each JSON file whose first records quarantined as missing a required
    field of `spec` have it under a key spelled otherwise (`contactId` for `ContactId`), by
    file: the per-record reason cannot name the key delivered. The first few records' keys
    a file and field missing (a record missing its `Date`, or truly without `ContactId`,
    ahead of those sending `contactId` hid the rename), read only where a record was so
    quarantined."""
    if rejects.empty:
        return {}
    missing = rejects[rejects["reason"].astype(str).str.startswith("missing required field")]
    spelled: dict[str, dict[str, str]] = {}
    by_reason = missing.groupby(["source_file", "reason"], sort=False)
    firsts = by_reason.head(RECORDS_READ_FOR_SPELLING)[["source_file", "raw"]]
    for source_file, raw in firsts.values:
        try:
            record = json.loads(raw)
        except (TypeError, ValueError):
            continue
        if not isinstance(record, dict):
            continue
        renamed = {
            key: field
            for key, field in spelled_otherwise(list(record), spec.landed_required)
            if field not in record
        }
        if renamed:
            spelled.setdefault(source_file, {}).update(renamed)
    return spelled


# A key that could be a field's name: a rename is one (`csat-score` and `CSAT Score` too,
# as a CSV header so spelled is told); a value used as a key (an address, a phone number)
# is not, and is kept out of the log and metadata.
FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_ .-]{0,63}")
# A name's words: runs of capitals (`CSAT`, `ID`), capitalized or lower-case words, digits.
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
# Prefixes written as words of their own (`sub_category`, `SubCategory`): joined to the next
# word, as `subcategory` is one, so neither is taken for `category`.
_BOUND_PREFIXES = frozenset({"sub", "super", "re", "pre", "dis", "un", "non"})
# Abbreviations an export uses for the words of the contract's fields.
_SHORT_FOR = {
    "err": "error", "msg": "message", "lang": "language", "pref": "preference",
    "resp": "response", "enroll": "enrollment",
}  # fmt: skip


def _stem(word: str) -> str:
    """`word` without a plural's or a past's ending (`skills`, `finished`, `hired`), so its
    forms meet: `hire` and `hired` are both `hir`."""
    for ending in ("ed", "es", "e", "s"):
        if word.endswith(ending) and len(word) - len(ending) >= 3 and word[-2:] not in ("ss", "us"):
            return word[: -len(ending)]
    return word


def _normal(word: str) -> str:
    """`word` as names are compared: an abbreviation read in full, its ending left out."""
    word = _stem(_SHORT_FOR.get(word, word))
    return _stem(_SHORT_FOR.get(word, word))


# Words after a field's that say in what it is given, not what it is: a time's (`_at`,
# `_date`, `_time`), a unit (`_seconds`, `_ms`), a value's (`_score`, `_name`).
_TIME_WORDS = frozenset(
    map(_normal, ["at", "on", "date", "time", "ts", "timestamp", "dt", "datetime", "utc"])
)
_UNIT_WORDS = frozenset(
    map(_normal, ["seconds", "secs", "sec", "s", "ms", "millis", "milliseconds", "minutes"])
)
_VALUE_WORDS = frozenset(
    map(_normal, ["score", "rating", "name", "value", "text", "address", "number"])
)
# The fewest letters two names must share when one adds words before the other's
# (`OwnerCompanyId`, `Recipients` for `EmailRecipients`): `Title` or `Date` are part of
# too many names to say anything.
SPELLED_WITHIN = 8


def _words(name: str, table: str) -> tuple[list[str], bool]:
    """What `name` of a field of `table` names, as words (`readers.field_spelling`'s letters
    split where a word ends), and whether it is given as a time: the table's own name
    before them left out (`ticket_csat_score`, `callDuration`), and the unit, time and
    value words after them (`duration_ms`, `resolved_on`, `csat_rating`)."""
    words: list[str] = []
    for word in (_normal(word.casefold()) for word in _WORD.findall(name)):
        if words and words[-1] in _BOUND_PREFIXES:
            word = _normal(words.pop() + word)
        words.append(word)
    table_words = {_normal(word) for word in table.casefold().split("_")}
    while len(words) > 1 and words[0] in table_words:
        words.pop(0)
    while len(words) > 1 and words[-1] in _UNIT_WORDS:
        words.pop()
    timed = bool(words) and words[-1] in _TIME_WORDS
    while len(words) > 1 and words[-1] in _TIME_WORDS:
        words.pop()
    while len(words) > 1 and words[-1] in _VALUE_WORDS:
        words.pop()
    return words, timed


def spelled_alike(key: str, field: str, table: str = "") -> bool:
    """Whether the undeclared `key` may be the optional `field` of `table` (`support_tickets`)
    renamed: the same spelling, its case, spaces and punctuation left out (`CSATScore`,
    `company_id` for `CompanyId`); or the same words once the table's name before them and
    the unit, time or value words after them are left out (`ticket_csat_score`, `csat`,
    `callDuration`, `duration_ms`, `resolved_time`), a time's name staying one (`resolved`,
    a flag, is not `resolved_at`); or the field's words with others before them, or the
    reverse, sharing `SPELLED_WITHIN` letters or more (`OwnerCompanyId` for `CompanyId`,
    which may as well be another field beside it: `ParentCompanyId`). A word after the
    field's makes another field (`category_id`, `resolved_by`, `EmailRecipientsCount`), and
    so does a prefix (`subcategory`, `disenrollment_date`)."""
    if field_spelling(key) == field_spelling(field):
        return True
    (key_words, key_timed), (field_words, field_timed) = _words(key, table), _words(field, table)
    if key_timed != field_timed:
        return False
    if "".join(key_words) == "".join(field_words):  # `signed_up_at`, `signup_date`
        return True
    shorter, longer = sorted((key_words, field_words), key=len)
    return (
        shorter == longer[len(longer) - len(shorter) :] and len("".join(shorter)) >= SPELLED_WITHIN
    )


def _likely_renamed_fields(
    con: duckdb.DuckDBPyConnection,
    bronze: TableRef,
    spec: RecordSpec,
    days: Sequence[date],
    files: Sequence[str],
) -> dict[str, dict[str, list[str]]]:
    """Those of the JSON `files` of `days` in which no record has some optional field of
    `spec` while their records have a field it does not declare spelled alike
    (`spelled_alike`), by file: those optional fields and those undeclared ones (a source
    that renamed `csat_score` to `CSATScore`). An absent key is a null in JSON, so an
    optional field absent from a whole file alone is no sign (a file of open deals has no
    `FinishDate`), nor is an extra field beside it, which the contract allows (`tags`, or
    any of the dozens a CRM exports: seen named as a rename on every sparse file); a field
    spelled as the absent one is likely its rename. Its records are kept without a value
    there.

    Every record's keys cost a JSON parse of the file (about 1 s of a 270 MB CRM day), so
    `files` are those in which some optional field is null in every record
    (`_silver_chunk`'s `optional_unfilled`), the only ones that can be named."""
    keys_by_file = con.execute(
        f"SELECT source_file, list(DISTINCT key ORDER BY key) FROM ("
        f"  SELECT source_file, unnest(try(json_keys(raw))) AS key FROM {bronze.name}"
        f"  WHERE {sql.in_days(list(days))} AND {sql.in_files(files)} AND read_error IS NULL"
        f") GROUP BY source_file ORDER BY source_file"
    ).fetchall()
    return _likely_renamed(keys_by_file, spec, bronze.table)


def _likely_renamed(
    keys_by_file: Sequence[tuple[str, list[str]]], spec: RecordSpec, table: str
) -> dict[str, dict[str, list[str]]]:
    """{file: {"absent": optional fields, "undeclared": keys}} of each file (of a JSON
    file's keys, `_likely_renamed_fields`, or a CSV file's header) that lacks optional
    fields of `spec` of `table` and holds undeclared keys spelled alike (`spelled_alike`).
    A CSV file without an optional field's column is also named as such
    (`_missing_optional_columns`); this names the column its source may have renamed."""
    optional = [item.source for item in spec.fields if not item.required]
    declared = set(spec.landed_fields)
    renamed = {}
    for source_file, keys in keys_by_file:
        undeclared = [key for key in keys if key not in declared and FIELD_NAME.fullmatch(key)]
        absent = [name for name in optional if name not in keys]
        pairs = [
            (name, key) for name in absent for key in undeclared if spelled_alike(key, name, table)
        ]
        if pairs:
            absent = list(dict.fromkeys(name for name, _ in pairs))
            undeclared = list(dict.fromkeys(key for _, key in pairs))
            renamed[source_file] = {"absent": absent, "undeclared": undeclared}
    return renamed


def _file_parts(con: duckdb.DuckDBPyConnection, bronze: TableRef, day: date) -> list[list[str]]:
    """The day's bronze files in name order, grouped into parts of about `PART_ROWS` records
    (a file is never split)."""
    counts = con.execute(
        f"SELECT source_file, count(*) FROM {bronze.name} WHERE {sql.in_days([day])} "
        f"GROUP BY source_file ORDER BY source_file"
    ).fetchall()
    parts: list[list[str]] = [[]]
    rows = 0
    for name, records in counts:
        if parts[-1] and rows + records > PART_ROWS:
            parts.append([])
            rows = 0
        parts[-1].append(name)
        rows += records
    return parts


def _joined(parts: list[Chunk]) -> Chunk:
    """The parts of one day as one chunk (rows and rejects in file order, as the parts)."""
    rejects = pd.concat([part.rejects for part in parts], ignore_index=True)
    return Chunk(
        pyarrow.concat_tables([part.rows for part in parts]),
        rejects.sort_values(["source_file", "line_number"], ignore_index=True),
        sum(part.bronze_rows for part in parts),
    )


def _declares_day_tables(context: AssetExecutionContext) -> bool:
    """Whether the asset's output is declared `DayTables` (Dagster checks the type, and
    assets written before them declare or expect a frame)."""
    try:
        dagster_type = context.op_def.output_defs[0].dagster_type
    except Exception:  # a context built by hand, without a definition
        return False
    return getattr(dagster_type, "python_type", None) is DayTables


# Records quarantined after typing that take no part in ranking a key's copies.
UNRANKED = "unranked_records"


def _typed_with_good_first_copies(
    con: duckdb.DuckDBPyConnection,
    spec: RecordSpec,
    typed: Callable[..., tuple[Chunk, list[tuple[str, int]], list[tuple[str, int]]]],
    *,
    files: Sequence[str] | None = None,
    seen_keys: str | None = None,
) -> Chunk:
    """`typed` (`_silver_chunk` with the chunk's arguments bound) until a key's first copy
    is its first good one.

    Copies are ranked when typed, before a rule or the model has judged them, so a bad
    first copy (an empty agent name, say) made a good later one its duplicate, and both
    were quarantined. When a record quarantined after typing heads a key whose later
    copies were rejected as its duplicates, the chunk is typed again with it left out of
    the ranking (rare: a bad record delivered twice).
    """
    unranked: list[tuple[str, int]] = []
    while True:
        chunk, after_typing, bad_firsts = typed(files=files, seen_keys=seen_keys, unranked=unranked)
        if seen_keys is not None and spec.unique_key:
            # A later part's copies are not duplicates of this part's bad ones either.
            forget_seen(con, seen_keys, after_typing)
        again = sorted(set(bad_firsts) - set(unranked))
        if not again:
            return chunk
        unranked += again
        if seen_keys is not None:  # this part's first copies are ranked again
            con.execute(f"DELETE FROM {seen_keys} WHERE {sql.in_files(files, 'first_file')}")


def _silver_chunk(
    con: duckdb.DuckDBPyConnection,
    bronze: TableRef,
    spec: RecordSpec,
    model: type[pa.DataFrameModel],
    select_sql: str,
    derived_frames: DerivedFrames | None,
    days: list[date],
    *,
    files: Sequence[str] | None = None,
    seen_keys: str | None = None,
    kept_keys: str | None = None,
    unranked: Sequence[tuple[str, int]] = (),
    optional_unfilled: set[str] | None = None,
) -> tuple[Chunk, list[tuple[str, int]], list[tuple[str, int]]]:
    """Steps 1-3 of `silver_from_bronze` for some days (or some files of a day, see
    `parsing.parse_bronze`), the rejects with their raw text, typed once, leaving the
    `unranked` records out of the ranking of a key's copies: the chunk, the (file, line)
    of the records quarantined after typing (by a rule or the model), and those of them
    that head a key whose later copies were rejected as duplicates (see
    `_typed_with_good_first_copies`).

    `optional_unfilled`, for JSON: gets the files in which some optional field is null in
    every record (`_optional_unfilled_files`), the only ones `_likely_renamed_fields` reads."""
    if unranked:
        con.register(UNRANKED, pd.DataFrame(unranked, columns=["source_file", "line_number"]))
    try:
        parse_bronze(
            con, spec, bronze.schema, bronze.table, days, into=TYPED_RECORDS,
            files=files, seen_keys=seen_keys, kept_keys=kept_keys,
            unranked=UNRANKED if unranked else None,
        )  # fmt: skip
    finally:
        if unranked:
            con.unregister(UNRANKED)
    try:
        if optional_unfilled is not None and not spec.text_values:
            optional_unfilled.update(_optional_unfilled_files(con, spec))
        _select_candidates(con, select_sql, derived_frames)
        rows, model_rejects, has_rule = validated(con, CANDIDATES, model)
        con.register("model_rejects", model_rejects)
        try:
            rejects, bronze_rows, after_typing = _rejected_records(
                con, bronze, days, files, has_rule, typed_values=not spec.text_values
            )
        finally:
            con.unregister("model_rejects")
        bad_firsts = heading_duplicates(con, spec, TYPED_RECORDS, after_typing)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {CANDIDATES}")
        con.unregister(TYPED_RECORDS)
    # Bronze and quarantine keep a landed file's name; silver shows it masked (an e-mail
    # address or a phone number in a name is a customer's too).
    return Chunk(with_shown_source_files(rows), rejects, bronze_rows), after_typing, bad_firsts


def _optional_unfilled_files(con: duckdb.DuckDBPyConnection, spec: RecordSpec) -> list[str]:
    """The files of `TYPED_RECORDS` in which some optional field is null in every record
    (about 0.01 s of a 200,000-record CRM day, against 1 s for every record's keys)."""
    optional = [item.column for item in spec.fields if not item.required]
    if not optional:
        return []
    filled = " AND ".join(
        f"bool_or({sql.quote_identifier(column)} IS NOT NULL)" for column in optional
    )
    return [
        name
        for (name,) in con.execute(
            f"SELECT source_file FROM {TYPED_RECORDS} GROUP BY source_file HAVING NOT ({filled})"
        ).fetchall()
    ]


def _select_candidates(
    con: duckdb.DuckDBPyConnection, select_sql: str, derived_frames: DerivedFrames | None
) -> None:
    """Step 2: the domain's query over the typed records (and its derived frames) into
    `CANDIDATES`."""
    frames = derived_frames(con, TYPED_RECORDS) if derived_frames else {}
    for name, frame in frames.items():
        con.register(name, frame)
    try:
        bind_hash_key_for(con, select_sql)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {CANDIDATES} AS {select_sql}")
    finally:
        for name in frames:
            con.unregister(name)


def _rejected_records(
    con: duckdb.DuckDBPyConnection,
    bronze: TableRef,
    days: list[date],
    files: Sequence[str] | None,
    has_rule: bool,
    *,
    typed_values: bool,
) -> tuple[pd.DataFrame, int, list[tuple[str, int]]]:
    """Every record rejected by the parse, a rule or the model (`model_rejects`, registered),
    with its day, file, line, reason and original text from bronze; how many bronze records
    were typed; and the (file, line) of those rejected after typing. `typed_values`: the
    table's values land typed (JSON), so a CSV file's reasons say why its numbers are not."""
    parse_rejects = (
        f"SELECT source_file, line_number, reject_reason AS reason "
        f"FROM {TYPED_RECORDS} WHERE reject_reason IS NOT NULL"
    )
    rule_rejects = (
        f"SELECT source_file, line_number, {RULE_REASON} AS reason FROM {CANDIDATES} "
        f"WHERE {RULE_REASON} IS NOT NULL"
        if has_rule
        else "SELECT NULL::VARCHAR AS source_file, NULL::BIGINT AS line_number, "
        "NULL::VARCHAR AS reason WHERE FALSE"
    )
    bronze_rows = con.execute(
        f"SELECT (SELECT count(*) FROM {TYPED_RECORDS} WHERE reject_reason IS NOT NULL) "
        f"+ (SELECT count(*) FROM {CANDIDATES})"
    ).fetchall()[0][0]
    rejects = con.execute(
        f"""
        SELECT b.date, r.source_file, r.line_number, r.reason, b.raw
        FROM ({parse_rejects} UNION ALL {rule_rejects}
              UNION ALL SELECT source_file, line_number, reason FROM model_rejects) AS r
        JOIN (SELECT date, source_file, line_number, raw FROM {bronze.name}
              WHERE {sql.in_days(days)} AND {sql.in_files(files)}) AS b USING (source_file, line_number)
        ORDER BY r.source_file, r.line_number
        """
    ).df()
    after_typing = con.execute(
        f"SELECT source_file, line_number FROM ({rule_rejects}) "
        f"UNION ALL SELECT source_file, line_number FROM model_rejects"
    ).fetchall()
    rejects["date"] = pd.to_datetime(rejects["date"]).dt.date
    rejects["reason"] = [
        explain_invalid_json(reason, raw)
        for reason, raw in zip(rejects["reason"], rejects["raw"], strict=True)
    ]
    if typed_values:
        rejects["reason"] = [
            explain_csv_in_typed_table(reason, source_file)
            for reason, source_file in zip(rejects["reason"], rejects["source_file"], strict=True)
        ]
    return rejects, int(bronze_rows), after_typing
