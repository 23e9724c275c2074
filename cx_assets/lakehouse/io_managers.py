"""One IO manager per storage; an asset picks its storage by `io_manager_key`, and the
layer → storage table below (`LAYER_STORAGE`) is the one the asset decorator and the
conventions test read.

- `BronzeParquetIOManager`: landed records as they came, streamed to Parquet
  (`bronze/<table>/date=D/`, one zstd file per day) behind the view `bronze.<table>`. Raw
  text is most of a day's bytes; DuckDB's own string compression costs ~4x pyarrow's zstd.
- `WarehouseIOManager`: tables in the warehouse (`layer.table`), written by
  `warehouse.replace_rows` (one transaction per step, by column name).
- `GoldIOManager`: the warehouse, plus Parquet for analysts written from the same Arrow
  table that was inserted (`gold/<table>/date=D/data.parquet` per partition,
  `gold/<table>/data.parquet` for whole-history tables), never read back.
- `ModelStoreIOManager`: trained models as joblib files (`models/<name>/[date=D/]model.joblib`).

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

import json
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from dagster import (
    ConfigurableIOManager,
    Failure,
    InputContext,
    OutputContext,
    TableColumn,
    TableSchema,
)

from cx_assets.lakehouse import parquet
from cx_assets.lakehouse.partitions import PARTITION_COLUMN, dates_between, window_dates
from cx_assets.lakehouse.settings import DataLayout
from cx_assets.lakehouse.sql import date_literal, in_days, qualified
from cx_assets.lakehouse.warehouse import (
    Warehouse,
    as_arrow,
    count_rows,
    create_bronze_view,
    create_schema,
    replace_rows,
    table_columns,
    table_exists,
)

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
    without rows gets an empty file). `days=None` replaces the whole table, and gold removes
    the day folders no longer in it."""

    rows: pd.DataFrame | pa.Table
    days: Sequence[date] | None = None


@dataclass
class DayTables:
    """What a partitioned step returns when it computes its rows a chunk of days at a time:
    `chunks` yields (days, rows) with every day of the step exactly once, each chunk's rows
    replacing those days; `metadata` is complete once `chunks` is exhausted."""

    chunks: Iterable[tuple[Sequence[date], pa.Table]]
    metadata: dict[str, Any] = field(default_factory=dict)


def _table_of(context: OutputContext | InputContext) -> tuple[str, str]:
    layer, table = context.asset_key.path[-2:]
    return layer, table


def _output_dates(context: OutputContext) -> list[date] | None:
    if not context.has_asset_partitions:
        return None
    return window_dates(context.asset_partitions_time_window)


def _table_ref(context: InputContext, warehouse: Warehouse) -> TableRef:
    layer, table = _table_of(context)
    if context.has_asset_partitions:
        first, last = _window_ends(context)
        if first > last:  # a window with no day in it, e.g. the days before the first one
            return TableRef(layer, table, date.max, date.min)
        _require_built_days(context, first, last, warehouse)
        return TableRef(layer, table, first, last)
    return TableRef(layer, table)


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


def _require_built_days(
    context: InputContext, first: date, last: date, warehouse: Warehouse
) -> None:
    """Fail the step when it reads its own days of a table that this run does not build and
    that was never built for those days. The UI's Materialize on one partition of a gold
    table whose silver day was never run wrote that day's gold from no rows, every check
    passing, where the truth was "not loaded". (`cx-lakehouse run` refuses such a selection
    before it starts: `RunPlan.require_built_days`.) Built means materialized in this
    instance, or holding rows of the day in the warehouse (built under another instance,
    such as a throwaway one of Dagster's own CLI). Inputs of other days (the days before)
    and of whole history read what has been built, as intended."""
    try:
        step = context.step_context
    except Exception:  # a context built by hand, outside a run
        return
    selection = step.dagster_run.asset_selection
    if selection is None or context.asset_key in selection or not step.has_partitions:
        return
    if context.asset_partitions_time_window != step.partition_time_window:
        return  # not the step's own days
    materialized = context.instance.get_materialized_partitions(context.asset_key)
    unrecorded = [day for day in dates_between(first, last) if day.isoformat() not in materialized]
    if not unrecorded:
        return
    layer, table = _table_of(context)
    with warehouse.connect() as con:
        held = set()
        if table_exists(con, layer, table):
            held = {
                row[0]
                for row in con.execute(
                    f"SELECT DISTINCT date FROM {qualified(layer, table)} "
                    f"WHERE {in_days(unrecorded)}"
                ).fetchall()
            }
    if missing := [day for day in unrecorded if day not in held]:
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
                "later day, days never landed included; backfill a range from the "
                "daily_partitions job instead, as `cx-lakehouse run --date --to` does"
                if backfill and more
                else ""
            )
        )


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


def _add_day_row_counts(context: OutputContext, counts: Mapping[date, int]) -> None:
    """Each day's own row count on its materialization. Dagster gives every day of a range
    run the output's metadata, so each day showed the whole range's rows (600 calls on a
    day that had none)."""
    try:
        step = context.step_context
    except Exception:  # a context built by hand, outside a run
        return
    for day, rows in counts.items():
        step.add_asset_metadata(
            {"dagster/row_count": rows, "dagster/partition_row_count": rows},
            asset_key=context.asset_key,
            partition_key=day.isoformat(),
        )


def _table_metadata(con, context: OutputContext, layer: str, table: str, rows: int) -> dict:
    return {
        "dagster/row_count": rows,
        "dagster/table_name": f"warehouse.duckdb:{layer}.{table}",
        "dagster/column_schema": _column_schema(context, table_columns(con, layer, table)),
    }


class BronzeParquetIOManager(ConfigurableIOManager):
    """Bronze: an Arrow stream of landed records → Parquet per day + a warehouse view."""

    warehouse: Warehouse
    data_dir: str

    def handle_output(self, context: OutputContext, obj: pa.RecordBatchReader | None) -> None:
        if obj is None:
            return
        layer, table = _table_of(context)
        dates = _output_dates(context)
        if dates is None or not isinstance(obj, pa.RecordBatchReader):
            raise TypeError("bronze assets are partitioned and return an Arrow stream")
        bronze_dir = DataLayout(Path(self.data_dir)).bronze_dir
        dataset = bronze_dir / table
        written = parquet.publish_stream(obj, dataset, dates)
        with self.warehouse.connect() as con:
            create_schema(con, layer)
            create_bronze_view(con, table, bronze_dir)
            metadata = _table_metadata(con, context, layer, table, sum(written.values()))
        metadata["parquet_path"] = str(dataset)
        context.add_output_metadata(metadata)
        _add_day_row_counts(context, written)

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
        layer, table = _table_of(context)
        dates = _output_dates(context)
        by_day = isinstance(obj, DayRows)
        if by_day:
            dates = None if obj.days is None else sorted(obj.days)
            obj = obj.rows
        rows = as_arrow(obj)
        with self.warehouse.connect() as con:
            inserted = replace_rows(con, layer, table, rows, dates)
            total = count_rows(con, layer, table) if by_day else inserted
            metadata = _table_metadata(con, context, layer, table, total)
        metadata.update(self.publish(table, rows, dates, by_day=by_day))
        context.add_output_metadata(metadata)
        if dates is not None and not by_day:
            _add_day_row_counts(context, rows_by_day(rows, dates))

    def _handle_day_tables(self, context: OutputContext, obj: DayTables) -> None:
        """Each chunk replaces its days as it comes (one transaction per chunk); the step's
        days must all be written, once."""
        layer, table = _table_of(context)
        dates = _output_dates(context)
        if dates is None:
            raise TypeError("DayTables are for partitioned assets")
        written: list[date] = []
        inserted = 0
        published: dict[str, Any] = {}
        counted: dict[date, int] = {}
        with self.warehouse.connect() as con:
            for days, rows in obj.chunks:
                days = sorted(days)
                if set(days) - set(dates) or set(days) & set(written):
                    raise ValueError(f"{layer}.{table}: a chunk for days {days} not being written")
                rows = as_arrow(rows)
                inserted += replace_rows(con, layer, table, rows, days)
                counted.update(rows_by_day(rows, days))
                published = self.publish(table, rows, days)
                written += days
            if sorted(written) != dates:
                raise ValueError(f"{layer}.{table}: no rows were computed for some of {dates}")
            metadata = _table_metadata(con, context, layer, table, inserted)
        metadata.update(published)
        metadata.update(obj.metadata)
        context.add_output_metadata(metadata)
        _add_day_row_counts(context, counted)

    def publish(
        self, table: str, rows: pa.Table, dates: list[date] | None, by_day: bool = False
    ) -> dict[str, Any]:
        """Where else the rows go once committed (nowhere here); returns metadata."""
        return {}

    def load_input(self, context: InputContext) -> TableRef:
        return _table_ref(context, self.warehouse)


@dataclass(frozen=True)
class PublishJournal:
    """What of a gold table is being published to Parquet, kept in a file from before the
    warehouse commits until the Parquet is written: the days (`days`), or the whole table
    (`days` None). A crash in between leaves the file behind."""

    path: Path

    def read(self) -> Unpublished | None:
        if not self.path.exists():
            return None
        recorded = json.loads(self.path.read_text())
        days = recorded.get("days")
        return Unpublished(None if days is None else {date.fromisoformat(d) for d in days})

    def write(self, unpublished: Unpublished) -> None:
        days = None if unpublished.days is None else sorted(d.isoformat() for d in unpublished.days)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        in_flight = self.path.with_name(f"_{self.path.name}.{os.getpid()}.tmp")
        in_flight.write_text(json.dumps({"days": days}))
        os.replace(in_flight, self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Unpublished:
    days: set[date] | None  # None: the whole table

    def including(self, other: Unpublished | None) -> Unpublished:
        if other is None:
            return self
        if self.days is None or other.days is None:
            return Unpublished(None)
        return Unpublished(self.days | other.days)


class GoldIOManager(WarehouseIOManager):
    """Gold: the warehouse, plus the same rows as Parquet for analysts.

    The Parquet is written once the warehouse has committed. A crash between the two would
    leave the Parquet behind the warehouse, and a whole-history table by day would never
    notice: it rewrites only the days whose rows differ from the warehouse's. So what is
    being published is first written to a journal (`PublishJournal`); the table's next
    output finds a journal left behind and republishes what it names from the warehouse,
    along with the day folders of such a table that have gone missing.
    """

    data_dir: str

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        if obj is None:
            return
        _, table = _table_of(context)
        journal = PublishJournal(DataLayout(Path(self.data_dir)).gold_journal_dir / f"{table}.json")
        left_behind = journal.read()
        publishing = _days_written(context, obj)
        journal.write(publishing.including(left_behind))
        super().handle_output(context, obj)
        repair = left_behind
        if isinstance(obj, DayRows) and (missing := self._days_without_folder(table)):
            repair = Unpublished(missing).including(left_behind)
        if repair is not None:
            self._republish(table, repair, publishing)
        journal.clear()

    def publish(
        self, table: str, rows: pa.Table, dates: list[date] | None, by_day: bool = False
    ) -> dict[str, Any]:
        dataset = DataLayout(Path(self.data_dir)).gold_dir / table
        dropped: list[Path] = []
        if dates is None and by_day:  # the whole table, by day: drop days no longer in it
            dates = sorted(set(rows[PARTITION_COLUMN].to_pylist()))
            kept = {parquet.partition_folder(dataset, day).name for day in dates}
            dropped = [f for f in dataset.glob(f"{PARTITION_COLUMN}=*") if f.name not in kept]
        if dates is None:
            parquet.publish(rows, dataset)
        else:
            for day in dates:
                of_day = rows.filter(pc.equal(rows[PARTITION_COLUMN], pa.scalar(day, pa.date32())))
                parquet.publish(of_day, parquet.partition_folder(dataset, day))
        # Last: a reader never sees the table without days it is about to have (removing
        # them first, a forecast moving on a day read 13 of its 14 days, or failed).
        for folder in dropped:
            shutil.rmtree(folder)
        return {"parquet_path": str(dataset)}

    def left_unpublished(self, table: str) -> bool:
        """Whether an output of `table` wrote the warehouse and then failed before its
        Parquet was written (its journal is still there)."""
        return (DataLayout(Path(self.data_dir)).gold_journal_dir / f"{table}.json").exists()

    def republish_left_behind(self) -> list[str]:
        """Publish again, from the warehouse, what every journal a killed or failed output
        left names, and clear it; returns the tables. Run before a command's run, so the
        Parquet of a table the run does not write is not left behind the warehouse until
        that table is written again."""
        repaired = []
        folder = DataLayout(Path(self.data_dir)).gold_journal_dir
        for in_flight in folder.glob("_*.tmp"):  # being written when its writer died
            in_flight.unlink(missing_ok=True)
        for path in sorted(folder.glob("*.json")):
            journal, table = PublishJournal(path), path.stem
            with self.warehouse.connect() as con:
                stored = table_exists(con, "gold", table)
            if stored and (left_behind := journal.read()) is not None:
                self._republish(table, left_behind, Unpublished(set()))
                repaired.append(table)
            journal.clear()
        return repaired

    def _days_without_folder(self, table: str) -> set[date]:
        """Days the warehouse holds rows of that have no Parquet folder (deleted by hand)."""
        dataset = DataLayout(Path(self.data_dir)).gold_dir / table
        with self.warehouse.connect() as con:
            stored = con.execute(
                f"SELECT DISTINCT {PARTITION_COLUMN} FROM {qualified('gold', table)}"
            ).fetchall()
        return {day for (day,) in stored if not parquet.partition_folder(dataset, day).is_dir()}

    def _republish(self, table: str, repair: Unpublished, published: Unpublished) -> None:
        """Publish again, from the warehouse, what an earlier output may have left unpublished
        (what this output published is current already)."""
        if published.days is None:
            return
        days = None if repair.days is None else sorted(repair.days - published.days)
        if days == []:
            return
        with self.warehouse.connect() as con:
            by_day = PARTITION_COLUMN in {name for name, _ in table_columns(con, "gold", table)}
            where = "TRUE" if days is None else in_days(days)
            rows = con.sql(
                f"SELECT * FROM {qualified('gold', table)} WHERE {where}"
            ).to_arrow_table()
        self.publish(table, rows, days, by_day=by_day)


def _days_written(context: OutputContext, obj: Any) -> Unpublished:
    if isinstance(obj, DayRows):
        return Unpublished(None if obj.days is None else set(obj.days))
    dates = _output_dates(context)
    return Unpublished(None if dates is None else set(dates))


MODEL_FILE = "model.joblib"


def read_stored_model(path: Path) -> Any | None:
    """The model stored at `path`, or None when there is none yet."""
    if not path.exists():
        return None
    import joblib  # here, not above: 0.2 s every run would pay, and only models use it

    return joblib.load(path)


class ModelStoreIOManager(ConfigurableIOManager):
    """Trained models, one joblib file per asset (per partition when partitioned), written to
    an in-flight name and renamed into place. A partitioned input loads the model of the last
    day of its window (the newest model the reader may use)."""

    data_dir: str

    def _path(self, name: str, day: date | None) -> Path:
        folder = DataLayout(Path(self.data_dir)).models_dir / name
        if day is not None:
            folder = parquet.partition_folder(folder, day)
        return folder / MODEL_FILE

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        if obj is None:
            return
        dates = _output_dates(context)
        path = self._path(context.asset_key.path[-1], dates[-1] if dates else None)
        path.parent.mkdir(parents=True, exist_ok=True)
        in_flight = path.with_name(f"_{MODEL_FILE}.{os.getpid()}.tmp")
        import joblib

        joblib.dump(obj, in_flight)
        os.replace(in_flight, path)
        context.add_output_metadata({"model_path": str(path), "model_bytes": path.stat().st_size})

    def load_input(self, context: InputContext) -> Any:
        day = None
        if context.has_asset_partitions:
            day = window_dates(context.asset_partitions_time_window)[-1]
        path = self._path(context.asset_key.path[-1], day)
        model = read_stored_model(path)
        if model is None:
            raise FileNotFoundError(f"no trained model at {path}: materialize {context.asset_key}")
        return model
