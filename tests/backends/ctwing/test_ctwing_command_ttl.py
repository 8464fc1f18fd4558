"""CTWing command life time: the AEP's 指令缓存时长 (``ttl``) and a Write the device never answers.

The AEP's CreateCommand takes ``ttl`` (seconds, 0-864000, default 7200, 0 = do not cache): a
command still cached when it runs out is timed out. A command sent to an LwM2M device whose host
never types AT+QLWWRRSP must not stay "sent" forever and hold back the device's next commands:
it fails with "no response" after the CoAP EXCHANGE_LIFETIME (247 s, RFC 7252 §4.8.2). Every
wait here is virtual time (the store's timers are on the VirtualClock).
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from emulator.backends.ctwing.api import make_router
from emulator.backends.ctwing.registry import Registry
from emulator.backends.ctwing.store import DEFAULT_TTL, RESPONSE_TIMEOUT, Store
from emulator.core.clock import VirtualClock
from emulator.testing.harness import ModemHarness

IMEI = "868543060974334"
MQTT_DEVICE = "16891291868543060025186"


def _store():
    clock = VirtualClock()
    registry = Registry.from_config()
    return clock, Store(clock, registry)


def test_queued_command_expires_on_its_ttl_and_the_next_one_stays_queued():
    clock, store = _store()
    short = store.queue_command(MQTT_DEVICE, b"one", ttl=60)
    later = store.queue_command(MQTT_DEVICE, b"two")
    assert later.ttl == DEFAULT_TTL == 7200
    clock.advance(59.9)
    assert short.status == "queued"
    clock.advance(0.1)
    assert (short.status, short.reason) == ("failed", "ttl expired")
    assert store.next_queued(MQTT_DEVICE) is later
    clock.advance(DEFAULT_TTL - 60.1)
    assert later.status == "queued"
    clock.advance(0.1)
    assert (later.status, later.reason) == ("failed", "ttl expired")


def test_sent_command_without_answer_fails_with_no_response():
    clock, store = _store()
    seen = []
    store.on_command_expired(seen.append)
    cmd = store.queue_command(MQTT_DEVICE, b"one", ttl=10)
    store.mark_sent(cmd.id)
    clock.advance(100)  # past the ttl: it is no longer cached, it is waiting for the device
    assert cmd.status == "sent"
    clock.advance(RESPONSE_TIMEOUT - 100)
    assert (cmd.status, cmd.reason) == ("failed", "no response") and seen == [cmd]


def test_answered_command_is_not_timed_out():
    clock, store = _store()
    cmd = store.queue_command(MQTT_DEVICE, b"one", ttl=10)
    store.mark_sent(cmd.id)
    store.mark_delivered(cmd.id)
    clock.advance(10 * RESPONSE_TIMEOUT)
    assert cmd.status == "delivered" and cmd.reason is None


def test_ttl_zero_is_not_cached_for_an_offline_device():
    _, store = _store()
    cmd = store.queue_command(MQTT_DEVICE, b"one", ttl=0)
    assert (cmd.status, cmd.reason) == ("failed", "ttl expired")
    assert store.next_queued(MQTT_DEVICE) is None


def test_api_takes_ttl_and_rejects_bad_ones():
    clock, store = _store()
    app = FastAPI()
    app.include_router(make_router(store.registry, store))
    with TestClient(app) as api:
        url = f"/api/ctwing/devices/{MQTT_DEVICE}/commands"
        for bad in (-1, 864001, "soon", True):
            r = api.post(url, json={"payload": "x", "ttl": bad})
            assert r.status_code == 400, bad
        r = api.post(url, json={"payload": "x", "ttl": 30})
        assert r.status_code == 201 and r.json()["status"] == "queued"
        clock.advance(30)
        listed = api.get(url).json()
        assert [(c["status"], c["reason"], c["ttl"]) for c in listed] == [("failed", "ttl expired", 30.0)]


def _register(h: ModemHarness) -> None:
    h.command('AT+QLWCFG="lifetime_enable",0')
    h.command(f'AT+QLWCONFIG=0,"221.229.214.202",5683,"{IMEI}",86400,3,0')
    h.command("AT+QLWADDOBJ=19,0,1,0")
    h.command("AT+QLWADDOBJ=19,1,1,0")
    h.command("AT+QLWREG", "OK", "+QLWREG: 0", '+QLWURC: "observe",{obs:\\d+},0,19,0,0')
    h.command('AT+QLWOBSRSP={obs},1,19,0,0,2,10,"68656c6c6f776f726c64",0', "OK", "+QLWOBSRSP: {obs},0")


@pytest.mark.slow
def test_lwm2m_write_never_answered_fails_and_the_next_command_goes_out():
    """EC800E registered on the guide's (PSM) product: the first Write reaches the host, which
    never types AT+QLWWRRSP; the device stays registered. After 247 s of virtual time the
    command is failed "no response" and the next queued command is written on the next contact."""
    with ModemHarness("ec800e", backends=["ctwing"]) as h:
        _register(h)
        store = h.emulator.backends["ctwing"].store
        first = h.platform("ctwing", "queue_command", device=IMEI, payload="first")
        second = h.platform("ctwing", "queue_command", device=IMEI, payload="second")
        h.command("AT+QLWUPDATE=0,86400", "OK", "+QLWUPDATE: 0,{u:\\d+}",
                  '+QLWURC: "write",{w1:\\d+},19,1,0,2,5,6669727374,0', allow_other=True)
        assert store.command(first).status == "sent"
        h.wait(RESPONSE_TIMEOUT - 10)
        assert store.command(first).status == "sent"
        h.wait("11s")
        assert (store.command(first).status, store.command(first).reason) == ("failed", "no response")
        assert store.command(second).status == "queued"
        h.drain()
        h.command("AT+QLWUPDATE=0,86400", "OK", "+QLWUPDATE: 0,{u2:\\d+}",
                  '+QLWURC: "write",{w2:\\d+},19,1,0,2,6,7365636F6E64,0', allow_other=True)
        h.command("AT+QLWWRRSP={w2},2", "OK", "+QLWWRRSP: {w2},0", allow_other=True)
        for _ in range(200):
            if store.command(second).status == "delivered":
                break
            h.wait("0.05s")
        assert store.command(second).status == "delivered"
        h.drain()
