"""Pure tests of the CTWing store: uplinks in base64, command life cycle, presence, listeners."""

import pytest

from emulator.backends.ctwing.registry import Registry, UnknownDeviceError
from emulator.backends.ctwing.store import CommandStateError, Store
from emulator.core.clock import VirtualClock

TCP_ID = "15436586863318069987727"


@pytest.fixture
def clock():
    return VirtualClock(start=1_669_101_426.0)


@pytest.fixture
def store(clock):
    return Store(clock, Registry.from_config())


def test_uplink_is_shown_in_base64_oldest_first(store, clock):
    store.record_uplink(TCP_ID, b"hello world", "tcp")
    clock.advance(5)
    store.record_uplink(TCP_ID, b"\x00\xff", "mqtt", topic="data_report")
    data = store.data(TCP_ID)
    assert data[0] == {"ts": 1_669_101_426.0, "base64": "aGVsbG8gd29ybGQ=", "protocol": "tcp", "size": 11}
    assert data[1]["topic"] == "data_report" and data[1]["ts"] == 1_669_101_431.0 and data[1]["base64"] == "AP8="
    assert store.payloads(TCP_ID) == [b"hello world", b"\x00\xff"]
    data[0]["base64"] = "tampered"
    assert store.data(TCP_ID)[0]["base64"] == "aGVsbG8gd29ybGQ="


def test_bad_uplinks_are_refused(store):
    with pytest.raises(UnknownDeviceError):
        store.record_uplink("nope", b"x", "tcp")
    with pytest.raises(ValueError, match="protocol"):
        store.record_uplink(TCP_ID, b"x", "http")
    with pytest.raises(TypeError, match="bytes"):
        store.record_uplink(TCP_ID, "text", "tcp")
    assert store.data(TCP_ID) == []


def test_command_life_cycle(store, clock):
    seen = []
    store.on_command_queued(seen.append)
    a = store.queue_command(TCP_ID, b"one")
    b = store.queue_command(TCP_ID, b"two")
    assert seen == [a, b] and a.id < b.id and a.status == "queued"
    assert store.next_queued(TCP_ID) is a
    store.mark_sent(a.id)
    assert store.next_queued(TCP_ID) is b
    clock.advance(2)
    store.mark_delivered(a.id)
    assert a.status == "delivered" and a.delivered_at == clock.now()
    store.mark_failed(b.id, "device offline")
    assert b.status == "failed" and b.reason == "device offline"
    assert store.next_queued(TCP_ID) is None
    assert [c.id for c in store.commands(TCP_ID)] == [a.id, b.id]
    assert store.commands(TCP_ID)[0].to_dict()["payload_hex"] == "6f6e65"


def test_illegal_transitions(store):
    cmd = store.queue_command(TCP_ID, b"x")
    with pytest.raises(CommandStateError, match="queued; cannot become delivered"):
        store.mark_delivered(cmd.id)
    store.mark_sent(cmd.id)
    store.mark_delivered(cmd.id)
    with pytest.raises(CommandStateError):
        store.mark_failed(cmd.id, "late")
    with pytest.raises(CommandStateError, match="unknown command"):
        store.mark_sent(999)
    with pytest.raises(UnknownDeviceError):
        store.queue_command("nope", b"x")


def test_presence_updates_registry(store, clock):
    events = []
    store.on_online_changed(lambda d, o: events.append((d, o)))
    dev = store.registry.device_by_id(TCP_ID)
    store.set_online(TCP_ID, True)
    assert dev.online and dev.last_online == clock.now() and store.is_online(TCP_ID)
    store.set_online(TCP_ID, True)  # no duplicate event
    clock.advance(10)
    store.set_online(TCP_ID, False)
    assert not dev.online and dev.last_offline == clock.now()
    assert events == [(TCP_ID, True), (TCP_ID, False)]


def test_store_without_registry(clock):
    store = Store(clock)
    store.record_uplink("any", b"a", "lwm2m")
    store.set_online("any", True)
    assert store.is_online("any") and store.data("any")[0]["base64"] == "YQ=="


def test_reset_keeps_registry(store):
    store.record_uplink(TCP_ID, b"a", "tcp")
    store.queue_command(TCP_ID, b"b")
    store.reset()
    assert store.data(TCP_ID) == [] and store.commands(TCP_ID) == []
    assert store.registry.device_by_id(TCP_ID) is not None
