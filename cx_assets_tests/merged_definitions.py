"""The merged Definitions as the tests of the whole graph read them: its asset graph (each
module binds it as a module-scoped `graph` fixture) and every check it declares, with
where each check runs and its run config defaults.
"""

from __future__ import annotations

from typing import Any

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


def _defaults(config_type) -> dict[str, Any]:
    fields = getattr(config_type, "fields", None) or {}
    return {name: field.default_value for name, field in fields.items() if field.default_provided}


def check_config_defaults() -> dict[tuple[str, str], dict[str, Any]]:
    """Each configurable check's run config defaults (a band's bounds, its severity), by
    (asset, check name)."""
    found = {}
    for asset_def in definitions.defs.assets:
        schema = asset_def.op.config_schema
        fields = (getattr(schema.config_type, "fields", None) or {}) if schema else {}
        for spec in asset_def.check_specs:
            if spec.name in fields:
                found[(spec.asset_key.to_user_string(), spec.name)] = _defaults(
                    fields[spec.name].config_type
                )
    for check in definitions.defs.asset_checks:
        schema = check.op.config_schema
        for spec in check.check_specs:
            if schema is not None:
                found[(spec.asset_key.to_user_string(), spec.name)] = _defaults(schema.config_type)
    return {key: value for key, value in found.items() if value}
