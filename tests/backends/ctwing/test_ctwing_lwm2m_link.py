"""The platform hooks the LwM2M server calls: authorization by endpoint format/DTLS, PSK, data, commands."""

import pytest

from emulator.backends.ctwing.lwm2m_link import CtwingLwm2mHooks
from emulator.backends.ctwing.registry import Registry
from emulator.backends.ctwing.store import Store
from emulator.core.clock import VirtualClock

IMEI = "868543060974334"


@pytest.fixture
def hooks():
    registry = Registry.from_config()
    return CtwingLwm2mHooks(registry, Store(VirtualClock(), registry))


def test_authorize_plain_and_dtls(hooks):
    plain = hooks.registry.device_by_imei(IMEI, product_id="15430077")
    dtls = hooks.registry.device_by_imei(IMEI, product_id="16899569")
    assert hooks.authorize(IMEI, None) == plain.device_id
    assert hooks.authorize(f"urn:imei:{IMEI}", IMEI) == dtls.device_id
    assert hooks.authorize(f"urn:imei:{IMEI}", None) is None          # DTLS product over plain CoAP
    assert hooks.authorize(IMEI, IMEI) is None                         # plain product over DTLS
    assert hooks.authorize(f"urn:imei:{IMEI}", "868543060974335") is None  # wrong PSK identity
    assert hooks.authorize("868543060974335", None) is None            # not registered
    assert hooks.authorize(f"urn:imei-imsi:{IMEI}-460115472446714", None) is None  # wrong format


def test_psk_for(hooks):
    assert hooks.psk_for(IMEI) == bytes.fromhex("5459766f69546b333444334e5a36474e")
    assert hooks.psk_for(b"000") is None


def test_presence_uplink_and_downlink(hooks):
    dev = hooks.authorize(IMEI, None)
    hooks.on_registered(dev, object())
    assert hooks.store.is_online(dev)
    hooks.on_uplink(dev, b"hello world", False)
    assert hooks.store.data(dev)[0]["base64"] == "aGVsbG8gd29ybGQ=" and hooks.store.data(dev)[0]["protocol"] == "lwm2m"
    assert hooks.next_downlink(dev) is None
    a = hooks.store.queue_command(dev, b"one")
    b = hooks.store.queue_command(dev, b"two")
    assert hooks.next_downlink(dev) == (a.id, b"one") and a.status == "sent"
    hooks.downlink_result(dev, a.id, True, "2.04 Changed")
    assert hooks.next_downlink(dev) == (b.id, b"two")
    hooks.downlink_result(dev, b.id, False, "no response")
    assert (a.status, b.status, b.reason) == ("delivered", "failed", "no response")
    hooks.on_deregistered(dev, "lifetime expired")
    assert not hooks.store.is_online(dev)
    assert hooks.is_lwm2m_device(dev) and not hooks.is_lwm2m_device("16891291868543060025186")
