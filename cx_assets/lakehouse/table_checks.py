"""The checks a table declares (`lake_asset(grain=, row_count=, bands=, reconciles_with=)`,
and every bronze asset): what each one asks of the table's rows and of its earlier days,
as `DeclaredCheck`s its asset's step evaluates (see `checks`). `declared_checks` turns a
table's declarations into its checks; their severities are the contract's (see `checks`).
"""

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    Field,
    MetadataValue,
)

from cx_assets.lakehouse import quarantine, written_days
from cx_assets.lakehouse.checks import (
    CONFIGURED_SEVERITY_BLOCKS,
    NO_COLUMN_EMPTIED,
    NON_EMPTY,
    ONE_HASH_KEY,
    RECONCILES_WITH_BRONZE,
    RECORDS_ONLY_IN_QUARANTINE,
    REJECT_RATIO,
    ROW_COUNT_CHECK,
    UNIQUE_KEY,
    Band,
    CheckRun,
    DeclaredCheck,
    band_config,
    severity_config,
)
from cx_assets.lakehouse.dropped_keys import KeyedTable, copies_of_dropped_keys
from cx_assets.lakehouse.history_checks import column_schema_change, volume_anomaly
from cx_assets.lakehouse.partitions import PARTITION_COLUMN, day_span, run_command
from cx_assets.lakehouse.sql import in_days, in_days_param, qualified, quote_identifier
from cx_assets.lakehouse.warehouse_tables import count_rows, table_exists

# The reject ratio's default (WARN; run config on its check).
MAX_REJECT_RATIO = 0.001


def non_empty(schema: str, table: str, *, what: str = "rows") -> DeclaredCheck:
    """WARN (by default; its severity is run config) when a day has no rows: a source that
    delivered nothing is worth a look, not a failed run (downstream tables are still
    written, empty), unless an operator raises it to ERROR for a source that must deliver."""

    def evaluate(run: CheckRun) -> AssetCheckResult:
        with run.warehouse.connect() as con:
            counts = {day.isoformat(): count_rows(con, schema, table, [day]) for day in run.days}
        empty = [day for day, rows in counts.items() if rows == 0]
        return AssetCheckResult(
            check_name=NON_EMPTY,
            passed=not empty,
            severity=run.config["severity"],
            description=f"no {what} on {', '.join(empty)}" if empty else None,
            metadata={"rows_by_day": MetadataValue.json(counts), "empty_days": len(empty)},
        )

    return DeclaredCheck(
        NON_EMPTY,
        f"WARN when a day of {schema}.{table} has no {what} (severity: run config).",
        evaluate,
        blocking=CONFIGURED_SEVERITY_BLOCKS,
        config={"severity": severity_config()},
    )


def reconciliation(schema: str, table: str, bronze_key: AssetKey) -> DeclaredCheck:
    """ERROR unless every bronze record of a day is in silver or in quarantine, exactly once."""
    bronze_schema, bronze_table = bronze_key.path

    def evaluate(run: CheckRun) -> AssetCheckResult:
        by_day = {}
        with run.warehouse.connect() as con:
            for day in run.days:
                bronze_rows = count_rows(con, bronze_schema, bronze_table, [day])
                silver_rows = count_rows(con, schema, table, [day])
                # The quarantine dataset of a landed table is named after its bronze table.
                quarantined = quarantine.count(run.lake.layout.quarantine_dir, bronze_table, [day])
                by_day[day.isoformat()] = {
                    "bronze": bronze_rows,
                    "silver": silver_rows,
                    "quarantine": quarantined,
                    "unaccounted": bronze_rows - silver_rows - quarantined,
                }
        broken = {day: n for day, n in by_day.items() if n["unaccounted"] != 0}
        return AssetCheckResult(
            check_name=RECONCILES_WITH_BRONZE,
            passed=not broken,
            severity=AssetCheckSeverity.ERROR,
            description="; ".join(_unreconciled(day, n) for day, n in broken.items()) or None,
            metadata={"by_day": MetadataValue.json(by_day)},
        )

    def _unreconciled(day: str, counts: dict[str, int]) -> str:
        """How many records a day lost, or holds twice, of which tables: all that
        `cx-lakehouse run` shows of the check."""
        bronze = f"records of {bronze_schema}.{bronze_table} on {day}"
        if counts["unaccounted"] > 0:
            return (
                f"{counts['unaccounted']} of {counts['bronze']} {bronze} in neither "
                f"{schema}.{table} nor quarantine"
            )
        return (
            f"{schema}.{table} and quarantine hold {-counts['unaccounted']} more rows than "
            f"the {counts['bronze']} {bronze}"
        )

    return DeclaredCheck(
        RECONCILES_WITH_BRONZE,
        f"ERROR unless rows of {bronze_schema}.{bronze_table} = rows of {schema}.{table} + "
        "quarantined records, per day.",
        evaluate,
        blocking=True,
    )


def reject_ratio(bronze_key: AssetKey, *, high: float = MAX_REJECT_RATIO) -> DeclaredCheck:
    """WARN (by default) when a day quarantines more than `high` of its landed records: a
    few bad records are expected and kept apart, a rising share means a source changed."""
    bronze_schema, bronze_table = bronze_key.path

    def evaluate(run: CheckRun) -> AssetCheckResult:
        config = run.config
        ratios: dict[str, float | None] = {}
        records: dict[str, dict[str, int]] = {}
        with run.warehouse.connect() as con:
            for day in run.days:
                landed = count_rows(con, bronze_schema, bronze_table, [day])
                quarantined = quarantine.count(run.lake.layout.quarantine_dir, bronze_table, [day])
                ratios[day.isoformat()] = quarantined / landed if landed else None
                records[day.isoformat()] = {"landed": landed, "quarantined": quarantined}
        outside = {
            day: ratio
            for day, ratio in ratios.items()
            if ratio is not None and not config["low"] <= ratio <= config["high"]
        }
        # Why, and where to look, for the days outside: what the UI shows of the check.
        folder = quarantine.dataset_dir(run.lake.layout.quarantine_dir, bronze_table)
        reasons = {day: quarantine.day_reasons(folder, date.fromisoformat(day)) for day in outside}
        explained = (
            {
                "records_by_day": MetadataValue.json({day: records[day] for day in outside}),
                "reasons_by_day": MetadataValue.json(reasons),
                "quarantine_path": MetadataValue.path(str(folder)),
            }
            if outside
            else {}
        )
        return AssetCheckResult(
            check_name=REJECT_RATIO,
            passed=not outside,
            severity=config["severity"],
            description=(
                f"{', '.join(f'{d}: {r:.2%}' for d, r in outside.items())} quarantined"
                f"{_most_frequent_reason(reasons)}"
                if outside
                else None
            ),
            metadata={"reject_ratio_by_day": MetadataValue.json(ratios), "high": config["high"]}
            | explained,
        )

    return DeclaredCheck(
        REJECT_RATIO,
        f"Share of a day's {bronze_schema}.{bronze_table} records quarantined. "
        f"WARN by default above {high} (run config).",
        evaluate,
        blocking=CONFIGURED_SEVERITY_BLOCKS,
        config=band_config(0.0, high),
    )


def _most_frequent_reason(reasons_by_day: dict[str, dict[str, int]]) -> str:
    """`, most as <reason> (<n> of <m> records; <k> reasons)` over the days' reasons: the
    description is all the command centre's overview shows of the check, and a share alone
    said nothing of why (a file re-delivered the next day read `100.00% quarantined`)."""
    counts: dict[str, int] = {}
    for day_reasons in reasons_by_day.values():
        # A key's repeats are one reason whatever day it was first delivered on.
        for reason, count in quarantine.reasons_across_days(day_reasons).items():
            counts[reason] = counts.get(reason, 0) + count
    if not counts:  # a day under a raised low bound quarantines nothing
        return ""
    reason, count = min(counts.items(), key=lambda item: (-item[1], item[0]))
    total = sum(counts.values())
    kinds = f"; {len(counts)} reasons" if len(counts) > 1 else ""
    return f", most as {reason[:200]} ({count:,} of {total:,} records{kinds})"


# The emptied-column check's defaults (WARN; `min_expected` is run config on its check).
EMPTIED_HISTORY_DAYS = 7
MIN_EXPECTED_VALUES = 20
# The values the same weekday a week before must have been expected to hold (at the share
# of the days before) for its delivery without them to be the source's weekly rhythm:
# chance leaves 5 expected values out once in 150 days. At 20, a Saturday's csat_score
# (about 18 expected a week before, 20 this week) warned once in six weeks.
WEEKDAY_RHYTHM_MIN_EXPECTED = 5


def _days_before(count: int) -> str:
    return "the day before" if count == 1 else f"the {count} days before"


def emptied_columns(
    counts: Mapping[date, tuple[int, ...]],
    days: Sequence[date],
    columns: int,
    *,
    history_days: int,
    min_expected: int,
) -> list[tuple[date, int, int, float, int]]:
    """`no_column_emptied`'s rule: (day, column's index, the day's records, the share of the
    days before holding the column, how many days before there were) of each of `days`
    whose column is null in every record, by `counts`: each day's records, then each
    column's values (SQL's `count(*)`, then `count(column)` per column)."""
    found = []
    for day in days:
        records, *values = counts.get(day, (0,) * (columns + 1))
        before = [
            counts[earlier]
            for back in range(1, history_days + 1)
            if (earlier := day - timedelta(days=back)) in counts
        ]
        records_before = sum(counted[0] for counted in before)
        week_before = counts.get(day - timedelta(days=7))
        for at in range(columns):
            if values[at] or not records or not records_before:
                continue
            share = sum(counted[at + 1] for counted in before) / records_before
            # A column the days before never held was emptied by no export: with
            # `min_expected` set to 0 it warned every day, 'about 0 expected'.
            if not share or share * records < min_expected:
                continue
            # The same weekday a week before was delivered without it too, where chance
            # would hardly have left it empty: the source leaves it empty that weekday (a
            # support team off at weekends leaves its tickets without an agent), and every
            # such day warned.
            if (
                week_before
                and not week_before[at + 1]
                and share * week_before[0] >= WEEKDAY_RHYTHM_MIN_EXPECTED
            ):
                continue
            found.append((day, at, records, share, len(before)))
    return found


def no_column_emptied(
    schema: str,
    table: str,
    columns: Sequence[str],
    *,
    history_days: int = EMPTIED_HISTORY_DAYS,
    min_expected: int = MIN_EXPECTED_VALUES,
    landed_as: Mapping[str, str] | None = None,
) -> DeclaredCheck:
    """WARN (by default) when one of a landed table's optional `columns` is null in every
    record of a day, where the `history_days` days before held it in enough of theirs that
    the day's records would hold `min_expected` values or more at that share.

    Every record of such a day passes its schema (the field is optional), so nothing is
    quarantined: an export that lost a column's values (all tickets without their
    `agent_id`, all calls without a `sentiment_score`) gave gold a day without agents or
    sentiment and not a word. Chance leaves a column empty only where few values were to
    be expected, hence the floor; a day with a single value is judged delivered. A day is
    quiet where the same weekday a week before was delivered without the column too,
    where `WEEKDAY_RHYTHM_MIN_EXPECTED` values or more were to be expected: a source's
    weekly rhythm, not a loss.

    `landed_as`: the field a column is delivered as, or derived from (`Content` for
    `content_bytes`), named beside it: the user finds the field in what they delivered,
    not the column."""
    named = {column: _named_as_landed(column, (landed_as or {}).get(column)) for column in columns}
    selected = ", ".join(f"count({quote_identifier(column)})" for column in columns)

    def evaluate(run: CheckRun) -> AssetCheckResult:
        config, days = run.config, run.days
        counts: dict[date, tuple[int, ...]] = {}
        with run.warehouse.connect() as con:
            if table_exists(con, schema, table):
                rows = con.execute(
                    f"SELECT {PARTITION_COLUMN}, count(*), {selected} "
                    f"FROM {qualified(schema, table)} "
                    f"WHERE {PARTITION_COLUMN} BETWEEN ? AND ? GROUP BY ALL",
                    [days[0] - timedelta(days=max(history_days, 7)), days[-1]],
                ).fetchall()
                counts = {day: tuple(int(n) for n in counted) for day, *counted in rows}
        emptied: dict[str, dict[str, dict[str, float | int]]] = {}
        said = []
        for day, at, records, share, days_before in emptied_columns(
            counts,
            days,
            len(columns),
            history_days=history_days,
            min_expected=config["min_expected"],
        ):
            column = columns[at]
            emptied.setdefault(day.isoformat(), {})[column] = {
                "records": records,
                "share_before": round(share, 4),
            }
            said.append(
                f"{day.isoformat()}: {named[column]} null in all {records} records, where "
                f"{_days_before(days_before)} held one in {share:.0%} of theirs (about "
                f"{share * records:.0f} expected)"
            )
        return AssetCheckResult(
            check_name=NO_COLUMN_EMPTIED,
            passed=not emptied,
            severity=config["severity"],
            description=f"{'; '.join(said)}: did the source stop sending it?" if said else None,
            metadata={"emptied_by_day": MetadataValue.json(emptied), "columns": list(columns)}
            | ({"landed_as": MetadataValue.json(dict(landed_as))} if landed_as else {}),
        )

    return DeclaredCheck(
        NO_COLUMN_EMPTIED,
        f"WARN by default when an optional column of {schema}.{table} "
        f"({', '.join(named.values())}) is null in all of a day's records, where the "
        f"{history_days} days before held it often enough to expect {min_expected} values "
        "or more (run config), unless the same weekday a week before came without it too.",
        evaluate,
        blocking=CONFIGURED_SEVERITY_BLOCKS,
        config={
            "severity": severity_config(),
            "min_expected": Field(int, default_value=min_expected),
        },
    )


def _named_as_landed(column: str, field: str | None) -> str:
    """A column as a user finds it: with the field it is landed as or derived from, where
    that is spelled otherwise (`content_bytes (from Content)`)."""
    return f"{column} (from {field})" if field and field != column else column


def unique_key(
    schema: str,
    table: str,
    columns: Sequence[str],
    *,
    partitioned: bool,
    across_days: bool = False,
) -> DeclaredCheck:
    """ERROR when the table's grain is broken: a key appears more than once (per day for
    partitioned tables, unless `across_days`: then a key of the checked days may not appear
    on any other day either; a per-day table with no key columns has one row a day)."""
    per_day = partitioned and not across_days
    key_columns = ([PARTITION_COLUMN] if per_day else []) + list(columns)
    # No key columns: the whole table (or day) is one key, so it holds at most one row.
    group_by = (
        f"GROUP BY {', '.join(quote_identifier(c) for c in key_columns)}" if key_columns else ""
    )

    def evaluate(run: CheckRun) -> AssetCheckResult:
        days = run.days
        where, params = ("TRUE", []) if days is None else (in_days_param(len(days)), list(days))
        if across_days and days is not None and columns:
            # The checked days' keys, wherever else in the table they appear.
            key = ", ".join(quote_identifier(c) for c in columns)
            where = f"({key}) IN (SELECT ({key}) FROM {qualified(schema, table)} WHERE {where})"
        with run.warehouse.connect() as con:
            if not table_exists(con, schema, table):
                return AssetCheckResult(
                    check_name=UNIQUE_KEY,
                    passed=False,
                    severity=AssetCheckSeverity.ERROR,
                    description=f"{schema}.{table} does not exist",
                )
            duplicate_keys, rows_involved = con.execute(
                f"SELECT count(*), coalesce(sum(n), 0) FROM ("
                f"  SELECT count(*) AS n FROM {qualified(schema, table)} WHERE {where}"
                f"  {group_by} HAVING count(*) > 1)",
                params,
            ).fetchall()[0]
            repeated = (
                _repeated_keys(con, schema, table, key_columns, where, params, across_days)
                if duplicate_keys and key_columns
                else []
            )
        if not duplicate_keys:
            broken = None
        elif key_columns:
            broken = _repeated_key_words(int(duplicate_keys), key_columns, repeated)
        else:  # the whole table is the one key
            broken = f"{rows_involved} rows, where the table holds one at most"
        return AssetCheckResult(
            check_name=UNIQUE_KEY,
            passed=duplicate_keys == 0,
            severity=AssetCheckSeverity.ERROR,
            description=broken,
            metadata={
                "duplicate_keys": int(duplicate_keys),
                "rows_with_duplicate_keys": int(rows_involved),
            }
            | ({"repeated_keys": MetadataValue.json(repeated)} if repeated else {}),
        )

    return DeclaredCheck(
        UNIQUE_KEY,
        f"ERROR when ({', '.join(key_columns)}) is not unique in {schema}.{table}."
        if key_columns
        else f"ERROR when {schema}.{table} holds more than one row.",
        evaluate,
        blocking=True,
    )


# How many repeated keys a failing `unique_key` names in its metadata.
REPEATED_KEYS_SHOWN = 5


def _repeated_keys(
    con,
    schema: str,
    table: str,
    key_columns: Sequence[str],
    where: str,
    params: list,
    across_days: bool,
) -> list[dict]:
    """The first repeated keys (most rows first), each with its rows and, for a key kept once
    over all days, the days holding it: what the UI shows of a failing check, so an
    engineer sees which keys without SQL of their own. Keys are ids, never personal values."""
    key = ", ".join(quote_identifier(c) for c in key_columns)
    days = (
        f", list_sort(list(DISTINCT {quote_identifier(PARTITION_COLUMN)}))" if across_days else ""
    )
    found = con.execute(
        f"SELECT {key}, count(*) AS n{days} FROM {qualified(schema, table)} WHERE {where} "
        f"GROUP BY {key} HAVING count(*) > 1 ORDER BY n DESC, {key} "
        f"LIMIT {REPEATED_KEYS_SHOWN}",
        params,
    ).fetchall()
    shown = []
    for row in found:
        entry = {column: _plain(value) for column, value in zip(key_columns, row, strict=False)}
        entry["rows"] = int(row[len(key_columns)])
        if across_days:
            entry["days"] = [_plain(day) for day in row[len(key_columns) + 1]]
        shown.append(entry)
    return shown


def _repeated_key_words(count: int, key_columns: Sequence[str], repeated: list[dict]) -> str:
    """A failing unique key in words, naming its first repeated key: all that
    `cx-lakehouse run` shows of the check ("1 key (date, key) repeats: (2024-01-06, a) in 2
    rows"; a key kept once over all days, the days that hold it)."""
    columns = ", ".join(key_columns)
    said = f"1 key ({columns}) repeats: " if count == 1 else f"{count} keys ({columns}) repeat, "
    if not repeated:
        return said.rstrip(":, ")
    first = repeated[0]
    key = ", ".join(str(first[column]) for column in key_columns)
    days = f", on {', '.join(first['days'])}" if "days" in first else ""
    return said + ("" if count == 1 else "such as ") + f"({key}) in {first['rows']} rows{days}"


def _plain(value):
    """A key's value as JSON holds it: a day or a time as ISO text."""
    return value.isoformat() if hasattr(value, "isoformat") else value


def row_count(schema: str, table: str, expected: int) -> DeclaredCheck:
    """ERROR unless a whole-history table has exactly `expected` rows (a fixed grain)."""

    def evaluate(run: CheckRun) -> AssetCheckResult:
        with run.warehouse.connect() as con:
            rows = count_rows(con, schema, table)
        return AssetCheckResult(
            check_name=ROW_COUNT_CHECK,
            passed=rows == expected,
            severity=AssetCheckSeverity.ERROR,
            description=None if rows == expected else f"{rows} rows, expected {expected}",
            metadata={"rows": rows, "expected": expected},
        )

    return DeclaredCheck(
        ROW_COUNT_CHECK,
        f"ERROR unless {schema}.{table} has exactly {expected} rows.",
        evaluate,
        blocking=True,
    )


def ratio_band(schema: str, table: str, band: Band) -> DeclaredCheck:
    """WARN (by default) when a day's ratio leaves [low, high]; days whose ratio is null
    (nothing to divide) are skipped. The days are the step's, or for a whole-history table
    every day it holds (its rows carry their `date`)."""
    relation = qualified(schema, table)

    def evaluate(run: CheckRun) -> AssetCheckResult:
        low, high = run.config["low"], run.config["high"]
        # A whole-history step has no days of its own: `in_days(None)` is FALSE, and the
        # band passed on every run whatever the table held (found by adding a domain).
        days = "TRUE" if run.days is None else in_days(run.days)
        sql = band.ratio_sql.format(table=relation, days=days)
        with run.warehouse.connect() as con:
            rows = con.execute(sql).fetchall()
        ratios = {row[0].isoformat(): row[1] for row in rows}
        if len(ratios) < len(rows):
            repeated = sorted(
                day for day, n in Counter(r[0].isoformat() for r in rows).items() if n > 1
            )
            return AssetCheckResult(
                check_name=band.name,
                passed=False,
                severity=AssetCheckSeverity.ERROR,
                description=f"the band's ratio_sql gave more than one row for {', '.join(repeated)}: "
                "a band judges one ratio a day",
            )
        outside = {
            day: ratio
            for day, ratio in ratios.items()
            if ratio is not None and not low <= ratio <= high
        }
        return AssetCheckResult(
            check_name=band.name,
            passed=not outside,
            severity=run.config["severity"],
            # The ratios judged, not only their days: `cx-lakehouse run` shows this alone.
            description=(
                f"outside [{low}, {high}]: "
                + ", ".join(f"{ratio:.3g} on {day}" for day, ratio in outside.items())
                + (f": {band.outside}" if band.outside else "")
            )
            if outside
            else None,
            metadata={"ratio_by_day": MetadataValue.json(ratios), "low": low, "high": high},
        )

    return DeclaredCheck(
        band.name,
        f"{band.description} WARN by default outside [{band.low}, {band.high}] (run config).",
        evaluate,
        blocking=CONFIGURED_SEVERITY_BLOCKS,
        config=band_config(band.low, band.high),
    )


def records_only_in_quarantine(keyed: KeyedTable) -> DeclaredCheck:
    """WARN when a record of the step's days is kept on no day while another day holds its
    copy in quarantine as a repeat: its day was re-delivered without it and ran again
    (`dropped_keys`). Every check else passes then (the copy reconciles bronze); running
    the days together keeps the copy. Said by every run of those days until done."""

    def evaluate(run: CheckRun) -> AssetCheckResult:
        with run.warehouse.connect() as con:
            found = copies_of_dropped_keys(
                con,
                keyed,
                run.lake.layout.quarantine_dir,
                [day.isoformat() for day in run.days or []],
            )
        if found is None:
            return AssetCheckResult(
                passed=True, severity=AssetCheckSeverity.WARN, metadata={"records": 0}
            )
        return AssetCheckResult(
            passed=False,
            severity=AssetCheckSeverity.WARN,
            description=(
                f"{found.records} record(s) of {', '.join(found.of_days)} kept on no day, "
                f"with copies quarantined as repeats on {', '.join(found.holding)}; keep them "
                f"with: {found.command()}"
            ),
            metadata={
                "records": found.records,
                "days_holding_copies": MetadataValue.json(list(found.holding)),
            },
        )

    return DeclaredCheck(
        RECORDS_ONLY_IN_QUARANTINE,
        f"WARN when a record of these days is kept on no day of {keyed.schema}.{keyed.table} "
        "while another day holds its copy in quarantine as a repeat (its day re-delivered "
        "without it).",
        evaluate,
    )


def _days(count: int) -> str:
    return f"{count} day" + ("s" if count != 1 else "")


def one_hash_key(schema: str, table: str, group: str) -> DeclaredCheck:
    """ERROR while a day of a table with keyed hashes was written under another
    `CX_HASH_KEY` than the run's (`written_days`): its hashes no longer join with the
    others, so a thread, a person or a customer counts twice downstream. Building those days
    again, under the run's key, mends it."""

    def evaluate(run: CheckRun) -> AssetCheckResult:
        with run.warehouse.connect() as con:
            key = written_days.key_id()
            other_key = [
                day.isoformat()
                for day in written_days.days_under_other_keys(con, f"{schema}.{table}", key)
            ]
            own_days = {*(run.days or ()), *(run.step_days or ())}
            # Days of this key the run did not write: none, and the key may be the wrong one.
            new_key = not other_key or not any(
                day not in own_days
                for day in written_days.days_under_key(con, f"{schema}.{table}", key)
            )
        if not other_key:
            return AssetCheckResult(
                check_name=ONE_HASH_KEY,
                passed=True,
                severity=AssetCheckSeverity.ERROR,
                metadata={"days_under_another_key": MetadataValue.json([])},
            )
        one = len(other_key) == 1
        # This run's days too: their step failed on this check, so nothing downstream of
        # them was built; one command mends both.
        span = sorted([*other_key, *(day.isoformat() for day in run.days or ())])
        return AssetCheckResult(
            check_name=ONE_HASH_KEY,
            passed=False,
            severity=AssetCheckSeverity.ERROR,
            description=(
                f"{_days(len(other_key))} of {schema}.{table} ({day_span(other_key)}) "
                f"{'was' if one else 'were'} written under another CX_HASH_KEY than this "
                f"run's, so the hashes of {'that day' if one else 'those days'} do not join "
                f"with this run's"
                + (
                    ". No other day was written under this run's key: if it is not the one "
                    "this data root is built with (another shell's CX_HASH_KEY, a typo), run "
                    "this run's days again with that one instead. To change keys, build "
                    if new_key
                    else "; build "
                )
                + f"{'it' if one else 'them'} again under this key, with this run's days: "
                + run_command(span[0], span[-1], f"group:{group}")
            ),
            metadata={"days_under_another_key": MetadataValue.json(other_key)},
        )

    return DeclaredCheck(
        ONE_HASH_KEY,
        f"ERROR while a day of {schema}.{table} was written under another CX_HASH_KEY than "
        "the run's: its keyed hashes would not join with the others.",
        evaluate,
        blocking=True,
    )


def declared_checks(
    schema: str,
    table: str,
    *,
    partitioned: bool,
    landed: bool = False,
    reconciles_with: AssetKey | None = None,
    grain: Sequence[str] | None = None,
    expected_rows: int | None = None,
    bands: Sequence[Band] = (),
    grain_across_days: bool = False,
    columns: bool = False,
    landed_key: Sequence[str] | None = None,
    keyed_hashes: bool = False,
    group: str = "default",
    optional_columns: Sequence[str] = (),
    landed_as: Mapping[str, str] | None = None,
) -> list[DeclaredCheck]:
    """Every check a table's declarations call for: `non_empty` and `volume_anomaly` on a
    landed (bronze) table; reconciliation and reject ratio on a silver table of a landed
    one, and records only in quarantine where its key is kept once over all days (the key's
    `landed_key` fields known), and no column emptied where it has `optional_columns` (the
    nullable ones of its model, named with the field each is `landed_as`); unique key, row count and ratio bands where declared;
    `column_schema_change` on a table with `columns` (every table; a stored model has
    none); `one_hash_key` on a table with `keyed_hashes`."""
    checks: list[DeclaredCheck] = []
    if landed:
        checks += [non_empty(schema, table, what="records"), volume_anomaly(schema, table)]
    if reconciles_with is not None:
        checks += [reconciliation(schema, table, reconciles_with), reject_ratio(reconciles_with)]
        if optional_columns:
            checks.append(no_column_emptied(schema, table, optional_columns, landed_as=landed_as))
    if grain is not None:
        checks.append(
            unique_key(schema, table, grain, partitioned=partitioned, across_days=grain_across_days)
        )
    if grain and grain_across_days and reconciles_with is not None:
        if not landed_key:
            # Left out, the check went without a word (found by adding a domain).
            raise TypeError(
                f"{schema}.{table}: a landed table's key kept once over all days needs the "
                "fields that key is landed as, for its records_only_in_quarantine check: "
                "metadata={LANDED_KEY: list(<the RecordSpec>.landed_key)}"
            )
        keyed = KeyedTable(schema, table, tuple(grain), tuple(landed_key),
                           reconciles_with.path[-1], group)  # fmt: skip
        checks.append(records_only_in_quarantine(keyed))
    if expected_rows is not None:
        checks.append(row_count(schema, table, expected_rows))
    checks += [ratio_band(schema, table, band) for band in bands]
    if columns:
        checks.append(column_schema_change(schema, table))
    if keyed_hashes:
        checks.append(one_hash_key(schema, table, group))
    return checks
