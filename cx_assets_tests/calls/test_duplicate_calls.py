"""A call delivered more than once: `call_id` is unique across days, so the first good
delivery is kept and every other copy quarantined naming the day or line that kept it,
whether the days run one by one, as one range, again or out of order."""

from __future__ import annotations

from cx_assets.calls.assets import calls_kpis_daily, calls_transcripts
from cx_assets_tests.calls.landing_rows import CALLS, EVERYTHING, call
from cx_assets_tests.steps import building

# Which copy is kept is silver's doing: the tests run silver transcripts and their bronze
# day, the first test the daily KPIs too (which count each call once), not every calls step.
SILVER = building(CALLS, calls_transcripts)
KPIS = building(CALLS, calls_kpis_daily)


def kept_and_quarantined(lake, *, column_only: bool = False):
    """Silver's (day, call_id) and the quarantine's (day, line, reason), sorted; with
    `column_only`, a model check's reason up to its column (`column 'agent_name'`)."""
    silver = lake.query("SELECT date, call_id FROM silver.calls_transcripts ORDER BY 1, 2")
    quarantined = lake.quarantine("calls_transcripts")[["date", "line_number", "reason"]]
    return (
        [(str(day)[:10], call_id) for day, call_id in silver.itertuples(index=False)],
        sorted(
            (str(day)[:10], line, reason.split(" failed ")[0] if column_only else reason)
            for day, line, reason in quarantined.itertuples(index=False)
        ),
    )


def test_a_call_delivered_again_on_a_later_day_is_quarantined(lake):
    """`call_id` is unique (contract section 2) across days too: the first delivery wins and
    a later day's repeat is quarantined naming that day, so the KPIs count the call once,
    whether the days run one by one, as one range, or again."""
    days = ("2024-01-05", "2024-01-06", "2024-01-07")
    lake.land_jsonl("calls", "transcripts", days[0], [call("A", "Hi."), call("B", "Hi.")])
    lake.land_jsonl(
        "calls",
        "transcripts",
        days[1],
        [call("C", "Hi.", timestamp=f"{days[1]}T10:00:00"), call("A", "Hi.")],
    )
    lake.land_jsonl("calls", "transcripts", days[2], [call("B", "Again.")])
    kept = [(days[0], "A"), (days[0], "B"), (days[1], "C")]
    repeats = [
        (days[1], 2, f"duplicate call_id (first delivered on {days[0]})"),
        (days[2], 1, f"duplicate call_id (first delivered on {days[0]})"),
    ]

    for day in days:
        assert lake.materialize(EVERYTHING, selection=KPIS, day=day).success
    assert kept_and_quarantined(lake) == (kept, repeats)
    for _ in range(2):  # the range over days already run, then again
        assert lake.materialize(EVERYTHING, selection=KPIS, day=days[0], last_day=days[2]).success
        assert kept_and_quarantined(lake) == (kept, repeats)
    calls = lake.query("SELECT date, total_calls FROM gold.calls_kpis_daily ORDER BY date")
    assert calls["total_calls"].tolist() == [2, 1, 0]


def test_a_repeat_on_a_later_day_of_one_range_run_is_quarantined(lake):
    days = ("2024-01-05", "2024-01-06")
    lake.land_jsonl("calls", "transcripts", days[0], [call("A", "Hi.")])
    lake.land_jsonl("calls", "transcripts", days[1], [call("A", "Hi."), call("A", "Hi.")])

    assert lake.materialize(EVERYTHING, selection=SILVER, day=days[0], last_day=days[1]).success

    quarantined = lake.quarantine("calls_transcripts").sort_values("line_number")
    assert quarantined["reason"].tolist() == [
        f"duplicate call_id (first delivered on {days[0]})",
        f"duplicate call_id (first delivered on {days[0]})",
    ]


def test_days_run_out_of_order_keep_a_repeated_call_once(lake):
    """A later day run first keeps the call (it is the first delivery seen); the earlier day,
    run after it, quarantines its copy naming the day that kept it, so no run fails and the
    call counts once. Running both days together restores first delivery wins."""
    days = ("2024-01-05", "2024-01-06")
    lake.land_jsonl("calls", "transcripts", days[0], [call("A", "Hi.")])
    lake.land_jsonl("calls", "transcripts", days[1], [call("A", "Hi.")])

    def kept_and_reasons():
        silver = lake.query("SELECT date, call_id FROM silver.calls_transcripts")
        reasons = lake.quarantine("calls_transcripts")[["date", "reason"]]
        return (
            [(str(day)[:10], call_id) for day, call_id in silver.itertuples(index=False)],
            [(str(day)[:10], reason) for day, reason in reasons.itertuples(index=False)],
        )

    assert lake.materialize(EVERYTHING, selection=SILVER, day=days[1]).success
    # its unique_key check passes
    assert lake.materialize(EVERYTHING, selection=SILVER, day=days[0]).success
    assert kept_and_reasons() == (
        [(days[1], "A")],
        [(days[0], f"duplicate call_id (already kept on {days[1]})")],
    )

    assert lake.materialize(EVERYTHING, selection=SILVER, day=days[0], last_day=days[1]).success
    assert kept_and_reasons() == (
        [(days[0], "A")],
        [(days[1], f"duplicate call_id (first delivered on {days[0]})")],
    )


def test_a_bad_first_copy_does_not_make_a_good_later_one_a_duplicate(lake):
    """A key's first copy is its first good one. The first copies here fail validation (an
    empty agent name, a customer id that is an e-mail): the good later copies are kept, in
    the same file and on a later day, whether the days run one by one or as one range; a
    copy after a kept one is still a duplicate of it."""
    days = ("2024-01-05", "2024-01-06")
    lake.land_jsonl(
        "calls",
        "transcripts",
        days[0],
        [
            call("A", "Hi.", agent=""),  # line 1: bad, A's copy on the next day is kept
            call("B", "Hi.", customer_id="b@example.com"),  # 2: bad
            call("B", "Hi."),  # 3: B's first good copy
            call("C", "Hi.", agent=" "),  # 4: bad
            call("C", "Hi.", customer_id="c@example.com"),  # 5: bad
            call("C", "Hi."),  # 6: C's first good copy
            call("C", "Again."),  # 7: a duplicate of line 6
        ],
    )
    lake.land_jsonl(
        "calls", "transcripts", days[1], [call("A", "Hi.", timestamp=f"{days[1]}T10:00:00")]
    )

    first_file = f"landing/calls/transcripts/{days[0]}/part.jsonl"
    expected = (
        [(days[0], "B"), (days[0], "C"), (days[1], "A")],
        [
            (days[0], 1, "column 'agent_name'"),
            (days[0], 2, "column 'customer_id'"),
            (days[0], 4, "column 'agent_name'"),
            (days[0], 5, "column 'customer_id'"),
            (days[0], 7, f"duplicate call_id (first seen at {first_file}:6)"),
        ],
    )
    for day in days:
        assert lake.materialize(EVERYTHING, selection=SILVER, day=day).success
    assert kept_and_quarantined(lake, column_only=True) == expected
    assert lake.materialize(EVERYTHING, selection=SILVER, day=days[0], last_day=days[1]).success
    assert kept_and_quarantined(lake, column_only=True) == expected
