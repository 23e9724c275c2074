"""What every page shares: cached queries over gold, the sidebar filters, empty states that
say what to run, and tables with a CSV download.

Caching: `query` keys each result on the SQL, its parameters and the version of the tables it
reads (their files' names, mtimes and sizes, `GoldLake.version`). Listing those files costs a
few milliseconds a page; a result is recomputed only after a run rewrites one of its tables,
and a page never shows a table older than its files.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import streamlit as st

from cx_assets.command_centre.data import (
    GoldLake,
    MissingTables,
    UnreadableGold,
    data_dir_from_env,
    run_hint,
    source_of,
)
from cx_assets.lakehouse.markdown import markdown_text

DEFAULT_DAYS = 90  # the date filter starts on the latest 90 days with data
# A value that is missing, in a card (a rate over no calls) as in a table (a churn list's
# days since a healthy interaction there never was, a planned ticket's reason): Streamlit's
# tables wrote "None", a word of Python, to managers.
MISSING = "—"


def lake() -> GoldLake:
    return GoldLake(data_dir_from_env())


def warn_if_no_data_root() -> None:
    """On every page: a data root that does not exist is said as such, above the page's own
    "nothing built yet" (a mistyped CX_DATA_DIR looked like an empty lakehouse)."""
    gold = lake()
    if not gold.data_dir.is_dir():
        st.warning(
            f"The data root `{gold.data_dir}` does not exist. Check `CX_DATA_DIR` (or the "
            "folder `cx-lakehouse dashboard` was started from: the default is `./data`), or "
            "generate and run some days first."
        )
        return
    # Another user's data root (made under umask 077, say): every page showed the
    # PermissionError of listing gold/ as a traceback.
    for folder in (gold.data_dir, gold.gold_dir):
        if folder == gold.gold_dir and not folder.is_dir():
            break  # nothing built yet: the pages say what to run
        if not os.access(folder, os.R_OK | os.X_OK):
            st.error(
                f"This user may not read `{folder}` (Permission denied), so no gold table "
                "can be shown. Start `cx-lakehouse dashboard` as the user who owns the data "
                "root, or have them make its gold/ and the folders above it readable to you."
            )
            st.stop()


def say_refused(refused: PermissionError) -> None:
    """A gold folder or file this user may not read, met by a page: a run under umask 077
    makes each new day's folder 0700, even after gold/ was made readable by hand (the page
    had ended in the PermissionError's traceback)."""
    st.error(
        f"This user may not read `{refused.filename}` ({refused.strerror}), so this page "
        "cannot be shown whole. Start `cx-lakehouse dashboard` as the user who owns the data "
        "root, or have them make gold/ and everything in it readable to you (a run writes "
        "with its user's umask: under 027, its group can read what it writes)."
    )


# Bounded in bytes (pickled, as Streamlit counts) as well as in entries: at the contract's
# volumes a page's larger results (90 days of support's tickets to review) are over a
# megabyte each, and 1,024 of them kept by a server left running for weeks of date ranges
# and teams would be a gigabyte (found in an audit of the server's memory over a soak).
@st.cache_data(max_entries=1024, max_size="256MB", show_spinner=False)
def _cached_query(
    data_dir: str, sql: str, tables: tuple[str, ...], params: tuple, version: tuple
) -> pd.DataFrame:
    del version  # part of the cache key only
    return GoldLake(Path(data_dir)).query(sql, tables, params)


def query(sql: str, tables: Sequence[str], params: Sequence[object] = ()) -> pd.DataFrame:
    """`sql` over the named gold tables (views of their Parquet files), cached until a run
    rewrites one of them. A tuple parameter is bound as a list (`list_contains(?, column)`).
    A table not written yet (a run still on its way) stops the page with what to run."""
    gold = lake()
    try:
        return _cached_query(
            str(gold.data_dir), sql, tuple(tables), tuple(params), gold.version(tables)
        )
    except MissingTables as missing:
        if not _SAY_IN_PLACE.get():
            _say_what_to_run(
                missing.tables, source=source_of(missing.tables[0]), what="gold tables"
            )
        raise  # to the `section` that says it in place (else the page has stopped)
    except UnreadableGold as unreadable:
        stop_on_unreadable(unreadable)
        raise  # to the `section` that says it in place (else the page has stopped)


@st.cache_data(max_entries=256, show_spinner=False)
def _row_counts(data_dir: str, tables: tuple[str, ...], version: tuple) -> dict[str, int]:
    del version
    gold = GoldLake(Path(data_dir))
    return {table: gold.row_count(table) for table in tables}


def row_counts(tables: Sequence[str]) -> dict[str, int]:
    gold = lake()
    try:
        return _row_counts(str(gold.data_dir), tuple(tables), gold.version(tables))
    except UnreadableGold as unreadable:
        stop_on_unreadable(unreadable)
        raise  # not reached unless said in place: the page stops


def stop_on_unreadable(unreadable: UnreadableGold) -> None:
    """Stop the page, naming the damaged gold file and the run that writes it again (inside
    a `section`, leave it to the section to say in its place)."""
    if _SAY_IN_PLACE.get():
        return  # the caller re-raises it to the section
    st.error(unreadable_message(unreadable))
    st.stop()


def unreadable_message(unreadable: UnreadableGold) -> str:
    source = source_of(unreadable.table)
    if unreadable.day is not None:
        again = f"cx-lakehouse run --date {unreadable.day} --select group:{source}"
    else:  # a whole-history table: any of its source's days rebuilds it
        again = f"{run_hint(lake(), source)} --select group:{source}"
    return (
        f"The gold file `{unreadable.relative}` cannot be read ({unreadable.reason}): it was "
        f"damaged after a run wrote it. Run `{again}` to write it again, then reload this page."
    )


def not_written_message(tables: Sequence[str]) -> str:
    source = source_of(tables[0])
    named = ", ".join(f"`{table}`" for table in tables)
    return (
        f"{named} {'is' if len(tables) == 1 else 'are'} not written yet (a run still on its "
        f"way, or one that failed before it): run `{run_hint(lake(), source)}"
        f"{f' --select group:{source}' if source else ''}`, then reload this page."
    )


_SAY_IN_PLACE: ContextVar[bool] = ContextVar("say_in_place", default=False)


@contextmanager
def section(*, figure: str | None = None) -> Iterator[None]:
    """A part of a page (a headline card, a chart with its table) that a gold table not
    written yet, or a damaged gold file, ends in its place with what to run, the rest of
    the page still shown. Outside sections either stops the whole page: a page stopped on
    its main tables only, and one missing whole-history table (a rollup step that failed)
    hid every section of the leakage page, and one source's damaged file the overview's
    other cards. `figure`: the label of the one figure the section shows, in a card a
    quarter of the page wide: the card shows it as "—" and names the table (or the damaged
    file) only; the section that shows the table says what to run."""
    token = _SAY_IN_PLACE.set(True)
    try:
        yield
    except MissingTables as missing:
        if figure:
            named = ", ".join(f"`{table}`" for table in missing.tables)
            st.metric(figure, MISSING)
            st.caption(f"{named} {'is' if len(missing.tables) == 1 else 'are'} not written yet.")
        else:
            st.info(not_written_message(missing.tables))
    except UnreadableGold as unreadable:
        if figure:  # the section showing the table says the whole of it
            st.metric(figure, MISSING)
            st.caption(f"`{unreadable.relative}` cannot be read.")
        else:
            st.error(unreadable_message(unreadable))
    finally:
        _SAY_IN_PLACE.reset(token)


def require_written(table: str) -> None:
    """Inside a `section`: end it, saying what to run, unless a run has written `table` (it
    may have no rows). For a section that would otherwise read an unwritten table as one
    with no rows ("no open ticket without an agent")."""
    if not lake().files(table):
        raise MissingTables([table])


def _say_what_to_run(tables: Sequence[str], *, source: str, what: str) -> None:
    gold = lake()
    st.info(
        f"No {what} yet: {', '.join(f'`{table}`' for table in tables)} "
        f"{'has' if len(tables) == 1 else 'have'} no rows under `{gold.gold_dir}`.\n\n"
        f"Run `{run_hint(gold, source)}` (or `make demo` in the repository), then reload "
        "this page. While a run is writing, its tables appear as it goes."
    )
    st.stop()


def stop_when_nothing_landed(count: int, *, source: str, what: str) -> None:
    """Stop the page, saying what to run, when its tables are written but count nothing:
    every day materialized so far was empty (a source that never delivered still gets a
    row per day with zero counts)."""
    if count:
        return
    gold = lake()
    st.info(
        f"No {what} yet: every {source} day built so far was empty.\n\n"
        f"Run `{run_hint(gold, source)}` once files have landed under "
        f"`{gold.data_dir / 'landing' / source}`, then reload this page."
    )
    st.stop()


def require(
    tables: Sequence[str], *, source: str, what: str, none_means: str | None = None
) -> None:
    """Stop the page, saying what to run, unless the first of `tables` (the page's main
    table) has rows and every other one has been written (it may be empty). When every
    table is written and the main one is empty, the days built so far had nothing for it:
    the page says that, and what it means (`none_means`), instead of asking for a run.
    When the main one has rows, the others missing are named as not written (a step that
    failed), not as if the domain had no gold at all."""
    gold = lake()
    missing = [table for table in tables[1:] if not gold.files(table)]
    if row_counts(tables[:1])[tables[0]] > 0:
        if missing:
            st.info(not_written_message(missing))
            st.stop()
        return
    if not missing and gold.files(tables[0]):
        _say_built_but_empty(tables[0], source=source, none_means=none_means)
    _say_what_to_run([tables[0], *missing], source=source, what=what)


def _say_built_but_empty(table: str, *, source: str, none_means: str | None) -> None:
    gold = lake()
    if not gold.landed_days(source):
        # Written for days when nothing of the source landed: not a finding about the data.
        st.info(
            f"`{table}` is built and has no rows: no {source} files have landed under "
            f"`{gold.data_dir / 'landing' / source}`, so every {source} day built so far "
            f"was empty.\n\nRun `{run_hint(gold, source)}`, then reload this page."
        )
        st.stop()
    meaning = f" {none_means}" if none_means else ""
    st.info(
        f"`{table}` is built and has no rows: the {source} days built so far gave it "
        f"none.{meaning}\n\nWhen more files land under `{gold.data_dir / 'landing' / source}`, "
        f"run `{run_hint(gold, source)}`, then reload this page."
    )
    st.stop()


def has_rows(table: str) -> bool:
    return row_counts([table])[table] > 0


# --------------------------------------------------------------------------- filters


def date_filter(days: Sequence[date], *, key: str) -> tuple[date, date]:
    """The sidebar's date range over the days that have data (the latest 90 by default).

    A range left as the page offered it follows the newest day: Streamlit keeps a widget's
    value across reruns of a session, so a page left open overnight showed the evening's
    range at its next rerun, the day a run had built meanwhile left out until the browser
    was reloaded. A range the manager picked stays as picked."""
    first, last = min(days), max(days)
    offered = (max(first, last - timedelta(days=DEFAULT_DAYS - 1)), last)
    state, was_offered = st.session_state, f"{key}__offered"
    value: tuple[date, date] | str = offered
    if key in state and state.get(was_offered) not in (None, offered):
        shown = state[key]
        if (tuple(shown) if isinstance(shown, Sequence) else shown) == state[was_offered]:
            state[key] = offered
            value = "today"  # read from the state just set (a default beside it is logged)
    state[was_offered] = offered
    picked = st.sidebar.date_input("Days", value=value, min_value=first, max_value=last, key=key)
    if isinstance(picked, date):
        return picked, picked
    picked = tuple(picked)
    if len(picked) == 2:
        return picked[0], picked[1]
    return (picked[0], picked[0]) if picked else offered  # mid-selection: one day


def dimension_filter(label: str, options: Sequence[str], *, key: str) -> tuple[str, ...]:
    """The sidebar's filter on the page's main dimension; nothing picked means all."""
    picked = st.sidebar.multiselect(label, list(options), key=key, placeholder="All")
    return tuple(picked) if picked else tuple(options)


# --------------------------------------------------------------------------- output


def table(
    frame: pd.DataFrame,
    *,
    name: str,
    column_config: dict | None = None,
    shares: Sequence[str] = (),
    changes: Sequence[str] = (),
) -> None:
    """A sortable table (click a header) and its CSV download. A column of days reads as
    days (Streamlit showed a gold `date` as "2026-11-24 00:00:00"), a gold timestamp (in
    UTC) as "2026-11-24 09:15:02 UTC" (Streamlit wrote "+00:00" after it), a count with
    thousands separated ("5,976", as cards and charts write it; Streamlit wrote "5976");
    the `shares` columns (fractions, as gold holds them) read as percentages with one
    decimal, as the pages' cards and charts write them; the `changes` columns (a change in
    percent: 12.5) read signed to a tenth (`+12.5%`), one too small to show as `+0.0%`, as
    the cards write it; a missing value reads `MISSING`. A header reads as the charts' axes
    do (`avg upsell per call`) unless the page labels it. The CSV keeps gold's values and
    column names."""
    shown, percentages = as_percentages(frame, shares)
    shown, signed = as_changes(shown, changes)
    formats = {**shown_formats(frame), **percentages, **signed}
    pages = column_config or {}  # it may name columns this table lacks
    st.dataframe(
        shown,
        hide_index=True,
        placeholder=MISSING,
        column_config={
            column: labelled(column, formats.get(column), pages.get(column))
            for column in shown.columns
        },
    )
    st.download_button(
        "Download CSV",
        csv_download(frame),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"download_{name}",
        on_click="ignore",
    )


def csv_download(frame: pd.DataFrame) -> bytes:
    """The CSV of `frame` as the Download CSV button gives it: gold's column names and values,
    in UTF-8 with a byte-order mark. Without it Excel, opening the file with a double click,
    reads it in the machine's ANSI code page ('Câmara' read 'CÃ¢mara'); Streamlit's own table
    export writes the mark too, and pandas, DuckDB and `utf-8-sig` skip it.

    A time is written in UTC, as gold holds it, without the offset pandas writes after a
    zoned one (`+00:00`): Excel reads `2026-11-24 09:15:02` as a time and keeps the other
    as text. The same instant, to the microsecond.

    Text that a spreadsheet would take for a formula (it starts with =, +, -, @, a tab or a
    carriage return: a landed company named `=HYPERLINK(…)` reaches gold as typed) is
    written after a `'`, which Excel shows as text (OWASP ASVS 1.2.10). Rows end with CRLF
    (RFC 4180), so a cell holding a carriage return is quoted and stays in its row (pandas
    quoted a cell holding a line feed only)."""
    zoned = [column for column in frame.columns if _zoned(frame[column].dtype)]
    texts = [column for column in frame.columns if _holds_text(frame[column])]
    if zoned or texts:
        frame = frame.copy(deep=False)
        for column in zoned:
            frame[column] = (
                frame[column].astype(pd.DatetimeTZDtype("us", "UTC")).dt.tz_localize(None)
            )
        for column in texts:
            values = frame[column]
            if isinstance(values.dtype, pd.CategoricalDtype):
                values = values.astype(object)
            frame[column] = values.map(_as_text_cell, na_action="ignore")
    return frame.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


# What a spreadsheet reads as the start of a formula in a cell of a CSV file.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _holds_text(column: pd.Series) -> bool:
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):  # labels as a category: text all the same
        dtype = dtype.categories.dtype
    return pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)


def _as_text_cell(value):
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def labelled(column: str, shown_format: dict | None, page: dict | str | None) -> dict:
    """A column's configuration: its format as `table` shows it, with the page's own
    configuration over it (a string is a label alone, as Streamlit reads it), headed by the
    page's label or else the column's name with spaces for underscores."""
    if isinstance(page, str):
        page = {"label": page}
    config = {**(shown_format or {}), **{k: v for k, v in (page or {}).items() if v is not None}}
    config["label"] = config.get("label") or str(column).replace("_", " ")
    return config


# Streamlit's "percent" preset shows two decimals (`12.35%`) and has no option for fewer;
# a printf format has no scaling, so the values shown are scaled instead.
PERCENT_FORMAT = "%.1f%%"


def as_percentages(frame: pd.DataFrame, shares: Sequence[str]) -> tuple[pd.DataFrame, dict]:
    """`frame` with each of the `shares` columns (a fraction: 0.125) in percent (12.5), and
    their column configuration (`12.5%`: one decimal). Sorting is unchanged: the values stay
    numbers."""
    if not shares:
        return frame, {}
    shown = frame.copy()
    for column in shares:
        shown[column] = frame[column] * 100
    return shown, {
        column: st.column_config.NumberColumn(format=PERCENT_FORMAT) for column in shares
    }


# A change, signed: `+12.5%`.
CHANGE_FORMAT = "%+.1f%%"


def as_changes(frame: pd.DataFrame, changes: Sequence[str]) -> tuple[pd.DataFrame, dict]:
    """`frame` with each of the `changes` columns (a change in percent) to a tenth, and their
    column configuration (`+12.5%`). A printf format has no `z`: a fall too small to show
    (-0.04) read `-0.0%`; rounded here, and negative zero made zero, it reads `+0.0%`."""
    if not changes:
        return frame, {}
    shown = frame.copy()
    for column in changes:
        shown[column] = shown[column].round(1) + 0.0
    return shown, {
        column: st.column_config.NumberColumn(format=CHANGE_FORMAT) for column in changes
    }


# momentJS: the text in brackets is written as it is.
UTC_TIME_FORMAT = "YYYY-MM-DD HH:mm:ss [UTC]"
# printf as Streamlit reads it: `,` separates thousands.
COUNT_FORMAT = "%,d"
# Whole dollars, as `money` writes them: estimates of cost and savings (Streamlit's
# "dollar" preset wrote `$170,820.00` in a table under cards reading `$170,820`).
WHOLE_DOLLARS_FORMAT = "$%,.0f"
# Dollars and cents: a call's upsell, and a mean per call (`$72.31`, as its card).
CENTS_FORMAT = "$%,.2f"
# To a tenth, thousands separated as counts are: waits, and a leakage type's avoidable calls
# a day (`%.1f` wrote `5146.2` beside `$15,026,904` at the contract's volumes).
TENTHS_FORMAT = "%,.1f"


def shown_formats(frame: pd.DataFrame) -> dict:
    """The column configuration of `frame`'s days, zoned timestamps (shown in UTC) and
    counts (integers that are not identifiers: a CRM `owner_id` reads `1234`)."""
    config = {}
    for column in frame.columns:
        if _holds_days(frame[column]):
            config[column] = st.column_config.DateColumn(format="YYYY-MM-DD")
        elif _zoned(frame[column].dtype):
            config[column] = st.column_config.DatetimeColumn(format=UTC_TIME_FORMAT, timezone="UTC")
        elif _counts(frame[column]) and not _identifies(str(column)):
            config[column] = st.column_config.NumberColumn(format=COUNT_FORMAT)
    return config


def _counts(column: pd.Series) -> bool:
    """Integers, pandas' or Arrow's (booleans are neither: pandas says so for all three)."""
    dtype = column.dtype
    if isinstance(dtype, pd.ArrowDtype):
        return pa.types.is_integer(dtype.pyarrow_dtype)
    return pd.api.types.is_integer_dtype(dtype)


def _identifies(name: str) -> bool:
    return name == "id" or name.endswith("_id")


def _zoned(dtype) -> bool:
    """A timestamp with a zone: pandas' own, or Arrow's (an Arrow-backed gold frame)."""
    if isinstance(dtype, pd.ArrowDtype):
        return pa.types.is_timestamp(dtype.pyarrow_dtype) and dtype.pyarrow_dtype.tz is not None
    return isinstance(dtype, pd.DatetimeTZDtype)


def _holds_days(column: pd.Series) -> bool:
    """Timestamps, each at midnight without a zone: days read as timestamps."""
    if not pd.api.types.is_datetime64_dtype(column) or getattr(column.dt, "tz", None) is not None:
        return False
    present = column.dropna()
    return not present.empty and bool((present == present.dt.normalize()).all())


def chart(figure, *, key: str) -> None:
    st.altair_chart(figure, key=key, width="stretch")


def money(value: float | None) -> str:
    """Whole dollars, the sign first (`-$1,200`; `$-1,200` was written), and no `-$0` for
    less than a dollar below zero."""
    if value is None or pd.isna(value):
        return MISSING
    dollars = f"{abs(value):,.0f}"
    return f"-${dollars}" if value < 0 and dollars != "0" else f"${dollars}"


def money_change(value: float | None, decimals: int = 0) -> str:
    """A change of money for a metric's delta: the sign first (`-$12,032`). Streamlit
    reads a delta as a fall only when its text starts with `-`: `$-12,032` showed a fall
    in revenue as a green rise. A change that rounds to none has no sign (`$0`, as
    `money` writes no `-$0`), so `delta` shows it grey without an arrow."""
    if value is None or pd.isna(value):
        return MISSING
    amount = f"{abs(value):,.{decimals}f}"
    if not any(digit in amount for digit in "123456789"):
        return f"${amount}"
    return f"{'-' if value < 0 else '+'}${amount}"


def delta(shown: str | None, *, colour: str = "normal") -> dict:
    """A card's delta as `st.metric`'s keyword arguments. A change that rounds to none
    (`+0.0 pp`, `$0`, `+0.0% week on week`) is grey without an arrow: Streamlit takes only
    the text `0` for no change, and showed those as rises."""
    if shown is not None and not any(digit in shown for digit in "123456789"):
        return {"delta": shown, "delta_color": "off", "delta_arrow": "off"}
    return {"delta": shown, "delta_color": colour}


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """`1 company`, `2 companies`."""
    return f"{count:,} {noun if count == 1 else nouns or noun + 's'}"


def share(value: float | None) -> str:
    return MISSING if value is None or pd.isna(value) else f"{value:.1%}"


def count(value: float | None) -> str:
    return MISSING if value is None or pd.isna(value) else f"{value:,.0f}"


def number(value: float | None, spec: str) -> str:
    return MISSING if value is None or pd.isna(value) else format(value, spec)


def days_caption(first: date, last: date) -> str:
    return f"{first}" if first == last else f"{first} to {last}"


def listed(names: Sequence[object]) -> str:
    """Names from gold (agents, teams, journey types) for a caption: comma-separated, each
    escaped (`markdown_text`), so `**bold**` in a name reads as typed, not bold."""
    return ", ".join(markdown_text(name) for name in names)
