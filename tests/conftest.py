"""Shared test settings: every test starts from the default logging configuration."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tamga.logging import reset_logging


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    yield
    reset_logging()
