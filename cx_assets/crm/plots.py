"""Charts the CRM assets attach to their materializations (shown on the asset's page in the
Dagster UI). Builders are in `lakehouse/plots.py`; here, which columns and titles."""

from __future__ import annotations

import pandas as pd
from dagster import MetadataValue

from cx_assets.lakehouse.plots import heatmap_svg, markdown_image

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HOURS = tuple(f"{hour:02d}" for hour in range(24))


def _grid(heat: pd.DataFrame, column: str) -> list[list[float | None]]:
    cells = {
        (int(day), int(hour)): value
        for day, hour, value in zip(heat["day_of_week"], heat["hour"], heat[column], strict=True)
    }
    return [[cells.get((day, hour)) for hour in range(24)] for day in range(7)]


def temporal_heat_metadata(heat: pd.DataFrame) -> dict[str, MetadataValue]:
    """`gold/crm_temporal_heat`: valid and friction interactions by weekday × local hour."""
    return {
        "heat_map": markdown_image(
            (
                "Valid interactions by weekday and hour",
                heatmap_svg(
                    _grid(heat, "interaction_count"),
                    row_labels=WEEKDAYS,
                    column_labels=HOURS,
                    title="Valid interactions, weekday × hour (America/Sao_Paulo), all history",
                ),
            ),
            (
                "Friction interactions by weekday and hour",
                heatmap_svg(
                    _grid(heat, "friction_count"),
                    row_labels=WEEKDAYS,
                    column_labels=HOURS,
                    title="Friction interactions, weekday × hour, all history",
                ),
            ),
        ),
        "friction_interactions": MetadataValue.int(int(heat["friction_count"].sum())),
    }
