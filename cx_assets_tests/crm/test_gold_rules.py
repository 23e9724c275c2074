"""CRM gold rules on hand-worked silver rows: the per-day tables, volumetrics, the heat map,
sales velocity and sums of amounts, run with the same SQL the assets run."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from cx_assets.crm import company_rules, gold_rules, rules
from cx_assets_tests.crm.rule_rows import DAY, evaluate
from cx_assets_tests.crm.silver_rows import T0, interaction
from cx_assets_tests.row_order import ORDER_SENSITIVE, results_in_every_order

# --------------------------------------------------------------------------- per day


def day_rows(con):
    """Four interactions on DAY (one a read receipt), none on the day after."""
    rows = [
        ("read_receipt", True, "direct"),
        (None, False, "direct"),
        (None, False, "via_person"),
        (None, False, "unresolved"),
    ]
    con.register(
        "interactions_",
        pd.DataFrame(
            [
                {"date": DAY, "noise_reason": reason, "is_noise": is_noise, "linkage": linkage}
                for reason, is_noise, linkage in rows
            ]
        ),
    )
    return [DAY, DAY + timedelta(days=1)]


def test_noise_summary_has_five_rows_a_day_even_without_interactions(con):
    days = day_rows(con)
    frame = con.execute(gold_rules.noise_summary_sql("interactions_", days)).df()
    summary = {
        (row.date.date(), row.category): (row.count, None if pd.isna(row.pct) else row.pct)
        for row in frame.itertuples()
    }
    assert summary == {
        (days[0], "read_receipt"): (1, 25.0),
        (days[0], "delivery_receipt"): (0, 0.0),
        (days[0], "mass_email"): (0, 0.0),
        (days[0], "noise_total"): (1, 25.0),
        (days[0], "valid"): (3, 75.0),
        (days[1], "read_receipt"): (0, None),
        (days[1], "delivery_receipt"): (0, None),
        (days[1], "mass_email"): (0, None),
        (days[1], "noise_total"): (0, None),
        (days[1], "valid"): (0, None),
    }


def test_a_pct_of_a_day_without_interactions_is_null_not_nan(con):
    """The day after DAY has no interactions: each category's pct, 100 x 0 / 0, has no
    denominator and is null (contract section 4), not the NaN of dividing by zero."""
    days = day_rows(con)
    summary = gold_rules.noise_summary_sql("interactions_", days)
    nulls = con.execute(
        f"SELECT count(*) FILTER (WHERE pct IS NULL), count(*) FILTER (WHERE isnan(pct)) "
        f"FROM ({summary}) WHERE date = ?",
        [days[1]],
    ).fetchone()
    assert nulls == (5, 0)


def test_a_day_of_one_interaction_shares_it_among_the_categories_out_of_one(con):
    """One delivery receipt on the day: noise 1 of 1, 100%; valid 0 of 1, 0%; and its
    company linkage 1 of 1 unresolved, never the nulls of a day without interactions."""
    con.register(
        "interactions_",
        pd.DataFrame(
            [
                {
                    "date": DAY,
                    "noise_reason": "delivery_receipt",
                    "is_noise": True,
                    "linkage": "unresolved",
                }
            ]
        ),
    )
    frame = con.execute(gold_rules.noise_summary_sql("interactions_", [DAY])).df()
    assert dict(zip(frame.category, zip(frame["count"], frame.pct, strict=True), strict=True)) == {
        "read_receipt": (0, 0.0),
        "delivery_receipt": (1, 100.0),
        "mass_email": (0, 0.0),
        "noise_total": (1, 100.0),
        "valid": (0, 0.0),
    }
    linkage = con.execute(gold_rules.contact_linkage_sql("interactions_", [DAY])).fetchall()
    assert linkage == [(DAY, 0, 0, 1, 0.0, 0.0, 1.0)]


def test_contact_linkage_has_a_row_a_day_even_without_interactions(con):
    days = day_rows(con)
    rows = con.execute(gold_rules.contact_linkage_sql("interactions_", days)).fetchall()
    assert rows == [
        (days[0], 2, 1, 1, 0.5, 0.25, 0.25),
        (days[1], 0, 0, 0, None, None, None),
    ]


def test_per_day_tables_of_no_days_are_empty(con):
    day_rows(con)
    assert con.execute(gold_rules.noise_summary_sql("interactions_", [])).fetchall() == []
    assert con.execute(gold_rules.contact_linkage_sql("interactions_", [])).fetchall() == []


# --------------------------------------------------------------------------- volumetrics


def volumetrics(con, interactions, deals=()):
    con.register("interactions_", pd.DataFrame(interactions))
    deal_frame = pd.DataFrame(list(deals) or [{"company_id": -1, "amount": 0.0, "status": "open"}])
    con.register("deals_", deal_frame)
    frame = con.execute(gold_rules.cx_volumetrics_sql("interactions_", "deals_")).df()
    return {(row.owner_id, row.company_id): row for row in frame.itertuples()}


def test_velocity_over_a_span_shorter_than_a_week_is_the_total(con):
    rows = [interaction(i, 1, 10, T0 + timedelta(days=i)) for i in range(4)]  # 3-day span
    assert volumetrics(con, rows)[(1, 10)].interaction_velocity == pytest.approx(4.0)


def test_velocity_over_two_weeks_is_per_week(con):
    rows = [interaction(1, 1, 10, T0), interaction(2, 1, 10, T0 + timedelta(days=14))]
    rows += [interaction(3, 1, 10, T0 + timedelta(days=7))]
    assert volumetrics(con, rows)[(1, 10)].interaction_velocity == pytest.approx(3 / 2)


def test_velocity_span_uses_exact_time_not_calendar_days(con):
    rows = [interaction(1, 1, 10, T0), interaction(2, 1, 10, T0 + timedelta(days=10, hours=12))]
    assert volumetrics(con, rows)[(1, 10)].interaction_velocity == pytest.approx(2 / 1.5)


def test_noise_and_unresolved_companies_are_left_out(con):
    rows = [
        interaction(1, 1, 10, T0),
        interaction(2, 1, 10, T0, noise=True),
        interaction(3, 1, None, T0),
    ]
    result = volumetrics(con, rows)
    assert list(result) == [(1, 10)]
    assert result[(1, 10)].total_interactions == 1


def test_manager_load_and_neediness(con):
    rows = [interaction(i, 1, 10, T0) for i in range(6)] + [interaction(9, 1, 20, T0)]
    rows += [interaction(20 + i, 2, 20, T0) for i in range(3)]
    deals = [
        {"company_id": 10, "amount": 1000.0, "status": "won"},
        {"company_id": 10, "amount": 500.0, "status": "open"},
        {"company_id": 20, "amount": 0.0, "status": "lost"},
    ]
    result = volumetrics(con, rows, deals)
    assert result[(1, 10)].manager_load == pytest.approx((6 + 1) / 2)
    assert result[(2, 20)].manager_load == pytest.approx(3)
    assert result[(1, 10)].neediness_ratio == pytest.approx(6 / 1500)
    assert pd.isna(result[(1, 20)].neediness_ratio)  # the company's deals sum to 0


def test_a_neediness_ratio_over_deals_summing_to_exactly_one_is_the_interaction_count(con):
    """Neediness is null only where the company's deal amounts sum to 0 (contract 4.1): deals
    of 0.25 and 0.75 sum to exactly 1.0, so 3 interactions make a ratio of 3 / 1.0 = 3.0."""
    rows = [interaction(i, 1, 10, T0) for i in range(3)]
    deals = [
        {"company_id": 10, "amount": 0.25, "status": "won"},
        {"company_id": 10, "amount": 0.75, "status": "open"},
    ]
    assert volumetrics(con, rows, deals)[(1, 10)].neediness_ratio == 3.0


def test_a_neediness_ratio_too_large_for_a_double_is_null_not_infinity(con):
    """A deal Amount of 1e-310 (a legal JSON number, not negative, not above 1e12) made 19
    interactions ÷ 1e-310 overflow: crm_cx_volumetrics held neediness_ratio = inf, every
    check passed, and the command centre's needy-clients list led with it."""
    rows = [interaction(i, 1, 10, T0) for i in range(19)] + [interaction(30, 1, 20, T0)]
    deals = [
        {"company_id": 10, "amount": 1e-310, "status": "open"},
        {"company_id": 20, "amount": 1e-300, "status": "open"},
    ]
    result = volumetrics(con, rows, deals)
    assert pd.isna(result[(1, 10)].neediness_ratio)
    assert result[(1, 20)].neediness_ratio == pytest.approx(1e300)  # large, but a number


def emails(directions, *, subject="thread-a", owner=1, company=10, start=0):
    return [
        interaction(
            start + i, owner, company, T0 + timedelta(hours=i), direction=d, subject=subject
        )
        for i, d in enumerate(directions)
    ]


def test_long_thread_needs_three_direction_changes(con):
    three_changes = emails(["inbound", "outbound", "inbound", "outbound"])
    two_changes = emails(["inbound", "outbound", "outbound", "inbound"], subject="b", start=10)
    assert volumetrics(con, three_changes)[(1, 10)].long_thread_count == 1
    assert volumetrics(con, two_changes)[(1, 10)].long_thread_count == 0


def test_long_thread_is_counted_in_time_order_not_row_order(con):
    rows = emails(["inbound", "outbound", "inbound", "outbound"])
    assert volumetrics(con, list(reversed(rows)))[(1, 10)].long_thread_count == 1


def test_emails_at_the_same_instant_are_taken_in_id_order_whatever_order_they_come_in(con):
    """out (1), in (2) and out (3) at one instant, then in (4): in id order 3 changes, a
    long thread; taken as they came, ties could give 1 change one run and 3 the next."""
    rows = emails(["outbound", "inbound", "outbound", "inbound"])
    for row in rows[1:3]:
        row["occurred_at"] = rows[1]["occurred_at"]
    con.register("deals_", pd.DataFrame([{"company_id": -1, "amount": 0.0, "status": "open"}]))
    volumetrics_sql = gold_rules.cx_volumetrics_sql("interactions_", "deals_")
    query = f"SELECT long_thread_count FROM ({volumetrics_sql})"
    assert results_in_every_order(con, pd.DataFrame(rows), "interactions_", query) == {((1,),)}


def test_thread_changes_only_count_within_the_pairs_own_emails(con):
    # another manager's replies in the same company thread do not make this pair's thread long
    mine = emails(["inbound", "inbound"], owner=1)
    theirs = emails(["outbound", "outbound"], owner=2, start=10)
    result = volumetrics(con, mine + theirs)
    assert result[(1, 10)].long_thread_count == 0


def test_an_interaction_of_the_thread_that_is_no_email_leaves_its_changes_as_they_are(con):
    """in, a note of the same subject (no direction), out, in, out: among the pair's e-mails
    in -> out -> in -> out is 3 changes, a long thread. Taken into the sequence, the note
    (a null direction) would hide in -> out, leaving 2."""
    rows = emails(["inbound", None, "outbound", "inbound", "outbound"])
    assert volumetrics(con, rows)[(1, 10)].long_thread_count == 1


def test_emails_without_a_subject_are_no_thread(con):
    """in, out, in, out with no subject left (thread key null): 3 changes, but no thread."""
    rows = emails(["inbound", "outbound", "inbound", "outbound"], subject=None)
    assert volumetrics(con, rows)[(1, 10)].long_thread_count == 0


def test_thread_across_reply_prefixes_is_one_thread(con):
    subjects = ["Proposta", "RE: Proposta", "RES: RE: Proposta", "ENC: proposta"]
    keys = [evaluate(con, rules.thread_subject_key_sql("s"), s=s) for s in subjects]
    assert len(set(keys)) == 1
    rows = [
        interaction(i, 1, 10, T0 + timedelta(hours=i), direction=d, subject=keys[i])
        for i, d in enumerate(["inbound", "outbound", "inbound", "outbound"])
    ]
    assert volumetrics(con, rows)[(1, 10)].long_thread_count == 1


# --------------------------------------------------------------------------- heat map


def test_temporal_heat_has_168_slots_in_sao_paulo_time(con):
    friday_1500_local = datetime(2024, 1, 5, 18, 0, tzinfo=T0.tzinfo)  # 15:00 in São Paulo
    friday_1300_local = datetime(2024, 1, 5, 16, 0, tzinfo=T0.tzinfo)
    friday_1430_local = datetime(2024, 1, 5, 17, 30, tzinfo=T0.tzinfo)
    monday_0200_local = datetime(2024, 1, 8, 5, 0, tzinfo=T0.tzinfo)
    rows = [
        {**interaction(1, 1, 10, friday_1500_local), "is_friction": True},
        {**interaction(2, 1, 10, friday_1300_local), "is_friction": True},
        {**interaction(5, 1, 10, friday_1430_local), "is_friction": True},
        interaction(3, 1, 10, monday_0200_local),
        {**interaction(4, 1, 10, monday_0200_local, noise=True), "is_friction": False},
    ]
    con.register("interactions_", pd.DataFrame(rows))
    heat = (
        con.execute(gold_rules.temporal_heat_sql("interactions_"))
        .df()
        .set_index(["day_of_week", "hour"])
    )
    assert len(heat) == 168
    assert heat.loc[(4, 15)].tolist() == [1, 1, 1]
    assert heat.loc[(4, 14)].tolist() == [1, 1, 1]  # from 14:00
    assert heat.loc[(4, 13)].tolist() == [1, 1, 0]  # before 14:00
    assert heat.loc[(0, 2)].tolist() == [1, 0, 0]  # noise not counted
    assert heat["interaction_count"].sum() == 4
    assert heat.loc[(2, 10)].tolist() == [0, 0, 0]  # a slot without interactions holds 0s
    assert heat.loc[(4, 16)].tolist() == [0, 0, 0]  # so does a Friday afternoon one


def test_friction_score_is_the_sum_of_the_three_flags(con):
    flagged = [(1, 0, 1), (1, 1, 1), (0, 1, 0), (0, 0, 0)]
    rows = [
        {
            **interaction(n, 1, 10, T0 + timedelta(hours=n)),
            "urgency_flag": urgency,
            "failure_flag": failure,
            "escalation_flag": escalation,
            "is_friction": urgency + failure + escalation > 0,
        }
        for n, (urgency, failure, escalation) in enumerate(flagged)
    ]
    con.register("interactions_", pd.DataFrame(rows))
    frame = con.execute(gold_rules.friction_heuristics_sql("interactions_")).df()
    assert frame["friction_score"].tolist() == [2, 3, 1]  # the row without friction is left out


# --------------------------------------------------------------------------- sales velocity


def test_sales_velocity_worked_example(con):
    created = datetime(2024, 1, 1, tzinfo=T0.tzinfo)
    deals = pd.DataFrame(
        [
            {"deal_id": 1, "owner_id": 7, "status": "open", "amount": 50.0},
            {"deal_id": 2, "owner_id": 7, "status": "open", "amount": 70.0},
            {"deal_id": 3, "owner_id": 7, "status": "won", "amount": 100.0, "days": 10},
            {"deal_id": 4, "owner_id": 7, "status": "won", "amount": 300.0, "days": 30},
            {"deal_id": 5, "owner_id": 7, "status": "lost", "amount": 999.0, "days": 5},
            {"deal_id": 6, "owner_id": 8, "status": "lost", "amount": 10.0, "days": 2},
        ]
    )
    deals["created_at"] = created
    deals["finished_at"] = [
        None if pd.isna(d) else created + timedelta(days=d) for d in deals.pop("days")
    ]
    con.register("deals_", deals)
    con.register("users_", pd.DataFrame({"user_id": [7, 8, 9]}))
    result = (
        con.execute(gold_rules.sales_velocity_sql("deals_", "users_")).df().set_index("owner_id")
    )
    seven = result.loc[7]
    assert seven.open_deals == 2
    assert seven.win_rate == pytest.approx(2 / 3)
    assert seven.avg_won_amount == pytest.approx(200.0)
    assert seven.avg_cycle_days == pytest.approx(20.0)
    assert seven.velocity_per_day == pytest.approx(2 * (2 / 3) * 200.0 / 20.0)
    assert result.loc[8].win_rate == 0.0 and pd.isna(result.loc[8].velocity_per_day)
    assert pd.isna(result.loc[9].win_rate)  # a manager with no closed deals


def manager_7s_velocity(con, deals: list[tuple[str, float, float | None]]):
    """Manager 7's (win_rate, avg_cycle_days, velocity_per_day) over `deals`, each (status,
    amount, days from its creation to its end, None while open), all created at one time."""
    created = datetime(2024, 1, 1, tzinfo=T0.tzinfo)
    frame = pd.DataFrame(
        [
            {"deal_id": i, "owner_id": 7, "status": status, "amount": amount}
            for i, (status, amount, _) in enumerate(deals, start=1)
        ]
    )
    frame["created_at"] = created
    frame["finished_at"] = pd.to_datetime(
        [None if days is None else created + timedelta(days=days) for *_, days in deals],
        utc=True,
    )
    con.register("deals_", frame)
    con.register("users_", pd.DataFrame({"user_id": [7]}))
    velocity = gold_rules.sales_velocity_sql("deals_", "users_")
    return con.execute(
        f"SELECT win_rate, avg_cycle_days, velocity_per_day FROM ({velocity})"
    ).fetchone()


def test_sales_velocity_of_deals_won_the_instant_they_were_made_is_null(con):
    """Manager 7 won one deal of 100.0 finished the instant it was created and has one open:
    win rate 1, avg_cycle_days 0, velocity 1 x 1 x 100 / 0 has no denominator: null, not
    infinity."""
    assert manager_7s_velocity(con, [("open", 50.0, None), ("won", 100.0, 0)]) == (1.0, 0.0, None)


def test_sales_velocity_of_one_deal_won_in_one_day(con):
    """Manager 7 won one deal of 100.0 a day after it was created and has two open: win rate
    1 of 1 decided, avg_cycle_days 1, velocity 2 x 1 x 100 / 1 = 200 a day."""
    deals = [("open", 50.0, None), ("open", 60.0, None), ("won", 100.0, 1)]
    assert manager_7s_velocity(con, deals) == (1.0, 1.0, 200.0)


# --------------------------------------------------------------------------- sums of amounts


def test_amount_sums_and_means_are_the_same_to_the_last_digit_whatever_order_deals_come_in(con):
    created = datetime(2024, 1, 1, tzinfo=T0.tzinfo)
    # Three won deals of one company and one manager: their amounts and cycles (0.1, 0.2
    # and 0.3 days) add up differently in different orders.
    deals = pd.DataFrame(
        {
            "deal_id": [1, 2, 3],
            "owner_id": 7,
            "company_id": 10,
            "status": "won",
            "amount": ORDER_SENSITIVE,
            "created_at": created,
            "finished_at": [created + timedelta(days=days) for days in ORDER_SENSITIVE],
        }
    )
    con.register("users_", pd.DataFrame({"user_id": [7]}))
    con.register("interactions_", pd.DataFrame([interaction(1, 7, 10, T0)]))
    con.register("contacts_", pd.DataFrame({"contact_id": [10], "contact_type": "company"}))
    queries = {
        "sales velocity": gold_rules.sales_velocity_sql("deals_", "users_"),
        "volumetrics": gold_rules.cx_volumetrics_sql("interactions_", "deals_"),
        "segmentation": company_rules.segmentation_sql("interactions_", "contacts_", "deals_"),
    }
    for name, query in queries.items():
        assert len(results_in_every_order(con, deals, "deals_", query)) == 1, name
