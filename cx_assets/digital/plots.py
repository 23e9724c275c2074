"""Charts the digital assets attach to their materializations (shown on the asset's page in
the Dagster UI). Builders are in `lakehouse/plots.py`; here, which columns and titles."""

from __future__ import annotations

import pandas as pd
from dagster import MetadataValue

from cx_assets.lakehouse.partitions import day_span
from cx_assets.lakehouse.plots import bars_svg, markdown_image


def whole(value: float) -> str:
    return f"{value:,.0f}"


def daily_summary_metadata(summary: pd.DataFrame) -> dict[str, MetadataValue]:
    """`gold/leakage_daily_summary`: leakage calls by journey type over the days written,
    largest first. A one-day run also records the day's total as a number (the Plots tab)."""
    by_type = (
        summary.groupby("journey_type")["leakage_calls"].sum().sort_values(ascending=False)
        if len(summary)
        else pd.Series(dtype="int64")
    )
    days = sorted(str(day) for day in summary["date"].unique())
    span = day_span(days)
    metadata: dict[str, MetadataValue] = {
        "leakage_calls_chart": markdown_image(
            (
                "Leakage calls by journey type",
                bars_svg(
                    [str(label) for label in by_type.index],
                    by_type.tolist(),
                    title=f"Leakage calls by journey type, {span}",
                    value_format=whole,
                ),
            )
        )
    }
    if len(days) == 1:
        metadata["leakage_calls"] = MetadataValue.int(int(by_type.sum()))
    return metadata
