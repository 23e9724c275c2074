"""Asset checks, built from what each asset declares (`lake_asset(grain=, row_count=,
bands=, reconciles_with=)`, and every bronze asset), so a check sits next to its table's
declaration and never names a table by string.

Severities follow the contract: ERROR (and blocking, so nothing downstream builds on it)
for broken invariants: duplicate keys, a broken gold grain, bronze not reconciling with
silver plus quarantine. WARN for judgements of a day against expectations: empty days,
ratio bands. Bands and their severity are run config, so an operator can tune them from
the launchpad without a code change.

Partitioned checks evaluate the days of the run that materialized their asset (one day,
or the range of a single-run backfill).
"""

import statistics
from collections.abc import Sequence
from datetime import date, timedelta

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    AssetsDefinition,
    Enum,
    Field,
    MetadataValue,
    asset_check,
)

from cx_assets.lakehouse import quarantine
from cx_assets.lakehouse.assets import (
    BANDS,
    GRAIN,
    RECONCILES_WITH,
    ROW_COUNT,
    Band,
    landed_table,
    metadata_value,
)
from cx_assets.lakehouse.partitions import PARTITION_COLUMN, daily_partitions, partition_dates
from cx_assets.lakehouse.resources import Lake
from cx_assets.lakehouse.sql import in_days, in_days_param, qualified, quote_identifier
from cx_assets.lakehouse.warehouse import Warehouse, count_rows, table_exists

# Check names, as constants so tests and docs refer to the same thing.
NON_EMPTY = "non_empty"
RECONCILES_WITH_BRONZE = "bronze_reconciles_with_silver_and_quarantine"
UNIQUE_KEY = "unique_key"
ROW_COUNT_CHECK = "row_count"
REJECT_RATIO = "reject_ratio"
VOLUME_ANOMALY = "volume_anomaly"

# Defaults of the judgement checks (WARN; each is run config on its check).
MAX_REJECT_RATIO = 0.001
VOLUME_HISTORY_WEEKS = 4
VOLUME_MIN_HISTORY_WEEKS = 3
VOLUME_MIN_MEDIAN_ROWS = 100
VOLUME_LOW_FACTOR = 0.5
VOLUME_HIGH_FACTOR = 2.0


def _table(asset_def: AssetsDefinition) -> tuple[str, str]:
    schema, table = asset_def.key.path
    return schema, table


def _is_partitioned(asset_def: AssetsDefinition) -> bool:
    return asset_def.partitions_def is not None


def non_empty_check(asset_def: AssetsDefinition, *, what: str = "rows") -> AssetChecksDefinition:
    """WARN when a day has no rows: a source that delivered nothing is worth a look, not a
    failed run (downstream tables are still written, empty)."""
    schema, table = _table(asset_def)

    @asset_check(
        asset=asset_def,
        name=NON_EMPTY,
        description=f"WARN when a day of {schema}.{table} has no {what}.",
        partitions_def=daily_partitions,
    )
    def non_empty(context: AssetCheckExecutionContext, warehouse: Warehouse) -> AssetCheckResult:
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

    return non_empty


def reconciliation_check(silver: AssetsDefinition, bronze_key: AssetKey) -> AssetChecksDefinition:
    """ERROR unless every bronze record of a day is in silver or in quarantine, exactly once."""
    bronze_schema, bronze_table = bronze_key.path
    silver_schema, silver_table = _table(silver)

    @asset_check(
        asset=silver,
        name=RECONCILES_WITH_BRONZE,
        description=f"ERROR unless rows of {bronze_schema}.{bronze_table} = rows of "
        f"{silver_schema}.{silver_table} + quarantined records, per day.",
        blocking=True,
        partitions_def=daily_partitions,
    )
    def reconciles(
        context: AssetCheckExecutionContext, warehouse: Warehouse, lake: Lake
    ) -> AssetCheckResult:
        by_day = {}
        with warehouse.connect() as con:
            for day in partition_dates(context):
                bronze_rows = count_rows(con, bronze_schema, bronze_table, [day])
                silver_rows = count_rows(con, silver_schema, silver_table, [day])
                # The quarantine dataset of a landed table is named after its bronze table.
                quarantined = quarantine.count(lake.layout.quarantine_dir, bronze_table, [day])
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

    return reconciles


def _band_config(low: float, high: float) -> dict[str, Field]:
    return {
        "low": Field(float, default_value=low),
        "high": Field(float, default_value=high),
        "severity": Field(Enum.from_python_enum(AssetCheckSeverity), default_value="WARN"),
    }


def reject_ratio_check(
    silver: AssetsDefinition, bronze_key: AssetKey, *, high: float = MAX_REJECT_RATIO
) -> AssetChecksDefinition:
    """WARN (by default) when a day quarantines more than `high` of its landed records: a
    few bad records are expected and kept apart, a rising share means a source changed."""
    bronze_schema, bronze_table = bronze_key.path

    @asset_check(
        asset=silver,
        name=REJECT_RATIO,
        description=f"Share of a day's {bronze_schema}.{bronze_table} records quarantined. "
        f"WARN by default above {high} (run config).",
        partitions_def=daily_partitions,
        config_schema=_band_config(0.0, high),
    )
    def reject_ratio(
        context: AssetCheckExecutionContext, warehouse: Warehouse, lake: Lake
    ) -> AssetCheckResult:
        config = context.op_execution_context.op_config
        ratios: dict[str, float | None] = {}
        with warehouse.connect() as con:
            for day in partition_dates(context):
                landed = count_rows(con, bronze_schema, bronze_table, [day])
                quarantined = quarantine.count(lake.layout.quarantine_dir, bronze_table, [day])
                ratios[day.isoformat()] = quarantined / landed if landed else None
        outside = {
            day: ratio
            for day, ratio in ratios.items()
            if ratio is not None and not config["low"] <= ratio <= config["high"]
        }
        return AssetCheckResult(
            passed=not outside,
            severity=config["severity"],
            description=(
                f"{', '.join(f'{d}: {r:.2%}' for d, r in outside.items())} quarantined"
                if outside
                else None
            ),
            metadata={"reject_ratio_by_day": MetadataValue.json(ratios), "high": config["high"]},
        )

    return reject_ratio


def volume_anomaly_check(
    bronze: AssetsDefinition,
    *,
    weeks: int = VOLUME_HISTORY_WEEKS,
    min_weeks: int = VOLUME_MIN_HISTORY_WEEKS,
    min_rows: int = VOLUME_MIN_MEDIAN_ROWS,
    low: float = VOLUME_LOW_FACTOR,
    high: float = VOLUME_HIGH_FACTOR,
) -> AssetChecksDefinition:
    """WARN (by default) when a day's landed records fall outside [low, high] × the median of
    the same weekday in the `weeks` weeks before it (sources have a weekly rhythm: a quiet
    Sunday is no anomaly). Quiet (passing) while fewer than `min_weeks` such days have
    records, or while that median is under `min_rows` (small counts swing by chance)."""
    schema, table = _table(bronze)

    @asset_check(
        asset=bronze,
        name=VOLUME_ANOMALY,
        description=f"A day's records of {schema}.{table} against the median of the same "
        f"weekday over the {weeks} weeks before. WARN by default outside [{low}, {high}] × "
        f"that median (run config); quiet with under {min_weeks} weeks of history or a "
        f"median under {min_rows} records.",
        partitions_def=daily_partitions,
        config_schema={
            **_band_config(low, high),
            "min_rows": Field(int, default_value=min_rows),
        },
    )
    def volume_anomaly(
        context: AssetCheckExecutionContext, warehouse: Warehouse
    ) -> AssetCheckResult:
        config = context.op_execution_context.op_config
        days = partition_dates(context)
        counts: dict[date, int] = {}
        with warehouse.connect() as con:
            if table_exists(con, schema, table):
                rows = con.execute(
                    f"SELECT date, count(*) FROM {qualified(schema, table)} "
                    f"WHERE date BETWEEN ? AND ? GROUP BY date",
                    [days[0] - timedelta(weeks=weeks), days[-1]],
                ).fetchall()
                counts = {day: int(n) for day, n in rows}
        verdicts: dict[str, dict[str, float | int | None]] = {}
        outside = []
        for day in days:
            history = [
                counts[earlier]
                for back in range(1, weeks + 1)
                if counts.get(earlier := day - timedelta(weeks=back))
            ]
            median = float(statistics.median(history)) if len(history) >= min_weeks else None
            rows_today = counts.get(day, 0)
            verdicts[day.isoformat()] = {"rows": rows_today, "median": median}
            if median is None or median < config["min_rows"]:
                continue
            if not config["low"] * median <= rows_today <= config["high"] * median:
                outside.append(day.isoformat())
        return AssetCheckResult(
            passed=not outside,
            severity=config["severity"],
            description=f"unusual volume on {', '.join(outside)}" if outside else None,
            metadata={"rows_and_median_by_day": MetadataValue.json(verdicts)},
        )

    return volume_anomaly


def _unique_key_result(
    warehouse: Warehouse,
    schema: str,
    table: str,
    key_columns: Sequence[str],
    days: Sequence[date] | None,
) -> AssetCheckResult:
    # No key columns: the whole table (or day) is one key, so it holds at most one row.
    group_by = (
        f"GROUP BY {', '.join(quote_identifier(c) for c in key_columns)}" if key_columns else ""
    )
    where, params = ("TRUE", []) if days is None else (in_days_param(len(days)), list(days))
    with warehouse.connect() as con:
        if not table_exists(con, schema, table):
            return AssetCheckResult(passed=False, description=f"{schema}.{table} does not exist")
        duplicate_keys, rows_involved = con.execute(
            f"SELECT count(*), coalesce(sum(n), 0) FROM ("
            f"  SELECT count(*) AS n FROM {qualified(schema, table)} WHERE {where}"
            f"  {group_by} HAVING count(*) > 1)",
            params,
        ).fetchall()[0]
    return AssetCheckResult(
        passed=duplicate_keys == 0,
        severity=AssetCheckSeverity.ERROR,
        description=(
            f"{duplicate_keys} keys ({', '.join(key_columns)}) repeat" if duplicate_keys else None
        ),
        metadata={
            "duplicate_keys": int(duplicate_keys),
            "rows_with_duplicate_keys": int(rows_involved),
        },
    )


def unique_key_check(asset_def: AssetsDefinition, columns: Sequence[str]) -> AssetChecksDefinition:
    """ERROR when the table's grain is broken: a key appears more than once (per day for
    partitioned tables; a per-day table with no key columns has one row a day)."""
    schema, table = _table(asset_def)
    partitioned = _is_partitioned(asset_def)
    key_columns = ([PARTITION_COLUMN] if partitioned else []) + list(columns)
    description = f"ERROR when ({', '.join(key_columns)}) is not unique in {schema}.{table}."
    if partitioned:

        @asset_check(
            asset=asset_def,
            name=UNIQUE_KEY,
            description=description,
            blocking=True,
            partitions_def=daily_partitions,
        )
        def unique_key_per_day(context: AssetCheckExecutionContext, warehouse: Warehouse):
            return _unique_key_result(
                warehouse, schema, table, key_columns, partition_dates(context)
            )

        return unique_key_per_day

    @asset_check(asset=asset_def, name=UNIQUE_KEY, description=description, blocking=True)
    def unique_key(warehouse: Warehouse):
        return _unique_key_result(warehouse, schema, table, key_columns, None)

    return unique_key


def row_count_check(asset_def: AssetsDefinition, expected: int) -> AssetChecksDefinition:
    """ERROR unless a whole-history table has exactly `expected` rows (a fixed grain)."""
    schema, table = _table(asset_def)

    @asset_check(
        asset=asset_def,
        name=ROW_COUNT_CHECK,
        description=f"ERROR unless {schema}.{table} has exactly {expected} rows.",
        blocking=True,
    )
    def row_count(warehouse: Warehouse) -> AssetCheckResult:
        with warehouse.connect() as con:
            rows = count_rows(con, schema, table)
        return AssetCheckResult(
            passed=rows == expected,
            severity=AssetCheckSeverity.ERROR,
            description=None if rows == expected else f"{rows} rows, expected {expected}",
            metadata={"rows": rows, "expected": expected},
        )

    return row_count


def ratio_band_check(asset_def: AssetsDefinition, band: Band) -> AssetChecksDefinition:
    """WARN (by default) when a day's ratio leaves [low, high]; days whose ratio is null
    (nothing to divide) are skipped."""
    table = qualified(*_table(asset_def))

    @asset_check(
        asset=asset_def,
        name=band.name,
        description=f"{band.description} WARN by default outside [{band.low}, {band.high}] "
        "(run config).",
        partitions_def=daily_partitions,
        config_schema=_band_config(band.low, band.high),
    )
    def ratio_in_band(context: AssetCheckExecutionContext, warehouse: Warehouse):
        config = context.op_execution_context.op_config
        low, high = config["low"], config["high"]
        sql = band.ratio_sql.format(table=table, days=in_days(partition_dates(context)))
        with warehouse.connect() as con:
            rows = con.execute(sql).fetchall()
        ratios = {row[0].isoformat(): row[1] for row in rows}
        outside = {
            day: ratio
            for day, ratio in ratios.items()
            if ratio is not None and not low <= ratio <= high
        }
        return AssetCheckResult(
            passed=not outside,
            severity=config["severity"],
            description=f"outside [{low}, {high}] on {', '.join(outside)}" if outside else None,
            metadata={"ratio_by_day": MetadataValue.json(ratios), "low": low, "high": high},
        )

    return ratio_in_band


def declared_checks(assets: Sequence[AssetsDefinition]) -> list[AssetChecksDefinition]:
    """Every check the assets declare: `non_empty` and `volume_anomaly` on each bronze
    asset; reconciliation and reject ratio on each silver table of a landed table; unique
    key, row count and ratio bands where `lake_asset` declared them."""
    checks: list[AssetChecksDefinition] = []
    for asset_def in assets:
        metadata = asset_def.metadata_by_key[asset_def.key]
        if landed_table(asset_def):
            checks.append(non_empty_check(asset_def, what="records"))
            checks.append(volume_anomaly_check(asset_def))
        bronze = metadata_value(metadata, RECONCILES_WITH)
        if bronze:
            checks.append(reconciliation_check(asset_def, AssetKey.from_user_string(bronze)))
            checks.append(reject_ratio_check(asset_def, AssetKey.from_user_string(bronze)))
        grain = metadata_value(metadata, GRAIN)
        if grain is not None:
            checks.append(unique_key_check(asset_def, grain))
        expected_rows = metadata_value(metadata, ROW_COUNT)
        if expected_rows is not None:
            checks.append(row_count_check(asset_def, expected_rows))
        for band in metadata_value(metadata, BANDS, []):
            checks.append(ratio_band_check(asset_def, Band(**band)))
    return checks
