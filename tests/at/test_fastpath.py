"""The fast path (emulator/at/fastpath.py) against Lark, the definition of the syntax: on
generated valid and invalid lines it either declines (None) or gives exactly Lark's commands."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.at.grammar import SyntaxErrorInLine, _parse_cached, fast_parser_for, parse_line
from emulator.at.commands import Arg, AtCommand, Kind

GRAMMARS = ["v250", "ts27007", "quectel", "bg96", "ec800e", "wm_n400mse", "amm5918k"]
NAMES = ["+CSQ", "+QLWCONFIG", "+SKTPDAT", "+SKTPRES", "$$SWVER", "*SKT*RESET", "@NSI", "+X",
         "+qmtpub", "%Y", "++AB", "+A.B", "E", "+1A", "+"]
PIECES = ["AT", "at", "At", "=", "?", "=?", ",", ";", '"', '"a,b;c"', '""', " ", "\t", "0", "42",
          "abc", "{\"t\":1}", "x y", "-", ":", ".", "&F", "S3=13", "E0", "\n", "\\", "'"]


def lark(line: str, grammar: str):
    result = _parse_cached(line, grammar)
    return result if isinstance(result, str) else list(result)


def check(line: str, grammar: str) -> None:
    fast = fast_parser_for(grammar)(line)
    if fast is None:
        return
    expected = lark(line, grammar)
    assert not isinstance(expected, str), f"fast path accepted {line!r}, Lark rejects: {expected}"
    assert fast == expected
    assert [c.raw for c in fast] == [c.raw for c in expected]


lines = st.one_of(
    # shaped like a command, with random arguments
    st.builds(lambda p, n, tail: p + n + tail, st.sampled_from(["AT", "at", "AT ", ""]),
              st.sampled_from(NAMES), st.lists(st.sampled_from(PIECES), max_size=12).map("".join)),
    # anything from the pieces
    st.lists(st.sampled_from(PIECES + NAMES), max_size=14).map("".join),
    # arbitrary text after a command
    st.builds(lambda n, t: "AT" + n + t, st.sampled_from(NAMES), st.text(max_size=30)),
)


@settings(max_examples=3000, deadline=None)
@given(lines, st.sampled_from(GRAMMARS))
def test_fast_path_agrees_with_lark(line: str, grammar: str) -> None:
    check(line, grammar)


@pytest.mark.parametrize("grammar", GRAMMARS)
@pytest.mark.parametrize("line", [
    "AT", "AT+CSQ", "at+cereg?", "AT+CEREG=?", "AT+X=", 'AT+X=,,"a b",c d ',
    'AT+QLWCONFIG=0,"221.229.214.202",5683,"863921043512345",86400,3', 'AT+QMTPUB=0,0,0,0,"t/x"',
    'AT+CPSMS=1,,,"00000100","00001111"', "AT$$SWVER", "AT*SKT*RESET", "AT@NSI",
])
def test_common_lines_take_the_fast_path(line: str, grammar: str) -> None:
    fast = fast_parser_for(grammar)(line)
    assert fast is not None
    assert fast == lark(line, grammar)


@pytest.mark.parametrize("line", [
    "ATE0", "AT+CSQ;+CREG?", "AT +CSQ", 'AT+X= "a"', "AT+X=a\"b\"", "AT+X?=1", " AT"])
def test_other_lines_go_to_lark(line: str) -> None:
    assert fast_parser_for("bg96")(line) is None


def test_a_module_rule_keeps_its_lines() -> None:
    # Woori-net's +SKTPDAT carries raw inline data (grammars/wm_n400mse.lark): commas stay in it
    line = "AT+SKTPDAT=1,telemetry,0,a,b"
    assert fast_parser_for("wm_n400mse")(line) is None
    assert parse_line(line, "wm_n400mse")[0].args[-1] == Arg("a,b")
    # the generic grammars split it like any command
    assert len(parse_line(line, "bg96")[0].args) == 5


def test_results() -> None:
    assert parse_line('AT+X=1,"a",,z ', "bg96") == [AtCommand(
        "+X", Kind.SET, (Arg("1"), Arg("a", True), Arg(""), Arg("z")))]
    with pytest.raises(SyntaxErrorInLine):
        parse_line('AT+X="a', "bg96")
