"""The CTWing command model alone (``emulator/backends/ctwing/models.py``): which command goes out
next, when (reachable / PSM hold / ttl / no-response timeout on the virtual clock) and how its
status moves. No server, no socket: the model is pure, time is the VirtualClock."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.backends.ctwing.models import (
    DEFAULT_TTL, MAX_PAYLOAD, RESPONSE_TIMEOUT, CommandModel, CommandStateError, check_ttl,
)
from emulator.backends.ctwing.registry import Registry, lwm2m_device_id
from emulator.core.clock import VirtualClock

MQTT_DEVICE = "16891291868543060025186"
TCP_DEVICE = "15436586863318069987727"
PSM_LWM2M = lwm2m_device_id("15430077", "868543060974334")  # default product 15430077 is PSM


def _model(online=(), **kwargs):
    clock = VirtualClock()
    online = set(online)
    model = CommandModel(clock, is_online=online.__contains__, registry=Registry.from_config(), **kwargs)
    return clock, model, online


def test_oldest_first_one_in_flight_per_device():
    _clock, model, _ = _model()
    a = model.queue(TCP_DEVICE, b"a")
    b = model.queue(TCP_DEVICE, b"b")
    other = model.queue(MQTT_DEVICE, b"x")
    assert model.take_next(TCP_DEVICE) is a and a.status == "sent"
    assert model.take_next(TCP_DEVICE) is None  # a waits for its answer: b stays queued
    assert model.in_flight(TCP_DEVICE) is a and b.status == "queued"
    assert model.take_next(MQTT_DEVICE) is other  # devices do not hold each other back
    assert model.settle(a.id, True) is a and a.status == "delivered"
    assert model.take_next(TCP_DEVICE) is b
    model.settle(b.id, False, "4.05")
    assert (b.status, b.reason) == ("failed", "4.05")
    assert model.take_next(TCP_DEVICE) is None


def test_written_is_delivered_at_once_for_a_transport_without_answers():
    _clock, model, _ = _model()
    a, b = model.queue(TCP_DEVICE, b"a"), model.queue(TCP_DEVICE, b"b")
    for cmd in (a, b):
        assert model.take_next(TCP_DEVICE) is cmd
        model.written(cmd.id)
    assert [c.status for c in model.commands(TCP_DEVICE)] == ["delivered", "delivered"]


def test_should_deliver_needs_reachable_and_holds_psm_lwm2m_until_contact():
    _clock, model, _ = _model()
    for device in (TCP_DEVICE, MQTT_DEVICE, PSM_LWM2M):
        for trigger in ("queued", "abandoned", "contact", "subscribed"):
            assert not model.should_deliver(device, trigger, reachable=False)
    for device in (TCP_DEVICE, MQTT_DEVICE):
        assert model.should_deliver(device, "queued", reachable=True)
    assert model.holds_until_contact(PSM_LWM2M)
    assert not model.should_deliver(PSM_LWM2M, "queued", reachable=True)
    assert not model.should_deliver(PSM_LWM2M, "abandoned", reachable=True)
    assert model.should_deliver(PSM_LWM2M, "contact", reachable=True)
    with pytest.raises(ValueError, match="trigger"):
        model.should_deliver(TCP_DEVICE, "whenever", reachable=True)


def test_drx_lwm2m_product_delivers_when_queued():
    clock = VirtualClock()
    registry = Registry.from_config({"products": [{"product_id": "15430077", "power_saving": "DRX"}]})
    model = CommandModel(clock, registry=registry)
    assert not model.holds_until_contact(PSM_LWM2M)
    assert model.should_deliver(PSM_LWM2M, "queued", reachable=True)


def test_ttl_expiry_fails_a_queued_command_on_the_virtual_clock():
    clock, model, _ = _model()
    expired = []
    model.on_expired(expired.append)
    cmd = model.queue(TCP_DEVICE, b"a", ttl=60)
    clock.advance(59.999)
    assert cmd.status == "queued"
    clock.advance(0.001)
    assert (cmd.status, cmd.reason, cmd.failed_at) == ("failed", "ttl expired", clock.now())
    assert expired == [cmd]
    assert model.take_next(TCP_DEVICE) is None


def test_ttl_zero_fails_at_once_offline_and_is_sent_online():
    _clock, model, online = _model()
    queued = []
    model.on_queued(queued.append)
    off = model.queue(TCP_DEVICE, b"a", ttl=0)
    assert (off.status, off.reason) == ("failed", "ttl expired") and queued == []
    online.add(TCP_DEVICE)
    on = model.queue(TCP_DEVICE, b"b", ttl=0)
    assert on.status == "queued" and queued == [on]
    assert model.take_next(TCP_DEVICE) is on


def test_no_response_timeout_frees_the_next_command_and_a_late_answer_is_ignored():
    clock, model, _ = _model(response_timeout=30)
    expired = []
    model.on_expired(expired.append)
    a, b = model.queue(MQTT_DEVICE, b"a"), model.queue(MQTT_DEVICE, b"b")
    model.take_next(MQTT_DEVICE)
    clock.advance(29)
    assert model.take_next(MQTT_DEVICE) is None
    clock.advance(1)
    assert (a.status, a.reason) == ("failed", "no response") and expired == [a]
    assert model.settle(a.id, True) is None and a.status == "failed"
    assert model.take_next(MQTT_DEVICE) is b


def test_sending_cancels_the_ttl_timer_and_answering_the_response_timer():
    clock, model, _ = _model()
    cmd = model.queue(TCP_DEVICE, b"a", ttl=10)
    model.take_next(TCP_DEVICE)
    clock.advance(RESPONSE_TIMEOUT - 1)
    assert cmd.status == "sent"  # the 10 s ttl no longer applies once sent
    model.settle(cmd.id, True)
    clock.advance(DEFAULT_TTL)
    assert cmd.status == "delivered" and clock.pending() == []


def test_status_moves_are_checked():
    _clock, model, _ = _model()
    cmd = model.queue(TCP_DEVICE, b"a")
    with pytest.raises(CommandStateError, match="queued; cannot become delivered"):
        model.mark_delivered(cmd.id)
    model.mark_sent(cmd.id)
    model.mark_delivered(cmd.id)
    for move in (model.mark_sent, model.mark_failed, model.mark_delivered):
        with pytest.raises(CommandStateError):
            move(cmd.id)
    with pytest.raises(CommandStateError, match="unknown command"):
        model.command(999)


def test_bad_payloads_and_ttls_are_refused():
    _clock, model, _ = _model()
    with pytest.raises(TypeError):
        model.queue(TCP_DEVICE, "text")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="exceeds"):
        model.queue(TCP_DEVICE, b"x" * (MAX_PAYLOAD + 1))
    for bad in (-1, 864001, True, "60", float("nan")):
        with pytest.raises(ValueError, match="ttl"):
            check_ttl(bad)
    assert model.commands(TCP_DEVICE) == []


def test_reset_forgets_commands_and_cancels_their_timers():
    clock, model, _ = _model()
    model.queue(TCP_DEVICE, b"a", ttl=5)
    model.reset()
    assert model.commands(TCP_DEVICE) == [] and clock.pending() == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["queue", "take", "ok", "fail", "tick"]),
                          st.integers(min_value=0, max_value=400)), max_size=40))
def test_random_sequences_keep_the_rule(ops):
    """Whatever happens: at most one command in flight per device, oldest queued goes first,
    and every command ends in a status the life cycle allows."""
    clock, model, _ = _model(response_timeout=100)
    for op, n in ops:
        if op == "queue":
            model.queue(TCP_DEVICE, bytes([n % 256]), ttl=n)
        elif op == "take":
            oldest = model.next_queued(TCP_DEVICE)
            busy = model.in_flight(TCP_DEVICE) is not None
            got = model.take_next(TCP_DEVICE)
            assert got is (None if busy else oldest)
        elif op in ("ok", "fail"):
            sent = model.in_flight(TCP_DEVICE)
            if sent is not None:
                model.settle(sent.id, op == "ok", "x")
        else:
            clock.advance(n)
        statuses = [c.status for c in model.commands(TCP_DEVICE)]
        assert statuses.count("sent") <= 1
        assert set(statuses) <= {"queued", "sent", "delivered", "failed"}
