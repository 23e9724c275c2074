"""`python -m cx_assets.cli`, as `cx-lakehouse`."""

from cx_assets.command import run

run()
