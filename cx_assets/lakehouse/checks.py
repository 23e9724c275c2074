"""Asset-check builders every domain reuses.

Severities follow the contract: ERROR (and blocking, so nothing downstream builds on it)
for broken invariants: duplicate keys, a broken gold grain, bronze not reconciling with
silver plus quarantine. WARN for judgements of a day against expectations: empty days,
ratio bands. Bands and their severity are run config, so an operator can tune them from
the launchpad without a code change.

Partitioned checks evaluate the days of the run that materialized their asset (one day,
or the range of a single-run backfill).
"""

from collections.abc import Mapping, Sequence
from datetime import date

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    Enum,
    Field,
    MetadataValue,
    asset_check,
)

from cx_assets.lakehouse import quarantine
from cx_assets.lakehouse.partitions import PARTITION_COLUMN, daily_partitions, partition_dates
from cx_assets.lakehouse.resources import Lake
from cx_assets.lakehouse.warehouse import (
    Warehouse,
    count_rows,
    qualified,
    quote_identifier,
    sql_date,
    table_exists,
)

# Check names, as constants so tests and docs refer to the same thing.
NON_EMPTY = "non_empty"
RECONCILES_WITH_BRONZE = "bronze_reconciles_with_silver_and_quarantine"
UNIQUE_KEY = "unique_key"
ROW_COUNT = "row_count"


def _key(asset_key: Sequence[str]) -> AssetKey:
    return AssetKey(list(asset_key))


def _days_in(days: Sequence[date]) -> str:
    return (
        f"{PARTITION_COLUMN} IN ({', '.join(sql_date(day) for day in days)})" if days else "FALSE"
    )


def non_empty_check(asset_key: Sequence[str], *, what: str = "rows") -> AssetChecksDefinition:
    """WARN when a day has no rows: a source that delivered nothing is worth a look, not a
    failed run (downstream tables are still written, empty)."""
    schema, table = asset_key

    @asset_check(
        asset=_key(asset_key),
        name=NON_EMPTY,
        description=f"WARN when a day of {schema}.{table} has no {what}.",
        partitions_def=daily_partitions,
    )
    def _check(context: AssetCheckExecutionContext, warehouse: Warehouse) -> AssetCheckResult:
        days = partition_dates(context)
        with warehouse.connect() as con:
            counts = {day.isoformat(): count_rows(con, schema, table, [day]) for day in days}
        empty = [day for day, rows in counts.items() if rows == 0]
        return AssetCheckResult(
            passed=not empty,
            severity=AssetCheckSeverity.WARN,
            description=f"no {what} on {', '.join(empty)}" if empty else None,
            metadata={"rows_by_day": MetadataValue.json(counts), "empty_days": len(empty)},
        )

    return _check


def landing_checks(source: str, silver_table_of: Mapping[str, str]) -> list[AssetChecksDefinition]:
    """For each landed table of `source`: `non_empty` on its bronze table and the
    reconciliation of bronze with its silver table (`silver_table_of[table]`) and quarantine."""
    checks = []
    for table, silver_table in silver_table_of.items():
        bronze = ["bronze", f"{source}_{table}"]
        checks.append(non_empty_check(bronze, what="records"))
        checks.append(reconciliation_check(bronze, ["silver", silver_table], f"{source}_{table}"))
    return checks


def reconciliation_check(
    bronze_key: Sequence[str], silver_key: Sequence[str], quarantine_dataset: str
) -> AssetChecksDefinition:
    """ERROR unless every bronze record of a day is in silver or in quarantine, exactly once."""
    bronze_schema, bronze_table = bronze_key
    silver_schema, silver_table = silver_key

    @asset_check(
        asset=_key(silver_key),
        name=RECONCILES_WITH_BRONZE,
        description=f"ERROR unless rows of {bronze_schema}.{bronze_table} = rows of "
        f"{silver_schema}.{silver_table} + quarantined records, per day.",
        blocking=True,
        partitions_def=daily_partitions,
    )
    def _check(
        context: AssetCheckExecutionContext, warehouse: Warehouse, lake: Lake
    ) -> AssetCheckResult:
        days = partition_dates(context)
        by_day = {}
        with warehouse.connect() as con:
            for day in days:
                bronze_rows = count_rows(con, bronze_schema, bronze_table, [day])
                silver_rows = count_rows(con, silver_schema, silver_table, [day])
                quarantined = quarantine.count(
                    lake.layout.quarantine_dir, quarantine_dataset, [day]
                )
                by_day[day.isoformat()] = {
                    "bronze": bronze_rows,
                    "silver": silver_rows,
                    "quarantine": quarantined,
                    "unaccounted": bronze_rows - silver_rows - quarantined,
                }
        broken = {day: n for day, n in by_day.items() if n["unaccounted"] != 0}
        return AssetCheckResult(
            passed=not broken,
            severity=AssetCheckSeverity.ERROR,
            description=(f"bronze does not reconcile on {', '.join(broken)}" if broken else None),
            metadata={"by_day": MetadataValue.json(by_day)},
        )

    return _check


def unique_key_check(
    asset_key: Sequence[str], columns: Sequence[str], *, partitioned: bool = True
) -> AssetChecksDefinition:
    """ERROR when the table's grain is broken: a key appears more than once (per day for
    partitioned tables)."""
    schema, table = asset_key
    key_columns = ([PARTITION_COLUMN] if partitioned else []) + list(columns)
    key_sql = ", ".join(quote_identifier(column) for column in key_columns)

    def evaluate(days: Sequence[date] | None, warehouse: Warehouse) -> AssetCheckResult:
        where = "TRUE" if days is None else _days_in(days)
        with warehouse.connect() as con:
            if not table_exists(con, schema, table):
                return AssetCheckResult(
                    passed=False, description=f"{schema}.{table} does not exist"
                )
            duplicates = con.execute(
                f"SELECT count(*), coalesce(sum(n), 0) FROM ("
                f"  SELECT count(*) AS n FROM {qualified(schema, table)} WHERE {where}"
                f"  GROUP BY {key_sql} HAVING count(*) > 1)"
            ).fetchall()[0]
        duplicate_keys, rows_involved = int(duplicates[0]), int(duplicates[1])
        return AssetCheckResult(
            passed=duplicate_keys == 0,
            severity=AssetCheckSeverity.ERROR,
            description=(
                f"{duplicate_keys} keys ({', '.join(key_columns)}) repeat"
                if duplicate_keys
                else None
            ),
            metadata={"duplicate_keys": duplicate_keys, "rows_with_duplicate_keys": rows_involved},
        )

    description = f"ERROR when ({', '.join(key_columns)}) is not unique in {schema}.{table}."
    if partitioned:

        @asset_check(
            asset=_key(asset_key),
            name=UNIQUE_KEY,
            description=description,
            blocking=True,
            partitions_def=daily_partitions,
        )
        def _partitioned(context: AssetCheckExecutionContext, warehouse: Warehouse):
            return evaluate(partition_dates(context), warehouse)

        return _partitioned

    @asset_check(asset=_key(asset_key), name=UNIQUE_KEY, description=description, blocking=True)
    def _whole(warehouse: Warehouse):
        return evaluate(None, warehouse)

    return _whole


def row_count_check(asset_key: Sequence[str], expected: int) -> AssetChecksDefinition:
    """ERROR unless a whole-history table has exactly `expected` rows (a fixed grain)."""
    schema, table = asset_key

    @asset_check(
        asset=_key(asset_key),
        name=ROW_COUNT,
        description=f"ERROR unless {schema}.{table} has exactly {expected} rows.",
        blocking=True,
    )
    def _check(warehouse: Warehouse) -> AssetCheckResult:
        with warehouse.connect() as con:
            rows = count_rows(con, schema, table)
        return AssetCheckResult(
            passed=rows == expected,
            severity=AssetCheckSeverity.ERROR,
            metadata={"rows": rows, "expected": expected},
        )

    return _check


def ratio_band_check(
    asset_key: Sequence[str],
    *,
    name: str,
    ratio_sql: str,
    low: float,
    high: float,
    description: str,
) -> AssetChecksDefinition:
    """WARN (by default) when a day's ratio leaves [low, high].

    `ratio_sql` selects `date` and `ratio` for the days in `{days}` (a SQL predicate on
    the partition column); days whose ratio is null (nothing to divide) are skipped.
    """

    @asset_check(
        asset=_key(asset_key),
        name=name,
        description=f"{description} WARN by default outside [{low}, {high}] (run config).",
        partitions_def=daily_partitions,
        config_schema={
            "low": Field(float, default_value=low),
            "high": Field(float, default_value=high),
            "severity": Field(Enum.from_python_enum(AssetCheckSeverity), default_value="WARN"),
        },
    )
    def _check(context: AssetCheckExecutionContext, warehouse: Warehouse) -> AssetCheckResult:
        config = context.op_execution_context.op_config
        band_low, band_high = config["low"], config["high"]
        days = partition_dates(context)
        with warehouse.connect() as con:
            rows = con.execute(ratio_sql.format(days=_days_in(days))).fetchall()
        ratios = {row[0].isoformat(): row[1] for row in rows}
        outside = {
            day: ratio
            for day, ratio in ratios.items()
            if ratio is not None and not band_low <= ratio <= band_high
        }
        return AssetCheckResult(
            passed=not outside,
            severity=config["severity"],
            description=(
                f"outside [{band_low}, {band_high}] on {', '.join(outside)}" if outside else None
            ),
            metadata={
                "ratio_by_day": MetadataValue.json(ratios),
                "low": band_low,
                "high": band_high,
            },
        )

    return _check
