"""The docs name what the code defines."""

from pathlib import Path

from cx_assets.definitions import defs

DOCS = Path(__file__).resolve().parent.parent / "docs"


def every_check_spec():
    """The checks each asset declares (run in its step) and those with a step of their own."""
    for asset_def in defs.assets:
        yield from asset_def.check_specs
    for check in defs.asset_checks:
        yield from check.check_specs


def test_every_check_is_documented_on_its_asset():
    lines = (DOCS / "checks.md").read_text().splitlines()
    specs = list(every_check_spec())
    assert len(specs) > 100  # the declared checks too, not only the separate ones
    for spec in specs:
        if spec.name == "column_schema_change":
            continue  # documented once, for every asset
        asset = f"`{spec.asset_key.to_user_string()}`"
        assert any(asset in line and spec.name in line for line in lines), (
            f"docs/checks.md does not name {spec.name} on {asset}"
        )
