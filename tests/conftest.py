"""Shared fixtures (the harness itself lives in ``emulator/testing/harness.py``)."""

from __future__ import annotations

import pytest

from emulator.testing.harness import make_harness


@pytest.fixture
def harness():
    """``harness(module="ec800e", testkit=True, echo=False)`` -> Harness (echo off by default)."""
    return make_harness
