"""Digital-to-call leakage assets: bronze (as landed) → silver (typed, deduplicated, members
with their category, leakage calls) → gold (the six tables of contract section 4.3).

The rules themselves are in `rules.py`; this module only wires tables together. Earlier
days are read through partition mappings, never by loading all history:

- the leakage calls of day D read journey events of D-1..D (a failure late on D-1 leads to
  a call early on D) and calls of D-7..D (repeat calls);
- leakage_daily_summary of D reads leakage calls and calls of D-13..D (week-over-week trend);
- leakage_journey_timeline of D reads journey events of D-1..D (sessions crossing midnight).

Member versions are read as of the day (the latest version delivered on or before it), like
CRM contacts: the whole versions table, filtered to days up to D.

Two workarounds for the shared write path, applied by this module's own asset factories
(built from the machinery's `lake_asset`, `parse_validate_quarantine`, `validated_gold`):

- every table is handed to the IO manager as an Arrow table typed from its Pandera model
  (`typed_table`): an empty pandas frame (a day with no files) has untyped object columns
  that would reach DuckDB as `NULL`-typed columns, so the first write of an empty day would
  create the table with those and every later day would fail to insert;
- the table is created, empty, before the IO manager writes (`ensure_table`): DuckDB 2.0.0
  answers filters with 0 rows on a table created in the same transaction that then receives
  a full row group (122,880+ rows), which `replace_rows` does on a table's first write (the
  step then fails its in-window check; e.g. an 8-day range of journeys at scale 1).
"""

from collections.abc import Callable, Mapping, Sequence

import duckdb
import pandas as pd
import pandera.pandas as pa
import pyarrow
from dagster import (
    AssetExecutionContext,
    AssetIn,
    AssetsDefinition,
    MetadataValue,
    Output,
    TimeWindowPartitionMapping,
)

from cx_assets.digital import rules, schemas
from cx_assets.digital.rules import DEFAULT_RULES, JOURNEY_EVENT_KEY
from cx_assets.lakehouse.assets import (
    bronze_asset,
    bronze_table_name,
    lake_asset,
    parse_validate_quarantine,
    validated_gold,
)
from cx_assets.lakehouse.automation import rollup_automation
from cx_assets.lakehouse.io_manager import TableRef
from cx_assets.lakehouse.parsing import Field, RecordSpec
from cx_assets.lakehouse.partitions import partition_dates
from cx_assets.lakehouse.resources import Lake
from cx_assets.lakehouse.warehouse import Warehouse, qualified, quote_identifier, sql_date

GROUP = "digital"
SOURCE = "digital"
TABLES = ("journeys", "calls", "members")
RULES = DEFAULT_RULES

JOURNEYS = ["silver", "digital_journeys"]
CALLS = ["silver", "digital_calls"]
MEMBER_VERSIONS = ["silver", "digital_member_versions"]
MEMBERS = ["silver", "digital_members"]
LEAKAGE_CALLS = ["silver", "digital_leakage_calls"]

# Landing contracts (contract section 2, digital). CSV values arrive as text and are cast;
# an empty value is a missing one.
JOURNEY_SPEC = RecordSpec(
    fields=(
        Field("member_id", "member_id", "str"),
        Field("session_id", "session_id", "str"),
        Field("timestamp", "event_at", "timestamp"),
        Field("journey_type", "journey_type", "str"),
        Field("action", "action", "str"),
        Field("device_type", "device_type", "str", required=False),
        Field("error_code", "error_code", "str", required=False),
        Field("error_message", "error_message", "str", required=False),
    ),
    text_values=True,
    # Journey events have no id: a second record of the same event on a day is a duplicate.
    unique_key=JOURNEY_EVENT_KEY,
)
CALL_SPEC = RecordSpec(
    fields=(
        Field("call_id", "call_id", "str"),
        Field("member_id", "member_id", "str"),
        Field("call_timestamp", "called_at", "timestamp"),
        Field("ivr_path", "ivr_path", "str", required=False),
        Field("handle_time_seconds", "handle_time_seconds", "int", required=False),
        Field("agent_id", "agent_id", "str", required=False),
        Field("call_reason", "call_reason", "str"),
        Field("sentiment_score", "sentiment_score", "number", required=False),
        Field("resolution_status", "resolution_status", "str", required=False),
    ),
    text_values=True,
    unique_key=("call_id",),
)
MEMBER_SPEC = RecordSpec(
    fields=(
        Field("member_id", "member_id", "str"),
        Field("plan_type", "plan_type", "str"),
        Field("tenure_months", "tenure_months", "int"),
        Field("segment", "segment", "str", required=False),
        Field("language_preference", "language_preference", "str", required=False),
        Field("enrollment_date", "enrollment_date", "date", required=False),
    ),
    text_values=True,
)


def earlier_days(days: int) -> TimeWindowPartitionMapping:
    """A day's partition plus the `days` before it (days before the first partition are
    simply absent)."""
    return TimeWindowPartitionMapping(
        start_offset=-days, end_offset=0, allow_nonexistent_upstream_partitions=True
    )


# --------------------------------------------------------------------------- typed outputs

_ARROW_TYPES = {
    "str": pyarrow.string(),
    "int64": pyarrow.int64(),
    "Int64": pyarrow.int64(),
    "float64": pyarrow.float64(),
    "bool": pyarrow.bool_(),
    "boolean": pyarrow.bool_(),
    "date": pyarrow.date32(),
    "datetime64[us, UTC]": pyarrow.timestamp("us", tz="UTC"),
}


def arrow_schema(model: type[pa.DataFrameModel]) -> pyarrow.Schema:
    """The Arrow schema of a model's columns, in the model's order."""
    return pyarrow.schema(
        [
            (name, _ARROW_TYPES[str(column.dtype)])
            for name, column in model.to_schema().columns.items()
        ]
    )


def typed_table(model: type[pa.DataFrameModel], frame: pd.DataFrame) -> pyarrow.Table:
    """A validated frame as an Arrow table with the model's types, even when it is empty."""
    return pyarrow.Table.from_pandas(frame, schema=arrow_schema(model), preserve_index=False)


def ensure_table(
    con: duckdb.DuckDBPyConnection, layer: str, table: str, model: type[pa.DataFrameModel]
) -> None:
    """Create `layer.table` with the model's columns, empty, unless it exists (autocommit)."""
    con.register("empty_typed_rows", arrow_schema(model).empty_table())
    try:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(layer)}")
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {qualified(layer, table)} AS FROM empty_typed_rows"
        )
    finally:
        con.unregister("empty_typed_rows")


# --------------------------------------------------------------------------- factories

SelectSql = Callable[[str], str]
SqlBuilder = Callable[[Mapping[str, TableRef], Sequence[str]], str]


def _asset_in(spec: Sequence[str] | AssetIn) -> AssetIn:
    return spec if isinstance(spec, AssetIn) else AssetIn(list(spec))


def silver_landed_asset(
    table: str,
    silver_table: str,
    *,
    spec: RecordSpec,
    model: type[pa.DataFrameModel],
    description: str,
    select_sql: SelectSql,
) -> AssetsDefinition:
    """Silver table of one landed table: typed, validated, bad records quarantined
    (`parse_validate_quarantine`); `select_sql(typed_table)` picks the good rows."""

    @lake_asset(
        "silver",
        silver_table,
        group=GROUP,
        description=description,
        model=model,
        ins={"bronze": AssetIn(["bronze", bronze_table_name(SOURCE, table)])},
    )
    def _silver(context: AssetExecutionContext, warehouse: Warehouse, lake: Lake, bronze: TableRef):
        with warehouse.connect() as con:
            result = parse_validate_quarantine(
                context,
                con,
                lake=lake,
                bronze=bronze,
                spec=spec,
                model=model,
                select_sql=select_sql("typed_records"),
            )
            ensure_table(con, "silver", silver_table, model)
        return Output(typed_table(model, result.frame), metadata=result.metadata)

    return _silver


def derived_asset(
    layer: str,
    table: str,
    *,
    model: type[pa.DataFrameModel],
    description: str,
    ins: Mapping[str, Sequence[str] | AssetIn],
    sql: SqlBuilder,
    partitioned: bool = True,
) -> AssetsDefinition:
    """A table computed by one SQL query over its inputs (TableRefs), validated (a failing
    row is a bug and fails the step). `sql(inputs, day_literals)` gets the step's days for
    per-day tables (whose rows carry `date`), none for whole-history ones, which rebuild
    after upstream partitions change."""

    @lake_asset(
        layer,
        table,
        group=GROUP,
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
            ensure_table(con, layer, table, model)
        rows = validated_gold(model, frame, table)
        return Output(typed_table(model, rows), metadata={"rows": len(rows)})

    return _derived


# --------------------------------------------------------------------------- bronze, silver

bronze_assets = [
    bronze_asset(SOURCE, table, f"Digital {table} (member portal / contact centre CSV).")
    for table in TABLES
]

silver_journeys = silver_landed_asset(
    "journeys",
    "digital_journeys",
    spec=JOURNEY_SPEC,
    model=schemas.SilverJourneyEvent,
    description="Member portal journey events, typed. A repeated event (same member, session, "
    "timestamp, journey type and action on a day) is quarantined as a duplicate.",
    select_sql=rules.silver_journeys_sql,
)
silver_calls = silver_landed_asset(
    "calls",
    "digital_calls",
    spec=CALL_SPEC,
    model=schemas.SilverCall,
    description="Contact-centre calls, typed. A repeated call_id on a day is quarantined as a "
    "duplicate (the first record wins).",
    select_sql=rules.silver_calls_sql,
)
silver_member_versions = silver_landed_asset(
    "members",
    "digital_member_versions",
    spec=MEMBER_SPEC,
    model=schemas.SilverMemberVersion,
    description="Every delivered version of a member, with its member_category. The latest "
    "version wins downstream.",
    select_sql=lambda typed: rules.silver_member_versions_sql(typed, RULES),
)
silver_members = derived_asset(
    "silver",
    "digital_members",
    model=schemas.CurrentMember,
    description="Latest version of every member (latest day, then file, then line), with "
    "member_category and the day it was delivered.",
    ins={"versions": MEMBER_VERSIONS},
    sql=lambda inputs, days: rules.current_members_sql(inputs["versions"].name),
    partitioned=False,
)


def _leakage_metadata(leakage: pd.DataFrame, calls: TableRef, journeys: TableRef) -> dict:
    by_type = leakage.groupby("journey_type").size().to_dict() if len(leakage) else {}
    return {
        "leakage_calls": len(leakage),
        "leakage_calls_by_journey_type": MetadataValue.json(
            {str(key): int(value) for key, value in by_type.items()}
        ),
        "calls_read_from": str(calls.first),
        "journeys_read_from": str(journeys.first),
    }


@lake_asset(
    "silver",
    "digital_leakage_calls",
    group=GROUP,
    description="Leakage calls of the day: calls whose member had an abandon/error event of "
    f"the matching journey type at most {RULES.leakage_window_minutes} minutes before "
    "(inclusive), each attributed once to the latest such event, with time_to_call_minutes, "
    "is_repeat_call and the member's category as of the day.",
    model=schemas.SilverLeakageCall,
    ins={
        "calls": AssetIn(CALLS, partition_mapping=earlier_days(RULES.call_lookback_days)),
        "journeys": AssetIn(JOURNEYS, partition_mapping=earlier_days(RULES.journey_lookback_days)),
        "member_versions": AssetIn(MEMBER_VERSIONS),
    },
)
def silver_leakage_calls(
    context: AssetExecutionContext,
    warehouse: Warehouse,
    calls: TableRef,
    journeys: TableRef,
    member_versions: TableRef,
):
    days = [sql_date(day) for day in partition_dates(context)]
    sql = rules.leakage_calls_sql(calls.rows, journeys.rows, member_versions.name, days, RULES)
    with warehouse.connect() as con:
        frame = con.execute(sql).df()
        ensure_table(con, *LEAKAGE_CALLS, schemas.SilverLeakageCall)
    leakage = validated_gold(schemas.SilverLeakageCall, frame, "digital_leakage_calls")
    return Output(
        typed_table(schemas.SilverLeakageCall, leakage),
        metadata=_leakage_metadata(leakage, calls, journeys),
    )


# --------------------------------------------------------------------------- gold

leakage_daily_summary = derived_asset(
    "gold",
    "leakage_daily_summary",
    model=schemas.LeakageDailySummary,
    description="Per day and journey type: leakage calls, their cost, the member category with "
    "most of them, and the week-over-week trend (%).",
    ins={
        "leakage": AssetIn(
            LEAKAGE_CALLS, partition_mapping=earlier_days(RULES.trend_lookback_days)
        ),
        "calls": AssetIn(CALLS, partition_mapping=earlier_days(RULES.trend_lookback_days)),
    },
    sql=lambda inputs, days: rules.daily_summary_sql(
        inputs["leakage"].rows, inputs["calls"].rows, days, RULES
    ),
)
leakage_segment_drilldown = derived_asset(
    "gold",
    "leakage_segment_drilldown",
    model=schemas.LeakageSegmentDrilldown,
    description="Per day, journey type and member category: leakage calls, cost, repeat-call "
    "share (%) and mean sentiment.",
    ins={"leakage": LEAKAGE_CALLS},
    sql=lambda inputs, days: rules.segment_drilldown_sql(inputs["leakage"].rows, RULES),
)
leakage_journey_timeline = derived_asset(
    "gold",
    "leakage_journey_timeline",
    model=schemas.LeakageJourneyTimeline,
    description="Per day, every member with a leakage call: their portal events and calls in "
    "time order, including the whole session each leakage call is attributed to.",
    ins={
        "leakage": LEAKAGE_CALLS,
        "journeys": AssetIn(JOURNEYS, partition_mapping=earlier_days(RULES.journey_lookback_days)),
        "calls": CALLS,
    },
    sql=lambda inputs, days: rules.journey_timeline_sql(
        inputs["leakage"].rows, inputs["journeys"].rows, inputs["calls"].rows, days
    ),
)
leakage_root_cause = derived_asset(
    "gold",
    "leakage_root_cause",
    model=schemas.LeakageRootCause,
    description="Per day, journey type, error code and device: leakage calls and their share "
    "(%) of the journey type's leakage calls that day.",
    ins={"leakage": LEAKAGE_CALLS},
    sql=lambda inputs, days: rules.root_cause_sql(inputs["leakage"].rows),
)
leakage_savings_model = derived_asset(
    "gold",
    "leakage_savings_model",
    model=schemas.LeakageSavingsModel,
    description="Per journey type, all history: avoidable calls a day, annualized cost and "
    "savings at the low/mid/high fix rates.",
    ins={"leakage": LEAKAGE_CALLS, "calls": CALLS},
    sql=lambda inputs, days: rules.savings_model_sql(
        inputs["leakage"].name, inputs["calls"].name, RULES
    ),
    partitioned=False,
)
leakage_action_recommendations = derived_asset(
    "gold",
    "leakage_action_recommendations",
    model=schemas.LeakageActionRecommendation,
    description="Ranked actions for the largest root causes, all history: owner, effort and "
    "estimated annual savings, from the configured templates.",
    ins={"leakage": LEAKAGE_CALLS, "calls": CALLS},
    sql=lambda inputs, days: rules.action_recommendations_sql(
        inputs["leakage"].name, inputs["calls"].name, RULES
    ),
    partitioned=False,
)

partitioned_assets = [
    *bronze_assets,
    silver_journeys,
    silver_calls,
    silver_member_versions,
    silver_leakage_calls,
    leakage_daily_summary,
    leakage_segment_drilldown,
    leakage_journey_timeline,
    leakage_root_cause,
]
rollup_assets = [
    silver_members,
    leakage_savings_model,
    leakage_action_recommendations,
]
