from __future__ import annotations

import pytest

from cx_assets_tests.digital.silver_rows import Silver


@pytest.fixture
def silver() -> Silver:
    return Silver()
