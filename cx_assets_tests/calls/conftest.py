"""The `landed` fixture of the calls asset tests of more than one module (`test_assets`,
`test_quarantine`): the hand-worked day of landing_rows.py landed as JSON lines with one bad
line, a JSON array, a single-object file and an in-flight file that is not read."""

from __future__ import annotations

import json

import pytest

from cx_assets_tests.calls.landing_rows import (
    BAD_JSON_LINE,
    CALL_A,
    CALL_B,
    CALL_D,
    CALL_E,
    CALL_F,
    CALL_G,
    DAY,
    call,
)


@pytest.fixture
def landed(lake):
    lake.land_jsonl(
        "calls",
        "transcripts",
        DAY,
        [CALL_A, CALL_B, BAD_JSON_LINE, CALL_D],
        name="part-0001.jsonl",
    )
    lake.land("calls", "transcripts", DAY, "batch.json", json.dumps([CALL_E, CALL_F], indent=2))
    lake.land("calls", "transcripts", DAY, "call-G.json", json.dumps(CALL_G))
    lake.land("calls", "transcripts", DAY, "_in-flight.jsonl", json.dumps(call("X", "ignored")))
    return lake
