"""The plain helpers asset bodies share (they are not assets; `assets.py` declares those).

- `silver_from_bronze`: type, rule-check, validate and quarantine the records of a landed
  table, for one silver step;
- `query_validated` / `validate_derived`: rows the pipeline derives (gold, and silver built
  from silver), validated against their Pandera model; a failing row fails the step.
"""

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import duckdb
import pandas as pd
import pandera.pandas as pa
from dagster import AssetExecutionContext, MetadataValue, Output

from cx_assets.lakehouse import quarantine
from cx_assets.lakehouse.io_managers import TableRef
from cx_assets.lakehouse.parsing import RecordSpec, parse_bronze
from cx_assets.lakehouse.partitions import partition_dates
from cx_assets.lakehouse.resources import Lake
from cx_assets.lakehouse.validation import ordered, validate
from cx_assets.lakehouse.warehouse import Warehouse

# The temp table `silver_from_bronze` types a day's records into, for the domain's SQL.
TYPED_RECORDS = "typed_records"

# Frames a domain computes in Python from the typed records, by the name SQL sees them as.
DerivedFrames = Callable[[duckdb.DuckDBPyConnection, str], Mapping[str, pd.DataFrame]]


def silver_from_bronze(
    context: AssetExecutionContext,
    *,
    warehouse: Warehouse,
    lake: Lake,
    bronze: TableRef,
    spec: RecordSpec,
    model: type[pa.DataFrameModel],
    select_sql: str,
    derived_frames: DerivedFrames | None = None,
) -> Output[pd.DataFrame]:
    """The silver step of one landed table.

    1. type every bronze record of the step's days (`parse_bronze`) into the temp table
       `TYPED_RECORDS`, with a reject reason for bad ones;
    2. run the domain's `select_sql`, which reads the good rows of `TYPED_RECORDS` (and any
       `derived_frames`, computed in Python from the typed records and visible to the query
       under their names) and returns `date`, `source_file`, `line_number` plus the
       model's columns, and optionally `reject_reason`: a domain rule's reason to
       quarantine the record (null keeps it);
    3. validate with the Pandera model, keeping the coerced frame;
    4. quarantine every rejected record (parse or validation) with its file, line, reason
       and original text; report counts and a masked sample (no record content).
    """
    days = partition_dates(context)
    with warehouse.connect() as con:
        parse_bronze(con, spec, bronze.schema, bronze.table, days, into=TYPED_RECORDS)
        parse_rejects = con.execute(
            f"SELECT source_file, line_number, reject_reason AS reason "
            f"FROM {TYPED_RECORDS} WHERE reject_reason IS NOT NULL"
        ).df()
        frames = derived_frames(con, TYPED_RECORDS) if derived_frames else {}
        for name, frame in frames.items():
            con.register(name, frame)
        try:
            candidates = con.execute(select_sql).df()
        finally:
            for name in frames:
                con.unregister(name)
        rule_rejects = parse_rejects.iloc[0:0]
        if "reject_reason" in candidates.columns:
            by_rule = candidates["reject_reason"].notna()
            rule_rejects = candidates.loc[by_rule, ["source_file", "line_number", "reject_reason"]]
            rule_rejects = rule_rejects.rename(columns={"reject_reason": "reason"})
            candidates = candidates.loc[~by_rule].drop(columns="reject_reason")
        validated = validate(model, candidates)
        rejected = [
            frame
            for frame in (
                parse_rejects,
                rule_rejects,
                validated.rejects[["source_file", "line_number", "reason"]],
            )
            if not frame.empty
        ]
        rejects = _with_raw(
            con,
            bronze,
            pd.concat(rejected, ignore_index=True) if rejected else parse_rejects,
        )
    dataset = bronze.table
    quarantine.write(lake.layout.quarantine_dir, dataset, rejects, days, datetime.now(UTC))
    for row in quarantine.masked_sample(rejects, limit=10):
        context.log.warning(
            f"quarantined {row['source_file']}:{row['line_number']}: {row['reason']}"
        )
    metadata = {
        "bronze_rows": int(len(parse_rejects) + len(rule_rejects) + len(candidates)),
        "quarantined_rows": len(rejects),
        "reject_reasons": MetadataValue.json(quarantine.reason_counts(rejects)),
        "quarantine_sample": MetadataValue.json(quarantine.masked_sample(rejects)),
        "quarantine_path": str(quarantine.dataset_dir(lake.layout.quarantine_dir, dataset)),
    }
    return Output(ordered(model, validated.frame), metadata=metadata)


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


def validate_derived(model: type[pa.DataFrameModel], frame: pd.DataFrame) -> pd.DataFrame:
    """Rows derived by the pipeline (gold, and silver tables built from other silver), never
    landed: a failing row is a bug, so it fails the step (with column and check, never values)."""
    validated = validate(model, frame)
    if not validated.rejects.empty:
        reasons = quarantine.reason_counts(validated.rejects)
        raise ValueError(f"{len(validated.rejects)} rows break {model.__name__}: {reasons}")
    return ordered(model, validated.frame)


def query_validated(warehouse: Warehouse, sql: str, model: type[pa.DataFrameModel]) -> pd.DataFrame:
    """The rows of one SQL query over the warehouse, validated against `model`."""
    with warehouse.connect() as con:
        frame = con.execute(sql).df()
    return validate_derived(model, frame)
