"""One control plane (emulator/control.py) behind the console API, the scenario steps and the
harness; typed errors mapped by each adapter; one host-link interface for every transport."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from emulator.api.app import create_app
from emulator.config import Config, ModemSpec
from emulator.control import BadRequest, Control, NotFound, Refused, UnknownModem
from emulator.scenarios import actions
from emulator.scenarios.loader import parse_scenario
from emulator.scenarios.report import failure_lines
from emulator.scenarios.runner import run_scenario
from emulator.testing.harness import ModemHarness
from emulator.testing.host import Host
from emulator.transport.hostlink import SerialLink, open_host_link
from emulator.transport.inproc import InProcessLink
from emulator.transport.runner import Emulator

HEAD = "name: t\nmodule: ec800e\nbackends: none\nskip_boot: true\nsteps:\n"


# --- the same control through the three adapters --------------------------------------------
def test_detach_through_api_step_and_harness_reaches_the_same_state() -> None:
    with ModemHarness("ec800e") as h:
        h.command("AT+CEREG=1")
        assert h.controls.describe(h.name)["registered"] is True
        h.control(network="detach")  # the scenario step's table entry
        h.expect_urc("+CEREG: 2")
        assert h.controls.describe(h.name)["registered"] is False
        h.control(network="attach")
        h.drain()  # what re-registering prints is the network feature's business, not ours
        assert h.controls.describe(h.name)["registered"] is True
        with TestClient(create_app(h.emulator)) as api:
            answer = api.post(f"/api/modems/{h.name}/network", json={"action": "detach"})
            assert answer.status_code == 200 and answer.json()["registered"] is False
            assert answer.json() == h.call(lambda: h.controls.describe(h.name))
        h.expect_urc("+CEREG: 2")


async def test_power_wake_and_dtr_controls_in_a_scenario() -> None:
    steps = ("  - control: {dtr: low}\n  - control: {power: off}\n  - expect_none: 1h\n"
             "  - send: AT\n  - expect_none: 5s\n"  # powered off: nobody answers
             "  - control: {wake: true}\n  - expect: RDY\n    within: 30s\n"
             "  - send: AT\n    allow_other: true\n  - expect: OK\n    allow_other: true\n")
    result = await run_scenario(parse_scenario(HEAD + steps, "t.yaml"))
    assert result.passed, failure_lines(result)
    assert [e.text for e in result.transcript if e.kind == "note"][:3] == [
        "control {'dtr': 'low'}", "control {'power': False}", "control {'wake': True}"]  # YAML 1.1: off is false


# --- typed errors and how each adapter maps them -------------------------------------------
def test_control_errors_are_typed() -> None:
    with ModemHarness("ec800e") as h:
        c: Control = h.controls
        with pytest.raises(UnknownModem, match=r"no modem 'nope'; modems: ec800e"):
            c.port("nope")
        with pytest.raises(BadRequest, match="signal needs rssi"):
            c.network(h.name, "signal")
        with pytest.raises(BadRequest, match="network action must be one of"):
            c.network(h.name, "explode")
        with pytest.raises(NotFound):
            c.add_fault("nowhere.invalid", 1, "drop")
        with pytest.raises(BadRequest, match="fault kind"):
            c.add_fault("nowhere.invalid", 1, "melt")
        with pytest.raises(NotFound, match="backend 'ctwing' is not running; running: none"):
            c.platform("ctwing", "queue_command", {})
        assert isinstance(UnknownModem("x"), NotFound)


def test_sms_through_the_control_plane_and_its_errors() -> None:
    with ModemHarness("ec800e") as h:
        c: Control = h.controls
        h.command("AT+CMGF=1")
        h.command('AT+CNMI=2,2,0,0,0')
        result = h.call(lambda: c.sms_deliver(h.name, sender="+8210123", text="hi"))
        assert result["status"] == "delivered"
        h.expect_urc(re.compile(r'\+CMT: "\+8210123",.*'), "hi")
        assert h.call(lambda: c.sms_sent(h.name)) == []
        with pytest.raises(UnknownModem):
            c.sms_deliver("nope", sender="+1", text="x")
        with pytest.raises(Refused, match="^pdu: "):
            h.call(lambda: c.sms_deliver(h.name, pdu="00"))
        with pytest.raises(BadRequest, match="sms has no scenario action 'explode'"):
            c.platform("sms", "explode", {"modem": h.name})


def test_api_maps_control_errors_to_404_and_422() -> None:
    with ModemHarness("ec800e") as h, TestClient(create_app(h.emulator)) as api:
        missing = api.get("/api/modems/nope")
        assert missing.status_code == 404 and missing.json() == {"detail": "no modem 'nope'; modems: ec800e"}
        assert api.post("/api/modems/nope/power", json={"on": False}).status_code == 404
        signal = api.post(f"/api/modems/{h.name}/network", json={"action": "signal"})
        assert signal.status_code == 422 and signal.json() == {"detail": "signal needs rssi (0-31, 99)"}
        fault = api.post("/api/network/faults", json={"host": "nowhere.invalid", "kind": "drop"})
        assert fault.status_code == 404 and "nowhere.invalid" in fault.json()["detail"]
        assert h.controls.describe(h.name)["powered"] is True  # nothing happened on the way


async def test_a_refused_control_fails_its_step_with_the_reason() -> None:
    steps = "  - control: {fault: {host: nowhere.invalid, kind: drop}}\n"
    result = await run_scenario(parse_scenario(HEAD + steps, "t.yaml"))
    assert not result.passed and result.failure.where == "t.yaml:6"
    assert "nowhere.invalid" in result.failure.message and "Error:" not in result.failure.message


def test_action_table_checks_what_the_loader_reports() -> None:
    assert [a.key for a in actions.ACTIONS] == ["network", "power", "dtr", "wake", "gnss", "fault",
                                                  "clear_faults", "ussd"]
    assert actions.check({"network": "detach"}) is None
    assert actions.check({"network": "signal"}) == "control network: signal needs rssi: 0-31 or 99"
    assert actions.check({"explode": 1}) == ("unknown control explode; use network, power, dtr, wake, "
                                             "gnss, fault, clear_faults, ussd")
    assert actions.check({"ussd": {"text": ""}}) == "control ussd takes {code?: '*100#', text: '...', session?: false}"
    assert actions.check({"ussd": {"code": "*100#", "text": "Balance"}}) is None
    assert actions.check([]) == actions.USAGE
    with pytest.raises(BadRequest, match="control power must be on or off"):
        actions.apply(None, "m", {"power": "maybe"})  # type: ignore[arg-type]


# --- host links -------------------------------------------------------------------------------
async def test_in_process_link_attached_on_port_reads_the_boot_and_detaches_on_close() -> None:
    emu = Emulator(Config(), modems=[ModemSpec("m", "ec800e")], ephemeral=True, follow_wall=False,
                   with_pty=False, with_tcp=False, backends=[])
    got: list[bytes] = []
    links: list[InProcessLink] = []

    def attach(port) -> None:  # noqa: ANN001
        link = InProcessLink(port)
        link.on_output(got.append)
        links.append(link)
    emu.on_port(attach)
    await emu.start()
    try:
        assert b"RDY" in b"".join(got)  # attached before the first drain
        host = Host(links[0])
        assert (await host.at("AT")).endswith(b"\r\nOK\r\n")
        links[0].close()
        before = len(got)
        emu.ports["m"].feed(b"AT\r")
        assert len(got) == before and links[0]._deliver not in emu.ports["m"].sinks
    finally:
        await emu.stop()


@pytest.mark.parametrize("transport", ["tcp", "pty"])
async def test_serial_link_over_tcp_and_pty(transport: str) -> None:
    emu = Emulator(Config(), modems=[ModemSpec("m", "bg96")], ephemeral=True, follow_wall=True,
                   with_pty=transport == "pty", with_tcp=transport == "tcp", backends=[])
    await emu.start()
    link = None
    try:
        link = open_host_link(emu.ports["m"], transport)
        assert isinstance(link, SerialLink)
        host = Host(link)
        out = await host.at("AT+CGMM")
        assert out.endswith(b"\r\nBG96\r\n\r\nOK\r\n"), out
        with pytest.raises(ValueError, match="has no"):
            open_host_link(emu.ports["m"], "pty" if transport == "tcp" else "tcp")
    finally:
        if link is not None:
            link.close()
        await emu.stop()
