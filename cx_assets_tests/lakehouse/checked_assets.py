"""Tiny assets declared the way domains declare them, for the check tests of more than one
module (`test_table_checks`, `test_history_checks`, `test_checks`): a keyed table, bronze
records with the silver table typed from them, a table with a ratio band, and the names
and helpers those modules share.

Rows are fixed per day in the tables below, so a test picks its case by the day it runs."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import pandera.pandas as pa
from dagster import AssetCheckSeverity
from pandera.typing import Series

from cx_assets.lakehouse.asset_factories import bronze_asset
from cx_assets.lakehouse.assets import Band, lake_asset
from cx_assets.lakehouse.inputs import same_day
from cx_assets.lakehouse.io_managers import TableRef
from cx_assets.lakehouse.parsing import Field, RecordSpec
from cx_assets.lakehouse.partitions import partition_dates
from cx_assets.lakehouse.resources import Lake
from cx_assets.lakehouse.schemas import Lineage
from cx_assets.lakehouse.steps import TYPED_RECORDS, silver_from_bronze
from cx_assets.lakehouse.warehouse import Warehouse
from cx_assets_tests.conftest import check_results

GROUP = "checks_test"
ERROR, WARN = AssetCheckSeverity.ERROR, AssetCheckSeverity.WARN


def rows_of(days: list[date], by_day: dict[str, list[dict[str, Any]]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"date": day, **row} for day in days for row in by_day.get(day.isoformat(), [])]
    )


# --------------------------------------------------------------------------- unique key

KEYS_BY_DAY = {
    "2024-01-05": [{"key": "a"}, {"key": "b"}],
    "2024-01-06": [{"key": "a"}, {"key": "a"}],  # a duplicate
    "2024-01-07": [{"key": "a"}],
    "2024-01-08": [{"key": "a"}],  # the key of the 7th again: another day, its own grain
}


@lake_asset("silver", group=GROUP, grain=["key"])
def keyed(context) -> pd.DataFrame:
    """One row per key a day (but not on the 6th)."""
    return rows_of(partition_dates(context), KEYS_BY_DAY)


# --------------------------------------------------------------------------- reconciliation

bronze_records = bronze_asset("crm", "records", "Test records.")
RECORD_SPEC = RecordSpec(fields=(Field("Id", "record_id", "int"), Field("Label", "label", "str")))


class Record(Lineage):
    record_id: Series[int] = pa.Field(description="`Id`.")
    label: Series[str] = pa.Field(description="`Label`.")


def silver_records_where(
    context, warehouse: Warehouse, lake: Lake, bronze: TableRef, where: str, *, by_day=False
):
    """The good records `where` holds; with `by_day`, a range typed a day at a time."""
    return silver_from_bronze(
        context,
        warehouse=warehouse,
        lake=lake,
        bronze=bronze,
        spec=RECORD_SPEC,
        model=Record,
        select_sql=f"SELECT * FROM {TYPED_RECORDS} WHERE reject_reason IS NULL AND {where}",
        by_day=by_day,
    )


def silver_of_records():
    """The declaration of a silver table of `Record`s typed from `bronze_records` and
    reconciled with them, as a domain declares one."""
    return lake_asset(
        "silver",
        group=GROUP,
        model=Record,
        reconciles_with=bronze_records,
        ins={"bronze": same_day(bronze_records)},
    )


@silver_of_records()
def records(context, warehouse: Warehouse, lake: Lake, bronze: TableRef):
    """Every good record; bad ones quarantined."""
    return silver_records_where(context, warehouse, lake, bronze, "TRUE")


def land_records(lake, day: str, *extra: Any) -> None:
    lake.land_jsonl("crm", "records", day, [{"Id": 1, "Label": "keep"}, *extra])


# --------------------------------------------------------------------------- ratio band

SHARE = "test_share_in_band"
SHARE_BAND = Band(
    name=SHARE,
    ratio_sql="SELECT date, hits / nullif(total, 0) AS ratio FROM {table} WHERE {days}",
    low=0.2,
    high=0.8,
    description="Hits ÷ total of a day.",
)
HITS_BY_DAY = {
    "2024-01-05": [{"hits": 5.0, "total": 10.0}],  # 0.5: inside
    "2024-01-06": [{"hits": 9.0, "total": 10.0}],  # 0.9: above
    "2024-01-07": [{"hits": 0.0, "total": 0.0}],  # nothing to divide: null, skipped
    "2024-01-08": [{"hits": 8.0, "total": 10.0}],  # 0.8: on the bound, inside
    "2024-01-09": [{"hits": 1.0, "total": 10.0}],  # 0.1: below
}


@lake_asset("gold", group=GROUP, bands=[SHARE_BAND])
def shares(context) -> pd.DataFrame:
    """Hits and total a day."""
    return rows_of(partition_dates(context), HITS_BY_DAY)


def band_result(result):
    return check_results(result)[("gold/shares", SHARE)]
