"""AT grammars: accept/reject corpora and the structure of key parses.

Corpora live in ``tests/data/grammars/<family>.accept|.reject``: one command line per line,
``#`` comment lines, and a first line ``# applies: <grammar> ...`` naming the grammars the
file is checked against. Every AT line of both guides is in them (guide 000 in
``v250.accept``/``wm_n400mse.accept``, guide 001 in ``quectel.accept``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.at.commands import Arg, Kind
from emulator.at.grammar import SyntaxErrorInLine, parse_line

DATA = Path(__file__).resolve().parent.parent / "data" / "grammars"
GRAMMARS = ["v250", "ts27007", "quectel", "bg96", "ec800e", "wm_n400mse", "amm5918k"]


def _corpus(suffix: str) -> list[tuple[str, str, str]]:
    cases = []
    for path in sorted(DATA.glob(f"*.{suffix}")):
        lines = path.read_text(encoding="utf-8").splitlines()
        assert lines[0].startswith("# applies:"), f"{path.name}: first line must be '# applies: ...'"
        grammars = lines[0].split(":", 1)[1].split()
        assert set(grammars) <= set(GRAMMARS), path.name
        for line in lines[1:]:
            if line and not line.startswith("#"):
                cases.extend((g, line, path.name) for g in grammars)
    return cases


ACCEPT = _corpus("accept")
REJECT = _corpus("reject")


def test_corpora_are_big_enough() -> None:
    per_file: dict[str, set[str]] = {}
    for _g, line, name in ACCEPT + REJECT:
        per_file.setdefault(name, set()).add(line)
    assert len(per_file["v250.accept"]) >= 30 and len(per_file["v250.reject"]) >= 15
    assert len(per_file["quectel.accept"]) >= 30 and len(per_file["quectel.reject"]) >= 15
    assert len(per_file["wm_n400mse.accept"]) >= 30 and len(per_file["wm_n400mse.reject"]) >= 15
    assert len(per_file["amm5918k.accept"]) >= 30 and len(per_file["amm5918k.reject"]) >= 15


@pytest.mark.parametrize("grammar,line,source", ACCEPT, ids=lambda v: str(v)[:60])
def test_accepts(grammar: str, line: str, source: str) -> None:
    commands = parse_line(line, grammar)
    assert isinstance(commands, list)
    assert all(c.raw == line for c in commands)


@pytest.mark.parametrize("grammar,line,source", REJECT, ids=lambda v: str(v)[:60])
def test_rejects(grammar: str, line: str, source: str) -> None:
    with pytest.raises(SyntaxErrorInLine):
        parse_line(line, grammar)


def _shape(line: str, grammar: str) -> list[tuple]:
    return [(c.name, c.kind, tuple((a.text, a.quoted) for a in c.args)) for c in parse_line(line, grammar)]


E, S, R, T = Kind.EXEC, Kind.SET, Kind.READ, Kind.TEST
KEY_CASES = [
    ("v250", "AT", []),
    ("v250", "at+csq", [("+CSQ", E, ())]),
    ("v250", "ATE0V1", [("E", E, (("0", False),)), ("V", E, (("1", False),))]),
    ("v250", "ATE", [("E", E, ())]),
    ("v250", "AT&F0", [("&F", E, (("0", False),))]),
    ("v250", "ATS3=13", [("S3", S, (("13", False),))]),
    ("v250", "ATS0?", [("S0", R, ())]),
    ("v250", "ATE0+CMEE=2", [("E", E, (("0", False),)), ("+CMEE", S, (("2", False),))]),
    ("v250", "AT+CSQ;+CEREG?", [("+CSQ", E, ()), ("+CEREG", R, ())]),
    ("v250", "AT+CEREG=?", [("+CEREG", T, ())]),
    ("v250", "AT+CPSMS=1,,,\"00000100\"",
     [("+CPSMS", S, (("1", False), ("", False), ("", False), ("00000100", True)))]),
    ("v250", 'AT+CGDCONT=1,"IP",""', [("+CGDCONT", S, (("1", False), ("IP", True), ("", True)))]),
    ("v250", "AT+CFUN = 1", [("+CFUN", S, (("1", False),))]),
    ("v250", "AT$$SWVER", [("$$SWVER", E, ())]),
    ("v250", "AT*SKT*RESET", [("*SKT*RESET", E, ())]),
    ("v250", "AT@PSMSET?", [("@PSMSET", R, ())]),
    ("v250", "AT+SKTPRES=1,tp_user,674480006,0",
     [("+SKTPRES", S, (("1", False), ("tp_user", False), ("674480006", False), ("0", False)))]),
    ("bg96", 'AT+SKTPCON=1,"MQTT","test.sktiot.com",1883,120,1,"simple_v1","a0149f60b---------","smarthome","smartlight001"',
     [("+SKTPCON", S, (("1", False), ("MQTT", True), ("test.sktiot.com", True), ("1883", False), ("120", False),
                       ("1", False), ("simple_v1", True), ("a0149f60b---------", True), ("smarthome", True),
                       ("smartlight001", True)))]),
    ("bg96", 'AT+SKTPDAT=1,"telemetry",0', [("+SKTPDAT", S, (("1", False), ("telemetry", True), ("0", False)))]),
    ("ec800e", 'AT+QLWCONFIG=0,"2000033383.nb.ctwing.cn",5684,"urn:imei:868543060974334",86400,0,"868543060974334","5459766f69546b333444334e5a36474e"',
     [("+QLWCONFIG", S, (("0", False), ("2000033383.nb.ctwing.cn", True), ("5684", False),
                         ("urn:imei:868543060974334", True), ("86400", False), ("0", False),
                         ("868543060974334", True), ("5459766f69546b333444334e5a36474e", True)))]),
    ("ec800e", "AT+QISENDEX=0,0100173135343336353836383633331383036393938373237002b6e7936663174534134314451555650443650386734694f6b397a574e67354c4761394c497a50796d7545380003312e30",
     [("+QISENDEX", S, (("0", False), ("0100173135343336353836383633331383036393938373237002b6e7936663174534134314451555650443650386734694f6b397a574e67354c4761394c497a50796d7545380003312e30", False)))]),
    ("ec800e", 'AT+QENG="SERVINGCELL"', [("+QENG", S, (("SERVINGCELL", True),))]),
    ("ec800e", 'AT+QCFG="urc/port","uart1"', [("+QCFG", S, (("urc/port", True), ("uart1", True)))]),
    ("ec800e", 'AT+QLWCFG= "auto_ack",1', [("+QLWCFG", S, (("auto_ack", True), ("1", False)))]),
    ("ec800e", 'AT+QISEND=0,14,"02000b68656c6c6f20776f726c64"',
     [("+QISEND", S, (("0", False), ("14", False), ("02000b68656c6c6f20776f726c64", True)))]),
    ("ec800e", 'AT+QMTPUBEX=0,0,0,0,"topic/data",23',
     [("+QMTPUBEX", S, (("0", False),) * 4 + (("topic/data", True), ("23", False)))]),
    ("ec800e", 'AT+QIOPEN=0,0,"TCP","a;b",1', [("+QIOPEN", S, (("0", False), ("0", False), ("TCP", True),
                                                               ("a;b", True), ("1", False)))]),
    ("wm_n400mse", 'AT+SKTPDAT=1,telemetry,0,{"temp1":95,"humi1":89}',
     [("+SKTPDAT", S, (("1", False), ("telemetry", False), ("0", False), ('{"temp1":95,"humi1":89}', False)))]),
    ("wm_n400mse", 'AT+SKTPDAT=1,telemetry,0,a;b',
     [("+SKTPDAT", S, (("1", False), ("telemetry", False), ("0", False), ("a;b", False)))]),
    ("wm_n400mse", 'AT+SKTPRES=1,tp_user,674480006,0,{"result":"ok"}',
     [("+SKTPRES", S, (("1", False), ("tp_user", False), ("674480006", False), ("0", False),
                       ('{"result":"ok"}', False)))]),
    ("wm_n400mse", "AT+SKTPCON=1,MQTT,test.sktiot.com,1883,120,1,simple_v1,a0149f60b---------,smarthome,smartlight001",
     [("+SKTPCON", S, tuple((v, False) for v in ("1", "MQTT", "test.sktiot.com", "1883", "120", "1", "simple_v1",
                                                  "a0149f60b---------", "smarthome", "smartlight001")))]),
    ("wm_n400mse", "AT*IMSI?;$$SWVER", [("*IMSI", R, ()), ("$$SWVER", E, ())]),
    ("amm5918k", "AT@PSMSET=1,600,60", [("@PSMSET", S, (("1", False), ("600", False), ("60", False)))]),
]


@pytest.mark.parametrize("grammar,line,expected", KEY_CASES, ids=[c[1][:50] for c in KEY_CASES])
def test_structure(grammar: str, line: str, expected: list[tuple]) -> None:
    assert _shape(line, grammar) == expected


def test_arg_helpers() -> None:
    [cmd] = parse_line('AT+QIOPEN=0,,"TCP"," x ",65536', "ec800e")
    assert cmd.int(0) == 0 and cmd.int(1, 7) == 7 and cmd.str(2, choices=("tcp", "UDP")) == "tcp"
    assert cmd.str(3) == " x " and cmd.quoted(3) and not cmd.quoted(0)
    assert cmd.args[1] == Arg("") and cmd.args[1].empty and not Arg("", True).empty
    from emulator.at.commands import ArgError
    with pytest.raises(ArgError):
        cmd.int(4, hi=65535)
    with pytest.raises(ArgError):
        cmd.int(2)
    with pytest.raises(ArgError):
        cmd.str(5)
    with pytest.raises(ArgError):
        cmd.max_args(4)


def test_unknown_grammar_is_a_clear_error() -> None:
    from emulator.errors import GrammarError
    with pytest.raises(GrammarError, match="nosuch"):
        parse_line("AT", "nosuch")


def test_parse_cache_returns_fresh_lists_and_caches_rejections() -> None:
    first = parse_line("AT+CSQ;+CEREG?", "ec800e")
    first.append("junk")  # callers may mutate what they get
    assert parse_line("AT+CSQ;+CEREG?", "ec800e") == first[:2]
    for _ in range(2):
        with pytest.raises(SyntaxErrorInLine):
            parse_line('AT+QCFG="a', "ec800e")
    assert parse_line("AT+CSQ", "ec800e")[0].raw == "AT+CSQ"
