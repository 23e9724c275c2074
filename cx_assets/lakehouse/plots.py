"""Small charts for the Dagster UI, attached to a materialization as markdown images.

Engineers see a table's shape on the asset page without opening a notebook: each builder
returns an SVG (built as text, so no plotting library is imported on the run's hot path and
a chart costs well under a millisecond per hundred marks), and `markdown_image` wraps SVGs
as `MetadataValue.md` with inline `data:` images, which the UI's markdown renders.

Domain-free: each domain's `plots.py`, where it has one, picks the columns and titles.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Sequence
from xml.sax.saxutils import escape

from dagster import MetadataValue

WIDTH = 640
FONT = "font-family='Helvetica,Arial,sans-serif'"
LOW_COLOUR, HIGH_COLOUR = (0xF7, 0xFB, 0xFF), (0x08, 0x30, 0x6B)  # white → dark blue
LINE_COLOUR = "#1f77b4"
BAR_COLOUR = "#4c78a8"

Number = float | int | None
Format = Callable[[float], str]


def _number(value: Number) -> float | None:
    """A plottable float, or None for null and NaN."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _text(x: float, y: float, text: str, *, size: int = 11, anchor: str = "start", **extra) -> str:
    attributes = " ".join(f"{name.replace('_', '-')}='{value}'" for name, value in extra.items())
    return (
        f"<text x='{x:.1f}' y='{y:.1f}' font-size='{size}' text-anchor='{anchor}' {FONT} "
        f"{attributes}>{escape(text)}</text>"
    )


def _svg(height: float, title: str, body: list[str]) -> str:
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{height:.0f}' "
        f"viewBox='0 0 {WIDTH} {height:.0f}'><rect width='100%' height='100%' fill='white'/>"
        + _text(8, 16, title, size=13, font_weight="bold")
        + "".join(body)
        + "</svg>"
    )


def _shade(share: float) -> str:
    red, green, blue = (
        round(low + (high - low) * share) for low, high in zip(LOW_COLOUR, HIGH_COLOUR, strict=True)
    )
    return f"#{red:02x}{green:02x}{blue:02x}"


def heatmap_svg(
    values: Sequence[Sequence[Number]],
    *,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    title: str,
) -> str:
    """Rows × columns of cells shaded from white (0) to dark blue (the maximum),
    with every other column labelled."""
    numbers = [[_number(value) for value in row] for row in values]
    present = [value for row in numbers for value in row if value is not None]
    top = max(present, default=0.0)
    left, head = 40, 34
    cell_w = (WIDTH - left - 10) / max(1, len(column_labels))
    cell_h = 18
    body = []
    for index, label in enumerate(column_labels):
        if index % 2 == 0:
            body.append(
                _text(left + (index + 0.5) * cell_w, head - 4, label, size=9, anchor="middle")
            )
    for r, (label, row) in enumerate(zip(row_labels, numbers, strict=True)):
        y = head + r * cell_h
        body.append(_text(left - 4, y + cell_h * 0.7, label, size=10, anchor="end"))
        for c, value in enumerate(row):
            fill = "#eeeeee" if value is None else _shade(value / top if top > 0 else 0.0)
            body.append(
                f"<rect x='{left + c * cell_w:.1f}' y='{y}' width='{cell_w:.1f}' "
                f"height='{cell_h}' fill='{fill}' stroke='white' stroke-width='0.5'/>"
            )
    height = head + len(row_labels) * cell_h + 18
    body.append(_text(left, height - 5, f"max {top:g}", size=9, fill="#555555"))
    return _svg(height, title, body)


def line_svg(
    labels: Sequence[str], values: Sequence[Number], *, title: str, value_format: Format = str
) -> str:
    """One series over ordered labels (e.g. days); a null breaks the line."""
    numbers = [_number(value) for value in values]
    present = [value for value in numbers if value is not None]
    low, high = min(present, default=0.0), max(present, default=0.0)
    low = min(low, 0.0)
    span = (high - low) or 1.0
    left, right, top, bottom, height = 60, 16, 30, 36, 220
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    step = plot_w / max(1, len(numbers) - 1)

    def x(index: int) -> float:
        return left + (index * step if len(numbers) > 1 else plot_w / 2)

    def y(value: float) -> float:
        return top + plot_h * (1 - (value - low) / span)

    body = [
        f"<line x1='{left}' y1='{top + plot_h}' x2='{left + plot_w}' y2='{top + plot_h}' "
        "stroke='#999999'/>",
        _text(left - 4, y(high) + 4, value_format(high), size=9, anchor="end"),
        _text(left - 4, y(low) + 4, value_format(low), size=9, anchor="end"),
    ]
    segment: list[str] = []
    for index, value in enumerate([*numbers, None]):
        if value is not None:
            segment.append(f"{x(index):.1f},{y(value):.1f}")
            body.append(
                f"<circle cx='{x(index):.1f}' cy='{y(value):.1f}' r='2.5' fill='{LINE_COLOUR}'/>"
            )
        else:  # a null, or the end: draw the run of points so far (a lone point is its dot)
            if len(segment) > 1:
                body.append(
                    f"<polyline points='{' '.join(segment)}' fill='none' stroke='{LINE_COLOUR}' "
                    "stroke-width='2'/>"
                )
            segment = []
    if labels:
        body.append(_text(x(0), height - bottom + 16, labels[0], size=9, anchor="start"))
        if len(labels) > 1:
            body.append(
                _text(x(len(labels) - 1), height - bottom + 16, labels[-1], size=9, anchor="end")
            )
    return _svg(height, title, body)


def bars_svg(
    labels: Sequence[str], values: Sequence[Number], *, title: str, value_format: Format = str
) -> str:
    """Horizontal bars, one per label, in the order given."""
    numbers = [_number(value) or 0.0 for value in values]
    top_value = max([abs(value) for value in numbers], default=0.0) or 1.0
    left, head, bar_h, gap = 130, 30, 18, 6
    plot_w = WIDTH - left - 90
    body = []
    for index, (label, value) in enumerate(zip(labels, numbers, strict=True)):
        y = head + index * (bar_h + gap)
        width = plot_w * abs(value) / top_value
        body.append(_text(left - 6, y + bar_h * 0.72, label[:20], size=10, anchor="end"))
        body.append(
            f"<rect x='{left}' y='{y}' width='{width:.1f}' height='{bar_h}' fill='{BAR_COLOUR}'/>"
        )
        body.append(_text(left + width + 4, y + bar_h * 0.72, value_format(value), size=10))
    height = head + max(1, len(numbers)) * (bar_h + gap) + 8
    return _svg(height, title, body)


def markdown_image(*images: tuple[str, str]) -> MetadataValue:
    """`(alt text, svg)` pairs as one markdown value of inline images."""
    return MetadataValue.md(
        "\n\n".join(
            f"![{alt}](data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode()})"
            for alt, svg in images
        )
    )
