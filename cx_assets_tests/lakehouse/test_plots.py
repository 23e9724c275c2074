"""The Dagster UI's small charts (`lakehouse/plots.py`): valid SVG, nulls handled, and wrapped
as a markdown value of inline images the UI renders."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ElementTree

from dagster import MarkdownMetadataValue

from cx_assets.lakehouse.partitions import day_span
from cx_assets.lakehouse.plots import bars_svg, heatmap_svg, line_svg, markdown_image

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)


def test_a_heatmap_has_a_cell_per_value_shaded_by_size():
    svg = heatmap_svg([[0, 5], [10, None]], row_labels=["a", "b"], column_labels=["x", "y"],
                      title="<heat & cold>")  # fmt: skip
    root = parse(svg)  # escaped text keeps it well-formed
    cells = [rect.get("fill") for rect in root.iter(f"{SVG}rect")][1:]  # after the background
    assert len(cells) == 4
    assert cells[0] == "#f7fbff" and cells[2] == "#08306b"  # 0 is white, the maximum dark
    assert cells[3] == "#eeeeee"  # null
    assert "<heat & cold>" in "".join(root.itertext())


def test_a_line_breaks_at_nulls_and_bars_keep_their_order():
    root = parse(line_svg(["d1", "d2", "d3", "d4"], [0.1, None, 0.3, 0.2], title="rate"))
    assert len(list(root.iter(f"{SVG}polyline"))) == 1  # d3-d4; d1 stands alone
    assert len(list(root.iter(f"{SVG}circle"))) == 3
    bars = parse(bars_svg(["billing", "pharmacy"], [20, 5], title="calls"))
    labels = [text.text for text in bars.iter(f"{SVG}text")]
    assert labels.index("billing") < labels.index("pharmacy")
    # Without data: the title alone, no bar or line drawn (the one rect is the background).
    for empty in (bars_svg([], [], title="nothing"), line_svg([], [], title="nothing")):
        root = parse(empty)
        assert "nothing" in "".join(root.itertext())
        assert len(list(root.iter(f"{SVG}rect"))) == 1
        assert not list(root.iter(f"{SVG}polyline")) and not list(root.iter(f"{SVG}circle"))


def test_charts_are_markdown_images():
    grid = [[float(day * 24 + hour) for hour in range(24)] for day in range(7)]
    svg = heatmap_svg(grid, row_labels=list("MTWTFSS"), column_labels=[str(h) for h in range(24)],
                      title="heat")  # fmt: skip
    value = markdown_image(("heat map", svg), ("again", svg))
    assert isinstance(value, MarkdownMetadataValue)
    images = re.findall(
        r"!\[([^]]*)\]\(data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)", value.value
    )
    assert [alt for alt, _ in images] == ["heat map", "again"]
    assert base64.b64decode(images[0][1]).decode() == svg


def test_a_span_of_days_reads_naturally():
    assert day_span([]) == "no days"
    assert day_span(["2024-01-01"]) == "2024-01-01"
    assert day_span(["2024-01-01", "2024-01-07"]) == "2024-01-01 to 2024-01-07"
