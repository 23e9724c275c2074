"""How the synthetic generators land files: each whole under its final name (written in
flight first), and a source's files of one `cx-lakehouse generate` together."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from cx_assets.lakehouse.landing import discover
from cx_assets.synthetic.landing_writer import (
    chunked,
    landing_file,
    one_delivery,
    write_csv,
    write_json,
    write_jsonl,
)

DAY = date(2024, 3, 4)


def test_a_delivery_lands_its_files_together_when_it_ends(tmp_path):
    """A sensor looking while a source was generated saw its files one by one and ran the
    day on part of them, again and again (seen in an audit: four runs of a scale-2 CRM day,
    gold partial for a minute). Until the delivery ends discovery finds none of them."""
    first = landing_file(tmp_path, "support", "tickets", DAY, "tickets-0001.jsonl")
    second = landing_file(tmp_path, "support", "agents", DAY, "agents.csv")
    with one_delivery():
        assert write_jsonl(first, [{"ticket_id": "T1"}]) == 1
        assert write_csv(second, ["agent_id"], [{"agent_id": "A1"}]) == 1
        assert not first.exists() and not second.exists()
        # In flight under a name discovery skips (contract §2: a leading `.` or `_`).
        assert [path.name[0] for path in first.parent.iterdir()] == ["_"]
        assert discover(tmp_path, "support", "tickets", DAY) == []
        assert discover(tmp_path, "support", "agents", DAY) == []
    assert first.read_text() == '{"ticket_id": "T1"}\n'
    assert second.read_text().splitlines() == ["agent_id", "A1"]
    assert sorted(path.name for path in first.parent.iterdir()) == ["tickets-0001.jsonl"]
    assert len(discover(tmp_path, "support", "tickets", DAY)) == 1


def test_an_interrupted_delivery_leaves_nothing_in_flight_or_landed(tmp_path):
    target = landing_file(tmp_path, "calls", "transcripts", DAY, "calls-0001.jsonl")
    with pytest.raises(KeyboardInterrupt), one_delivery():
        write_jsonl(target, [{"call_id": "C1"}])
        raise KeyboardInterrupt
    assert list(target.parent.iterdir()) == []


def _interrupted_after(count: int):
    """Records generated as they are written, until Ctrl-C comes after `count` of them."""
    for number in range(count):
        yield {"call_id": f"C{number}"}
    raise KeyboardInterrupt


@pytest.mark.parametrize("in_a_delivery", [True, False])
def test_a_file_interrupted_while_written_is_not_left_in_flight(tmp_path, in_a_delivery):
    """Its records are generated as the file is written, so that is where a Ctrl-C or a stop
    signal comes: the half-written in-flight file was left in the landing folder (seen
    after stopping `cx-lakehouse generate` with SIGTERM)."""
    landed = landing_file(tmp_path, "calls", "transcripts", DAY, "calls-0001.jsonl")
    cut = landing_file(tmp_path, "calls", "transcripts", DAY, "calls-0002.jsonl")
    with pytest.raises(KeyboardInterrupt):
        if in_a_delivery:
            with one_delivery():
                write_jsonl(landed, [{"call_id": "C1"}])
                write_jsonl(cut, _interrupted_after(3))
        else:
            write_jsonl(landed, [{"call_id": "C1"}])
            write_jsonl(cut, _interrupted_after(3))
    # A delivery lands all its files or none; outside one, the whole file stays.
    expected = [] if in_a_delivery else ["calls-0001.jsonl"]
    assert sorted(path.name for path in landed.parent.iterdir()) == expected


def test_outside_a_delivery_each_file_lands_at_once(tmp_path):
    target = landing_file(tmp_path, "calls", "transcripts", DAY, "calls-0001.jsonl")
    write_jsonl(target, [{"call_id": "C1"}])
    assert [path.name for path in target.parent.iterdir()] == ["calls-0001.jsonl"]


def test_generate_lands_each_source_as_one_delivery(tmp_path, monkeypatch):
    """`cx-lakehouse generate` wraps each source's generator in a delivery: a file written
    first is not under its name while the generator writes the next."""
    from cx_assets import cli as cli_module
    from cx_assets import synthetic

    seen_while_writing: list[bool] = []

    def fake_generator(request):
        first = landing_file(request.landing_dir, "calls", "transcripts", request.start, "a.jsonl")
        write_jsonl(first, [{"call_id": "C1"}])
        seen_while_writing.append(first.exists())
        write_jsonl(first.with_name("b.jsonl"), [{"call_id": "C2"}])
        return {"transcripts": 2}

    monkeypatch.setattr(synthetic, "generator", lambda source: fake_generator)
    monkeypatch.setenv("CX_DATA_DIR", str(tmp_path / "data"))
    code = cli_module.main(
        ["generate", "--start", "2024-03-04", "--days", "1", "--sources", "calls", "--quiet"]
    )
    assert code == 0
    assert seen_while_writing == [False]
    landed = tmp_path / "data" / "landing" / "calls" / "transcripts" / "2024-03-04"
    assert sorted(path.name for path in landed.iterdir()) == ["a.jsonl", "b.jsonl"]


def test_records_land_as_utf8_with_dates_in_iso_8601(tmp_path):
    """Contract §2: text is UTF-8, so names from the pools land as they are said, one
    object a line for `.jsonl`; dates and times the generators hand over are ISO-8601 (a
    datetime written by `str()` has a space for its `T`)."""
    record = {"Name": "João Conceição", "CreateDate": date(2024, 3, 4)}
    record["Date"] = datetime(2024, 3, 4, 13, 15)
    text = '{"Name": "João Conceição", "CreateDate": "2024-03-04", "Date": "2024-03-04T13:15:00"}'
    lines = landing_file(tmp_path, "crm", "contacts", DAY, "contacts.jsonl")
    assert write_jsonl(lines, [record, record]) == 2
    assert lines.read_bytes() == f"{text}\n{text}\n".encode()
    array = write_json(lines.with_name("contacts.json"), [record])
    assert array.read_bytes() == f"[{text}]".encode()


def test_a_value_json_cannot_write_fails_the_file_and_lands_nothing(tmp_path):
    """Written as its `str()` it would land as a string where a number was meant."""
    target = landing_file(tmp_path, "crm", "deals", DAY, "deals.jsonl")
    with pytest.raises(TypeError, match="not JSON serializable: Decimal"):
        write_jsonl(target, [{"Id": 1, "Amount": Decimal("1299.99")}])
    assert list(target.parent.iterdir()) == []


def test_a_csv_holds_the_named_columns_with_none_left_empty(tmp_path):
    """A row's other keys are left out (the columns are the file's), None is an empty field,
    and a comma inside a value is quoted (contract §2: header row, `,`, `"` quoting)."""
    target = landing_file(tmp_path, "support", "agents", DAY, "agents.csv")
    rows = [
        {"agent_id": "A1", "team": None, "internal_note": "left out"},
        {"agent_id": "A2", "team": "Billing, East"},
    ]
    assert write_csv(target, ["agent_id", "team"], rows) == 2
    assert target.read_bytes() == b'agent_id,team\r\nA1,\r\nA2,"Billing, East"\r\n'


@pytest.mark.parametrize(("count", "sizes"), [(0, []), (1, [1]), (4, [2, 2]), (5, [2, 2, 1])])
def test_chunked_splits_in_order_and_keeps_every_item(count, sizes):
    items = list(range(count))
    chunks = [list(chunk) for chunk in chunked(items, 2)]
    assert [len(chunk) for chunk in chunks] == sizes
    assert [item for chunk in chunks for item in chunk] == items
