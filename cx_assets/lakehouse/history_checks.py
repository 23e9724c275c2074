"""The checks that judge a table against its own past, read from the warehouse or from
Dagster's records: `volume_anomaly` (a day's landed records against the same weekday of
the weeks before) and `column_schema_change` (the columns of the latest materialization
against those an earlier run wrote). `table_checks.declared_checks` adds them."""

import statistics
from datetime import date, timedelta
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    DagsterInstance,
    Field,
    MetadataValue,
    TableSchema,
)

from cx_assets.lakehouse.checks import (
    COLUMN_SCHEMA_CHANGE,
    CONFIGURED_SEVERITY_BLOCKS,
    VOLUME_ANOMALY,
    CheckRun,
    DeclaredCheck,
    band_config,
)
from cx_assets.lakehouse.sql import qualified
from cx_assets.lakehouse.warehouse_tables import table_exists

# The volume check's defaults (WARN; each is run config on the check). The low end is
# above half: an export cut short at half its rows sat on an edge of 0.5 and passed, and
# so did a cut at 55%; generated days keep 0.72 or more of their weekday's median (calls
# at scale 0.02, the smallest judged), digital's growth 1.3 at most.
VOLUME_HISTORY_WEEKS = 4
VOLUME_MIN_HISTORY_WEEKS = 3
VOLUME_MIN_MEDIAN_ROWS = 100
VOLUME_LOW_FACTOR = 0.6
VOLUME_HIGH_FACTOR = 2.0


def volume_anomaly(
    schema: str,
    table: str,
    *,
    weeks: int = VOLUME_HISTORY_WEEKS,
    min_weeks: int = VOLUME_MIN_HISTORY_WEEKS,
    min_rows: int = VOLUME_MIN_MEDIAN_ROWS,
    low: float = VOLUME_LOW_FACTOR,
    high: float = VOLUME_HIGH_FACTOR,
) -> DeclaredCheck:
    """WARN (by default) when a day's landed records fall outside [low, high] × the median of
    the same weekday in the `weeks` weeks before it (sources have a weekly rhythm: a quiet
    Sunday is no anomaly). Quiet (passing) while fewer than `min_weeks` such days have
    records, or while that median is under `min_rows` (small counts swing by chance)."""

    def evaluate(run: CheckRun) -> AssetCheckResult:
        config, days = run.config, run.days
        counts: dict[date, int] = {}
        with run.warehouse.connect() as con:
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
        # The records judged and what they were judged against: `cx-lakehouse run` shows
        # the description alone.
        judged = "; ".join(
            f"{verdicts[day]['rows']} records on {day}, against a median of "
            f"{verdicts[day]['median']:g}"
            for day in outside
        )
        return AssetCheckResult(
            check_name=VOLUME_ANOMALY,
            passed=not outside,
            severity=config["severity"],
            description=(
                f"unusual volume: {judged} on that weekday over the {weeks} weeks before "
                f"({config['low']:g}-{config['high']:g}× expected)"
            )
            if outside
            else None,
            metadata={"rows_and_median_by_day": MetadataValue.json(verdicts)},
        )

    return DeclaredCheck(
        VOLUME_ANOMALY,
        f"A day's records of {schema}.{table} against the median of the same weekday over "
        f"the {weeks} weeks before. WARN by default outside [{low}, {high}] × that median "
        f"(run config); quiet with under {min_weeks} weeks of history or a median under "
        f"{min_rows} records.",
        evaluate,
        blocking=CONFIGURED_SEVERITY_BLOCKS,
        config={
            **band_config(low, high, share=False),
            "min_rows": Field(int, default_value=min_rows),
        },
    )


# At most this many materializations are read at a time while looking for the last one an
# earlier run wrote (a page holds the step's days and one more, so it is usually the only one).
MATERIALIZATIONS_PAGE = 32


def column_schema_change(schema: str, table: str) -> DeclaredCheck:
    """WARN when the columns (names and types) of the table's latest materialization are
    not those of the last one an earlier run wrote.

    Dagster's `build_column_schema_change_checks` compares the last two materializations,
    which after a range run are two days of that run, written with the same columns: a
    backfill that added a column never warned. And it is a step of its own, which waits for
    every table of the run; this one runs in the table's step, after Dagster has stored the
    step's materializations. The IO managers record each materialization's columns
    (`dagster/column_schema`)."""
    key = AssetKey([schema, table])

    def evaluate(run: CheckRun) -> AssetCheckResult:
        written = len(run.days) if run.days else 1  # a whole-history table writes one
        page = min(written + 1, MATERIALIZATIONS_PAGE)
        latest, earlier = _latest_and_earlier_run(run.instance, key, page)
        if latest is None or earlier is None:
            return AssetCheckResult(
                check_name=COLUMN_SCHEMA_CHANGE,
                passed=True,
                severity=AssetCheckSeverity.WARN,
                description="no materialization by an earlier run to compare with",
            )
        columns, before = (_column_schema(record) for record in (latest, earlier))
        if columns is None or before is None:
            which = "latest" if columns is None else "earlier run's"
            changes = [f"the {which} materialization has no column schema"]
        else:
            changes = _column_changes(before, columns)
        return AssetCheckResult(
            check_name=COLUMN_SCHEMA_CHANGE,
            passed=not changes,
            severity=AssetCheckSeverity.WARN,
            description="; ".join(changes) if changes else None,
            metadata={"compared_with_run": earlier.run_id},
        )

    return DeclaredCheck(
        COLUMN_SCHEMA_CHANGE,
        f"WARN when {schema}.{table}'s columns (names and types) differ from those its last "
        "materialization by an earlier run had.",
        evaluate,
        same_every_day=True,
    )


def _latest_and_earlier_run(
    instance: DagsterInstance, key: AssetKey, page_size: int
) -> tuple[Any, Any]:
    """The asset's latest materialization record, and the latest one another run wrote
    (None when there is none), read `page_size` at a time, newest first."""
    latest, cursor = None, None
    while True:
        page = instance.fetch_materializations(key, limit=max(page_size, 1), cursor=cursor)
        for record in page.records:
            if latest is None:
                latest = record
            elif record.run_id != latest.run_id:
                return latest, record
        if not page.has_more:
            return latest, None
        cursor = page.cursor


def _column_schema(record: Any) -> TableSchema | None:
    materialization = record.asset_materialization
    value = (materialization.metadata if materialization else {}).get("dagster/column_schema")
    return getattr(value, "schema", None)


def _column_changes(previous: TableSchema, latest: TableSchema) -> list[str]:
    """What changed, in words: added and removed columns, and changed types."""
    before = {column.name: column.type for column in previous.columns}
    after = {column.name: column.type for column in latest.columns}
    changes = []
    if added := [name for name in after if name not in before]:
        changes.append(f"added columns: {', '.join(added)}")
    if removed := [name for name in before if name not in after]:
        changes.append(f"removed columns: {', '.join(removed)}")
    if retyped := [
        f"{name} {before[name]} -> {after[name]}"
        for name in after
        if name in before and before[name] != after[name]
    ]:
        changes.append(f"column type changes: {', '.join(retyped)}")
    return changes
