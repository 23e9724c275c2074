"""Where a scatter writes its points' names: pure geometry over the frame the chart draws, so
it is tested without a browser. The plot's size is an estimate of what `charts.scatter`
draws (`PLOT_PIXELS`, below), which the chart does not read."""

from __future__ import annotations

import math

import pandas as pd

# A scatter's point names: written above or below their points, 11 px, on a plot about this
# size (the chart's half of a page, and its `SCATTER_HEIGHT` less its title, axes and
# legend; a wider screen leaves more room). Its scales span the data and this padding, not
# rounded out to "nice" values, and its points' areas run over a fixed range, so where a
# point is drawn, and how large, is known here.
PLOT_PIXELS = (260, 210)
SCALE_PADDING_PIXELS = 20
POINT_AREA_PIXELS = (16, 400)  # the smallest value's point and the largest's (zero: 16)
LABEL_FONT_PIXELS = 11
LABEL_OFFSET_PIXELS = 16  # from a point's centre to the middle of its name
LETTER_PIXELS = 0.6 * LABEL_FONT_PIXELS  # a proportional font's mean letter, about
LABEL_LINE_PIXELS = LABEL_FONT_PIXELS + 3  # names one above the other, read apart


def labelled_points(frame: pd.DataFrame, *, x: str, y: str, size: str, label: str) -> pd.Series:
    """Where each of a scatter's points has its name written: "above" it, else "below" it,
    or "" (named on hover only). The largest points first, each where its name would cover
    neither a name already written nor another point (names and points placed as the chart
    draws them, on a plot of `PLOT_PIXELS`). Names written for every point overlapped
    wherever agents sat close (support's breaches against CSAT); written above only, a name
    sat on the bubbles of agents just above."""
    placed = pd.Series("", index=frame.index, dtype=object)
    if frame.empty:
        return placed
    width, height = PLOT_PIXELS

    def pixels(values: pd.Series, extent: int) -> pd.Series:
        low, high = values.min(), values.max()
        inner = extent - 2 * SCALE_PADDING_PIXELS
        if pd.isna(low) or high == low:
            return pd.Series(extent / 2, index=values.index)
        return SCALE_PADDING_PIXELS + (values - low) / (high - low) * inner

    across = pixels(frame[x].astype(float), width)
    up = pixels(frame[y].astype(float), height)
    radii = point_radii(frame[size])
    half_widths = frame[label].astype(str).str.len() * LETTER_PIXELS / 2
    points = [
        (index, across[index], up[index], radii[index])
        for index in frame.index
        if not (pd.isna(across[index]) or pd.isna(up[index]))
    ]
    names: list[tuple[float, float, float]] = []  # written: centre, middle, half width

    def clear(index, centre: float, middle: float, half: float) -> bool:
        """Whether a name of `index` centred here overlaps no written name and no other
        point (the nearest point of the name's box is at least the point's radius away)."""
        apart = all(
            abs(centre - other_centre) >= half + other_half
            or abs(middle - other_middle) >= LABEL_LINE_PIXELS
            for other_centre, other_middle, other_half in names
        )
        half_height = LABEL_LINE_PIXELS / 2
        return apart and all(
            max(abs(centre - px) - half, 0) ** 2 + max(abs(middle - py) - half_height, 0) ** 2
            >= radius**2
            for point, px, py, radius in points
            if point != index
        )

    by_size = frame[size].astype(float).fillna(0).sort_values(ascending=False, kind="stable")
    for index in by_size.index:
        if pd.isna(across[index]) or pd.isna(up[index]):
            continue
        for where, offset in (("above", LABEL_OFFSET_PIXELS), ("below", -LABEL_OFFSET_PIXELS)):
            centre, middle, half = across[index], up[index] + offset, half_widths[index]
            if clear(index, centre, middle, half):
                names.append((centre, middle, half))
                placed[index] = where
                break
    return placed


def point_radii(sizes: pd.Series) -> pd.Series:
    """Each point's radius in pixels: its area from `POINT_AREA_PIXELS`, in proportion to
    its value from zero (the chart's size scale)."""
    values = sizes.astype(float).fillna(0).clip(lower=0)
    smallest, largest = POINT_AREA_PIXELS
    top = values.max()
    areas = smallest + (values / top if top > 0 else 0) * (largest - smallest)
    return (areas / math.pi) ** 0.5
