"""A page of the command centre rendered headless (Streamlit's AppTest) on a data root, and
the metrics it shows: what the tests of every page start from."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import cx_assets.command_centre

APP = Path(cx_assets.command_centre.__file__).parent
# Every page in views/, found as a page added there would be (lists of the five left one
# added out of the tests of every page).
PAGES = sorted(path.stem for path in (APP / "views").glob("*.py") if path.stem != "__init__")
DOMAIN_PAGES = [page for page in PAGES if page != "overview"]


def render(page: str, data_dir: Path, monkeypatch) -> AppTest:
    monkeypatch.setenv("CX_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    app = AppTest.from_file(str(APP / "views" / f"{page}.py"), default_timeout=60)
    app.run()
    assert not app.exception, [error.value for error in app.exception]
    return app


def render_app(data_dir: Path, monkeypatch, page: str | None = None) -> AppTest:
    """The whole app (`app.py`: its navigation, as `cx-lakehouse dashboard` serves it) on
    `data_dir`, opened on the overview, then switched to `page` if one is given."""
    monkeypatch.setenv("CX_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    app = AppTest.from_file(str(APP / "app.py"), default_timeout=60)
    app.run()
    if page is not None:
        app.switch_page(str(APP / "views" / f"{page}.py"))
        app.run()
    assert not app.exception, [error.value for error in app.exception]
    return app


def render_each(pages: Iterable[str], data_dir: Path) -> dict[str, AppTest]:
    """Each of `pages` rendered (`render`) on `data_dir`, by page: for a module-scoped fixture
    whose tests only read the pages, each rendered once for them all."""
    # What the autouse `no_garbage_left_for_script_threads` does before a test: a module's
    # fixture is set up before it (the first test's), and a page's script thread must not
    # finalize what earlier tests left behind.
    gc.collect()
    with pytest.MonkeyPatch.context() as monkeypatch:
        return {page: render(page, data_dir, monkeypatch) for page in pages}


def column_formats(table) -> dict[str, str]:
    """The number format each configured column of a rendered table shows (`%.1f%%`)."""
    columns = json.loads(table.proto.columns or "{}")
    return {
        name: config["type_config"]["format"]
        for name, config in columns.items()
        if "format" in config.get("type_config", {})
    }


def column_labels(table) -> list[str]:
    """The headers a rendered table shows, in the frame's order."""
    columns = json.loads(table.proto.columns or "{}")
    return [columns.get(name, {}).get("label", name) for name in table.value.columns]


def metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def chart_rows(app: AppTest, title: str):
    """The rows (a frame) of the rendered chart whose title holds `title`, as Streamlit sent
    them to the browser (beside the chart's spec, not in it)."""
    from streamlit import dataframe_util

    (chart,) = [
        chart
        for chart in app.get("vega_lite_chart")
        if title in json.dumps(json.loads(chart.proto.spec)["title"])
    ]
    (dataset,) = chart.proto.datasets
    return dataframe_util.convert_arrow_bytes_to_pandas_df(dataset.data.data)
