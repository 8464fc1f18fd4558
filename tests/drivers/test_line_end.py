"""The scenario ``line_end`` option: what ``send`` appends (CR, CR LF or LF), per scenario or
per step, so driver scenarios send exactly the bytes their driver writes.

Must not: test the module's handling of the line ends (tests/drivers/test_driver_scenarios.py
and the module tests do); this is the scenario format only.
"""

import pytest

from emulator.errors import ScenarioError
from emulator.scenarios.link import Link
from emulator.scenarios.loader import parse_scenario
from emulator.scenarios.runner import run_scenario

HEAD = "name: t\nmodule: bg96\nbackends: none\nskip_boot: true\n"


def test_default_is_cr_and_the_scenario_and_step_can_override_it():
    sc = parse_scenario(HEAD + "line_end: crlf\nsteps:\n  - send: AT\n  - send: ATI\n    line_end: cr\n")
    assert sc.line_end == "\r\n"
    assert [s.line_end for s in sc.steps] == [None, "\r"]
    assert parse_scenario(HEAD + "steps:\n  - send: AT\n").line_end == "\r"
    assert parse_scenario(HEAD + "line_end: lf\nsteps:\n  - send: AT\n").line_end == "\n"


@pytest.mark.parametrize("text, message, line", [
    (HEAD + "line_end: CRLF\nsteps:\n  - send: AT\n", "'line_end' must be one of cr, crlf, lf", 5),
    (HEAD + "steps:\n  - expect: OK\n    line_end: crlf\n", "'line_end' only applies to send steps", 7),
    (HEAD + "steps:\n  - send: AT\n    line_end: '\\r'\n", "'line_end' must be one of", 7),
])
def test_bad_line_end_names_the_line(text, message, line):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "t.yaml")
    assert message in str(info.value)
    assert info.value.line == line


async def test_the_bytes_written_end_as_asked(monkeypatch):
    written: list[bytes] = []
    real = Link.write

    def spy(self, data):
        written.append(bytes(data))
        real(self, data)
    monkeypatch.setattr(Link, "write", spy)
    sc = parse_scenario(HEAD + "line_end: crlf\nsteps:\n  - send: ATE0\n  - expect: OK\n"
                        "  - send: AT\n  - expect: OK\n"
                        "  - send: AT+CGMI\n    line_end: cr\n  - expect: [Quectel, OK]\n", "t.yaml")
    result = await run_scenario(sc)
    assert result.passed, result.failure
    assert written == [b"ATE0\r\n", b"AT\r\n", b"AT+CGMI\r"]
