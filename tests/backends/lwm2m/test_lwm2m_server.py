"""The LwM2M server against an independent aiocoap device (plain CoAP on loopback).

The "device" here is plain aiocoap (not emulator.net.lwm2m_client): a server context on
127.0.0.1 serving /19/0/0 (observable) and /19/1/0 (writable) that also sends /rd requests.
"""

from __future__ import annotations

import asyncio

import aiocoap
import pytest
from aiocoap import CON, Code
from aiocoap.numbers.constants import Reliable, Unreliable

from lwm2m_support import DEV, IMEI, Device, register

pytestmark = pytest.mark.slow


async def test_register_created_with_location(server, hooks):
    async with Device() as dev:
        resp = await register(dev, server)
        assert resp.code == Code.CREATED
        assert resp.opt.location_path == ("rd", "0")
        reg = server.registrations.get("/rd/0")
        assert (reg.endpoint, reg.lifetime, reg.binding, reg.version) == (IMEI, 86400, "U", "1.0")
        assert [link.path for link in reg.objects] == [(1, 0), (19, 0), (19, 1)]
        assert reg.remote[0] == "127.0.0.1" and reg.remote[1] > 0
        assert hooks.events[0] == ("registered", DEV, "/rd/0")
        await asyncio.wait_for(dev.uplink.observed.wait(), 5)  # and 19/0/0 is observed


async def test_unknown_endpoint_forbidden(server, hooks):
    async with Device() as dev:
        resp = await register(dev, server, ep="860000000000001")
        assert resp.code == Code.FORBIDDEN
        assert len(server.registrations) == 0 and hooks.events == []


@pytest.mark.parametrize("kwargs", [{"ep": None}, {"lt": "abc"}, {"links": b"</19/0"}])
async def test_malformed_bad_request(server, hooks, kwargs):
    async with Device() as dev:
        resp = await register(dev, server, **kwargs)
        assert resp.code == Code.BAD_REQUEST, resp.payload
        assert resp.payload  # a diagnostic saying what is wrong
        assert len(server.registrations) == 0


async def test_observe_and_non_con_notifications_become_uplinks(server, hooks):
    async with Device() as dev:
        await register(dev, server)
        await asyncio.wait_for(dev.uplink.observed.wait(), 5)
        await asyncio.sleep(0)  # let the first response reach the platform
        dev.uplink.updated_state(aiocoap.Message(code=Code.CONTENT, payload=b"non-data", transport_tuning=Unreliable()))
        await hooks.wait_for(lambda e: e[0] == "uplink")
        dev.uplink.updated_state(aiocoap.Message(code=Code.CONTENT, payload=b"con-data", transport_tuning=Reliable()))
        await hooks.wait_for(lambda e: e[0] == "uplink" and e[2] == b"con-data")
        assert hooks.uplinks == [(DEV, b"non-data", False), (DEV, b"con-data", True)]
        obs = server.registrations.get("/rd/0").observations[(19, 0, 0)]
        assert obs.notifications == 2 and obs.token


async def test_no_observe_without_19_0(server, hooks):
    async with Device() as dev:
        resp = await register(dev, server, links=b'</>;rt="oma.lwm2m",</1/0>,</3/0>')
        assert resp.code == Code.CREATED
        await asyncio.sleep(0.2)  # negative check: give a wrong Observe time to arrive
        assert not dev.uplink.observed.is_set()


async def test_update_triggers_queued_downlink(server, hooks):
    async with Device() as dev:
        await register(dev, server)
        hooks.queue(DEV, 7, b"helloworld ack")  # queued while online, without kick
        resp = await dev.send(server, Code.POST, "rd/0", ["lt=3600"])
        assert resp.code == Code.CHANGED
        payload, fmt, mtype = await asyncio.wait_for(dev.downlink.writes.get(), 5)
        assert (payload, fmt, mtype) == (b"helloworld ack", 42, CON)
        await hooks.wait_for(lambda e: e[0] == "result")
        assert hooks.results == [(DEV, 7, True, "2.04 Changed")]
        assert server.registrations.get("/rd/0").lifetime == 3600


async def test_kick_delivers_and_rejection_is_failure(server, hooks):
    async with Device(write_code=Code.METHOD_NOT_ALLOWED) as dev:
        await register(dev, server)
        hooks.queue(DEV, 1, b"\x00\x01")
        server.kick(DEV)
        await hooks.wait_for(lambda e: e[0] == "result")
        assert hooks.results[0][:3] == (DEV, 1, False)


async def test_deregister_and_unknown_location(server, hooks):
    async with Device() as dev:
        await register(dev, server)
        resp = await dev.send(server, Code.DELETE, "rd/0")
        assert resp.code == Code.DELETED
        assert ("deregistered", DEV, "deregistered") in hooks.events
        assert len(server.registrations) == 0
        assert (await dev.send(server, Code.POST, "rd/0")).code == Code.NOT_FOUND
        assert (await dev.send(server, Code.DELETE, "rd/0")).code == Code.NOT_FOUND


async def test_lifetime_expiry_on_virtual_clock(server, hooks, clock):
    async with Device() as dev:
        await register(dev, server, lt="300")
        clock.advance(299)
        assert len(server.registrations) == 1
        clock.advance(1)
        assert len(server.registrations) == 0
        assert hooks.events[-1] == ("deregistered", DEV, "expired")
        hooks.queue(DEV, 2, b"late")
        server.kick(DEV)  # offline: nothing is attempted
        await asyncio.sleep(0.05)
        assert hooks.results == [] and dev.downlink.writes.empty()


async def test_unreachable_device_downlink_fails(server, hooks):
    dev = Device()
    async with dev:
        await register(dev, server, links=b'</>;rt="oma.lwm2m",</19/1>')
    # the device's socket is gone; the write times out (aiocoap's wall-clock retransmission,
    # shortened to 0.2 s x 1 retransmit by the fixture)
    hooks.queue(DEV, 3, b"x")
    server.kick(DEV)
    await hooks.wait_for(lambda e: e[0] == "result", timeout=10)
    assert hooks.results[0][:3] == (DEV, 3, False)


async def test_reregistration_replaces_and_reobserves(server, hooks):
    async with Device() as dev:
        await register(dev, server)
        await asyncio.wait_for(dev.uplink.observed.wait(), 5)
        async with Device() as dev2:  # the module rebooted: new socket, same endpoint
            resp = await register(dev2, server)
            assert resp.opt.location_path == ("rd", "1")
            await asyncio.wait_for(dev2.uplink.observed.wait(), 5)
            assert [r.location for r in server.registrations] == ["/rd/1"]
            assert (await dev.send(server, Code.POST, "rd/0")).code == Code.NOT_FOUND
            hooks.queue(DEV, 11, b"to-new-socket")
            server.kick(DEV)
            assert (await asyncio.wait_for(dev2.downlink.writes.get(), 5))[0] == b"to-new-socket"
            assert dev.downlink.writes.empty()
