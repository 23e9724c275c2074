"""What a silver step reports of the chunks it typed (`silver_report`): the quarantined
records' warnings, reasons, sample and counts, summed over a range's chunks and each day's
own, on a tiny asset declared the way domains declare them (`checked_assets`)."""

from __future__ import annotations

from cx_assets.lakehouse.io_managers import TableRef
from cx_assets.lakehouse.resources import Lake
from cx_assets.lakehouse.silver_report import (
    LIKELY_RENAMED_FIELDS,
    MISSING_OPTIONAL_COLUMNS,
    REQUIRED_SPELLED_OTHERWISE,
)
from cx_assets.lakehouse.warehouse import Warehouse
from cx_assets_tests.lakehouse.checked_assets import (
    bronze_records,
    land_records,
    silver_of_records,
    silver_records_where,
)
from cx_assets_tests.lakehouse.silver_chunks import spy_on_silver_chunks


@silver_of_records()
def records_by_day(context, warehouse: Warehouse, lake: Lake, bronze: TableRef):
    """Every good record, typed a day at a time; bad ones quarantined."""
    return silver_records_where(context, warehouse, lake, bronze, "TRUE", by_day=True)


def silver_metadata(result) -> dict:
    """The metadata of each day's `records_by_day` materialization, by day."""
    return {
        event.partition: event.materialization.metadata
        for event in result.get_asset_materialization_events()
        if event.asset_key.to_user_string() == "silver/records_by_day"
    }


NOT_AN_INTEGER = 'field "Id" is not an integer'
NOT_JSON = "invalid JSON: Expecting value"  # the reasons' kind: a place's says its column


def test_a_range_typed_a_day_at_a_time_reports_its_chunks_together_and_each_day_alone(
    lake, monkeypatch
):
    """Two days, each its own chunk: 1 good record and 6 bad on the 5th (4 ids not
    integers, 2 lines not JSON), 1 good and 5 bad on the 6th (1 id, 4 lines). The step
    warns of its first ten rejects, whichever chunk holds them; its reasons are the two
    days' summed, most frequent first; its sample the first five places of both days; and
    each day's materialization counts its own records."""
    chunks = spy_on_silver_chunks(monkeypatch)
    bad_ids = [{"Id": f"x{n}", "Label": "bad id"} for n in range(4)]
    land_records(lake, "2024-01-05", *bad_ids, "not json", "not json")
    land_records(lake, "2024-01-06", bad_ids[0], *["not json"] * 4)

    result = lake.materialize(
        [bronze_records, records_by_day], day="2024-01-05", last_day="2024-01-06"
    )

    assert chunks == [("crm_records", ("2024-01-05",)), ("crm_records", ("2024-01-06",))]
    warned = [
        event.user_message
        for event in lake.instance.all_logs(result.run_id)
        if event.user_message.startswith("quarantined ")
    ]
    first, second = (
        f"landing/crm/records/{day}/part.jsonl" for day in ("2024-01-05", "2024-01-06")
    )
    assert [message.split(": ")[0] for message in warned] == [
        *(f"quarantined {first}:{line}" for line in range(2, 8)),
        *(f"quarantined {second}:{line}" for line in range(2, 6)),
    ]
    metadata = silver_metadata(result)
    assert sorted(metadata) == ["2024-01-05", "2024-01-06"]
    for day, (bronze, quarantined) in {"2024-01-05": (7, 6), "2024-01-06": (6, 5)}.items():
        assert metadata[day]["bronze_rows"].value == bronze, day
        assert metadata[day]["quarantined_rows"].value == quarantined, day
    step = metadata["2024-01-05"]
    assert list(step["reject_reasons"].value.items()) == [(NOT_JSON, 6), (NOT_AN_INTEGER, 5)]
    assert step["quarantine_sample"].value == [
        *({"source_file": first, "line_number": line, "reason": NOT_AN_INTEGER}
          for line in range(2, 6)),
        {"source_file": first, "line_number": 6, "reason": f"{NOT_JSON} (column 1)"},
    ]  # fmt: skip
    assert step["quarantine_path"].value == str(lake.layout.quarantine_dir / "crm_records")


def test_a_days_run_reports_the_steps_counts(lake):
    """One day, one chunk: the step's own counts are the day's (found by mutation testing:
    `quarantined_rows` given the bronze count passed, as only a range's days were read; so
    did the files' notes shown empty when there were none)."""
    land_records(lake, "2024-01-06", {"Id": "x", "Label": "bad id"}, "not json", "not json")

    result = lake.materialize([bronze_records, records_by_day], day="2024-01-06")

    metadata = silver_metadata(result)["2024-01-06"]
    assert (metadata["bronze_rows"].value, metadata["quarantined_rows"].value) == (4, 3)
    assert metadata["reject_reasons"].value == {NOT_JSON: 2, NOT_AN_INTEGER: 1}
    # A JSON table whose records hold its fields: none of the files' notes, not even empty.
    assert not {
        MISSING_OPTIONAL_COLUMNS, LIKELY_RENAMED_FIELDS, REQUIRED_SPELLED_OTHERWISE
    } & set(metadata)  # fmt: skip
