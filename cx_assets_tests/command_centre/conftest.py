import gc
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cx_assets_tests.command_centre.gold_rows import write_gold
from cx_assets_tests.command_centre.rendered import PAGES, render_each


@pytest.fixture(autouse=True)
def no_garbage_left_for_script_threads():
    """Streamlit's `AppTest` runs each page in a worker thread, and a garbage collection there
    finalizes whatever earlier tests left behind. A SQLite connection of a leaked Dagster
    instance then fails to close outside its own thread, SQLAlchemy logs a traceback, and on
    Python 3.11 formatting a traceback calls `ast.parse`, re-entering the `ast.parse` Streamlit
    was running: "SystemError: AST constructor recursion depth mismatch" (CPython gh-106905).
    The suite disposes of its instances; collecting here makes sure nothing else is pending.
    Then what is alive is frozen (`gc.freeze`), never scanned again: each collection here
    scanned the worker's whole heap (the suite's imports, every earlier module's objects),
    0.15 s and more a test; now it scans what the tests since the last one made."""
    gc.collect()
    gc.freeze()


@pytest.fixture(scope="module")
def gold_root(tmp_path_factory) -> Path:
    return write_gold(tmp_path_factory.mktemp("command_centre") / "data")


@pytest.fixture(scope="module")
def rendered_on_gold(gold_root) -> dict[str, AppTest]:
    """Every page rendered once on the gold dataset, shared by a module's tests that only
    read them."""
    return render_each(PAGES, gold_root)
