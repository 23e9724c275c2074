"""Which domains there are, and which of them a run's selection reaches, without Dagster.

A domain is a package `cx_assets/<domain>/` with a `definitions.py`; its name is also the
landing source it reads (`landing/<domain>/`). `cx-lakehouse run` asks this before it
imports Dagster, to start reading the day's largest landed table at once
(`lakehouse/early_bronze.py`); `domains.py` builds the definitions of the same domains.
"""

from __future__ import annotations

import re
from pathlib import Path

import cx_assets

# `group:a` or `group:a or group:b ...`: a selection that names whole groups and nothing else.
_GROUP_TERM = r"group:\s*(\w+)"
_GROUPS_ONLY = re.compile(rf"\s*{_GROUP_TERM}(?:\s+or\s+{_GROUP_TERM})*\s*")


def domain_names() -> list[str]:
    """Folders of `cx_assets` that bring their own `definitions.py`, sorted (found on disk,
    so packages without one, such as the synthetic-data generators, are never imported)."""
    package = Path(cx_assets.__file__).parent
    return sorted(path.parent.name for path in package.glob("*/definitions.py"))


def domains_for_selection(select: str | None) -> list[str]:
    """The domains an asset selection string can reach: those it names when it is only
    `group:<domain>` terms joined by `or`, every domain otherwise (a key, a tag, a
    traversal, or a group that is not a domain, which Dagster then reports)."""
    return named_domains(select) or domain_names()


def named_domains(select: str | None) -> list[str] | None:
    """The domains a selection of whole domains names (every one for no selection); None
    for any other selection (a key, a tag, a traversal, a group that is not a domain)."""
    every = domain_names()
    if not select:
        return every
    if not _GROUPS_ONLY.fullmatch(select):
        return None
    named = set(re.findall(_GROUP_TERM, select))
    return sorted(named) if named <= set(every) else None
