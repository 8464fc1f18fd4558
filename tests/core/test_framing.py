"""Line discipline and modem output are independent of how the input is chunked.

h11 style: every input is fed whole, then split at EVERY offset (``data[:i]`` then
``data[i:]``), and byte-by-byte; events and echo must be identical.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.core.framing import (MAX_LINE, CommandLine, DataCancelled, DataComplete, DataTooLong,
                                   Garbage, LineDiscipline, Overflow, RepeatLast)
from emulator.testing.sansio import Harness, TUrc, make_harness, profile_with_testkit

LINES = [
    b"AT\r",
    b"AT+CSQ;+CEREG?\r\n",
    b"\nAT+CGDCONT=1,\"IP\",\"ctnet\"\r",
    b"AT+CSX\x08Q\r",
    b"hello\r",
    b"ATI\rA/",
    b"\x00\x1b AT\r",
    b"at+cereg=2\r\r\r",
    b"AT" + b"A" * (MAX_LINE + 10) + b"\rAT\r",
    b'AT+SKTPDAT=1,telemetry,0,{"temp1":95,"humi1":89}\r',
    "AT+X=\"温度\"\r".encode(),
    b"AT\xff\xfe\r",
]


def _feed_all(chunks: list[bytes]) -> tuple[bytes, list]:
    ld = LineDiscipline()
    echo, events = bytearray(), []
    for chunk in chunks:
        out, evs = ld.feed(chunk)
        echo += out
        events += evs
    return bytes(echo), events


@pytest.mark.parametrize("data", LINES, ids=lambda d: repr(d[:30]))
def test_line_discipline_every_split_point(data: bytes) -> None:
    whole = _feed_all([data])
    for i in range(len(data)):
        assert _feed_all([data[:i], data[i:]]) == whole, f"split at {i}"
    assert _feed_all([bytes([b]) for b in data]) == whole


def test_line_events() -> None:
    echo, events = _feed_all([b"AT\r\nhello\r\r" + b"A" * (MAX_LINE + 1) + b"\rATI\rA/"])
    assert echo.startswith(b"AT\r\nhello")
    assert events == [CommandLine("AT"), Garbage(b"hello"), Overflow(MAX_LINE + 1), CommandLine("ATI"), RepeatLast()]


def test_backspace_edits_and_custom_s3_s5() -> None:
    ld = LineDiscipline()
    assert ld.feed(b"AT+CSX\x08Q\r")[1] == [CommandLine("AT+CSQ")]
    assert ld.feed(b"AT+CSX\x7fQ\r")[1] == [CommandLine("AT+CSQ")]
    ld.s3, ld.s5 = ord("!"), ord("#")
    assert ld.feed(b"AT+CSX#Q!")[1] == [CommandLine("AT+CSQ")]
    ld.echo = False
    assert ld.feed(b"AT!")[0] == b""


def test_data_mode_ctrl_z_fixed_and_escape() -> None:
    ld = LineDiscipline()
    ld.start_data(None, limit=8)
    assert ld.feed(b"abc\x1a")[1] == [DataComplete(b"abc")]
    ld.start_data(None, limit=8)
    assert ld.feed(b"abc\x1b")[1] == [DataCancelled()]
    ld.start_data(None, limit=4)
    assert ld.feed(b"0123456789\x1a")[1] == [DataTooLong(10)]
    ld.start_data(3)
    echo, events = ld.feed(b"\x1a\x1b\x00AT\r")
    assert events == [DataComplete(b"\x1a\x1b\x00"), CommandLine("AT")]
    assert not ld.in_data_mode


# --- the whole modem: same bytes out whatever the chunking -------------------------------
MODEM_INPUTS = [
    b"AT\rATI\rAT+CSQ;+CEREG?\r",
    b"ATE1\rAT+CGSN\rATV0\rAT+FOO\rATV1\r",
    b"AT+TSEND\rhello\x1aAT\r",
    b"AT+TSEND=4\rab\x1a\x1bAT+CSQ\r",
    b"AT+TSEND\rabc\x1bAT\r",
    b"AT+TAFTER\rgarbage\rAT+CEREG=2;+CEREG?\r",
    b"AT+TDELAY=0\rAT\r",
    b"AT+CSX\x08Q\rA/",
]


def _modem_output(chunks: list[bytes], echo: bool) -> tuple[bytes, list]:
    h = Harness(profile_with_testkit())
    if not echo:
        h.send(b"ATE0\r")
    h.handled.clear()
    out = bytearray()
    for chunk in chunks:
        out += h.send(chunk)
        out += h.advance(0)
    return bytes(out), [(e.line, e.result) for e in h.handled]


@pytest.mark.parametrize("echo", [True, False], ids=["echo", "noecho"])
@pytest.mark.parametrize("data", MODEM_INPUTS, ids=lambda d: repr(d[:24]))
def test_modem_every_split_point(data: bytes, echo: bool) -> None:
    whole = _modem_output([data], echo)
    assert whole[1], "nothing was handled"
    for i in range(len(data)):
        assert _modem_output([data[:i], data[i:]], echo) == whole, f"split at {i}"
    assert _modem_output([bytes([b]) for b in data], echo) == whole


def test_urc_between_chunks_never_splits_a_response() -> None:
    h = make_harness()
    out = h.send(b"AT+CS")
    out += h.stim(TUrc("+URC: 1"))  # no command running yet: written at once
    out += h.send(b"Q\r")
    assert out == b"\r\n+URC: 1\r\n\r\n+CSQ: 20,99\r\n\r\nOK\r\n"


def _drive(chunks: list[bytes]) -> tuple[bytes, list]:
    """A line discipline whose lines open data phases as a modem's would: ``ATF<n>`` a
    fixed-length payload of n bytes, ``ATC`` a ^Z payload (limit 8), ``ATS3=<n>`` sets S3."""
    ld = LineDiscipline()
    echo, events = bytearray(), []
    for chunk in chunks:
        while chunk:
            out, event, used = ld.step(chunk)
            echo += out
            chunk = chunk[used:]
            if event is None:
                continue
            events.append(event)
            if isinstance(event, CommandLine):
                text = event.text.upper()
                if text.startswith("ATF") and text[3:].isdigit():
                    ld.start_data(int(text[3:]))
                elif text == "ATC":
                    ld.start_data(None, limit=8)
                elif text.startswith("ATS3=") and text[5:].isdigit() and 0 < int(text[5:]) < 128:
                    ld.s3 = int(text[5:])
    return bytes(echo), events


_PIECES = [b"AT", b"ATF3\r", b"ATF0\r", b"ATC\r", b"ATS3=64\r", b"\r", b"\n", b"\r\n", b"\x1a", b"\x1b",
           b"\x08", b"\x7f", b"A/", b"/", b"@", b"xyz", b"0123456789", b"AT+Q=1," * 40, b"\x00"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=30).map(b"".join), st.data())
def test_runs_and_single_bytes_agree_with_data_phases(data: bytes, draw) -> None:
    """Runs of ordinary bytes are taken as slices: whatever the chunking (whole, byte by byte,
    random cuts), lines, payloads, trailers, overflows and echo come out the same."""
    whole = _drive([data])
    assert _drive([bytes([b]) for b in data]) == whole
    cuts = sorted(draw.draw(st.lists(st.integers(0, len(data)), max_size=6)))
    parts = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
    assert _drive(parts) == whole
