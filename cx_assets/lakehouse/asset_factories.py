"""The two asset factories, for the tables that really are alike in every domain.

- `bronze_asset(source, table)`: `bronze/<source>_<table>`, every record landed under
  `landing/<source>/<table>/<day>/` as delivered, one row each, with the fingerprints of
  the files it read (for the landing sensor) and the files it did not read (and why);
- `latest_version_asset(versions, ...)`: a whole-history silver table holding the latest
  delivered version of each id (latest day, then file name, then line).

Every other table is a function of its own, declared with `assets.lake_asset`.
"""

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow
from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    MetadataValue,
    TableColumn,
    TableSchema,
)

from cx_assets.lakehouse import early_bronze
from cx_assets.lakehouse.assets import LANDED_FIELDS, LANDED_TABLE, lake_asset, metadata_value
from cx_assets.lakehouse.bronze_stream import BRONZE_COLUMN_DESCRIPTIONS, BRONZE_SCHEMA, read_landed
from cx_assets.lakehouse.derived import query_validated
from cx_assets.lakehouse.inputs import all_days
from cx_assets.lakehouse.io_managers import TableRef
from cx_assets.lakehouse.landing import IGNORED_LISTED, discover_days, shown
from cx_assets.lakehouse.landing_state import (
    LANDING_FINGERPRINTS,
    LANDING_REWRITES,
    day_fingerprints,
    day_rewrites,
)
from cx_assets.lakehouse.parsing import RecordSpec
from cx_assets.lakehouse.partitions import partition_dates
from cx_assets.lakehouse.readers import lacks_its_header
from cx_assets.lakehouse.resources import Lake
from cx_assets.lakehouse.warehouse import Warehouse

# A bronze materialization's files of its landing folders that were not read, [name, why]:
# the first `IGNORED_LISTED` of them, and how many in all.
IGNORED_FILES = "files_ignored"
IGNORED_COUNT = "files_ignored_count"


BRONZE_TABLE_SCHEMA = TableSchema(
    columns=[
        TableColumn(name=name, type=str(BRONZE_SCHEMA.field(name).type), description=text)
        for name, text in BRONZE_COLUMN_DESCRIPTIONS.items()
    ]
)


def _log_not_read(
    context: AssetExecutionContext,
    landed_table: str,
    files_by_day: dict[date, list],
    ignored: list[tuple[str, str]],
) -> None:
    """Warn of the landed files a bronze step does not read (the first `IGNORED_LISTED`, as
    `discover` shows them, then how many more) and of the days with no file at all."""
    for named, why in ignored[:IGNORED_LISTED]:
        context.log.warning(f"ignoring {named}: {why}")
    if len(ignored) > IGNORED_LISTED:
        context.log.warning(ignored_more(len(ignored)))
    missing = sorted(day.isoformat() for day, files in files_by_day.items() if not files)
    if missing:
        context.log.warning(
            f"no {landed_table} files landed for {', '.join(missing)}: writing empty partitions"
        )


def _files_read(files: list, days: list[date], ignored: list, source_folder: Path) -> dict:
    """A bronze materialization's metadata of the landed files of `days` it read (in
    `source_folder`, `landing/<source>`), and of those it did not (`ignored`)."""
    return {
        "files_read": len(files),
        "bytes_read": sum(landed.size for landed in files),
        "source_files": MetadataValue.json([shown(landed.relative_path) for landed in files[:50]]),
        # so the landing sensor does not run again a day built from these files
        LANDING_FINGERPRINTS: MetadataValue.json(day_fingerprints(files, days)),
        LANDING_REWRITES: MetadataValue.json(day_rewrites(files, days, source_folder)),
        # What was delivered but not read, for `cx-lakehouse run` and the UI to say.
        **(
            {
                IGNORED_FILES: MetadataValue.json(ignored[:IGNORED_LISTED]),
                IGNORED_COUNT: len(ignored),
            }
            if ignored
            else {}
        ),
    }


def bronze_asset(
    source: str, table: str, description: str, spec: RecordSpec | None = None
) -> AssetsDefinition:
    """`bronze/<source>_<table>`: every record of `landing/<source>/<table>/<day>/*` as
    delivered, one row each. `spec`: how its records land: their fields
    (`RecordSpec.landed_fields`), so a CSV delivered without its header row keeps its first
    record (`readers.read_csv`), and those they must hold (`landed_required`), so a broken
    `.json` array is read again from the next element holding them (`readers.read_json`)."""
    table_fields = spec.landed_fields if spec else ()
    required_fields = spec.landed_required if spec else ()

    @lake_asset(
        "bronze",
        group=source,
        name=f"{source}_{table}",
        description=f"{description} Every landed record as delivered (raw text), with its "
        "file, line and read errors. Bad records are kept here and quarantined in silver.",
        schema=BRONZE_TABLE_SCHEMA,
        metadata={LANDED_TABLE: f"{source}/{table}"}
        | ({LANDED_FIELDS: {item.column: item.source for item in spec.fields}} if spec else {}),
    )
    def landed_records(
        context: AssetExecutionContext, lake: Lake
    ) -> pa_arrow.RecordBatchReader | early_bronze.EarlyRead:
        days = partition_dates(context)
        landing = lake.layout.landing_dir
        # A killed command's early read (raw records outside bronze): the UI's and the
        # daemon's runs remove it too, not only the next `cx-lakehouse run`.
        early_bronze.remove_dead(landing.parent)
        ignored_by_day: dict[date, list[tuple[str, str]]] = {day: [] for day in days}
        files_by_day = discover_days(landing, source, table, days, ignored_by_day)
        files = [landed for day in days for landed in files_by_day[day]]
        ignored = [item for day in days for item in ignored_by_day[day]]
        _log_not_read(context, f"{source}/{table}", files_by_day, ignored)
        source_folder = landing / source
        if len(days) == 1:
            context.add_output_metadata(_files_read(files, days, ignored, source_folder))
        else:
            # Each day its own files: Dagster gives every day of a range the step's output
            # metadata, so each day listed the whole range's files.
            for day in days:
                context.add_asset_metadata(
                    _files_read(files_by_day[day], [day], ignored_by_day[day], source_folder),
                    partition_key=day.isoformat(),
                )
        # The early read knows no table's fields: it took such a file's first record for
        # its header, and read a broken `.json` array again by other fields than the
        # table's required ones.
        headless = any(
            landed.path.suffix.lower() == ".csv"
            and landed.read_error is None
            and lacks_its_header(landed.path, table_fields)
            for landed in files
        )
        early = early_bronze.claim(
            landing,
            source,
            table,
            days,
            files,
            usable=not headless,
            json_read_again=bool(required_fields),
        )
        if early is None:
            return read_landed(
                files,
                datetime.now(UTC),
                table_fields=table_fields,
                required_fields=required_fields,
            )
        for line in early.warnings:
            context.log.warning(line)
        context.log.info(
            f"read while the command started, in a process of its own ({early.seconds:.2f} s; "
            "lakehouse/early_bronze.py)"
        )
        # The reading's own time, which the step's duration does not show (benchmarks).
        context.add_output_metadata({early_bronze.READ_SECONDS: early.seconds})
        return early

    return landed_records


def ignored_more(count: int) -> str:
    """The one line saying the files not read beyond the first `IGNORED_LISTED` of `count`."""
    return (
        f"ignoring {count - IGNORED_LISTED:,} more landed files, {count:,} in all (the first "
        f"{IGNORED_LISTED} are listed on the bronze materialization, {IGNORED_FILES})"
    )


def landed_table(asset_def: AssetsDefinition) -> tuple[str, str] | None:
    """(source, table) of a bronze asset's landing folder, None for other assets."""
    declared = metadata_value(asset_def.metadata_by_key[asset_def.key], LANDED_TABLE)
    if not declared:
        return None
    source, table = declared.split("/")
    return source, table


# --------------------------------------------------------------------------- latest version


def latest_version_asset(
    versions: AssetsDefinition,
    *,
    name: str,
    key_column: str,
    model: type[pa.DataFrameModel],
    description: str,
) -> AssetsDefinition:
    """Whole-history silver table `name`: the latest delivered version of each `key_column`
    of `versions` (latest day, then file name, then line), with the day it was delivered."""

    @lake_asset(
        "silver",
        group=versions.group_names_by_key[versions.key],
        name=name,
        description=description,
        model=model,
        partitioned=False,
        grain=[key_column],
        ins={"versions": all_days(versions)},
    )
    def latest_versions(warehouse: Warehouse, versions: TableRef) -> pd.DataFrame:
        return query_validated(
            warehouse,
            f"""SELECT * EXCLUDE (date, source_file, line_number), date AS version_date
                FROM {versions.rows}
                QUALIFY row_number() OVER (
                    PARTITION BY {key_column}
                    ORDER BY date DESC, source_file DESC, line_number DESC) = 1
                ORDER BY {key_column}""",
            model,
        )

    return latest_versions
