"""Digital asset checks: the machinery's builders applied to digital tables, the
call-counted-once invariant, and the leakage share band."""

from collections.abc import Sequence

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    asset_check,
)

from cx_assets.digital import assets
from cx_assets.digital.rules import JOURNEY_EVENT_KEY, leakage_share_sql
from cx_assets.lakehouse.checks import (
    landing_checks,
    ratio_band_check,
    unique_key_check,
)
from cx_assets.lakehouse.partitions import daily_partitions, partition_dates
from cx_assets.lakehouse.warehouse import (
    Warehouse,
    qualified,
    scalar,
    sql_date,
    table_exists,
)

CALL_COUNTED_ONCE = "call_counted_once"
LEAKAGE_SHARE = "leakage_share_in_band"

landed_table_checks = landing_checks(
    assets.SOURCE,
    {
        "journeys": "digital_journeys",
        "calls": "digital_calls",
        "members": "digital_member_versions",
    },
)


def call_counted_once_check(asset_key: Sequence[str]) -> AssetChecksDefinition:
    """ERROR when a call of the checked days appears more than once in the leakage table,
    on any day (a call belongs to one day and one failure event)."""
    schema, table = asset_key

    @asset_check(
        asset=AssetKey(list(asset_key)),
        name=CALL_COUNTED_ONCE,
        description=f"ERROR when a call_id of the day appears more than once in {schema}.{table} "
        "(any day): each call counts once, against its latest qualifying event.",
        blocking=True,
        partitions_def=daily_partitions,
    )
    def _check(context: AssetCheckExecutionContext, warehouse: Warehouse) -> AssetCheckResult:
        days = partition_dates(context)
        in_days = ", ".join(sql_date(day) for day in days) or "NULL"
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
                    f"  SELECT call_id FROM {target} WHERE date IN ({in_days}))"
                    f" GROUP BY call_id HAVING count(*) > 1)",
                )
            )
        return AssetCheckResult(
            passed=repeated == 0,
            severity=AssetCheckSeverity.ERROR,
            description=f"{repeated} calls counted more than once" if repeated else None,
            metadata={"calls_counted_more_than_once": repeated},
        )

    return _check


key_checks = [
    unique_key_check(assets.JOURNEYS, list(JOURNEY_EVENT_KEY)),
    unique_key_check(assets.CALLS, ["call_id"]),
    unique_key_check(assets.MEMBERS, ["member_id"], partitioned=False),
    call_counted_once_check(assets.LEAKAGE_CALLS),
    unique_key_check(["gold", "leakage_daily_summary"], ["journey_type"]),
    unique_key_check(["gold", "leakage_segment_drilldown"], ["journey_type", "member_category"]),
    unique_key_check(
        ["gold", "leakage_journey_timeline"],
        ["member_id", "event_kind", "event_at", "session_id", "action", "call_id"],
    ),
    unique_key_check(["gold", "leakage_root_cause"], ["journey_type", "error_code", "device_type"]),
    unique_key_check(["gold", "leakage_savings_model"], ["journey_type"], partitioned=False),
    unique_key_check(["gold", "leakage_action_recommendations"], ["rank"], partitioned=False),
]

share_low, share_high = assets.RULES.leakage_share_band
band_checks = [
    ratio_band_check(
        assets.LEAKAGE_CALLS,
        name=LEAKAGE_SHARE,
        ratio_sql=leakage_share_sql(qualified(*assets.LEAKAGE_CALLS), qualified(*assets.CALLS)),
        low=share_low,
        high=share_high,
        description="Leakage calls ÷ all calls of a day.",
    ),
]

all_checks = [*landed_table_checks, *key_checks, *band_checks]
