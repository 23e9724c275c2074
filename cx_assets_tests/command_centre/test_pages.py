"""What every page of the command centre does with a data root that is empty, half landed or
damaged (rendered headless with Streamlit's AppTest): it says what to run, or names the damaged
gold file and the run that rewrites it. And what they share when there is data: the app opens
on the overview and navigates, a table's column of days reads as days, and its headers as
words."""

from __future__ import annotations

import itertools
import os
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from streamlit.testing.v1 import AppTest

from cx_assets_tests.command_centre import gold_rows
from cx_assets_tests.command_centre.rendered import (
    APP,
    PAGES,
    column_labels,
    render,
    render_app,
)


def test_every_page_is_in_the_navigation():
    """docs/architecture.md: a domain's page is a file in views/ listed in app.py. A page
    not listed there has no link and no URL (Streamlit serves only the navigation's pages),
    and every test of its own still rendered it by its file."""
    listed = re.findall(r'VIEWS / "(\w+)\.py"', (APP / "app.py").read_text())
    assert sorted(listed) == PAGES


@pytest.mark.parametrize("page", PAGES)
def test_a_page_on_an_empty_data_root_says_what_to_run(page, tmp_path, monkeypatch):
    app = render(page, tmp_path / "empty", monkeypatch)
    assert "cx-lakehouse generate" in app.info[0].value
    if page != "overview":
        # Its tables named as having no rows, the leakage page's one table as such (found by
        # mutation testing: a summary never written said "is built and has no rows", and
        # "has" for several tables, each passed every test).
        verb = "has" if page == "leakage" else "have"
        assert re.search(
            rf"^No .* gold tables yet: `\w+`.* {verb} no rows under", app.info[0].value
        )
    if page == "overview":
        # every domain's headline says it has no gold yet, and no figure is made up
        captions = [block.value for block in app.caption]
        for domain in ("CRM", "calls", "leakage", "support"):
            assert f"No {domain} gold yet." in captions
    assert not app.metric


def test_a_domain_page_names_the_run_for_the_days_that_landed(tmp_path, monkeypatch):
    (tmp_path / "data" / "landing" / "calls" / "transcripts" / "2024-03-04").mkdir(parents=True)
    (tmp_path / "data" / "landing" / "calls" / "transcripts" / "2024-03-05").mkdir(parents=True)
    app = render("calls", tmp_path / "data", monkeypatch)
    assert "cx-lakehouse run --date 2024-03-04 --to 2024-03-05" in app.info[0].value


@pytest.mark.parametrize("locked", ["landing/calls", "landing/calls/transcripts"])
def test_landing_this_user_may_not_list_leaves_the_hint_to_the_other_days(
    locked, tmp_path, monkeypatch
):
    """Found as an analyst's user on the service user's data root, calls' landing left 0700
    by the transfer account that lands it (as analysts need not read landing): a domain
    with no gold yet ended its page in the line for a gold folder this user may not read
    ("have them make gold/ ... readable"), for the days its hint lists. (Listing it is
    refused here, as root reads any folder.)"""
    data_dir = tmp_path / "data"
    (data_dir / "landing" / "calls" / "transcripts" / "2024-03-04").mkdir(parents=True)
    (data_dir / "landing" / "crm" / "interactions" / "2024-03-06").mkdir(parents=True)
    refused, listing = data_dir / locked, os.listdir

    def refusing(path="."):
        if Path(os.fsdecode(path)) == refused:
            raise PermissionError(13, "Permission denied", os.fsdecode(path))
        return listing(path)

    monkeypatch.setattr(os, "listdir", refusing)  # Path.iterdir's on 3.11
    app = render("calls", data_dir, monkeypatch)
    assert not app.error, [error.value for error in app.error]
    assert (
        "cx-lakehouse generate --start 2024-03-06 --days 1 --sources calls` and then "
        "`cx-lakehouse run --date 2024-03-06"
    ) in app.info[0].value


def damaged_copy(gold_root: Path, tmp_path: Path, *tables: str) -> Path:
    """A copy of the gold dataset whose first file of each of `tables` is cut short (a disk
    fault, a copy interrupted: runs never leave one)."""
    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)
    for table in tables:
        first = sorted((data_dir / "gold" / table).rglob("*.parquet"))[0]
        first.write_bytes(first.read_bytes()[:100])
    return data_dir


def test_a_damaged_gold_file_names_itself_and_the_run_that_rewrites_it(
    gold_root, tmp_path, monkeypatch
):
    data_dir = damaged_copy(gold_root, tmp_path, "calls_kpis_daily")
    monkeypatch.setenv("CX_DATA_DIR", str(data_dir))
    app = AppTest.from_file(str(APP / "views" / "calls.py"), default_timeout=60)
    app.run()

    assert not app.exception  # no traceback for a manager
    (error,) = [block.value for block in app.error]
    assert error.startswith(
        f"The gold file `calls_kpis_daily/date={gold_rows.DAY1}/data.parquet` cannot be read ("
    )
    assert f"Run `cx-lakehouse run --date {gold_rows.DAY1} --select group:calls`" in error
    assert not app.metric


def test_a_gold_file_damaged_behind_a_sound_footer_names_itself_too(
    gold_root, tmp_path, monkeypatch
):
    """Found in an audit: a file whose data pages were overwritten but whose footer still
    read showed DuckDB's traceback on every page reading it (only footers were looked at)."""
    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)
    damaged = sorted((data_dir / "gold" / "calls_performance").rglob("*.parquet"))[0]
    content = bytearray(damaged.read_bytes())
    footer = int.from_bytes(content[-8:-4], "little") + 8  # its length, the length, `PAR1`
    content[4 : len(content) - footer] = bytes(len(content) - footer - 4)  # pages zeroed
    damaged.write_bytes(bytes(content))
    pq.read_metadata(damaged)  # the footer still reads
    day = damaged.parent.name.removeprefix("date=")

    app = render("calls", data_dir, monkeypatch)

    assert not app.exception
    (error,) = [block.value for block in app.error]
    assert error.startswith(
        f"The gold file `calls_performance/date={day}/data.parquet` cannot be read ("
    )
    assert f"Run `cx-lakehouse run --date {day} --select group:calls`" in error


def test_the_overview_lists_a_damaged_file_among_the_tables_freshness(
    gold_root, tmp_path, monkeypatch
):
    data_dir = damaged_copy(gold_root, tmp_path, "crm_temporal_heat")  # no headline reads it
    app = render("overview", data_dir, monkeypatch)
    (freshness,) = [frame.value for frame in app.dataframe if "problem" in frame.value]
    problems = freshness.set_index("table")["problem"].dropna()
    assert list(problems.index) == ["crm_temporal_heat"]
    # a whole-history table: its one file
    assert problems.iloc[0].startswith("gold file crm_temporal_heat/data.parquet cannot be read: ")
    assert app.metric  # the headlines are still there


def test_a_damaged_file_behind_a_headline_ends_that_card_only(gold_root, tmp_path, monkeypatch):
    """It stopped the whole overview: the other sources' headlines, the freshness table that
    names the file and the runs went with it."""
    data_dir = damaged_copy(gold_root, tmp_path, "crm_noise_summary")
    app = render("overview", data_dir, monkeypatch)

    assert not app.exception
    (error,) = [block.value for block in app.error]
    assert error.startswith(
        f"The gold file `crm_noise_summary/date={gold_rows.DAY1}/data.parquet` cannot be read ("
    )
    assert f"`cx-lakehouse run --date {gold_rows.DAY1} --select group:crm`" in error
    labels = {metric.label for metric in app.metric}
    assert "Valid interactions" not in labels  # the CRM card ended at its damaged file
    assert {"Calls", "Leakage calls", "Tickets created"} <= labels
    (freshness,) = [frame.value for frame in app.dataframe if "problem" in frame.value]
    assert list(freshness.set_index("table")["problem"].dropna().index) == ["crm_noise_summary"]
    assert [heading.value for heading in app.header][-1] == "Runs and checks"


@pytest.mark.parametrize(
    ("page", "removed", "said", "still_shown"),
    [
        ("crm", "crm_churn_risk", 1, "Friction interactions"),  # the churn list; its card below
        ("crm", "crm_temporal_heat", 1, "Companies at high churn risk"),
        ("crm", "crm_contact_linkage", 1, "Urgent"),
        ("calls", "calls_performance", 1, "Conversion rate"),
        ("support", "support_assignment_plan", 1, "Within SLA"),
        ("support", "support_ticket_categories", 1, "Next 14 days"),
        ("support", "support_volume_forecast", 1, "Within SLA"),
    ],
)
def test_a_table_not_written_is_said_in_its_section_the_rest_of_the_page_shown(
    page, removed, said, still_shown, gold_root, tmp_path, monkeypatch
):
    """A whole-history table not written (its step failed, or the run is still on its way)
    stopped the page, or was read as "no rows" ("No open ticket without an agent.")."""
    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)
    shutil.rmtree(data_dir / "gold" / removed)
    app = render(page, data_dir, monkeypatch)

    infos = [block.value for block in app.info]
    assert len(infos) == said, infos
    assert all(info.startswith(f"`{removed}` is not written yet") for info in infos)
    assert all(f"--select group:{page}" in info for info in infos)
    assert still_shown in {metric.label for metric in app.metric}
    captions = [block.value for block in app.caption]
    assert "No open ticket without an agent." not in captions
    if removed == "crm_churn_risk":  # a figure's card names the table only
        assert "`crm_churn_risk` is not written yet." in captions
        assert {m.label: m.value for m in app.metric}["Companies at high churn risk"] == "—"


def test_a_table_the_page_needs_not_written_is_named_as_not_written(
    gold_root, tmp_path, monkeypatch
):
    """Found in an audit: with every other CRM table written, a missing `crm_managers`
    read "No CRM gold tables yet: `crm_managers` has no rows", as if nothing were built."""
    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)
    shutil.rmtree(data_dir / "gold" / "crm_managers")

    app = render("crm", data_dir, monkeypatch)

    (said,) = [block.value for block in app.info]
    assert said.startswith("`crm_managers` is not written yet (a run still on its way, or one")
    assert "--select group:crm" in said
    assert not app.metric  # the page stops: its filter needs the managers


def test_a_damaged_file_behind_a_figures_card_is_said_whole_once(gold_root, tmp_path, monkeypatch):
    """Found in an audit: the churn file damaged, the CRM page wrote its whole error twice,
    once squeezed into the quarter-wide card of the figure. The card now shows "—" and
    names the file; the churn list's section says the rest."""
    data_dir = damaged_copy(gold_root, tmp_path, "crm_churn_risk")

    app = render("crm", data_dir, monkeypatch)

    (error,) = [block.value for block in app.error]
    assert error.startswith("The gold file `crm_churn_risk/data.parquet` cannot be read (")
    assert {m.label: m.value for m in app.metric}["Companies at high churn risk"] == "—"
    assert "`crm_churn_risk/data.parquet` cannot be read." in [c.value for c in app.caption]


def test_the_app_opens_on_the_overview_and_navigates(gold_root, monkeypatch):
    monkeypatch.setenv("CX_DATA_DIR", str(gold_root))
    app = AppTest.from_file(str(APP / "app.py"), default_timeout=60)
    app.run()
    assert not app.exception
    assert app.title[0].value == "CX command centre"
    app.switch_page(str(APP / "views" / "calls.py"))
    app.run()
    assert not app.exception
    assert app.title[0].value == "Calls"


def test_the_navigation_lists_each_page_by_its_title_in_the_contracts_order(tmp_path, monkeypatch):
    """Found by mutation testing: app.py's pages put in another order, a page retitled or
    given another URL, or every page's browser title left "CX command centre", passed every
    test but the browser's. The sidebar lists the overview first (opened at the root), then
    the domains in the contract's order (CRM, calls, leakage, support), each at its URL; a
    page's browser title names it."""
    import streamlit as st

    listed, titled = [], []
    navigation, page_config = st.navigation, st.set_page_config

    def recording_navigation(pages, **options):
        chosen = navigation(pages, **options)  # makes the first page the default if none is
        listed.append([(page.title, page.url_path) for page in pages])
        return chosen

    def recording_page_config(**options):
        titled.append(options.get("page_title"))
        return page_config(**options)

    monkeypatch.setattr(st, "navigation", recording_navigation)
    monkeypatch.setattr(st, "set_page_config", recording_page_config)
    render_app(tmp_path, monkeypatch, "calls")
    assert listed[0] == [
        ("Overview", ""),
        ("CRM friction", "crm"),
        ("Calls", "calls"),
        ("Digital leakage", "leakage"),
        ("Support", "support"),
    ]
    assert titled[-1] == "Calls · CX command centre", titled
    assert "Overview · CX command centre" in titled, titled


def test_a_data_root_that_does_not_exist_is_said_on_every_page(gold_root, tmp_path, monkeypatch):
    """Seen in an audit: a mistyped CX_DATA_DIR showed the pages of an empty lakehouse, which
    asked a manager to generate data instead of naming the path."""
    missing = tmp_path / "no" / "such" / "root"
    monkeypatch.setenv("CX_DATA_DIR", str(missing))
    app = AppTest.from_file(str(APP / "app.py"), default_timeout=60)
    app.run()
    assert not app.exception
    (warning,) = [block.value for block in app.warning]
    assert warning.startswith(f"The data root `{missing}` does not exist. Check `CX_DATA_DIR`")
    app.switch_page(str(APP / "views" / "support.py"))
    app.run()
    assert [block.value for block in app.warning] == [warning]
    assert not missing.exists()  # the command centre creates nothing

    monkeypatch.setenv("CX_DATA_DIR", str(gold_root))
    app = AppTest.from_file(str(APP / "app.py"), default_timeout=60)
    app.run()
    assert not app.warning


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any folder: chmod is moot")
@pytest.mark.parametrize("refused", ["data", "data/gold"])
def test_a_data_root_this_user_may_not_read_is_said_not_a_traceback(refused, tmp_path, monkeypatch):
    """Seen in an audit, the dashboard run by another user than the data root's, made under
    umask 077: every page showed a PermissionError's traceback from listing gold/."""
    root = tmp_path / "data"
    (root / "gold" / "calls_kpis_daily").mkdir(parents=True)
    folder = tmp_path / refused
    monkeypatch.setenv("CX_DATA_DIR", str(root))
    folder.chmod(0o000)
    try:
        app = AppTest.from_file(str(APP / "app.py"), default_timeout=60)
        app.run()
    finally:
        folder.chmod(0o755)
    assert not app.exception, [error.value for error in app.exception]
    (error,) = [block.value for block in app.error]
    assert error.startswith(f"This user may not read `{folder}` (Permission denied)"), error
    assert "the user who owns the data root" in error


@pytest.mark.parametrize("page", ["overview", "calls"])
def test_a_gold_folder_this_user_may_not_read_is_said_not_a_traceback(page, gold_root, monkeypatch):
    """Found as an analyst's user on a data root the service user runs under umask 077, its
    folders made readable to the analysts' group by hand: the next run's day folder (0700)
    ended the overview and the calls page in a PermissionError's traceback. (Listing it is
    refused here, as root reads any folder.)"""
    locked = sorted((gold_root / "gold" / "calls_kpis_daily").glob("date=*"))[-1]
    listing = os.scandir

    def refusing(path="."):
        if Path(os.fsdecode(path)) == locked:
            raise PermissionError(13, "Permission denied", os.fsdecode(path))
        return listing(path)

    monkeypatch.setattr(os, "scandir", refusing)
    app = render_app(gold_root, monkeypatch, None if page == "overview" else page)
    (error,) = [block.value for block in app.error]
    assert error.startswith(f"This user may not read `{locked}` (Permission denied)"), error


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file: chmod is moot")
def test_a_gold_file_this_user_may_not_read_is_not_said_damaged(gold_root, tmp_path, monkeypatch):
    """Found as an analyst's user, gold's folders made readable to the analysts' group by
    hand but a run's files left 0600 (umask 077): the pages said the file "was damaged after
    a run wrote it" and asked to run its day again, which would not let this user read it."""
    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)
    locked = sorted((data_dir / "gold" / "calls_kpis_daily").rglob("*.parquet"))[-1]
    locked.chmod(0o000)
    app = render_app(data_dir, monkeypatch, "calls")
    (error,) = [block.value for block in app.error]
    assert error.startswith(f"This user may not read `{locked}` (Permission denied)"), error


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file: chmod is moot")
@pytest.mark.parametrize("locked", ["dagster_home", "dagster_home/history/runs.db"])
def test_run_history_this_user_may_not_read_is_said_in_its_section(
    locked, gold_root, tmp_path, monkeypatch
):
    """Found as an analyst's user, gold/ opened to the analysts' group by hand on a data
    root the service user runs under umask 077: its DAGSTER_HOME stayed 0700, and the
    overview's runs and checks ended the page in the line for gold ("have them make gold/
    and everything in it readable"), which would not let this user read the history; its
    files left 0600 were "unable to open database file"."""
    data_dir = tmp_path / "data"
    shutil.copytree(gold_root, data_dir)
    home = data_dir / "dagster_home"
    (home / "history" / "runs").mkdir(parents=True)
    (home / "history" / "runs.db").write_bytes(b"")
    (home / "history" / "runs" / "index.db").write_bytes(b"")
    (data_dir / locked).chmod(0o000)
    try:
        app = render("overview", data_dir, monkeypatch)
    finally:
        (data_dir / locked).chmod(0o755)
    assert not app.error, [error.value for error in app.error]
    (said,) = [caption.value for caption in app.caption if "Run history" in caption.value]
    assert said == (
        f"Run history in `{home}`: this user may not read "
        f"`{home / 'history' / 'runs.db'}` (Permission denied)."
    )


def test_a_column_of_days_reads_as_days(rendered_on_gold):
    """Support's review list showed its gold `date` as "2026-11-24 00:00:00"."""
    import json

    configured = {}
    for page, app in rendered_on_gold.items():
        for frame in app.dataframe:
            config = json.loads(frame.proto.columns) if frame.proto.columns else {}
            for name in frame.value.columns:
                column = frame.value[name]
                if str(column.dtype).startswith("datetime64") and column.dt.tz is None:
                    configured[(page, name)] = config.get(name, {}).get("type_config", {})
    assert ("support", "date") in configured
    days = {key: config for key, config in configured.items() if key[1] == "date"}
    assert all(config == {"type": "date", "format": "YYYY-MM-DD"} for config in days.values())


def test_a_missing_value_reads_as_a_dash_in_every_table(rendered_on_gold):
    """Streamlit wrote a missing value as "None" (the overview's days of a whole-history
    table, a planned ticket's reason), a word of Python, where the cards write "—"."""
    from cx_assets.command_centre.ui import MISSING

    tables, with_missing = 0, set()
    for page, app in rendered_on_gold.items():
        for table in app.dataframe:
            tables += 1
            assert table.proto.placeholder == MISSING, (page, list(table.value.columns))
            if table.value.isna().any().any():
                with_missing.add(page)
    assert MISSING == "—" and tables >= 10
    assert {"overview", "support"} <= with_missing  # the case this is for is on the pages


def test_every_table_is_headed_in_words(rendered_on_gold):
    """Tables were headed with gold's names (`median_first_response_minutes`), wider than
    their values, and pushed the last columns behind a scroll; the charts' axes already
    read `median first response minutes`."""
    headers = [
        (page, label)
        for page, app in rendered_on_gold.items()
        for table in app.dataframe
        for label in column_labels(table)
    ]
    assert len(headers) >= 60
    assert [(page, label) for page, label in headers if "_" in label] == []


def test_every_pages_headings_go_down_one_level_at_a_time(rendered_on_gold):
    """Seen in an accessibility audit, in Chromium's DOM: every page went from its title (h1)
    straight to its sections (h3), so a screen reader's list of headings had no second level
    and the sections read as nested under a heading that is not there."""
    levels = {"title": 1, "header": 2, "subheader": 3}
    for page, app in rendered_on_gold.items():
        seen = [levels[node.type] for node in app.main if node.type in levels]
        assert seen[0] == 1 and seen.count(1) == 1, (page, seen)
        assert all(b - a <= 1 for a, b in itertools.pairwise(seen)), (page, seen)
        assert len(seen) >= 4, (page, seen)


def test_the_overviews_cards_and_run_lists_are_headed_as_headings(rendered_on_gold):
    """Seen in an accessibility audit, in Chromium's DOM: the overview's four cards (CRM
    friction, Calls, ...) and its run lists were headed in bold text, which a screen reader's
    list of headings leaves out; they are third-level headings under their sections (the
    run lists' are shown only with a run history, which this data root has not)."""
    third = [node.value for node in rendered_on_gold["overview"].main if node.type == "subheader"]
    assert third == ["CRM friction", "Calls", "Digital leakage", "Support"]
