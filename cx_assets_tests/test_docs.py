"""The docs name what the code defines."""

from pathlib import Path

from cx_assets.definitions import defs

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_check_is_documented_on_its_asset():
    lines = (DOCS / "checks.md").read_text().splitlines()
    for check in defs.asset_checks:
        for spec in check.check_specs:
            if spec.name == "column_schema_change":
                continue  # documented once, for every asset
            asset = f"`{spec.asset_key.to_user_string()}`"
            assert any(asset in line and spec.name in line for line in lines), (
                f"docs/checks.md does not name {spec.name} on {asset}"
            )
