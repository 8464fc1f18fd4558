"""Fixtures for the LwM2M server tests: an in-memory Lwm2mPlatformHooks and a started server."""

from __future__ import annotations

import asyncio
from collections import deque

import pytest

from emulator.backends.lwm2m.server import Lwm2mServer
from emulator.core.clock import VirtualClock

IMEI = "868543060974334"
PSK = b"TYvoiTk34D3NZ6GN"  # seed-fixtures.md, CTWing DTLS device


class MemoryHooks:
    """What the CTWing registry will do, in a few dicts; records every callback."""

    def __init__(self) -> None:
        self.devices = {IMEI: "dev-" + IMEI}  # IMEI -> device_id
        self.psks = {IMEI: PSK}
        self.events: list[tuple] = []
        self.uplinks: list[tuple[str, bytes, bool]] = []
        self.queues: dict[str, deque] = {}
        self.results: list[tuple[str, int, bool, str]] = []
        self._waiters: list[tuple[callable, asyncio.Future]] = []

    def authorize(self, endpoint, dtls_identity):
        imei = endpoint.rsplit(":", 1)[-1]
        return self.devices.get(imei)

    def psk_for(self, identity):
        return self.psks.get(identity)

    def on_registered(self, device_id, reg):
        self._record(("registered", device_id, reg.location))

    def on_deregistered(self, device_id, reason):
        self._record(("deregistered", device_id, reason))

    def on_uplink(self, device_id, payload, confirmable):
        self.uplinks.append((device_id, payload, confirmable))
        self._record(("uplink", device_id, payload, confirmable))

    def next_downlink(self, device_id):
        q = self.queues.get(device_id)
        return q.popleft() if q else None

    def downlink_result(self, device_id, command_id, ok, reason):
        self.results.append((device_id, command_id, ok, reason))
        self._record(("result", device_id, command_id, ok))

    def queue(self, device_id, command_id, payload):
        self.queues.setdefault(device_id, deque()).append((command_id, payload))

    def _record(self, event):
        self.events.append(event)
        for pred, fut in list(self._waiters):
            if not fut.done() and pred(event):
                fut.set_result(event)

    async def wait_for(self, pred, timeout=5.0):
        """Wait (bounded, for network I/O only) until an event matching ``pred`` is recorded."""
        for event in self.events:
            if pred(event):
                return event
        fut = asyncio.get_running_loop().create_future()
        self._waiters.append((pred, fut))
        return await asyncio.wait_for(fut, timeout)


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
