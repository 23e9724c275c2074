"""The command centre's charts (`charts.py`), read from the Vega-Lite specs of the pages
rendered headless (Streamlit's AppTest) on the hand-made gold dataset, or built directly: a
time axis ticked by day, bar names never cut, and a chart of zeros with an axis and a legend."""

from __future__ import annotations

import json
import re

import pandas as pd

from cx_assets.command_centre.charts import (
    NAME_ABOVE,
    NAME_BELOW,
    lines,
    scatter,
    stacked_area,
    weekday_hour_heatmap,
)
from cx_assets.command_centre.point_names import labelled_points, point_radii
from cx_assets_tests.command_centre.gold_rows import DAY2
from cx_assets_tests.command_centre.rendered import DOMAIN_PAGES


def test_names_on_horizontal_bars_are_never_cut(rendered_on_gold):
    """Seen in an audit: root causes differing only in their device read as one bar name,
    "pharmacy · FORMULARY_LOOKUP_FAILED · m…" twice (labels were cut at 240 px)."""
    horizontal = []
    for app in (rendered_on_gold[page] for page in DOMAIN_PAGES):
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


def test_a_series_over_days_has_no_ticks_between_days(rendered_on_gold):
    """A wide chart of a week had "12 PM" ticks between its days, as if there were data."""
    import json

    from cx_assets.command_centre.charts import DAY_LABEL

    axes = []
    for app in (rendered_on_gold[page] for page in DOMAIN_PAGES):
        for chart in app.get("vega_lite_chart"):
            axes += _encodings(json.loads(chart.proto.spec), "x", "temporal")
    assert len(axes) >= 5  # CRM's flags, calls' two trends, leakage's trend, the forecast
    # Ticks at the days it names only, each a day (no hour), labelled as a day.
    assert all(x["axis"]["format"] == DAY_LABEL for x in axes), axes
    assert all(x["axis"]["values"] for x in axes), axes
    assert all(set(v) == {"year", "month", "date"} for x in axes for v in x["axis"]["values"])


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
    assert heat["encoding"]["opacity"]["scale"]["domain"] == [0, 1.0]


def test_a_scatter_names_the_largest_points_where_a_name_covers_no_name_and_no_point():
    """Seen on the support page: eight agents' names written over each other where their
    breach shares and CSAT were close; then, written above their points only, names sat on
    the bubbles of agents just above. On the 260 × 210 px plot (`PLOT_PIXELS`, 20 px of
    padding), x from 0 to 1 spans 220 px and y from 0 to 1 spans 170 px; a name of 10
    letters is 66 px wide and 14 px high, its middle 16 px above or below its point; a
    point's area runs from 16 px² (zero) to 400 px² (the largest value): radius 11.3 px for
    300, 6.8 for 100, 4.6 for 40."""

    frame = pd.DataFrame(
        {
            "name": ["Big Agent1", "Near Agent", "Far Agent1", "Above Agt1", "Small"],
            "x": [0.50, 0.55, 1.00, 0.52, 0.0],
            "y": [0.50, 0.52, 0.00, 0.62, 1.0],
            "size": [300, 100, 50, 40, 10],
        }
    )
    where = labelled_points(frame, x="x", y="y", size="size", label="name")
    # Big Agent1 (130, 105) first, the largest: above, its name (y 114-128) would cover
    # Above Agt1's point (134.4, 125.4), so below (y 82-96; Near Agent's point, 12.4 px
    # above that, has a radius of 6.8). Near Agent (141, 108.4): above covers Above Agt1's
    # point, below (y 85.4-99.4) overlaps Big Agent1's name 11 px to the left: not written.
    # Far Agent1 and Small: alone. Above Agt1: its name 29 px above Big Agent1's centre.
    assert where.tolist() == ["below", "", "above", "above", "above"]
    radii = point_radii(frame["size"])
    assert radii.round(1).tolist() == [11.3, 6.8, 5.0, 4.6, 3.0]

    spec = scatter(frame, x="x", y="y", size="size", label="name", title="t").to_dict()
    rows = next(iter(spec["datasets"].values()))
    assert [(row[NAME_ABOVE], row[NAME_BELOW]) for row in rows] == [
        ("", "Big Agent1"),
        ("", ""),
        ("Far Agent1", ""),
        ("Above Agt1", ""),
        ("Small", ""),
    ]
    # The point a name is written beside is where the chart draws it, as large: its scales
    # are not rounded out to "nice" values, and its areas run over the range assumed here.
    layers = spec["layer"]
    scales = [layer["encoding"][axis]["scale"] for layer in layers for axis in ("x", "y")]
    assert all(scale["nice"] is False and scale["padding"] == 20 for scale in scales)
    size_scale = layers[0]["encoding"]["size"]["scale"]
    assert (size_scale["zero"], size_scale["range"]) == (True, [16, 400])
    texts = {layer["encoding"]["text"]["field"]: layer["mark"] for layer in layers[1:]}
    assert {field: mark["dy"] for field, mark in texts.items()} == {NAME_ABOVE: -16, NAME_BELOW: 16}
    assert {mark["baseline"] for mark in texts.values()} == {"middle"}


def test_a_scatter_of_one_point_or_of_equal_values_names_them():

    one = pd.DataFrame({"name": ["A"], "x": [0.3], "y": [4.0], "size": [5]})
    assert labelled_points(one, x="x", y="y", size="size", label="name").tolist() == ["above"]
    # Equal values sit on one spot: one name of the two (the other's would cover it).
    same = pd.DataFrame({"name": ["A", "B"], "x": [0.3, 0.3], "y": [4.0, 4.0], "size": [5, 9]})
    assert labelled_points(same, x="x", y="y", size="size", label="name").tolist() == ["", "above"]
    empty = one.iloc[:0]
    assert labelled_points(empty, x="x", y="y", size="size", label="name").tolist() == []


def test_of_two_names_that_cannot_both_go_above_the_larger_points_goes_above():
    """Alpha (10) and Bravo (9) side by side, 11 px apart at (20, 20) and (31, 20) (x 0 and
    0.05 of 0 to 1 over 220 px; Charlie, 1,000, far at (240, 190), sets the scales): their
    names, 5 letters (33 px wide), cannot both go above. Alpha, the larger, is placed first:
    above, at y 29-43, 9 px clear of Bravo's point (radius 2.5); Bravo's name above would
    overlap it, so it goes below (y -3 to 11). Placed smallest first, it was the other way."""
    frame = pd.DataFrame(
        {
            "name": ["Alpha", "Bravo", "Charlie"],
            "x": [0.0, 0.05, 1.0],
            "y": [0.0, 0.0, 1.0],
            "size": [10, 9, 1000],
        }
    )
    where = labelled_points(frame, x="x", y="y", size="size", label="name")
    assert where.tolist() == ["above", "below", "above"]


def test_stacked_series_are_named_for_readers_not_by_their_columns():
    """Seen on the CRM page: the linkage legend read `direct_share`, `via_person_share`."""
    frame = pd.DataFrame(
        {"date": pd.to_datetime(["2024-01-01"]), "direct_share": [0.6], "unresolved_share": [0.4]}
    )
    spec = stacked_area(
        frame,
        x="date",
        ys={"direct_share": "direct", "unresolved_share": "unresolved"},
        title="t",
        y_format=".0%",
    ).to_dict()
    assert spec["transform"][0]["fold"] == ["direct", "unresolved"]
    assert spec["encoding"]["color"]["sort"] == ["direct", "unresolved"]
    # Stacked as the legend lists them, the first on top: stacking goes up in `order`.
    assert spec["encoding"]["order"]["field"] == "stacked_below"
    assert spec["transform"][1]["calculate"] == "-indexof(['direct', 'unresolved'], datum.series)"
    rows = next(iter(spec["datasets"].values()))
    assert rows[0]["direct"] == 0.6 and "direct_share" not in rows[0]
    (value,) = [tip for tip in spec["encoding"]["tooltip"] if tip.get("field") == "value"]
    assert value["format"] == ".1%"


def test_tooltips_give_shares_with_one_decimal_as_the_cards_do():
    """Seen in the browser: a conversion rate a day read `29%` in its tooltip (the axis'
    `.0%`) and a breach share `19.7959%` (the scatter's `~%` axis), where the cards say
    `29.3%`."""
    frame = pd.DataFrame(
        {"date": pd.to_datetime(["2024-01-01"]), "rate": [0.2925], "usd": [12.5], "n": [3]}
    )
    spec = lines(frame, x="date", y="rate", title="t", y_format=".0%").to_dict()
    assert [tip["format"] for tip in spec["encoding"]["tooltip"][1:]] == [".1%"]
    spec = scatter(
        frame.assign(name="A"), x="rate", y="usd", size="n", label="name", title="t",
        x_format="~%", y_format="$,.2f",
    ).to_dict()  # fmt: skip
    formats = [tip.get("format") for tip in spec["layer"][0]["encoding"]["tooltip"]]
    assert formats[1:3] == [".1%", "$,.2f"]


def test_bars_with_a_missing_name_still_draw():
    """Found in an audit: a null category (a support priority, a member category) made
    Altair refuse the chart's sort, and the page stopped at the chart."""
    from cx_assets.command_centre.charts import bars

    frame = pd.DataFrame({"name": ["b", None, "a"], "n": [3, 2, 1]})
    spec = bars(frame, x="name", y="n", title="t").to_dict()

    assert spec["layer"][0]["encoding"]["x"]["sort"] == ["b", "a"]


# Colour vision deficiency simulated as Machado, Oliveira and Fernandes (2009) do, at full
# severity, on linear RGB; distances are CIELAB ΔE (1976). Two colours closer than
# `DISTINCT` under deuteranopia or protanopia read as one to a manager with that vision.
MACHADO = {
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                     [-0.011820, 0.042940, 0.968881]],
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]],
}  # fmt: skip
DISTINCT = 15.0
# The series a chart draws at most, in practice (support's six teams).
SERIES_TOLD_APART = 6


# Streamlit's two pages, by their backgrounds: the light theme's, and the dark theme's a
# browser set to dark gets (#171614 since Streamlit 1.67, #0E1117 before).
PAGES = {"white": ["#FFFFFF"], "dark": ["#171614", "#0E1117"]}


def _on_page(colour: str, page: str) -> str:
    """The colour drawn on `page` for a chart's `colour`: `light-dark(white's, dark's)`
    takes the one of the page's colour scheme, which Streamlit sets on its app."""
    both = re.fullmatch(r"light-dark\((#[0-9A-Fa-f]{6}), (#[0-9A-Fa-f]{6})\)", colour)
    return colour if both is None else both[1 if page == "white" else 2]


def _linear(hex_colour: str) -> list[float]:
    channels = [int(hex_colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    return [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]


def _lab(linear: list[float]) -> tuple[float, float, float]:
    r, g, b = (min(max(c, 0.0), 1.0) for c in linear)
    xyz = (
        (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047,
        0.2126 * r + 0.7152 * g + 0.0722 * b,
        (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883,
    )
    f = [t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in xyz]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def _seen_apart(first: str, second: str, vision: str) -> float:
    matrix = MACHADO[vision]
    seen = [
        _lab([sum(row[k] * channel[k] for k in range(3)) for row in matrix])
        for channel in (_linear(first), _linear(second))
    ]
    return sum((a - b) ** 2 for a, b in zip(*seen, strict=True)) ** 0.5


def test_the_colour_blind_model_tells_red_from_green_apart_only_for_normal_vision():
    """The model itself: the classic red and green meet under deuteranopia."""
    assert _seen_apart("#d62728", "#2ca02c", "deuteranopia") < DISTINCT
    assert _seen_apart("#0072b2", "#e69f00", "deuteranopia") > 100


def _colour_ranges(spec: object) -> list[list[str]]:
    """Every colour scale's range of a Vega-Lite spec, layers and conditions included."""
    found = []
    if isinstance(spec, dict):
        colour = spec.get("encoding", {}).get("color")
        if isinstance(colour, dict):
            for part in (colour, colour.get("condition", {})):
                if isinstance(part, dict) and part.get("type") == "nominal":
                    found.append(part.get("scale", {}).get("range"))
        for value in spec.values():
            found += _colour_ranges(value)
    elif isinstance(spec, list):
        for value in spec:
            found += _colour_ranges(value)
    return found


def test_series_and_severities_are_told_apart_under_deuteranopia_and_protanopia():
    """Seen in an accessibility audit: the sentiment mix drew positive #2ca02c and negative
    #d62728, which deuteranopia sees 7 ΔE apart (one olive); the journey playback's failure
    and call were a red and a green circle; and series named only by colour (friction flags,
    journey types, linkage) took Streamlit's palette, whose red and teal-green meet under
    protanopia. Every series' colour is now set, from Okabe and Ito's palette."""
    from cx_assets.command_centre.charts import bars, donut, journey_playback

    days = pd.to_datetime(["2024-01-01", "2024-01-02"])
    series = pd.DataFrame(
        {"date": list(days) * 4, "n": range(8), "kind": [k for k in "abcd" for _ in days]}
    )
    timeline = pd.DataFrame(
        {
            "sequence": [1, 2, 3, 4],
            "event_at": pd.to_datetime(["2024-01-01 10:00"] * 4),
            "event_kind": ["journey_event", "journey_event", "call", "call"],
            "action": ["view", "error", None, None],
            "call_reason": [None, None, "billing", "other"],
            "is_leakage_call": [None, None, True, False],
        }
    )
    charts = {
        "sentiment": donut(
            pd.DataFrame({"s": ["positive", "neutral", "negative"], "n": [1, 2, 3]}),
            names="s", values="n", title="t",
        ),
        "other donut": donut(pd.DataFrame({"s": list("abcd"), "n": [1, 2, 3, 4]}),
                             names="s", values="n", title="t"),
        "lines": lines(series, x="date", y="n", colour="kind", title="t"),
        "stacked": stacked_area(series.pivot(index="date", columns="kind", values="n")
                                .reset_index(), x="date", ys={k: k for k in "abcd"}, title="t"),
        "bars": bars(series, x="kind", y="n", colour="kind", title="t"),
        "playback": journey_playback(timeline, 4, title="t"),
    }  # fmt: skip
    for name, chart in charts.items():
        ranges = _colour_ranges(chart.to_dict())
        assert ranges and all(ranges), (name, ranges)
        for colours, page in ((colours, page) for colours in ranges for page in PAGES):
            seen = [_on_page(colour, page) for colour in colours[:SERIES_TOLD_APART]]
            for i, first in enumerate(seen):
                for second in seen[i + 1 :]:
                    for vision in MACHADO:
                        apart = _seen_apart(first, second, vision)
                        assert apart >= DISTINCT, (name, page, first, second, vision, apart)


def test_every_series_colour_is_told_apart_on_either_page_as_the_palettes_own_were():
    """Each page's set of series colours, all eight: the white page's brown, deeper sky
    blue and olive (for Okabe and Ito's orange, sky blue and yellow, under 3:1 there) are
    `DISTINCT` or more from the rest to a manager with deuteranopia or protanopia, as the
    palette's own are. Darkening the three alone to 3:1 (#C38700, #4A9BC8, #9E962C) put
    that orange 5 ΔE from vermilion under deuteranopia: one colour."""
    from cx_assets.command_centre.charts import SERIES_COLOURS

    for page in PAGES:
        seen = [_on_page(colour, page) for colour in SERIES_COLOURS]
        assert len(set(seen)) == len(seen), (page, seen)
        close = [
            (page, first, second, vision, round(apart, 1))
            for i, first in enumerate(seen)
            for second in seen[i + 1 :]
            for vision in MACHADO
            if (apart := _seen_apart(first, second, vision)) < DISTINCT
        ]
        assert not close, close


def test_the_playback_tells_its_markers_apart_by_shape_as_well_as_colour():
    """Seen in an accessibility audit: a failure and a call were both circles, told apart
    only by red and green."""
    from cx_assets.command_centre.charts import PLAYBACK_COLOURS, PLAYBACK_SHAPES

    assert set(PLAYBACK_SHAPES) == set(PLAYBACK_COLOURS)
    assert len(set(PLAYBACK_SHAPES.values())) == len(PLAYBACK_SHAPES)


def test_every_chart_says_in_words_what_it_draws():
    """Seen in an accessibility audit, in Chromium's DOM: every chart's only name was Vega's
    default, aria-label "Vega visualization", so a screen reader read no title and no value.
    Vega names a chart by its spec's `description`, which now says the chart's title and
    its values, formatted as the chart writes them."""
    from cx_assets.command_centre.charts import (
        bars,
        donut,
        forecast_bands,
        journey_playback,
        weekday_hour_heatmap,
    )  # fmt: skip

    days = pd.to_datetime(["2024-01-01", "2024-01-02"])
    said = [
        (bars(pd.DataFrame({"agent": ["Ana", "Bo"], "usd": [1234.4, -400.0]}), x="agent",
             y="usd", title="Upsell", value_format="$,.0f"), ["Upsell", "Ana $1,234", "Bo -$400"]),
        (bars(pd.DataFrame({"p": ["high"], "r": [0.2925]}), x="p", y="r", title="SLA",
             value_format=".1%", horizontal=True), ["SLA", "high 29.2%"]),
        (lines(pd.DataFrame({"date": days, "rate": [0.25, 0.3]}), x="date", y="rate",
              title="Rate a day", y_format=".0%"), ["Rate a day", "2024-01-01 25.0%",
                                                    "2024-01-02 30.0%"]),
        (lines(pd.DataFrame({"date": list(days) * 2, "n": [1, 2, 3, 4], "f": list("aabb")}),
              x="date", y="n", colour="f", title="Flags"), ["Flags", "a: 2024-01-01 1; 2024-01-02 2 |",
                                                            "b: 2024-01-01 3"]),
        (stacked_area(pd.DataFrame({"date": days, "d": [0.6, 0.5]}), x="date",
                     ys={"d": "direct"}, title="Linkage", y_format=".0%"), ["Linkage", "direct: 2024-01-01 60.0%"]),
        (scatter(pd.DataFrame({"a": ["Ana"], "x": [0.25], "y": [70.5], "n": [3]}), x="x", y="y",
                size="n", label="a", title="Sc", x_format=".0%", y_format="$,.2f"), ["Sc", "Ana: x 25.0%, y $70.50, n 3"]),
        (donut(pd.DataFrame({"s": ["positive", "negative"], "n": [3, 1]}), names="s",
              values="n", title="Mix"), ["Mix", "positive 3 (75.0%)", "negative 1 (25.0%)"]),
        (weekday_hour_heatmap(pd.DataFrame({"day_of_week": [1], "hour": [9], "k": [7]}),
                             "k", title="Heat"), ["Heat", "7 in all", "Tue 9h 7"]),
        (forecast_bands(pd.DataFrame({"date": days[:1], "tickets": [5]}),
                       pd.DataFrame({"date": days[1:], "forecast": [6.0], "lo_80": [4.0],
                                     "hi_80": [8.0], "lo_95": [3.0], "hi_95": [9.0],
                                     "model": ["Naive"]}), title="Fc"),
         ["Fc", "a day: 2024-01-01 5. Forecast:",
          "2024-01-02 6.0 (80%: 4.0 to 8.0; 95%: 3.0 to 9.0)"]),
    ]  # fmt: skip
    for chart, words in said:
        description = chart.to_dict().get("description", "")
        for word in words:
            assert word in description, (word, description)
    timeline = pd.DataFrame(
        {
            "sequence": [1, 2], "event_at": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 10:05"]),
            "event_kind": ["journey_event", "call"], "action": ["error", None],
            "call_reason": [None, "billing"], "is_leakage_call": [None, True],
        }
    )  # fmt: skip
    description = journey_playback(timeline, 2, title="M1").to_dict()["description"]
    assert "1. 10:00:00 portal error (failure)" in description
    assert "2. 10:05:00 call billing (leakage call)" in description
    # Played to step 1, the words say that step alone, of the two (found by mutation testing:
    # the steps to come said too, or "step 1 of 1", passed every test).
    description = journey_playback(timeline, 1, title="M1").to_dict()["description"]
    assert description.endswith("Timeline, step 1 of 2 shown: 1. 10:00:00 portal error (failure)")
    # A column's name said in words (found by mutation testing: `leakage_calls` passed).
    calls = pd.DataFrame({"journey_type": ["billing"], "leakage_calls": [3]})
    description = bars(calls, x="journey_type", y="leakage_calls", title="t").to_dict()
    assert description["description"] == "t. Bar chart of leakage calls by journey type: billing 3"
    # A subtitle is said after its title (found by mutation testing: left out, it passed).
    forecast = said[-1][0].to_dict()["description"]
    assert forecast.startswith("Fc. solid: delivered · dashed: forecast · darker band: 80%")


def test_a_value_that_rounds_to_none_is_said_without_a_sign_as_the_chart_writes_it():
    """Found in a mutation audit: a bar of -$0.40 was said `-$0` in the chart's words, and a
    share of -0.04% `-0.0%`, where the bar's own label (d3's format hides the sign of a
    negative value that rounds to zero) and the cards (`money`) write `$0` and `0.0%`; a
    bar of $0 said `-$0` passed every test too. Worked by hand: $0, -$0.40 and -$0.60 to
    the dollar are `$0`, `$0` and `-$1`; 0, -0.0004 and 0.5 as shares `0.0%`, `0.0%`,
    `50.0%`."""
    from cx_assets.command_centre.charts import bars

    frame = pd.DataFrame({"agent": ["Ana", "Bo", "Cy"], "usd": [0.0, -0.4, -0.6]})
    money = bars(frame, x="agent", y="usd", title="t", value_format="$,.0f")
    assert money.to_dict()["description"].endswith(": Ana $0; Bo $0; Cy -$1")
    shares = bars(frame.assign(usd=[0.0, -0.0004, 0.5]), x="agent", y="usd", title="t",
                  value_format=".1%")  # fmt: skip
    assert shares.to_dict()["description"].endswith(": Ana 0.0%; Bo 0.0%; Cy 50.0%")


def test_bars_coloured_by_a_group_name_each_bars_group_in_words():
    """Seen in an accessibility audit: support's tickets handled (the 20 busiest) colours
    each agent's bar by team, and CRM's needy clients each company's by segment, but the
    chart's words for a screen reader and its tooltip named the agent and the count alone
    ("Carla Martin 5,791"): the team was told by colour only, and the legend by matching
    colours. Each bar's words and tooltip now name its group too."""
    from cx_assets.command_centre.charts import bars

    frame = pd.DataFrame({"agent": ["Ana", "Bo"], "n": [12, 7], "team": ["Payments", "Returns"]})
    spec = bars(frame, x="agent", y="n", colour="team", horizontal=True, title="Handled")
    spec = spec.to_dict()
    assert "Ana (Payments) 12; Bo (Returns) 7" in spec["description"], spec["description"]
    tooltips = [
        tip["field"] if isinstance(tip, dict) else tip
        for tip in spec["layer"][0]["encoding"]["tooltip"]
    ]
    assert "team" in tooltips, tooltips
    # Without a colour, a bar is its name and value, as before.
    plain = bars(frame, x="agent", y="n", title="Handled").to_dict()["description"]
    assert "Ana 12; Bo 7" in plain, plain


def test_a_count_a_day_reads_as_a_whole_number_in_its_tooltip():
    """Seen in an accessibility audit: hovering CRM's friction flags a day or leakage calls
    a day read `178.00` interactions, where the cards and tables write counts `178`."""
    frame = pd.DataFrame(
        {"date": pd.to_datetime(["2024-01-01", "2024-01-02"]), "n": [1178, 22], "u": [1.5, 2]}
    )
    counts = lines(frame, x="date", y="n", title="t").to_dict()
    assert counts["encoding"]["tooltip"][1]["format"] == ","
    money = lines(frame, x="date", y="u", title="t").to_dict()
    assert money["encoding"]["tooltip"][1]["format"] == ",.2f"


def _luminance(hex_colour: str) -> float:
    r, g, b = _linear(hex_colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(first: str, second: str) -> float:
    """WCAG 2.1's contrast ratio of two colours."""
    high, low = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _contrast_on_white(hex_colour: str) -> float:
    return _contrast(hex_colour, "#FFFFFF")


def test_every_colour_a_chart_tells_a_series_by_stands_out_from_the_white_and_the_dark_page():
    """Seen in an audit: the colours were chosen for the white page, and a browser set to
    dark gets Streamlit's dark page. Okabe and Ito's orange, sky blue and yellow were 2.3,
    2.3 and 1.3:1 on the white page, their black 1.1:1 on the dark one (a line of it
    vanished), and the sentiment mix's neutral grey #999999 2.8:1 on white: under WCAG's
    3:1 for the parts of a graphic a reader needs (1.4.11). Each page gets its own."""
    from cx_assets.command_centre.charts import (
        BAR_COLOUR,
        PLAYBACK_COLOURS,
        SENTIMENT_COLOURS,
        SERIES_COLOURS,
    )

    colours = [*SERIES_COLOURS, *SENTIMENT_COLOURS.values(), *PLAYBACK_COLOURS.values()]
    faint = [
        (colour, background, round(ratio, 2))
        for colour in [*colours, BAR_COLOUR]
        for page, backgrounds in PAGES.items()
        for background in backgrounds
        if (ratio := _contrast(_on_page(colour, page), background)) < 3
    ]
    assert not faint, faint


def test_a_charts_axis_and_legend_text_is_dark_enough_to_read():
    """Seen in an accessibility audit, in Chromium's DOM: every chart's axis labels, axis
    titles and legend took Streamlit's theme grey #808495, 3.7:1 on the white page, under
    WCAG's 4.5:1 for text of their size (12-14 px). Each chart now sets its own: the page's
    text colour (`currentColor`, so the dark theme's too, which the browser test measures)
    at an opacity; here the light theme's, Streamlit's #31333F, at that opacity on white."""
    from cx_assets.command_centre.charts import bars, donut

    frame = pd.DataFrame({"date": pd.to_datetime(["2024-01-01"]), "n": [1], "k": ["a"]})
    for chart in (
        bars(frame, x="k", y="n", title="t"),
        lines(frame, x="date", y="n", colour="k", title="t"),
        donut(frame, names="k", values="n", title="t"),
    ):
        config = chart.to_dict().get("config", {})
        for part in ("axis", "legend"):
            for key in ("label", "title"):
                assert config[part][f"{key}Color"] == "currentColor", config[part]
                opacity = config[part].get(f"{key}Opacity", 1)
                seen = "#" + "".join(
                    f"{round(int(text, 16) * opacity + 255 * (1 - opacity)):02x}"
                    for text in ("31", "33", "3f")
                )
                assert _contrast_on_white(seen) >= 4.5, (part, key, seen)


def test_a_long_chart_title_wraps_instead_of_being_cut():
    """Seen in an accessibility audit, the support page at 200% zoom of a 1280 px laptop
    (640 px wide): "SLA breaches vs CSAT (size: tickets; agents with a rated ticket)" was
    cut after "agents with", Vega titles do not wrap and the chart clips them. A title now
    goes on lines of a half-column's width, words whole."""
    from cx_assets.command_centre.charts import TITLE_LINE_CHARACTERS, forecast_bands

    title = "SLA breaches vs CSAT (size: tickets; agents with a rated ticket)"
    frame = pd.DataFrame({"a": ["Ana"], "x": [0.25], "y": [4.5], "n": [3]})
    shown = scatter(frame, x="x", y="y", size="n", label="a", title=title).to_dict()["title"]
    assert isinstance(shown["text"], list) and len(shown["text"]) >= 2, shown
    assert " ".join(shown["text"]) == title
    # As many words as fit: its first line exactly 36 characters (found by mutation testing:
    # lines of 46, or a line of exactly the width broken before its last word, passed).
    assert shown["text"] == ["SLA breaches vs CSAT (size: tickets;", "agents with a rated ticket)"]
    assert all(len(line) <= TITLE_LINE_CHARACTERS for line in shown["text"]), shown
    short = lines(pd.DataFrame({"d": pd.to_datetime(["2024-01-01"]), "n": [1]}), x="d", y="n",
                  title="Upsell revenue a day").to_dict()["title"]  # fmt: skip
    assert short["text"] == "Upsell revenue a day"
    day = pd.to_datetime(["2024-01-02"])
    ahead = pd.DataFrame({"date": day, "forecast": [1.0], "model": ["Naive"]}).assign(
        lo_80=0.0, hi_80=2.0, lo_95=0.0, hi_95=3.0
    )
    subtitle = forecast_bands(pd.DataFrame(), ahead, title="t").to_dict()["title"]["subtitle"]
    assert isinstance(subtitle, list) and len(subtitle) >= 2, subtitle


def test_series_over_days_are_told_apart_by_their_points_shapes_too():
    """Seen in an accessibility audit: CRM's friction flags a day and leakage's calls a day
    by journey type told their lines apart by colour alone; each series' points now have a
    shape of their own as well, named in the same legend."""
    frame = pd.DataFrame(
        {"date": pd.to_datetime(["2024-01-01"] * 3), "n": [1, 2, 3], "flag": list("abc")}
    )
    encoding = lines(frame, x="date", y="n", colour="flag", title="t").to_dict()["encoding"]
    assert encoding["shape"]["field"] == encoding["color"]["field"] == "flag"
    shapes = encoding["shape"]["scale"]["range"]
    assert len(set(shapes[:3])) == 3


def test_a_missing_name_reads_as_a_dash_in_a_charts_words():
    """A null category (a support priority, a member category) read `nan` in the chart's
    text alternative, where tables and cards write a missing value `—`; so does a missing
    value (found by mutation testing: `nan` for it passed every test)."""
    from cx_assets.command_centre.charts import bars

    frame = pd.DataFrame({"name": ["b", None, "c"], "n": [3, 2, None]})
    description = bars(frame, x="name", y="n", title="t").to_dict()["description"]
    assert description.endswith(": b 3; — 2; c —") and "nan" not in description


def test_the_forecasts_intervals_have_edges_that_stand_out_from_the_page():
    """Found in an accessibility audit: the forecast's 95% interval was a band of 15% of
    #4c78a8, 1.2:1 against the white page, and the 80% band 1.7:1, with no edge, under
    WCAG's 3:1 for a graphic a reader needs (1.4.11); each interval's bounds are now drawn
    as lines of a colour at 3:1 or more, the 95% dotted."""
    from cx_assets.command_centre.charts import forecast_bands

    days = pd.to_datetime(["2024-01-02", "2024-01-03"])
    ahead = pd.DataFrame(
        {"date": days, "forecast": [5.0, 6.0], "lo_80": [4.0, 4.0], "hi_80": [7.0, 8.0],
         "lo_95": [3.0, 3.0], "hi_95": [9.0, 9.0], "model": ["Naive", "Naive"]}
    )  # fmt: skip
    layers = forecast_bands(pd.DataFrame(), ahead, title="t").to_dict()["layer"]
    edges = {}
    for layer in layers:
        mark = layer["mark"] if isinstance(layer["mark"], dict) else {"type": layer["mark"]}
        field = layer.get("encoding", {}).get("y", {}).get("field")
        if mark["type"] == "line" and field in {"lo_80", "hi_80", "lo_95", "hi_95"}:
            edges[field] = mark
    assert set(edges) == {"lo_80", "hi_80", "lo_95", "hi_95"}, edges
    assert all(_contrast_on_white(mark["color"]) >= 3 for mark in edges.values())
    assert "strokeDash" in edges["lo_95"] and "strokeDash" not in edges["lo_80"]


def test_a_wrapped_title_keeps_a_legends_items_whole():
    """Seen in Chromium after titles wrapped: the forecast's subtitle broke its legend
    between "darker band: 80%" and "interval"; a title or subtitle of items between ` · `
    now breaks between items, each line ending with its `·`."""
    from cx_assets.command_centre.charts import forecast_bands

    day = pd.to_datetime(["2024-01-02"])
    ahead = pd.DataFrame({"date": day, "forecast": [1.0], "model": ["Naive"]}).assign(
        lo_80=0.0, hi_80=2.0, lo_95=0.0, hi_95=3.0
    )
    subtitle = forecast_bands(pd.DataFrame(), ahead, title="t").to_dict()["title"]["subtitle"]
    assert subtitle == [
        "solid: delivered · dashed: forecast ·",
        "darker band: 80% interval ·",
        "lighter band, dotted edges: 95% interval",
    ]


def test_a_year_of_days_draws_points_small_enough_to_leave_the_lines_seen():
    """Seen living through a year: leakage calls a day over 368 days drew 3 × 368 points of
    70 px² on a half-width chart (about 1.3 px a day), three thick ribbons hiding their lines
    and the year's curve; over more days than the default range, the points are small (still
    there for the tooltips), and 92 days (the default 90 and a little) keep theirs (found by
    mutation testing: 92 days drawn small passed when this test kept 90)."""
    year = pd.date_range("2024-01-01", "2025-01-02")
    several = pd.DataFrame(
        {"date": list(year) * 3, "n": range(3 * len(year)), "kind": ["a", "b", "c"] * len(year)}
    )
    one = pd.DataFrame({"date": year, "n": range(len(year))})
    for frame, colour in ((several, "kind"), (one, None)):
        mark = lines(frame, x="date", y="n", colour=colour, title="t").to_dict()["mark"]
        assert mark["point"]["size"] <= 12, mark
        quarter = frame[frame["date"] > year[-93]]
        assert quarter["date"].nunique() == 92
        mark = lines(quarter, x="date", y="n", colour=colour, title="t").to_dict()["mark"]
        assert mark["point"] is True or mark["point"]["size"] >= 30, mark


def test_a_years_axis_labels_days_it_shows_and_names_their_year():
    """Seen on a year's trends (2024-01-01 to 2025-01-02): ticked a day each and thinned by
    Vega, the labels fell every 64 days from "Dec 20", a day of the padding before the first
    one and of the year before it, and "Jan 01" could be either year. The labelled days are
    now the first one shown and every k-th after it, a handful, with their year where the
    range crosses one; within a year, `Jan 05` as before."""
    year = pd.DataFrame({"date": pd.date_range("2024-01-01", "2025-01-02"), "n": 1})
    for spec in (
        lines(year, x="date", y="n", title="t").to_dict(),
        stacked_area(year, x="date", ys={"n": "n"}, title="t").to_dict(),
    ):
        axis = spec["encoding"]["x"]["axis"]
        labelled = [pd.Timestamp(v["year"], v["month"], v["date"]) for v in axis["values"]]
        assert labelled[0] == pd.Timestamp("2024-01-01"), labelled
        assert labelled[-1] <= pd.Timestamp("2025-01-02") and len(labelled) <= 5, labelled
        assert "%Y" in axis["format"], axis
    quarter = year[year["date"].between("2024-10-05", "2024-12-31")]
    axis = lines(quarter, x="date", y="n", title="t").to_dict()["encoding"]["x"]["axis"]
    assert axis["format"] == "%b %d" and len(axis["values"]) <= 7, axis
    assert (axis["values"][0]["month"], axis["values"][0]["date"]) == (10, 5)


def test_a_heat_map_names_every_weekday():
    """Seen opening the CRM page in Chromium (a year and two weeks of days alike, and the
    benchmark's screenshot): the heat maps' rows read Mon, Wed, Fri and Sun only. Vega-Lite
    thins the labels of an ordinal axis that it judges to overlap, every other one, so a
    manager could not tell Tuesday's row from Wednesday's without hovering. Every weekday
    is now named (their rows are high enough: seen in Chromium)."""
    cells = pd.DataFrame({"day_of_week": range(7), "hour": [9] * 7, "friction": [1] * 7})
    spec = weekday_hour_heatmap(cells, "friction", title="t").to_dict()
    assert spec["encoding"]["y"]["sort"] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert spec["encoding"]["y"].get("axis", {}).get("labelOverlap") is False, spec["encoding"]["y"]


def test_a_heat_maps_legend_counts_in_whole_numbers():
    """Seen in the benchmark's screenshot of the CRM page after caa3e47: the heat map's
    legend read `0, 2e+2, 4e+2, 6e+2, 8e+2`. Vega formats a legend's values through d3's
    tickFormat, which gives a format without a type (`,`) the precision of the step, one
    significant digit for steps of 200 (`,.1` is `2e+2`); a `d` it leaves alone (`200`)."""
    cells = pd.DataFrame({"day_of_week": [0, 4], "hour": [9, 15], "friction": [10, 812]})
    legend = weekday_hour_heatmap(cells, "friction", title="t").to_dict()["encoding"]
    legend = legend["opacity"]["legend"]
    assert legend["format"] in {"d", ",d"}, legend


def test_a_heat_maps_cells_are_placed_by_weekday_and_hour_and_darker_the_busier():
    """Found by mutation testing: hour 23 dropped (Sunday 23h's 5 lost), either axis given
    the other's field, the opacity scale fixed at 0 to 1 (2 and 5 drawn alike) or turned
    round (the busiest hour faintest), and the words listing the quietest hour first each
    passed every command-centre test, as did a tooltip without the hour. Worked by hand on
    Monday 00h (2) and Sunday 23h (5):
    168 cells from Monday 00h to Sunday 23h, hours across and weekdays down, an opacity
    from 0.15 for none to 1 for 5, the busiest said first."""
    cells = pd.DataFrame({"day_of_week": [6, 0], "hour": [23, 0], "n": [5, 2]})
    spec = weekday_hour_heatmap(cells, "n", title="t").to_dict()
    rows = next(iter(spec["datasets"].values()))
    assert len(rows) == 7 * 24
    assert [(row["day"], row["hour"], row["count"]) for row in (rows[0], rows[1], rows[-1])] == [
        ("Mon", 0, 2),
        ("Mon", 1, 0),
        ("Sun", 23, 5),
    ]
    assert sum(row["count"] for row in rows) == 7
    encoding = spec["encoding"]
    assert (encoding["x"]["field"], encoding["y"]["field"]) == ("hour", "day")
    assert (encoding["x"]["type"], encoding["y"]["type"]) == ("ordinal", "ordinal")
    assert [tip["field"] for tip in encoding["tooltip"]] == ["day", "hour", "count"]
    assert encoding["opacity"]["scale"] == {"domain": [0, 5.0], "range": [0.15, 1.0]}
    assert spec["description"].endswith("7 in all, the busiest: Sun 23h 5; Mon 0h 2")


def test_horizontal_bars_write_their_values_in_the_values_format_on_a_step_each():
    """Found by mutation testing: a bar's label unformatted (`0.2925` for 29.2%) or its
    tooltip in `,.0f` (`0`) passed every command-centre test. SLA breach shares by priority
    (support's chart), worked by hand: names down the side in the frame's order, values
    across with the axis in its own format (`.0%`), each label and tooltip in the value
    format (`.1%`), a bar 22 px high whatever their number (the pages' tests saw those
    three, on a whole page each)."""
    from cx_assets.command_centre.charts import bars

    frame = pd.DataFrame({"priority": ["low", "high"], "share": [0.05, 0.2925]})
    spec = bars(
        frame, x="priority", y="share", title="SLA", horizontal=True, value_format=".1%",
        axis_format=".0%",
    ).to_dict()  # fmt: skip
    marks, text = spec["layer"]
    names, values = marks["encoding"]["y"], marks["encoding"]["x"]
    assert (names["field"], names["type"], names["sort"]) == (
        "priority",
        "nominal",
        ["low", "high"],
    )
    # The names down the side need no title beside them (found by mutation testing: titled
    # as a vertical chart's axis, they passed every test).
    assert names["title"] is None
    assert (values["field"], values["type"], values["axis"]["format"]) == (
        "share",
        "quantitative",
        ".0%",
    )
    assert text["encoding"]["text"] == {"field": "share", "format": ".1%", "type": "quantitative"}
    (tip,) = [tip for tip in marks["encoding"]["tooltip"] if tip["field"] == "share"]
    assert tip["format"] == ".1%"
    assert spec["height"] == {"step": 22}
    rows = next(iter(spec["datasets"].values()))
    assert [(row["priority"], row["share"]) for row in rows] == [("low", 0.05), ("high", 0.2925)]


def test_the_sentiment_mix_draws_negative_in_vermilion_and_positive_in_blue():
    """Found by mutation testing: the sentiment donut's colours swapped (positive in Okabe
    and Ito's vermilion, the playback's colour for a failure, negative in blue), or its
    scale's range turned round against its domain, passed every test: the colour-blindness
    test asks only that the three be told apart. Each sentiment keeps its colour whatever
    the rows' order; a mix with a name outside the three takes the series colours. (A
    mix of no calls with its zero guard dropped said `(—)` after each value, unseen.)"""
    from cx_assets.command_centre.charts import SERIES_COLOURS, donut

    frame = pd.DataFrame({"sentiment": ["negative", "positive", "neutral"], "calls": [5, 3, 1]})
    encoding = donut(frame, names="sentiment", values="calls", title="t").to_dict()["encoding"]
    # A slice's tooltip writes its count as cards do, `1,178` (found by mutation testing:
    # Vega's own format passed every test).
    assert [(tip["field"], tip.get("format")) for tip in encoding["tooltip"]] == [
        ("sentiment", None), ("calls", ","),
    ]  # fmt: skip
    scale = encoding["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"], strict=True)) == {
        "positive": "#0072B2",
        "neutral": "#8A8A8A",
        "negative": "#D55E00",
    }
    # A mix of no calls says no share (0 of 0 is none).
    zeros = donut(frame.assign(calls=0), names="sentiment", values="calls", title="t").to_dict()
    assert zeros["description"].endswith("negative 0; positive 0; neutral 0"), zeros["description"]
    other = frame.assign(sentiment=["negative", "positive", "mixed"])
    scale = donut(other, names="sentiment", values="calls", title="t").to_dict()["encoding"]
    assert scale["color"]["scale"] == {"range": SERIES_COLOURS}


def test_a_share_a_day_by_series_reads_as_a_share_and_names_its_series():
    """Found by mutation testing: a share's axis of whole values (0 and 1) ticked at whole
    numbers (`0%` and `100%` alone), a tooltip's day with its midnight time, a tooltip
    without the series (journey) it belongs to, and several series' points at Vega's
    default size (30 px², shapes hard to tell apart) each passed every command-centre test.
    A conversion rate a day for two journeys, worked by hand."""
    days = pd.to_datetime(["2024-01-01", "2024-01-02"])
    frame = pd.DataFrame(
        {"date": [*days, *days], "rate": [0.0, 1.0, 1.0, 0.0], "journey": list("aabb")}
    )
    spec = lines(frame, x="date", y="rate", colour="journey", title="t", y_format=".0%").to_dict()
    y = spec["encoding"]["y"]
    assert (y["field"], y["axis"], y["scale"]) == ("rate", {"format": ".0%"}, {"zero": True})
    assert [(tip["field"], tip.get("format")) for tip in spec["encoding"]["tooltip"]] == [
        ("date", "%Y-%m-%d"),
        ("rate", ".1%"),
        ("journey", None),
    ]
    assert spec["mark"]["point"]["size"] >= 60, spec["mark"]
    # A count's axis, though, ticks at whole numbers, held as floats too (a sum in DuckDB).
    counts = lines(frame.assign(n=[0.0, 1.0, 2.0, 1.0]), x="date", y="n", title="t").to_dict()
    assert counts["encoding"]["y"]["axis"] == {"format": "~s", "tickMinStep": 1}


def test_a_week_and_a_day_labels_at_most_seven_days():
    """Found by mutation testing: the labelled days' step counted from the days between the
    first and the last, not the days shown (8 days labelled a day each, over
    `MAX_DAY_LABELS`), or the axis without its padding (the first and last days' points
    and labels on the chart's edge), passed every test. Worked by hand: 8 days, a step of
    ceil(8 / 7) = 2, labels on the 1st, 3rd, 5th and 7th."""
    from cx_assets.command_centre.charts import DAY_EDGE_PIXELS

    frame = pd.DataFrame({"date": pd.date_range("2024-03-01", "2024-03-08"), "n": 1})
    x = lines(frame, x="date", y="n", title="t").to_dict()["encoding"]["x"]
    assert [value["date"] for value in x["axis"]["values"]] == [1, 3, 5, 7]
    assert x["scale"] == {"padding": DAY_EDGE_PIXELS}


def test_shares_stacked_over_days_read_as_shares_of_a_whole():
    """Found by mutation testing: CRM's linkage shares drawn unstacked (each area from 0,
    overlapping), or its axis in Vega's `~s` (`600m` for 60%), passed every test. Each
    day's areas stack to 100%, the axis in the chart's format, a tooltip names its series."""
    days = pd.to_datetime(["2024-01-01", "2024-01-02"])
    frame = pd.DataFrame({"date": days, "a": [0.6, 0.5], "b": [0.4, 0.5]})
    spec = stacked_area(
        frame, x="date", ys={"a": "direct", "b": "other"}, title="t", y_format=".0%"
    )
    encoding = spec.to_dict()["encoding"]
    assert (encoding["y"]["field"], encoding["y"]["stack"]) == ("value", True)
    assert encoding["y"]["axis"]["format"] == ".0%"
    assert [tip["field"] for tip in encoding["tooltip"]] == ["date", "series", "value"]


def test_a_scatter_draws_each_measure_on_its_own_axis_in_its_own_format():
    """Found by mutation testing: support's breaches against CSAT drawn with CSAT across
    (x given the y field), its CSAT axis titled with x's name, or its share axis in Vega's
    `~s` (`100m`), passed every test, which read the scatter's names and scales only. Each
    axis draws its own field, titled and formatted as asked; a tooltip gives the size."""
    frame = pd.DataFrame(
        {"agent": ["Ana", "Bo"], "breach": [0.1, 0.3], "csat": [4.5, 3.0], "n": [3, 5]}
    )
    spec = scatter(
        frame, x="breach", y="csat", size="n", label="agent", title="t", x_format="~%",
        y_format=".2f", labels={"breach": "breach share", "csat": "mean CSAT"},
    ).to_dict()  # fmt: skip
    for layer in spec["layer"]:
        x, y = layer["encoding"]["x"], layer["encoding"]["y"]
        assert (x["field"], x["title"], x["axis"]) == ("breach", "breach share", {"format": "~%"})
        assert (y["field"], y["title"], y["axis"]) == ("csat", "mean CSAT", {"format": ".2f"})
    assert [tip["field"] for tip in spec["layer"][0]["encoding"]["tooltip"]] == [
        "agent",
        "breach",
        "csat",
        "n",
    ]


def test_a_series_with_no_day_yet_is_ticked_by_day():
    """Found by mutation testing: `_day_ticks`' guard for a series without days losing its
    empty case (the chart then raised AttributeError on `NaT`) passed every test. A series
    with no row, or only missing days, is still a chart, its axis ticked at days."""
    from cx_assets.command_centre.charts import DAY_TICKS

    for days in ([], [None]):
        frame = pd.DataFrame({"date": pd.to_datetime(days), "n": [0] * len(days)})
        axis = lines(frame, x="date", y="n", title="t").to_dict()["encoding"]["x"]["axis"]
        assert axis == {"format": "%b %d", "tickCount": DAY_TICKS}, axis


def test_a_charts_words_say_how_many_values_they_leave_out():
    """Found by mutation testing: a text alternative of exactly `SAID_AT_MOST` values ending
    "; and 0 more", or one saying a value fewer, passed every test. 24 values are said
    whole; of 25, the 24 first and "and 1 more"."""
    from cx_assets.command_centre.charts import SAID_AT_MOST, bars

    names = [f"n{i}" for i in range(SAID_AT_MOST + 1)]
    frame = pd.DataFrame({"name": names, "v": range(SAID_AT_MOST + 1)})
    whole = bars(frame.iloc[:SAID_AT_MOST], x="name", y="v", title="t").to_dict()["description"]
    assert whole.endswith("; n23 23"), whole
    cut = bars(frame, x="name", y="v", title="t").to_dict()["description"]
    assert cut.endswith("; n23 23; and 1 more"), cut


def test_the_playback_runs_its_steps_in_order_and_greys_those_after_the_one_played_to():
    """Found by mutation testing: the steps left to Vega's order (as text: "10." and "11."
    before "2."), an abandoned journey not a failure, the greying turned round (the steps
    played grey, those to come coloured) and the lanes swapped each passed every test.
    A member's day of eleven steps played to step 2, worked by hand: steps 1 to 11 across,
    portal events on the top lane and calls below, an abandon a failure as an error is,
    steps 1 and 2 in their marker's colour and 3 to 11 greyed."""
    from cx_assets.command_centre.charts import NOT_YET_PLAYED, journey_playback

    timeline = pd.DataFrame(
        {
            "sequence": range(1, 12),
            "event_at": pd.date_range("2024-01-01 10:00", periods=11, freq="min"),
            "event_kind": ["journey_event"] * 10 + ["call"],
            "action": ["login", "abandon", *["view"] * 8, None],
            "call_reason": [None] * 10 + ["billing"],
            "is_leakage_call": [None] * 10 + [False],
        }
    )
    spec = journey_playback(timeline, 2, title="t").to_dict()
    encoding = spec["layer"][0]["encoding"]
    steps = [f"{n}. 10:{n - 1:02d}:00" for n in range(1, 12)]
    assert encoding["x"]["sort"] == steps
    assert encoding["y"]["sort"] == ["portal", "call"]
    assert (encoding["color"]["condition"]["test"], encoding["color"]["value"]) == (
        "datum.shown",
        NOT_YET_PLAYED,
    )
    rows = next(iter(spec["datasets"].values()))
    assert [row["step"] for row in rows] == steps
    assert [row["shown"] for row in rows] == [True, True] + [False] * 9
    assert [row["marker"] for row in rows[:3]] == ["event", "failure", "event"]
    assert (rows[-1]["lane"], rows[-1]["marker"]) == ("call", "call")


def test_the_forecasts_80_percent_band_is_darker_than_its_95_percent_band():
    """Found by mutation testing: its subtitle says "solid: delivered · dashed: forecast ·
    darker band: 80% interval · lighter band: 95% interval", and a 95% band as dark as the
    80% one, the forecast drawn solid or through `hi_80`, and an axis labelling the
    forecast's days alone each passed every test. Worked on one delivered day and two
    forecast days: the axis labels all three."""
    from cx_assets.command_centre.charts import forecast_bands

    days = pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"])
    history = pd.DataFrame({"date": days[:1], "tickets": [5]})
    ahead = pd.DataFrame(
        {"date": days[1:], "forecast": [6.0, 7.0], "lo_80": [4.0, 5.0], "hi_80": [8.0, 9.0],
         "lo_95": [3.0, 4.0], "hi_95": [9.0, 10.0], "model": ["Naive", "Naive"]}
    )  # fmt: skip
    layers = forecast_bands(history, ahead, title="t").to_dict()["layer"]
    marks = [
        (layer["mark"]["type"], layer["encoding"]["y"]["field"], layer["mark"]) for layer in layers
    ]
    bands = {field: mark["opacity"] for kind, field, mark in marks if kind == "area"}
    assert set(bands) == {"lo_95", "lo_80"} and bands["lo_80"] > bands["lo_95"], bands
    lines_drawn = {field: mark for kind, field, mark in marks if kind == "line"}
    assert "strokeDash" in lines_drawn["forecast"], lines_drawn
    assert "strokeDash" not in lines_drawn["tickets"], lines_drawn
    # The 95% band's tooltip gives both its bounds (found by mutation testing: its lower
    # bound twice passed every test).
    (band_95,) = [layer for layer in layers if layer["encoding"]["y"]["field"] == "lo_95"
                  and layer["mark"]["type"] == "area"]  # fmt: skip
    assert [tip["field"] for tip in band_95["encoding"]["tooltip"]] == ["date", "lo_95", "hi_95"]
    forecast_tips = [layer for layer in layers if layer["encoding"]["y"]["field"] == "forecast"]
    assert [tip["field"] for tip in forecast_tips[0]["encoding"]["tooltip"]] == [
        "date",
        "forecast",
        "model",
    ]
    for layer in layers:
        assert [value["date"] for value in layer["encoding"]["x"]["axis"]["values"]] == [1, 2, 3]


def test_every_chart_is_drawn_as_svg_whatever_its_number_of_marks():
    """Found by mutation testing: the charts' `usermeta` asking Vega for SVG dropped passed
    every test but a browser's of a team of hundreds. Past 2,000 marks Streamlit has Vega
    draw on a canvas, where `light-dark()` is refused and `currentColor` is black: on the
    dark page, names, axes and legends black on near-black."""
    from cx_assets.command_centre.charts import ALWAYS_SVG, bars, donut

    days = pd.to_datetime(["2024-01-01", "2024-01-02"])
    frame = pd.DataFrame({"date": days, "n": [1, 2], "k": ["a", "b"], "x": [0.1, 0.2]})
    for chart in (
        bars(frame, x="k", y="n", title="t"),
        lines(frame, x="date", y="n", title="t"),
        stacked_area(frame, x="date", ys={"n": "n"}, title="t"),
        scatter(frame, x="x", y="n", size="n", label="k", title="t"),
        donut(frame, names="k", values="n", title="t"),
        weekday_hour_heatmap(
            pd.DataFrame({"day_of_week": [0], "hour": [1], "n": [1]}), "n", title="t"
        ),
    ):
        assert chart.to_dict()["usermeta"] == ALWAYS_SVG == {"embedOptions": {"renderer": "svg"}}


def test_a_donuts_slices_and_stacked_areas_are_edged_in_the_pages_colour():
    """Found by mutation testing: the donut's slices drawn without their edge passed every
    test. Its blue, grey and vermilion are 1.1 to 1.5:1 against each other, told apart by
    hue alone where they touch; an edge of the page's colour, against which each is 3:1 or
    more, parts them (WCAG 1.4.11), as it parts stacked areas."""
    from cx_assets.command_centre.charts import PAGE_COLOUR, donut

    frame = pd.DataFrame(
        {"date": pd.to_datetime(["2024-01-01"] * 2), "s": ["positive", "negative"], "n": [3, 1]}
    )
    for chart in (
        donut(frame, names="s", values="n", title="t"),
        stacked_area(frame, x="date", ys={"n": "n"}, title="t"),
    ):
        mark = chart.to_dict()["mark"]
        assert mark["stroke"] == PAGE_COLOUR and mark["strokeWidth"] >= 1, mark
