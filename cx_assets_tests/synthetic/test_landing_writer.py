"""How the synthetic generators land files: each whole under its final name (written in
flight first), and a source's files of one `cx-lakehouse generate` together."""

from __future__ import annotations

from datetime import date

import pytest

from cx_assets.lakehouse.landing import discover
from cx_assets.synthetic.landing_writer import landing_file, one_delivery, write_csv, write_jsonl

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
