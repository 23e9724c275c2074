"""The `landing` fixture of the CRM generator tests of more than one module (`test_generate`,
`test_generated_interactions`): two days generated at scale 0.05 and read back by the tests, built
once per module that asks for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from cx_assets.synthetic.crm import generate
from cx_assets_tests.synthetic.crm.landed_records import WEDNESDAY, request


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    """Two days (Wednesday, Thursday) at scale 0.05: ~10,000 interactions a day."""
    root = tmp_path_factory.mktemp("crm_landing")
    generate(request(root, WEDNESDAY, 2, scale=0.05, seed=7))
    return root
