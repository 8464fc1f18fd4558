"""Hypothesis: the modem never raises, every command line gets exactly one final result, and
chunking never changes the output (echo on/off, verbose and ATV0 numeric)."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.at.grammar import SyntaxErrorInLine, parse_line
from emulator.core.framing import MAX_LINE
from emulator.testing.sansio import Harness, make_harness, profile_with_testkit

MODULES = ["ec800e", "bg96", "wm-n400mse", "amm5918k"]
GRAMMAR = {"ec800e": "ec800e", "bg96": "bg96", "wm-n400mse": "wm_n400mse", "amm5918k": "amm5918k"}

VALID = [
    "AT", "ATI", "AT+CSQ", "AT+CEREG?", "AT+CEREG=2", "AT+CEREG=?", "AT+CGSN", "AT+CIMI", "AT+CPIN?",
    "AT+CFUN?", "AT+CFUN=0", "AT+CFUN=1", "AT+CGDCONT?", 'AT+CGDCONT=1,"IP","ctnet"', "AT+CGPADDR",
    "AT+CGPADDR=1", "AT+CSCON=1", "AT+CSCON?", "AT+COPS?", "AT+COPS=?", "AT+CGATT?", "AT+CGACT?",
    "AT+CMEE=2", "AT+CMEE?", "AT+CSQ;+CEREG?", "AT+CCLK?", "AT+QCCID", 'AT+QENG="SERVINGCELL"',
    'AT+QCFG="urc/port","uart1"', "AT+QNWINFO", "AT+QCSQ", "AT$$SWVER", "AT*IMSI?", "AT@NSI",
    "AT+CGMI", "AT+CGMM", "AT+CGMR", "ATS0?", "AT&W", "AT+IPR?", "AT+CSCS?",
]
NAMES = ["+CSQ", "+CEREG", "+CGDCONT", "+CFUN", "+CPIN", "+QCFG", "+QENG", "+CGACT", "+CGATT", "+COPS",
         "+CSCON", "+QIDNSCFG", "+CGSN", "+CGPADDR", "+QURCCFG", "$$SPC", "*RNDISDATA", "@PSMSET",
         "+IPR", "+CSCS", "+QINDCFG", "+NOPE", "S7", "S12"]
ARG = st.one_of(st.integers(-5, 70000).map(str), st.text("abcXYZ019/.-_ ", max_size=12),
                st.text("abc019/.-_", max_size=12).map(lambda s: f'"{s}"'), st.just(""))
SUFFIX = st.sampled_from(["", "?", "=?"]) | st.lists(ARG, min_size=1, max_size=5).map(lambda a: "=" + ",".join(a))
RANDOM_CMD = st.builds(lambda n, s: f"AT{n}{s}", st.sampled_from(NAMES), SUFFIX)
# printable garbage (no CR, no backspace: S5 could turn "AB<BS>/" into "A/")
GARBAGE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=40)
OVERLONG = st.integers(MAX_LINE + 1, 3 * MAX_LINE).map(lambda n: "AT+" + "Z" * n)
TIMED = st.sampled_from(["AT+TDELAY=0", "AT+TDELAY=3", "AT+TPEND", "AT+TAFTER", "AT+TCRASH", "AT+TDELAY=1;+CSQ"])
LINE = st.one_of(st.sampled_from(VALID), RANDOM_CMD, GARBAGE, OVERLONG, TIMED,
                 st.sampled_from(["AT+FOO", "AT+CSQ??", 'AT+CGDCONT=1,"IP', "hello", "ATZ9", "AT+CEREG=99"]))

# lines that change the framing or the result format are not part of the stream: the test
# sets those modes itself. A "line" that starts with A/ is a repeat (no CR needed).
CHANGES_MODE = re.compile(r"^(E|V|Q|Z|&F|S3|S4|S5)$")


def _keeps_mode(line: str, grammar: str) -> bool:
    stripped = line.lstrip(" ")
    if stripped[:2].upper() == "A/" or not stripped.strip():
        return False
    try:
        commands = parse_line(line, grammar)
    except SyntaxErrorInLine:
        return True
    return not any(CHANGES_MODE.match(c.name) for c in commands) and \
        not any(c.name in ("+CFUN", "+QPOWD", "*SKT*RESET", "@HWRESET") and c.kind.name == "SET"
                and len(c.args) > 1 for c in commands)


def _finals(response: bytes, verbose: bool) -> int:
    if verbose:
        parts = response.split(b"\r\n")
        return sum(p in (b"OK", b"ERROR", b"SEND OK", b"NO CARRIER") or p.startswith(b"+CME ERROR:") for p in parts)
    # ATV0: numeric codes "<n>\r"; +CME ERROR (CMEE=1/2) stays text, framed like V0 information text
    return (len(re.findall(rb"(?:^|\n)(\d+)\r(?!\n)", response))
            + len(re.findall(rb"(?:^|\n)\+CME ERROR: [^\r]*\r\n", response)))


def _setup(module: str, echo: bool, verbose: bool) -> Harness:
    h = make_harness(module, testkit=True, echo=True)
    h.send(b"ATE1\r" if echo else b"ATE0\r")
    if not verbose:
        h.send(b"ATV0\r")
    h.handled.clear()
    return h


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(module=st.sampled_from(MODULES), echo=st.booleans(), verbose=st.booleans(),
       lines=st.lists(LINE, min_size=1, max_size=8))
def test_exactly_one_final_result_per_line(module: str, echo: bool, verbose: bool, lines: list[str]) -> None:
    lines = [ln for ln in lines if _keeps_mode(ln, GRAMMAR[module])]
    h = _setup(module, echo, verbose)
    for line in lines:
        data = line.encode() + b"\r"
        out = h.send(data) + h.advance(31.0)  # delays end, a pending command times out (30 s)
        if echo:
            assert out.startswith(data), (line, out)
            out = out[len(data):]
        assert _finals(out, verbose) == 1, (line, out)
        assert not h.modem.busy
    assert len(h.handled) == len(lines)
    assert all("TCRASH" in line for line, _exc in h.modem.crashes)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(module=st.sampled_from(MODULES), echo=st.booleans(), verbose=st.booleans(),
       lines=st.lists(LINE, min_size=1, max_size=6), cuts=st.lists(st.integers(0, 4000), max_size=6))
def test_chunking_does_not_change_output(module: str, echo: bool, verbose: bool, lines: list[str],
                                         cuts: list[int]) -> None:
    data = b"".join(ln.encode() + b"\r" for ln in lines if not ln.startswith(("AT+TDELAY", "AT+TPEND")))
    whole = _setup(module, echo, verbose)
    expected = whole.send(data)
    chunked = _setup(module, echo, verbose)
    got, prev = b"", 0
    for cut in sorted({c % (len(data) + 1) for c in cuts}) + [len(data)]:
        got += chunked.send(data[prev:cut])
        prev = cut
    assert got == expected
    assert [(e.line, e.result) for e in chunked.handled] == [(e.line, e.result) for e in whole.handled]


@settings(max_examples=150, deadline=None)
@given(stream=st.lists(st.binary(max_size=300), max_size=8), module=st.sampled_from(MODULES))
def test_any_byte_stream_never_raises(stream: list[bytes], module: str) -> None:
    h = Harness(profile_with_testkit(module))
    for chunk in stream:
        h.send(chunk)
        h.advance(1.0)
    h.advance(400.0)  # any delay/pending/prompt the bytes opened ends
    h.send(b"\x1b\r\nAT\r")
    assert h.modem.crashes == [] or all("TCRASH" in line for line, _ in h.modem.crashes)
