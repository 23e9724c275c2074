"""Building blocks for domain assets: the one way an asset is declared, the bronze asset
of a landed table, and the silver step that types, validates and quarantines records.

Domains keep only what is theirs (record specs, Pandera models, SQL of their rules);
everything about partitions, pools, metadata, quarantine and Parquet lives here.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow
from dagster import (
    AssetExecutionContext,
    AssetIn,
    AssetsDefinition,
    AutomationCondition,
    MetadataValue,
    Output,
    TableColumn,
    TableSchema,
    asset,
)

from cx_assets.lakehouse import quarantine
from cx_assets.lakehouse.automation import rollup_automation
from cx_assets.lakehouse.io_manager import TableRef
from cx_assets.lakehouse.landing import (
    BRONZE_COLUMN_DESCRIPTIONS,
    BRONZE_SCHEMA,
    discover,
    read_landed,
)
from cx_assets.lakehouse.parsing import RecordSpec, parse_bronze
from cx_assets.lakehouse.partitions import daily_partitions, partition_dates, single_run_backfill
from cx_assets.lakehouse.resources import Lake
from cx_assets.lakehouse.validation import column_schema, ordered, validate
from cx_assets.lakehouse.warehouse import Warehouse, sql_date

# Every asset that writes the warehouse shares one pool: DuckDB takes one writer per file.
WAREHOUSE_POOL = "duckdb"


def lake_asset(
    layer: str,
    table: str,
    *,
    group: str,
    description: str,
    model: type[pa.DataFrameModel] | None = None,
    schema: TableSchema | None = None,
    partitioned: bool = True,
    ins: Mapping[str, AssetIn] | None = None,
    deps: Sequence[Any] | None = None,
    automation_condition: AutomationCondition | None = None,
    required_resource_keys: set[str] | None = None,
) -> Callable[[Callable[..., Any]], AssetsDefinition]:
    """`@asset` with the lakehouse conventions: key `[layer, table]`, group = domain, daily
    partitions with single-run backfills, the warehouse pool, kinds, and the column schema
    (`schema`, or the table's Pandera model's) so the UI shows it before the first run.
    Bronze and gold are Parquet as well as DuckDB; silver is DuckDB only."""
    kinds = {"duckdb"} if layer == "silver" else {"duckdb", "parquet"}
    metadata: dict[str, Any] = {}
    if schema is not None or model is not None:
        metadata["dagster/column_schema"] = schema or column_schema(model)
    partition_args: dict[str, Any] = (
        {"partitions_def": daily_partitions, "backfill_policy": single_run_backfill}
        if partitioned
        else {}
    )
    return asset(
        key=[layer, table],
        group_name=group,
        description=description,
        kinds=kinds,
        metadata=metadata,
        ins=ins,
        deps=deps,
        pool=WAREHOUSE_POOL,
        automation_condition=automation_condition,
        required_resource_keys=required_resource_keys,
        **partition_args,
    )


BRONZE_TABLE_SCHEMA = TableSchema(
    columns=[
        TableColumn(name=name, type=str(BRONZE_SCHEMA.field(name).type), description=text)
        for name, text in BRONZE_COLUMN_DESCRIPTIONS.items()
    ]
)


def bronze_table_name(source: str, table: str) -> str:
    return f"{source}_{table}"


def bronze_asset(source: str, table: str, description: str) -> AssetsDefinition:
    """Every record of `landing/<source>/<table>/<day>/*` as delivered, one row each."""

    @lake_asset(
        "bronze",
        bronze_table_name(source, table),
        group=source,
        description=f"{description} Every landed record as delivered (raw text), with its "
        "file, line and read errors. Bad records are kept here and quarantined in silver.",
        schema=BRONZE_TABLE_SCHEMA,
    )
    def _bronze(context: AssetExecutionContext, lake: Lake) -> pa_arrow.RecordBatchReader:
        days = partition_dates(context)
        files = [
            landed
            for day in days
            for landed in discover(lake.layout.landing_dir, source, table, day)
        ]
        missing = sorted(
            {day.isoformat() for day in days} - {landed.day.isoformat() for landed in files}
        )
        if missing:
            context.log.warning(
                f"no {source}/{table} files landed for {', '.join(missing)}: "
                "writing empty partitions"
            )
        context.add_output_metadata(
            {
                "files_read": len(files),
                "bytes_read": sum(landed.size for landed in files),
                "source_files": MetadataValue.json([landed.relative_path for landed in files[:50]]),
            }
        )
        return read_landed(files, datetime.now(UTC))

    return _bronze


# Frames a domain computes in Python from the typed records, by the name SQL sees them as.
DerivedFrames = Callable[[duckdb.DuckDBPyConnection, str], Mapping[str, pd.DataFrame]]


@dataclass(frozen=True)
class SilverResult:
    frame: pd.DataFrame
    metadata: dict[str, Any]


def parse_validate_quarantine(
    context: AssetExecutionContext,
    con: duckdb.DuckDBPyConnection,
    *,
    lake: Lake,
    bronze: TableRef,
    spec: RecordSpec,
    model: type[pa.DataFrameModel],
    select_sql: str,
    typed_table: str = "typed_records",
    derived_frames: DerivedFrames | None = None,
) -> SilverResult:
    """The silver step of one landed table.

    1. type every bronze record of the step's days (`parse_bronze`) into temp table
       `typed_table`, with a reject reason for bad ones;
    2. run the domain's `select_sql`, which reads the good rows of `typed_table` (and any
       `derived_frames`, computed in Python from the typed records and visible to the query
       under their names) and returns `date`, `source_file`, `line_number` plus the
       model's columns;
    3. validate with the Pandera model, keeping the coerced frame;
    4. quarantine every rejected record (parse or validation) with its file, line, reason
       and original text; report counts and a masked sample (no record content).
    """
    days = partition_dates(context)
    parse_bronze(con, spec, bronze.schema, bronze.table, days, into=typed_table)
    parse_rejects = con.execute(
        f"SELECT source_file, line_number, reject_reason AS reason "
        f"FROM {typed_table} WHERE reject_reason IS NOT NULL"
    ).df()
    frames = derived_frames(con, typed_table) if derived_frames else {}
    for name, frame in frames.items():
        con.register(name, frame)
    try:
        candidates = con.execute(select_sql).df()
    finally:
        for name in frames:
            con.unregister(name)
    validated = validate(model, candidates)
    rejected = [
        frame
        for frame in (parse_rejects, validated.rejects[["source_file", "line_number", "reason"]])
        if not frame.empty
    ]
    rejects = _with_raw(
        con,
        bronze,
        pd.concat(rejected, ignore_index=True) if rejected else parse_rejects,
    )
    dataset = bronze.table
    quarantine.write(lake.layout.quarantine_dir, dataset, rejects, days, datetime.now(UTC))
    bronze_rows = int(len(parse_rejects) + len(candidates))
    for row in quarantine.masked_sample(rejects, limit=10):
        context.log.warning(
            f"quarantined {row['source_file']}:{row['line_number']}: {row['reason']}"
        )
    metadata = {
        "bronze_rows": bronze_rows,
        "quarantined_rows": len(rejects),
        "reject_reasons": MetadataValue.json(quarantine.reason_counts(rejects)),
        "quarantine_sample": MetadataValue.json(quarantine.masked_sample(rejects)),
        "quarantine_path": str(quarantine.dataset_dir(lake.layout.quarantine_dir, dataset)),
    }
    return SilverResult(ordered(model, validated.frame), metadata)


def _with_raw(
    con: duckdb.DuckDBPyConnection, bronze: TableRef, rejects: pd.DataFrame
) -> pd.DataFrame:
    """Rejected records (file, line, reason) with their day and original text, for quarantine."""
    con.register("rejected_records", rejects)
    try:
        frame = con.execute(
            f"SELECT b.date, r.source_file, r.line_number, r.reason, b.raw "
            f"FROM rejected_records r JOIN {bronze.rows} b USING (source_file, line_number) "
            f"ORDER BY r.source_file, r.line_number"
        ).df()
    finally:
        con.unregister("rejected_records")
    frame["date"] = pd.to_datetime(frame["date"]).dt.date
    return frame


def validated_derived(
    model: type[pa.DataFrameModel], frame: pd.DataFrame, table: str
) -> pd.DataFrame:
    """Rows derived by the pipeline (gold, and silver tables built from other silver), never
    landed: a failing row is a bug, so it fails the step (with column and check, never values)."""
    validated = validate(model, frame)
    if not validated.rejects.empty:
        reasons = quarantine.reason_counts(validated.rejects)
        raise ValueError(
            f"{table}: {len(validated.rejects)} rows break {model.__name__}: {reasons}"
        )
    return ordered(model, validated.frame)


SqlBuilder = Callable[[Mapping[str, TableRef], Sequence[str]], str]
# An input is a key (same days as the asset) or an AssetIn, e.g. with a
# TimeWindowPartitionMapping to read earlier days too.
InputSpec = Sequence[str] | AssetIn


def _asset_in(spec: InputSpec) -> AssetIn:
    return spec if isinstance(spec, AssetIn) else AssetIn(list(spec))


def silver_asset(
    *,
    source: str,
    table: str,
    silver_table: str,
    spec: RecordSpec,
    model: type[pa.DataFrameModel],
    description: str,
    select_sql: Callable[[str, Mapping[str, TableRef], Sequence[str]], str],
    extra_ins: Mapping[str, InputSpec] | None = None,
    derived_frames: DerivedFrames | None = None,
) -> AssetsDefinition:
    """Silver table of one landed table: typed, validated, bad records quarantined.

    `select_sql(typed_table, inputs, day_literals)` reads the good rows of `typed_table`
    (and any `extra_ins`, as TableRefs) and returns the model's columns with lineage.
    """
    bronze_key = ["bronze", bronze_table_name(source, table)]
    ins = {"bronze": AssetIn(bronze_key)}
    ins.update({name: _asset_in(spec) for name, spec in (extra_ins or {}).items()})

    @lake_asset("silver", silver_table, group=source, description=description, model=model, ins=ins)
    def _silver(
        context: AssetExecutionContext, warehouse: Warehouse, lake: Lake, **inputs: TableRef
    ):
        days = [sql_date(day) for day in partition_dates(context)]
        with warehouse.connect() as con:
            result = parse_validate_quarantine(
                context,
                con,
                lake=lake,
                bronze=inputs["bronze"],
                spec=spec,
                model=model,
                select_sql=select_sql("typed_records", inputs, days),
                derived_frames=derived_frames,
            )
        return Output(result.frame, metadata=result.metadata)

    return _silver


def latest_version_asset(
    *,
    versions_key: Sequence[str],
    table: str,
    key_column: str,
    group: str,
    model: type[pa.DataFrameModel],
    description: str,
) -> AssetsDefinition:
    """Whole-history silver table: the latest delivered version of each `key_column`
    (latest day, then file name, then line), with the day it was delivered."""

    @lake_asset(
        "silver",
        table,
        group=group,
        description=description,
        model=model,
        partitioned=False,
        ins={"versions": AssetIn(list(versions_key))},
        automation_condition=rollup_automation(),
    )
    def _latest(warehouse: Warehouse, versions: TableRef):
        with warehouse.connect() as con:
            frame = con.execute(
                f"""SELECT * EXCLUDE (date, source_file, line_number), date AS version_date
                    FROM {versions.name}
                    QUALIFY row_number() OVER (
                        PARTITION BY {key_column}
                        ORDER BY date DESC, source_file DESC, line_number DESC) = 1
                    ORDER BY {key_column}"""
            ).df()
        return Output(validated_derived(model, frame, table))

    return _latest


OutputMetadata = Callable[[pd.DataFrame, Mapping[str, TableRef]], Mapping[str, Any]]


def derived_asset(
    layer: str,
    table: str,
    *,
    group: str,
    model: type[pa.DataFrameModel],
    description: str,
    ins: Mapping[str, InputSpec],
    sql: SqlBuilder,
    partitioned: bool = True,
    output_metadata: OutputMetadata | None = None,
) -> AssetsDefinition:
    """A table computed by one SQL query over other tables (all of gold, and silver tables
    built from silver).

    `sql(inputs, day_literals)` gets TableRefs restricted to the step's days (per-day
    tables) or whole tables (rollups, whose day list is empty) and returns the rows,
    with `date` for per-day tables. Rollups rebuild after upstream partitions change.
    `output_metadata(rows, inputs)` adds metadata of the domain's own.
    """

    @lake_asset(
        layer,
        table,
        group=group,
        description=description,
        model=model,
        partitioned=partitioned,
        ins={name: _asset_in(spec) for name, spec in ins.items()},
        automation_condition=None if partitioned else rollup_automation(),
    )
    def _derived(context: AssetExecutionContext, warehouse: Warehouse, **inputs: TableRef):
        days = [sql_date(day) for day in partition_dates(context)] if partitioned else []
        with warehouse.connect() as con:
            frame = con.execute(sql(inputs, days)).df()
        rows = validated_derived(model, frame, table)
        metadata = dict(output_metadata(rows, inputs)) if output_metadata else {}
        return Output(rows, metadata=metadata)

    return _derived


def gold_asset(table: str, **kwargs: Any) -> AssetsDefinition:
    """A gold table: `derived_asset` in the gold layer (published as Parquet too)."""
    return derived_asset("gold", table, **kwargs)
