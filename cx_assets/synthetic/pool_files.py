"""Text pools shipped as data files: the subjects, sentences, names and phrases generators sample.

Each source keeps its pools in `<source>/pools/*.json` (package data, so a non-editable install
has them) and reads them once, at import. JSON keeps what plain text would lose: leading and
trailing spaces (`"  Lida: "`, `"RE: "`), empty entries and line breaks inside an entry. Lists come
back as tuples, as the pools were when they lived in code, so sampling them draws the same items
in the same order for a seed.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def load_pools(package: str, name: str) -> dict[str, Any]:
    """The pools in `<package>/pools/<name>`, with every JSON array as a tuple."""
    text = (resources.files(package) / "pools" / name).read_text(encoding="utf-8")
    return json.loads(text, object_pairs_hook=_tuples_inside)


def _tuples_inside(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return {key: _as_tuple(value) for key, value in pairs}


def _as_tuple(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_as_tuple(item) for item in value)
    return value
