"""The lakehouse's `Definitions` (`dagster dev -m cx_assets.definitions`): every domain's own
definitions merged, plus what is cross-cutting, applied once (`cx_assets/domains.py`).

A domain is a package `cx_assets/<domain>/` with a `definitions.py` exposing `defs`; it is
found by looking, so adding a domain edits nothing here.
"""

from __future__ import annotations

from cx_assets.domains import definitions_of, domain_names

__all__ = ["defs", "domain_names"]

defs = definitions_of(domain_names())
