"""Charts the calls assets attach to their materializations (shown on the asset's page in
the Dagster UI). Builders are in `lakehouse/plots.py`; here, which columns and titles."""

from __future__ import annotations

import pandas as pd
from dagster import MetadataValue

from cx_assets.lakehouse.partitions import day_span
from cx_assets.lakehouse.plots import line_svg, markdown_image


def percent(value: float) -> str:
    return f"{value:.1%}"


def kpis_daily_metadata(kpis: pd.DataFrame) -> dict[str, MetadataValue]:
    """`gold/calls_kpis_daily`: the daily conversion rate over the days written. A one-day
    run also records the rate as a number, which the asset's Plots tab draws by partition (a
    range run writes one metadata for all its days, so it records only the chart)."""
    days = [str(day) for day in kpis["date"]]
    rates = kpis["conversion_rate"].tolist()
    span = day_span(days)
    metadata: dict[str, MetadataValue] = {
        "conversion_rate_chart": markdown_image(
            (
                "Daily conversion rate",
                line_svg(
                    days, rates, title=f"Conversion rate by day, {span}", value_format=percent
                ),
            )
        )
    }
    if len(kpis) == 1 and pd.notna(rates[0]):
        metadata["conversion_rate"] = MetadataValue.float(float(rates[0]))
    return metadata
