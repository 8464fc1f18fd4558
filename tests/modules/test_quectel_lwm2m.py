"""EC800E LwM2M (AT+QLW*) against the guide's transcripts, with a fake platform (no I/O).

The fake platform (emulator/testing/lwm2m_rig.py) turns the modem's effects into the stimuli a
CTWing-like LwM2M server answers with, using the message ids the guide shows (guide 001
§4.1.3-§4.1.4, §6.1). Error paths and timers: test_quectel_lwm2m_errors.py.
"""

from __future__ import annotations

import pytest

from emulator.core.modem import Modem
from emulator.modules import load_module
from emulator.modules.handlers.quectel_lwm2m_effects import (
    Lwm2mClose, Lwm2mExecuteRequest, Lwm2mExecuteResponse, Lwm2mNotify, Lwm2mObserveRequest,
    Lwm2mObserveResponse, Lwm2mReadRequest, Lwm2mReadResponse, Lwm2mRegister, Lwm2mWriteRequest,
    Lwm2mWriteResponse)
from emulator.testing.lwm2m_rig import (CFG_QUERY, CMD_7334, CMD_7335, CMD_25970, HELLO, Rig,
                                       framed)


# --- guide transcripts -------------------------------------------------------------------------
def test_guide_4_1_3_1_plain_registration_and_data() -> None:
    rig = Rig(mid_seed=13859, observe_ids=[44297])
    rig.platform.downlinks.append((44299, b"helloworld ack"))
    rig.check("AT+CEREG?", "+CEREG: 0,1", "OK")
    rig.check("AT+QLWCFG?", *CFG_QUERY)
    rig.check('AT+QLWCFG="lifetime_enable",0', "OK")
    rig.check('AT+QLWCONFIG=0,"221.229.214.202",5683,"868543060974334",86400,3,0', "OK")
    rig.check("AT+QLWADDOBJ=19,0,1,0", "OK")
    rig.check("AT+QLWADDOBJ=19,1,1,0", "OK")
    rig.check("AT+QLWREG", "OK", "+QLWREG: 0", '+QLWURC: "observe",44297,0,19,0,0')
    reg = rig.platform.last(Lwm2mRegister)
    assert (reg.server, reg.port, reg.endpoint, reg.lifetime, reg.psk_id, reg.psk) == \
        ("221.229.214.202", 5683, "868543060974334", 86400, None, None)
    assert reg.objects == ((19, 0, (0,)), (19, 1, (0,)))
    rig.check(f'AT+QLWOBSRSP=44297,1,19,0,0,2,10,"{HELLO}",0', "OK", "+QLWOBSRSP: 44297,0")
    obs = rig.platform.last(Lwm2mObserveResponse)
    assert (obs.msgid, obs.payload, obs.code, obs.path) == (44297, b"helloworld", 0x45, (19, 0, 0))
    rig.check(f'AT+QLWNOTIFY=19,0,0,2,10,"{HELLO}",0,1', "OK", '+QLWURC: "report",13859',
              "+QLWNOTIFY: 0", '+QLWURC: "report_ack",0,13859')
    note = rig.platform.last(Lwm2mNotify)
    assert (note.mid, note.payload, note.confirmable, note.path) == (13859, b"helloworld", True, (19, 0, 0))
    rig.check("AT+QLWUPDATE=0,86400", "OK", "+QLWUPDATE: 0,13860",
              '+QLWURC: "write",44299,19,1,0,2,14,68656C6C6F776F726C642061636B,0')
    rig.check("AT+QLWWRRSP=44299,2", "OK", "+QLWWRRSP: 44299,0")
    assert rig.platform.last(Lwm2mWriteResponse) == Lwm2mWriteResponse(44299, 0x44)
    # The guide's next update prints 18351: its capture is not contiguous (other traffic in
    # between), so move the counter to where the guide's module was.
    rig.lw.next_mid = 18351
    rig.check("AT+QLWUPDATE=0,86400", "OK", "+QLWUPDATE: 0,18351")
    rig.check("AT+QLWDEREG", "OK", "+QLWDEREG: 0")
    rig.check("AT+QLWSTATUS?", "+QLWSTATUS: 0", "OK")


def test_guide_6_1_query_without_question_mark() -> None:
    rig = Rig()
    rig.check("AT+QLWCFG", *CFG_QUERY)
    rig.check('AT+QLWCFG="lifetime_enable",0', "OK")
    rig.check('AT+QLWCFG="lifetime_enable"', '+QLWCFG: "lifetime_enable",0', "OK")


def test_guide_4_1_3_2_dtls_psk_and_endpoint() -> None:
    rig = Rig(mid_seed=40099, observe_ids=[25968])
    rig.platform.downlinks.append((25970, bytes.fromhex(CMD_25970)))
    rig.check("AT+CEREG?", "+CEREG: 0,1", "OK")
    rig.check('AT+QLWCFG="lifetime_enable",0', "OK")
    rig.check('AT+QLWCONFIG=0,"2000033383.nb.ctwing.cn",5684,"urn:imei:868543060974334",86400,0,'
              '"868543060974334","5459766f69546b333444334e5a36474e"', "OK")
    rig.check("AT+QLWADDOBJ=19,0,1,0", "OK")
    rig.check("AT+QLWADDOBJ=19,1,1,0", "OK")
    rig.check("AT+QLWREG", "OK", "+QLWREG: 0", '+QLWURC: "observe",25968,0,19,0,0')
    reg = rig.platform.last(Lwm2mRegister)
    assert (reg.server, reg.port, reg.endpoint) == ("2000033383.nb.ctwing.cn", 5684, "urn:imei:868543060974334")
    assert (reg.psk_id, reg.psk) == ("868543060974334", b"TYvoiTk34D3NZ6GN")  # docs/guides.md
    rig.check(f'AT+QLWOBSRSP=25968,1,19,0,0,2,10,"{HELLO}",0', "OK", "+QLWOBSRSP: 25968,0")
    rig.check(f'AT+QLWNOTIFY=19,0,0,2,10,"{HELLO}",0,1', "OK", '+QLWURC: "report",40099',
              "+QLWNOTIFY: 0", '+QLWURC: "report_ack",0,40099')
    rig.check("AT+QLWUPDATE=0,86400", "OK", "+QLWUPDATE: 0,40100",
              f'+QLWURC: "write",25970,19,1,0,2,45,{CMD_25970},0')
    assert bytes.fromhex(CMD_25970) == b'{"valve_onoff":0,"taskId":1,"serviceId":8001}'
    rig.check("AT+QLWWRRSP=25970,2", "OK", "+QLWWRRSP: 25970,0")
    rig.check("AT+QLWUPDATE=0,86400", "OK", "+QLWUPDATE: 0,40101")
    rig.check("AT+QLWDEREG", "OK", "+QLWDEREG: 0")
    rig.check("AT+QLWCONFIG?", '+QLWCONFIG: 0,2000033383.nb.ctwing.cn,5684,"urn:imei:868543060974334",'
              '86400,0,"868543060974334"', "OK")


def test_guide_4_1_4_1_non() -> None:
    rig = Rig()
    rig.registered()
    rig.check(f'AT+QLWNOTIFY=19,0,0,2,10,"{HELLO}",0,0', "OK", "+QLWNOTIFY: 0")
    note = rig.platform.last(Lwm2mNotify)
    assert (note.payload, note.confirmable) == (b"helloworld", False)
    assert rig.advance(100) == ""  # a NON never gets a report_ack


def test_guide_4_1_4_1_con() -> None:
    rig = Rig(mid_seed=60040)
    rig.registered()
    rig.check(f'AT+QLWNOTIFY=19,0,0,2,10,"{HELLO}",0,1', "OK", '+QLWURC: "report",60040',
              "+QLWNOTIFY: 0", '+QLWURC: "report_ack",0,60040')


def test_guide_4_1_4_2_push() -> None:
    rig = Rig(mid_seed=40100)
    rig.registered(observe=25968)
    assert rig.stim(Lwm2mWriteRequest(25970, (19, 1, 0), bytes.fromhex(CMD_25970))) == \
        framed(f'+QLWURC: "write",25970,19,1,0,2,45,{CMD_25970},0')
    rig.check("AT+QLWWRRSP=25970,2", "OK", "+QLWWRRSP: 25970,0")
    rig.check("AT+QLWRD", "ERROR")  # push mode stores nothing


def test_guide_4_1_4_2_buffer() -> None:
    rig = Rig(mid_seed=61124)
    rig.registered(observe=7332, access_mode=1)
    rig.platform.downlinks.extend([(7334, bytes.fromhex(CMD_7334)), (7335, bytes.fromhex(CMD_7335))])
    w7334 = f'"write",7334,19,1,0,2,48,{CMD_7334},0'
    w7335 = f'"write",7335,19,1,0,2,49,{CMD_7335},0'
    rig.check("AT+QLWUPDATE=0,86400", "OK", "+QLWUPDATE: 0,61124", f"+QLWURC: {w7334}")
    rig.check("AT+QLWWRRSP=7334,2", "OK", "+QLWWRRSP: 7334,0", f"+QLWURC: {w7335}")
    rig.check("AT+QLWWRRSP=7335,2", "OK", "+QLWWRRSP: 7335,0")
    rig.check("AT+QLWRD", '+QLWRD: 2,"observe",7332,0,19,0,0', "OK")
    rig.check("AT+QLWRD", f"+QLWRD: 1,{w7334}", "OK")
    rig.check("AT+QLWRD", f"+QLWRD: 0,{w7335}", "OK")
    rig.check("AT+QLWRD", "ERROR")
    assert bytes.fromhex(CMD_7334) == b'{"taskId":2,"serviceId":8004,"frozen_period":24}'
    # the buffered observe is still answerable
    rig.check(f'AT+QLWOBSRSP=7332,1,19,0,0,2,10,"{HELLO}",0', "OK", "+QLWOBSRSP: 7332,0")
    rig.check(f'AT+QLWNOTIFY=19,0,0,2,10,"{HELLO}",0,0', "OK", "+QLWNOTIFY: 0")


# --- options ------------------------------------------------------------------------------------
def test_auto_ack_answers_observe_itself() -> None:
    rig = Rig(mid_seed=3)
    rig.registered(observe=44297, auto_ack=1)
    assert rig.platform.last(Lwm2mObserveResponse) == Lwm2mObserveResponse(44297, b"", 0x45, (19, 0, 0))
    rig.check(f'AT+QLWOBSRSP=44297,1,19,0,0,2,10,"{HELLO}",0', "ERROR")
    rig.check(f'AT+QLWNOTIFY=19,0,0,2,10,"{HELLO}",0,1', "OK", '+QLWURC: "report",3', "+QLWNOTIFY: 0",
              '+QLWURC: "report_ack",0,3')


def test_observe_cancel_stops_notify() -> None:
    rig = Rig()
    rig.registered()
    assert rig.stim(Lwm2mObserveRequest(600, (19, 0, 0), cancel=True)) == \
        framed('+QLWURC: "observe",600,1,19,0,0')
    rig.check(f'AT+QLWNOTIFY=19,0,0,2,10,"{HELLO}",0,0', "+CME ERROR: 3")


def test_request_on_unknown_object_is_answered_404_by_the_module() -> None:
    rig = Rig()
    rig.registered()
    assert rig.stim(Lwm2mWriteRequest(90, (3303, 0, 5700), b"1")) == ""
    assert rig.platform.last(Lwm2mWriteResponse) == Lwm2mWriteResponse(90, 0x84)
    assert rig.stim(Lwm2mObserveRequest(91, (5, 0, 0))) == ""
    assert rig.platform.last(Lwm2mObserveResponse).code == 0x84


def test_read_and_execute() -> None:
    rig = Rig()
    rig.registered()
    assert rig.stim(Lwm2mReadRequest(62953, (19, 0, 0))) == framed('+QLWURC: "read",62953,19,0,0')
    rig.check('AT+QLWRDRSP=62953,1,19,0,0,2,2,"0102",0', "OK", "+QLWRDRSP: 62953,0")
    assert rig.platform.last(Lwm2mReadResponse) == Lwm2mReadResponse(62953, b"\x01\x02", 0x45, (19, 0, 0))
    assert rig.stim(Lwm2mExecuteRequest(39040, (19, 1, 0))) == framed('+QLWURC: "execute",39040,19,1,0')
    rig.check("AT+QLWEXERSP=39040,2", "OK", "+QLWEXERSP: 39040,0")
    assert rig.platform.last(Lwm2mExecuteResponse) == Lwm2mExecuteResponse(39040, 0x44)
    rig.check("AT+QLWEXERSP=39040,2", "ERROR")


def test_urcs_wait_for_a_running_command() -> None:
    rig = Rig()
    rig.registered()
    # a write arriving while a command line runs is printed after that line's final result
    rig.modem.receive_data(b"AT+QLWSTATUS?\r")
    rig.modem.receive_stimulus(Lwm2mWriteRequest(5, (19, 1, 0), b"A"))
    assert rig.pump() == framed("+QLWSTATUS: 2", "OK", '+QLWURC: "write",5,19,1,0,2,1,41,0')


def test_message_ids_wrap_at_16_bits() -> None:
    rig = Rig(mid_seed=65535)
    rig.registered()
    rig.check("AT+QLWUPDATE=0,86400", "OK", "+QLWUPDATE: 0,65535")
    rig.check("AT+QLWUPDATE=0,86400", "OK", "+QLWUPDATE: 0,0")


def test_default_mid_seed_is_deterministic() -> None:
    a = Modem(load_module("ec800e")).state.lwm2m.next_mid
    b = Modem(load_module("ec800e")).state.lwm2m.next_mid
    assert a == b and 0 <= a <= 0xFFFF


@pytest.mark.parametrize("mode", [0, 1])
def test_write_value_format_follows_dataformat(mode: int) -> None:
    rig = Rig()
    rig.registered()
    rig.check(f'AT+QLWCFG="dataformat",1,{mode}', "OK")
    expected = "hi" if mode == 0 else "6869"
    assert rig.stim(Lwm2mWriteRequest(8, (19, 1, 0), b"hi")) == framed(f'+QLWURC: "write",8,19,1,0,2,2,{expected},0')


def test_reboot_drops_the_session_silently() -> None:
    rig = Rig(mid_seed=21)
    rig.registered()
    rig.platform.ack = False
    rig.at(f'AT+QLWNOTIFY=19,0,0,2,10,"{HELLO}",0,1')
    out = rig.at("AT+CFUN=1,1") + rig.advance(1)
    assert "RDY" in out and "report_ack" not in out
    # the session is closed, then the runner-level Reset follows
    assert any(isinstance(e, Lwm2mClose) for e in rig.platform.effects[-2:])
    assert rig.advance(100) == ""  # the CON give-up timer died with the session
    rig.at("ATE0")
    rig.check("AT+QLWSTATUS?", "+QLWSTATUS: 0", "OK")
    rig.check("AT+QLWREG", "OK", "+QLWREG: 0")  # configuration and objects survive


def test_rai_flag_releases_the_rrc_connection() -> None:
    """<rai_flag> (3GPP TS 24.301 §9.9.4.25 release assistance): 1 = idle right after the
    uplink, 2 = after the one downlink (the CON's ACK), 0 = the inactivity timer (was ignored)."""
    rig = Rig(mid_seed=900)
    rig.registered()
    rig.check("AT+CSCON=1", "OK")
    idle = float(rig.modem.ctx.defaults.get("rrc_inactivity", 10.0))  # the module's inactivity timer
    assert rig.advance(idle) == framed("+CSCON: 0")
    rig.check(f'AT+QLWNOTIFY=19,0,0,2,10,"{HELLO}",0,0,1', "OK", "+QLWNOTIFY: 0", "+CSCON: 1", "+CSCON: 0")
    rig.check(f'AT+QLWNOTIFY=19,0,0,2,10,"{HELLO}",0,1,2', "OK", '+QLWURC: "report",901', "+QLWNOTIFY: 0",
              "+CSCON: 1", '+QLWURC: "report_ack",0,901', "+CSCON: 0")
    rig.check(f'AT+QLWNOTIFY=19,0,0,2,10,"{HELLO}",0,1,0', "OK", '+QLWURC: "report",902', "+QLWNOTIFY: 0",
              "+CSCON: 1", '+QLWURC: "report_ack",0,902')
    assert rig.advance(idle - 1) == ""
    assert rig.advance(1) == framed("+CSCON: 0")


def test_reboot_restores_qlwcfg_defaults_but_keeps_server_and_objects() -> None:
    """Guide 001 typed again after a reboot: §6.1 (which starts from RDY) and §4.1.3.1 show
    AT+QLWCFG with its defaults although the guide had set "lifetime_enable",0 before."""
    rig = Rig(mid_seed=40)
    rig.registered()
    rig.check('AT+QLWCFG="lifetime_enable",0', "OK")
    rig.check("AT+QLWDEREG", "OK", "+QLWDEREG: 0")
    rig.check('AT+QLWCFG="access_mode",1', "OK")
    out = rig.at("AT+CFUN=1,1") + rig.advance(1)
    assert "RDY" in out
    rig.at("ATE0")
    assert rig.at("AT+QLWCFG?") == ('\r\n+QLWCFG: "retransmit",2,4\r\n+QLWCFG: "auto_ack",0\r\n'
                                    '+QLWCFG: "lifetime_enable",1\r\n+QLWCFG: "dtls_mode",0\r\n\r\nOK\r\n')
    rig.check('AT+QLWCFG="access_mode"', '+QLWCFG: "access_mode",0', "OK")
    rig.check("AT+QLWREG", "OK", "+QLWREG: 0")  # server configuration and objects survive
