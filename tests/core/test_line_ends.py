"""CR LF hosts, CR-only hosts and drivers' trailers at the line discipline and the modem.

The LF right after the CR that ends a command line belongs to that line, also when the line
opens a ``> `` prompt (issue 11); a CR-only host's payload that starts with LF stays intact;
Zephyr's ^Z after a fixed-length payload and WIZnet's CR LF after a ^Z payload vanish without
a trace. Every property holds at every split point of the input (hypothesis).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.core.framing import CommandLine, DataComplete, LineDiscipline
from emulator.testing.sansio import Harness, profile_with_testkit


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)])]


def _run(stream: bytes, cuts: list[int], *, echo: bool = True, eol: bytes = b"\r") -> tuple[bytes, list[str]]:
    """Host output for ``stream`` fed in chunks after ``ATE<echo>`` ended the host's way
    (``eol``), and the payloads +TSEND reported."""
    h = Harness(profile_with_testkit())
    h.send(b"ATE%d" % echo + eol)
    out = bytearray()
    for chunk in _split(stream, cuts):
        out += h.send(chunk)
    sent = [ln for ln in out.decode("latin-1").split("\r\n") if ln.startswith("+TSEND:")]
    return bytes(out), sent


payloads = st.binary(min_size=1, max_size=40).filter(lambda b: b"\x1a" not in b and b"\x1b" not in b)


@settings(max_examples=150, deadline=None)
@given(payload=st.binary(min_size=1, max_size=64), cuts=st.lists(st.integers(0, 200), max_size=6),
       echo=st.booleans())
def test_fixed_prompt_cr_and_crlf_are_identical(payload: bytes, cuts: list[int], echo: bool) -> None:
    line = f"AT+TSEND={len(payload)}".encode()
    cr = _run(line + b"\r" + payload + b"AT\r", cuts, echo=echo)
    crlf = _run(line + b"\r\n" + payload + b"AT\r", cuts, echo=echo, eol=b"\r\n")
    assert cr == crlf
    assert cr[1] == [f"+TSEND: {len(payload)},{payload.hex()}"]
    assert cr[0].endswith(b"\r\nSEND OK\r\n" + (b"AT\r" if echo else b"") + b"\r\nOK\r\n")


@settings(max_examples=150, deadline=None)
@given(payload=payloads, cuts=st.lists(st.integers(0, 200), max_size=6), echo=st.booleans(),
       trailer=st.sampled_from([b"", b"\r", b"\r\n"]))
def test_ctrlz_prompt_cr_and_crlf_are_identical(payload: bytes, cuts: list[int], echo: bool,
                                                trailer: bytes) -> None:
    """And the CR LF some hosts send after the ^Z (WIZnet, AT+CMGS) prints nothing."""
    payload = payload[:16]
    cr = _run(b"AT+TSEND\r" + payload + b"\x1aAT\r", cuts, echo=echo)
    crlf = _run(b"AT+TSEND\r\n" + payload + b"\x1a" + trailer + b"AT\r", cuts, echo=echo, eol=b"\r\n")
    assert cr == crlf
    assert cr[1] == [f"+TSEND: {len(payload)},{payload.hex()}"]


@settings(max_examples=100, deadline=None)
@given(rest=st.binary(max_size=20), cuts=st.lists(st.integers(0, 100), max_size=6))
def test_cr_only_host_payload_may_start_with_lf(rest: bytes, cuts: list[int]) -> None:
    """Zephyr's bg9x ends lines with CR alone and sends binary data (protobuf starts 0x0A):
    once the host showed CR-only line ends, an LF after the prompt is payload."""
    payload = b"\n" + rest
    out, sent = _run(f"AT+TSEND={len(payload)}\r".encode() + payload + b"AT\r", cuts)
    assert sent == [f"+TSEND: {len(payload)},{payload.hex()}"]
    assert out.endswith(b"\r\nSEND OK\r\nAT\r\r\nOK\r\n")


@settings(max_examples=100, deadline=None)
@given(payload=st.binary(min_size=1, max_size=30), cuts=st.lists(st.integers(0, 100), max_size=6))
def test_stray_ctrl_z_after_fixed_payload_is_dropped(payload: bytes, cuts: list[int]) -> None:
    """Zephyr quectel-bg9x writes ^Z after a fixed-length QISEND payload: no echo, no line."""
    line = f"AT+TSEND={len(payload)}\r".encode()
    plain = _run(line + payload + b"AT\r", cuts)
    zephyr = _run(line + payload + b"\x1aAT\r", cuts)
    assert plain == zephyr
    assert plain[1] == [f"+TSEND: {len(payload)},{payload.hex()}"]


def test_unknown_host_is_taken_for_a_crlf_host() -> None:
    """A prompt command as the very first line: nothing learned yet, the LF is the line's."""
    h = Harness(profile_with_testkit())
    assert h.send(b"AT+TSEND=2\r\nhi") == b"AT+TSEND=2\r\r\n> hi\r\n+TSEND: 2,6869\r\n\r\nSEND OK\r\n"


def test_lf_far_from_the_cr_is_data_and_a_later_ctrl_z_is_a_line_byte() -> None:
    """Only the byte right after the CR counts: ``A\\nB`` stays ``A\\nB``; a ^Z that does not
    directly follow a fixed payload is ordinary input (leading noise before AT)."""
    out, sent = _run(b"AT+TSEND=3\r\nA\nB" + b"AT\r\x1aAT\r", [], eol=b"\r\n")
    assert sent == ["+TSEND: 3,410a42"]
    assert out.count(b"\r\nOK\r\n") == 2


def test_line_discipline_learns_the_host_line_end_and_honours_s3_s4() -> None:
    ld = LineDiscipline()
    assert ld.host_crlf is None
    ld.feed(b"AT\r\n")
    assert ld.host_crlf is True
    ld.feed(b"AT\rAT\r")
    assert ld.host_crlf is False
    ld.s3, ld.s4 = ord("!"), ord("#")  # S3/S4 configurable (ATS3=, ATS4=)
    assert ld.feed(b"AT!#")[1] == [CommandLine("AT")] and ld.host_crlf is True
    _, events = ld.feed(b"AT+X!")
    assert events == [CommandLine("AT+X")]
    ld.start_data(2)
    echo, events = ld.feed(b"#yz")  # S4 right after S3: the line's, not the payload's
    assert events == [DataComplete(b"yz")] and echo == b"yz"
    ld.feed(b"AT!")
    ld.start_data(2)
    assert ld.feed(b"\nz")[1] == [DataComplete(b"\nz")]  # LF is not S4 any more: data
    assert ld.host_crlf is False  # and a data byte other than S4 after S3: a CR-only host


def test_crlf_host_keeps_the_echo_of_its_lf_in_command_mode() -> None:
    """Outside a data phase the LF is echoed and ignored, as it always was (the command ran
    when its CR arrived, so the echo of the LF follows its final result)."""
    h = Harness(profile_with_testkit())
    assert h.send(b"AT\r\n") == b"AT\r\r\nOK\r\n\n"


def test_transparent_sink_does_not_get_the_lf_of_its_line() -> None:
    ld = LineDiscipline()
    got: list[bytes] = []
    ld.feed(b"ATO\r")
    ld.start_transparent(got.append)
    assert ld.in_data_mode
    echo, events = ld.feed(b"\nhello")
    assert (echo, events, got) == (b"", [], [b"hello"])
    ld.stop_transparent(lambda d: None)  # not the sink in charge: ignored
    assert ld.transparent_sink is not None
    ld.stop_transparent(got.append)
    assert not ld.in_data_mode and ld.feed(b"AT\r")[1] == [CommandLine("AT")]
