"""The loader: valid files become Scenarios; every mistake is reported as file:line."""

import pytest

from emulator.errors import ScenarioError
from emulator.scenarios.loader import discover, load_scenario, parse_scenario
from emulator.scenarios.patterns import Pattern, PatternError, parse_duration, substitute


def load(text, path="t.yaml"):
    return parse_scenario(text, path)


def error_of(text):
    with pytest.raises(ScenarioError) as info:
        load(text)
    return str(info.value), info.value.line


def test_full_example_loads():
    sc = load("""
name: demo
module: ec800e
backends: none
config: {modem: {imei: "123456789012347"}}
steps:
  - expect_urc: [RDY, "+CFUN: 1"]
  - send: AT+CSCON=1
  - expect: OK
  - expect: {regex: '\\+QIOPEN: 0,(?P<err>\\d+)'}
  - send: 'AT+X={err}'
  - send_raw: "hello\\x1a"
  - expect_prompt: true
  - wait: 2s
  - advance: 1d
  - expect_urc: '+QLWURC: "observe",{msgid:\\d+},0,19,0,0'
    within: 30s
  - platform: {ctwing.queue_command: {device: "1", payload: hi}}
    as: cmd
  - control: {network: detach}
  - expect_none: 500ms
""")
    kinds = [s.kind for s in sc.steps]
    assert kinds == ["expect_urc", "send", "expect", "expect", "send", "send_raw", "expect_prompt", "wait",
                     "advance", "expect_urc", "platform", "control", "expect_none"]
    assert sc.backends == [] and sc.modems[0].module == "ec800e"
    assert sc.steps[5].value == b"hello\x1a"
    assert sc.steps[6].value == "> "
    assert sc.steps[8].value == 86400.0
    assert sc.steps[9].within == 30.0 and sc.steps[9].line == 16
    assert sc.steps[10].value == ("ctwing", "queue_command", {"device": "1", "payload": "hi"})
    assert sc.steps[10].capture_as == "cmd"
    assert sc.steps[12].value == 0.5


@pytest.mark.parametrize("text, line, words", [
    ("name: x\nmodule: nosuch\nsteps: [{send: AT}]\n", 2, "unknown module 'nosuch'"),
    ("name: x\nmodule: bg96\nsteps:\n  - send: AT\n  - expct: OK\n", 5, "unknown step key 'expct'"),
    ("name: x\nmodule: bg96\nsteps:\n  - send: AT\n    expect: OK\n", 4, "exactly one of"),
    ("name: x\nmodule: bg96\nsteps:\n  - send: AT\n  - wait: soon\n", 5, "not a duration"),
    ("name: x\nmodule: bg96\nsteps:\n  - expect: '{v:[}'\n", 4, "bad regex"),
    ("name: x\nmodule: bg96\nsteps:\n  - expect: {regex: '('}\n", 4, "bad regex"),
    ("name: x\nmodule: bg96\nsteps:\n  - send: AT\n    modem: other\n", 5, "unknown modem 'other'"),
    ("name: x\nmodule: bg96\nsteps:\n  - control: {network: explode}\n", 4, "control network must be"),
    ("name: x\nmodule: bg96\nsteps:\n  - platform: {ctwing: {}}\n", 4, "'<backend>.<action>'"),
    ("name: x\nmodule: bg96\nsteps:\n  - send: AT\n    as: v\n", 5, "only applies to platform"),
    ("name: x\nmodule: bg96\nsteps:\n  - send: [AT]\n", 4, "send takes one command line"),
    ("module: bg96\nsteps: [{send: AT}]\n", 1, "'name'"),
    ("name: x\nmodule: bg96\nsteps: []\n", 3, "non-empty list"),
    ("name: x\nmodule: bg96\nbogus: 1\nsteps: [{send: AT}]\n", 3, "unknown key 'bogus'"),
    ("name: x\nmodule: bg96\nsteps:\n  - send: AT\n  - expect: 'OK\n", 5, "YAML syntax"),
    ("name: x\nmodems: [{name: a, module: bg96}, {name: a, module: ec800e}]\nsteps: [{send: AT}]\n", 2, "used twice"),
])
def test_errors_name_file_and_line(text, line, words):
    message, got_line = error_of(text)
    assert got_line == line, message
    assert message.startswith(f"t.yaml:{line}: "), message
    assert words in message


def test_load_from_file_names_the_file(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\nmodule: bg96\nsteps:\n  - send: AT\n  - nope: 1\n")
    with pytest.raises(ScenarioError, match=r"bad\.yaml:5: unknown step key 'nope'"):
        load_scenario(p)


def test_multi_modem_steps_pick_their_modem():
    sc = load("name: two\nmodems: [{name: a, module: bg96}, {name: b, module: ec800e, imei: '1'}]\n"
              "steps:\n  - send: AT\n    modem: b\n")
    assert [m.name for m in sc.modems] == ["a", "b"] and sc.modems[1].overrides == {"imei": "1"}
    assert sc.steps[0].modem == "b" and sc.default_modem == "a"


def test_discover_recurses_and_rejects_missing(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "one.yaml").write_text("x")
    (tmp_path / "a" / "two.yml").write_text("x")
    (tmp_path / "a" / "notes.txt").write_text("x")
    assert [p.name for p in discover([tmp_path])] == ["one.yaml", "two.yml"]
    with pytest.raises(ScenarioError, match="no such file"):
        discover([tmp_path / "missing"])


@pytest.mark.parametrize("text, seconds", [("2s", 2), ("500ms", 0.5), ("1h", 3600), ("1d", 86400),
                                           (3, 3), ("1.5m", 90), (" 7 ", 7)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "2x", "-1s", -1, True, None, "s"])
def test_bad_durations(bad):
    with pytest.raises(PatternError):
        parse_duration(bad)


def test_patterns_capture_substitute_and_keep_json_literal():
    p = Pattern('+QLWURC: "observe",{msgid:\\d+},0,19,0,0')
    assert p.match('+QLWURC: "observe",4711,0,19,0,0', {}) == {"msgid": "4711"}
    assert p.match('+QLWURC: "observe",47a,0,19,0,0', {}) is None
    assert Pattern("{imei}").match("868543060974334", {"imei": "868543060974334"}) == {}
    assert Pattern("{imei}").match("868543060974335", {"imei": "868543060974334"}) is None
    assert Pattern('{"a":1}').match('{"a":1}', {}) == {}        # JSON is literal text
    assert Pattern("x{{y}}").match("x{y}", {}) == {}
    assert Pattern("{n:\\d{3}}").match("123", {}) == {"n": "123"}
    assert Pattern("a.b").match("axb", {}) is None               # literal dots
    assert Pattern("OK").match("OK ", {}) is None                # whole line
    assert substitute("AT+X={id},{s.imei}", {"id": "7", "s.imei": "1"}) == "AT+X=7,1"
    with pytest.raises(PatternError, match="unknown variable"):
        substitute("AT+X={nope}", {})
    with pytest.raises(PatternError, match="unknown variable"):
        Pattern("{nope}").match("x", {})


def test_the_example_in_the_readme_loads():
    from pathlib import Path
    doc = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = doc.split("\n## Scenarios\n", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    sc = load(block, "README.md")
    assert len(sc.steps) == 18 and sc.steps[-1].kind == "energy_below" and sc.steps[-1].value == 50.0


def test_requires_lists_known_features():
    head = "name: t\nmodule: ec800e\n"
    assert load(head + "requires: [dtls]\nsteps:\n  - send: AT\n").requires == ["dtls"]
    assert load(head + "requires: dtls\nsteps:\n  - send: AT\n").requires == ["dtls"]
    assert load(head + "steps:\n  - send: AT\n").requires == []
    message, line = error_of(head + "requires: [gps]\nsteps:\n  - send: AT\n")
    assert "requires" in message and "dtls" in message and line == 3
