"""CRM company-level rules (churn risk, segmentation) on hand-worked cases, evaluated with
the same SQL the assets run."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from cx_assets.crm import company_rules
from cx_assets_tests.crm.silver_rows import T0, interaction
from cx_assets_tests.row_order import ORDER_SENSITIVE, results_in_every_order

# --------------------------------------------------------------------------- churn risk


def churn(con, interactions, deals=(), companies=(10,)):
    con.register("interactions_", pd.DataFrame(interactions))
    con.register(
        "contacts_",
        pd.DataFrame({"contact_id": list(companies), "contact_type": ["company"] * len(companies)}),
    )
    con.register("deals_", pd.DataFrame(list(deals) or [{"company_id": -1, "status": "open"}]))
    frame = con.execute(company_rules.churn_risk_sql("interactions_", "contacts_", "deals_")).df()
    return frame.set_index("company_id")


def healthy_history(days: int, company: int = 10):
    return [interaction(i, 1, company, T0 + timedelta(days=i)) for i in range(days)]


def test_more_friction_never_lowers_churn_risk(con):
    base = healthy_history(10)
    before = churn(con, base).loc[10].churn_risk_score
    complaint = {**interaction(99, 1, 10, T0 + timedelta(days=9, hours=1)), "is_friction": True}
    after = churn(con, [*base, complaint]).loc[10].churn_risk_score
    assert after > before


def test_longer_silence_never_lowers_churn_risk(con):
    history = healthy_history(10)
    scores = []
    for silent_days in (0, 5, 30, 200):
        marker = interaction(500 + silent_days, 1, 99, T0 + timedelta(days=9 + silent_days))
        scores.append(churn(con, [*history, marker], companies=(10, 99)).loc[10].churn_risk_score)
    assert scores == sorted(scores)
    assert scores[-1] > scores[0]


def test_churn_score_worked_example(con):
    # 4 healthy interactions in the 30 days before the last one, 8 in the 30 before that:
    # trend = (8 - 4) / 8 = 0.5; 1 friction of 13 valid; 1 lost of 2 closed deals;
    # last healthy at day 60 12:00 UTC (09:00 in Sao Paulo); the as-of day 60 ends at local
    # midnight, day 61 03:00 UTC: silent 0.625 days -> 0.625/90.
    rows = [interaction(i, 1, 10, T0 + timedelta(days=60 - 30 - 3 * i - 1)) for i in range(8)]
    rows += [interaction(100 + i, 1, 10, T0 + timedelta(days=60 - 7 * i)) for i in range(4)]
    rows += [{**interaction(200, 1, 10, T0 + timedelta(days=59)), "is_friction": True}]
    deals = [{"company_id": 10, "status": "won"}, {"company_id": 10, "status": "lost"}]
    row = churn(con, rows, deals).loc[10]
    assert row.trend_component == pytest.approx(0.5)
    assert row.friction_share == pytest.approx(1 / 13)
    assert row.lost_deal_share == pytest.approx(0.5)
    assert row.days_since_last_healthy_interaction == pytest.approx(0.625)
    expected = 100 * (0.35 * (0.625 / 90) + 0.20 * 0.5 + 0.30 / 13 + 0.15 * 0.5)
    assert row.churn_risk_score == pytest.approx(expected, rel=1e-12)  # not rounded
    assert row.risk_band == "low"


def test_a_score_exactly_on_a_band_threshold_is_in_the_higher_band(con):
    """10.5 + 12 + 3.75 + 3.75 = 30 by hand, 29.999999999999993 summed in doubles: the
    company was `low` where the docs say `medium` from 30."""
    end = datetime(2024, 3, 2, 3, tzinfo=T0.tzinfo)  # the as-of day 03-01 ends, in UTC
    earlier = [interaction(i, 1, 10, end - timedelta(days=50 - i)) for i in range(5)]
    rows = [
        *earlier,  # 5 valid in 30 days, before the recent 30 days: the earlier peak
        interaction(10, 1, 10, end - timedelta(days=29)),  # 2 healthy in the recent 30 days
        interaction(11, 1, 10, end - timedelta(days=27)),  # the last healthy: 27 days silent
        {**interaction(12, 1, 10, end - timedelta(hours=15)), "is_friction": True},  # 1 of 8
    ]
    deals = [{"company_id": 10, "status": s} for s in ("won", "won", "won", "lost")]
    row = churn(con, rows, deals).loc[10]
    assert row.days_since_last_healthy_interaction == pytest.approx(27)
    assert (row.recent_healthy_interactions, row.earlier_peak_interactions) == (2, 5)
    assert row.trend_component == pytest.approx(1 - 2 / 5)
    assert (row.friction_share, row.lost_deal_share) == (1 / 8, 1 / 4)
    assert row.churn_risk_score == 30.0
    assert row.risk_band == "medium"


@pytest.mark.parametrize(
    ("silent", "recent", "friction", "lost_of_closed", "band"),
    [
        # 0 + 0 + 30 x 6/7 + 15 x 2/7 = 30 by hand, 29.999999999999996 in doubles
        (timedelta(hours=-12), 1, 6, (2, 7), "medium"),
        # 35 x 60/90 + 20 + 30 x 1/2 + 15 x 1/9 = 60 by hand, 59.99999999999999 in doubles
        (timedelta(days=60), 0, 1, (1, 9), "high"),
    ],
)
def test_a_score_a_doubles_last_digit_short_of_a_band_is_in_the_band(
    con, silent, recent, friction, lost_of_closed, band
):
    """The band is read on the score to 9 decimals (docs/crm.md), the score itself not
    rounded. Company 10's last healthy interaction is `silent` before the end of the as-of
    day 03-01 (half a day after it, delivered late: silent 0, 1 recent, no earlier peak,
    trend 0; or 60 days: none recent, trend 1), `friction` friction interactions on the
    as-of day, and lost deals of closed ones `lost_of_closed`."""
    end = datetime(2024, 3, 2, 3, tzinfo=T0.tzinfo)  # the as-of day 03-01 ends, in UTC
    healthy = {**interaction(1, 1, 10, end - silent), "date": date(2024, 3, 1)}
    complaints = [
        {**interaction(10 + i, 1, 10, end - timedelta(hours=15)), "is_friction": True}
        for i in range(friction)
    ]
    lost, closed = lost_of_closed
    deals = [{"company_id": 10, "status": "lost" if i < lost else "won"} for i in range(closed)]
    row = churn(con, [healthy, *complaints], deals).loc[10]
    assert row.recent_healthy_interactions == recent
    assert row.churn_risk_score == pytest.approx(30.0 if band == "medium" else 60.0)
    assert row.risk_band == band


def test_an_interaction_exactly_a_window_before_the_as_of_days_end_is_earlier_not_recent(con):
    """The recent days are the 30 up to the end of the as-of day, open at their start: a
    healthy interaction at exactly that start belongs to the earlier days alone, never to
    both (counted in both, it raised the recent count and hid the fall it is part of)."""
    end = datetime(2024, 3, 2, 3, tzinfo=T0.tzinfo)  # the as-of day 03-01 ends, in UTC
    rows = [
        interaction(1, 1, 10, end - timedelta(days=30)),  # 2024-01-31 03:00 UTC: the start
        interaction(2, 1, 10, end - timedelta(days=1)),  # 03-01 00:00 local: the as-of day
    ]
    row = churn(con, rows).loc[10]
    assert (row.recent_healthy_interactions, row.earlier_peak_interactions) == (1, 1)
    assert row.trend_component == pytest.approx(0.0)  # 1 recent of an earlier peak of 1


def test_more_recent_activity_than_the_earlier_peak_is_a_trend_of_0_not_below(con):
    """One valid interaction 40 days before the end of the as-of day (the earlier peak, 1)
    and two healthy ones in the recent 30 days: activity rose, a trend of 0, never the
    1 - 2/1 = -1 that would take risk off the score."""
    end = datetime(2024, 3, 2, 3, tzinfo=T0.tzinfo)  # the as-of day 03-01 ends, in UTC
    rows = [interaction(i, 1, 10, end - timedelta(days=days)) for i, days in enumerate((40, 5, 1))]
    row = churn(con, rows).loc[10]
    assert (row.recent_healthy_interactions, row.earlier_peak_interactions) == (2, 1)
    assert row.trend_component == 0.0


def test_the_earlier_peak_counts_an_interaction_exactly_30_days_after_another(con):
    """Two valid interactions 100 and 70 days before the end of the as-of day, exactly 30
    days apart, and nothing since: 30 days from the first hold both, an earlier peak of 2."""
    end = datetime(2024, 3, 2, 3, tzinfo=T0.tzinfo)  # the as-of day 03-01 ends, in UTC
    rows = [interaction(i, 1, 10, end - timedelta(days=days)) for i, days in enumerate((100, 70))]
    marker = interaction(9, 1, 99, end - timedelta(hours=15))  # the as-of day, another company
    row = churn(con, [*rows, marker], companies=(10, 99)).loc[10]
    assert (row.recent_healthy_interactions, row.earlier_peak_interactions) == (0, 2)


def test_a_score_of_exactly_60_is_high(con):
    """35 (silent 100 days) + 20 (nothing recent, an earlier peak of 1) + 0 (no friction)
    + 15 x 1/3 (1 lost of 3 closed) = 60: `high` from 60."""
    marker = interaction(2, 1, 99, T0 + timedelta(days=100))  # the as-of day, another company
    deals = [{"company_id": 10, "status": s} for s in ("won", "won", "lost")]
    row = churn(con, [interaction(1, 1, 10, T0), marker], deals, companies=(10, 99)).loc[10]
    assert (row.recency_component, row.trend_component, row.friction_share) == (1.0, 1.0, 0.0)
    assert row.churn_risk_score == pytest.approx(60.0)
    assert row.risk_band == "high"


def test_friction_where_the_last_healthy_interaction_was_never_lowers_churn_risk(con):
    """Found by hand: the trend was anchored at the last healthy interaction, so turning it
    into friction (311), or leaving it out (312: silent longer), moved the anchor back and
    the trend fell from 0.9 to 0, more than the friction share rose."""
    rows = [
        interaction(100 * company + day, 6, company, T0.replace(2023, 6, day, 13))
        for company in (310, 311, 312)
        for day in range(1, 11)
    ]
    july = T0.replace(2023, 7, 15, 13)
    rows += [interaction(1, 6, 310, july), {**interaction(2, 6, 311, july), "is_friction": True}]
    as_of = date(2024, 1, 4)
    con.register("interactions_", pd.DataFrame(rows))
    con.register(
        "contacts_", pd.DataFrame({"contact_id": [310, 311, 312], "contact_type": "company"})
    )
    con.register("deals_", pd.DataFrame([{"company_id": -1, "status": "open"}]))
    frame = (
        con.execute(
            company_rules.churn_risk_sql("interactions_", "contacts_", "deals_", as_of_day=as_of)
        )
        .df()
        .set_index("company_id")
    )
    # silent since June or July, nothing recent: recency 1 and trend 1 for all three
    assert (frame.recency_component == 1.0).all() and (frame.trend_component == 1.0).all()
    assert frame.loc[310].churn_risk_score == pytest.approx(55.0)
    assert frame.loc[311].churn_risk_score == pytest.approx(55.0 + 30 / 11)
    assert frame.loc[312].churn_risk_score == pytest.approx(55.0)


def test_churn_risk_is_monotone_in_friction_and_silence_on_random_histories(con):
    """Each change that adds friction or silence, applied to random histories, never lowers
    the score: a friction interaction added, a healthy one turned into friction, the last
    healthy one left out or moved earlier, the as-of day moved later."""
    import random

    generator = random.Random(20261202)
    con.register("contacts_", pd.DataFrame({"contact_id": [10], "contact_type": ["company"]}))
    con.register("deals_", pd.DataFrame([{"company_id": 10, "status": "lost"}]))
    base_day = date(2024, 6, 30)
    end = datetime(2024, 7, 1, 3, tzinfo=T0.tzinfo)

    def score(rows, as_of=base_day):
        con.register("interactions_", pd.DataFrame(rows or [interaction(0, 1, -1, T0)]))
        frame = (
            con.execute(
                company_rules.churn_risk_sql(
                    "interactions_", "contacts_", "deals_", as_of_day=as_of
                )
            )
            .df()
            .set_index("company_id")
        )
        return frame.loc[10].churn_risk_score

    def at_random(before: datetime) -> datetime:
        return before - timedelta(minutes=generator.randrange(1, 150 * 24 * 60))

    for case in range(25):
        rows = [
            {**interaction(i, 1, 10, at_random(end)), "is_friction": generator.random() < 0.2}
            for i in range(generator.randrange(1, 25))
        ]
        healthy = sorted((r for r in rows if not r["is_friction"]), key=lambda r: r["occurred_at"])
        before = score(rows)
        added = {**interaction(999, 1, 10, at_random(end)), "is_friction": True}
        changed = {"friction added": score([*rows, added])}
        if healthy:
            turned = generator.choice(healthy)
            changed["healthy turned friction"] = score(
                [{**r, "is_friction": True} if r is turned else r for r in rows]
            )
            last = healthy[-1]
            changed["last healthy left out"] = score([r for r in rows if r is not last])
            moved = {**last, "occurred_at": at_random(last["occurred_at"])}
            changed["last healthy earlier"] = score([moved if r is last else r for r in rows])
        later = base_day + timedelta(days=generator.randrange(1, 60))
        changed["as-of day later"] = score(rows, as_of=later)
        for change, after in changed.items():
            assert after >= before - 1e-9, (case, change, before, after)


def test_a_company_that_never_had_a_healthy_interaction_is_at_full_recency_risk(con):
    complaint = {**interaction(1, 1, 10, T0), "is_friction": True}
    row = churn(con, [complaint]).loc[10]
    assert row.recency_component == 1.0 and row.trend_component == 1.0
    assert row.churn_risk_score == pytest.approx(100 * (0.35 + 0.20 + 0.30))
    assert row.risk_band == "high"
    assert pd.isna(row.lost_deal_share)  # no won or lost deal: nothing to divide by


def test_companies_without_any_interaction_yet_have_no_as_of_day_and_no_churn_row(con):
    """No interaction delivered and no day given: no as-of day to measure silence to, so no
    company is scored (a row with a null as-of day and score failed the table's schema)."""
    con.execute(
        "CREATE TABLE no_interactions (company_id BIGINT, occurred_at TIMESTAMPTZ, "
        "is_noise BOOLEAN, is_friction BOOLEAN, date DATE)"
    )
    con.register("contacts_", pd.DataFrame({"contact_id": [10], "contact_type": ["company"]}))
    con.register("deals_", pd.DataFrame([{"company_id": 10, "status": "won"}]))
    query = company_rules.churn_risk_sql("no_interactions", "contacts_", "deals_")
    assert con.execute(query).fetchall() == []


def test_shares_without_a_denominator_are_null_and_add_no_risk(con):
    # company 20 has only a noise interaction (no valid one) and an open deal only
    noise = interaction(50, 1, 20, T0 + timedelta(days=1), noise=True)
    deals = [{"company_id": 20, "status": "open"}, {"company_id": 10, "status": "lost"}]
    frame = churn(con, [*healthy_history(3), noise], deals, companies=(10, 20))
    empty = frame.loc[20]
    assert pd.isna(empty.friction_share) and pd.isna(empty.lost_deal_share)
    assert empty.valid_interactions == 0
    # never a healthy interaction: recency 1 and trend 1, the shares add nothing
    assert empty.churn_risk_score == pytest.approx(100 * (0.35 + 0.20))
    assert frame.loc[10].lost_deal_share == 1.0 and frame.loc[10].friction_share == 0.0


def test_an_interaction_or_deal_without_a_company_is_no_company_of_its_own(con):
    """Company 10 has an interaction and a won deal of 50; an unresolved interaction and a
    won deal of 100 name no company. Churn scores company 10 alone, and the segmentation
    counts one company, won 50: the two without a company are no (null) company."""
    rows = [interaction(1, 1, 10, T0), interaction(2, 1, None, T0)]
    deals = [
        {"company_id": 10, "amount": 50.0, "status": "won"},
        {"company_id": None, "amount": 100.0, "status": "won"},
    ]
    assert churn(con, rows, deals).index.tolist() == [10]
    segments = con.execute(
        company_rules.company_segments_sql("interactions_", "contacts_", "deals_")
    ).df()
    assert segments["company_id"].tolist() == [10]
    assert segments["won_amount"].tolist() == [50.0]


def test_a_person_among_the_contacts_is_no_company(con):
    """Contacts 10 (a company) and 20 (a person in it, as the CRM delivers people) with one
    interaction of company 10: churn scores company 10 alone and the segmentation counts one
    company. A person taken for a company would be scored at full risk, never having had an
    interaction of its own, and split the medians."""
    con.register("interactions_", pd.DataFrame([interaction(1, 1, 10, T0)]))
    con.register(
        "contacts_", pd.DataFrame({"contact_id": [10, 20], "contact_type": ["company", "person"]})
    )
    con.register("deals_", pd.DataFrame([{"company_id": 10, "amount": 50.0, "status": "won"}]))
    scored = con.execute(company_rules.churn_risk_sql("interactions_", "contacts_", "deals_")).df()
    assert scored["company_id"].tolist() == [10]
    segments = con.execute(
        company_rules.company_segments_sql("interactions_", "contacts_", "deals_")
    ).df()
    assert segments["company_id"].tolist() == [10]
    matrix = con.execute(
        company_rules.segmentation_sql("interactions_", "contacts_", "deals_")
    ).df()
    assert matrix["company_count"].sum() == 1


# --------------------------------------------------------------------------- segmentation


def test_segmentation_splits_companies_at_the_medians(con):
    rows = [interaction(i, 1, 10, T0) for i in range(5)]  # engaged
    rows += [interaction(10 + i, 1, 20, T0) for i in range(1)]  # barely engaged
    deals = [
        {"company_id": 10, "amount": 1000.0, "status": "won"},
        {"company_id": 20, "amount": 9000.0, "status": "won"},
        {"company_id": 30, "amount": 10.0, "status": "won"},
    ]
    con.register("interactions_", pd.DataFrame(rows))
    con.register(
        "contacts_", pd.DataFrame({"contact_id": [10, 20, 30, 40], "contact_type": "company"})
    )
    con.register("deals_", pd.DataFrame(deals))
    matrix = (
        con.execute(company_rules.segmentation_sql("interactions_", "contacts_", "deals_"))
        .df()
        .set_index("segment")
    )
    assert matrix.loc["champions"].company_count == 1  # 10: won 1000 >= median 1000, 5 >= 3
    assert matrix.loc["sleeping_giants"].company_count == 1  # 20: 9000, 1 interaction < 3
    assert matrix.loc["dormant"].company_count == 2  # 30 (10.0 < median) and 40 (nothing)
    assert matrix.loc["rising"].company_count == 0
    assert matrix.loc["champions"].value_threshold == pytest.approx(1000.0)
    assert matrix.loc["champions"].engagement_threshold == pytest.approx(3.0)
    assert matrix["company_count"].sum() == 4


def test_a_companys_value_is_its_won_deals_and_nothing_counts_0_not_null(con):
    """Company 10 won 100, lost 300 and has 500 open, with 2 interactions; company 20 has
    only an open deal of 900 and none. Value is the won amount: 100 for 10 (the median of
    companies with any, so high) and 0 for 20, not 900, and not null; 20's engagement is
    0 interactions, not null."""
    deals = [
        {"company_id": 10, "amount": 100.0, "status": "won"},
        {"company_id": 10, "amount": 300.0, "status": "lost"},
        {"company_id": 10, "amount": 500.0, "status": "open"},
        {"company_id": 20, "amount": 900.0, "status": "open"},
    ]
    con.register("interactions_", pd.DataFrame([interaction(i, 1, 10, T0) for i in range(2)]))
    con.register("contacts_", pd.DataFrame({"contact_id": [10, 20], "contact_type": "company"}))
    con.register("deals_", pd.DataFrame(deals))
    query = company_rules.company_segments_sql("interactions_", "contacts_", "deals_")
    rows = con.execute(
        f"SELECT company_id, segment, won_amount, interactions_90d FROM ({query}) ORDER BY 1"
    ).fetchall()
    assert rows == [(10, "champions", 100.0, 2), (20, "dormant", 0.0, 0)]


def test_without_a_won_deal_or_a_recent_interaction_every_company_is_dormant(con):
    """Company 10 lost a deal and was last in touch 100 days before the as-of day, company
    20 has an open deal: no company has a won amount or an interaction in the 90 days, so
    both thresholds (medians of the companies with any) are 0, and a 0 is always `low`
    (docs/crm.md): both are dormant."""
    con.register("interactions_", pd.DataFrame([interaction(1, 1, 10, T0)]))
    con.register("contacts_", pd.DataFrame({"contact_id": [10, 20], "contact_type": "company"}))
    con.register(
        "deals_",
        pd.DataFrame(
            [
                {"company_id": 10, "amount": 300.0, "status": "lost"},
                {"company_id": 20, "amount": 900.0, "status": "open"},
            ]
        ),
    )
    query = company_rules.segmentation_sql(
        "interactions_", "contacts_", "deals_", as_of_day=T0.date() + timedelta(days=100)
    )
    matrix = con.execute(query).df().set_index("segment")
    assert matrix["company_count"].to_dict() == {
        "champions": 0, "dormant": 2, "rising": 0, "sleeping_giants": 0,
    }  # fmt: skip
    assert matrix["value_threshold"].tolist() == [0.0] * 4
    assert matrix["engagement_threshold"].tolist() == [0.0] * 4
    # every segment's totals are 0, not null, however many companies it has
    assert matrix["total_won_amount"].tolist() == [0.0] * 4
    assert matrix["total_interactions_90d"].tolist() == [0] * 4


def test_silence_is_measured_to_the_end_of_the_local_day(con):
    # A healthy interaction at 23:00 in Sao Paulo on the as-of day is 02:00 UTC the next
    # day: still inside the as-of day, so silent 1 hour, never a negative number of days.
    late = interaction(1, 1, 10, T0.replace(hour=0) + timedelta(days=1, hours=2))
    late["date"] = T0.date()  # delivered in the as-of day's folder (a local day)
    row = churn(con, [late]).loc[10]
    assert row.days_since_last_healthy_interaction == pytest.approx(1 / 24)
    # nothing before the recent 30 days: an earlier peak of 0 (counted, not null), trend 0
    assert (row.recent_healthy_interactions, row.earlier_peak_interactions) == (1, 0)


def test_a_healthy_interaction_after_the_as_of_days_end_is_silent_0_days_not_fewer(con):
    """Delivered late on the as-of day 2024-01-01, a healthy interaction happened at 15:00 UTC
    on the 2nd: half a day after the as-of day ends (03:00 UTC on the 2nd, local midnight).
    Silence is 0 days, never -0.5; recency 0."""
    late = interaction(1, 1, 10, T0 + timedelta(days=1, hours=3))  # 2024-01-02 15:00 UTC
    late["date"] = T0.date()
    row = churn(con, [late]).loc[10]
    assert row.days_since_last_healthy_interaction == 0.0
    assert row.recency_component == 0.0


def test_a_segments_won_amount_is_the_same_to_the_last_digit_whatever_order_companies_come_in(
    con,
):
    # Five companies without interactions, one won deal each: the median (0.1) puts the
    # three largest in one segment, whose total adds 0.1, 0.2 and 0.3.
    amounts = [0.01, 0.02, *ORDER_SENSITIVE]
    companies = list(range(10, 10 + len(amounts)))
    deals = pd.DataFrame({"company_id": companies, "amount": amounts, "status": "won"})
    con.register("interactions_", pd.DataFrame([interaction(1, 7, 99, T0)]))
    con.register("contacts_", pd.DataFrame({"contact_id": companies, "contact_type": "company"}))
    query = company_rules.segmentation_sql("interactions_", "contacts_", "deals_")
    (rows,) = results_in_every_order(con, deals, "deals_", query)
    giants = next(row for row in rows if row[0] == "sleeping_giants")
    assert giants[3:5] == (3, (0.1 + 0.2) + 0.3)  # company_count, total_won_amount


def test_engagement_counts_interactions_by_when_they_happened_in_the_90_local_days(con):
    """As of 2024-03-31 (the latest day delivered), the window is the local days from
    2024-01-02 to 2024-03-31 (Sao Paulo, UTC-3): by when interactions happened, as churn's
    recency counts. By landing day, one delivered late (happened in 2023) counted."""
    as_of = date(2024, 3, 31)
    local = ZoneInfo("America/Sao_Paulo")

    def at(day: str, hour: int, landed=as_of) -> dict:
        when = datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(tzinfo=local)
        return {**interaction(0, 1, 10, when.astimezone(UTC)), "date": landed}

    rows = [
        at("2024-01-01", 23),  # 02:00 UTC on the 2nd, still the local 1st: outside
        at("2024-01-02", 0),  # the window's first local day: counted
        at("2024-03-31", 23),  # 02:00 UTC on April 1st, the as-of local day: counted
        at("2024-04-01", 0),  # the local day after the as-of day begins: outside
        at("2023-11-20", 10),  # happened long before, delivered on the as-of day: outside
        at("2024-04-01", 9),  # after the as-of day (a clock ahead): outside
        {**at("2024-03-30", 10), "is_noise": True},  # noise never engages
    ]
    rows = [{**row, "interaction_id": n} for n, row in enumerate(rows)]
    con.register("interactions_", pd.DataFrame(rows))
    con.register("contacts_", pd.DataFrame({"contact_id": [10], "contact_type": "company"}))
    con.register("deals_", pd.DataFrame([{"company_id": 10, "amount": 1.0, "status": "won"}]))
    engaged = con.execute(
        company_rules.company_segments_sql("interactions_", "contacts_", "deals_")
    ).df()
    assert engaged.set_index("company_id").loc[10, "interactions_90d"] == 2


def test_a_company_known_only_from_its_deals_is_scored_and_segmented(con):
    """Company 30 was never delivered as a contact and has no interaction, only a won and a
    lost deal (a deal's `ContactId` is a company, contract 4.1). It had no churn row, and
    the segmentation counted neither it nor its won 1000 (found comparing gold with an
    independent build from the landed files)."""
    rows = [interaction(1, 1, 10, T0)]
    deals = [
        {"company_id": 10, "amount": 500.0, "status": "won"},
        {"company_id": 30, "amount": 1000.0, "status": "won"},
        {"company_id": 30, "amount": 10.0, "status": "lost"},
    ]
    deal_only = churn(con, rows, deals).loc[30]
    assert deal_only.valid_interactions == 0 and deal_only.lost_deal_share == 0.5
    assert deal_only.friction_interactions == 0  # counted, none: 0, not null
    # never a healthy interaction: recency 1 and trend 1, plus half of the lost deals' 15
    assert deal_only.churn_risk_score == pytest.approx(35 + 20 + 15 * 0.5)

    con.register("interactions_", pd.DataFrame(rows))
    con.register("contacts_", pd.DataFrame({"contact_id": [10], "contact_type": "company"}))
    con.register("deals_", pd.DataFrame(deals))
    matrix = con.execute(
        company_rules.segmentation_sql("interactions_", "contacts_", "deals_")
    ).df()
    assert matrix["company_count"].sum() == 2
    assert matrix["total_won_amount"].sum() == pytest.approx(1500.0)
    assert matrix["value_threshold"].iloc[0] == pytest.approx(750.0)  # median of 500, 1000
    segments = con.execute(
        company_rules.company_segments_sql("interactions_", "contacts_", "deals_")
    ).df()
    assert segments.set_index("company_id").loc[30, "segment"] == "sleeping_giants"


# --------------------------------------------------------------------------- row order


def test_churn_rows_come_riskiest_first_and_companies_of_one_score_by_id(con):
    """The churn list reads top down (docs/crm.md): the highest score first, companies of
    one score by company_id, so a file diffed against yesterday's lists them alike.
    Registered 30, 20, 10, 40: 40 never in touch (recency and trend 1: 55); 20 last in
    touch 59 days before the as-of day, an earlier peak of 1 and nothing recent (trend 1);
    10 and 30 in touch each of the last 10 days, tied."""
    as_of = T0 + timedelta(days=59)
    rows = [interaction(n, 1, company, as_of - timedelta(days=n % 10)) for company in (30, 10)
            for n in range(company, company + 10)]  # fmt: skip
    rows.append(interaction(1, 1, 20, T0))
    con.register("interactions_", pd.DataFrame(rows))
    con.register(
        "contacts_", pd.DataFrame({"contact_id": [30, 20, 10, 40], "contact_type": "company"})
    )
    con.register("deals_", pd.DataFrame([{"company_id": 10, "status": "open"}]))  # no risk
    query = company_rules.churn_risk_sql("interactions_", "contacts_", "deals_")
    listed = con.execute(query).df()
    assert listed["company_id"].tolist() == [40, 20, 10, 30]
    scores = listed["churn_risk_score"].tolist()
    assert scores[0] == pytest.approx(55) and scores[2] == scores[3]


def test_segmentation_rows_come_by_segment_name(con):
    """One row per segment, by its name (docs/crm.md), whatever segments hold companies:
    champions, dormant, rising, sleeping_giants."""
    con.register("interactions_", pd.DataFrame([interaction(i, 1, 20, T0) for i in range(3)]))
    con.register(
        "contacts_", pd.DataFrame({"contact_id": [40, 30, 20, 10], "contact_type": "company"})
    )
    con.register(
        "deals_", pd.DataFrame({"company_id": [10, 30], "amount": [5.0, 1.0], "status": "won"})
    )
    query = company_rules.segmentation_sql("interactions_", "contacts_", "deals_")
    segments = con.execute(query).df()["segment"].tolist()
    assert segments == ["champions", "dormant", "rising", "sleeping_giants"]
