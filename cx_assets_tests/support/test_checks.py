"""Support's checks of its ticket analytics on tiny assets declared the way the domain
declares them: SLA flags that disagree with the rule (or a table never written), and the share
of breached tickets in its band and window. Each has a case where it must fail (and one where
it passes), with its severity. The real assets pass them in `test_assets.py`; the checks of
the models' outputs are in `test_model_checks.py`."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from cx_assets.lakehouse.assets import lake_asset
from cx_assets.support.checks import (
    BREACH_SHARE_IN_BAND,
    SLA_FLAGS_CONSISTENT,
    breach_share_check,
    sla_flags_check,
)
from cx_assets_tests.conftest import QUIET
from cx_assets_tests.support.check_runs import (
    ERROR,
    GROUP,
    WARN,
    check_evaluation,
    never_written,
)

# --------------------------------------------------------------------------- SLA flags


@lake_asset("silver", group=GROUP, partitioned=False)
def deliveries(context) -> pd.DataFrame:
    """The latest materialized day is 2024-03-01: the as-of time is 2024-03-02 00:00 UTC."""
    return pd.DataFrame({"date": [date(2024, 2, 29), date(2024, 3, 1)]})


def _analytics_row(ticket_id: str, **changes) -> dict:
    """A high-priority ticket answered in 10 minutes, unresolved, whose 24-hour resolution
    target (2024-03-02 08:00) lies after the as-of time: nothing breached."""
    return {
        "date": date(2024, 3, 1),
        "ticket_id": ticket_id,
        "priority": "high",
        "created_at": pd.Timestamp("2024-03-01 08:00", tz="UTC"),
        "first_response_at": pd.Timestamp("2024-03-01 08:10", tz="UTC"),
        "resolved_at": pd.NaT,
        "first_response_minutes": 10.0,
        "resolution_minutes": float("nan"),
        "first_response_target_minutes": 240,
        "resolution_target_minutes": 1440,
        "first_response_breached": False,
        "resolution_breached": False,
        **changes,
    }


@lake_asset("gold", group=GROUP, partitioned=False)
def consistent_analytics(context) -> pd.DataFrame:
    """Flags that agree with the rule."""
    return pd.DataFrame([_analytics_row("T1")])


@lake_asset("gold", group=GROUP, partitioned=False)
def inconsistent_analytics(context) -> pd.DataFrame:
    """A resolution flagged breached before its target passed, and a wrong target."""
    return pd.DataFrame(
        [
            _analytics_row("T1"),
            _analytics_row("T2", resolution_breached=True),
            _analytics_row("T3", first_response_target_minutes=60),
        ]
    )


def test_sla_flags_that_disagree_with_the_rule_fail_with_error(lake):
    check = sla_flags_check(inconsistent_analytics, deliveries)
    result, evaluation = check_evaluation(
        lake, [deliveries, inconsistent_analytics], check, "gold/inconsistent_analytics",
        SLA_FLAGS_CONSISTENT,
    )  # fmt: skip
    assert not evaluation.passed and evaluation.severity == ERROR
    assert evaluation.metadata["inconsistent_tickets"].value == 2
    assert not result.success  # blocking
    # Which tickets and which of their fields (found in an audit of the checks' messages:
    # it named one ticket and no field, where the forecast's and the plan's checks name
    # their first 5 rows, so an engineer had to redo the SLA rule by hand to find out).
    assert evaluation.metadata["inconsistent_examples"].value == [
        {"date": "2024-03-01", "ticket_id": "T2", "fields": ["resolution_breached"]},
        {"date": "2024-03-01", "ticket_id": "T3", "fields": ["first_response_target_minutes"]},
    ]
    assert evaluation.description == (
        "2 tickets' SLA fields disagree with the rule, such as T2 (created 2024-03-01): "
        "resolution_breached"
    )


def test_sla_flags_that_agree_pass(lake):
    check = sla_flags_check(consistent_analytics, deliveries)
    _, evaluation = check_evaluation(
        lake, [deliveries, consistent_analytics], check, "gold/consistent_analytics",
        SLA_FLAGS_CONSISTENT,
    )  # fmt: skip
    assert evaluation.passed


@lake_asset("silver", group=GROUP, partitioned=False)
def deliveries_a_day_later(context) -> pd.DataFrame:
    """A day delivered after the analytics' last ticket: 2024-03-02, with no ticket created,
    is the latest day, so the as-of time is 2024-03-03 00:00 UTC."""
    return pd.DataFrame({"date": [date(2024, 3, 1), date(2024, 3, 2)]})


@lake_asset("gold", group=GROUP, partitioned=False)
def breached_by_the_as_of_time(context) -> pd.DataFrame:
    """T1's 24-hour resolution target (2024-03-02 08:00) passed before the as-of time,
    unresolved: breached."""
    return pd.DataFrame([_analytics_row("T1", resolution_breached=True)])


def test_sla_flags_are_judged_as_of_the_latest_delivered_day_not_ticket(lake):
    """The rule's as-of time is the end of the latest day delivered (`support_deliveries`),
    a day with no ticket created included, as gold computes the flags; found by mutation
    testing: judged as of the latest ticket's day (2024-03-02 00:00, before T1's target),
    T1's breach read as wrong and the check failed the run, and every test passed."""
    check = sla_flags_check(breached_by_the_as_of_time, deliveries_a_day_later)
    result, evaluation = check_evaluation(
        lake, [deliveries_a_day_later, breached_by_the_as_of_time], check,
        "gold/breached_by_the_as_of_time", SLA_FLAGS_CONSISTENT,
    )  # fmt: skip
    assert evaluation.passed, evaluation.description
    assert result.success
    # Delivered up to 2024-03-01 (as of 03-02 00:00, before its target), T1's breach is
    # early: one ticket fails the check (found by mutation testing too: a check passing
    # one wrong ticket, failing from two, passed every test).
    check = sla_flags_check(breached_by_the_as_of_time, deliveries)
    result, early = check_evaluation(
        lake, [deliveries, breached_by_the_as_of_time], check,
        "gold/breached_by_the_as_of_time", SLA_FLAGS_CONSISTENT,
    )  # fmt: skip
    assert not early.passed and early.severity == ERROR
    assert early.metadata["inconsistent_tickets"].value == 1
    assert early.description == (
        "1 ticket's SLA fields disagree with the rule, such as T1 (created 2024-03-01): "
        "resolution_breached"
    )
    assert not result.success


@pytest.mark.parametrize(
    ("make_check", "name"),
    [(sla_flags_check, SLA_FLAGS_CONSISTENT), (breach_share_check, BREACH_SHARE_IN_BAND)],
)
def test_a_missing_analytics_table_fails_as_error(lake, make_check, name):
    """The breach share's configured WARN included: with no table, nothing is judged."""
    result, evaluation = check_evaluation(
        lake, [deliveries, never_written], make_check(never_written, deliveries),
        "gold/never_written", name,
    )  # fmt: skip
    assert not evaluation.passed and "does not exist" in evaluation.description
    assert evaluation.severity == ERROR
    assert not result.success  # both block: an ERROR fails the run


@pytest.mark.parametrize(
    ("make_check", "name"),
    [(sla_flags_check, SLA_FLAGS_CONSISTENT), (breach_share_check, BREACH_SHARE_IN_BAND)],
)
def test_a_missing_deliveries_table_fails_as_error_naming_it(lake, make_check, name):
    """The as-of day is read from the deliveries: a check run alone on a data root that
    never built them fails as ERROR naming that table, as with the analytics' (found by
    mutation testing: only the first table looked for, the check's step crashed in
    DuckDB, and every test passed)."""
    check = make_check(consistent_analytics, never_written)
    result, evaluation = check_evaluation(
        lake, [never_written, consistent_analytics], check, "gold/consistent_analytics", name
    )
    assert not evaluation.passed and evaluation.severity == ERROR
    assert evaluation.description == "gold/never_written does not exist"
    assert not result.success


# --------------------------------------------------------------------------- breach share


@lake_asset("gold", group=GROUP, partitioned=False)
def mostly_breached(context) -> pd.DataFrame:
    """Three of four tickets of the as-of day breached: T2 its resolution target alone
    (found by mutation testing: only first responses counted as breaches passed every test)."""
    return pd.DataFrame(
        [
            _analytics_row(f"T{n}", first_response_breached=n < 2, resolution_breached=n == 2)
            for n in range(4)
        ]
    )


def test_a_breach_share_outside_the_band_warns_and_the_band_is_run_config(lake):
    check = breach_share_check(mostly_breached, deliveries)
    result, evaluation = check_evaluation(
        lake, [deliveries, mostly_breached], check, "gold/mostly_breached", BREACH_SHARE_IN_BAND
    )
    assert not evaluation.passed and evaluation.severity == WARN
    assert evaluation.metadata["share"].value == 0.75
    assert result.success  # WARN blocks nothing

    def judged_in_band(low: float, high: float):
        op = "gold__mostly_breached_breach_share_in_band"
        config = {**QUIET, "ops": {op: {"config": {"low": low, "high": high}}}}
        _, evaluation = check_evaluation(
            lake, [deliveries, mostly_breached], check, "gold/mostly_breached",
            BREACH_SHARE_IN_BAND, run_config=config,
        )  # fmt: skip
        return evaluation

    assert judged_in_band(0.0, 0.8).passed
    # Its bounds are inside the band: a share of 0.75 passes a band of [0.75, 0.75] (found
    # by mutation testing: either bound strict passed every test).
    on_both = judged_in_band(0.75, 0.75)
    assert on_both.passed, on_both.description


def test_a_breach_share_raised_to_error_fails_the_run_naming_the_days_it_judged(lake):
    """Found in an audit of the checks: the share's severity as run config was shown
    nowhere, and a failing share said only "breach share 0.750 outside [0.05, 0.35]", not
    of which tickets: the window's days were in no message and no metadata, so an engineer
    could not tell which days to look at (the as-of day moves with every run)."""
    check = breach_share_check(mostly_breached, deliveries)
    config = {
        **QUIET,
        "ops": {"gold__mostly_breached_breach_share_in_band": {"config": {"severity": "ERROR"}}},
    }
    result, evaluation = check_evaluation(
        lake, [deliveries, mostly_breached], check, "gold/mostly_breached",
        BREACH_SHARE_IN_BAND, run_config=config,
    )  # fmt: skip
    assert not evaluation.passed and evaluation.severity == ERROR
    assert not result.success  # blocking, as any check raised to ERROR
    assert evaluation.description == (
        "breach share 0.750 (3 of 4 tickets created 2024-02-24..2024-03-01) outside [0.05, 0.35]"
    )
    days = evaluation.metadata["first_day"].value, evaluation.metadata["last_day"].value
    assert days == ("2024-02-24", "2024-03-01")


@lake_asset("gold", group=GROUP, partitioned=False)
def never_breached(context) -> pd.DataFrame:
    """Four tickets of the as-of day, none breached: a share of 0, below any real service
    (targets mis-set, or breaches not computed)."""
    return pd.DataFrame([_analytics_row(f"T{n}") for n in range(4)])


def test_a_breach_share_below_the_band_warns(lake):
    check = breach_share_check(never_breached, deliveries)
    _, evaluation = check_evaluation(
        lake, [deliveries, never_breached], check, "gold/never_breached", BREACH_SHARE_IN_BAND
    )
    assert not evaluation.passed and evaluation.severity == WARN
    assert evaluation.metadata["share"].value == 0.0


@lake_asset("gold", group=GROUP, partitioned=False)
def breached_long_ago(context) -> pd.DataFrame:
    """A breached ticket of the as-of day (2024-03-01); one not breached six days before
    (2024-02-24, the window's first day) and one breached seven days before (2024-02-23,
    the day before the window); three breached ones eight days before. The 7 days ending on
    the as-of day are 02-24..03-01: 2 tickets, 1 breached; a 9-day window holds all 6."""
    old = [
        _analytics_row(f"old{n}", date=date(2024, 2, 22), first_response_breached=True)
        for n in range(3)
    ]
    edges = [
        _analytics_row("first_day", date=date(2024, 2, 24)),
        _analytics_row("day_before", date=date(2024, 2, 23), first_response_breached=True),
    ]
    return pd.DataFrame([_analytics_row("T1", first_response_breached=True), *edges, *old])


def test_the_breach_share_counts_the_tickets_of_its_window_only(lake):
    check = breach_share_check(breached_long_ago, deliveries)
    key = "gold/breached_long_ago"
    _, week = check_evaluation(
        lake, [deliveries, breached_long_ago], check, key, BREACH_SHARE_IN_BAND
    )
    assert (week.metadata["tickets"].value, week.metadata["breached"].value) == (2, 1)
    config = {
        **QUIET,
        "ops": {"gold__breached_long_ago_breach_share_in_band": {"config": {"window_days": 9}}},
    }
    _, longer = check_evaluation(
        lake, [deliveries, breached_long_ago], check, key, BREACH_SHARE_IN_BAND,
        run_config=config,
    )  # fmt: skip
    assert (longer.metadata["tickets"].value, longer.metadata["breached"].value) == (6, 5)


@lake_asset("gold", group=GROUP, partitioned=False)
def breached_a_day_ahead(context) -> pd.DataFrame:
    """`breached_long_ago`'s tickets, and a breached one of 2024-03-02, a day after the
    as-of day of `deliveries`."""
    from dagster import build_asset_context

    ahead = _analytics_row("ahead", date=date(2024, 3, 2), first_response_breached=True)
    return pd.concat(
        [breached_long_ago(build_asset_context()), pd.DataFrame([ahead])], ignore_index=True
    )


@lake_asset("silver", group=GROUP, partitioned=False)
def deliveries_a_month_later(context) -> pd.DataFrame:
    """Days delivered up to 2024-04-01, a month after the analytics' last ticket."""
    return pd.DataFrame({"date": [date(2024, 3, 1), date(2024, 4, 1)]})


@pytest.mark.parametrize(
    ("analytics", "delivered", "counted", "window"),
    [
        # The 7 days ending on 2024-03-01 hold T1 and 02-24's ticket, not 03-02's (found by
        # mutation testing: the window's end left out passed every test).
        (breached_a_day_ahead, deliveries, (2, 1), ("2024-02-24", "2024-03-01")),
        # No ticket created in the 7 days to 2024-04-01: no share, and the check passes
        # (found by mutation testing: a window without tickets failing passed every test).
        (breached_long_ago, deliveries_a_month_later, (0, 0), ("2024-03-26", "2024-04-01")),
        # Delivered up to 2024-03-02, a day with no ticket created: the 7 days are
        # 02-25..03-02, holding T1 alone (breached), where 7 days ending on the latest
        # ticket's day (03-01) hold T1 and 02-24's (found by mutation testing: that window
        # passed every test).
        (breached_long_ago, deliveries_a_day_later, (1, 1), ("2024-02-25", "2024-03-02")),
    ],
    ids=[
        "no ticket after the as-of day",
        "no ticket in the window",
        "ends on the latest delivered day",
    ],
)
def test_the_breach_shares_window_is_the_seven_days_to_the_latest_delivered_day(
    lake, analytics, delivered, counted, window
):
    check = breach_share_check(analytics, delivered)
    _, evaluation = check_evaluation(
        lake, [delivered, analytics], check, analytics.key.to_user_string(),
        BREACH_SHARE_IN_BAND,
    )  # fmt: skip
    metadata = evaluation.metadata
    assert (metadata["tickets"].value, metadata["breached"].value) == counted
    assert (metadata["first_day"].value, metadata["last_day"].value) == window
    # Every window here with a ticket is mostly breached, far above the band.
    assert evaluation.passed == (counted == (0, 0))


def _with_window_days(window_days: int) -> dict:
    """The quiet run config with the breach share judged over `window_days` days."""
    step = "gold__breached_long_ago_breach_share_in_band"
    return {**QUIET, "ops": {step: {"config": {"window_days": window_days}}}}


@pytest.mark.parametrize("window_days", [0, -3])
def test_a_breach_share_window_of_no_days_is_refused_when_the_run_is_created(lake, window_days):
    """A window of no days held no ticket, so the share was None and passed: an operator's
    typo (or a window set to 0) silenced the check for good (found in a review audit). The
    check then failed as ERROR when it ran, after the steps before it; the run is now
    refused when Dagster creates it (`check_settings`), before any step."""
    from dagster import DagsterInvalidConfigError, materialize

    check = breach_share_check(breached_long_ago, deliveries)
    with pytest.raises(DagsterInvalidConfigError) as refused:
        materialize(
            [deliveries, breached_long_ago, check],
            resources=lake.resources,
            instance=lake.instance,
            run_config=_with_window_days(window_days),
        )
    said = str(refused.value)
    assert "root:ops:gold__breached_long_ago_breach_share_in_band:config " in said, said
    assert f"window_days: {window_days}: should be at least 1 (a window of no days" in said
    assert not lake.instance.get_runs()


@pytest.mark.parametrize("window_days", [1_000_000, 10**12])
def test_a_breach_share_window_longer_than_history_judges_every_ticket(lake, window_days):
    """An operator's window of "everything" (a million days) failed the check in DuckDB's
    binder error (a date before any it holds), as 10**12 did, where every ticket of the
    history lies inside it."""
    from cx_assets.lakehouse.partitions import daily_partitions

    check = breach_share_check(breached_long_ago, deliveries)
    config = _with_window_days(window_days)
    _, evaluation = check_evaluation(
        lake, [deliveries, breached_long_ago], check, "gold/breached_long_ago",
        BREACH_SHARE_IN_BAND, run_config=config,
    )  # fmt: skip
    assert (evaluation.metadata["tickets"].value, evaluation.metadata["breached"].value) == (6, 5)
    # The window's first day is the lake's: no day before it holds a ticket.
    assert evaluation.metadata["first_day"].value == daily_partitions.start.date().isoformat()
