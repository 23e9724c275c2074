"""A key kept once: the later copies of a key among typed bronze records rejected as
duplicates, each reason naming where the first copy was (`parsing.parse_bronze` calls this
on every part it types, for a `RecordSpec` with a `unique_key`).

The first copy of a key wins by day, then file, then line: within a day (`unique_key`), or
over all days (`unique_across_days`), where the keys already kept on the days outside the
step come in as a query (`kept_keys`). A day typed a part at a time keeps the first copies
of its earlier parts in a temp table (`seen_keys`). Records a later stage quarantined for a
reason of their own take no part in the ranking (`unranked`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb
import pandas as pd
import pyarrow as pa

from cx_assets.lakehouse import sql

if TYPE_CHECKING:
    from cx_assets.lakehouse.parsing import RecordSpec

# The typed part while its duplicates are found, and the ranking of its good records' keys.
_PART = "__typed_part"
_RANKED = "__ranked_keys"


def with_duplicates_rejected(
    con: duckdb.DuckDBPyConnection,
    spec: RecordSpec,
    typed: pa.Table,
    seen_keys: str | None,
    kept_keys: str | None = None,
    unranked: str | None = None,
) -> pa.Table:
    """`typed` with every good record whose key came earlier (in this part by file, then
    line, or in an earlier part through `seen_keys`; with `unique_across_days`, also on an
    earlier day of the part, or kept on another day: `kept_keys`) rejected as a duplicate
    naming the first one, or the day that kept it; `seen_keys` gains this part's first
    records.

    Keys are ranked on a projection of key, file and line only: a window over whole records
    carried every e-mail body of a CRM day through its sort. Duplicates are rare, so the
    typed records are rewritten only when there are some."""
    key = _key_sql(spec)
    con.register(_PART, typed)
    try:
        if seen_keys is not None:
            con.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {seen_keys} AS SELECT date, {key}, "
                f"source_file AS first_file, line_number AS first_line FROM {_PART} WHERE FALSE"
            )
        _rank_keys(con, spec, seen_keys, kept_keys, unranked)
        if seen_keys is not None:
            con.execute(
                f"INSERT INTO {seen_keys} SELECT date, {key}, source_file, line_number "
                f"FROM {_RANKED} WHERE seen_file IS NULL AND occurrence = 1 "
                f"AND kept_day IS NULL"
            )
        duplicates = _duplicate_reasons(con, spec)
    finally:
        con.unregister(_PART)
        con.execute(f"DROP TABLE IF EXISTS {_RANKED}")
    return _with_reasons(typed, duplicates) if duplicates else typed


def _rank_keys(
    con: duckdb.DuckDBPyConnection,
    spec: RecordSpec,
    seen_keys: str | None,
    kept_keys: str | None,
    unranked: str | None,
) -> None:
    """`_RANKED`: each good record of `_PART` (but the `unranked`) with its key's rank by
    day, file and line, where its first copy was, the first day another day kept the key
    (`kept_day`) and where an earlier part saw it (`seen_file`, `seen_line`)."""
    key = _key_sql(spec)
    if seen_keys is not None:
        seen = (
            f"seen.first_file AS seen_file, seen.first_line AS seen_line FROM good "
            f"LEFT JOIN {seen_keys} AS seen USING (date, {key})"
        )
    else:
        seen = "NULL::VARCHAR AS seen_file, NULL::BIGINT AS seen_line FROM good"
    ranked_only = (
        f" AND NOT EXISTS (SELECT 1 FROM {unranked} AS u WHERE u.source_file = "
        f"{_PART}.source_file AND u.line_number = {_PART}.line_number)"
        if unranked is not None
        else ""
    )
    across = spec.unique_across_days
    if across and kept_keys is not None:
        # Only this part's keys are looked up in the other days.
        kept = (
            f"LEFT JOIN (SELECT {key}, min(date) AS kept_day FROM ({kept_keys}) "
            f"SEMI JOIN good USING ({key}) GROUP BY ALL) USING ({key})"
        )
    else:
        kept = "LEFT JOIN (SELECT NULL::DATE AS kept_day) ON FALSE"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {_RANKED} AS
        WITH good AS (
            SELECT date, {key}, source_file, line_number FROM {_PART}
            WHERE reject_reason IS NULL{ranked_only})
        SELECT good.*, row_number() OVER w AS occurrence,
               first_value(date) OVER w AS first_day,
               first_value(source_file) OVER w AS first_file,
               first_value(line_number) OVER w AS first_line,
               kept_day,
               {seen} {kept}
        WINDOW w AS (
            PARTITION BY {"" if across else "date, "}{key}
            ORDER BY date, source_file, line_number)
        """
    )


def _duplicate_reasons(con: duckdb.DuckDBPyConnection, spec: RecordSpec) -> list[tuple]:
    """(file, line, reason) of each ranked record that is a duplicate: kept on another day,
    seen in an earlier part, or not its key's first copy in this one."""
    return con.execute(
        f"""
        SELECT source_file, line_number,
               CASE WHEN kept_day < date
                    THEN {_earlier_day_reason_sql(spec, "kept_day")}
                    WHEN kept_day IS NOT NULL
                    THEN {kept_later_reason_sql(spec, "kept_day")}
                    WHEN seen_file IS NOT NULL
                    THEN {_duplicate_reason_sql(spec, "seen_file", "seen_line")}
                    WHEN first_day < date
                    THEN {_earlier_day_reason_sql(spec, "first_day")}
                    ELSE {_duplicate_reason_sql(spec, "first_file", "first_line")} END
        FROM {_RANKED}
        WHERE kept_day IS NOT NULL OR seen_file IS NOT NULL OR occurrence > 1
        """
    ).fetchall()


def _with_reasons(typed: pa.Table, duplicates: list[tuple]) -> pa.Table:
    """`typed` with the reject reason of each (file, line) in `duplicates` set to its own."""
    reasons = {(source_file, line): reason for source_file, line, reason in duplicates}
    rewritten = [
        reasons.get((source_file, line), reason)
        for source_file, line, reason in zip(
            typed.column("source_file").to_pylist(),
            typed.column("line_number").to_pylist(),
            typed.column("reject_reason").to_pylist(),
            strict=True,
        )
    ]
    position = typed.schema.get_field_index("reject_reason")
    field = typed.schema.field(position)
    return typed.set_column(position, field, pa.array(rewritten, field.type))


def _key_sql(spec: RecordSpec) -> str:
    return ", ".join(sql.quote_identifier(column) for column in spec.unique_key)


def _landed_key(spec: RecordSpec) -> str:
    """The key as a reason names it: its fields as they land (`Id`, not `interaction_id`),
    which the user finds in what they delivered; quoted for SQL's string literal."""
    return ", ".join(spec.landed_key).replace("'", "''")


def _earlier_day_reason_sql(spec: RecordSpec, first_day: str) -> str:
    """The reason a record of a key first delivered on an earlier day is rejected."""
    return (
        f"'duplicate {_landed_key(spec)} (first delivered on ' "
        f"|| strftime({first_day}, '%Y-%m-%d') || ')'"
    )


def kept_later_reason_sql(spec: RecordSpec, kept_day: str) -> str:
    """The reason a record of a key already kept on a later day is rejected: that day was run
    first, and a key is kept once (running both days together puts the first delivery
    first again)."""
    return (
        f"'duplicate {_landed_key(spec)} (already kept on ' "
        f"|| strftime({kept_day}, '%Y-%m-%d') || ')'"
    )


# The two reasons above as patterns, the day they name in the group `day`: a copy of a key
# kept on another day (`cx-lakehouse run` and `dropped_keys` read them back from quarantine).
KEPT_ON_ANOTHER_DAY = (
    r"^duplicate .* \((?:first delivered|already kept) on (?P<day>\d{4}-\d{2}-\d{2})\)$"
)
KEPT_ON_A_LATER_DAY = r"^duplicate .* \(already kept on (?P<day>\d{4}-\d{2}-\d{2})\)$"


def _duplicate_reason_sql(spec: RecordSpec, first_file: str, first_line: str) -> str:
    """The reason a later record of a key is rejected, naming where the first one was."""
    return (
        f"'duplicate {_landed_key(spec)} (first seen at ' || {first_file} || ':' "
        f"|| {first_line} || ')'"
    )


def forget_seen(
    con: duckdb.DuckDBPyConnection, seen_keys: str, records: list[tuple[str, int]]
) -> None:
    """Take `records` (file, line), quarantined after typing, out of `seen_keys`: a later
    part's copies of their keys are no duplicates of them."""
    if not records:
        return
    con.register("forgotten_records", pd.DataFrame(records, columns=["file", "line"]))
    try:
        con.execute(
            f"DELETE FROM {seen_keys} USING forgotten_records AS r "
            f"WHERE first_file = r.file AND first_line = r.line"
        )
    finally:
        con.unregister("forgotten_records")


def heading_duplicates(
    con: duckdb.DuckDBPyConnection, spec: RecordSpec, typed: str, records: list[tuple[str, int]]
) -> list[tuple[str, int]]:
    """Of `records` (quarantined after typing), those whose key has a copy in `typed` (the
    part's typed records) rejected as a duplicate: they headed their key's copies and must
    not, so the part is typed again without them."""
    if not records or not spec.unique_key:
        return []
    key = ", ".join(sql.quote_identifier(column) for column in spec.unique_key)
    con.register("quarantined_after_typing", pd.DataFrame(records, columns=["f", "l"]))
    try:
        return con.execute(
            f"""
            SELECT t.source_file, t.line_number
            FROM {typed} AS t
            JOIN quarantined_after_typing AS q ON t.source_file = q.f AND t.line_number = q.l
            SEMI JOIN (SELECT {key} FROM {typed}
                       WHERE starts_with(reject_reason, 'duplicate ')) USING ({key})
            """
        ).fetchall()
    finally:
        con.unregister("quarantined_after_typing")
