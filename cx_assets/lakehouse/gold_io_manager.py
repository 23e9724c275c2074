"""Gold's storage: the warehouse, plus the same rows as Parquet for analysts
(`gold/<table>/date=D/data.parquet` per partition, `gold/<table>/data.parquet` for
whole-history tables), written from the Arrow table that was inserted and never read back;
and the journal that repairs Parquet a crash left behind the warehouse.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from dagster import OutputContext

from cx_assets.lakehouse import durable, parquet, written_days
from cx_assets.lakehouse.arrow_types import normalise
from cx_assets.lakehouse.io_managers import (
    DayRows,
    WarehouseIOManager,
    output_dates,
    table_of,
)
from cx_assets.lakehouse.partitions import PARTITION_COLUMN
from cx_assets.lakehouse.settings import DataLayout
from cx_assets.lakehouse.sql import in_days, qualified
from cx_assets.lakehouse.warehouse_tables import table_columns, table_exists


@dataclass(frozen=True)
class PublishJournal:
    """What of a gold table is being published to Parquet, kept in a file from before the
    warehouse commits until the Parquet is written: the days (`days`), or the whole table
    (`days` None), and whether they are partitions (`partitioned`). A crash in between
    leaves the file behind."""

    path: Path

    def read(self) -> Unpublished | None:
        """What the journal names, or the whole table when its text cannot be read: a file
        torn by a power cut on a mount that does not sync (`durable`), or edited by hand.
        Publishing the whole table again from the warehouse repairs any of it; failing on
        the file would stop every later run of the data root."""
        try:
            text = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            said = json.loads(text)
            days, partitioned = said["days"], said.get("partitioned", False) is True
            return Unpublished(
                None if days is None else {date.fromisoformat(d) for d in days}, partitioned
            )
        except (ValueError, KeyError, TypeError, AttributeError):  # a date's is a ValueError
            return Unpublished(None)

    def write(self, unpublished: Unpublished) -> None:
        """Durably, before the warehouse commits (whose own commit DuckDB syncs): after a
        power loss the journal is there whenever the new rows are, so the Parquet left
        behind them is published again. Under a millisecond a table."""
        days = None if unpublished.days is None else sorted(d.isoformat() for d in unpublished.days)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        in_flight = self.path.with_name(f"_{self.path.name}.{os.getpid()}.tmp")
        with durable.naming(in_flight):  # a full disk's error would name no file
            in_flight.write_text(json.dumps({"days": days, "partitioned": unpublished.partitioned}))
        durable.replace(in_flight, self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Unpublished:
    days: set[date] | None  # None: the whole table
    # The days are partitions, each built once the warehouse commits it (`written_days`);
    # else days of a whole-history table's rows (`DayRows`).
    partitioned: bool = False

    def including(self, other: Unpublished | None) -> Unpublished:
        if other is None:
            return self
        partitioned = self.partitioned or other.partitioned
        if self.days is None or other.days is None:
            return Unpublished(None, partitioned)
        return Unpublished(self.days | other.days, partitioned)


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
        _, table = table_of(context)
        journal = PublishJournal(DataLayout(Path(self.data_dir)).gold_journal_dir / f"{table}.json")
        left_behind = journal.read()
        publishing = _days_written(context, obj)
        journal.write(publishing.including(left_behind))
        super().handle_output(context, obj)
        repair, stray = left_behind, []
        if isinstance(obj, DayRows):
            written = None if obj.days is None else set(obj.days) - set(obj.removed)
            missing, stray = self._folders_out_of_step(table, written)
            if missing:
                repair = Unpublished(missing).including(left_behind)
        if repair is not None:
            self._republish(table, repair, publishing)
        for folder in stray:
            shutil.rmtree(folder, ignore_errors=True)
        journal.clear()

    def publish(
        self,
        table: str,
        rows: pa.Table,
        dates: list[date] | None,
        by_day: bool = False,
        removed: Sequence[date] = (),
    ) -> dict[str, Any]:
        dataset = DataLayout(Path(self.data_dir)).gold_dir / table
        # Days that no longer hold a row and that no run materialized: no folder at all.
        dropped = [
            folder for day in removed if (folder := parquet.partition_folder(dataset, day)).is_dir()
        ]
        if dates is None and by_day:  # the whole table, by day: drop days no longer in it
            dates = sorted(set(rows[PARTITION_COLUMN].to_pylist()))
            kept = {parquet.partition_folder(dataset, day).name for day in dates}
            dropped = [f for f in dataset.glob(f"{PARTITION_COLUMN}=*") if f.name not in kept]
        elif dates is not None:
            dates = [day for day in dates if day not in removed]
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
            left_behind = journal.read() if stored else None
            if left_behind is not None and self._republish(table, left_behind, Unpublished(set())):
                repaired.append(table)
            journal.clear()
        return repaired

    def _folders_out_of_step(
        self, table: str, written: set[date] | None
    ) -> tuple[set[date], list[Path]]:
        """A table by day's Parquet against the warehouse: the days it holds rows of that
        have no file (deleted by hand: the folder, or the file alone, which a check of the
        folder took for there), and the folders of days with no row that were not just
        `written` (an empty day the table keeps is written at each output). A build from
        the start has no such folder; a version before removed days existed, or a crash
        between the warehouse and a republish, left one (an empty file)."""
        dataset = DataLayout(Path(self.data_dir)).gold_dir / table
        with self.warehouse.connect() as con:
            stored = {
                day
                for (day,) in con.execute(
                    f"SELECT DISTINCT {PARTITION_COLUMN} FROM {qualified('gold', table)}"
                ).fetchall()
            }
        missing = {
            day
            for day in stored
            if not (parquet.partition_folder(dataset, day) / parquet.DATA_FILE).is_file()
        }
        if written is None:
            return missing, []
        kept = {parquet.partition_folder(dataset, day).name for day in stored | written}
        stray = sorted(f for f in dataset.glob(f"{PARTITION_COLUMN}=*") if f.name not in kept)
        return missing, stray

    def _republish(self, table: str, repair: Unpublished, published: Unpublished) -> bool:
        """Publish again, from the warehouse, what an earlier output may have left unpublished
        (what this output published is current already); whether anything was. Of partitions,
        only those the warehouse committed: found in an audit, a run killed before the
        warehouse's commit left empty Parquet folders, "built, no rows", for days never
        built."""
        if published.days is None:
            return False
        days = None if repair.days is None else sorted(repair.days - published.days)
        with self.warehouse.connect() as con:
            if days and repair.partitioned:
                built = written_days.days_written(con, f"gold.{table}", days)
                held = con.execute(
                    f"SELECT DISTINCT {PARTITION_COLUMN} FROM {qualified('gold', table)} "
                    f"WHERE {in_days(days)}"
                ).fetchall()
                days = [day for day in days if day in built | {d for (d,) in held}]
            if days == []:
                return False
            by_day = PARTITION_COLUMN in {name for name, _ in table_columns(con, "gold", table)}
            where = "TRUE" if days is None else in_days(days)
            rows = con.sql(
                f"SELECT * FROM {qualified('gold', table)} WHERE {where}"
            ).to_arrow_table()
        self.publish(table, self._shaped_as_published(table, rows), days, by_day=by_day)
        return True

    def _shaped_as_published(self, table: str, rows: pa.Table) -> pa.Table:
        """`rows`, read back from the warehouse, in the shape of the table's published files:
        their columns, in their order, with their pandas description. The warehouse table
        keeps a column an older version of the model had, and adds a new one at its end;
        the rows of a frame's write record their pandas types (a nullable integer as
        `Int64`), Arrow's from the warehouse none. Found in an analysts' audit: a day
        published again held such an old column alone, and DuckDB's documented read of
        the table failed ('schema mismatch in glob'); and pandas read its nullable
        integers as floats (support's `csat_score` 5.0 there, 5 on the other days).

        The shape is the newest file's that a frame's write made (one with a pandas
        description) whose columns the warehouse holds; with none (every file gone), the
        rows as read back. The description is kept only where the types are the file's."""
        like = self._newest_published_schema(table, set(rows.column_names))
        if like is None:
            return rows
        names = like.names + [PARTITION_COLUMN] * (PARTITION_COLUMN in rows.column_names)
        rows = rows.select(names)
        kept = rows.select(like.names)
        if normalise(kept.slice(0, 0)).schema.remove_metadata() != like.remove_metadata():
            return rows
        return rows.replace_schema_metadata(
            {**(rows.schema.metadata or {}), b"pandas": like.metadata[b"pandas"]}
        )

    def _newest_published_schema(self, table: str, columns: set[str]) -> pa.Schema | None:
        dataset = DataLayout(Path(self.data_dir)).gold_dir / table
        newest: tuple[int, pa.Schema] | None = None
        for path in dataset.rglob(parquet.DATA_FILE):
            try:
                written = path.stat().st_mtime_ns
                schema = pq.read_schema(path)
            except (pa.ArrowInvalid, OSError):  # gone since, or damaged: it shapes nothing
                continue
            if b"pandas" not in (schema.metadata or {}) or not set(schema.names) <= columns:
                continue
            if newest is None or written > newest[0]:
                newest = (written, schema)
        return None if newest is None else newest[1]


def _days_written(context: OutputContext, obj: Any) -> Unpublished:
    if isinstance(obj, DayRows):
        return Unpublished(None if obj.days is None else set(obj.days))
    dates = output_dates(context)
    return Unpublished(None, False) if dates is None else Unpublished(set(dates), True)
