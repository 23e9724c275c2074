"""The command centre's charts (`charts.py`), read from the Vega-Lite specs of the pages
rendered headless (Streamlit's AppTest) on the hand-made gold dataset, or built directly: a
time axis ticked by day, bar names never cut, and a chart of zeros with an axis and a legend."""

from __future__ import annotations

import json

from cx_assets_tests.command_centre.gold_rows import DAY2
from cx_assets_tests.command_centre.rendered import render


def test_names_on_horizontal_bars_are_never_cut(gold_root, monkeypatch):
    """Seen in an audit: root causes differing only in their device read as one bar name,
    "pharmacy · FORMULARY_LOOKUP_FAILED · m…" twice (labels were cut at 240 px)."""
    horizontal = []
    for page in ("crm", "calls", "leakage", "support"):
        app = render(page, gold_root, monkeypatch)
        for chart in app.get("vega_lite_chart"):
            names = _encodings(json.loads(chart.proto.spec), "y", "nominal")
            horizontal += [y for y in names if "axis" in y]
    assert len(horizontal) >= 4, horizontal
    assert all(y["axis"]["labelLimit"] == 0 for y in horizontal), horizontal


def _encodings(spec: object, channel: str, kind: str) -> list[dict]:
    """Every `channel` (x, y) encoding of a field of type `kind` in a Vega-Lite spec, layers
    included."""
    found = []
    if isinstance(spec, dict):
        encoding = spec.get("encoding", {}).get(channel)
        if isinstance(encoding, dict) and encoding.get("type") == kind:
            found.append(encoding)
        for value in spec.values():
            found += _encodings(value, channel, kind)
    elif isinstance(spec, list):
        for value in spec:
            found += _encodings(value, channel, kind)
    return found


def test_a_series_over_days_has_no_ticks_between_days(gold_root, monkeypatch):
    """A wide chart of a week had "12 PM" ticks between its days, as if there were data."""
    import json

    from cx_assets.command_centre.charts import DAY_LABEL, DAY_TICKS

    axes = []
    for page in ("crm", "calls", "leakage", "support"):
        app = render(page, gold_root, monkeypatch)
        for chart in app.get("vega_lite_chart"):
            axes += _encodings(json.loads(chart.proto.spec), "x", "temporal")
    assert len(axes) >= 5  # CRM's flags, calls' two trends, leakage's trend, the forecast
    assert all(x["axis"] == {"tickCount": DAY_TICKS, "format": DAY_LABEL} for x in axes), axes


def test_a_chart_of_zeros_has_an_axis_and_a_legend_from_0_to_1():
    """Seen in an audit: a series of zeros had the domain [0, 0], its only tick `NaN`; a heat
    map of zeros one mid-blue colour and the legend `0.000000`."""
    import pandas as pd

    from cx_assets.command_centre import charts

    zeros = pd.DataFrame({"date": pd.to_datetime([DAY2, DAY2]), "n": [0, 0], "flag": ["a", "b"]})
    line = charts.lines(zeros, x="date", y="n", colour="flag", title="t").to_dict()
    assert line["encoding"]["y"]["scale"] == {"domain": [0, 1]}
    counts = zeros.assign(n=[0, 3])
    assert charts.lines(counts, x="date", y="n", title="t").to_dict()["encoding"]["y"]["scale"] == {
        "zero": True
    }
    cells = pd.DataFrame({"day_of_week": [4], "hour": [15], "n": [0]})
    heat = charts.weekday_hour_heatmap(cells, "n", title="t").to_dict()
    assert heat["encoding"]["color"]["scale"]["domain"] == [0, 1.0]
