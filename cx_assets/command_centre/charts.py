"""Altair (Vega-Lite) charts of the command centre: frame in, chart out, no Streamlit (tests
build them directly). One look for every page: titles on the chart, tooltips for detail.

Altair rather than Plotly: a browser loads Vega-Lite's JavaScript in about half the time of
Plotly's, which is what a manager's first page with a chart waits for (see benchmarks.md)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from cx_assets.command_centre.point_names import (
    LABEL_FONT_PIXELS,
    LABEL_OFFSET_PIXELS,
    POINT_AREA_PIXELS,
    SCALE_PADDING_PIXELS,
    labelled_points,
)

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
# Colours a manager with deuteranopia or protanopia tells apart: Okabe and Ito's palette
# ("Color Universal Design", 2008). Red against green, as the sentiment mix had, reads as one
# olive to them; Streamlit's own palette, which took any series without colours of its own,
# has a red and a teal-green that protanopia sees alike. Every series is named in its legend.
# Each of Streamlit's pages (a browser set to dark gets the dark one) has its own set, every
# colour 3:1 or more against it (WCAG's floor for a graphic): the palette's orange, sky blue
# and yellow are 2.3, 2.3 and 1.3:1 on the white page, its black 1.2:1 on the dark one.
# The white page's brown, deeper sky blue and olive for them stay as far from the rest, to
# those managers, as the palette's colours from each other (a darker orange alone read as its
# vermilion); the dark page's white is its black.
SERIES_COLOURS_ON_WHITE = ["#0072B2", "#8C4B00", "#009E73", "#CC79A7", "#239BE6", "#D55E00",
                           "#000000", "#706C48"]  # fmt: skip
SERIES_COLOURS_ON_DARK = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00",
                          "#FFFFFF", "#F0E442"]  # fmt: skip


def _on_either_page(on_white: str, on_dark: str) -> str:
    """A colour for both pages. Vega writes it into the SVG as it is, and the browser takes
    `light-dark()`'s first colour or its second by the colour scheme Streamlit sets on its
    app (light or dark), as it takes `currentColor` from the page (`TEXT` below)."""
    return on_white if on_white == on_dark else f"light-dark({on_white}, {on_dark})"


SERIES_COLOURS = [
    _on_either_page(white, dark)
    for white, dark in zip(SERIES_COLOURS_ON_WHITE, SERIES_COLOURS_ON_DARK, strict=True)
]
SERIES_SHAPES = ["circle", "square", "triangle-up", "diamond", "cross", "triangle-down"]
# Neutral's grey is 3.4:1 on the white page and 5.2:1 on the dark one (#999999 was 2.8:1 on
# white).
SENTIMENT_COLOURS = {"positive": "#0072B2", "neutral": "#8A8A8A", "negative": "#D55E00"}
PLAYBACK_COLOURS = {
    "event": SERIES_COLOURS[0], "failure": SERIES_COLOURS[5], "leakage call": SERIES_COLOURS[1],
    "call": SERIES_COLOURS[2],
}  # fmt: skip
# The steps after the one played to, as quiet on either page (1.4:1 on white, 1.6:1 on dark):
# #dddddd alone was 13:1 on the dark page, the steps to come glaring beside those played.
NOT_YET_PLAYED = _on_either_page("#dddddd", "#3A3A3A")
# Each marker of the playback has a shape of its own too, so none is told by colour alone.
PLAYBACK_SHAPES = {"event": "circle", "failure": "cross", "leakage call": "diamond",
                   "call": "square"}  # fmt: skip
BAR_COLOUR = "#4c78a8"


# Drawn as SVG at any size: past 2,000 marks (a scatter of 667 agents, bars of 1,000)
# Streamlit has Vega draw on a canvas, where CSS `light-dark()` is refused and
# `currentColor` is black: on the dark page, names, axes and legend were black on
# near-black. SVG of a few thousand marks loads as fast (a page of 800 agents, timed).
ALWAYS_SVG = {"embedOptions": {"renderer": "svg"}}


def _titled(
    chart: alt.TopLevelMixin,
    title: str,
    height: int | alt.Step,
    subtitle: str | None = None,
    *,
    said: str,
) -> alt.TopLevelMixin:
    """A chart with its title and `said`, its values in words: Vega names the chart by its
    spec's `description` (the `aria-label` a screen reader reads), else by "Vega
    visualization"."""
    params = {"subtitle": _wrapped(subtitle, SUBTITLE_LINE_CHARACTERS)} if subtitle else {}
    description = ". ".join(part for part in (title, subtitle, said) if part)
    return (
        chart.properties(
            title=alt.TitleParams(
                _wrapped(title, TITLE_LINE_CHARACTERS), anchor="start", fontSize=15, **params
            ),
            height=height,
            description=description,
            usermeta=ALWAYS_SVG,
        )
        .configure_axis(**QUIET_AXIS)
        .configure_legend(**QUIET_AXIS)
        .configure_title(subtitleColor=TEXT)
        .configure_text(color=TEXT)
    )


# Vega does not wrap a title, and a chart clips what passes its edge: a half-column chart
# at 200% zoom of a 1280 px laptop is about 290 px wide, some 38 characters of a 15 px title
# ("SLA breaches vs CSAT (size: tickets; agents with a rated ticket)" lost its end).
TITLE_LINE_CHARACTERS = 36
SUBTITLE_LINE_CHARACTERS = 60


def _wrapped(text: str, width: int) -> str | list[str]:
    """`text` on lines of `width` characters at most, words whole, a legend's items (parts
    between ` · `) whole where they fit (a list of lines, which Vega draws one under the
    other), or as it is when it fits on one."""
    if len(text) <= width:
        return text
    separator = " · " if " · " in text else " "
    lines: list[str] = []
    for part in text.split(separator):
        if lines and len(lines[-1]) + len(separator) + len(part) <= width:
            lines[-1] += separator + part
            continue
        if lines and separator != " ":
            lines[-1] += separator.rstrip()  # the line ends with its ` ·`, as written
        wrapped = _wrapped(part, width) if separator != " " else part
        lines += wrapped if isinstance(wrapped, list) else [wrapped]
    return lines


# Text a chart draws itself (values on bars, a scatter's names, subtitles, axes and legends)
# and the delivered tickets' line are in the page's own text colour, whichever theme the
# browser asked for: a colour of their own was for the white page alone, and Streamlit's
# dark theme (a browser set to dark) drew values and names black on near-black (1.1:1),
# the axes' grey #62667A at 3.3:1 and the delivered line #222222 at 1.2:1. Vega writes the
# colour into the SVG, where `currentColor` is the page's text colour.
TEXT = "currentColor"
# The page's own background, Streamlit's white or dark one: an edge between slices of a donut
# and between stacked areas, which touched, told apart by hue alone (blue, grey and vermilion
# 1.1 to 1.5:1 against each other). Every series colour is 3:1 or more against the page, so
# against the edge too, as WCAG asks of parts of a graphic next to each other (1.4.11).
PAGE_COLOUR = _on_either_page("#FFFFFF", "#171614")
# Axis and legend text a shade quieter: the text colour at 75% is 6:1 on the white page, as
# grey as #62667A was (Streamlit's theme grey, #808495, is 3.7:1, under WCAG's 4.5:1 for
# text of 12-14 px), and 9:1 on the dark theme's.
QUIET_AXIS = {"labelColor": TEXT, "titleColor": TEXT, "labelOpacity": 0.75, "titleOpacity": 0.75}


# A chart's text alternative lists this many of its values at most, then says how many more.
SAID_AT_MOST = 24


def _spoken(value: object, d3_format: str | None) -> str:
    """`value` written as a chart's d3 format writes it (`$,.0f` → `$1,234`, `-$400`; `.0%`
    with one decimal, as the cards write shares)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "—"
    if isinstance(value, str):
        return value
    spec = (d3_format or ",.2f").replace("~", "")
    money = spec.startswith("$")
    spec = spec.lstrip("$")
    if spec.endswith("%"):
        spec = ".1%"
    elif spec.endswith("s") or spec == "g":
        spec = ",.4g"
    number = float(value)
    if spec.endswith("d") or (spec == "," and number % 1 == 0):
        number = int(number)
    text = format(abs(number) if money else number, spec)
    if not any(digit in text for digit in "123456789"):
        # A value that rounds to none has no sign, as d3 writes the chart's own labels (and
        # `money` the cards): `$0` and `0.0%`, not `-$0` and `-0.0%`.
        return ("$" if money else "") + text.lstrip("-")
    return ("-" if money and number < 0 else "") + ("$" if money else "") + text


def _named(name: object) -> str:
    """A category's name in a chart's words, `—` when missing, as tables write it."""
    return "—" if name is None or (not isinstance(name, str) and pd.isna(name)) else str(name)


def _listed(items: list[str]) -> str:
    shown = "; ".join(items[:SAID_AT_MOST])
    more = len(items) - SAID_AT_MOST
    return shown + (f"; and {more} more" if more > 0 else "")


def _day_text(day: object) -> str:
    return f"{pd.Timestamp(day):%Y-%m-%d}" if pd.notna(day) else "—"


def _series_said(frame: pd.DataFrame, x: str, y: str, d3_format: str | None) -> str:
    return _listed(
        [
            f"{_day_text(day)} {_spoken(v, d3_format)}"
            for day, v in zip(frame[x], frame[y], strict=True)
        ]
    )


# The ticks of a series with no day yet: at days only (Vega's time ticks take an interval;
# a `tickMinStep` is for numbers and was ignored), each labelled as a day.
DAY_TICKS = {"interval": "day", "step": 1}
DAY_LABEL = "%b %d"
DAY_EDGE_PIXELS = 12
# At most this many labelled days on a series' axis (a half-width chart is about 460 px);
# fewer where each label names its year (a range over the turn of a year).
MAX_DAY_LABELS = 7
MAX_DAY_LABELS_WITH_YEAR = 5
DAY_LABEL_WITH_YEAR = "%b %d %Y"
# A series over more days than this (a quarter: the default range of 90 days and a little)
# draws its points SMALL_POINT px² (Vega's default is 30, several series' 70).
FULL_POINTS_DAYS = 92
SMALL_POINT = 10


def _days(column: str, days: pd.Series | None = None) -> alt.X:
    """The x axis of a series over `days`: ticks at days only, labelled `Jan 05`. Left to
    itself, Vega-Lite put "12 PM" ticks between the days of a chart of a few days, as if
    there were data there, and labelled the first of January "2024". Padded a few pixels
    each side, so the first and last day's points and labels do not sit on the chart's edge.
    The labelled days are the first one shown and every k-th after it, at most
    `MAX_DAY_LABELS`: ticked a day each and thinned by Vega, a year's labels fell on days of
    the padding, before the first day and of the year before it ("Dec 20" for a series from
    2024-01-01), and a range over the turn of a year names each day's year."""
    ticks = _day_ticks(days)
    if ticks is None:
        axis = alt.Axis(tickCount=DAY_TICKS, format=DAY_LABEL)
    else:
        values, label = ticks
        axis = alt.Axis(values=values, format=label)
    return alt.X(f"{column}:T", title=None, axis=axis, scale=alt.Scale(padding=DAY_EDGE_PIXELS))


def _day_ticks(days: pd.Series | None) -> tuple[list[alt.DateTime], str] | None:
    """The days `_days` labels and their format, or None without days."""
    if days is None or days.dropna().empty:
        return None
    shown = pd.to_datetime(days.dropna())
    first, last = shown.min().normalize(), shown.max().normalize()
    one_year = first.year == last.year
    most = MAX_DAY_LABELS if one_year else MAX_DAY_LABELS_WITH_YEAR
    step = -(-((last - first).days + 1) // most)
    labelled = pd.date_range(first, last, freq=f"{step}D")
    values = [alt.DateTime(year=d.year, month=d.month, date=d.day) for d in labelled]
    return values, DAY_LABEL if one_year else DAY_LABEL_WITH_YEAR


def _day(column: str) -> alt.Tooltip:
    """A day in a tooltip, without the midnight time Vega-Lite adds to a date."""
    return alt.Tooltip(f"{column}:T", format="%Y-%m-%d", title=column.replace("_", " "))


def _tooltip_format(axis_format: str | None, otherwise: str) -> str:
    """A tooltip's format for values on an axis of `axis_format`: a share with one decimal,
    as the pages' cards write it (an axis of `.0%` or `~%` gave `29%` or `29.2517%`), else
    the axis' own format, else `otherwise`."""
    if axis_format and axis_format.endswith("%"):
        return ".1%"
    return axis_format or otherwise


def _whole_steps(values: pd.Series, axis_format: str) -> dict:
    """Axis options for counts (whole numbers, not shown as a percentage): ticks a whole
    number apart. Left to itself, an axis of counts up to 2 ticked at halves (`0 0.5 1 1.5
    2`), or, formatted without decimals, repeated its labels (`0 0 0 1 1 1`)."""
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    whole = pd.api.types.is_integer_dtype(values) or (
        len(numbers) > 0 and bool((numbers % 1 == 0).all())
    )
    return {"tickMinStep": 1} if whole and not axis_format.endswith("%") else {}


def _from_zero(values: pd.Series) -> alt.Scale:
    """A value axis from 0 that spans at least 0 to 1: a series of zeros alone had the
    domain [0, 0], and its only tick read `NaN`."""
    top = pd.to_numeric(values, errors="coerce").max()
    return alt.Scale(zero=True) if pd.notna(top) and top > 0 else alt.Scale(domain=[0, 1])


def _label(labels: dict[str, str] | None, column: str) -> str:
    return (labels or {}).get(column, column.replace("_", " "))


# A heat map's cells are one colour for each page, a cell as opaque as its count is high, so
# the busiest hours stand out most from either page (7.9:1 on white, 10:1 on dark) and an
# empty one least (1.3:1). Vega's scale of blues, pale for none to dark for the busiest,
# drew the dark page's busiest hours at 2.1:1 against it and its empty ones at 13.5:1.
HEAT_COLOUR = _on_either_page("#08519C", "#9ECAE1")
HEAT_OPACITY = [0.15, 1.0]


def weekday_hour_heatmap(cells: pd.DataFrame, value: str, *, title: str) -> alt.Chart:
    """`cells` with `day_of_week` (0 = Monday), `hour` and `value`; missing slots are 0."""
    grid = (
        cells.pivot_table(index="day_of_week", columns="hour", values=value, aggfunc="sum")
        .reindex(index=range(7), columns=range(24))
        .fillna(0)
        .stack()
        .rename("count")
        .reset_index()
    )
    grid["day"] = [WEEKDAYS[int(day)] for day in grid["day_of_week"]]
    chart = (
        alt.Chart(grid)
        .mark_rect(color=HEAT_COLOUR)
        .encode(
            x=alt.X("hour:O", title="hour"),
            # Every weekday named: Vega-Lite thinned an ordinal axis it judged crowded to
            # every other label, and the rows read Mon, Wed, Fri, Sun (they fit all seven).
            y=alt.Y("day:O", sort=WEEKDAYS, title=None, axis=alt.Axis(labelOverlap=False)),
            # From 0, to at least 1: a grid of zeros had the domain [0, 0], one mid-blue
            # colour everywhere and the legend `0.000000`.
            opacity=alt.Opacity(
                "count:Q",
                scale=alt.Scale(
                    domain=[0, max(1.0, float(grid["count"].max()))], range=HEAT_OPACITY
                ),
                # `d`: d3 gives a format without a type the step's precision, and a legend
                # of steps of 200 read `2e+2`.
                legend=alt.Legend(tickMinStep=1, format=",d"),
                title=None,
            ),
            tooltip=["day", "hour", alt.Tooltip("count:Q", format=",")],
        )
    )
    busiest = grid[grid["count"] > 0].sort_values("count", ascending=False, kind="stable")
    said = f"Heat map of weekdays by hour: {_spoken(grid['count'].sum(), ',')} in all" + (
        ", the busiest: "
        + _listed([f"{d} {h}h {_spoken(n, ',')}" for d, h, n in
                   busiest[["day", "hour", "count"]].head(5).itertuples(index=False)])
        if len(busiest) else ""
    )  # fmt: skip
    return _titled(chart, title, 260, said=said)


def bars(
    frame: pd.DataFrame,
    *,
    x: str,
    y: str,
    title: str,
    colour: str | None = None,
    horizontal: bool = False,
    value_format: str = ",.0f",
    axis_format: str | None = None,
    labels: dict[str, str] | None = None,
    height: int = 320,
) -> alt.LayerChart:
    """One bar per row of `frame`, in the frame's order, labelled with its value (`height`
    applies to vertical bars; horizontal ones take a step per bar)."""
    category = (alt.Y if horizontal else alt.X)(
        f"{x}:N",
        # A missing name (none in gold's contract) goes last: Altair refused a sort with it.
        sort=[name for name in frame[x] if pd.notna(name)],
        title=None if horizontal else _label(labels, x),
        # A horizontal bar's name is never cut (0: no limit): root causes differing only in
        # their device read as one ("pharmacy · FORMULARY_LOOKUP_FAILED · m…" twice).
        axis=alt.Axis(labelOverlap=False, labelLimit=0 if horizontal else 140, labelAngle=0),
    )
    value = (alt.X if horizontal else alt.Y)(
        f"{y}:Q",
        title=_label(labels, y),
        axis=alt.Axis(
            format=axis_format or value_format,
            **_whole_steps(frame[y], axis_format or value_format),
        ),
    )
    # A bar coloured by its group (an agent's team) names it in its tooltip and in words
    # too: the colour alone told it, to a screen reader not at all.
    grouped = [colour] if colour else []
    base = alt.Chart(frame).encode(
        category, value, tooltip=[x, *grouped, alt.Tooltip(f"{y}:Q", format=value_format)]
    )
    marks = base.mark_bar(color=BAR_COLOUR)
    if colour:
        marks = base.mark_bar().encode(
            color=alt.Color(f"{colour}:N", scale=alt.Scale(range=SERIES_COLOURS), title=None)
        )
    text = base.mark_text(
        align="left" if horizontal else "center",
        baseline="middle" if horizontal else "bottom",
        dx=3 if horizontal else 0,
        dy=0 if horizontal else -3,
        fontSize=11,
    ).encode(text=alt.Text(f"{y}:Q", format=value_format))
    said = f"Bar chart of {_label(labels, y)} by {_label(labels, x)}: " + _listed(
        [
            f"{_named(name)}{f' ({_named(group)})' if colour else ''} {_spoken(v, value_format)}"
            for name, group, v in zip(
                frame[x], frame[colour] if colour else frame[x], frame[y], strict=True
            )
        ]
    )
    # A horizontal chart grows with its bars (a step each), so every name stays readable.
    return _titled(alt.layer(marks, text), title, alt.Step(22) if horizontal else height, said=said)


def lines(
    frame: pd.DataFrame,
    *,
    x: str,
    y: str,
    title: str,
    colour: str | None = None,
    y_format: str | None = None,
    labels: dict[str, str] | None = None,
) -> alt.Chart:
    """A series over days (`x` a date), one line per `colour` value. A count's tooltip
    writes it whole (`1,178`), as cards and tables do."""
    number_format = _tooltip_format(y_format, "," if _whole_steps(frame[y], "") else ",.2f")
    encoding = {
        "x": _days(x, frame[x]),
        "y": alt.Y(
            f"{y}:Q",
            title=_label(labels, y),
            axis=alt.Axis(format=y_format or "~s", **_whole_steps(frame[y], y_format or "")),
            scale=_from_zero(frame[y]),
        ),
        "tooltip": [_day(x), alt.Tooltip(f"{y}:Q", format=number_format)],
    }
    if colour:
        encoding["color"] = alt.Color(
            f"{colour}:N", scale=alt.Scale(range=SERIES_COLOURS), title=None
        )
        # The points' shapes tell the series apart too (one legend with the colours).
        encoding["shape"] = alt.Shape(
            f"{colour}:N", scale=alt.Scale(range=SERIES_SHAPES), title=None
        )
        encoding["tooltip"].append(colour)
    if colour:
        said = " | ".join(
            f"{name}: " + _series_said(group, x, y, number_format)
            for name, group in frame.groupby(colour, sort=False)
        )
    else:
        said = _series_said(frame, x, y, number_format)
    said = f"Line chart of {_label(labels, y)} a day: {said}"
    # Points large enough for their shapes to be told apart where there are several series;
    # over more than a quarter of days (a year: about a pixel a day) points that size
    # overlap into ribbons hiding the lines, so they are small, left for the tooltips.
    if frame[x].nunique() > FULL_POINTS_DAYS:
        point: alt.OverlayMarkDef | bool = alt.OverlayMarkDef(filled=True, size=SMALL_POINT)
    else:
        point = alt.OverlayMarkDef(filled=True, size=70) if colour else True
    chart = alt.Chart(frame).mark_line(point=point).encode(**encoding)
    return _titled(chart, title, 300, said=said)


def stacked_area(
    frame: pd.DataFrame,
    *,
    x: str,
    ys: dict[str, str],
    title: str,
    y_format: str | None = None,
) -> alt.Chart:
    """Series `ys` (column: the name the legend and tooltips give it) stacked over days, the
    first on top, as the legend lists them (Vega-Lite stacked them in an order of its own)."""
    named = frame.rename(columns=ys)
    series = list(ys.values())
    chart = (
        alt.Chart(named)
        .transform_fold(series, as_=["series", "value"])
        .transform_calculate(stacked_below=f"-indexof({series!r}, datum.series)")
        .mark_area(stroke=PAGE_COLOUR, strokeWidth=1)
        .encode(
            x=_days(x, named[x]),
            y=alt.Y(
                "value:Q",
                stack=True,
                title=None,
                axis=alt.Axis(
                    format=y_format or "~s",
                    **_whole_steps(named[series].stack(), y_format or ""),
                ),
            ),
            color=alt.Color(
                "series:N", sort=series, scale=alt.Scale(range=SERIES_COLOURS), title=None
            ),
            order=alt.Order("stacked_below:Q"),
            tooltip=[
                _day(x),
                "series:N",
                alt.Tooltip("value:Q", format=_tooltip_format(y_format, ",.3f")),
            ],
        )
    )
    said = "Stacked areas over days: " + " | ".join(
        f"{name}: " + _series_said(named, x, name, _tooltip_format(y_format, ",.3f"))
        for name in series
    )
    return _titled(chart, title, 300, said=said)


# A scatter writes its points' names on layers of their own, above or below each point
# (`point_names.py` decides which, and draws the plot to its sizes).
SCATTER_HEIGHT = 320
NAME_ABOVE, NAME_BELOW = "name_above", "name_below"


def scatter(
    frame: pd.DataFrame,
    *,
    x: str,
    y: str,
    size: str,
    label: str,
    title: str,
    x_format: str | None = None,
    y_format: str | None = None,
    labels: dict[str, str] | None = None,
) -> alt.LayerChart:
    where = labelled_points(frame, x=x, y=y, size=size, label=label)
    shown = frame.assign(
        **{
            NAME_ABOVE: frame[label].where(where == "above", ""),
            NAME_BELOW: frame[label].where(where == "below", ""),
        }
    )
    base = alt.Chart(shown).encode(
        x=alt.X(f"{x}:Q", title=_label(labels, x), axis=alt.Axis(format=x_format or "~s"),
                scale=alt.Scale(zero=False, nice=False, padding=SCALE_PADDING_PIXELS)),
        y=alt.Y(f"{y}:Q", title=_label(labels, y), axis=alt.Axis(format=y_format or "~s"),
                scale=alt.Scale(zero=False, nice=False, padding=SCALE_PADDING_PIXELS)),
        tooltip=[label,
                 alt.Tooltip(f"{x}:Q", format=_tooltip_format(x_format, ",.3f")),
                 alt.Tooltip(f"{y}:Q", format=_tooltip_format(y_format, ",.3f")),
                 alt.Tooltip(f"{size}:Q")],
    )  # fmt: skip
    # A little see-through, where points overlap; at 0.8 they were 2.9:1 on the dark page.
    points = base.mark_circle(opacity=0.85, color=BAR_COLOUR).encode(
        size=alt.Size(
            f"{size}:Q", title=_label(labels, size),
            scale=alt.Scale(zero=True, range=list(POINT_AREA_PIXELS)),
        )
    )  # fmt: skip
    names = [
        base.mark_text(dy=dy, baseline="middle", fontSize=LABEL_FONT_PIXELS).encode(
            text=alt.Text(f"{column}:N")
        )
        for column, dy in ((NAME_ABOVE, -LABEL_OFFSET_PIXELS), (NAME_BELOW, LABEL_OFFSET_PIXELS))
    ]
    x_said, y_said = _tooltip_format(x_format, ",.3f"), _tooltip_format(y_format, ",.3f")
    said = (
        f"Scatter of {_label(labels, x)} against {_label(labels, y)}, a point per "
        f"{_label(labels, label)} "
        f"sized by {_label(labels, size)}: "
        + _listed([f"{_named(name)}: {_label(labels, x)} {_spoken(a, x_said)}, {_label(labels, y)} "
                   f"{_spoken(b, y_said)}, {_label(labels, size)} {_spoken(n, ',')}"
                   for name, a, b, n in frame[[label, x, y, size]].itertuples(index=False)])
    )  # fmt: skip
    return _titled(alt.layer(points, *names), title, SCATTER_HEIGHT, said=said)


def donut(frame: pd.DataFrame, *, names: str, values: str, title: str) -> alt.Chart:
    known = [name for name in SENTIMENT_COLOURS if name in set(frame[names])]
    colours = (
        alt.Scale(domain=known, range=[SENTIMENT_COLOURS[name] for name in known])
        if len(known) == len(frame)
        else alt.Scale(range=SERIES_COLOURS)
    )
    chart = (
        alt.Chart(frame)
        .mark_arc(innerRadius=60, stroke=PAGE_COLOUR, strokeWidth=2)
        .encode(
            theta=alt.Theta(f"{values}:Q"),
            color=alt.Color(f"{names}:N", scale=colours, title=None),
            tooltip=[names, alt.Tooltip(f"{values}:Q", format=",")],
        )
    )
    total = pd.to_numeric(frame[values], errors="coerce").sum()
    said = "Donut chart: " + _listed(
        [f"{_named(name)} {_spoken(v, ',')}"
         + (f" ({_spoken(v / total, '.1%')})" if total else "")
         for name, v in zip(frame[names], frame[values], strict=True)]
    )  # fmt: skip
    return _titled(chart, title, 280, said=said)


def journey_playback(timeline: pd.DataFrame, step: int, *, title: str) -> alt.LayerChart:
    """A member's day, one mark per event in order (a step each, its time on the axis), on
    two lanes, portal events and calls. Steps after `step` are greyed; failures and leakage
    calls stand out."""
    frame = pd.DataFrame(
        {
            "step": [
                f"{sequence}. {moment:%H:%M:%S}"
                for sequence, moment in zip(timeline["sequence"], timeline["event_at"], strict=True)
            ],
            "lane": timeline["event_kind"].map({"journey_event": "portal", "call": "call"}),
            "what": timeline["action"].fillna(timeline["call_reason"]).fillna("call"),
            "shown": timeline["sequence"] <= step,
        }
    )
    frame["marker"] = "event"
    frame.loc[timeline["action"].isin(["abandon", "error"]).to_numpy(), "marker"] = "failure"
    frame.loc[timeline["event_kind"].eq("call").to_numpy(), "marker"] = "call"
    leaked = timeline["is_leakage_call"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    frame.loc[leaked, "marker"] = "leakage call"
    base = alt.Chart(frame).encode(
        x=alt.X("step:O", sort=list(frame["step"]), title="step, time (UTC)",
                axis=alt.Axis(labelAngle=0)),
        y=alt.Y("lane:N", sort=["portal", "call"], title=None),
        tooltip=["step", "what", "marker"],
    )  # fmt: skip
    colour = alt.condition(
        "datum.shown",
        alt.Color(
            "marker:N",
            scale=alt.Scale(domain=list(PLAYBACK_COLOURS), range=list(PLAYBACK_COLOURS.values())),
            title=None,
        ),
        alt.value(NOT_YET_PLAYED),
    )
    # Opaque: at Vega-Lite's 0.7 for a filled point, the markers were 1.8-3.0:1 on the
    # white page and 2.3-3.2:1 on the dark one.
    points = base.mark_point(filled=True, size=260, opacity=1).encode(
        color=colour,
        # One legend of shape and colour (Vega-Lite merges the two, same field and title).
        shape=alt.Shape("marker:N", scale=alt.Scale(
            domain=list(PLAYBACK_SHAPES), range=list(PLAYBACK_SHAPES.values())
        ), title=None),
    )  # fmt: skip
    words = base.mark_text(dy=-18, fontSize=12).encode(text="what:N")
    said = f"Timeline, step {step} of {len(frame)} shown: " + _listed(
        [f"{when} {lane} {what} ({marker})" for when, lane, what, marker, shown in
         frame[["step", "lane", "what", "marker", "shown"]].itertuples(index=False) if shown]
    )  # fmt: skip
    return _titled(alt.layer(points, words), title, 200, said=said)


def forecast_bands(history: pd.DataFrame, forecast: pd.DataFrame, *, title: str) -> alt.LayerChart:
    """Delivered daily counts (`date`, `tickets`, a solid line in the text's colour) then
    the forecast (`date`, `forecast`, dashed) with its 95% and 80% intervals as lighter and
    darker bands."""
    parts = [frame["date"] for frame in (history, forecast) if not frame.empty]
    shown = pd.concat(parts) if parts else None
    ahead = alt.Chart(forecast).encode(x=_days("date", shown))
    layers = [
        ahead.mark_area(opacity=0.15, color=BAR_COLOUR).encode(
            y=alt.Y("lo_95:Q", title="tickets a day"), y2="hi_95:Q",
            tooltip=[_day("date"), alt.Tooltip("lo_95:Q", format=",.0f"),
                     alt.Tooltip("hi_95:Q", format=",.0f")],
        ),
        ahead.mark_area(opacity=0.3, color=BAR_COLOUR).encode(y="lo_80:Q", y2="hi_80:Q"),
        # The bands' fills are 1.2:1 and 1.7:1 on the white page; their bounds, drawn as
        # thin lines of the bar colour (4.6:1), meet WCAG's 3:1 for a graphic (1.4.11).
        *[ahead.mark_line(color=BAR_COLOUR, strokeWidth=1, **dash).encode(y=f"{bound}:Q")
          for bound, dash in (("lo_95", {"strokeDash": [1, 2]}), ("hi_95", {"strokeDash": [1, 2]}),
                              ("lo_80", {}), ("hi_80", {}))],
        # Its points in its line's colour: a point's overlay takes the theme's blue, not
        # its line's (#83C9FF on the dark page, bright dots on a dim line).
        ahead.mark_line(point=alt.OverlayMarkDef(color=BAR_COLOUR), strokeDash=[5, 3],
                        color=BAR_COLOUR).encode(
            y="forecast:Q",
            tooltip=[_day("date"), alt.Tooltip("forecast:Q", format=",.1f"), "model"],
        ),
    ]  # fmt: skip
    if not history.empty:
        layers.append(
            alt.Chart(history)
            .mark_line(point=alt.OverlayMarkDef(color=TEXT), color=TEXT)
            .encode(x=_days("date", shown), y="tickets:Q", tooltip=[_day("date"), "tickets:Q"])
        )
    delivered = _series_said(history, "date", "tickets", ",") if not history.empty else "none"
    ahead_said = _listed(
        [f"{_day_text(day)} {_spoken(f, ',.1f')} (80%: {_spoken(a, ',.1f')} to "
         f"{_spoken(b, ',.1f')}; 95%: {_spoken(c, ',.1f')} to {_spoken(d, ',.1f')})"
         for day, f, a, b, c, d in forecast[["date", "forecast", "lo_80", "hi_80", "lo_95",
                                             "hi_95"]].itertuples(index=False)]
    )  # fmt: skip
    said = f"Tickets delivered a day: {delivered}. Forecast: {ahead_said}"
    return _titled(
        alt.layer(*layers), title, 300, said=said,
        subtitle="solid: delivered · dashed: forecast · darker band: 80% interval · "
        "lighter band, dotted edges: 95% interval",
    )  # fmt: skip
