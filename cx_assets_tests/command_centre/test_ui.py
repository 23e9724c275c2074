"""What every page's tables share (`command_centre.ui`), apart from a page."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from cx_assets.command_centre.ui import (
    PERCENT_FORMAT,
    UTC_TIME_FORMAT,
    as_percentages,
    time_columns,
)


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


def test_days_read_as_days_and_zoned_timestamps_as_utc_times():
    at = pd.Timestamp("2026-11-24 09:15:02", tz="UTC")
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-11-24", "2026-11-25"]),
            "called_at": [at, at],
            "arrow_at": pd.Series([at, at]).astype(pd.ArrowDtype(pa.timestamp("us", tz="UTC"))),
            "local_at": [at.tz_convert("America/Sao_Paulo")] * 2,
            "naive_at": pd.to_datetime(["2026-11-24 09:15", "2026-11-25 00:00"]),
            "calls": [1, 2],
        }
    )
    config = time_columns(frame)
    assert set(config) == {"date", "called_at", "arrow_at", "local_at"}
    assert config["date"]["type_config"]["format"] == "YYYY-MM-DD"
    for column in ("called_at", "arrow_at", "local_at"):
        # Shown in UTC whatever the column's zone: "2026-11-24 09:15:02 UTC".
        shown = config[column]["type_config"]
        assert (shown["type"], shown["format"], shown["timezone"]) == (
            "datetime", UTC_TIME_FORMAT, "UTC"
        )  # fmt: skip
