"""What every page's tables share (`command_centre.ui`), apart from a page."""

from __future__ import annotations

import pandas as pd
import pytest

from cx_assets.command_centre.ui import PERCENT_FORMAT, as_percentages


def test_shares_are_shown_in_percent_and_the_frame_downloaded_keeps_gold_values():
    frame = pd.DataFrame({"agent": ["A", "B"], "conversion_rate": [0.125, 1 / 3]})
    shown, config = as_percentages(frame, ["conversion_rate"])
    assert shown["conversion_rate"].tolist() == pytest.approx(
        [12.5, 100 / 3]
    )  # shown `12.5%`, `33.3%`
    assert shown["agent"].tolist() == ["A", "B"]
    assert PERCENT_FORMAT % 12.5 == "12.5%"
    assert set(config) == {"conversion_rate"}
    # The CSV is written from the frame given: its fractions, as gold holds them.
    assert frame["conversion_rate"].tolist() == [0.125, 1 / 3]


def test_a_table_without_shares_is_shown_as_given():
    frame = pd.DataFrame({"rows": [3]})
    shown, config = as_percentages(frame, [])
    assert shown is frame and config == {}
