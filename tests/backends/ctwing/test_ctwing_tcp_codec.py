"""CTWing TCP codec: the guide's frames byte for byte, every split point, hypothesis round trips."""

from hypothesis import given, strategies as st

from emulator.backends.ctwing import tcp_codec as codec

DEVICE = "15436586863318069987727"
PASSWORD = "ny6f1tSA41DQUVPD6P8g4iOk9zWNg5LGa9LIzPymuE8"
# guide 001 §4.3.3, AT+QISEND=0,76 with the device-ID digit the guide lost restored (docs/guides.md)
GUIDE_LOGIN_HEX = ("0100173135343336353836383633333138303639393837373237002b"
                   "6e7936663174534134314451555650443650386734694f6b397a574e67354c4761394c497a50796d754538"
                   "0003312e30")


def test_login_frame_is_the_guides_76_bytes():
    frame = codec.encode(codec.Login(DEVICE, PASSWORD, "1.0"))
    assert len(frame) == 76
    assert frame.hex() == GUIDE_LOGIN_HEX
    # The guide's printed hex (149 digits) lost digits inside the device ID only: it is a
    # subsequence of the real frame, and the password/version part matches exactly.
    printed = ("0100173135343336353836383633331383036393938373237002b6e7936663174534134314451555650443650"
               "386734694f6b397a574e67354c4761394c497a50796d7545380003312e30")
    rest = iter(GUIDE_LOGIN_HEX)
    assert all(ch in rest for ch in printed)
    tail = printed[printed.index("002b"):]
    assert GUIDE_LOGIN_HEX.endswith(tail) and len(tail) == (2 + 43 + 2 + 3) * 2


def test_guide_uplink_downlink_and_responses():
    assert codec.encode(codec.Uplink(b"hello world")).hex() == "02000b68656c6c6f20776f726c64"
    assert codec.encode(codec.Downlink(b"receivedmessage")).hex() == "03000f72656365697665646d657373616765"
    assert codec.encode(codec.LoginResponse(0)) == bytes.fromhex("050000")
    assert codec.encode(codec.Heartbeat()) == b"\x04"
    assert codec.encode(codec.HeartbeatResponse()) == b"\x06"


def test_login_frame_every_split_point():
    wire = bytes.fromhex(GUIDE_LOGIN_HEX) + bytes.fromhex("02000b68656c6c6f20776f726c64") + b"\x04"
    expected = [codec.Login(DEVICE, PASSWORD, "1.0"), codec.Uplink(b"hello world"), codec.Heartbeat()]
    for i in range(len(wire) + 1):
        for j in range(i, len(wire) + 1):
            dec = codec.Decoder()
            out = dec.feed(wire[:i]) + dec.feed(wire[i:j]) + dec.feed(wire[j:])
            assert out == expected, (i, j)
            assert dec.pending == 0


def test_byte_by_byte_leaves_partial_frames_pending():
    dec = codec.Decoder()
    wire = bytes.fromhex(GUIDE_LOGIN_HEX)
    for b in wire[:-1]:
        assert dec.feed(bytes([b])) == []
    assert dec.pending == 75
    assert dec.feed(wire[-1:]) == [codec.Login(DEVICE, PASSWORD, "1.0")]


def test_unknown_type_is_a_protocol_error_and_stops():
    dec = codec.Decoder()
    out = dec.feed(b"\x04\x07\x04")
    assert out[0] == codec.Heartbeat() and isinstance(out[1], codec.ProtocolError)
    assert "0x07" in out[1].reason and len(out) == 2
    assert dec.failed and dec.feed(b"\x04") == []


def test_non_utf8_login_is_an_error():
    bad = b"\x01\x00\x01\xff\x00\x00\x00\x00"
    out = codec.Decoder().feed(bad)
    assert len(out) == 1 and isinstance(out[0], codec.ProtocolError)


frames = st.one_of(
    st.builds(codec.Login, st.text(max_size=40), st.text(max_size=60), st.text(max_size=5)),
    st.builds(codec.Uplink, st.binary(max_size=300)),
    st.builds(codec.Downlink, st.binary(max_size=300)),
    st.just(codec.Heartbeat()),
    st.just(codec.HeartbeatResponse()),
    st.builds(codec.LoginResponse, st.integers(0, 0xFFFF)),
)


@given(st.lists(frames, max_size=8), st.lists(st.integers(0, 4000), max_size=6))
def test_round_trip_any_chunking(items, cuts):
    wire = b"".join(codec.encode(f) for f in items)
    points = sorted({c % (len(wire) + 1) for c in cuts})
    dec = codec.Decoder()
    out, prev = [], 0
    for p in points + [len(wire)]:
        out += dec.feed(wire[prev:p])
        prev = p
    assert out == items and dec.pending == 0


@given(st.binary(max_size=200))
def test_decoder_never_raises_on_garbage(blob):
    dec = codec.Decoder()
    out = dec.feed(blob)
    assert all(isinstance(e, (codec.Login, codec.Uplink, codec.Downlink, codec.Heartbeat,
                              codec.HeartbeatResponse, codec.LoginResponse, codec.ProtocolError)) for e in out)
    assert sum(isinstance(e, codec.ProtocolError) for e in out) <= 1


def test_oversized_field_is_refused():
    import pytest
    with pytest.raises(ValueError, match="u16"):
        codec.encode(codec.Uplink(b"x" * 70000))


def test_the_login_line_the_docs_tell_users_to_type_is_the_default_devices_login():
    """README "Following the guides" and docs/guides.md print the corrected login frame for hand
    use; it must decode as the default TCP device's login (device, password, version 1.0)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    for doc in ("README.md", "docs/guides.md"):
        text = (root / doc).read_text(encoding="utf-8")
        lines = re.findall(r"`(01[0-9a-f]{140,})`", text)
        assert lines, f"{doc}: no corrected TCP login frame"
        for line in lines:
            events = codec.Decoder().feed(bytes.fromhex(line))
            assert len(bytes.fromhex(line)) == 76
            assert events == [codec.Login(device_id="15436586863318069987727",
                                          password="ny6f1tSA41DQUVPD6P8g4iOk9zWNg5LGa9LIzPymuE8",
                                          version="1.0")], events
