"""`python -m cx_assets.cli`, as `cx-lakehouse`."""

from cx_assets.cli import run_program

run_program()
