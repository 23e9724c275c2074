"""One IO manager per storage; an asset picks its storage by `io_manager_key`, and the
layer → storage table below (`LAYER_STORAGE`) is the one the asset decorator and the
conventions test read.

- `BronzeParquetIOManager`: landed records as they came, streamed to Parquet
  (`bronze/<table>/date=D/`, one zstd file per day) behind the view `bronze.<table>`. Raw
  text is most of a day's bytes; DuckDB's own string compression costs ~4x pyarrow's zstd.
- `WarehouseIOManager`: tables in the warehouse (`layer.table`), written by
  `warehouse.replace_rows` (one transaction per step, or per chunk of a `DayTables` output,
  by column name).
- `GoldIOManager` (`gold_io_manager.py`): the warehouse, plus Parquet for analysts written
  from the same Arrow table that was inserted (`gold/<table>/date=D/data.parquet` per
  partition, `gold/<table>/data.parquet` for whole-history tables), never read back.
- `ModelStoreIOManager` (`model_store.py`): trained models as joblib files
  (`models/<name>/[date=D/]model.joblib`).

A partitioned step that computes its rows a day at a time (a range run of a silver step)
returns `DayTables`: an iterator of (days, Arrow table) chunks the warehouse IO manager
consumes one at a time, replacing each chunk's days in its own transaction, so a 14-day
run holds one day in memory; metadata known only once every chunk is computed (counts of
quarantined records) is added then.

A whole-history asset whose rows still belong to days (support tickets under the day they
were created, rebuilt when a later day re-delivers them) returns `DayRows`: the warehouse
replaces only the days it names, and gold publishes them as `date=D/` folders like a
partitioned table.

Table inputs are *not* loaded into memory: a downstream asset receives a `TableRef` naming
the table and the partition days its `AssetIn` lets it read, and does its set-based work in
DuckDB. The `Warehouse` resource, `replace_rows` and `TableRef` are the one seam to the
warehouse's backend.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from dagster import (
    AssetKey,
    ConfigurableIOManager,
    DagsterInstance,
    Failure,
    InputContext,
    OutputContext,
    TableColumn,
    TableSchema,
)

from cx_assets.lakehouse import parquet, written_days
from cx_assets.lakehouse.bronze_views import create_bronze_view
from cx_assets.lakehouse.early_bronze import EarlyRead
from cx_assets.lakehouse.inputs import reads_its_own_days
from cx_assets.lakehouse.partitions import (
    PARTITION_COLUMN,
    dates_between,
    day_span,
    partition_dates,
    window_dates,
)
from cx_assets.lakehouse.settings import DataLayout
from cx_assets.lakehouse.sql import date_literal, in_days, qualified
from cx_assets.lakehouse.warehouse import Warehouse, as_arrow, create_schema, replace_rows
from cx_assets.lakehouse.warehouse_tables import count_rows, table_columns, table_exists

# Layer (the first element of an asset key) → the resource key of its storage.
LAYER_STORAGE = {
    "bronze": "bronze_io_manager",
    "silver": "warehouse_io_manager",
    "gold": "gold_io_manager",
    "model": "model_io_manager",
}


@dataclass(frozen=True)
class TableRef:
    """A warehouse table and the partition days a reader may use (None: all of it)."""

    schema: str
    table: str
    first: date | None = None
    last: date | None = None

    @property
    def name(self) -> str:
        return qualified(self.schema, self.table)

    @property
    def where(self) -> str:
        if self.first is None or self.last is None:
            return "TRUE"
        if self.first > self.last:
            return "FALSE"
        return (
            f"{PARTITION_COLUMN} BETWEEN {date_literal(self.first)} AND {date_literal(self.last)}"
        )

    @property
    def rows(self) -> str:
        """A subquery of the readable rows, to use in FROM."""
        return f"(SELECT * FROM {self.name} WHERE {self.where})"


@dataclass(frozen=True)
class DayRows:
    """What a whole-history (unpartitioned) asset returns when its rows belong to days, e.g.
    a ticket to the day it was created: `rows` (with a `date` column) replace exactly `days`
    in the warehouse, and gold publishes each of those days as a `date=D/` folder (a day
    without rows gets an empty file, but for the days of `removed`, whose folders gold
    removes: days no run materialized that no longer hold a row). `days=None` replaces the
    whole table, and gold removes the day folders no longer in it."""

    rows: pd.DataFrame | pa.Table
    days: Sequence[date] | None = None
    removed: Sequence[date] = ()


@dataclass
class DayTables:
    """What a partitioned step returns when it computes its rows a chunk of days at a time:
    `chunks` yields (days, rows) with every day of the step exactly once, each chunk's rows
    replacing those days; `metadata` is complete once `chunks` is exhausted."""

    chunks: Iterable[tuple[Sequence[date], pa.Table]]
    metadata: dict[str, Any] = field(default_factory=dict)


def table_of(context: OutputContext | InputContext) -> tuple[str, str]:
    layer, table = context.asset_key.path[-2:]
    return layer, table


def output_dates(context: OutputContext) -> list[date] | None:
    if not context.has_asset_partitions:
        return None
    return window_dates(context.asset_partitions_time_window)


def _table_ref(context: InputContext, warehouse: Warehouse) -> TableRef:
    layer, table = table_of(context)
    if context.has_asset_partitions:
        _say_earlier_days_not_built(context, warehouse)
        first, last = _window_ends(context)
        if first > last:  # a window with no day in it, e.g. the days before the first one
            return TableRef(layer, table, date.max, date.min)
        _require_built_days(context, first, last, warehouse)
        return TableRef(layer, table, first, last)
    return TableRef(layer, table)


# The steps that have looked for earlier days never built (`_say_earlier_days_not_built`):
# once a step, whichever of its inputs loads first.
_looked_for_earlier_days: set[tuple[str, str]] = set()


def _say_earlier_days_not_built(context: InputContext, warehouse: Warehouse) -> None:
    """Warn, once a step, of the days before the step's first that it reads (a window of
    days before, or every day as of its own) of a table never built for them, though their
    files landed: it reads them as days with no rows. `cx-lakehouse run` names them in its
    summary (`staleness.earlier_days_not_built`); a run started by Dagster's own CLI or the
    UI said nothing (seen walking every asset through `dagster asset materialize`). The
    landing sensors' runs build every landed day and are not looked at."""
    try:
        step = context.step_context
    except Exception:  # a context built by hand, outside a run
        return
    run = step.dagster_run
    partitions = step.assets_def.partitions_def if step.assets_def is not None else None
    if "cx/trigger" in run.tags or partitions is None or not step.has_partitions:
        return
    looked = (run.run_id, step.step.key)
    if looked in _looked_for_earlier_days:
        return
    _looked_for_earlier_days.add(looked)
    from cx_assets.lakehouse.landing import landed_days
    from cx_assets.lakehouse.staleness import earlier_days_not_built

    landing_dir = DataLayout(warehouse.data_dir).landing_dir
    own = partition_dates(step)
    start = partitions.start.date().isoformat()

    def never_built(key: AssetKey, days: list[str]) -> list[str]:
        found = days_never_built(
            context.instance, warehouse, key, [date.fromisoformat(day) for day in days]
        )
        return [day.isoformat() for day in found]

    try:
        found = earlier_days_not_built(
            step.job_def.asset_layer.asset_graph,
            step.assets_def.keys,
            own[0].isoformat(),
            start,
            functools.partial(landed_days, landing_dir),
            never_built,
        )
    except Exception as error:  # a notice never fails the step it is about
        context.log.warning(f"could not tell the earlier days never built it reads: {error}")
        return
    for earlier in found:
        days, them = (
            (f"1 day, {earlier.days[0]}, landed but was never built", "it as a day")
            if len(earlier.days) == 1
            else (
                f"{len(earlier.days)} days from {day_span(earlier.days)} landed but were "
                "never built",
                "them as days",
            )
        )
        context.log.warning(
            f"earlier days not built: {earlier.group}, {days}, and "
            f"{', '.join(earlier.tables)} reads {them} with no rows. Build "
            f"{them.split()[0]} with:\n  {earlier.command(own[-1].isoformat())}"
        )


def _window_ends(context: InputContext) -> tuple[date, date]:
    """The first and last day of an input's window (first after last when it has none),
    from its key range: listing its keys instead cost 3-5 ms for a whole-history input
    (about a thousand days), 57 ms of a digital day."""
    try:
        key_range = context.asset_partition_key_range
    except Exception:  # Dagster fails unless the window is one range: none, or (never ours) two
        days = sorted(date.fromisoformat(key) for key in context.asset_partition_keys)
        return (days[0], days[-1]) if days else (date.max, date.min)
    return date.fromisoformat(key_range.start), date.fromisoformat(key_range.end)


# The tag Dagster puts on the runs of a backfill.
BACKFILL_TAG = "dagster/backfill"


def days_never_built(
    instance: DagsterInstance, warehouse: Warehouse, key: AssetKey, days: Sequence[date]
) -> list[date]:
    """Of `days`, those table `key` was never built for: a bronze day without its Parquet
    file and never materialized in `instance`; a silver or gold day the warehouse neither
    records in `written_days` nor holds rows of, whatever `instance` remembers (written
    under another instance, such as a throwaway one of Dagster's own CLI without
    `DAGSTER_HOME`, it is built; in a warehouse deleted, or restored from a backup taken
    before the day was built, it is not, though Dagster's history says it was). A table the
    record knows no day of was written before the record existed: there, a day Dagster
    materialized is built too. A day built empty (nothing landed) is built. One answer for
    the step reading the table (`_require_built_days`) and `cx-lakehouse run` before it
    starts (`RunPlan.require_built_days`): the command refused days the step would read."""
    if not days:
        return []
    layer, table = key.path[-2:]
    if layer == "bronze":  # every day written has its file, an empty one for no records
        materialized = instance.get_materialized_partitions(key)
        unrecorded = [day for day in days if day.isoformat() not in materialized]
        dataset = DataLayout(warehouse.data_dir).bronze_dir / table
        written = {
            day
            for day in unrecorded
            if (parquet.partition_folder(dataset, day) / parquet.DATA_FILE).exists()
        }
        return [day for day in unrecorded if day not in written]
    with warehouse.connect() as con:
        held = written_days.days_written(con, f"{layer}.{table}", days)
        if len(held) == len(days):
            return []
        if table_exists(con, layer, table):
            held |= {
                row[0]
                for row in con.execute(
                    f"SELECT DISTINCT date FROM {qualified(layer, table)} WHERE {in_days(days)}"
                ).fetchall()
            }
            if not written_days.any_day_written(con, f"{layer}.{table}"):
                materialized = instance.get_materialized_partitions(key)
                held |= {day for day in days if day.isoformat() in materialized}
    return [day for day in days if day not in held]


def _require_built_days(
    context: InputContext, first: date, last: date, warehouse: Warehouse
) -> None:
    """Fail the step when it reads its own days of a table that this run does not build and
    that was never built for those days. The UI's Materialize on one partition of a gold
    table whose silver day was never run wrote that day's gold from no rows, every check
    passing, where the truth was "not loaded". (`cx-lakehouse run` refuses such a selection
    before it starts: `RunPlan.require_built_days`.) Built as `days_never_built` tells it.
    Inputs of other days (the days before) and of whole history read what has been built,
    as intended; a window of the days before and the step's own (`with_days_before`:
    digital's leakage calls and summary) is held to its own days, which it wrote from no
    rows too (seen in an audit, through `dagster asset materialize` of a day never run)."""
    try:
        step = context.step_context
    except Exception:  # a context built by hand, outside a run
        return
    if _built_by_this_run(context, step) or not step.has_partitions or _checks_only(step):
        return
    if context.asset_partitions_time_window != step.partition_time_window:
        mapping = (
            step.assets_def.get_partition_mapping(context.asset_key) if step.assets_def else None
        )
        if not reads_its_own_days(mapping):
            return  # all days, or days before: whatever has been built
        own_days = partition_dates(step)  # of a window with days before, the step's own
        first, last = max(first, own_days[0]), min(last, own_days[-1])
    days = dates_between(first, last)
    if missing := days_never_built(context.instance, warehouse, context.asset_key, days):
        more = len(missing) - 1
        also = f" (and {more} more day{'s' if more > 1 else ''})" if more else ""
        backfill = step.dagster_run.tags.get(BACKFILL_TAG)
        raise Failure(
            f"{context.asset_key.to_user_string()} was never built for {missing[0]}{also}: "
            "materialize it for those days first, or together with this asset (reading it "
            "now would write this asset from no rows)"
            + (
                f". This run is part of backfill {backfill}: a backfill launched from the "
                "asset graph carries its days through an input of every earlier day to every "
                "later day, days never landed included; run the days from the "
                "daily_partitions job instead (its Partitions tab: one day or a range), as "
                "`cx-lakehouse run --date --to` does"
                if backfill and more
                else ""
            )
        )


def _built_by_this_run(context: InputContext, step: Any) -> bool:
    """Whether the run of `step` builds the table `context` reads, before this step: its job
    (the run's selection of assets, or every asset of the job run whole) holds it and the
    run executes its step. A run re-executed from chosen steps (the UI's re-execution of a failed run)
    selects every asset of its parent run but executes only those steps: a table whose step
    failed in the parent run was taken as built, its reader's query failed in DuckDB's
    "Catalog Error", and a reader of the same day wrote it from no rows."""
    if context.asset_key not in step.job_def.asset_layer.selected_asset_keys:
        return False
    steps = step.dagster_run.step_keys_to_execute
    if steps is None:
        return True
    upstream = context.upstream_output
    return upstream is not None and upstream.step_key in steps


def _checks_only(step: Any) -> bool:
    """Whether `step` runs its table's checks alone (the UI's "Execute checks"): it writes
    nothing from its inputs, so none is refused; each check judges the table as stored, or
    fails naming it when it was never built for the day (`assets._table_never_built`)."""
    return step.assets_def is not None and not step.assets_def.keys


def _require_table(context: InputContext, ref: TableRef, warehouse: Warehouse) -> None:
    """Fail the step when a table it reads from outside its run was never built at all: an
    input of every day built (`all_days`) or a whole-history one failed in DuckDB's "Catalog
    Error: Table with name ... does not exist", deep in the step's query (seen through
    `dagster asset materialize` of silver/crm_interactions before its contact versions, of
    gold/crm_churn_risk before the rollups it reads). Bronze inputs are left to their
    readers, which take a table never landed as no rows. A table this run builds is not
    looked up: it exists by the time its readers start."""
    try:
        step = context.step_context
    except Exception:  # a context built by hand, outside a run
        return
    if _built_by_this_run(context, step) or _checks_only(step):
        return
    with warehouse.connect() as con:
        if table_exists(con, ref.schema, ref.table):
            return
    raise Failure(
        f"{context.asset_key.to_user_string()} was never built: materialize it first, or "
        f"together with this asset (the warehouse holds no table {ref.schema}.{ref.table})"
    )


def _written_days_record(
    con, context: OutputContext, layer: str, table: str, days: Sequence[date] | None
) -> Callable[[Any], None] | None:
    """What records the days a date-grained table writes (and, where it declares keyed
    hashes, `lake_asset(keyed_hashes=True)`, the run's `CX_HASH_KEY`), in the write's own
    transaction (see `written_days`); None for a whole table."""
    if not days:
        return None
    # Plain or in a MetadataValue, read as `assets.metadata_value` reads a declaration (which
    # this module cannot import: `assets` imports it).
    declared = context.definition_metadata.get(written_days.KEYED_HASHES)
    key = written_days.key_id() if getattr(declared, "value", declared) else None
    written_days.ensure_table(con)
    return functools.partial(written_days.record, table=f"{layer}.{table}", days=days, key=key)


def _column_schema(context: OutputContext, columns: list[tuple[str, str]]) -> TableSchema:
    """The stored table's real columns and types, with the descriptions the asset declared."""
    declared = context.definition_metadata.get("dagster/column_schema")
    descriptions = {}
    if isinstance(declared, TableSchema):
        descriptions = {column.name: column.description for column in declared.columns}
    descriptions.setdefault(PARTITION_COLUMN, "Partition day (UTC).")
    return TableSchema(
        columns=[
            TableColumn(name=name, type=sql_type, description=descriptions.get(name))
            for name, sql_type in columns
        ]
    )


def rows_by_day(rows: pa.Table, days: Sequence[date]) -> dict[date, int]:
    """How many of `rows` each of `days` has (0 for a day without rows)."""
    counted = dict.fromkeys(days, 0)
    if rows.num_rows:
        for entry in pc.value_counts(rows[PARTITION_COLUMN]).to_pylist():
            counted[entry["values"]] = entry["counts"]
    return counted


def _add_day_row_counts(
    context: OutputContext, counts: Mapping[date, int], table_rows: int | None
) -> None:
    """Each day's own row count on its materialization (`dagster/partition_row_count`), and
    the whole table's (`dagster/row_count`, as Dagster defines it: the UI shows it as the
    asset's "Row count"). Dagster gives every day of a range run the output's metadata, so
    each day showed the whole range's rows (600 calls on a day that had none); the day's
    rows as the row count then showed a table of 4,000 rows as "Row count 0" after an
    empty day."""
    try:
        step = context.step_context
    except Exception:  # a context built by hand, outside a run
        return
    for day, rows in counts.items():
        step.add_asset_metadata(
            {"dagster/partition_row_count": rows}
            | ({} if table_rows is None else {"dagster/row_count": table_rows}),
            asset_key=context.asset_key,
            partition_key=day.isoformat(),
        )


def _bronze_rows(con, table: str) -> int | None:
    """Every day's records of a bronze table (its Parquet footers: ~30 ms for a year of
    days); None when a file of another day cannot be read, which is not this step's to
    fail on (the step reading that day says so)."""
    try:
        return count_rows(con, "bronze", table)
    except duckdb.Error:
        return None


def _table_metadata(con, context: OutputContext, layer: str, table: str, rows: int | None) -> dict:
    """The table's canonical metadata; `rows` is the whole table's (None: not known)."""
    return {
        "dagster/table_name": f"warehouse.duckdb:{layer}.{table}",
        "dagster/column_schema": _column_schema(context, table_columns(con, layer, table)),
    } | ({} if rows is None else {"dagster/row_count": rows})


class BronzeParquetIOManager(ConfigurableIOManager):
    """Bronze: an Arrow stream of landed records → Parquet per day + a warehouse view."""

    warehouse: Warehouse
    data_dir: str

    def handle_output(
        self, context: OutputContext, obj: pa.RecordBatchReader | EarlyRead | None
    ) -> None:
        if obj is None:
            return
        layer, table = table_of(context)
        dates = output_dates(context)
        if dates is None or not isinstance(obj, pa.RecordBatchReader | EarlyRead):
            raise TypeError("bronze assets are partitioned and return an Arrow stream")
        bronze_dir = DataLayout(Path(self.data_dir)).bronze_dir
        dataset = bronze_dir / table
        if isinstance(obj, EarlyRead):  # read while the command started: moved into place
            if sorted(obj.files) != sorted(dates):
                raise ValueError(f"an early read of {sorted(obj.files)} given for {dates}")
            written = obj.publish(dataset)
        else:
            written = parquet.publish_stream(obj, dataset, dates)
        with self.warehouse.connect() as con:
            create_schema(con, layer)
            create_bronze_view(con, table, bronze_dir)
            total = _bronze_rows(con, table)
            metadata = _table_metadata(con, context, layer, table, total)
        metadata["parquet_path"] = str(dataset)
        context.add_output_metadata(metadata)
        _add_day_row_counts(context, written, total)

    def load_input(self, context: InputContext) -> TableRef:
        return _table_ref(context, self.warehouse)


class WarehouseIOManager(ConfigurableIOManager):
    """Silver: a warehouse table whose written days (or whole table) are replaced atomically."""

    warehouse: Warehouse

    def handle_output(
        self, context: OutputContext, obj: pd.DataFrame | pa.Table | DayRows | DayTables | None
    ) -> None:
        if obj is None:
            return
        if isinstance(obj, DayTables):
            self._handle_day_tables(context, obj)
            return
        layer, table = table_of(context)
        dates = output_dates(context)
        by_day = isinstance(obj, DayRows)
        removed: Sequence[date] = ()
        if by_day:
            dates = None if obj.days is None else sorted(obj.days)
            removed = obj.removed
            obj = obj.rows
        rows = as_arrow(obj)
        with self.warehouse.connect() as con:
            written = None if by_day else _written_days_record(con, context, layer, table, dates)
            inserted = replace_rows(con, layer, table, rows, dates, also=written)
            total = count_rows(con, layer, table) if by_day or dates else inserted
            metadata = _table_metadata(con, context, layer, table, total)
        metadata.update(self.publish(table, rows, dates, by_day=by_day, removed=removed))
        context.add_output_metadata(metadata)
        if dates is not None and not by_day:
            _add_day_row_counts(context, rows_by_day(rows, dates), total)

    def _handle_day_tables(self, context: OutputContext, obj: DayTables) -> None:
        """Each chunk replaces its days as it comes (one transaction per chunk); the step's
        days must all be written, once."""
        layer, table = table_of(context)
        dates = output_dates(context)
        if dates is None:
            raise TypeError("DayTables are for partitioned assets")
        written: list[date] = []
        published: dict[str, Any] = {}
        counted: dict[date, int] = {}
        with self.warehouse.connect() as con:
            for days, rows in obj.chunks:
                days = sorted(days)
                if set(days) - set(dates) or set(days) & set(written):
                    raise ValueError(f"{layer}.{table}: a chunk for days {days} not being written")
                rows = as_arrow(rows)
                record = _written_days_record(con, context, layer, table, days)
                replace_rows(con, layer, table, rows, days, also=record)
                counted.update(rows_by_day(rows, days))
                published = self.publish(table, rows, days)
                written += days
            if sorted(written) != dates:
                raise ValueError(f"{layer}.{table}: no rows were computed for some of {dates}")
            total = count_rows(con, layer, table)
            metadata = _table_metadata(con, context, layer, table, total)
        metadata.update(published)
        metadata.update(obj.metadata)
        context.add_output_metadata(metadata)
        _add_day_row_counts(context, counted, total)

    def publish(
        self,
        table: str,
        rows: pa.Table,
        dates: list[date] | None,
        by_day: bool = False,
        removed: Sequence[date] = (),
    ) -> dict[str, Any]:
        """Where else the rows go once committed (nowhere here); returns metadata."""
        return {}

    def load_input(self, context: InputContext) -> TableRef:
        ref = _table_ref(context, self.warehouse)
        _require_table(context, ref, self.warehouse)
        return ref
