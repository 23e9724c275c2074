"""A key's first copy is its first good one (`steps._silver_chunk`): a copy that a rule or
the model quarantines does not make a later good copy its duplicate, whether the day is
typed at once or a few files at a time (`PART_ROWS`, as CRM's big days are)."""

from __future__ import annotations

import pandera.pandas as pa
import pytest
from dagster import Output
from pandera.typing import Series

from cx_assets.lakehouse import steps
from cx_assets.lakehouse.asset_factories import bronze_asset
from cx_assets.lakehouse.assets import lake_asset
from cx_assets.lakehouse.inputs import same_day
from cx_assets.lakehouse.io_managers import DayTables, TableRef
from cx_assets.lakehouse.parsing import Field, RecordSpec
from cx_assets.lakehouse.resources import Lake
from cx_assets.lakehouse.schemas import Lineage
from cx_assets.lakehouse.steps import RULE_REASON, TYPED_RECORDS, silver_from_bronze
from cx_assets.lakehouse.warehouse import Warehouse
from cx_assets_tests.lakehouse.silver_chunks import spy_on_silver_chunks

DAY = "2024-01-05"
bronze_keyed = bronze_asset("crm", "keyed", "Test records with a key.")
SPEC = RecordSpec(
    fields=(Field("Id", "record_id", "int"), Field("Label", "label", "str")),
    unique_key=("record_id",),
)


class Keyed(Lineage):
    record_id: Series[int] = pa.Field(description="`Id`.")
    label: Series[str] = pa.Field(str_matches="^[a-z]+$", description="`Label`, lower case.")


@lake_asset("silver", group="duplicates_test", model=Keyed, ins={"bronze": same_day(bronze_keyed)})
def keyed(context, warehouse: Warehouse, lake: Lake, bronze: TableRef):
    """A rule quarantines the label `rejected`; the model, a label not in lower case."""
    return silver_from_bronze(
        context,
        warehouse=warehouse,
        lake=lake,
        bronze=bronze,
        spec=SPEC,
        model=Keyed,
        select_sql=f"""
            SELECT *, CASE WHEN label = 'rejected' THEN 'the rule rejects it' END
                AS {RULE_REASON}
            FROM (SELECT * EXCLUDE (reject_reason) FROM {TYPED_RECORDS}
                  WHERE reject_reason IS NULL)""",
        by_day=True,
    )


@pytest.mark.parametrize("part_rows", [1, 1_000])
def test_a_bad_first_copy_leaves_the_next_good_one_kept(lake, monkeypatch, part_rows):
    monkeypatch.setattr(steps, "PART_ROWS", part_rows)
    land = lambda name, rows: lake.land_jsonl("crm", "keyed", DAY, rows, name=name)  # noqa: E731
    # Files are typed in name order; with one record a part, each file is a part.
    land("a.jsonl", [{"Id": 1, "Label": "rejected"}, {"Id": 2, "Label": "ok"}])
    land("b.jsonl", [{"Id": 1, "Label": "NOT LOWER"}, {"Id": 3, "Label": "ok"}])
    land("c.jsonl", [{"Id": 1, "Label": "kept"}, {"Id": 3, "Label": "again"}])
    land("d.jsonl", [{"Id": 1, "Label": "again"}])
    # One part (a file is never split) whose own first copy is bad: typed again.
    land(
        "e.jsonl",
        [{"Id": 5, "Label": "rejected"}, {"Id": 5, "Label": "five"}, {"Id": 6, "Label": "six"}],
    )
    land("f.jsonl", [{"Id": 5, "Label": "again"}, {"Id": 6, "Label": "again"}])

    result = lake.materialize([bronze_keyed, keyed], day=DAY)
    assert result.success

    kept = lake.query("SELECT source_file, record_id, label FROM silver.keyed ORDER BY 1, 2")
    assert [(f[-7:], key, label) for f, key, label in kept.itertuples(index=False)] == [
        ("a.jsonl", 2, "ok"),
        ("b.jsonl", 3, "ok"),
        ("c.jsonl", 1, "kept"),
        ("e.jsonl", 5, "five"),
        ("e.jsonl", 6, "six"),
    ]
    quarantined = lake.quarantine("crm_keyed").sort_values(["source_file", "line_number"])
    where = f"landing/crm/keyed/{DAY}"
    assert [
        (f[-7:], line, reason)
        for f, line, reason in quarantined[["source_file", "line_number", "reason"]].itertuples(
            index=False
        )
    ] == [
        ("a.jsonl", 1, "the rule rejects it"),
        ("b.jsonl", 1, "column 'label' failed str_matches('^[a-z]+$')"),
        ("c.jsonl", 2, f"duplicate Id (first seen at {where}/b.jsonl:2)"),
        ("d.jsonl", 1, f"duplicate Id (first seen at {where}/c.jsonl:1)"),
        ("e.jsonl", 1, "the rule rejects it"),
        ("f.jsonl", 1, f"duplicate Id (first seen at {where}/e.jsonl:2)"),
        ("f.jsonl", 2, f"duplicate Id (first seen at {where}/e.jsonl:3)"),
    ]
    assert lake.query("SELECT count(*) AS n FROM silver.keyed")["n"].iloc[0] == 5
    # Every part's records are counted: the 12 landed, 7 of them quarantined.
    (event,) = result.asset_materializations_for_node("silver__keyed")
    metadata = event.metadata
    assert (metadata["bronze_rows"].value, metadata["quarantined_rows"].value) == (12, 7)


NEXT_DAY = "2024-01-06"
bronze_keyed_once = bronze_asset("crm", "keyed_once", "Test records with a key unique over days.")
ONCE_SPEC = RecordSpec(fields=SPEC.fields, unique_key=SPEC.unique_key, unique_across_days=True)


def _typed_once(context, warehouse: Warehouse, lake: Lake, bronze: TableRef) -> Output:
    """A key kept once over all days: a later day's copy is a duplicate of the first."""
    return silver_from_bronze(
        context,
        warehouse=warehouse,
        lake=lake,
        bronze=bronze,
        spec=ONCE_SPEC,
        model=Keyed,
        select_sql=f"SELECT * EXCLUDE (reject_reason) FROM {TYPED_RECORDS} "
        "WHERE reject_reason IS NULL",
        by_day=True,
    )


@lake_asset(
    "silver", group="duplicates_test", model=Keyed, ins={"bronze": same_day(bronze_keyed_once)}
)
def keyed_once(context, warehouse: Warehouse, lake: Lake, bronze: TableRef) -> Output[DayTables]:
    """Its days written one by one, each seeing the keys of the days before."""
    return _typed_once(context, warehouse, lake, bronze)


@lake_asset(
    "silver", group="duplicates_test", model=Keyed, ins={"bronze": same_day(bronze_keyed_once)}
)
def keyed_once_in_a_frame(context, warehouse: Warehouse, lake: Lake, bronze: TableRef):
    """The same, declaring a frame: its days could not see each other's keys."""
    return _typed_once(context, warehouse, lake, bronze)


def _kept_and_quarantined(lake) -> tuple[list, list]:
    kept = lake.query("SELECT date, source_file, record_id FROM silver.keyed_once ORDER BY 1, 2")
    quarantined = lake.quarantine("crm_keyed_once").sort_values(
        ["date", "source_file", "line_number"]
    )
    return (
        [(f"{day:%Y-%m-%d}", name[-7:], key) for day, name, key in kept.itertuples(index=False)],
        [
            (str(day), name[-7:], reason)
            for day, name, reason in quarantined[["date", "source_file", "reason"]].itertuples(
                index=False
            )
        ],
    )


@pytest.mark.parametrize("part_rows", [1, 1_000])
def test_a_key_kept_on_another_day_is_a_duplicate_in_every_part_of_a_day(
    lake, monkeypatch, part_rows
):
    """Each part of a day typed a few files at a time looks its keys up in the other days:
    a copy in the day's second or third part is no more kept than one in its first."""
    monkeypatch.setattr(steps, "PART_ROWS", part_rows)
    lake.land_jsonl("crm", "keyed_once", NEXT_DAY, [{"Id": 1, "Label": "one"}], name="a.jsonl")
    for name, key in [("a.jsonl", 2), ("b.jsonl", 1), ("c.jsonl", 3), ("d.jsonl", 1)]:
        lake.land_jsonl("crm", "keyed_once", DAY, [{"Id": key, "Label": "x"}], name=name)

    # The later day first: it keeps key 1; the earlier day, run after, keeps it no more.
    assert lake.materialize([bronze_keyed_once, keyed_once], day=NEXT_DAY).success
    assert lake.materialize([bronze_keyed_once, keyed_once], day=DAY).success
    already_kept = f"duplicate Id (already kept on {NEXT_DAY})"
    assert _kept_and_quarantined(lake) == (
        [(DAY, "a.jsonl", 2), (DAY, "c.jsonl", 3), (NEXT_DAY, "a.jsonl", 1)],
        [(DAY, "b.jsonl", already_kept), (DAY, "d.jsonl", already_kept)],
    )

    # Both days at once give key 1 back to its first delivery, and only to that one.
    ranged = lake.materialize([bronze_keyed_once, keyed_once], day=DAY, last_day=NEXT_DAY)
    assert ranged.success
    # Each day's materialization holds the step's report, written a day at a time (found by
    # mutation testing: a `DayTables` step's report left off its metadata passed).
    quarantine = str(lake.layout.quarantine_dir / "crm_keyed_once")
    assert [
        (event.partition, event.materialization.metadata["quarantine_path"].value)
        for event in ranged.get_asset_materialization_events()
        if event.asset_key == keyed_once.key
    ] == [(DAY, quarantine), (NEXT_DAY, quarantine)]
    first_seen = f"duplicate Id (first seen at landing/crm/keyed_once/{DAY}/b.jsonl:1)"
    assert _kept_and_quarantined(lake) == (
        [(DAY, "a.jsonl", 2), (DAY, "b.jsonl", 1), (DAY, "c.jsonl", 3)],
        [
            (DAY, "d.jsonl", first_seen),
            (NEXT_DAY, "a.jsonl", f"duplicate Id (first delivered on {DAY})"),
        ],
    )


def test_a_range_typed_in_chunks_keeps_every_chunks_rows_in_one_frame(lake, monkeypatch):
    """A silver step whose output is one frame (not `DayTables`) gets every chunk of its
    range joined: with chunks of one record, each day is typed on its own and both days'
    rows, and the quarantined one, are written."""
    monkeypatch.setattr(steps, "GROUP_ROWS", 1)
    typed = spy_on_silver_chunks(monkeypatch, small_days_together=True)
    lake.land_jsonl("crm", "keyed", DAY, [{"Id": 1, "Label": "one"}], name="a.jsonl")
    lake.land_jsonl(
        "crm", "keyed", NEXT_DAY, [{"Id": 2, "Label": "two"}, {"Id": 3, "Label": "rejected"}]
    )

    assert lake.materialize([bronze_keyed, keyed], day=DAY, last_day=NEXT_DAY).success

    assert typed == [("crm_keyed", (DAY,)), ("crm_keyed", (NEXT_DAY,))]
    kept = lake.query("SELECT date, record_id, label FROM silver.keyed ORDER BY 1, 2")
    assert [
        (f"{day:%Y-%m-%d}", key, label) for day, key, label in kept.itertuples(index=False)
    ] == [
        (DAY, 1, "one"),
        (NEXT_DAY, 2, "two"),
    ]
    assert lake.quarantine("crm_keyed")["reason"].tolist() == ["the rule rejects it"]


def test_a_key_unique_across_days_typed_by_day_needs_a_day_tables_output(lake):
    """Written as one frame, a range's later days would be typed before its earlier days'
    keys were kept: the step refuses to run rather than keep a key twice."""
    lake.land_jsonl("crm", "keyed_once", DAY, [{"Id": 1, "Label": "one"}])
    result = lake.materialize(
        [bronze_keyed_once, keyed_once_in_a_frame], day=DAY, raise_on_error=False
    )
    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    says = "TypeError: a key unique across days, typed by day, needs a DayTables output"
    assert says in failure.step_failure_data.error.to_string()
