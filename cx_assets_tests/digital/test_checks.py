"""The leakage table's grain, a call id over all days (its `unique_key` check, declared
across days), and the rule that keeps it green: a call re-delivered on a later day is
quarantined as a duplicate (its first delivery wins). The check fails on a leakage table
that holds a call on another day too (written there directly, below)."""

from __future__ import annotations

from dagster import AssetCheckSeverity

from cx_assets.digital.assets import digital_leakage_calls
from cx_assets.lakehouse.checks import RECORDS_ONLY_IN_QUARANTINE, UNIQUE_KEY
from cx_assets_tests.conftest import check_results
from cx_assets_tests.digital.landing_rows import DIGITAL, call, event
from cx_assets_tests.steps import building

LEAKAGE = "silver/digital_leakage_calls"
DAY_1, DAY_2 = "2024-01-08", "2024-01-09"
# Every table asserted on is silver: the leakage calls and what they read, not gold's four
# per-day tables too (7 steps of the 11 partitioned ones).
SILVER = building(DIGITAL, digital_leakage_calls)


def _partitioned(lake, day: str):
    return lake.materialize(DIGITAL.everything, selection=SILVER, day=day, raise_on_error=False)


def _range(lake):
    return lake.materialize(DIGITAL.everything, selection=SILVER, day=DAY_1, last_day=DAY_2)


def _land_first_day(lake) -> None:
    lake.land_csv("digital", "journeys", DAY_1, [event("M1", "S1", f"{DAY_1}T08:00:00", "abandon")])
    lake.land_csv("digital", "calls", DAY_1, [call("C1", "M1", f"{DAY_1}T08:10:00")])


def _leakage_calls(lake) -> list[tuple[str, str]]:
    rows = lake.query("SELECT date, call_id FROM silver.digital_leakage_calls ORDER BY date")
    return [(str(day)[:10], call_id) for day, call_id in rows.itertuples(index=False)]


def test_a_call_delivered_again_on_a_later_day_is_quarantined_and_the_run_goes_on(lake):
    """The rule (docs/digital.md): a call's first delivery wins; a repeat on a later day is
    quarantined naming the first day, so the leakage call counts once and no check fails."""
    _land_first_day(lake)
    # The next day's file delivers the same call again (a re-sent export) and a new one.
    lake.land_csv(
        "digital",
        "calls",
        DAY_2,
        [call("C1", "M1", f"{DAY_1}T08:10:00"), call("C2", "M9", f"{DAY_2}T09:10:00")],
    )

    assert _partitioned(lake, DAY_1).success
    second = _partitioned(lake, DAY_2)

    assert second.success
    assert _leakage_calls(lake) == [(DAY_1, "C1")]
    assert check_results(second)[(LEAKAGE, UNIQUE_KEY)].passed
    silver = lake.query("SELECT date, call_id FROM silver.digital_calls ORDER BY date, call_id")
    assert [(str(d)[:10], c) for d, c in silver.itertuples(index=False)] == [
        (DAY_1, "C1"),
        (DAY_2, "C2"),
    ]
    quarantined = lake.quarantine("digital_calls")
    assert quarantined[["line_number", "reason"]].to_dict("records") == [
        {"line_number": 2, "reason": f"duplicate call_id (first delivered on {DAY_1})"}
    ]
    assert "C1" in quarantined["raw"].iloc[0]
    # Re-running the first day keeps it (its own delivery is the first).
    assert _partitioned(lake, DAY_1).success
    assert _leakage_calls(lake) == [(DAY_1, "C1")]


def test_a_repeat_within_one_range_run_is_quarantined_too(lake):
    _land_first_day(lake)
    lake.land_csv("digital", "calls", DAY_2, [call("C1", "M1", f"{DAY_1}T08:10:00")])

    result = _range(lake)

    assert result.success
    assert _leakage_calls(lake) == [(DAY_1, "C1")]
    assert lake.quarantine("digital_calls")["reason"].tolist() == [
        f"duplicate call_id (first delivered on {DAY_1})"
    ]


def _silver_calls(lake) -> list[tuple[str, str]]:
    rows = lake.query("SELECT date, call_id FROM silver.digital_calls ORDER BY date, call_id")
    return [(str(day)[:10], call_id) for day, call_id in rows.itertuples(index=False)]


def _land_a_repeat_and_a_new_call(lake) -> None:
    _land_first_day(lake)
    lake.land_csv(
        "digital",
        "calls",
        DAY_2,
        [call("C1", "M1", f"{DAY_1}T08:10:00"), call("C2", "M9", f"{DAY_2}T09:10:00")],
    )


def _assert_first_delivery_kept(lake) -> None:
    assert _silver_calls(lake) == [(DAY_1, "C1"), (DAY_2, "C2")]
    assert _leakage_calls(lake) == [(DAY_1, "C1")]
    assert lake.quarantine("digital_calls")[["date", "line_number", "reason"]].astype(
        {"date": str}
    ).to_dict("records") == [
        {
            "date": DAY_2,
            "line_number": 2,
            "reason": f"duplicate call_id (first delivered on {DAY_1})",
        }
    ]


def test_running_a_range_again_replaces_its_days_exactly(lake):
    """The days a range run wrote are not earlier deliveries of their own calls when the
    range runs again (Dagster's window for a step's earlier days ends the day before the
    range's last day, so it holds the range's own first days)."""
    _land_a_repeat_and_a_new_call(lake)

    for _ in range(2):
        result = _range(lake)
        assert result.success
        _assert_first_delivery_kept(lake)


def test_a_range_over_a_day_already_run_keeps_that_days_calls(lake):
    _land_a_repeat_and_a_new_call(lake)
    assert _partitioned(lake, DAY_1).success

    result = _range(lake)

    assert result.success
    _assert_first_delivery_kept(lake)


def _land_two_days_of_distinct_calls(lake) -> None:
    _land_first_day(lake)
    lake.land_csv("digital", "journeys", DAY_2, [event("M1", "S2", f"{DAY_2}T09:00:00", "abandon")])
    lake.land_csv("digital", "calls", DAY_2, [call("C2", "M1", f"{DAY_2}T09:10:00")])


def test_distinct_calls_on_two_days_are_counted_once(lake):
    _land_two_days_of_distinct_calls(lake)

    assert _partitioned(lake, DAY_1).success
    second = _partitioned(lake, DAY_2)

    assert _leakage_calls(lake) == [(DAY_1, "C1"), (DAY_2, "C2")]
    check = check_results(second)[(LEAKAGE, UNIQUE_KEY)]
    assert check.passed and check.metadata["duplicate_keys"].value == 0
    assert second.success


def test_a_call_held_on_another_day_fails_the_days_run(lake):
    """The grain is declared over all days: a day's call found on any other day of the
    leakage table fails that day's step (ERROR), while a day whose calls are its own passes."""
    _land_two_days_of_distinct_calls(lake)
    assert _range(lake).success
    # A defect elsewhere wrote the first day's call on the second day too.
    with lake.resources["warehouse"].connect() as con:
        con.execute(
            f"UPDATE silver.digital_leakage_calls SET call_id = 'C1' WHERE date = DATE '{DAY_2}'"
        )

    again = _partitioned(lake, DAY_1)

    counted_twice = check_results(again)[(LEAKAGE, UNIQUE_KEY)]
    assert not counted_twice.passed and counted_twice.severity == AssetCheckSeverity.ERROR
    assert counted_twice.metadata["rows_with_duplicate_keys"].value == 2
    assert not again.success


def test_a_call_left_only_in_quarantine_is_warned_of_a_padded_copy_too(lake):
    """`records_only_in_quarantine` (found in an audit): the first day, re-delivered without
    C1 and run again, dropped it while the next day held its copy in quarantine, and every
    check passed. The copy here is padded (`  C1 `), as a CSV value may be, and typed
    stripped: it counts as C1, so the first day's runs before the re-delivery pass."""
    _land_first_day(lake)
    lake.land_csv("digital", "calls", DAY_2, [call("  C1 ", "M1", f"{DAY_1}T08:10:00")])
    assert _partitioned(lake, DAY_1).success
    assert _partitioned(lake, DAY_2).success
    again = _partitioned(lake, DAY_1)
    assert check_results(again)[("silver/digital_calls", RECORDS_ONLY_IN_QUARANTINE)].passed

    lake.land_csv("digital", "calls", DAY_1, [call("C3", "M1", f"{DAY_1}T09:10:00")])  # no C1
    dropped = _partitioned(lake, DAY_1)

    left = check_results(dropped)[("silver/digital_calls", RECORDS_ONLY_IN_QUARANTINE)]
    assert not left.passed and left.severity == AssetCheckSeverity.WARN
    assert left.description == (
        f"1 record(s) of {DAY_1} kept on no day, with copies quarantined as repeats on {DAY_2}; "
        f"keep them with: cx-lakehouse run --date {DAY_1} --to {DAY_2} --select group:digital"
    )
    # And as the UI shows it (found by mutation testing: a count of 0 passed every test).
    assert left.metadata["records"].value == 1
    assert left.metadata["days_holding_copies"].value == [DAY_2]
    together = _range(lake)
    assert check_results(together)[("silver/digital_calls", RECORDS_ONLY_IN_QUARANTINE)].passed
    assert lake.query("SELECT date FROM silver.digital_calls WHERE call_id = 'C1'")["date"].astype(
        str
    ).str[:10].tolist() == [DAY_2]


def test_a_damaged_quarantine_file_of_another_day_is_named_with_the_run_that_mends_it(lake):
    """Found in an audit: a quarantine file of another day, cut short, failed the silver
    step with Arrow's "Parquet magic bytes not found", naming no file."""
    _land_first_day(lake)
    lake.land_csv("digital", "calls", DAY_2, [call("C2", "M1", f"{DAY_2}T08:10:00")])
    assert _partitioned(lake, DAY_1).success
    damaged = lake.layout.quarantine_dir / "digital_calls" / f"date={DAY_1}" / "data.parquet"
    damaged.write_bytes(damaged.read_bytes()[:100])

    failed = _partitioned(lake, DAY_2)

    assert not failed.success
    (failure,) = [event for event in failed.all_events if event.is_step_failure]
    error = failure.step_failure_data.error
    while error.cls_name != "DamagedParquetError":  # inside Dagster's own wrapping
        error = error.cause
    message = error.message
    assert message.startswith(f"cx_assets.lakehouse.parquet.DamagedParquetError: {damaged} "
                              "cannot be read as Parquet"), message  # fmt: skip
    assert message.rstrip().endswith(
        f"which running that day again writes anew: cx-lakehouse run --date {DAY_1} "
        "--select group:digital"
    ), message
    # `cx-lakehouse run`'s line of the step says it too, not Arrow's cause naming no file
    # (seen in a newcomer's audit: the step's error was right, the run's summary was not).
    from cx_assets.cli.run_report import failure_lines

    (line,) = failure_lines(failed)
    assert f"DamagedParquetError: {damaged} cannot be read as Parquet" in line, line
    assert line.endswith(f"cx-lakehouse run --date {DAY_1} --select group:digital"), line
    assert _partitioned(lake, DAY_1).success  # as it says
    assert _partitioned(lake, DAY_2).success
