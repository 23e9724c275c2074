"""Which inputs read a step's own days: those a step may not read for a day never built
(the guard in the IO managers and `cx-lakehouse run`'s refusal share this answer)."""

from __future__ import annotations

import pytest

from cx_assets.lakehouse.inputs import (
    all_days,
    reads_its_own_days,
    same_day,
    whole_table,
    with_days_before,
)

UPSTREAM = ["silver", "digital_calls"]


@pytest.mark.parametrize(
    ("asset_in", "reads_own"),
    [
        (same_day(UPSTREAM), True),
        (with_days_before(UPSTREAM, 13), True),  # the audit's case: a lookback window
        (all_days(UPSTREAM), False),  # whatever has been built (a customer of any day)
        (whole_table(UPSTREAM), False),
    ],
)
def test_own_days_are_read_by_same_day_and_lookback_windows_only(asset_in, reads_own):
    assert reads_its_own_days(asset_in.partition_mapping) is reads_own
