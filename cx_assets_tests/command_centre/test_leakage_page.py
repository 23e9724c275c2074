"""The digital leakage page of the command centre rendered headless (Streamlit's AppTest) on
a small hand-made gold dataset (`gold_rows`, numbers worked out there): the ranking by cost,
journey playback, savings model, root causes and segment drill-down of the days shown, and
days without leakage that say so."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from cx_assets_tests.command_centre import gold_rows
from cx_assets_tests.command_centre.gold_rows import DAY2
from cx_assets_tests.command_centre.rendered import (
    chart_rows,
    column_formats,
    metrics,
    render,
    render_each,
)


def test_the_leakage_page_says_when_the_days_built_had_no_leakage(tmp_path, monkeypatch):
    """Calls landed, none after a failed journey: the summary is built with no rows. The page
    says that is the finding, instead of asking for a run that has already happened."""
    import pyarrow.parquet as pq

    from cx_assets.lakehouse import parquet

    data_dir = tmp_path / "data"
    gold_rows.write_digital(data_dir)
    summary = data_dir / "gold" / "leakage_daily_summary"
    day_file = parquet.partition_folder(summary, gold_rows.DAY1) / parquet.DATA_FILE
    empty = pq.read_table(day_file).slice(0, 0)
    shutil.rmtree(summary)
    for day in (gold_rows.DAY1, DAY2):
        parquet.publish(empty, parquet.partition_folder(summary, day))

    for table in ("journeys", "calls"):  # the days' files landed
        (data_dir / "landing" / "digital" / table / str(gold_rows.DAY1)).mkdir(parents=True)

    app = render("leakage", data_dir, monkeypatch)

    (info,) = [block.value for block in app.info]
    assert info.startswith("`leakage_daily_summary` is built and has no rows")
    assert "no leakage to show" in info
    assert "cx-lakehouse run" in info  # for the days that land next
    assert not app.metric

    # Seen in an audit: with no digital file ever landed (a run of every source after only
    # calls landed), the same words reported "no leakage" as a finding about the data.
    overview = render("overview", data_dir, monkeypatch)
    assert "No leakage in the days built so far." in [c.value for c in overview.caption]

    shutil.rmtree(data_dir / "landing")
    app = render("leakage", data_dir, monkeypatch)
    (info,) = [block.value for block in app.info]
    assert "no digital files have landed under" in info
    assert "no leakage to show" not in info
    assert "cx-lakehouse generate" in info
    # the overview's headline too (it said "No leakage gold yet.", as if nothing were built)
    overview = render("overview", data_dir, monkeypatch)
    assert "No leakage yet: no digital files have landed." in [c.value for c in overview.caption]


def test_days_whose_journey_types_had_no_leakage_say_so(gold_root, tmp_path, monkeypatch):
    """The summary keeps a type that leaked in the two weeks before with zero calls: a range
    of such days drew $0 bars and flat lines on an axis ticked NaN."""
    from cx_assets.digital import schemas as digital_schemas

    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)
    shutil.rmtree(data_dir / "gold" / "leakage_daily_summary" / f"date={DAY2}")
    gold_rows.publish(data_dir, "leakage_daily_summary", digital_schemas.LeakageDailySummary, [
        {"date": DAY2, "journey_type": journey, "leakage_calls": 0, "daily_cost": 0.0,
         "primary_segment": None, "trend_pct": None}
        for journey in ("billing", "pharmacy")
    ])  # fmt: skip
    app = render("leakage", data_dir, monkeypatch)
    app.sidebar.date_input(key="leakage_days").set_value((DAY2, DAY2)).run()
    captions = [caption.value for caption in app.caption]
    assert "No leakage calls in these days for these journey types." in captions
    assert "No leakage calls in these days." in captions  # the drill-down
    assert metrics(app)["Leakage calls"] == "0"


def test_leakage_page_overview_playback_and_savings_model(gold_root, monkeypatch):
    app = render("leakage", gold_root, monkeypatch)
    shown = metrics(app)
    assert (shown["Leakage calls"], shown["Their cost"]) == ("40", "$320")
    assert shown["Annual savings at 25%"] == "$14,600"
    # The savings model's cost, of every day built, beside what a fix saves of it: it read
    # "Annualized cost today", a day the figure is not of.
    assert shown["Annualized cost without a fix"] == "$58,400"
    assert shown["Annualized cost (all history)"] == "$58,400"  # both types': the card's sum
    overview = app.dataframe[0].value
    assert overview["journey_type"].tolist() == ["billing", "pharmacy"]  # ranked by cost
    assert overview["primary_segment"].tolist() == ["MAPD New", "Other"]

    (actions,) = [frame for frame in app.dataframe if "fix_rate" in frame.value]
    assert actions.value["fix_rate"].tolist() == [50.0, 25.0]  # in percent: `50.0%`
    assert column_formats(actions)["fix_rate"] == "%.1f%%"
    # Whole dollars, as the cards and the list above it (not `$21,900.00`).
    assert column_formats(actions)["estimated_annual_savings"] == "$%,.0f"
    assert column_formats(app.dataframe[0])["cost"] == "$%,.0f"
    # Written out whole above the table, whose cells cut them (`$` escaped: not LaTeX).
    written_out = [md.value for md in app.markdown if "a year ·" in md.value]
    assert written_out == [
        "- **1. Fix payment timeouts on mobile**: \\$21,900 a year · Payments Engineering"
        " · medium effort\n"
        "- **2. Review the pharmacy journey**: \\$3,650 a year · Digital UX · low effort"
    ]

    (savings,) = [frame for frame in app.dataframe if "annual_savings" in frame.value]
    # To a tenth (not `240.6667`), thousands separated as every count of the page: at scale 1
    # (three journey types, 12,000 leakage calls a day) it read `5146.2` beside `$15,026,904`.
    assert column_formats(savings)["avoidable_calls_per_day"] == "%,.1f"
    assert column_formats(savings)["annual_savings"] == "$%,.0f"

    app.slider(key="leakage_fix_rate").set_value(50).run()
    assert metrics(app)["Annual savings at 50%"] == "$29,200"

    member = app.selectbox(key="leakage_member")
    assert member.value == "M1"  # most leakage calls, then id
    assert any("calls about **pharmacy**, 35 min after" in md.value for md in app.markdown)
    app.slider(key="leakage_step").set_value(2).run()
    assert any(  # the error code as typed: escaped for Markdown (`_` would start italics)
        "hits an error on **billing** (error PAY\\_TIMEOUT)" in md.value for md in app.markdown
    )
    (steps,) = [frame for frame in app.dataframe if "sequence" in frame.value]
    formats = column_formats(steps)  # not `4.933333` minutes
    assert (formats["time_to_call_minutes"], formats["sentiment_score"]) == ("%.1f", "%.2f")
    assert formats["event_at"] == "YYYY-MM-DD HH:mm:ss [UTC]"
    # Not sized from the first rows, portal events without a call or an error ("CL20261",
    # "PAY_TIMEOU" shown).
    widths = json.loads(steps.proto.columns)
    assert widths["call_id"]["width"] == widths["error_code"]["width"] == "medium"

    app.sidebar.multiselect(key="leakage_types").select("pharmacy").run()
    assert metrics(app)["Leakage calls"] == "10"
    # Found by mutation testing: the annualized cost, the lines a day, the root causes and
    # the caption each of every type whatever the filter passed every test. Pharmacy's 5
    # avoidable calls a day: 5 × $8 × 365 = $14,600.
    assert metrics(app)["Annualized cost (all history)"] == "$14,600"
    assert app.caption[0].value == "2024-01-01 to 2024-01-02 · pharmacy"
    assert set(chart_rows(app, "Leakage calls a day")["journey_type"]) == {"pharmacy"}
    (causes,) = [frame.value for frame in app.dataframe if "pct_of_type" in frame.value]
    assert causes["journey_type"].tolist() == ["pharmacy"]
    assert [md.value for md in app.markdown if "a year ·" in md.value] == [
        "- **2. Review the pharmacy journey**: \\$3,650 a year · Digital UX · low effort"
    ]
    # Ranked by the chosen types' leakage calls (seen in an audit: by all of them, so a
    # member of mostly billing calls came first under pharmacy).
    first, second = app.selectbox(key="leakage_member").options
    assert first == "M2 · MAPD New · 2 leakage calls"
    assert second == "M1 · MAPD New · 1 leakage call"


def test_a_leakage_table_not_written_is_said_in_its_section_the_rest_shown(
    gold_root, tmp_path, monkeypatch
):
    """Seen in an audit: without the savings model (a rollup step that failed, a folder
    removed), the page said only "No leakage gold tables yet" and hid the overview, the
    drill-down, playback, root causes and actions, whose tables were all there."""
    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)
    shutil.rmtree(data_dir / "gold" / "leakage_savings_model")

    app = render("leakage", data_dir, monkeypatch)
    (said,) = [block.value for block in app.info]  # in the savings model's section
    assert said.startswith("`leakage_savings_model` is not written yet")
    assert "cx-lakehouse run --date 2024-01-01 --to 2024-01-02" in said
    # the annualized cost's card, a quarter of the page, names the table only
    assert "`leakage_savings_model` is not written yet." in [c.value for c in app.caption]
    shown = metrics(app)
    assert (shown["Leakage calls"], shown["Their cost"]) == ("40", "$320")
    assert shown["Annualized cost (all history)"] == "—"
    headings = [heading.value for heading in app.header]
    assert headings == [
        "Executive overview", "Segment drill-down", "Journey playback", "Savings model",
        "Root causes", "Next-best actions",
    ]  # fmt: skip
    assert app.selectbox(key="leakage_member").value == "M1"  # playback still offered
    tables = [frame.value for frame in app.dataframe]
    assert any("pct_of_type" in frame.columns for frame in tables)  # root causes
    (actions,) = [frame for frame in tables if "estimated_annual_savings" in frame.columns]
    # What an action saves, beside it: further right it was behind the table's scroll.
    assert list(actions.columns[:3]) == ["rank", "action", "estimated_annual_savings"]

    # The drill-down gone too: the overview ranks the types without their primary segment.
    shutil.rmtree(data_dir / "gold" / "leakage_segment_drilldown")
    app = render("leakage", data_dir, monkeypatch)
    said = [block.value for block in app.info]
    assert (
        sum(text.startswith("`leakage_segment_drilldown` is not written yet") for text in said) == 2
    )
    overview = app.dataframe[0].value
    assert overview["journey_type"].tolist() == ["billing", "pharmacy"]
    assert overview["primary_segment"].isna().all()


def test_leakage_root_causes_share_of_their_type_is_of_the_days_shown(gold_root, monkeypatch):
    """Seen in an audit: narrowed to some days, "% of type" divided by the type's calls of
    every day (DuckDB's window over hive-partitioned Parquet ignored the days' filter)."""
    app = render("leakage", gold_root, monkeypatch)

    def shares() -> dict[tuple[str, str], float]:
        (causes,) = [frame.value for frame in app.dataframe if "pct_of_type" in frame.value.columns]
        return {(row.journey_type, row.error_code): row.pct_of_type for row in causes.itertuples()}

    # The largest first, ties by journey type (found by mutation testing: the smallest first
    # passed every test): 30 calls, then 10 of billing and 10 of pharmacy.
    assert list(shares().items()) == [
        (("billing", "PAY_TIMEOUT"), 75.0),
        (("billing", "CARD_DECLINED"), 25.0),
        (("pharmacy", "(abandoned)"), 100.0),
    ]
    app.sidebar.date_input(key="leakage_days").set_value((DAY2, DAY2)).run()
    assert shares() == {("billing", "PAY_TIMEOUT"): 100.0, ("pharmacy", "(abandoned)"): 100.0}


def leakage_of_a_quieter_second_day(gold_root: Path, tmp_path: Path) -> Path:
    """A copy of the gold dataset whose second day had 2 billing leakage calls, not 20: both
    of MAPD New members, 75% of them repeats, sentiment +0.5 (the first day unchanged: MAPD
    New 8 calls, 25% repeats, sentiment -0.5; Commercial 2 calls)."""
    from cx_assets.digital import schemas as digital_schemas

    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)
    gold_rows.publish(data_dir, "leakage_daily_summary", digital_schemas.LeakageDailySummary, [
        {"date": DAY2, "journey_type": journey, "leakage_calls": n, "daily_cost": 8.0 * n,
         "primary_segment": segment, "trend_pct": trend}
        for journey, n, segment, trend in (("billing", 2, "MAPD New", 14.0),
                                           ("pharmacy", 5, "Other", -2.0))
    ])  # fmt: skip
    gold_rows.publish(
        data_dir, "leakage_segment_drilldown", digital_schemas.LeakageSegmentDrilldown, [
            {"date": DAY2, "journey_type": journey, "member_category": category, "calls": n,
             "cost": 8.0 * n, "repeat_call_pct": repeat, "avg_sentiment": sentiment}
            for journey, category, n, repeat, sentiment in (
                ("billing", "MAPD New", 2, 75.0, 0.5), ("pharmacy", "Other", 5, 0.0, -0.1))
        ],
    )  # fmt: skip
    return data_dir


@pytest.fixture(scope="module")
def quieter_second_day_page(gold_root, tmp_path_factory) -> AppTest:
    """The leakage page rendered on `leakage_of_a_quieter_second_day`, for the drill-down's
    tests to read."""
    data_dir = leakage_of_a_quieter_second_day(gold_root, tmp_path_factory.mktemp("quieter"))
    return render_each(["leakage"], data_dir)["leakage"]


def billing_drill_down(app: AppTest) -> pd.DataFrame:
    assert app.selectbox(key="leakage_drill_type").value == "billing"  # the costliest
    (drill,) = [frame.value for frame in app.dataframe if "repeat_call_pct" in frame.value]
    return drill.set_index("member_category")


def test_leakage_drill_down_repeat_share_is_of_the_calls_of_both_days(quieter_second_day_page):
    drill = billing_drill_down(quieter_second_day_page)
    assert drill.index.tolist() == ["MAPD New", "Commercial"]  # the most calls first: 10, 2
    mapd_new = drill.loc["MAPD New"]
    # 8 calls at 25% repeats and 2 at 75%: (8 × 25 + 2 × 75) ÷ 10 = 350 ÷ 10 = 35%
    # of the 10 calls (the two days' percentages averaged would say 50%).
    assert mapd_new["calls"] == 10
    assert mapd_new["repeat_call_pct"] == pytest.approx(35.0)


def test_leakage_drill_down_sentiment_is_the_mean_of_the_calls_of_both_days(
    quieter_second_day_page,
):
    mapd_new = billing_drill_down(quieter_second_day_page).loc["MAPD New"]
    # 8 calls at -0.5 and 2 at +0.5: (8 × -0.5 + 2 × 0.5) ÷ 10 = -3 ÷ 10 = -0.3
    # (the two days' means averaged would say 0.0).
    assert mapd_new["avg_sentiment"] == pytest.approx(-0.3)


def test_leakage_drill_down_sentiment_leaves_out_days_without_one(gold_root, monkeypatch):
    """Pharmacy's Other members: 5 calls on day 1 without a sentiment, 5 on day 2 at -0.1:
    the mean of the 5 calls that have one, -0.1 (over all 10 it would read -0.05)."""
    app = render("leakage", gold_root, monkeypatch)
    app.selectbox(key="leakage_drill_type").set_value("pharmacy").run()
    (drill,) = [frame.value for frame in app.dataframe if "repeat_call_pct" in frame.value]
    # pharmacy's member categories only (billing's MAPD New and Commercial are not its)
    assert drill["member_category"].tolist() == ["Other"]
    other = drill.set_index("member_category").loc["Other"]
    assert other["calls"] == 10
    assert other["avg_sentiment"] == pytest.approx(-0.1)


def test_the_playback_table_holds_the_steps_up_to_the_one_shown(gold_root, monkeypatch):
    """M1 on day 2 (the member offered first: 2 leakage calls, as M2, and first by id): four
    steps, shown at the last; at step 2 (the payment error), steps 1 and 2."""
    app = render("leakage", gold_root, monkeypatch)

    def played() -> list[int]:
        (table,) = [frame.value for frame in app.dataframe if "event_kind" in frame.value]
        return table["sequence"].tolist()

    assert played() == [1, 2, 3, 4]
    app.slider(key="leakage_step").set_value(2).run()
    assert played() == [1, 2]
    assert any("Step 2 of 4" in block.value for block in app.markdown)
    # An event without an error code says none (found by mutation testing: "(error None)"
    # passed every test).
    app.slider(key="leakage_step").set_value(1).run()
    assert played() == [1]
    assert "Step 1 of 4, 09:00:00 UTC: the member starts **billing**." in [
        block.value for block in app.markdown
    ]


def test_the_playback_offers_a_members_latest_day_first(gold_root, tmp_path, monkeypatch):
    """M1 leaks on day 1 too (its day 2's payment error and billing call, a day earlier):
    the day picker offers day 2, the latest, first and opens on it."""
    import pandas as pd

    from cx_assets.digital import schemas as digital_schemas

    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)
    folder = data_dir / "gold" / "leakage_journey_timeline" / f"date={gold_rows.DAY2}"
    day2 = pd.concat(pd.read_parquet(path) for path in folder.glob("*.parquet"))
    earlier = day2[(day2["member_id"] == "M1") & day2["sequence"].isin([2, 3])].copy()
    earlier["sequence"] = [1, 2]
    earlier["event_at"] = earlier["event_at"] - pd.Timedelta(days=1)
    earlier["date"] = gold_rows.DAY1
    gold_rows.publish(data_dir, "leakage_journey_timeline", digital_schemas.LeakageJourneyTimeline,
                      earlier.to_dict("records"))  # fmt: skip
    app = render("leakage", data_dir, monkeypatch)
    picker = app.selectbox(key="leakage_member_day")
    assert [str(day) for day in picker.options] == [str(gold_rows.DAY2), str(gold_rows.DAY1)]
    assert str(picker.value) == str(gold_rows.DAY2)
    # Day 1 played: its two steps alone (found by mutation testing: the timeline of that day
    # and the days after, six steps, passed every test).
    picker.set_value(gold_rows.DAY1).run()
    (steps,) = [frame.value for frame in app.dataframe if "event_kind" in frame.value]
    assert steps["sequence"].tolist() == [1, 2]
    assert steps["event_at"].dt.date.tolist() == [gold_rows.DAY1] * 2


def test_the_playback_offers_the_members_and_days_of_the_leakage_chosen(
    gold_root, tmp_path, monkeypatch
):
    """Found by mutation testing: the playback offering a member without a leakage call,
    a member's day without one of the types chosen, or ranking the members by the calls of
    days not chosen; every call said to follow a failure; and an abandoned journey said as
    viewed, each passed every test. M2 gets a first day (a payment error, a billing leakage
    call 10 min after it, a pharmacy page viewed) and, on the second, a call about `other`
    that followed no failure; M3 a first day of a view and a call, no leakage."""
    from cx_assets.digital import schemas as digital_schemas

    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)
    folder = data_dir / "gold" / "leakage_journey_timeline" / f"date={DAY2}"
    day2 = pd.concat(pd.read_parquet(path) for path in folder.glob("*.parquet")).assign(date=DAY2)
    m2 = day2[day2["member_id"] == "M2"].set_index("sequence")  # abandon, two pharmacy calls

    def step(template: str, day, member: str, sequence: int, minute: int, **values) -> dict:
        row = m2.loc[1 if template == "event" else 2].to_dict()
        return {**row, "date": day, "member_id": member, "sequence": sequence,
                "event_at": gold_rows.at(day, 9, minute), **values}  # fmt: skip

    no_call = {"is_leakage_call": False, "time_to_call_minutes": None}
    day1 = gold_rows.DAY1
    timeline = digital_schemas.LeakageJourneyTimeline
    gold_rows.publish(data_dir, "leakage_journey_timeline", timeline, [
        *day2.to_dict("records"),
        step("call", DAY2, "M2", 4, 50, journey_type="other", call_reason="other",
             call_id="CALL-M2-4", **no_call),
        step("event", day1, "M2", 1, 0, journey_type="billing", action="error",
             error_code="PAY_TIMEOUT"),
        step("call", day1, "M2", 2, 10, journey_type="billing", call_reason="billing",
             call_id="CALL-M2-D1", time_to_call_minutes=10.0),
        step("event", day1, "M2", 3, 20, action="view", is_attributed_event=False),
        step("event", day1, "M3", 1, 0, action="view", is_attributed_event=False),
        step("call", day1, "M3", 2, 5, call_id="CALL-M3-2", **no_call),
    ])  # fmt: skip
    app = render("leakage", data_dir, monkeypatch)
    assert app.selectbox(key="leakage_member").options == [
        "M2 · MAPD New · 3 leakage calls", "M1 · MAPD New · 2 leakage calls",
    ]  # fmt: skip

    def said(step: int) -> str:
        app.slider(key="leakage_step").set_value(step).run()
        (words,) = [md.value for md in app.markdown if md.value.startswith(f"Step {step} of")]
        return words

    # Of pharmacy: M2's second day alone (its first had a billing leakage call, and a
    # pharmacy page viewed without one).
    app.sidebar.multiselect(key="leakage_types").select("pharmacy").run()
    assert app.selectbox(key="leakage_member").value == "M2"
    assert [str(day) for day in app.selectbox(key="leakage_member_day").options] == [str(DAY2)]
    assert said(1) == "Step 1 of 4, 09:10:00 UTC: the member abandons **pharmacy**."
    assert said(4) == "Step 4 of 4, 09:50:00 UTC: the member calls about **other**."
    # The second day alone, every type: M1 and M2 have 2 leakage calls each, M1 first by id.
    app.sidebar.multiselect(key="leakage_types").unselect("pharmacy")
    app.sidebar.date_input(key="leakage_days").set_value((DAY2, DAY2))
    app.run()
    assert app.selectbox(key="leakage_member").options == [
        "M1 · MAPD New · 2 leakage calls", "M2 · MAPD New · 2 leakage calls",
    ]  # fmt: skip


def test_a_primary_segment_tied_over_the_days_goes_to_the_first_by_name(
    gold_root, tmp_path, monkeypatch
):
    """Found in a code audit: over several days the page took either of two categories tied
    on calls (DuckDB's `arg_max` names none), where gold's rule for a day takes the first."""
    from cx_assets.digital import schemas as digital_schemas

    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)
    shutil.rmtree(data_dir / "gold" / "leakage_segment_drilldown")
    gold_rows.publish(
        data_dir, "leakage_segment_drilldown", digital_schemas.LeakageSegmentDrilldown, [
            {"date": day, "journey_type": "billing", "member_category": category, "calls": n,
             "cost": 8.0 * n, "repeat_call_pct": 0.0, "avg_sentiment": 0.0}
            # 6 + 4 calls each over the two days, in the two orders
            for day, category, n in ((gold_rows.DAY1, "Other", 6), (gold_rows.DAY1, "MAPD New", 4),
                                     (DAY2, "Other", 4), (DAY2, "MAPD New", 6))
        ],
    )  # fmt: skip
    app = render("leakage", data_dir, monkeypatch)
    (overview,) = [frame.value for frame in app.dataframe if "primary_segment" in frame.value]
    assert overview.set_index("journey_type")["primary_segment"]["billing"] == "MAPD New"


def test_leakage_trend_is_of_the_latest_day_shown(gold_root, tmp_path, monkeypatch):
    """Each day's `trend_pct` is its week over the week before: the page shows the latest."""
    from cx_assets.digital import schemas as digital_schemas

    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)
    gold_rows.publish(data_dir, "leakage_daily_summary", digital_schemas.LeakageDailySummary, [
        {"date": gold_rows.DAY1, "journey_type": journey, "leakage_calls": n,
         "daily_cost": 8.0 * n, "primary_segment": segment, "trend_pct": trend}
        for journey, n, segment, trend in (("billing", 10, "MAPD New", 5.0),
                                           ("pharmacy", 5, "Other", 10.0))
    ])  # fmt: skip
    app = render("leakage", data_dir, monkeypatch)
    # billing: +5.0% on DAY1, +14.0% on DAY2; pharmacy: +10.0%, then -2.0% on DAY2. The
    # latest day, DAY2: billing +14.0% is the fastest growing (the first day would make it
    # pharmacy at +10.0%).
    (overview,) = [frame.value for frame in app.dataframe if "latest_trend_pct" in frame.value]
    assert overview.set_index("journey_type")["latest_trend_pct"].to_dict() == {
        "billing": 14.0, "pharmacy": -2.0
    }  # fmt: skip
    (fastest,) = [metric for metric in app.metric if metric.label == "Fastest growing"]
    assert (fastest.value, fastest.delta) == ("billing", "+14.0% week on week")


def test_a_journey_type_from_gold_is_written_as_typed_in_the_fastest_growing_card(
    gold_root, tmp_path, monkeypatch
):
    """Found in a hostile-input audit (every page rendered in Chromium on gold whose labels
    held Markdown, HTML and LaTeX): a card's value is Markdown, and the fastest growing
    journey type went in as delivered, so `$E=mc^2$` showed as a formula, `**b**` bold and
    `[md](…)` as a link's text. It is escaped, as the captions' names are; so are `&`
    (`&lt;i&gt;` showed as `<i>`) and `:` (`:red[r]` lost its `:red`)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)
    marked = "billing **b** $E=mc^2$ &lt;i&gt; :red[r]"
    for path in (data_dir / "gold").glob("leakage_*/**/*.parquet"):
        rows = pq.read_table(path)
        if "journey_type" not in rows.column_names:
            continue
        position = rows.schema.get_field_index("journey_type")
        types = pc.replace_substring(rows["journey_type"], "billing", marked)
        pq.write_table(rows.set_column(position, rows.schema.field(position), types), path)
    app = render("leakage", data_dir, monkeypatch)

    (fastest,) = [metric for metric in app.metric if metric.label == "Fastest growing"]
    assert fastest.value == "billing \\*\\*b\\*\\* \\$E=mc^2\\$ \\&lt;i\\&gt; \\:red\\[r\\]"


def test_without_a_trend_the_fastest_growing_card_says_why(gold_root, tmp_path, monkeypatch):
    """Seen in an audit: "Fastest growing —", and "None" in the trend column, with no reason
    (fewer than 14 days of calls to compare)."""
    from cx_assets.digital import schemas as digital_schemas

    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)
    shutil.rmtree(data_dir / "gold" / "leakage_daily_summary")
    gold_rows.publish(data_dir, "leakage_daily_summary", digital_schemas.LeakageDailySummary, [
        {"date": day, "journey_type": "billing", "leakage_calls": 10, "daily_cost": 80.0,
         "primary_segment": "MAPD New", "trend_pct": None}
        for day in (gold_rows.DAY1, DAY2)
    ])  # fmt: skip
    app = render("leakage", data_dir, monkeypatch)
    (fastest,) = [metric for metric in app.metric if metric.label == "Fastest growing"]
    assert fastest.value == "—"
    assert fastest.proto.help.startswith("No week-on-week trend: it needs calls delivered")
    assert any("blank without 14 days of calls" in caption.value for caption in app.caption)


def test_a_portal_event_without_an_action_reads_without_none(gold_root, tmp_path, monkeypatch):
    """Found in an audit: gold allows an event without an `action`, and the playback read
    "the member None **billing**"."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)
    for path in (data_dir / "gold" / "leakage_journey_timeline").rglob("*.parquet"):
        rows = pq.read_table(path)
        position = rows.schema.get_field_index("action")
        actions = pc.if_else(
            pc.equal(rows["action"], "error"), pa.scalar(None, pa.string()), rows["action"]
        )
        pq.write_table(rows.set_column(position, rows.schema.field(position), actions), path)
    app = render("leakage", data_dir, monkeypatch)

    app.slider(key="leakage_step").set_value(2).run()

    said = [md.value for md in app.markdown if md.value.startswith("Step 2 of")]
    assert said and "None" not in said[0]
    assert "the member has an event on **billing** (error PAY\\_TIMEOUT)." in said[0], said


def test_the_leakage_pages_percentages_carry_their_percent_sign(gold_root, monkeypatch):
    """Found in an accessibility audit: the leakage page's trend, repeat calls and share of
    a journey type were written 27.7 and +3.2, the % only in the header, where every other
    table writes 76.2%; a screen reader reading a cell by itself said a bare number."""
    app = render("leakage", gold_root, monkeypatch)
    formats = {}
    for table in app.dataframe:
        formats.update(column_formats(table))
    assert formats["latest_trend_pct"] == "%+.1f%%"
    assert formats["repeat_call_pct"] == "%.1f%%"
    assert formats["pct_of_type"] == "%.1f%%"


def test_a_trend_missing_on_the_latest_day_shown_is_blank_not_an_earlier_days(
    gold_root, tmp_path, monkeypatch
):
    """Found in an audit of every number against gold: the trend column ("the latest week
    over the week before") took the latest day with a trend, DuckDB's `arg_max` passing over
    a missing one, so a type without a week-on-week trend on the latest day (no calls in the
    week before) showed an earlier day's, and could be named fastest growing by it."""
    from cx_assets.digital import schemas as digital_schemas

    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)
    gold_rows.publish(data_dir, "leakage_daily_summary", digital_schemas.LeakageDailySummary, [
        {"date": day, "journey_type": journey, "leakage_calls": n, "daily_cost": 8.0 * n,
         "primary_segment": "MAPD New", "trend_pct": trend}
        for day, journey, n, trend in ((gold_rows.DAY1, "billing", 10, 30.0),
                                       (gold_rows.DAY1, "pharmacy", 5, 10.0),
                                       (DAY2, "billing", 20, None), (DAY2, "pharmacy", 5, -2.0))
    ])  # fmt: skip
    app = render("leakage", data_dir, monkeypatch)

    (overview,) = [frame.value for frame in app.dataframe if "latest_trend_pct" in frame.value]
    trends = overview.set_index("journey_type")["latest_trend_pct"]
    assert pd.isna(trends["billing"]) and trends["pharmacy"] == -2.0
    (fastest,) = [metric for metric in app.metric if metric.label == "Fastest growing"]
    # pharmacy fell: no type grew on the latest day, and the card says so
    assert fastest.value == "—"
    assert fastest.proto.help == (
        "No journey type's leakage grew week on week (the least fall: pharmacy, -2.0%)."
    )


def test_a_type_whose_leakage_held_is_not_named_fastest_growing(gold_root, tmp_path, monkeypatch):
    """Found in an audit of every number against gold: a week with as many leakage calls as
    the week before (gold's trend 0.0) read "+0.0% week on week" with a red arrow up, as a
    rise; and with every type falling, the card named the one that fell least. A type that
    held or fell is not growing: the card says none grew, and which fell least."""
    from cx_assets.digital import schemas as digital_schemas

    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)
    gold_rows.publish(data_dir, "leakage_daily_summary", digital_schemas.LeakageDailySummary, [
        {"date": DAY2, "journey_type": journey, "leakage_calls": n, "daily_cost": 8.0 * n,
         "primary_segment": "MAPD New", "trend_pct": trend}
        for journey, n, trend in (("billing", 20, 0.0), ("pharmacy", 5, -2.0))
    ])  # fmt: skip
    app = render("leakage", data_dir, monkeypatch)

    (fastest,) = [metric.proto for metric in app.metric if metric.label == "Fastest growing"]
    assert (fastest.body, fastest.delta) == ("—", "")
    assert fastest.help.startswith("No journey type's leakage grew week on week (the least")
    # billing held (0.0), pharmacy fell (-2.0): the least fall is billing's.
    assert fastest.help.endswith("(the least fall: billing, +0.0%).")


def test_a_fall_too_small_to_show_reads_as_none_not_minus_zero(gold_root, tmp_path, monkeypatch):
    """billing fell 0.04% week on week, pharmacy 2.0%: the least fall, shown to a tenth of a
    percent, is none, and read "-0.0%" (the calls page's changes write it "+0.0"), in the
    card's help and in the overview table (its printf format has no `z`)."""
    from cx_assets.digital import schemas as digital_schemas

    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)
    gold_rows.publish(data_dir, "leakage_daily_summary", digital_schemas.LeakageDailySummary, [
        {"date": DAY2, "journey_type": journey, "leakage_calls": n, "daily_cost": 8.0 * n,
         "primary_segment": "MAPD New", "trend_pct": trend}
        for journey, n, trend in (("billing", 20, -0.04), ("pharmacy", 5, -2.0))
    ])  # fmt: skip
    app = render("leakage", data_dir, monkeypatch)

    (fastest,) = [metric.proto for metric in app.metric if metric.label == "Fastest growing"]
    assert fastest.help.endswith("(the least fall: billing, +0.0%).")
    (table,) = [table for table in app.dataframe if "latest_trend_pct" in table.value]
    trends = table.value.set_index("journey_type")["latest_trend_pct"]
    # shown to a tenth, as the format writes it: billing's -0.04 is 0.0, and not -0.0
    assert trends.to_dict() == {"billing": 0.0, "pharmacy": -2.0}
    assert math.copysign(1.0, trends["billing"]) == 1.0
    assert column_formats(table)["latest_trend_pct"] == "%+.1f%%"


def test_the_fastest_growing_card_names_the_type_that_grew_most(gold_root, tmp_path, monkeypatch):
    """billing +14.0% and pharmacy +30.0% week on week: pharmacy grew most. More leakage is
    bad news: its delta red, its arrow up (found by mutation testing: drawn green, as a rise
    in revenue is, it passed every test)."""
    from streamlit.proto.Metric_pb2 import Metric

    from cx_assets.digital import schemas as digital_schemas

    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)
    gold_rows.publish(data_dir, "leakage_daily_summary", digital_schemas.LeakageDailySummary, [
        {"date": DAY2, "journey_type": journey, "leakage_calls": n, "daily_cost": 8.0 * n,
         "primary_segment": "MAPD New", "trend_pct": trend}
        for journey, n, trend in (("billing", 20, 14.0), ("pharmacy", 5, 30.0))
    ])  # fmt: skip
    app = render("leakage", data_dir, monkeypatch)

    (fastest,) = [metric.proto for metric in app.metric if metric.label == "Fastest growing"]
    assert (fastest.body, fastest.delta) == ("pharmacy", "+30.0% week on week")
    assert (fastest.color, fastest.direction) == (Metric.MetricColor.RED, Metric.MetricDirection.UP)


def test_the_daily_leakage_lines_hold_every_day_built_for_each_type(
    gold_root, tmp_path, monkeypatch
):
    """Found in an audit of every number against gold: the summary has no row for a journey
    type on a day it had no leakage call and none in the two weeks before (a type's first
    calls, or one quiet for weeks), and its line skipped the day, starting late or drawn
    straight across; such a day is 0 calls of the type."""
    from cx_assets.digital import schemas as digital_schemas

    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)
    gold_rows.publish(data_dir, "leakage_daily_summary", digital_schemas.LeakageDailySummary, [
        {"date": gold_rows.DAY1, "journey_type": "billing", "leakage_calls": 10,
         "daily_cost": 80.0, "primary_segment": "MAPD New", "trend_pct": None},
    ])  # fmt: skip
    app = render("leakage", data_dir, monkeypatch)

    rows = chart_rows(app, "Leakage calls a day")
    calls = {(row.journey_type, row.date.date()): row.leakage_calls for row in rows.itertuples()}
    # pharmacy's first calls came on the second day: none on the first
    assert calls == {
        ("billing", gold_rows.DAY1): 10, ("billing", DAY2): 20,
        ("pharmacy", gold_rows.DAY1): 0, ("pharmacy", DAY2): 5,
    }  # fmt: skip


def test_a_repeat_call_in_the_playback_is_said_to_be_one(gold_root, tmp_path, monkeypatch):
    """Found by a type checker's audit: the playback said "(a repeat call)" only when gold's
    `is_repeat_call` was Python's `True` itself, and a cell of a queried frame is numpy's
    `True_`, so a repeat call never read as one."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)
    for path in (data_dir / "gold" / "leakage_journey_timeline").rglob("*.parquet"):
        rows = pq.read_table(path)
        position = rows.schema.get_field_index("is_repeat_call")
        # M1's pharmacy call (its step 4) is a repeat call; its billing call (step 3) is not
        repeat = pc.and_(pc.equal(rows["member_id"], "M1"), pc.equal(rows["sequence"], 4))
        flags = pc.if_else(repeat, pa.scalar(True), rows["is_repeat_call"])
        pq.write_table(rows.set_column(position, rows.schema.field(position), flags), path)
    app = render("leakage", data_dir, monkeypatch)

    def step_said(step: int) -> str:
        app.slider(key="leakage_step").set_value(step).run()
        (said,) = [md.value for md in app.markdown if md.value.startswith(f"Step {step} of")]
        return said

    assert step_said(4).endswith("35 min after the failure: a leakage call (a repeat call).")
    assert "repeat" not in step_said(3)


def test_the_savings_model_ranks_journey_types_by_their_cost(gold_root, tmp_path, monkeypatch):
    """Found in a mutation audit (the fixture's costlier type came first by name too): billing
    leaks 5 avoidable calls a day and pharmacy 15, at $8 a call. Pharmacy's $43,800 a year
    (15 × $8 × 365), $10,950 saved at 25%, comes before billing's $14,600, $3,650 saved, in
    the table and the bars; by name, billing would come first."""
    from cx_assets.digital import schemas as digital_schemas

    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)

    gold_rows.publish(data_dir, "leakage_savings_model", digital_schemas.LeakageSavingsModel,
                      [gold_rows.savings_row("billing", 5.0),  # $14,600 a year
                       gold_rows.savings_row("pharmacy", 15.0)])  # $43,800 a year  # fmt: skip
    actions = pd.read_parquet(data_dir / "gold" / "leakage_action_recommendations")
    gold_rows.publish(
        data_dir, "leakage_action_recommendations", digital_schemas.LeakageActionRecommendation,
        [{**actions.iloc[0].to_dict(), "rank": rank, "action": f"Action {rank}"}
         for rank in (1, 2, 3, 4)],
    )  # fmt: skip
    app = render("leakage", data_dir, monkeypatch)

    (savings,) = [frame.value for frame in app.dataframe if "annual_savings" in frame.value]
    assert savings["journey_type"].tolist() == ["pharmacy", "billing"]
    assert savings["annual_savings"].tolist() == [10_950.0, 3_650.0]
    bars = chart_rows(app, "Annual savings at a 25% fix rate")
    assert bars["journey_type"].tolist() == ["pharmacy", "billing"]
    # Of four next-best actions, the first three are written out above their table (found
    # by mutation testing: two written out passed, the fixture having two).
    written_out = [md.value for md in app.markdown if "a year ·" in md.value]
    assert [line.split(".")[0] for line in written_out[0].splitlines()] == [
        "- **1",
        "- **2",
        "- **3",
    ]


def test_the_primary_segment_is_of_the_days_chosen(gold_root, tmp_path, monkeypatch):
    """Found in a mutation audit (the fixture's primary segments were the same every day):
    billing's leakage calls were 10 of Commercial members on day 1, and on day 2 11 of MAPD
    New and 9 of Commercial. Over both days Commercial is billing's primary segment (19
    calls against 11); on day 2 alone it is MAPD New (11 against 9), which the segments of
    every day would still call Commercial."""
    from cx_assets.digital import schemas as digital_schemas

    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)
    shutil.rmtree(data_dir / "gold" / "leakage_segment_drilldown")
    gold_rows.publish(
        data_dir, "leakage_segment_drilldown", digital_schemas.LeakageSegmentDrilldown, [
            {"date": day, "journey_type": journey, "member_category": category, "calls": n,
             "cost": 8.0 * n, "repeat_call_pct": 0.0, "avg_sentiment": 0.0}
            for day, journey, category, n in (
                (gold_rows.DAY1, "billing", "Commercial", 10), (DAY2, "billing", "MAPD New", 11),
                (DAY2, "billing", "Commercial", 9), (gold_rows.DAY1, "pharmacy", "Other", 5),
                (DAY2, "pharmacy", "Other", 5))
        ],
    )  # fmt: skip
    app = render("leakage", data_dir, monkeypatch)

    def primary_segments() -> dict[str, str]:
        (overview,) = [frame.value for frame in app.dataframe if "primary_segment" in frame.value]
        return overview.set_index("journey_type")["primary_segment"].to_dict()

    assert primary_segments() == {"billing": "Commercial", "pharmacy": "Other"}
    app.sidebar.date_input(key="leakage_days").set_value((DAY2, DAY2)).run()
    assert primary_segments() == {"billing": "MAPD New", "pharmacy": "Other"}
