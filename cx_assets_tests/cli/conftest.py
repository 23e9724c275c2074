"""Two small days of every source, generated and run once for the module that reads them."""

from __future__ import annotations

import pytest

from cx_assets_tests.cli import END, START, cli


@pytest.fixture(scope="module")
def generated_and_run(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("cli") / "data"
    generated = cli(
        "generate", "--start", START, "--days", "2", "--scale", "0.01", "--seed", "7", "--quiet",
        data_dir=data_dir,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr
    ran = cli("run", "--date", START, "--to", END, data_dir=data_dir)
    return data_dir, generated, ran
