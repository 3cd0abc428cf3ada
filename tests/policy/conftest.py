"""Fixtures of this directory: predictable UUIDs that leave token ids distinct."""

from __future__ import annotations

import pytest

from helpers import SpreadIds


@pytest.fixture
def ids() -> SpreadIds:
    """Predictable UUIDs (overrides the root fixture; see helpers.SpreadIds for why)."""
    return SpreadIds()
