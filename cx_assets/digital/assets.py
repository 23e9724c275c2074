"""Digital-to-call leakage: bronze (as landed) → silver (typed, deduplicated, members with
their category, leakage calls) → gold (the six tables of contract section 4.3). One function
per table; the rules are SQL in `rules.py` (silver) and `gold_rules.py`.

Earlier days are read through the windows stated on each input, never more:
- the leakage calls of day D read journey events of D-1..D (a failure late on D-1 leads to
  a call early on D), calls of D-7..D (repeat calls), and every member version (the
  category as of D: the latest version delivered on or before it, filtered in SQL);
- leakage_daily_summary of D reads leakage calls and calls of D-13..D (week-over-week trend);
- leakage_journey_timeline of D reads journey events of D-1..D (sessions crossing midnight).
"""

import dataclasses
from collections.abc import Callable, Iterator
from datetime import date, timedelta

import pandas as pd
from dagster import AssetExecutionContext, MetadataValue, Output

from cx_assets.digital import gold_rules, plots, rules, schemas
from cx_assets.digital.gold_rules import leakage_share_sql
from cx_assets.digital.records import CALL_SPEC, JOURNEY_SPEC, MEMBER_SPEC
from cx_assets.digital.rules import DEFAULT_RULES, JOURNEY_EVENT_KEY
from cx_assets.lakehouse import written_days
from cx_assets.lakehouse.asset_factories import bronze_asset, latest_version_asset
from cx_assets.lakehouse.assets import LANDED_KEY, Band, lake_asset
from cx_assets.lakehouse.checks import timed_on_file_day
from cx_assets.lakehouse.derived import query_validated
from cx_assets.lakehouse.inputs import all_days, same_day, with_days_before
from cx_assets.lakehouse.io_managers import DayTables, TableRef
from cx_assets.lakehouse.partitions import partition_dates
from cx_assets.lakehouse.resources import Lake
from cx_assets.lakehouse.sql import in_days, qualified
from cx_assets.lakehouse.steps import TYPED_RECORDS, day_chunks, silver_from_bronze
from cx_assets.lakehouse.warehouse import Warehouse

GROUP = "digital"
RULES = DEFAULT_RULES

# Check names (band checks are named by their declaration).
LEAKAGE_SHARE = "leakage_share_in_band"

# --------------------------------------------------------------------------- bronze

bronze_journeys = bronze_asset(
    GROUP, "journeys", "Member portal journey events (CSV).", JOURNEY_SPEC
)
bronze_calls = bronze_asset(GROUP, "calls", "Contact-centre calls (CSV).", CALL_SPEC)
bronze_members = bronze_asset(GROUP, "members", "Health-plan members (CSV).", MEMBER_SPEC)

# --------------------------------------------------------------------------- silver


@lake_asset(
    "silver",
    group=GROUP,
    model=schemas.SilverJourneyEvent,
    grain=list(JOURNEY_EVENT_KEY),
    reconciles_with=bronze_journeys,
    bands=[timed_on_file_day("event_at", JOURNEY_SPEC)],
    ins={"bronze": same_day(bronze_journeys)},
)
def digital_journeys(
    context: AssetExecutionContext, warehouse: Warehouse, lake: Lake, bronze: TableRef
) -> Output[DayTables]:
    """Member portal journey events, typed. A repeated event (same member, session,
    timestamp, journey type and action on a day) is quarantined as a duplicate."""
    return silver_from_bronze(
        context,
        warehouse=warehouse,
        lake=lake,
        bronze=bronze,
        spec=JOURNEY_SPEC,
        model=schemas.SilverJourneyEvent,
        select_sql=rules.silver_journeys_sql(TYPED_RECORDS),
        by_day=True,
    )


@lake_asset(
    "silver",
    group=GROUP,
    model=schemas.SilverCall,
    grain=["call_id"],
    grain_across_days=True,
    metadata={LANDED_KEY: list(CALL_SPEC.landed_key)},
    reconciles_with=bronze_calls,
    bands=[timed_on_file_day("called_at", CALL_SPEC)],
    ins={"bronze": same_day(bronze_calls)},
)
def digital_calls(
    context: AssetExecutionContext, warehouse: Warehouse, lake: Lake, bronze: TableRef
) -> Output[DayTables]:
    """Contact-centre calls, typed. A call_id is kept once, in its first delivery: a repeat
    on the same day or any later day is quarantined as a duplicate naming where (or on which
    day) it was first delivered."""
    return silver_from_bronze(
        context,
        warehouse=warehouse,
        lake=lake,
        bronze=bronze,
        spec=CALL_SPEC,
        model=schemas.SilverCall,
        select_sql=rules.silver_calls_sql(TYPED_RECORDS),
        by_day=True,
    )


@lake_asset(
    "silver",
    group=GROUP,
    model=schemas.SilverMemberVersion,
    reconciles_with=bronze_members,
    ins={"bronze": same_day(bronze_members)},
)
def digital_member_versions(
    context: AssetExecutionContext, warehouse: Warehouse, lake: Lake, bronze: TableRef
) -> Output[DayTables]:
    """Every delivered version of a member, with its member_category. The latest version
    wins downstream."""
    return silver_from_bronze(
        context,
        warehouse=warehouse,
        lake=lake,
        bronze=bronze,
        spec=MEMBER_SPEC,
        model=schemas.SilverMemberVersion,
        select_sql=rules.silver_member_versions_sql(TYPED_RECORDS, RULES),
        by_day=True,
    )


digital_members = latest_version_asset(
    digital_member_versions,
    name="digital_members",
    key_column="member_id",
    model=schemas.CurrentMember,
    description="Latest version of every member (latest day, then file, then line), with "
    "member_category and the day it was delivered.",
)

share_low, share_high = RULES.leakage_share_band


@lake_asset(
    "silver",
    group=GROUP,
    model=schemas.SilverLeakageCall,
    # A call counts once, against its latest qualifying event: its id is unique over all
    # days, not only its own (a call re-sent on a later day is quarantined in silver calls).
    grain=["call_id"],
    grain_across_days=True,
    bands=[
        Band(
            name=LEAKAGE_SHARE,
            ratio_sql=leakage_share_sql("{table}", qualified(*digital_calls.key.path)),
            low=share_low,
            high=share_high,
            description="Leakage calls ÷ all calls of a day.",
        )
    ],
    ins={
        "calls": with_days_before(digital_calls, RULES.call_lookback_days),
        "journeys": with_days_before(digital_journeys, RULES.journey_lookback_days),
        "member_versions": all_days(digital_member_versions),
    },
)
def digital_leakage_calls(
    context: AssetExecutionContext,
    warehouse: Warehouse,
    calls: TableRef,
    journeys: TableRef,
    member_versions: TableRef,
) -> Output[DayTables]:
    """Leakage calls of the day: calls whose member had an abandon/error event of the
    matching journey type within the leakage window before (inclusive), each attributed once
    to the latest such event, with time_to_call_minutes, is_repeat_call and the member's
    category as of the day."""
    by_type: dict[str, int] = {}

    def leakage_of(days: list[date]) -> pd.DataFrame:
        leakage = query_validated(
            warehouse,
            rules.leakage_calls_sql(
                _read_as_on(calls, days, RULES.call_lookback_days).rows,
                _read_as_on(journeys, days, RULES.journey_lookback_days).rows,
                _read_as_on(member_versions, days).rows,
                days,
                RULES,
            ),
            schemas.SilverLeakageCall,
        )
        for journey_type, count in leakage.groupby("journey_type").size().items():
            by_type[str(journey_type)] = by_type.get(str(journey_type), 0) + int(count)
        return leakage

    def metadata() -> dict:
        return {
            "leakage_calls": sum(by_type.values()),
            "leakage_calls_by_journey_type": MetadataValue.json(dict(sorted(by_type.items()))),
            "calls_read_from": str(calls.first),
            "journeys_read_from": str(journeys.first),
        }

    return Output(_a_day_at_a_time(context, warehouse, calls, leakage_of, metadata))


def _read_as_on(ref: TableRef, days: list[date], days_before: int | None = None) -> TableRef:
    """`ref` (a range step's input) as a step of `days` (consecutive) reads it: those days
    and the `days_before` the first (None: every day of the window up to the last)."""
    first = ref.first
    if days_before is not None:
        first = days[0] - timedelta(days=days_before)
        first = first if ref.first is None else max(first, ref.first)
    return dataclasses.replace(ref, first=first, last=days[-1])


def _a_day_at_a_time(
    context: AssetExecutionContext,
    warehouse: Warehouse,
    calls: TableRef,
    rows_of: Callable[[list[date]], pd.DataFrame],
    metadata: Callable[[], dict] | None = None,
) -> DayTables:
    """The step's days computed and written one by one (`rows_of([day])`, as a one-day run
    computes it), so a range holds one day's rows at a time; small days a few at a time,
    by the calls of each (`steps.day_chunks`, `CHUNK_CALLS`: each chunk costs the step a
    query and a write, about 55-75 ms however few its rows); `metadata()` once all are."""
    output = DayTables(chunks=())
    days = partition_dates(context)

    def chunks() -> Iterator[tuple[list[date], pd.DataFrame]]:
        for chunk in day_chunks(days, _calls_by_day(warehouse, calls, days), CHUNK_CALLS):
            yield chunk, rows_of(chunk)
        if metadata is not None:
            output.metadata.update(metadata())

    output.chunks = chunks()
    return output


# At most this many calls in a chunk of days of the leakage calls or the timeline, a tenth
# of a scale-1 day's (whose timeline holds some 60,000 rows): 90 days at scale 0.01 (about
# 240 calls a day) in chunks of 20,000 calls peaked 0.05-0.07 GB higher than a day at a
# time, of 5,000 0.02-0.035 GB, of 2,000 within 0.02 GB (0.43-0.44 GB).
CHUNK_CALLS = 2_000


def _calls_by_day(
    warehouse: Warehouse, calls: TableRef, days: list[date]
) -> dict[date, tuple[int, int]]:
    """(silver calls, 0 bytes) of each of `days` (the chunks' measure: leakage calls and the
    timeline's rows follow them); none for a one-day step."""
    if len(days) < 2:
        return {}
    with warehouse.connect() as con:
        counted = dict(
            con.execute(
                f"SELECT date, count(*) FROM {calls.rows} WHERE {in_days(days)} GROUP BY date"
            ).fetchall()
        )
    return {day: (counted.get(day, 0), 0) for day in days}


# --------------------------------------------------------------------------- gold, per day


@lake_asset(
    "gold",
    group=GROUP,
    model=schemas.LeakageDailySummary,
    grain=["journey_type"],
    ins={
        "leakage": with_days_before(digital_leakage_calls, RULES.trend_lookback_days),
        "calls": with_days_before(digital_calls, RULES.trend_lookback_days),
    },
)
def leakage_daily_summary(
    context: AssetExecutionContext, warehouse: Warehouse, leakage: TableRef, calls: TableRef
) -> Output[pd.DataFrame]:
    """Per day and journey type: leakage calls, their cost, the member category with most
    of them, and the week-over-week trend (%)."""
    summary = query_validated(
        warehouse,
        gold_rules.daily_summary_sql(leakage.rows, calls.rows, partition_dates(context), RULES),
        schemas.LeakageDailySummary,
    )
    return Output(summary, metadata=plots.daily_summary_metadata(summary))


@lake_asset(
    "gold",
    group=GROUP,
    model=schemas.LeakageSegmentDrilldown,
    grain=["journey_type", "member_category"],
    ins={"leakage": same_day(digital_leakage_calls)},
)
def leakage_segment_drilldown(warehouse: Warehouse, leakage: TableRef) -> pd.DataFrame:
    """Per day, journey type and member category: leakage calls, cost, repeat-call share
    (%) and mean sentiment."""
    return query_validated(
        warehouse,
        gold_rules.segment_drilldown_sql(leakage.rows, RULES),
        schemas.LeakageSegmentDrilldown,
    )


@lake_asset(
    "gold",
    group=GROUP,
    model=schemas.LeakageJourneyTimeline,
    # A journey event's natural key (`rules.JOURNEY_EVENT_KEY`: two journey types may fail in
    # one session in the same second), or a call's id.
    grain=[
        "member_id",
        "event_kind",
        "event_at",
        "session_id",
        "journey_type",
        "action",
        "call_id",
    ],
    ins={
        "leakage": same_day(digital_leakage_calls),
        "journeys": with_days_before(digital_journeys, RULES.journey_lookback_days),
        "calls": same_day(digital_calls),
    },
)
def leakage_journey_timeline(
    context: AssetExecutionContext,
    warehouse: Warehouse,
    leakage: TableRef,
    journeys: TableRef,
    calls: TableRef,
) -> DayTables:
    """Per day, every member with a leakage call: their portal events and calls in time
    order, including the whole session each leakage call is attributed to."""

    def timeline_of(days: list[date]) -> pd.DataFrame:
        return query_validated(
            warehouse,
            gold_rules.journey_timeline_sql(
                _read_as_on(leakage, days, 0).rows,
                _read_as_on(journeys, days, RULES.journey_lookback_days).rows,
                _read_as_on(calls, days, 0).rows,
                days,
                RULES,
            ),
            schemas.LeakageJourneyTimeline,
        )

    return _a_day_at_a_time(context, warehouse, calls, timeline_of)


@lake_asset(
    "gold",
    group=GROUP,
    model=schemas.LeakageRootCause,
    grain=["journey_type", "error_code", "device_type"],
    ins={"leakage": same_day(digital_leakage_calls)},
)
def leakage_root_cause(warehouse: Warehouse, leakage: TableRef) -> pd.DataFrame:
    """Per day, journey type, error code and device: leakage calls and their share (%) of
    the journey type's leakage calls that day."""
    return query_validated(
        warehouse, gold_rules.root_cause_sql(leakage.rows), schemas.LeakageRootCause
    )


# --------------------------------------------------------------------------- gold, whole history


def materialized_days(warehouse: Warehouse) -> int:
    """Days the leakage calls were materialized for, as the warehouse holds them (a day
    whose call files never came is materialized too, with no rows, and counts 0 in the
    means). Not Dagster's record: found in an audit, a Dagster home lost, or a warehouse
    moved aside and rebuilt from recent days, made the means over days the other did not
    have (50% too high, three times too low), every check passing."""
    layer, table = digital_leakage_calls.key.path
    with warehouse.connect() as con:
        return len(written_days.days_built(con, layer, table))


@lake_asset(
    "gold",
    group=GROUP,
    model=schemas.LeakageSavingsModel,
    partitioned=False,
    grain=["journey_type"],
    ins={"leakage": all_days(digital_leakage_calls)},
)
def leakage_savings_model(warehouse: Warehouse, leakage: TableRef) -> pd.DataFrame:
    """Per journey type, all history: avoidable calls a day (over every materialized day),
    annualized cost and savings at the low/mid/high fix rates."""
    return query_validated(
        warehouse,
        gold_rules.savings_model_sql(leakage.rows, materialized_days(warehouse), RULES),
        schemas.LeakageSavingsModel,
    )


@lake_asset(
    "gold",
    group=GROUP,
    model=schemas.LeakageActionRecommendation,
    partitioned=False,
    grain=["rank"],
    ins={"leakage": all_days(digital_leakage_calls)},
)
def leakage_action_recommendations(warehouse: Warehouse, leakage: TableRef) -> pd.DataFrame:
    """Ranked actions for the largest root causes, all history: owner, effort and estimated
    annual savings, from the configured templates."""
    return query_validated(
        warehouse,
        gold_rules.action_recommendations_sql(leakage.rows, materialized_days(warehouse), RULES),
        schemas.LeakageActionRecommendation,
    )
