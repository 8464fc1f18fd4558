"""Pure tests of the CTWing registry: defaults from docs/guides.md, lookups, endpoint formats."""

import pytest

from emulator.backends.ctwing.registry import (
    Registry, RegistryError, UnknownDeviceError, lwm2m_device_id, parse_psk)
from emulator.errors import ConfigError

IMEI, IMSI = "868543060974334", "460115472446714"
MQTT_ID = "16891291868543060025186"
TCP_ID = "15436586863318069987727"


@pytest.fixture
def reg():
    return Registry.from_config()


def test_defaults_follow_the_guide(reg):
    assert set(reg.products) == {"15430077", "16899569", "16891291", "15436586"}
    mqtt = reg.device_by_id(MQTT_ID)
    assert mqtt.device_number == "868543060025186" and mqtt.name == "device001"
    assert mqtt.password == "nFSzM3tjRCOYygFWrlOb26eKsiwYtoRqgP862HcxVwU"
    tcp = reg.device_by_id(TCP_ID)
    assert tcp.password == "ny6f1tSA41DQUVPD6P8g4iOk9zWNg5LGa9LIzPymuE8"  # capital I (docs/guides.md)
    plain = reg.device_by_imei(IMEI, product_id="15430077")
    assert plain.imsi == IMSI and plain.name == "device001" and plain.psk is None
    dtls = reg.device_by_imei(IMEI, product_id="16899569")
    assert dtls.psk == b"TYvoiTk34D3NZ6GN" and dtls.psk.hex() == "5459766f69546b333444334e5a36474e"
    assert dtls.psk_identity == IMEI
    assert reg.products["15430077"].tenant_id == "2000033383"


def test_lwm2m_device_ids_are_stable_32_hex(reg):
    dev = reg.device_by_imei(IMEI, product_id="15430077")
    assert len(dev.device_id) == 32 and int(dev.device_id, 16) >= 0
    assert dev.device_id == lwm2m_device_id("15430077", IMEI)
    assert dev.device_id != reg.device_by_imei(IMEI, product_id="16899569").device_id
    assert Registry.from_config().device_by_imei(IMEI).device_id == reg.device_by_imei(IMEI).device_id


def test_endpoint_formats(reg):
    dev, prod = reg.lwm2m_device_for_endpoint(IMEI)
    assert prod.product_id == "15430077" and dev.imei == IMEI
    dev, prod = reg.lwm2m_device_for_endpoint(f"urn:imei:{IMEI}")
    assert prod.product_id == "16899569" and prod.dtls
    # no product uses urn:imei-imsi: by default -> refused
    assert reg.lwm2m_device_for_endpoint(f"urn:imei-imsi:{IMEI}-{IMSI}") is None
    assert reg.lwm2m_device_for_endpoint("868543060974335") is None
    assert reg.lwm2m_device_for_endpoint("urn:imei:12345") is None


def test_imei_imsi_format_needs_matching_imsi():
    reg = Registry.from_config({"defaults": False, "products": [
        {"product_id": "100", "name": "p", "protocol": "lwm2m", "endpoint_format": "urn:imei-imsi:"}],
        "devices": [{"product_id": "100", "name": "d", "imei": IMEI, "imsi": IMSI}]})
    assert reg.lwm2m_device_for_endpoint(f"urn:imei-imsi:{IMEI}-{IMSI}")[1].product_id == "100"
    assert reg.lwm2m_device_for_endpoint(f"urn:imei-imsi:{IMEI}-460115472446715") is None
    assert reg.lwm2m_device_for_endpoint(IMEI) is None  # plain IMEI is the wrong format here
    assert reg.lwm2m_device_for_endpoint(f"urn:imei:{IMEI}") is None
    with pytest.raises(RegistryError, match="IMSI"):
        reg.add_device({"product_id": "100", "name": "x", "imei": "868543060974335"})


def test_feature_string_checks(reg):
    assert reg.check_feature_string(MQTT_ID, "nFSzM3tjRCOYygFWrlOb26eKsiwYtoRqgP862HcxVwU", "mqtt") == "ok"
    assert reg.check_feature_string(MQTT_ID, "wrong", "mqtt") == "auth"
    assert reg.check_feature_string(MQTT_ID, None, "mqtt") == "auth"
    assert reg.check_feature_string("16891291000", "x", "mqtt") == "unknown"
    # a TCP device cannot log in over MQTT
    assert reg.check_feature_string(TCP_ID, "ny6f1tSA41DQUVPD6P8g4iOk9zWNg5LGa9LIzPymuE8", "mqtt") == "unknown"
    assert reg.check_feature_string(TCP_ID, "ny6f1tSA41DQUVPD6P8g4iOk9zWNg5LGa9LizPymuE8", "tcp") == "auth"


def test_one_per_product_secret():
    reg = Registry.from_config({"products": [{"product_id": "200", "name": "p", "protocol": "tcp",
                                              "auth": "feature_string", "security": "one-per-product",
                                              "feature_string": "shared"}]})
    a = reg.add_device({"product_id": "200", "device_number": "a1"})
    b = reg.add_device({"product_id": "200", "device_number": "b2"})
    assert a.device_id == "200a1" and a.password is None
    for dev in (a, b):
        assert reg.check_feature_string(dev.device_id, "shared", "tcp") == "ok"


def test_config_overrides_and_errors():
    reg = Registry.from_config({"devices": [{"device_id": MQTT_ID, "product_id": "16891291", "password": "new"}]})
    assert reg.device_by_id(MQTT_ID).password == "new" and reg.device_by_id(MQTT_ID).name == "device001"
    reg = Registry.from_config({"products": [{"product_id": "16899569", "endpoint_format": "IMEI"}]})
    assert reg.products["16899569"].dtls and reg.products["16899569"].endpoint_format == "IMEI"
    with pytest.raises(ConfigError, match="protocol"):
        Registry.from_config({"products": [{"product_id": "1", "name": "x", "protocol": "coap"}]})
    with pytest.raises(ConfigError, match="unknown product"):
        Registry.from_config({"devices": [{"product_id": "999", "imei": IMEI}]})
    with pytest.raises(ConfigError, match="unknown device field"):
        Registry.from_config({"devices": [{"product_id": "15430077", "imei": IMEI, "colour": "red"}]})


def test_add_device_validation(reg):
    with pytest.raises(RegistryError, match="15-digit IMEI"):
        reg.add_device({"product_id": "15430077", "imei": "1234"})
    with pytest.raises(RegistryError, match="already exists"):
        reg.add_device({"product_id": "16891291", "device_number": "868543060025186"})
    with pytest.raises(RegistryError, match="product_id \\+ device_number"):
        reg.add_device({"product_id": "16891291", "device_number": "1", "device_id": "999"})
    dev = reg.add_device({"product_id": "16891291", "device_number": "dev2"})
    assert dev.device_id == "16891291dev2" and len(dev.password) == 43
    dtls = reg.add_device({"product_id": "16899569", "imei": "868543060974335"})
    assert dtls.psk and len(dtls.psk) == 16 and dtls.psk_identity == "868543060974335"


def test_resolve_and_psk_lookup(reg):
    assert reg.resolve(MQTT_ID).device_id == MQTT_ID
    assert reg.resolve(IMEI).imei == IMEI
    with pytest.raises(UnknownDeviceError, match="unknown CTWing device"):
        reg.resolve("nope")
    dev, psk = reg.psk_for_identity(IMEI.encode())
    assert dev.product_id == "16899569" and psk == b"TYvoiTk34D3NZ6GN"
    assert reg.psk_for_identity("000000000000000") is None


def test_device_by_imei_prefers_online(reg):
    dtls = reg.device_by_imei(IMEI, product_id="16899569")
    assert reg.device_by_imei(IMEI).product_id == "15430077"
    dtls.online = True
    assert reg.device_by_imei(IMEI) is dtls
    # after the DTLS session ended, the IMEI still names the device the module last used (its
    # data and commands), not the never-used plain one
    dtls.online, dtls.last_online = False, 1000.0
    assert reg.device_by_imei(IMEI) is dtls
    # also when that session was early in virtual time (scenarios start the clock near 0)
    dtls.last_online = 0.5
    assert reg.device_by_imei(IMEI) is dtls
    assert reg.devices_by_imei(IMEI)[0] is dtls


def test_device_by_imei_two_online_takes_the_latest(reg):
    # guide 001 typed top to bottom: §6.1 leaves the plain registration online, the module
    # reboots (AT+CFUN=1,1) and registers in the DTLS product (§4.1.3.2): the IMEI now means
    # the DTLS device, whose session is the live one, whatever the registry's order
    plain = reg.device_by_imei(IMEI, product_id="15430077")
    dtls = reg.device_by_imei(IMEI, product_id="16899569")
    plain.online, plain.last_online = True, 1000.0
    dtls.online, dtls.last_online = True, 2000.0
    assert reg.device_by_imei(IMEI) is dtls
    plain.last_online = 3000.0
    assert reg.device_by_imei(IMEI) is plain


def test_parse_psk():
    assert parse_psk("TYvoiTk34D3NZ6GN") == b"TYvoiTk34D3NZ6GN"
    assert parse_psk("hex:5459766f69546b333444334e5a36474e") == b"TYvoiTk34D3NZ6GN"
    assert parse_psk("0x0102") == b"\x01\x02"
    assert parse_psk(b"\x00") == b"\x00"
    with pytest.raises(RegistryError, match="not valid hex"):
        parse_psk("hex:zz")
