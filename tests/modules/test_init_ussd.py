"""AT+CUSD against the network's USSD model (sans-IO), and the console API that scripts it."""

from __future__ import annotations

import httpx
import pytest

from emulator.api.app import create_app
from emulator.config import Config, ModemSpec
from emulator.modules.handlers.ussd import UssdFromNetwork
from emulator.modules.handlers.ussd_network import network_of, script
from emulator.testing.host import Host
from emulator.testing.sansio import make_harness
from emulator.transport.runner import Emulator


def ok(*lines: str) -> bytes:
    return b"".join(b"\r\n" + line.encode() + b"\r\n" for line in lines) + b"\r\nOK\r\n"


@pytest.mark.parametrize("module", ["bg96", "ec800e", "wm-n400mse", "amm5918k"])
def test_unscripted_code_is_not_supported(module: str) -> None:
    h = make_harness(module, testkit=False)
    assert h.send("AT+CUSD?\r") == ok("+CUSD: 0")
    assert h.send("AT+CUSD=?\r") == ok("+CUSD: (0-2)")
    assert h.send('AT+CUSD=1,"*100#",15\r') == ok()
    assert h.advance(0.9) == b""  # the network answers after its delay (1 s), in virtual time
    assert h.advance(0.2) == b"\r\n+CUSD: 4\r\n"
    assert h.send("AT+CUSD?\r") == ok("+CUSD: 1")
    assert network_of(h.ctx).sent == ["*100#"]


def test_scripted_dialogue_and_cancel() -> None:
    h = make_harness("bg96", testkit=False)
    script(h.ctx, "*123#", "1 Balance 2 Data", session=True)
    script(h.ctx, "1", "Balance 1000 KRW")
    assert h.send('AT+CUSD=1,"*123#"\r') == ok()
    assert h.advance(1) == b'\r\n+CUSD: 1,"1 Balance 2 Data",15\r\n'
    assert h.send('AT+CUSD=1,"1"\r') == ok()
    assert h.advance(1) == b'\r\n+CUSD: 0,"Balance 1000 KRW",15\r\n'
    assert h.send('AT+CUSD=1,"9"\r') == ok()  # outside a dialogue, unknown: not supported
    assert h.advance(1) == b"\r\n+CUSD: 4\r\n"
    assert h.send('AT+CUSD=1,"*123#"\r') == ok()
    h.advance(1)
    assert h.send('AT+CUSD=1,"9"\r') == ok()  # inside one: the network ends it
    assert h.advance(1) == b"\r\n+CUSD: 2\r\n"
    assert h.send('AT+CUSD=1,"*123#"\r') == ok()
    assert h.send("AT+CUSD=2\r") == ok()  # cancelled before the answer: nothing comes
    assert h.advance(2) == b""


def test_presentation_off_busy_unregistered_and_ucs2() -> None:
    h = make_harness("ec800e", testkit=False)
    script(h.ctx, "*100#", "余额 10 元")
    assert h.send('AT+CUSD=0,"*100#"\r') == ok()
    assert h.send('AT+CUSD=1,"*100#"\r') == b"\r\n+CME ERROR: 3\r\n"  # one at a time
    assert h.advance(1) == b""  # <n> 0: no result code
    assert h.send('AT+CSCS="UCS2";+CUSD=1,"002A0031003000300023"\r') == ok()
    assert h.advance(1) == ('\r\n+CUSD: 0,"' + "余额 10 元".encode("utf-16-be").hex().upper() + '",72\r\n').encode()
    assert h.send('AT+CUSD=1,"zz"\r') == b"\r\nERROR\r\n"  # not hex UCS2
    assert h.stim(UssdFromNetwork("Hi", session=True)) == ('\r\n+CUSD: 1,"' + "Hi".encode("utf-16-be").hex().upper()
                                                          + '",72\r\n').encode()
    h.send('AT+CSCS="GSM";+CFUN=0\r')
    assert h.send('AT+CUSD=1,"*100#"\r') == b"\r\n+CME ERROR: 30\r\n"
    with pytest.raises(ValueError):
        script(h.ctx, "", "x")


def test_scripted_answers_survive_a_reboot() -> None:
    h = make_harness("amm5918k", testkit=False)
    script(h.ctx, "*7#", "ok")
    h.modem.reboot()
    h.advance(1)
    h.take()
    h.send("ATE0\r")
    assert h.send('AT+CUSD=1,"*7#"\r') == ok()
    assert h.advance(1) == b'\r\n+CUSD: 0,"ok",15\r\n'


async def test_console_api_scripts_and_pushes_ussd() -> None:
    emu = Emulator(Config(), modems=[ModemSpec("bg96", "bg96")], ephemeral=True, with_pty=False, with_tcp=False,
                   backends=[], follow_wall=False)
    await emu.start()
    try:
        h = Host(emu.ports["bg96"])
        assert (await h.at("ATE0")).endswith(b"OK\r\n")
        transport = httpx.ASGITransport(app=create_app(emu))
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            r = await client.post("/api/modems/bg96/ussd", json={"code": "*100#", "text": "Balance 5000 KRW"})
            assert r.status_code == 200 and r.json()["answers"]["*100#"] == {"text": "Balance 5000 KRW",
                                                                            "session": False}
            assert await h.at('AT+CUSD=1,"*100#",15') == b"\r\nOK\r\n"
            emu.advance(1)
            assert await h.expect(b'15\r\n') == b'\r\n+CUSD: 0,"Balance 5000 KRW",15\r\n'
            r = await client.post("/api/modems/bg96/ussd", json={"text": "Welcome", "session": False})
            assert r.status_code == 200
            assert await h.expect(b'15\r\n') == b'\r\n+CUSD: 0,"Welcome",15\r\n'
            r = await client.get("/api/modems/bg96/ussd")
            assert r.json()["sent"] == ["*100#"]
            assert (await client.post("/api/modems/nope/ussd", json={"text": "x"})).status_code == 404
            assert (await client.post("/api/modems/bg96/ussd", json={"code": "", "text": "x"})).status_code == 422
            assert (await client.post("/api/modems/bg96/ussd", json={"text": "x" * 183})).status_code == 422
    finally:
        await emu.stop()


@pytest.mark.parametrize("control", ["{ussd: {code: '*1#'}}", "{ussd: {text: ''}}", "{ussd: 'x'}",
                                     "{ussd: {text: hi, when: now}}"])
def test_scenario_ussd_control_is_checked_when_loading(control: str) -> None:
    from emulator.errors import ScenarioError
    from emulator.scenarios.loader import parse_scenario
    with pytest.raises(ScenarioError, match="ussd"):
        parse_scenario(f"name: t\nmodule: bg96\nsteps:\n  - control: {control}\n")
    parse_scenario("name: t\nmodule: bg96\nsteps:\n  - control: {ussd: {code: '*1#', text: hi, session: true}}\n")
