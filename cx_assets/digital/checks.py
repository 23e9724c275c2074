"""Digital's own check: every leakage call counted once, across days (a call belongs to one
day and one failure event). The other digital checks are declared on the assets."""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetsDefinition,
    asset_check,
)

from cx_assets.digital.assets import digital_leakage_calls
from cx_assets.lakehouse.partitions import daily_partitions, partition_dates
from cx_assets.lakehouse.sql import in_days_param, qualified
from cx_assets.lakehouse.warehouse import Warehouse, scalar, table_exists

CALL_COUNTED_ONCE = "call_counted_once"


def call_counted_once_check(leakage: AssetsDefinition) -> AssetChecksDefinition:
    """ERROR when a call of the checked days appears more than once in the leakage table,
    on any day."""
    schema, table = leakage.key.path

    @asset_check(
        asset=leakage,
        name=CALL_COUNTED_ONCE,
        description=f"ERROR when a call_id of the day appears more than once in {schema}.{table} "
        "(any day): each call counts once, against its latest qualifying event.",
        blocking=True,
        partitions_def=daily_partitions,
    )
    def call_counted_once(
        context: AssetCheckExecutionContext, warehouse: Warehouse
    ) -> AssetCheckResult:
        days = partition_dates(context)
        with warehouse.connect() as con:
            if not table_exists(con, schema, table):
                return AssetCheckResult(
                    passed=False, description=f"{schema}.{table} does not exist"
                )
            target = qualified(schema, table)
            repeated = int(
                scalar(
                    con,
                    f"SELECT count(*) FROM (SELECT call_id FROM {target} WHERE call_id IN ("
                    f"  SELECT call_id FROM {target} WHERE {in_days_param(len(days))})"
                    f" GROUP BY call_id HAVING count(*) > 1)",
                    list(days),
                )
            )
        return AssetCheckResult(
            passed=repeated == 0,
            severity=AssetCheckSeverity.ERROR,
            description=f"{repeated} calls counted more than once" if repeated else None,
            metadata={"calls_counted_more_than_once": repeated},
        )

    return call_counted_once


domain_checks = [call_counted_once_check(digital_leakage_calls)]
