"""The order `make test` hands modules to its two workers: the long ones first."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

from cx_assets_tests.conftest import pytest_collection_modifyitems

MAKEFILE = Path(__file__).resolve().parents[1] / "Makefile"


def _item(name: str, long: bool) -> SimpleNamespace:
    marker = object() if long else None
    return SimpleNamespace(
        name=name,
        get_closest_marker=lambda marker_name: marker if marker_name == "long_module" else None,
    )


def test_long_modules_come_first_and_the_rest_keep_their_order():
    items = [
        _item("a", False), _item("b", True), _item("c", False), _item("d", True), _item("e", False),
    ]  # fmt: skip
    pytest_collection_modifyitems(items)
    assert [item.name for item in items] == ["b", "d", "a", "c", "e"]


def test_make_test_hands_whole_modules_to_the_workers_in_the_collected_order():
    """Found in a test audit: a test that this session's items were sorted could not fail
    run alone (one module, all of it long); the order only helps if `make test` keeps it,
    each module on one worker, and xdist does not reorder them (most tests first)."""
    recipe = re.search(r"^test:.*\n\t(.*)$", MAKEFILE.read_text(), re.MULTILINE)
    assert recipe is not None, "no test target in the Makefile"
    options = recipe.group(1).split()
    assert "--no-loadscope-reorder" in options
    assert options[options.index("--dist") + 1] == "loadscope"
