"""The order `make test` hands modules to its two workers: the long ones first."""

from __future__ import annotations

from types import SimpleNamespace

from cx_assets_tests.conftest import pytest_collection_modifyitems


def _item(name: str, long: bool) -> SimpleNamespace:
    marker = object() if long else None
    return SimpleNamespace(name=name, get_closest_marker=lambda _name, found=marker: found)


def test_long_modules_come_first_and_the_rest_keep_their_order():
    items = [
        _item("a", False), _item("b", True), _item("c", False), _item("d", True), _item("e", False),
    ]  # fmt: skip
    pytest_collection_modifyitems(items)
    assert [item.name for item in items] == ["b", "d", "a", "c", "e"]


def test_this_sessions_long_modules_were_collected_first(request):
    marked = [item.get_closest_marker("long_module") is not None for item in request.session.items]
    assert marked == sorted(marked, reverse=True)
