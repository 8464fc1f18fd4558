"""payload_codec: LwM2M content formats of /19/0/0 notifications and /19/1/0/0 Writes.

TLV is our own small codec (no maintained PyPI one), so it gets hypothesis round trips at every
size boundary, a fixed vector from the issue (Anjay's notification ``88 00 0d 48 00 0a ...``) and
truncation at every split point; the other formats are built with the independent encoders
(cbor2, json, base64) and must give back the application bytes.
"""

from __future__ import annotations

import base64
import json

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.backends.lwm2m import payload_codec as pc
from emulator.backends.lwm2m.payload_codec import PayloadError, TlvEntry

leaf_kinds = st.sampled_from([pc.RESOURCE, pc.RESOURCE_INSTANCE])
ids = st.integers(0, 0xFFFF)
values = st.one_of(st.binary(max_size=20), st.binary(min_size=250, max_size=260))
leaves = st.builds(lambda k, i, v: TlvEntry(k, i, value=v), leaf_kinds, ids, values)
tlv_trees = st.recursive(
    st.lists(leaves, max_size=3),
    lambda inner: st.lists(st.one_of(leaves, st.builds(
        lambda k, i, c: TlvEntry(k, i, children=c),
        st.sampled_from([pc.OBJECT_INSTANCE, pc.MULTIPLE_RESOURCE]), ids, inner)), max_size=3),
    max_leaves=6)


@given(tlv_trees)
def test_tlv_round_trip(entries):
    assert pc.decode_tlv(pc.encode_tlv(entries)) == entries


@pytest.mark.parametrize("size", [0, 7, 8, 255, 256, 65535, 65536, (1 << 24) - 1])
@pytest.mark.parametrize("ident", [0, 255, 256, 0xFFFF])
def test_tlv_length_and_identifier_size_boundaries(size, ident):
    entry = TlvEntry(pc.RESOURCE, ident, value=b"\x5a" * size)
    encoded = pc.encode_tlv([entry])
    header = 1 + (2 if ident > 255 else 1) + (0 if size < 8 else 1 if size < 256 else 2 if size < 65536 else 3)
    assert len(encoded) == header + size and pc.decode_tlv(encoded) == [entry]


@given(st.lists(leaves, min_size=1, max_size=3), st.data())
def test_truncated_tlv_is_an_error_at_every_split_point(entries, data):
    encoded = pc.encode_tlv(entries)
    cut = data.draw(st.integers(1, len(encoded) - 1)) if len(encoded) > 1 else None
    if cut is None:
        return
    try:
        decoded = pc.decode_tlv(encoded[:cut])
    except PayloadError:
        return
    # a cut exactly between two entries is a valid shorter list: it must be a prefix
    assert decoded == entries[:len(decoded)] and len(decoded) < len(entries)


def test_anjay_multiple_resource_vector_gives_the_application_bytes():
    app = bytes.fromhex("00010203040506070809")
    note = bytes.fromhex("88000d48000a") + app  # multiple resource 0 { instance 0: 10 bytes }
    assert pc.application_bytes(pc.TLV, note) == app
    assert pc.decode_tlv(note) == [TlvEntry(pc.MULTIPLE_RESOURCE, 0, children=[
        TlvEntry(pc.RESOURCE_INSTANCE, 0, value=app)])]


@pytest.mark.parametrize("make, fmt", [
    (lambda d: d, pc.OPAQUE),
    (lambda d: cbor2.dumps([{-2: "/19/0/0/", 0: "0", 8: d}]), pc.SENML_CBOR),
    (lambda d: cbor2.dumps([{0: "/19/0/0/1", 8: b"other"}, {0: "/19/0/0/0", 8: d}]), pc.SENML_CBOR),
    (lambda d: json.dumps([{"bn": "/19/0/0/", "n": "0",
                            "vd": base64.urlsafe_b64encode(d).decode().rstrip("=")}]).encode(), pc.SENML_JSON),
    (lambda d: cbor2.dumps(d), pc.CBOR),
    (lambda d: json.dumps({"bn": "/19/0/0/", "e": [{"n": "0", "sv": base64.b64encode(d).decode()}]}).encode(),
     pc.LWM2M_JSON),
    (lambda d: base64.b64encode(d), pc.TEXT),
    (lambda d: pc.encode_tlv([TlvEntry(pc.OBJECT_INSTANCE, 0, children=[
        TlvEntry(pc.MULTIPLE_RESOURCE, 0, children=[TlvEntry(pc.RESOURCE_INSTANCE, 3, value=d)])])]), pc.TLV),
    (lambda d: pc.encode_tlv([TlvEntry(pc.RESOURCE, 0, value=d)]), pc.TLV),
])
@given(st.binary(min_size=1, max_size=300))
def test_each_format_gives_the_application_bytes(make, fmt, data):
    assert pc.application_bytes(fmt, make(data)) == data


@pytest.mark.parametrize("fmt, payload", [
    (pc.TLV, b"\xc8\x00\x05ab"), (pc.SENML_CBOR, b"\xff\x00"), (pc.SENML_CBOR, cbor2.dumps([{2: 5}])),
    (pc.SENML_JSON, b"[{"), (pc.CBOR, cbor2.dumps(17)), (pc.LWM2M_JSON, b"{}"), (pc.TEXT, b"not base64!"),
    (50, b"{}"),
])
def test_undecodable_payloads_raise_payload_error(fmt, payload):
    with pytest.raises(PayloadError):
        pc.application_bytes(fmt, payload)


@given(st.binary(max_size=400))
def test_write_requests_carry_the_command(data):
    assert pc.write_request("opaque", data) == ((19, 1, 0), pc.OPAQUE, data)
    path, fmt, body = pc.write_request("tlv", data)
    assert (path, fmt) == ((19, 1, 0, 0), pc.TLV)
    assert pc.decode_tlv(body) == [TlvEntry(pc.RESOURCE_INSTANCE, 0, value=data)]
    path, fmt, body = pc.write_request("senml-cbor", data)
    assert (path, fmt) == ((19, 1, 0, 0), pc.SENML_CBOR)
    assert pc.application_bytes(pc.SENML_CBOR, body, (19, 1, 0)) == data


def test_unknown_downlink_format_is_refused():
    with pytest.raises(PayloadError, match="opaque, tlv, senml-cbor"):
        pc.write_request("xml", b"x")
