"""How a silver step's range is cut into the chunks of days it types at once
(`steps.day_chunks`): small days together, a large day alone; and when a key a JSON file
holds is taken for an optional field's rename (`steps.spelled_alike`)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cx_assets.lakehouse import steps
from cx_assets.lakehouse.steps import spelled_alike

DAYS = [date(2024, 1, 1) + timedelta(days=n) for n in range(6)]


def test_small_days_are_typed_together_and_a_large_day_alone(monkeypatch):
    """Each chunk costs a silver step about 0.2 s however few its records: a range of 90
    small digital days typed one at a time spent 13-25 s in each of silver journeys and
    calls, 6-8 s in chunks. Consecutive small days share a chunk up to the bounds; a day
    above a bound, or of no known size, is alone, so a range of large days still holds one
    day's records at a time."""
    monkeypatch.setattr(steps, "GROUP_ROWS", 10)
    monkeypatch.setattr(steps, "GROUP_BYTES", 1_000)
    sizes = {
        DAYS[0]: (4, 100),
        DAYS[1]: (6, 100),  # 10 records with the day before: still one chunk
        DAYS[2]: (1, 100),  # 11: a chunk of its own begins
        DAYS[3]: (1, 950),  # 1,050 bytes with the day before
        DAYS[4]: (11, 10),  # a large day
        DAYS[5]: None,  # its bronze file could not be read
    }
    assert steps.day_chunks(DAYS, sizes) == [
        [DAYS[0], DAYS[1]],
        [DAYS[2]],
        [DAYS[3]],
        [DAYS[4]],
        [DAYS[5]],
    ]
    assert steps.day_chunks(DAYS, dict.fromkeys(DAYS, (1, 1))) == [DAYS]
    # A day typed in parts (`PART_ROWS`) is never grouped with another.
    monkeypatch.setattr(steps, "PART_ROWS", 1)
    assert steps.day_chunks(DAYS, dict.fromkeys(DAYS, (1, 1))) == [[day] for day in DAYS]
    assert steps.day_chunks(DAYS, {}) == [[day] for day in DAYS]


@pytest.mark.parametrize(
    ("key", "field", "alike"),
    [
        ("CSATScore", "csat_score", True),  # the same spelling, case and `_` left out
        ("company_id", "CompanyId", True),
        ("ticket_csat_score", "csat_score", True),  # holds the field's 9 letters
        ("OwnerCompanyId", "CompanyId", True),
        ("Score", "csat_score", False),  # held by it, but 5 letters: any name may hold them
        ("SubTitle", "Title", False),
        ("CreateDate", "FinishDate", False),  # an extra field a CRM exports
        ("tags", "csat_score", False),
        ("satisfaction", "csat_score", False),  # a rename in other words is not told
    ],
)
def test_an_undeclared_key_is_taken_for_an_optional_fields_rename_when_spelled_alike(
    key, field, alike
):
    assert spelled_alike(key, field) is alike
