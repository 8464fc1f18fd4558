"""Pure tests of the ThingPlug registry, payload decoding, store, protocol codec and model rules."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.backends.thingplug import protocol
from emulator.backends.thingplug.models import FIRST_RPC_ID, MAX_PAYLOAD, ThingPlugModel
from emulator.backends.thingplug.protocol import ProtocolError, Topic, parse_down, parse_topic, parse_up
from emulator.backends.thingplug.registry import (
    DEFAULT_TOKEN, ConflictError, Descriptor, InvalidError, NotFoundError, Registry,
)
from emulator.backends.thingplug.store import PayloadError, decode_data

SVC, DEV = "smarthome", "smartlight001"
TEL = f"v1/dev/{SVC}/{DEV}/telemetry"


class Clock:
    def __init__(self) -> None:
        self.t = 1_700_000_000.0

    def now(self) -> float:
        return self.t


@pytest.fixture
def model() -> ThingPlugModel:
    return ThingPlugModel(Registry.from_config({}), Clock().now)


# --- registry ---------------------------------------------------------------------------------------
def test_default_registry_is_the_guides():
    reg = Registry.from_config(None)
    dev = reg.device_by_token("a0149f60b---------")
    assert (dev.service, dev.name) == ("smarthome", "smartlight001")
    assert reg.get_service("smarthome").descriptor.to_json() == {
        "attributes": [{"name": "LED", "commandable": True}],
        "telemetries": [{"name": "temperature", "tag": "temperature"}, {"name": "humidity", "tag": "humidity"}],
    }


def test_descriptor_accepts_the_portal_wrapper():
    desc = Descriptor.from_json({"format": "json", "jsonForm": {
        "attributes": [{"name": "LED", "commandable": True}], "telemetries": [{"name": "t", "tag": "t"}]}})
    assert desc.columns("attribute") == ["LED"] and desc.columns("telemetry") == ["t"]


@pytest.mark.parametrize("bad", [
    [], {"attributes": "LED"}, {"attributes": [{"commandable": True}]}, {"telemetries": [{"name": "a/b"}]},
    {"telemetries": [{"name": "x"}, {"name": "x"}]}, {"attributes": [{"name": "L", "commandable": "yes"}]},
    {"sensors": []}, {"telemetries": [{"name": "ts"}]},
])
def test_bad_descriptors_are_refused(bad):
    with pytest.raises(InvalidError):
        Descriptor.from_json(bad)


def test_config_adds_and_replaces():
    reg = Registry.from_config({"services": {
        "smarthome": {"descriptor": {"telemetries": ["light"]}, "devices": {"smartlight001": {"token": "T2"}}},
        "farm": {"devices": {"cow1": {}}},
    }})
    assert reg.get_service("smarthome").descriptor.columns("telemetry") == ["light"]
    assert reg.device_by_token(DEFAULT_TOKEN) is None and reg.device_by_token("T2").name == "smartlight001"
    cow = reg.get_device("farm", "cow1")
    assert len(cow.token) == 32 and reg.device_by_token(cow.token) is cow
    assert Registry.from_config({"defaults": False}).services() == []


def test_issued_tokens_are_deterministic_and_unique():
    a, b = Registry.from_config({}), Registry.from_config({})
    ta = [a.create_device(SVC, f"d{i}").token for i in range(3)]
    assert ta == [b.create_device(SVC, f"d{i}").token for i in range(3)]
    assert len(set(ta)) == 3


def test_registry_errors_name_what_is_known():
    reg = Registry.from_config({})
    with pytest.raises(NotFoundError, match="known: smarthome"):
        reg.get_service("nope")
    with pytest.raises(NotFoundError, match="smartlight001"):
        reg.get_device(SVC, "nope")
    with pytest.raises(ConflictError):
        reg.create_device(SVC, DEV)
    with pytest.raises(ConflictError):
        reg.create_device(SVC, "other", DEFAULT_TOKEN)
    with pytest.raises(InvalidError):
        reg.create_device(SVC, "a+b")


# --- payload decoding ---------------------------------------------------------------------------------
DESC = Descriptor.from_json({"attributes": [{"name": "ver"}, {"name": "LED", "commandable": True}],
                             "telemetries": ["temperature", "humidity"]})


def test_decode_json_and_ts():
    assert decode_data("telemetry", "json", b'{"temperature":30, "humidity":20}', DESC) == (
        {"temperature": 30, "humidity": 20}, None)
    assert decode_data("telemetry", "json", b'{"temperature":1.5,"ts":1510000000}', DESC) == (
        {"temperature": 1.5}, 1510000000)
    assert decode_data("telemetry", "json", b'{"humidity":1,"ts":1510000000123}', DESC)[1] == pytest.approx(1510000000.123)


def test_decode_csv_in_descriptor_order():
    assert decode_data("telemetry", "csv", b"30,42.5", DESC)[0] == {"temperature": 30, "humidity": 42.5}
    # the SDK samples' "<ts>,<values>" (TP-LINUX MA.c, TP-JAVAME SampleApp): the first value is the time
    assert decode_data("telemetry", "csv", b"1510000000,30,42.5", DESC) == ({"temperature": 30, "humidity": 42.5},
                                                                           1510000000)
    assert decode_data("telemetry", "csv", b"1510000000123,30,42.5", DESC)[1] == 1510000000.123
    assert decode_data("attribute", "csv", b"1.0.3,on", DESC)[0] == {"ver": "1.0.3", "LED": "on"}
    assert decode_data("attribute", "csv", b",off\r\n", DESC)[0] == {"LED": "off"}  # empty cell = no value


def test_decode_offset_is_big_endian_int32_hex():
    payload = (30).to_bytes(4, "big", signed=True).hex() + (-5).to_bytes(4, "big", signed=True).hex()
    assert decode_data("telemetry", "offset", payload.encode(), DESC)[0] == {"temperature": 30, "humidity": -5}


@pytest.mark.parametrize("kind,fmt,payload,why", [
    ("telemetry", "json", b'{"pressure":1}', "unknown telemetry keys"),
    ("telemetry", "json", b'{"LED":"on"}', "unknown telemetry keys"),
    ("attribute", "json", b'{"temperature":1}', "unknown attribute keys"),
    ("telemetry", "json", b"temperature=30", "not JSON"),
    ("telemetry", "json", b"[30,20]", "JSON object"),
    ("telemetry", "json", b"{}", "no telemetry values"),
    ("telemetry", "json", b'{"temperature":{"c":1}}', "number, string or boolean"),
    ("telemetry", "json", b'{"temperature":1,"ts":"now"}', "'ts'"),
    ("telemetry", "json", b"\xff\xfe", "UTF-8"),
    ("telemetry", "csv", b"30", "1 values but the descriptor has 2"),
    ("telemetry", "csv", b"30,20,10", "3 values"),
    ("telemetry", "csv", b",", "no telemetry values"),
    ("telemetry", "offset", b"0000001e", "expected 16"),
    ("telemetry", "offset", b"zz00001e0000001e", "not a hex string"),
])
def test_bad_payloads_are_rejected(kind, fmt, payload, why):
    with pytest.raises(PayloadError, match=why):
        decode_data(kind, fmt, payload, DESC)


@given(st.lists(st.integers(-2**31, 2**31 - 1), min_size=2, max_size=2))
def test_offset_roundtrip(values):
    payload = "".join(v.to_bytes(4, "big", signed=True).hex() for v in values)
    assert decode_data("telemetry", "offset", payload.upper().encode(), DESC)[0] == dict(zip(["temperature", "humidity"], values))


# --- protocol -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("topic,expected", [
    (TEL, Topic(SVC, DEV, "telemetry")),
    (TEL + "/csv", Topic(SVC, DEV, "telemetry", "csv")),
    (f"v1/dev/{SVC}/{DEV}/attribute/offset", Topic(SVC, DEV, "attribute", "offset")),
    (f"v1/dev/{SVC}/{DEV}/up", Topic(SVC, DEV, "up")),
    (f"v1/dev/{SVC}/{DEV}/down", Topic(SVC, DEV, "down")),
])
def test_parse_topic(topic, expected):
    assert parse_topic(topic) == expected and str(expected) == topic


@pytest.mark.parametrize("topic", [
    "v1/dev/s/d", "v2/dev/s/d/telemetry", "v1/dev/s/d/telemetri", "v1/dev/s/d/up/csv", "v1/dev/s/d/telemetry/xml",
    "v1/dev//d/telemetry", "v1/usr/u/up", "v1/dev/s/d/telemetry/csv/x",
])
def test_bad_topics(topic):
    with pytest.raises(ProtocolError):
        parse_topic(topic)


def test_rpc_request_json_is_the_documented_shape():
    msg = protocol.build_rpc_request("S", "D", 20, 6, "tp_user", ["test"], "oneway")
    assert msg == {"serviceName": "S", "deviceName": "D", "cmd": "jsonRpc", "cmdId": 20,
                   "rpcReq": {"jsonrpc": "2.0", "method": "tp_user", "params": ["test"], "id": 6}, "rpcMode": "oneway"}
    assert parse_down(protocol.encode(msg)) == protocol.DownRpc(6, "tp_user", ["test"], 20, "oneway")
    sa = protocol.build_set_attribute("S", "D", 10, {"LED": "on"})
    assert sa == {"serviceName": "S", "deviceName": "D", "cmdId": 10, "cmd": "setAttribute", "attribute": {"LED": "on"}}
    assert parse_down(json.dumps(sa)) == protocol.DownSetAttribute({"LED": "on"}, 10)


def test_parse_up_results():
    ok = parse_up(b'{"cmd":"jsonRpc","cmdId":1,"result":"success","rpcRsp":{"jsonrpc":"2.0","id":6,"result":{"status":"SUCCESS"}}}')
    assert ok == protocol.RpcResult(6, True, {"status": "SUCCESS"}, 1)
    bad = parse_up('{"cmd":"jsonRpc","cmdId":1,"result":"fail","rpcRsp":{"jsonrpc":"2.0","id":6,"error":{"code":106,"message":"FAIL"}}}')
    assert bad == protocol.RpcResult(6, False, {"code": 106, "message": "FAIL"}, 1)
    assert isinstance(parse_up(b'{"cmd":"enlist","cmdId":1,"attribute":["*"]}'), protocol.UpCommand)


@given(st.integers(0, 2**40), st.booleans(), st.none() | st.integers() | st.text() | st.dictionaries(st.text(), st.integers()))
def test_rpc_result_roundtrip(rpc_id, success, result):
    parsed = parse_up(protocol.encode(protocol.build_rpc_result(rpc_id, success, result)))
    default = {"status": "SUCCESS"} if success else {"code": 106, "message": "FAIL"}
    assert parsed == protocol.RpcResult(rpc_id, success, default if result is None else result, 1)


@pytest.mark.parametrize("payload,why", [
    (b"nope", "not JSON"), (b"[]", "JSON object"), (b'{"cmd":"reboot"}', "unknown cmd"),
    (b'{"cmd":"jsonRpc","result":"ok","rpcRsp":{"jsonrpc":"2.0","id":1}}', "success"),
    (b'{"cmd":"jsonRpc","result":"success"}', "rpcRsp"),
    (b'{"cmd":"jsonRpc","result":"success","rpcRsp":{"jsonrpc":"1.0","id":1}}', "2.0"),
    (b'{"cmd":"jsonRpc","result":"success","rpcRsp":{"jsonrpc":"2.0","id":"1"}}', "integer"),
])
def test_parse_up_errors(payload, why):
    with pytest.raises(ProtocolError, match=why):
        parse_up(payload)


@given(st.integers(0, 2**40), st.sampled_from(protocol.RPC_METHODS),
       st.recursive(st.none() | st.integers() | st.text(), lambda c: st.lists(c) | st.dictionaries(st.text(), c)))
def test_rpc_request_roundtrip(rpc_id, method, params):
    msg = protocol.build_rpc_request("svc", "dev", 1, rpc_id, method, params)
    assert parse_down(protocol.encode(msg)) == protocol.DownRpc(rpc_id, method, params, 1, "twoway")


# --- model rules ------------------------------------------------------------------------------------------
def test_model_stores_valid_telemetry_and_attributes(model):
    assert model.publish(DEFAULT_TOKEN, TEL, b'{"temperature":30,"humidity":20}').accepted
    assert model.publish(DEFAULT_TOKEN, TEL, b'{"temperature":31,"ts":1600000000}').accepted
    assert model.publish(DEFAULT_TOKEN, f"v1/dev/{SVC}/{DEV}/attribute", b'{"LED":"ON"}').accepted
    assert model.publish(DEFAULT_TOKEN, f"v1/dev/{SVC}/{DEV}/attribute/csv", b"off").accepted
    assert model.store.telemetry(SVC, DEV) == [
        {"ts": 1600000000, "data": {"temperature": 31}},
        {"ts": 1_700_000_000.0, "data": {"temperature": 30, "humidity": 20}},
    ]
    assert model.store.attributes(SVC, DEV) == {"LED": "off"}
    assert model.store.errors(SVC, DEV) == []


def test_model_rejects_and_records(model):
    model.registry.create_device(SVC, "other", "TOK2")
    cases = [
        (TEL, b'{"pressure":1}', "unknown telemetry keys"),
        (TEL + "/csv", b"1,2,3", "3 values"),
        (TEL, b'{"temperature":1,"pad":"' + b"x" * MAX_PAYLOAD + b'"}', "exceeds 2048 bytes"),
        (f"v1/dev/{SVC}/other/telemetry", b'{"temperature":1}', "may not publish"),
        ("v1/usr/me/up", b"{}", "may not publish"),
        (f"v1/dev/{SVC}/{DEV}/status", b"{}", "unknown kind"),
        (f"v1/dev/{SVC}/{DEV}/up", b'{"cmd":"jsonRpc","result":"success","rpcRsp":{"jsonrpc":"2.0","id":99}}',
         "unknown rpc id 99"),
    ]
    for topic, payload, why in cases:
        outcome = model.publish(DEFAULT_TOKEN, topic, payload)
        assert not outcome.accepted and why in outcome.reason, (topic, outcome)
    errors = model.store.errors(SVC, DEV)
    assert [e["topic"] for e in errors] == [c[0] for c in cases]
    assert errors[2]["payload_len"] > MAX_PAYLOAD and len(errors[2]["payload"]) <= 200
    assert model.store.telemetry(SVC, DEV) == [] and model.store.telemetry(SVC, "other") == []


def test_acl():
    reg = Registry.from_config({"services": {"farm": {"devices": {"cow": {"token": "COW"}}}}})
    m = ThingPlugModel(reg, Clock().now)
    assert m.authenticate(DEFAULT_TOKEN) and not m.authenticate("x") and not m.authenticate(None)
    assert m.may_publish(DEFAULT_TOKEN, TEL) and not m.may_publish("COW", TEL)
    assert not m.may_publish(DEFAULT_TOKEN, f"v1/dev/{SVC}/{DEV}x/telemetry")
    assert m.may_subscribe(DEFAULT_TOKEN, f"v1/dev/{SVC}/+/telemetry")
    assert m.may_subscribe(DEFAULT_TOKEN, f"v1/dev/{SVC}/#")
    assert not m.may_subscribe(DEFAULT_TOKEN, "#") and not m.may_subscribe("COW", TEL)
    assert not m.may_subscribe(DEFAULT_TOKEN, "v1/dev/+/smartlight001/down")


def test_rpc_status_flow(model):
    down = model.send_rpc(SVC, DEV, "tp_user", [20, 14])
    assert down.rpc.id == FIRST_RPC_ID and down.rpc.status == "initiated"
    assert down.topic == f"v1/dev/{SVC}/{DEV}/down"
    assert json.loads(down.payload)["rpcReq"] == {"jsonrpc": "2.0", "method": "tp_user", "params": [20, 14], "id": FIRST_RPC_ID}
    assert model.rpc_delivered(down.rpc.id).status == "pending"
    second = model.send_rpc(SVC, DEV, "tp_reset", {"reset": "on"})
    assert second.rpc.id == FIRST_RPC_ID + 1 and json.loads(second.payload)["cmdId"] == 2
    up = f"v1/dev/{SVC}/{DEV}/up"
    ok = {"cmd": "jsonRpc", "cmdId": 1, "result": "success", "rpcRsp": {"jsonrpc": "2.0", "id": FIRST_RPC_ID, "result": "done"}}
    assert model.publish(DEFAULT_TOKEN, up, json.dumps(ok).encode()).accepted
    assert (model.store.get_rpc(FIRST_RPC_ID).status, model.store.get_rpc(FIRST_RPC_ID).result) == ("finished", "done")
    again = model.publish(DEFAULT_TOKEN, up, json.dumps(ok).encode())
    assert not again.accepted and "already finished" in again.reason
    fail = {"cmd": "jsonRpc", "cmdId": 2, "result": "fail",
            "rpcRsp": {"jsonrpc": "2.0", "id": FIRST_RPC_ID + 1, "error": {"code": 106, "message": "FAIL"}}}
    assert model.publish(DEFAULT_TOKEN, up, json.dumps(fail).encode()).accepted
    assert model.store.get_rpc(FIRST_RPC_ID + 1).status == "failed"
    assert model.store.get_rpc(FIRST_RPC_ID + 1).result == {"code": 106, "message": "FAIL"}
    model.reset()
    assert model.send_rpc(SVC, DEV, "tp_user").rpc.id == FIRST_RPC_ID


def test_rpc_result_from_another_device_is_refused(model):
    model.registry.create_device(SVC, "other", "TOK2")
    rpc = model.send_rpc(SVC, DEV, "tp_user").rpc
    res = {"cmd": "jsonRpc", "result": "success", "rpcRsp": {"jsonrpc": "2.0", "id": rpc.id, "result": 1}}
    out = model.publish("TOK2", f"v1/dev/{SVC}/other/up", json.dumps(res).encode())
    assert not out.accepted and "was sent to smarthome/smartlight001" in out.reason
    assert model.store.get_rpc(rpc.id).status == "initiated"


def test_set_attribute_only_commandable(model):
    model.registry.put_descriptor(SVC, {"attributes": [{"name": "LED", "commandable": True}, {"name": "ver"}]})
    down = model.set_attribute(SVC, DEV, {"LED": "on"})
    assert json.loads(down.payload) == {"serviceName": SVC, "deviceName": DEV, "cmdId": 1, "cmd": "setAttribute",
                                        "attribute": {"LED": "on"}}
    for bad, why in [({"ver": "2"}, "not commandable"), ({"color": 1}, "unknown attribute"), ({}, "non-empty"),
                     ({"LED": {"x": 1}}, "number, string")]:
        with pytest.raises(InvalidError, match=why):
            model.set_attribute(SVC, DEV, bad)
    with pytest.raises(NotFoundError):
        model.set_attribute(SVC, "ghost", {"LED": "on"})


def test_application_published_rpc_is_tracked(model):
    req = protocol.build_rpc_request(SVC, DEV, 5, 42, "tp_user", {"a": 1})
    assert model.publish(DEFAULT_TOKEN, f"v1/dev/{SVC}/{DEV}/down", protocol.encode(req)).accepted
    rpc = model.store.get_rpc(42)
    assert (rpc.source, rpc.status, rpc.params) == ("mqtt", "pending", {"a": 1})
    bad = model.publish(DEFAULT_TOKEN, f"v1/dev/{SVC}/{DEV}/down", b'{"cmd":"jsonRpc"}')
    assert not bad.accepted and "rpcReq" in bad.reason
