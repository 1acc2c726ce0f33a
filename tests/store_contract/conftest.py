"""The contract suite runs on every backend in BACKENDS (tests/conftest.py)."""

from __future__ import annotations

import pytest
from conftest import BACKENDS


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param
