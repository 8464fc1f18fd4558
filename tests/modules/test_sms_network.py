"""The SMSC and the console API with an in-process modem (ModemHarness, virtual time): an MT SMS
for a modem in PSM waits until it wakes (held at the network edge like socket data), the API's
shapes and errors, PDU-form MT, and a long text arriving as a concatenated SMS."""

from __future__ import annotations

import re
from datetime import datetime

from fastapi.testclient import TestClient

from emulator.api.app import create_app
from emulator.modules.handlers import sms_codec as codec
from emulator.modules.handlers.ts27007_time import stamp
from emulator.testing.harness import ModemHarness


def test_mt_for_a_modem_in_psm_waits_for_it_to_wake() -> None:
    with ModemHarness("ec800e") as h:
        h.command("AT+CMGF=1", "OK")
        h.command('AT+QCFG="urc/psm",1', "OK")
        h.command('AT+QSCLK=3,2,"01011111","00000001"', "OK")
        h.expect("+QIND: ENTER PSM", within="60s")
        with TestClient(create_app(h.emulator)) as api:
            r = api.post("/api/modems/ec800e/sms", json={"from": "+8613800001111", "text": "wake up"})
            assert r.status_code == 200 and r.json() == {"status": "queued", "parts": 1}
            h.expect_none("5m")  # not pageable in PSM: nothing arrives
            assert len(h.port.held) == 1
            assert api.get("/api/modems/ec800e").json()["held_downlinks"] == 1
        h.send("AT")  # a command wakes the EC800E (guide 001 §6.1); the network then delivers
        h.expect("OK", "+QIND: EXIT PSM", '+CMTI: "ME",0', within="5s")
        h.command("AT+CMGR=0", '+CMGR: "REC UNREAD","+8613800001111",,"' + _stamp(h) + '"', "wake up", "OK")


def _stamp(h: ModemHarness) -> str:
    sms = h.modem.state.sms.mems["ME"].slots[0]
    d = codec.decode(sms.tpdu)
    assert d.tz == 32  # the SMSC stamps in the network's zone (China, +8 h), as +CCLK shows it
    return stamp(d.ts, 32)


def test_api_shapes_and_errors() -> None:
    with ModemHarness("bg96") as h, TestClient(create_app(h.emulator)) as api:
        assert api.get("/api/modems/bg96/sms").json() == []
        assert api.post("/api/modems/nope/sms", json={"from": "+1", "text": "x"}).status_code == 404
        assert api.get("/api/modems/nope/sms").status_code == 404
        for bad in ({"text": "no sender"}, {"from": "+1"}, {"from": "abc", "text": "x"},
                    {"from": "+1", "text": "x", "pdu": "00"}, {"pdu": "XYZ"}):
            r = api.post("/api/modems/bg96/sms", json=bad)
            assert r.status_code == 422, bad
        r = api.post("/api/modems/bg96/sms", json={"pdu": "0011"})
        assert r.status_code == 400 and r.json()["detail"].startswith("pdu: ")
        # an SMS-DELIVER as +CMT shows it (SMSC field first), and a bare TPDU
        tpdu = codec.deliver_text("+821012345678", "raw pdu", h.emulator.clock.now())[0]
        r = api.post("/api/modems/bg96/sms", json={"pdu": (codec.encode_sca("+821091000000") + tpdu).hex()})
        assert r.json() == {"status": "delivered", "parts": 1, "stored": [{"memory": "ME", "index": 0}],
                            "index": 0, "memory": "ME"}
        r = api.post("/api/modems/bg96/sms", json={"pdu": tpdu.hex()})
        assert r.json()["index"] == 1
        h.expect('+CMTI: "ME",0', '+CMTI: "ME",1')
        # a long text arrives as a concatenated SMS: two parts, two +CMTI
        text = "0123456789" * 20
        r = api.post("/api/modems/bg96/sms", json={"from": "+821012345678", "text": text})
        assert r.json()["parts"] == 2 and [s["index"] for s in r.json()["stored"]] == [2, 3]
        h.expect('+CMTI: "ME",2', '+CMTI: "ME",3')
        parts = [codec.decode(h.modem.state.sms.mems["ME"].slots[i].tpdu) for i in (2, 3)]
        assert "".join(p.text for p in parts) == text and parts[0].concat[1:] == (2, 1)
        h.command("AT+CMGF=1", "OK")
        h.send("AT+CMGR=2")
        h.expect(re.compile(r'\+CMGR: "REC UNREAD","\+821012345678",,"[^"]+"'))
        h.expect(parts[0].ud.hex().upper(), "OK")  # UDHI: text mode shows the user data in hex
        # MO: recorded with to, text, ts (virtual clock), pdu, mr
        h.send('AT+CMGS="+821055512345"')
        h.expect_prompt()
        h.send_raw(b"mo text\x1a")
        h.expect("+CMGS: 0", "OK")
        sent = api.get("/api/modems/bg96/sms").json()
        assert len(sent) == 1 and sent[0]["to"] == "+821055512345" and sent[0]["text"] == "mo text"
        assert sent[0]["ts"] <= h.emulator.clock.now() and sent[0]["mr"] == 0 and sent[0]["status"] == "delivered"
        assert codec.decode(bytes.fromhex(sent[0]["pdu"])).text == "mo text"


def test_scenario_actions_report_errors_in_one_line() -> None:
    import pytest
    with ModemHarness("bg96") as h:
        with pytest.raises(AssertionError, match="no modem 'x'"):
            h.platform("sms", "deliver", modem="x", text="a")
        with pytest.raises(AssertionError, match="needs modem, from and text"):
            h.platform("sms", "deliver", modem="bg96", text="a")
        with pytest.raises(AssertionError, match="sent no SMS matching"):
            h.platform("sms", "expect_sent", modem="bg96", to="+1")
        with pytest.raises(AssertionError, match="no scenario action 'bogus'"):
            h.platform("sms", "bogus", modem="bg96")
        assert h.platform("sms", "deliver", modem="bg96", **{"from": "+1234", "text": "hi"})["index"] == 0
        h.expect('+CMTI: "ME",0')


def test_mt_for_a_powered_off_modem_is_kept_until_it_boots() -> None:
    """Powered off, the port drops network data; the SMSC keeps the SMS and sends it again when
    the module is back (its boot is the 'alert SC'), within the validity period."""
    with ModemHarness("bg96") as h:
        h.control(power="off")
        mt = h.platform("sms", "deliver", modem="bg96", **{"from": "+821011112222", "text": "while off"})
        assert mt == {"status": "queued", "parts": 1}
        h.expect_none("1h")
        h.control(power="on")
        h.expect("RDY", "+CFUN: 1", "APP RDY", "+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE",
                 '+CMTI: "ME",0', within="10s")
        h.command("AT+CMGF=1", "OK")
        h.command("AT+CMGR=0", re.compile(r'\+CMGR: "REC UNREAD","\+821011112222",,"[^"]+"'), "while off", "OK")


def test_mt_expires_after_its_validity_period() -> None:
    with ModemHarness("bg96") as h:
        h.control(power="off")
        h.platform("sms", "deliver", modem="bg96", **{"from": "+821011112222", "text": "too late"})
        h.advance("25h")  # one day of validity for MT without a TP-VP
        h.control(power="on")
        h.expect("RDY", "+CFUN: 1", "APP RDY", "+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE", within="10s")
        h.expect_none("10s")
        h.command("AT+CPMS?", '+CPMS: "ME",0,255,"ME",0,255,"ME",0,255', "OK")


def test_a_concatenated_mo_sms_is_listed_per_part_with_the_whole_text() -> None:
    from gsmmodem.pdu import encodeSmsSubmitPdu
    text = "part of a long message " * 10
    with ModemHarness("bg96") as h, TestClient(create_app(h.emulator)) as api:
        pdus = encodeSmsSubmitPdu("+821055512345", text, reference=9, requestStatusReport=False)
        assert len(pdus) == 2
        for i, pdu in enumerate(pdus):
            h.send(f"AT+CMGS={pdu.tpduLength}")
            h.expect_prompt()
            h.send_raw(str(pdu).encode() + b"\x1a")
            h.expect(f"+CMGS: {i}", "OK")
        sent = api.get("/api/modems/bg96/sms").json()
        assert [s["concat"] for s in sent] == [{"ref": 9, "total": 2, "seq": 1}, {"ref": 9, "total": 2, "seq": 2}]
        assert [s["full_text"] for s in sent] == [text, text]
        assert "".join(s["text"] for s in sent) == text
        assert h.platform("sms", "expect_sent", modem="bg96", text=text)["mr"] == 1


def test_sms_time_stamp_and_cclk_show_one_clock_and_zone() -> None:
    """The SMSC stamps an MT SMS in the network's zone (data file ``timezone``), the zone NITZ
    gives +CCLK: +CMGR's <scts> and +CCLK show the same local clock and zone (EC800E +32, BG96
    +36). Fails when the SMS time is UTC with +00."""
    for module, zone in (("ec800e", "+32"), ("bg96", "+36")):
        with ModemHarness(module) as h, TestClient(create_app(h.emulator)) as api:
            h.command("AT+CMGF=1", "OK")
            api.post(f"/api/modems/{module}/sms", json={"from": "+821012345678", "text": "tick"})
            h.expect('+CMTI: "ME",0')
            h.send("AT+CCLK?;+CMGR=0")
            got = h.expect(re.compile(r'\+CCLK: "(?P<cclk>[^"]+)"'),
                           re.compile(r'\+CMGR: "REC UNREAD","\+821012345678",,"(?P<scts>[^"]+)"'), "tick", "OK")
            fmt = "%y/%m/%d,%H:%M:%S"
            cclk, scts = got["cclk"], got["scts"]
            assert cclk[-3:] == scts[-3:] == zone, (cclk, scts)
            lag = (datetime.strptime(cclk[:-3], fmt) - datetime.strptime(scts[:-3], fmt)).total_seconds()
            assert 0 <= lag < 60, (cclk, scts)


def test_mt_sms_carries_the_smsc_the_sim_names() -> None:
    """The SMSC field of an MT SMS is the delivering network's SMSC, the number the SIM gives
    +CSCA (data file ``smsc``): EC800E (China Telecom) +8613800210500, not the SKT default."""
    for module in ("ec800e", "bg96"):
        with ModemHarness(module) as h, TestClient(create_app(h.emulator)) as api:
            h.send("AT+CSCA?")
            csca = h.expect(re.compile(r'\+CSCA: "(?P<csca>[^"]+)",145'), "OK")["csca"]
            api.post(f"/api/modems/{module}/sms", json={"from": "+821012345678", "text": "via"})
            h.expect('+CMTI: "ME",0')
            h.command("AT+CMGF=1;+CSDH=1", "OK")
            h.send("AT+CMGR=0")
            got = h.expect(re.compile(r'\+CMGR: "REC UNREAD","\+821012345678",,"[^"]+",145,4,0,0,"(?P<sca>[^"]+)",145,3'),
                           "via", "OK")
            assert got["sca"] == csca, (module, got["sca"], csca)
    assert csca == "+821091000000"  # bg96: the shared default
