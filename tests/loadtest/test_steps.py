"""The load-test line runner without Locust: a real Fleet (native thread, socket-pair lines),
AT requests reported per command, errors and timeouts as exceptions, refused steps named."""

from __future__ import annotations

import pytest

from emulator.loadtest.fleet import Fleet
from emulator.loadtest.steps import ATError, ATTimeout, LineRunner, StepFailure, command_name, load
from emulator.scenarios.loader import parse_scenario


@pytest.mark.parametrize("line,name", [
    ('AT+QMTOPEN=0,"mqtt.fleet.test",1883', "AT+QMTOPEN"),
    ("AT+CEREG?", "AT+CEREG?"),
    ("at+qmtcfg=?", "AT+QMTCFG=?"),
    ("ATE0", "ATE"),
    ("ATI", "ATI"),
    ("AT", "AT"),
    ("AT&F", "AT&F"),
])
def test_command_name_drops_arguments(line: str, name: str) -> None:
    assert command_name(line) == name


@pytest.fixture(scope="module")
def fleet():
    fleet = Fleet("bg96", 2, backends=[]).start()
    yield fleet
    fleet.stop()


def _run(fleet: Fleet, text: str, wall: float = 5.0):
    scenario = parse_scenario(text, "t.yaml")
    reports = []
    name, sock = fleet.take()
    try:
        LineRunner(sock, lambda *r: reports.append(r), {"modem": name, "user": "1"}).run(scenario, wall)
    finally:
        fleet.give_back(name, sock)
    return name, reports


def test_each_command_is_one_request_and_captures_flow(fleet: Fleet) -> None:
    name, reports = _run(fleet, """
name: t
module: bg96
steps:
  - send: AT+CGSN
  - expect: ["{imei:\\\\d{15}}", OK]
  - send: AT+CGSN=1
  - expect: ['+CGSN: "{imei}"', OK]
  - send: AT+NOSUCH
  - expect: ERROR
""")
    assert name.startswith("modem-")
    assert [(r[0], r[1]) for r in reports] == [("AT", "AT+CGSN"), ("AT", "AT+CGSN"), ("AT", "AT+NOSUCH")]
    assert reports[0][3] == len("123456789012345\r\nOK\r\n")  # the IMEI line and OK (echo not counted)
    assert reports[0][4] is None and reports[1][4] is None
    assert isinstance(reports[2][4], ATError) and str(reports[2][4]) == "ERROR"


def test_a_wrong_expectation_fails_the_step_with_its_location(fleet: Fleet) -> None:
    with pytest.raises(StepFailure, match=r"t.yaml:\d+: timed out"):
        _run(fleet, """
name: t
module: bg96
steps:
  - send: ATI
  - expect: ["Nokia", OK]
""", wall=0.5)


def test_an_unterminated_command_times_out_and_the_line_is_resynced(fleet: Fleet) -> None:
    reports = []
    name, sock = fleet.take()
    try:
        runner = LineRunner(sock, lambda *r: reports.append(r))
        runner.run(parse_scenario('name: t\nmodule: bg96\nsteps:\n  - send_raw: "AT+CGS"\n', "t.yaml"), 0.3)
        assert reports[0][1] == "DATA" and isinstance(reports[0][4], ATTimeout)
        assert runner.dirty  # "AT+CGS" waits in the modem's line buffer
        runner.run(parse_scenario("name: t\nmodule: bg96\nsteps:\n  - send: AT+CGMI\n  - expect: [Quectel, OK]\n",
                                  "t.yaml"), 5.0)  # resynced first: not "AT+CGSAT+CGMI"
        assert reports[1][1] == "AT+CGMI" and reports[1][4] is None and not runner.dirty
    finally:
        fleet.give_back(name, sock)


def test_control_steps_are_refused_at_load(tmp_path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: s\nmodule: bg96\nsteps:\n  - send: AT\n  - advance: 10s\n")
    with pytest.raises(ValueError, match=r"s.yaml:5: step 'advance' needs the emulator's control plane"):
        load(path)


def test_the_fleet_grows_when_every_modem_is_taken() -> None:
    fleet = Fleet("bg96", 1, backends=[], grow_by=2, limit=3).start()
    try:
        taken = [fleet.take() for _ in range(3)]
        assert [name for name, _ in taken] == ["modem-0001", "modem-0002", "modem-0003"]
        name, sock = taken[2]  # a grown modem boots and answers like the first one
        _, reports = _run_on(sock, "name: t\nmodule: bg96\nsteps:\n  - send: AT+CGSN\n  - expect: ['{i:\\d{15}}', OK]\n")
        assert reports[0][4] is None
        with pytest.raises(RuntimeError, match="all 3 modems are taken"):
            fleet.take()
    finally:
        fleet.stop()


def _run_on(sock, text: str):
    reports = []
    LineRunner(sock, lambda *r: reports.append(r)).run(parse_scenario(text, "t.yaml"), 5.0)
    return None, reports


def test_a_prompt_is_checked_and_its_data_block_is_a_request(fleet: Fleet) -> None:
    _, reports = _run(fleet, """
name: t
module: bg96
steps:
  - send: AT+QFUPL="lt.txt",5
  - expect_prompt: CONNECT
  - send_raw: "hello"
  - expect: ["+QFUPL: 5,{crc:[0-9a-f]+}", OK]
  - send: AT+QFDEL="lt.txt"
  - expect: OK
""")
    assert [r[1] for r in reports] == ["AT+QFUPL", "DATA", "AT+QFDEL"]
    assert all(r[4] is None for r in reports)
    with pytest.raises(StepFailure, match="no prompt .> . after the last command"):
        _run(fleet, "name: t\nmodule: bg96\nsteps:\n  - send: AT\n  - expect_prompt: true\n")
    with pytest.raises(StepFailure, match="ended with 'OK'"):
        _run(fleet, "name: t\nmodule: bg96\nsteps:\n  - send: AT\n  - expect_prompt: CONNECT\n")
