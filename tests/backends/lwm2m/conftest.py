"""Fixtures for the LwM2M server tests (helpers live in lwm2m_support.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # lwm2m_support sits beside the tests

from emulator.backends.lwm2m.server import Lwm2mServer
from emulator.core.clock import VirtualClock
from lwm2m_support import MemoryHooks


@pytest.fixture
def clock():
    return VirtualClock()


@pytest.fixture
def hooks():
    return MemoryHooks()


@pytest.fixture
async def server(hooks, clock):
    srv = Lwm2mServer(hooks, clock, port=0, dtls_port=0, ack_timeout=0.2, max_retransmit=1)
    await srv.start()
    yield srv
    await srv.stop()
