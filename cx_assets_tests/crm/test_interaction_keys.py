"""An interaction's `Id` is kept once: a day typed a few files at a time is the day typed at
once (a key first delivered in an earlier part is still a duplicate), and a key delivered
again on another day is quarantined naming that day, whatever order the days run in."""

from __future__ import annotations

import pytest

from cx_assets.crm import assets, silver
from cx_assets_tests.crm.landing_rows import (
    DAY,
    EVERYTHING,
    NEXT_DAY,
    interaction,
    land_day,
)

pytestmark = pytest.mark.long_module

# The interactions and what they read, not the whole domain: their rows and quarantine are
# these steps' alone (4 of the domain's 21 assets).
INTERACTIONS = [silver.bronze_interactions, silver.bronze_contacts, silver.crm_contact_versions,
                silver.crm_interactions]  # fmt: skip
# Those and the deals, which the volumetrics read with the contacts' latest versions.
WITH_DEALS = [*INTERACTIONS, silver.bronze_deals, silver.crm_deal_versions]
VOLUMETRICS = [silver.crm_contacts, silver.crm_deals, assets.crm_cx_volumetrics]


def _silver_and_quarantine(lake) -> tuple[list, list]:
    silver = lake.query(
        "SELECT interaction_id FROM silver.crm_interactions ORDER BY source_file, line_number"
    )
    quarantined = lake.query(
        f"SELECT source_file, line_number, reason FROM read_parquet("
        f"'{lake.layout.quarantine_dir}/crm_interactions/*/*.parquet') "
        "ORDER BY source_file, line_number"
    )
    return silver.to_dict("records"), quarantined.to_dict("records")


@pytest.mark.parametrize("part_rows", [2, 1_000])
def test_a_day_typed_in_parts_of_files_is_the_day_typed_at_once(lake, monkeypatch, part_rows):
    """A big day is typed a few files at a time (bounded memory). A key first delivered in
    an earlier part is still a duplicate, naming its first file and line; rows, reasons and
    quarantine are those of one pass."""
    from cx_assets.lakehouse import steps

    monkeypatch.setattr(steps, "PART_ROWS", part_rows)
    land_day(lake, interactions=[interaction(1, 10), interaction(2, 11)])
    # files are read in name order: part.jsonl (from land_day), then q, r, s
    lake.land_jsonl(
        "crm", "interactions", DAY, [interaction(3, 10), interaction(1, 11)], name="q.jsonl"
    )
    lake.land_jsonl("crm", "interactions", DAY, ["not json", interaction(4, 10)], name="r.jsonl")
    lake.land_jsonl("crm", "interactions", DAY, [interaction(3, 10)], name="s.jsonl")

    lake.materialize(EVERYTHING, selection=INTERACTIONS, day=DAY)
    kept, quarantined = _silver_and_quarantine(lake)

    assert [row["interaction_id"] for row in kept] == [1, 2, 3, 4]
    assert [(row["line_number"], row["reason"]) for row in quarantined] == [
        (2, "duplicate Id (first seen at landing/crm/interactions/2024-01-05/"
            "part.jsonl:1)"),
        (1, "invalid JSON: Expecting value (column 1)"),
        (1, "duplicate Id (first seen at landing/crm/interactions/2024-01-05/"
            "q.jsonl:1)"),
    ]  # fmt: skip


THIRD_DAY = "2024-01-07"


def _kept_and_quarantined(lake) -> tuple[list[tuple[str, int]], list[tuple[str, int, str]]]:
    kept = lake.query("SELECT date, interaction_id FROM silver.crm_interactions ORDER BY 1, 2")
    quarantined = lake.quarantine("crm_interactions")
    return (
        [(str(day)[:10], key) for day, key in kept.itertuples(index=False)],
        sorted(
            (str(day)[:10], line, reason)
            for day, line, reason in quarantined[["date", "line_number", "reason"]].itertuples(
                index=False
            )
        ),
    )


@pytest.mark.parametrize("part_rows", [1, 1_000])
def test_an_interaction_delivered_again_on_a_later_day_is_quarantined(lake, monkeypatch, part_rows):
    """`Id` is unique (contract section 2), not only within a day: an overlapping export
    delivering interaction 1 again on later days would count it twice in whole-history
    tables. The first delivery wins; each later one is quarantined naming its day, whether
    the days run one by one, as one range, or again."""
    from cx_assets.lakehouse import steps

    monkeypatch.setattr(steps, "PART_ROWS", part_rows)
    land_day(lake, interactions=[interaction(1, 10), interaction(2, 11)])
    land_day(
        lake, day=NEXT_DAY, interactions=[interaction(3, 10, day=NEXT_DAY), interaction(1, 10)]
    )
    land_day(
        lake, day=THIRD_DAY, interactions=[interaction(1, 11), interaction(4, 10, day=THIRD_DAY)]
    )
    kept = [(DAY, 1), (DAY, 2), (NEXT_DAY, 3), (THIRD_DAY, 4)]
    repeats = [
        (NEXT_DAY, 2, f"duplicate Id (first delivered on {DAY})"),
        (THIRD_DAY, 1, f"duplicate Id (first delivered on {DAY})"),
    ]

    for day in (DAY, NEXT_DAY, THIRD_DAY):
        assert lake.materialize(EVERYTHING, selection=WITH_DEALS, day=day).success
    assert _kept_and_quarantined(lake) == (kept, repeats)
    assert lake.materialize(EVERYTHING, selection=VOLUMETRICS).success
    volumetrics = lake.query("SELECT sum(total_interactions) AS n FROM gold.crm_cx_volumetrics")
    assert volumetrics["n"].iloc[0] == 4  # interaction 1 once

    # The range over the days already run (which finds the warehouse as the range leaves it,
    # so running it twice would only repeat this).
    assert lake.materialize(EVERYTHING, selection=INTERACTIONS, day=DAY, last_day=THIRD_DAY).success
    assert _kept_and_quarantined(lake) == (kept, repeats)

    # The first day again: its own delivery is still the first.
    assert lake.materialize(EVERYTHING, selection=INTERACTIONS, day=DAY).success
    assert _kept_and_quarantined(lake) == (kept, repeats)


def test_days_run_out_of_order_keep_an_interaction_once(lake):
    """The later day run first keeps interaction 1; the earlier day, run after, quarantines
    its copy naming that day (no ERROR, counted once); a range over both, typed a day at a
    time, gives it back to its first delivery."""
    land_day(lake, interactions=[interaction(1, 10), interaction(2, 11)])
    land_day(lake, day=NEXT_DAY, interactions=[interaction(1, 10)])

    assert lake.materialize(EVERYTHING, selection=INTERACTIONS, day=NEXT_DAY).success
    assert lake.materialize(EVERYTHING, selection=INTERACTIONS, day=DAY).success
    assert _kept_and_quarantined(lake) == (
        [(DAY, 2), (NEXT_DAY, 1)],
        [(DAY, 1, f"duplicate Id (already kept on {NEXT_DAY})")],
    )

    assert lake.materialize(EVERYTHING, selection=INTERACTIONS, day=DAY, last_day=NEXT_DAY).success
    assert _kept_and_quarantined(lake) == (
        [(DAY, 1), (DAY, 2)],
        [(NEXT_DAY, 1, f"duplicate Id (first delivered on {DAY})")],
    )


def test_an_interaction_left_only_in_quarantine_is_warned_of(lake):
    """Found listing every check against a test that makes it fail: CRM's
    `records_only_in_quarantine` was shown failing nowhere (calls' and digital's were, on
    text keys; `Id` is the one int key), so a wrong landed key field would have left it
    passing whatever happened (seen with `TypeId` declared instead). The first
    day, re-delivered without interaction 1 and run again, keeps it on no day while the
    next day holds its copy in quarantine: WARN, naming both days and the run that keeps it."""
    from dagster import AssetCheckSeverity

    from cx_assets.lakehouse.checks import RECORDS_ONLY_IN_QUARANTINE
    from cx_assets_tests.conftest import check_results, check_results_by_day

    check = ("silver/crm_interactions", RECORDS_ONLY_IN_QUARANTINE)
    land_day(lake, interactions=[interaction(1, 10), interaction(2, 11)])
    land_day(
        lake, day=NEXT_DAY, interactions=[interaction(3, 10, day=NEXT_DAY), interaction(1, 10)]
    )
    both = lake.materialize(EVERYTHING, selection=INTERACTIONS, day=DAY, last_day=NEXT_DAY)
    assert all(verdict.passed for verdict in check_results_by_day(both)[check].values())

    land_day(lake, interactions=[interaction(2, 11)])  # re-delivered without interaction 1
    dropped = lake.materialize(EVERYTHING, selection=INTERACTIONS, day=DAY)

    left = check_results(dropped)[check]
    assert sorted(
        lake.query("SELECT interaction_id FROM silver.crm_interactions")["interaction_id"]
    ) == [2, 3]
    assert not left.passed and left.severity == AssetCheckSeverity.WARN
    assert left.description == (
        f"1 record(s) of {DAY} kept on no day, with copies quarantined as repeats on "
        f"{NEXT_DAY}; keep them with: cx-lakehouse run --date {DAY} --to {NEXT_DAY} "
        "--select group:crm"
    )
