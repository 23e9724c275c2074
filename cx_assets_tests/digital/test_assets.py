"""The digital domain end to end on hand-landed CSV files: landing → bronze → silver (with
quarantine) → gold, earlier days read through partition mappings, repeat calls, empty days,
gold's Parquet layout and the checks; and the first large write of silver journeys."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from dagster import AssetCheckSeverity

from cx_assets.digital import schemas
from cx_assets.digital.assets import LEAKAGE_SHARE
from cx_assets.lakehouse.checks import NON_EMPTY, RECONCILES_WITH_BRONZE, UNIQUE_KEY
from cx_assets.lakehouse.validation import ordered
from cx_assets.lakehouse.warehouse import replace_rows
from cx_assets_tests.conftest import check_results
from cx_assets_tests.digital.landing_rows import (
    DIGITAL,
    EVERYTHING,
    GOLD_PARTITIONED,
    GOLD_WHOLE,
    call,
    event,
    member,
    run_partitioned,
    run_rollups,
)
from cx_assets_tests.instance import in_memory_instance
from cx_assets_tests.lakehouse.silver_chunks import spy_on_silver_chunks

LANDED_TABLES = ("journeys", "calls", "members")


def test_definitions_hold_the_leakage_tables_and_checks():
    keys = {key.to_user_string() for asset in DIGITAL.assets for key in asset.keys}
    assert {f"gold/{table}" for table in (*GOLD_PARTITIONED, *GOLD_WHOLE)} <= keys
    assert {"silver/digital_leakage_calls", "silver/digital_members"} <= keys
    assert {f"bronze/digital_{table}" for table in LANDED_TABLES} <= keys
    check_names = {key.name for key in DIGITAL.check_keys}
    assert {LEAKAGE_SHARE, UNIQUE_KEY} <= check_names


def test_a_failure_before_midnight_leaks_into_the_next_day(lake):
    before, day = "2024-01-08", "2024-01-09"
    lake.land_csv(
        "digital",
        "journeys",
        before,
        [
            event("M1", "S1", "2024-01-08T23:40:00", "start"),
            event("M1", "S1", "2024-01-08T23:50:00", "error", code="PAY_TIMEOUT"),
            event("M1", "S1", "2024-01-08T23:50:00", "error", code="PAY_TIMEOUT"),  # duplicate
            event("M2", "S2", "not a time", "start"),
            event("M2", "S2", "2024-01-08T10:00:00", "explode"),
        ],
    )
    lake.land_csv(
        "digital",
        "members",
        before,
        [member("M1"), member("M2", "Commercial", "10"), member("M3", tenure="abc")],
    )
    lake.land_csv(
        "digital",
        "calls",
        day,
        [
            call("C1", "M1", "2024-01-09T00:10:00"),
            call("C2", "M2", "2024-01-09T08:00:00", reason="claims", sentiment="0.2"),
            call("C1", "M1", "2024-01-09T00:10:00"),  # duplicate call_id
            call("C3", "M2", "2024-01-09T09:00:00", sentiment="3"),
            call("", "M2", "2024-01-09T09:30:00"),
        ],
    )
    first = run_partitioned(lake, before)
    assert first.success
    # The next day runs alone: it reads the day before through the partition mapping.
    second = run_partitioned(lake, day)
    assert second.success

    leakage = lake.query("SELECT * FROM silver.digital_leakage_calls")
    assert leakage["call_id"].tolist() == ["C1"]
    (materialized,) = second.asset_materializations_for_node("silver__digital_leakage_calls")
    said = {key: value.value for key, value in materialized.metadata.items()}
    # the windows read: calls of D-7..D, journeys of D-1..D
    assert (said["calls_read_from"], said["journeys_read_from"]) == ("2024-01-02", before)
    row = leakage.iloc[0]
    assert str(row["date"])[:10] == day and str(row["event_date"])[:10] == before
    assert row["time_to_call_minutes"] == 20.0
    assert row["member_category"] == "MAPD New" and not row["is_repeat_call"]

    summary = lake.gold("leakage_daily_summary")
    folders = sorted((lake.layout.gold_dir / "leakage_daily_summary").glob("date=*"))
    assert [f.name for f in folders] == [f"date={before}", f"date={day}"]  # empty day: 0 rows
    for file in (lake.layout.gold_dir / "leakage_daily_summary").glob("date=*/*.parquet"):
        assert "date" not in pq.read_schema(file).names  # the partition lives in the path
    assert summary[["journey_type", "leakage_calls", "daily_cost", "primary_segment"]].to_dict(
        "records"
    ) == [
        {
            "journey_type": "billing",
            "leakage_calls": 1,
            "daily_cost": 8.0,
            "primary_segment": "MAPD New",
        }
    ]
    assert summary["trend_pct"].isna().all()
    causes = lake.gold("leakage_root_cause")
    assert causes[["error_code", "device_type", "leakage_calls", "pct"]].values.tolist() == [
        ["PAY_TIMEOUT", "mobile_app", 1, 100.0]
    ]
    timeline = lake.query("SELECT * FROM gold.leakage_journey_timeline ORDER BY sequence")
    assert timeline["event_kind"].tolist() == ["journey_event", "journey_event", "call"]
    assert timeline["is_attributed_event"].tolist() == [False, True, False]
    assert (timeline["date"].astype(str).str[:10] == day).all()

    reasons = pd.concat([lake.quarantine("digital_journeys"), lake.quarantine("digital_calls")])
    reasons = " | ".join(reasons["reason"])
    assert "duplicate member_id, session_id, timestamp, journey_type, action (" in reasons
    assert "duplicate call_id" in reasons
    assert "timestamp" in reasons and "action" in reasons and "sentiment_score" in reasons
    assert "call_id" in reasons
    assert len(lake.quarantine("digital_members")) == 1

    results = {**check_results(first), **check_results(second)}
    for table in LANDED_TABLES:
        silver = {"journeys": "digital_journeys", "calls": "digital_calls"}.get(
            table, "digital_member_versions"
        )
        assert results[(f"silver/{silver}", RECONCILES_WITH_BRONZE)].passed
    assert results[("silver/digital_leakage_calls", UNIQUE_KEY)].passed
    assert results[("gold/leakage_daily_summary", UNIQUE_KEY)].passed
    # The calls of the 8th and the journeys of the 9th never landed: WARN, not a failed run.
    for evaluation in (
        check_results(first)[("bronze/digital_calls", NON_EMPTY)],
        check_results(second)[("bronze/digital_journeys", NON_EMPTY)],
    ):
        assert not evaluation.passed and evaluation.severity == AssetCheckSeverity.WARN


def test_two_journeys_failing_in_one_session_in_the_same_second_are_two_timeline_events(lake):
    """Valid input that failed the run: the timeline's ERROR grain check keyed journey
    events without their journey type, the silver events' natural key has it."""
    day = "2024-01-09"
    lake.land_csv("digital", "journeys", day, [
        event("M4", "S4", "2024-01-09T12:00:00", "error", "billing", code="PAY_TIMEOUT"),
        event("M4", "S4", "2024-01-09T12:00:00", "error", "id_card", code="PDF_RENDER"),
    ])  # fmt: skip
    lake.land_csv("digital", "members", day, [member("M4")])
    lake.land_csv("digital", "calls", day, [
        call("K4a", "M4", "2024-01-09T12:05:00", reason="billing"),
        call("K4b", "M4", "2024-01-09T12:06:00", reason="id_card"),
    ])  # fmt: skip

    result = run_partitioned(lake, day)

    assert result.success
    timeline = lake.query(
        "SELECT event_kind, journey_type, coalesce(call_id, '') AS call_id "
        "FROM gold.leakage_journey_timeline ORDER BY event_kind DESC, journey_type"
    )
    assert timeline.values.tolist() == [
        ["journey_event", "billing", ""],
        ["journey_event", "id_card", ""],
        ["call", "billing", "K4a"],
        ["call", "id_card", "K4b"],
    ]


def test_repeat_calls_are_found_in_earlier_partitions(lake):
    lake.land_csv(
        "digital",
        "calls",
        "2024-01-07",
        [call("A0", "M2", "2024-01-07T12:00:00")],  # 8 days before: not a repeat
    )
    lake.land_csv(
        "digital",
        "calls",
        "2024-01-08",
        [call("A1", "M1", "2024-01-08T12:00:00")],  # exactly 7 days before: a repeat
    )
    lake.land_csv(
        "digital",
        "journeys",
        "2024-01-15",
        [
            event("M1", "S1", "2024-01-15T11:55:00", "abandon"),
            event("M2", "S2", "2024-01-15T11:55:00", "abandon"),
        ],
    )
    lake.land_csv(
        "digital",
        "calls",
        "2024-01-15",
        [call("B1", "M1", "2024-01-15T12:00:00"), call("B2", "M2", "2024-01-15T12:00:00")],
    )
    assert run_partitioned(lake, "2024-01-07", "2024-01-08").success
    assert run_partitioned(lake, "2024-01-15").success
    leakage = lake.query("SELECT call_id, is_repeat_call FROM silver.digital_leakage_calls")
    assert dict(zip(leakage["call_id"], leakage["is_repeat_call"], strict=True)) == {
        "B1": True,
        "B2": False,
    }
    drill = lake.gold("leakage_segment_drilldown")
    # Unknown members are "Other": one repeat of two calls.
    assert drill[["member_category", "calls", "repeat_call_pct"]].values.tolist() == [
        ["Other", 2, 50.0]
    ]


def test_an_empty_day_writes_every_table_and_warns(lake):
    result = run_partitioned(lake, "2024-01-10")
    assert result.success
    rollups = run_rollups(lake)
    assert rollups.success
    for table in GOLD_PARTITIONED + GOLD_WHOLE:
        assert lake.query(f"SELECT count(*) AS n FROM gold.{table}")["n"].tolist() == [0]
        assert (lake.layout.gold_dir / table).exists()
        assert lake.gold(table).empty
    results = check_results(result)
    for table in LANDED_TABLES:
        warning = results[(f"bronze/digital_{table}", NON_EMPTY)]
        assert not warning.passed and warning.severity == AssetCheckSeverity.WARN
    failed_errors = [
        key
        for key, evaluation in {**results, **check_results(rollups)}.items()
        if not evaluation.passed and evaluation.severity == AssetCheckSeverity.ERROR
    ]
    assert failed_errors == []

    # A later day with data writes into the tables an empty day created.
    lake.land_csv("digital", "members", "2024-01-11", [member("M1")])
    lake.land_csv(
        "digital", "journeys", "2024-01-11", [event("M1", "S1", "2024-01-11T08:00:00", "abandon")]
    )
    lake.land_csv("digital", "calls", "2024-01-11", [call("C1", "M1", "2024-01-11T08:30:00")])
    assert run_partitioned(lake, "2024-01-11").success
    assert run_rollups(lake).success
    assert lake.gold("leakage_daily_summary")["leakage_calls"].tolist() == [1]
    model = lake.gold("leakage_savings_model")
    # Contract 4.3: the mean is over the materialized days; the empty 10th counts 0.
    assert model[["journey_type", "avoidable_calls_per_day", "observed_days"]].values.tolist() == [
        ["billing", 0.5, 2]
    ]
    actions = lake.gold("leakage_action_recommendations")
    assert actions["rank"].tolist() == [1] and actions["error_code"].isna().all()

    # Dagster's history lost (a new DAGSTER_HOME), the 11th run again: the means are still
    # over the two days the warehouse holds, not the one the new instance knows.
    lake.instance.dispose()
    lake.instance = in_memory_instance()
    assert run_partitioned(lake, "2024-01-11").success
    assert run_rollups(lake).success
    model = lake.gold("leakage_savings_model")
    assert model[["avoidable_calls_per_day", "observed_days"]].values.tolist() == [[0.5, 2]]
    # Silver calls built for a day the leakage calls are not (a selection of calls alone):
    # still the leakage calls' two days (mutation testing: the days counted from silver
    # calls passed every test, every run building both).
    lake.land_csv("digital", "calls", "2024-01-12", [call("C2", "M1", "2024-01-12T08:30:00")])
    calls_only = [asset for asset in EVERYTHING if asset.key.path[-1].endswith("digital_calls")]
    assert len(calls_only) == 2  # bronze and silver
    assert lake.materialize(EVERYTHING, selection=calls_only, day="2024-01-12").success
    assert run_rollups(lake).success
    model = lake.gold("leakage_savings_model")
    assert model[["avoidable_calls_per_day", "observed_days"]].values.tolist() == [[0.5, 2]]
    members = lake.query("SELECT member_id, member_category FROM silver.digital_members")
    assert members.values.tolist() == [["M1", "MAPD New"]]


def test_a_day_never_built_is_refused_by_the_steps_reading_it_with_days_before(lake):
    """Seen in an audit through `dagster asset materialize`: leakage calls and the daily
    summary read their day with the days before it (a lookback window), and the guard
    against reading a day never built skipped such windows, so a day never run wrote an
    empty gold day with every check passing, and the savings model counted it."""
    from dagster import AssetKey

    assert run_partitioned(lake, "2024-01-10").success
    for table, reads in (
        (["silver", "digital_leakage_calls"], "silver/digital_calls"),
        (["gold", "leakage_daily_summary"], "silver/digital_calls"),  # its first input
    ):
        unbuilt = lake.materialize(
            EVERYTHING, selection=[AssetKey(table)], day="2024-01-12", raise_on_error=False
        )
        assert not unbuilt.success
        (failure,) = [event for event in unbuilt.all_events if event.is_step_failure]
        message = failure.step_failure_data.error.message
        assert f"{reads} was never built for 2024-01-12: materialize it" in message, message
    assert not (lake.layout.gold_dir / "leakage_daily_summary" / "date=2024-01-12").exists()
    # The day after a built one: its own day is built, the days before read as built.
    assert run_partitioned(lake, "2024-01-11").success
    alone = lake.materialize(
        EVERYTHING, selection=[AssetKey(["gold", "leakage_daily_summary"])], day="2024-01-11"
    )
    assert alone.success


def test_a_day_run_by_hand_after_earlier_days_landed_and_never_built_says_so(lake):
    """Seen walking every asset through `dagster asset materialize`: a day built after
    earlier days that landed and were never built read them as days with no rows (no
    repeat call, no evening before) without a word, where `cx-lakehouse run` names them
    with the command that builds them. Each step of a run started so (or from the UI)
    reading them now warns in that line; `cx-lakehouse run` says it in its summary."""
    for day in ("2024-01-10", "2024-01-11"):
        lake.land_csv("digital", "calls", day, [call(f"C{day}", "M1", f"{day}T08:00:00")])

    def warned(result) -> list[str]:
        return [
            entry.user_message
            for entry in lake.instance.all_logs(result.run_id)
            if "earlier days not built" in entry.user_message
        ]

    by_cli = lake.materialize(
        EVERYTHING, selection=DIGITAL.partitioned, day="2024-01-11", tags={"cx/trigger": "cli"}
    )
    assert by_cli.success and warned(by_cli) == []
    by_hand = run_partitioned(lake, "2024-01-11")
    assert by_hand.success
    assert sorted(warned(by_hand)) == [
        f"earlier days not built: digital, 1 day, 2024-01-10, landed but was never built, "
        f"and {reader} reads it as a day with no rows. Build it with:\n"
        "  cx-lakehouse run --date 2024-01-10 --to 2024-01-11 --select group:digital"
        for reader in (
            "gold/leakage_daily_summary",
            "gold/leakage_journey_timeline",
            "silver/digital_leakage_calls",
        )
    ]
    assert run_partitioned(lake, "2024-01-10").success
    assert warned(run_partitioned(lake, "2024-01-11")) == []


def test_gold_parquet_reads_with_duckdb_hive_partitioning(lake):
    day = "2024-01-12"
    lake.land_csv("digital", "members", day, [member("M1", "MAPD", "40")])
    lake.land_csv(
        "digital",
        "journeys",
        day,
        [event("M1", "S1", "2024-01-12T08:00:00", "error", "id_card", "PDF_RENDER", "desktop")],
    )
    lake.land_csv(
        "digital", "calls", day, [call("C1", "M1", "2024-01-12T08:29:59", reason="id_card")]
    )
    assert run_partitioned(lake, day).success
    pattern = lake.layout.gold_dir / "leakage_segment_drilldown" / "**" / "*.parquet"
    rows = duckdb.sql(
        f"SELECT date, journey_type, member_category, calls FROM read_parquet('{pattern}', "
        "hive_partitioning = true)"
    ).fetchall()
    assert [(str(r[0]), *r[1:]) for r in rows] == [(day, "id_card", "MAPD Tenured", 1)]


def test_leakage_share_outside_the_band_warns(lake):
    day = "2024-01-12"
    lake.land_csv("digital", "journeys", day, [event("M1", "S1", "2024-01-12T08:00:00", "abandon")])
    lake.land_csv("digital", "calls", day, [call("C1", "M1", "2024-01-12T08:10:00")])
    result = run_partitioned(lake, day)
    assert result.success
    share = check_results(result)[("silver/digital_leakage_calls", LEAKAGE_SHARE)]
    assert not share.passed and share.severity == AssetCheckSeverity.WARN
    assert share.metadata["ratio_by_day"].value == {day: 1.0}


def test_a_first_write_of_a_full_row_group_reads_back(tmp_path):
    """DuckDB 2.0.0 answers filters with 0 rows on a table created in the same transaction
    that then receives 122,880+ rows; the shared write path (`replace_rows`) creates the
    table before its transaction, so a first write of silver journeys this large reads back."""
    rows = 130_000
    days = [date(2024, 1, 8), date(2024, 1, 9)]
    frame = pd.DataFrame(
        {
            "date": [days[i % 2] for i in range(rows)],
            "source_file": "journeys.csv",
            "line_number": range(2, rows + 2),
            "member_id": "M1",
            "session_id": [f"S{i}" for i in range(rows)],
            "event_at": pd.Timestamp("2024-01-08 12:00", tz="UTC"),
            "journey_type": "billing",
            "action": "view",
            "device_type": "desktop",
            "error_code": None,
            "error_message": None,
        }
    )
    model = schemas.SilverJourneyEvent
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    try:
        assert replace_rows(con, "silver", "digital_journeys", ordered(model, frame), days) == rows
        first_day = con.execute(
            "SELECT count(*) FROM silver.digital_journeys WHERE date = DATE '2024-01-08'"
        ).fetchone()[0]
        assert first_day == rows // 2
    finally:
        con.close()


@pytest.mark.parametrize("small_days_together", [False, True])
def test_a_range_types_its_silver_tables_a_day_at_a_time_as_day_runs_do(
    lake, monkeypatch, small_days_together
):
    """A range's silver steps held every day's typed records at once, and the frame of
    them all (seen building 21 days at scale 1 in one run: 1.65 GB, silver journeys the
    peak, against 0.93 GB for 7 days); they now type and write one day at a time, as CRM's
    do, with the rows and quarantine of one-day runs in date order. Small days are typed
    together (`steps.day_chunks`: 90 digital days at scale 0.01 one at a time spent 13-25 s
    in each of silver journeys and calls, 6-8 s in chunks), with the same rows."""
    days = ["2024-01-01", "2024-01-02", "2024-01-03"]
    for number, day in enumerate(days):
        lake.land_csv(
            "digital",
            "journeys",
            day,
            [
                event("M1", f"S{number}", f"{day}T11:55:00", "abandon"),
                event("M2", "S9", "x", "view"),
            ],
        )
        # C0 on every day: a duplicate within the first day, then of the first day's
        lake.land_csv(
            "digital",
            "calls",
            day,
            [call(f"C{number}", "M1", f"{day}T12:00:00"), call("C0", "M1", f"{day}T13:00:00")],
        )
        lake.land_csv("digital", "members", day, [member("M1", tenure=str(number))])

    typed = spy_on_silver_chunks(monkeypatch, small_days_together)
    tables = ("digital_journeys", "digital_calls", "digital_member_versions")
    typed_tables = [
        a for a in DIGITAL.partitioned if a.key.path[0] == "bronze" or a.key.path[1] in tables
    ]
    assert lake.materialize(
        EVERYTHING, selection=typed_tables, day=days[0], last_day=days[-1]
    ).success
    as_range = {t: lake.query(f"SELECT * FROM silver.{t} ORDER BY ALL") for t in tables}
    quarantined = {t: lake.quarantine(f"digital_{t}") for t in ("journeys", "calls")}
    chunks = {tuple(days)} if small_days_together else {(day,) for day in days}
    assert {chunk for _, chunk in typed} == chunks, typed

    for day in days:
        assert lake.materialize(EVERYTHING, selection=typed_tables, day=day).success
    for table in tables:
        by_day = lake.query(f"SELECT * FROM silver.{table} ORDER BY ALL")
        pd.testing.assert_frame_equal(as_range[table], by_day)
    for name, rows in quarantined.items():
        again = lake.quarantine(f"digital_{name}")
        pd.testing.assert_frame_equal(
            rows.drop(columns="quarantined_at"), again.drop(columns="quarantined_at")
        )
    assert len(quarantined["calls"]) == 3 and len(quarantined["journeys"]) == 3


@pytest.mark.parametrize("small_days_together", [False, True])
def test_a_range_computes_its_leakage_calls_and_timeline_a_day_at_a_time(
    lake, monkeypatch, small_days_together
):
    """The leakage calls and the journey timeline of a range were one query over all its
    days, held whole as a frame (seen building 21 days at scale 1 in one run: the timeline's
    1.27 million rows peaked at 1.5 GB); each day is now computed and written on its own,
    with the rows one-day runs in date order give: a failure late on one day leaks into the
    next, a call repeats one of 7 days before. Days of few calls are computed together
    (`steps.day_chunks`: a chunk costs each step 55-75 ms), with the same rows."""
    from cx_assets.digital import assets, gold_rules
    from cx_assets.digital import rules as digital_rules

    if not small_days_together:  # each day as large as a day of scale 1
        monkeypatch.setattr(assets, "CHUNK_CALLS", 0)

    days = ["2024-01-01", "2024-01-02"]
    lake.land_csv("digital", "members", days[0], [member("M1"), member("M2", "Commercial")])
    for number, day in enumerate(days):
        lake.land_csv(
            "digital",
            "journeys",
            day,
            [
                event("M1", f"S{number}", f"{day}T23:40:00", "start"),
                event("M1", f"S{number}", f"{day}T23:50:00", "error", code="PAY_TIMEOUT"),
                event("M2", f"T{number}", f"{day}T09:55:00", "abandon"),
            ],
        )
        lake.land_csv(
            "digital",
            "calls",
            day,
            [
                call(f"C{number}", "M1", f"{day}T00:10:00"),
                call(f"D{number}", "M2", f"{day}T10:00:00"),
            ],
        )

    computed: list[tuple[str, tuple]] = []

    def spy(module, name):
        real = getattr(module, name)

        def spied(*args, **kwargs):
            computed.append((name, tuple(str(d) for d in args[3])))
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, spied)

    spy(digital_rules, "leakage_calls_sql")
    spy(gold_rules, "journey_timeline_sql")
    ranged = run_partitioned(lake, days[0], days[-1])
    assert ranged.success
    chunks = [tuple(days)] if small_days_together else [(day,) for day in days]
    assert sorted(computed) == sorted(
        (name, chunk) for name in ("leakage_calls_sql", "journey_timeline_sql") for chunk in chunks
    )
    leakage = "SELECT * FROM silver.digital_leakage_calls ORDER BY ALL"
    timeline = "SELECT * FROM gold.leakage_journey_timeline ORDER BY ALL"
    as_range = lake.query(leakage), lake.query(timeline), lake.gold("leakage_journey_timeline")
    # C0 follows no failure; C1 follows S0's, late on the day before, and repeats C0
    assert len(as_range[0]) == 3 and as_range[0]["is_repeat_call"].sum() == 2
    # The step's metadata counts every chunk's calls (mutation testing: the count of
    # journey types, or the last chunk's count alone, passed every test).
    for materialized in ranged.asset_materializations_for_node("silver__digital_leakage_calls"):
        said = materialized.metadata
        assert said["leakage_calls"].value == 3
        assert said["leakage_calls_by_journey_type"].value == {"billing": 3}

    for day in days:
        assert run_partitioned(lake, day).success
    by_days = lake.query(leakage), lake.query(timeline), lake.gold("leakage_journey_timeline")
    for ranged, one_by_one in zip(as_range, by_days, strict=True):
        pd.testing.assert_frame_equal(ranged, one_by_one)
