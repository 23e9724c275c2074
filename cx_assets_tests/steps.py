"""The steps a test needs: the tables it asserts on and every table of their domain they read.

A domain's whole run builds every gold table (a CRM day about 2 s of CPU, its silver
interactions and their inputs 0.7 s); a test of what silver keeps needs only what silver
reads. Derived from the assets' own dependencies, so no list of inputs is kept by hand.
"""

from __future__ import annotations

from dagster import AssetsDefinition, AssetSelection

from cx_assets_tests.conftest import Domain


def building(domain: Domain, *tables: AssetsDefinition) -> list[AssetsDefinition]:
    """`tables` and the assets of `domain` they read, directly or through others, in the
    domain's order (with the domain's `everything`, their checks run with them)."""
    needed = AssetSelection.assets(*tables).upstream().resolve(domain.assets)
    return [asset for asset in domain.assets if needed & set(asset.keys)]
