"""The merged Definitions as the tests of the whole graph read them: its asset graph (each
module binds it as a module-scoped `graph` fixture) and every check it declares, with
where each check runs.
"""

from __future__ import annotations

from cx_assets import definitions


def asset_graph():
    return definitions.defs.resolve_asset_graph()


def every_check_spec():
    """(spec, where it runs): in its asset's step, or a step of its own."""
    for asset_def in definitions.defs.assets:
        for spec in asset_def.check_specs:
            yield spec, "asset"
    for check in definitions.defs.asset_checks:
        for spec in check.check_specs:
            yield spec, "own"
