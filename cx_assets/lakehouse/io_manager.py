"""The IO manager every asset stores through.

Asset key `[layer, table]` is `layer.table` in `warehouse.duckdb`.

- bronze: landed records as they came, streamed to Parquet (`bronze/<table>/date=D/`),
  one zstd file per day, and exposed as the view `bronze.<table>`. Raw text is most of a
  day's bytes; DuckDB's own string compression costs ~4x pyarrow's zstd writer on it.
- silver and gold: DuckDB tables written by `warehouse.replace_rows` (one transaction per
  step, by column name). Gold is also published as Parquet for analysts:
  `gold/<table>/date=YYYY-MM-DD/data.parquet` per partition, `gold/<table>/data.parquet`
  for whole-history tables.

Inputs are *not* loaded into memory: a downstream asset receives a `TableRef` naming
the table and the partition days it may read, and does its set-based work in DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
from dagster import ConfigurableIOManager, InputContext, OutputContext, TableColumn, TableSchema

from cx_assets.lakehouse import parquet
from cx_assets.lakehouse.partitions import PARTITION_COLUMN, window_dates
from cx_assets.lakehouse.settings import DataLayout
from cx_assets.lakehouse.warehouse import (
    Warehouse,
    Writable,
    qualified,
    replace_rows,
    sql_date,
    table_columns,
)

GOLD_LAYER = "gold"
BRONZE_LAYER = "bronze"


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
        return f"{PARTITION_COLUMN} BETWEEN {sql_date(self.first)} AND {sql_date(self.last)}"

    @property
    def rows(self) -> str:
        """A subquery of the readable rows, to use in FROM."""
        return f"(SELECT * FROM {self.name} WHERE {self.where})"


class LakehouseIOManager(ConfigurableIOManager):
    warehouse: Warehouse
    data_dir: str

    @property
    def _layout(self) -> DataLayout:
        return DataLayout(Path(self.data_dir))

    def handle_output(self, context: OutputContext, obj: Writable | None) -> None:
        if obj is None:
            return
        layer, table = context.asset_key.path[-2:]
        dates = (
            window_dates(context.asset_partitions_time_window)
            if context.has_asset_partitions
            else None
        )
        with self.warehouse.connect() as con:
            if layer == BRONZE_LAYER:
                rows = self._write_bronze(con, table, obj, dates)
            else:
                rows = replace_rows(con, layer, table, obj, dates)
            columns = table_columns(con, layer, table)
            metadata: dict[str, object] = {
                "dagster/row_count": rows,
                "dagster/table_name": f"warehouse.duckdb:{layer}.{table}",
                "dagster/column_schema": self._column_schema(context, columns),
            }
            if layer == BRONZE_LAYER:
                metadata["parquet_path"] = str(self._layout.bronze_dir / table)
            if layer == GOLD_LAYER:
                metadata["parquet_path"] = str(self._publish_gold(con, table, dates))
        context.add_output_metadata(metadata)

    def load_input(self, context: InputContext) -> TableRef:
        layer, table = context.asset_key.path[-2:]
        if context.has_asset_partitions:
            days = window_dates(context.asset_partitions_time_window)
            return TableRef(layer, table, days[0], days[-1])
        return TableRef(layer, table)

    def _write_bronze(self, con, table: str, rows: Writable, dates: list[date] | None) -> int:
        if dates is None or not isinstance(rows, pa.RecordBatchReader):
            raise TypeError("bronze assets are partitioned and return an Arrow stream")
        dataset = self._layout.bronze_dir / table
        written = parquet.publish_stream(rows, dataset, dates)
        files = (dataset / "*" / parquet.DATA_FILE).as_posix().replace("'", "''")
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {BRONZE_LAYER}")
        con.execute(
            f"CREATE OR REPLACE VIEW {qualified(BRONZE_LAYER, table)} AS "
            f"SELECT * FROM read_parquet('{files}', hive_partitioning = true, "
            f"hive_types = {{'{PARTITION_COLUMN}': DATE}})"
        )
        return sum(written.values())

    def _publish_gold(self, con, table: str, dates: list[date] | None) -> Path:
        dataset = self._layout.gold_dir / table
        source = qualified(GOLD_LAYER, table)
        if dates is None:
            parquet.publish(con.sql(f"SELECT * FROM {source}").to_arrow_table(), dataset)
            return dataset
        for day in dates:
            rows = con.sql(
                f"SELECT * EXCLUDE ({PARTITION_COLUMN}) FROM {source} "
                f"WHERE {PARTITION_COLUMN} = {sql_date(day)}"
            ).to_arrow_table()
            parquet.publish(rows, parquet.partition_folder(dataset, day))
        return dataset

    @staticmethod
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
