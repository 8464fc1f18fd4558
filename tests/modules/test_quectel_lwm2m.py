"""EC800E LwM2M (AT+QLW*) against the guide's transcripts, with a fake platform (no I/O).

The fake platform turns the modem's effects into the stimuli a CTWing-like LwM2M server
answers with, using the message ids the guide shows (guide 001 §4.1.3-§4.1.4, §6.1).
"""

from __future__ import annotations

from collections import deque

import pytest
from hypothesis import given, settings, strategies as st

from emulator.core.events import Effect, ToHost
from emulator.core.modem import Modem
from emulator.modules import load_module
from emulator.modules.handlers.quectel_lwm2m_effects import (
    Lwm2mClose, Lwm2mDeregister, Lwm2mDeregistered, Lwm2mExecuteRequest, Lwm2mExecuteResponse,
    Lwm2mNotify, Lwm2mNotifyAcked, Lwm2mObserveRequest, Lwm2mObserveResponse, Lwm2mReadRequest,
    Lwm2mReadResponse, Lwm2mRegister, Lwm2mRegistered, Lwm2mUpdate, Lwm2mUpdated,
    Lwm2mWriteRequest, Lwm2mWriteResponse)

HELLO = "68656c6c6f776f726c64"
# guide 001 §4.1.3.2 / §4.1.4.2 payloads (the PDF wraps them; joined here)
CMD_25970 = "7B2276616C76655F6F6E6F6666223A302C227461736B4964223A312C22736572766963654964223A383030317D"
CMD_7334 = ("7B227461736B4964223A322C22736572766963654964223A383030342C2266726F7A656E5F706572696F64223A3"
            "2347D")
CMD_7335 = ("7B2276616C76656F66665F656E61626C65223A312C227461736B4964223A332C22736572766963654964223A383"
            "030367D")


class FakePlatform:
    """Answers effects like the CTWing LwM2M server: registers, observes 19/0/0 with the next
    id from ``observe_ids``, ACKs CON notifies (unless ``ack`` is False), and after an update
    (or after each write response) pushes the next queued downlink write on 19/1/0."""

    def __init__(self, modem: Modem, observe_ids=(), register_result: int = 0) -> None:
        self.modem = modem
        self.observe_ids = deque(observe_ids)
        self.downlinks: deque[tuple[int, bytes]] = deque()
        self.register_result = register_result
        self.ack = True
        self.silent = False
        self.effects: list[Effect] = []

    def _send(self, stim) -> None:
        self.modem.receive_stimulus(stim)

    def _push_downlink(self) -> None:
        if self.downlinks:
            msgid, payload = self.downlinks.popleft()
            self._send(Lwm2mWriteRequest(msgid, (19, 1, 0), payload))

    def handle(self, effect: Effect) -> None:
        self.effects.append(effect)
        if self.silent:
            return
        if isinstance(effect, Lwm2mRegister):
            self._send(Lwm2mRegistered(self.register_result))
            if self.register_result == 0 and self.observe_ids:
                self._send(Lwm2mObserveRequest(self.observe_ids.popleft(), (19, 0, 0)))
        elif isinstance(effect, Lwm2mUpdate):
            self._send(Lwm2mUpdated(0))
            self._push_downlink()
        elif isinstance(effect, Lwm2mWriteResponse):
            self._push_downlink()
        elif isinstance(effect, Lwm2mDeregister):
            self._send(Lwm2mDeregistered(0))
        elif isinstance(effect, Lwm2mNotify) and effect.confirmable and self.ack:
            self._send(Lwm2mNotifyAcked(effect.mid, True))

    def last(self, kind):
        found = [e for e in self.effects if isinstance(e, kind)]
        assert found, f"no {kind.__name__} effect"
        return found[-1]


class Rig:
    def __init__(self, mid_seed: int = 13859, **platform) -> None:
        self.modem = Modem(load_module("ec800e", {"lwm2m_mid_seed": mid_seed}))
        self.platform = FakePlatform(self.modem, **platform)
        self.pump()
        assert self.at("ATE0") == "ATE0\r\r\nOK\r\n"

    def pump(self) -> str:
        out = b""
        while (event := self.modem.next_event()) is not None:
            if isinstance(event, ToHost):
                out += event.data
            elif isinstance(event, Effect):
                self.platform.handle(event)
        return out.decode()

    def at(self, line: str) -> str:
        self.modem.receive_data(line.encode() + b"\r")
        return self.pump()

    def check(self, line: str, *expected: str) -> None:
        assert self.at(line) == framed(*expected), line

    def advance(self, seconds: float) -> str:
        self.modem.advance(seconds)
        return self.pump()

    def stim(self, stimulus) -> str:
        self.modem.receive_stimulus(stimulus)
        return self.pump()

    def alive(self) -> None:
        self.check("AT", "OK")

    @property
    def lw(self):
        return self.modem.state.lwm2m

    def registered(self, observe: int | None = 44297, **cfg: int) -> None:
        """The guide's preamble up to +QLWREG: 0 (and the observe answered)."""
        self.check('AT+QLWCFG="lifetime_enable",0', "OK")
        for key, value in cfg.items():
            self.check(f'AT+QLWCFG="{key}",{value}', "OK")
        self.check('AT+QLWCONFIG=0,"221.229.214.202",5683,"868543060974334",86400,3,0', "OK")
        self.check("AT+QLWADDOBJ=19,0,1,0", "OK")
        self.check("AT+QLWADDOBJ=19,1,1,0", "OK")
        if observe is None:
            self.check("AT+QLWREG", "OK", "+QLWREG: 0")
            return
        self.platform.observe_ids.append(observe)
        self.check("AT+QLWREG", "OK", "+QLWREG: 0", f'+QLWURC: "observe",{observe},0,19,0,0')
        if not cfg.get("auto_ack") and not cfg.get("access_mode"):
            self.check(f'AT+QLWOBSRSP={observe},1,19,0,0,2,10,"{HELLO}",0', "OK",
                       f"+QLWOBSRSP: {observe},0")


def framed(*lines: str) -> str:
    return "".join(f"\r\n{line}\r\n" for line in lines)


CFG_QUERY = ('+QLWCFG: "retransmit",2,4', '+QLWCFG: "auto_ack",0', '+QLWCFG: "lifetime_enable",1',
             '+QLWCFG: "dtls_mode",0', "OK")


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
    assert (reg.psk_id, reg.psk) == ("868543060974334", b"TYvoiTk34D3NZ6GN")  # seed-notes.md
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


# --- timers on the virtual clock ----------------------------------------------------------------
def test_con_never_acked_reports_failure_after_retransmissions() -> None:
    rig = Rig(mid_seed=500)
    rig.registered()
    rig.platform.ack = False
    rig.check(f'AT+QLWNOTIFY=19,0,0,2,10,"{HELLO}",0,1', "OK", '+QLWURC: "report",500', "+QLWNOTIFY: 0")
    # "retransmit",2,4: 2+4+8+16+32 = 62 s until the last retransmission times out
    assert rig.advance(61.9) == ""
    assert rig.advance(0.1) == framed('+QLWURC: "report_ack",1,500')
    assert rig.stim(Lwm2mNotifyAcked(500, True)) == ""  # a late ACK changes nothing
    rig.alive()


def test_retransmit_setting_changes_the_give_up_time() -> None:
    rig = Rig(mid_seed=7)
    rig.registered()
    rig.check('AT+QLWCFG="retransmit",1,2', "OK")
    rig.platform.ack = False
    rig.at(f'AT+QLWNOTIFY=19,0,0,2,10,"{HELLO}",0,1')
    assert rig.advance(6.9) == ""  # 1 * (2**3 - 1) = 7 s
    assert rig.advance(0.1) == framed('+QLWURC: "report_ack",1,7')


def test_con_rejected_by_platform_reports_failure() -> None:
    rig = Rig(mid_seed=9)
    rig.registered()
    rig.platform.ack = False
    rig.at(f'AT+QLWNOTIFY=19,0,0,2,10,"{HELLO}",0,1')
    assert rig.stim(Lwm2mNotifyAcked(9, False)) == framed('+QLWURC: "report_ack",2,9')
    assert rig.advance(100) == ""


def test_deregister_with_unacked_con_fails_it_loudly() -> None:
    rig = Rig(mid_seed=11)
    rig.registered()
    rig.platform.ack = False
    rig.at(f'AT+QLWNOTIFY=19,0,0,2,10,"{HELLO}",0,1')
    rig.check("AT+QLWDEREG", "OK", '+QLWURC: "report_ack",2,11', "+QLWDEREG: 0")
    assert rig.advance(100) == ""


def test_register_timeout() -> None:
    rig = Rig()
    rig.platform.silent = True
    rig.check('AT+QLWCONFIG=0,"221.229.214.202",5683,"868543060974334",86400,3,0', "OK")
    rig.check("AT+QLWREG", "OK")
    rig.check("AT+QLWSTATUS?", "+QLWSTATUS: 1", "OK")
    assert rig.advance(62) == framed("+QLWREG: -2")
    assert isinstance(rig.platform.effects[-1], Lwm2mClose)
    assert rig.stim(Lwm2mRegistered(0)) == ""  # too late
    rig.check("AT+QLWSTATUS?", "+QLWSTATUS: 0", "OK")
    rig.platform.silent = False
    rig.check("AT+QLWREG", "OK", "+QLWREG: 0")


def test_update_and_deregister_timeouts() -> None:
    rig = Rig(mid_seed=300)
    rig.registered()
    rig.platform.silent = True
    rig.check("AT+QLWUPDATE=0,3600", "OK")
    assert rig.advance(62) == framed("+QLWUPDATE: -2,300")
    rig.check("AT+QLWDEREG", "OK")
    assert rig.advance(62) == framed("+QLWDEREG: -2")
    rig.check("AT+QLWSTATUS?", "+QLWSTATUS: 0", "OK")


def test_lifetime_enable_sends_updates_itself() -> None:
    rig = Rig(mid_seed=1000)
    rig.check('AT+QLWCONFIG=0,"221.229.214.202",5683,"868543060974334",1000,3,0', "OK")
    rig.check("AT+QLWREG", "OK", "+QLWREG: 0")
    assert rig.advance(899) == ""
    assert rig.advance(1) == ""  # a successful automatic update prints nothing
    upd = rig.platform.last(Lwm2mUpdate)
    assert (upd.auto, upd.lifetime, upd.mid) == (True, 1000, 1000)
    rig.advance(900)
    assert rig.platform.last(Lwm2mUpdate).mid == 1001


def test_lifetime_disabled_sends_no_update() -> None:
    rig = Rig()
    rig.registered()
    rig.advance(86400 * 2)
    assert not [e for e in rig.platform.effects if isinstance(e, Lwm2mUpdate)]


# --- bad input and wrong state ------------------------------------------------------------------
def test_length_mismatch_and_bad_hex() -> None:
    rig = Rig(mid_seed=40)
    rig.registered()
    for line in (f'AT+QLWNOTIFY=19,0,0,2,9,"{HELLO}",0,0',
                 f'AT+QLWNOTIFY=19,0,0,2,11,"{HELLO}",0,0',
                 'AT+QLWNOTIFY=19,0,0,2,3,"68656",0,0',     # odd number of hex digits
                 'AT+QLWNOTIFY=19,0,0,2,2,"zz11",0,0',      # not hex
                 'AT+QLWNOTIFY=19,0,0,1,4,"hello",0,0',     # string: len = characters
                 'AT+QLWNOTIFY=19,0,0,3,2,"ab",0,0',        # integer type, not a number
                 f'AT+QLWNOTIFY=19,0,0,2,10,"{HELLO}",0,2',  # ack out of range
                 f'AT+QLWNOTIFY=19,0,0,7,10,"{HELLO}",0,0'):  # unknown value type
        rig.check(line, "ERROR")
        rig.alive()
    assert not [e for e in rig.platform.effects if isinstance(e, Lwm2mNotify)]
    assert rig.lw.next_mid == 40  # nothing consumed
    rig.check('AT+QLWNOTIFY=19,0,0,1,5,"hello",0,0', "OK", "+QLWNOTIFY: 0")
    assert rig.platform.last(Lwm2mNotify).payload == b"hello"


def test_notify_before_observe_or_registration() -> None:
    rig = Rig()
    rig.check(f'AT+QLWNOTIFY=19,0,0,2,10,"{HELLO}",0,0', "+CME ERROR: 3")
    rig.alive()
    rig.registered(observe=None)
    rig.check(f'AT+QLWNOTIFY=19,0,0,2,10,"{HELLO}",0,1', "+CME ERROR: 3")
    rig.alive()
    # observed, but on another path than the one notified
    rig.stim(Lwm2mObserveRequest(5, (19, 0, 0)))
    rig.check(f'AT+QLWOBSRSP=5,1,19,0,0,2,10,"{HELLO}",0', "OK", "+QLWOBSRSP: 5,0")
    rig.check(f'AT+QLWNOTIFY=19,1,0,2,10,"{HELLO}",0,0', "+CME ERROR: 3")
    rig.check(f'AT+QLWNOTIFY=19,0,0,2,10,"{HELLO}",0,0', "OK", "+QLWNOTIFY: 0")


def test_write_response_unknown_msgid() -> None:
    rig = Rig()
    rig.registered()
    rig.check("AT+QLWWRRSP=1234,2", "ERROR")
    rig.alive()
    rig.stim(Lwm2mWriteRequest(77, (19, 1, 0), b"\x01"))
    rig.check("AT+QLWWRRSP=77,99", "ERROR")  # unknown result code
    rig.check("AT+QLWEXERSP=77,2", "ERROR")  # not an execute
    rig.check("AT+QLWWRRSP=77,2", "OK", "+QLWWRRSP: 77,0")
    rig.check("AT+QLWWRRSP=77,2", "ERROR")  # answered already
    rig.alive()


def test_observe_response_wrong_path_or_msgid() -> None:
    rig = Rig()
    rig.registered(observe=None)
    rig.stim(Lwm2mObserveRequest(44297, (19, 0, 0)))
    rig.check(f'AT+QLWOBSRSP=44298,1,19,0,0,2,10,"{HELLO}",0', "ERROR")
    rig.check(f'AT+QLWOBSRSP=44297,1,19,1,0,2,10,"{HELLO}",0', "ERROR")
    rig.check(f'AT+QLWOBSRSP=44297,1,19,0,0,2,10,"{HELLO[:-1]}",0', "ERROR")
    rig.check(f'AT+QLWOBSRSP=44297,1,19,0,0,2,10,"{HELLO}",0', "OK", "+QLWOBSRSP: 44297,0")


def test_register_refused_prints_minus_9_and_port_recovers() -> None:
    rig = Rig(register_result=-9)
    rig.check('AT+QLWCONFIG=0,"221.229.214.202",5683,"000000000000000",86400,3,0', "OK")
    rig.check("AT+QLWREG", "OK", "+QLWREG: -9")
    rig.check("AT+QLWSTATUS?", "+QLWSTATUS: 0", "OK")
    rig.check(f'AT+QLWNOTIFY=19,0,0,2,10,"{HELLO}",0,0', "+CME ERROR: 3")
    rig.alive()
    rig.platform.register_result = 0
    rig.check("AT+QLWREG", "OK", "+QLWREG: 0")
    rig.check("AT+QLWSTATUS?", "+QLWSTATUS: 2", "OK")


def test_config_validation_stores_nothing_bogus() -> None:
    rig = Rig()
    good = '"868543060974334","5459766f69546b333444334e5a36474e"'
    for line in ('AT+QLWCONFIG=0,"2000033383.nb.ctwing.cn",5684,"urn:imei:1",86400,0,"id","545"',  # odd
                 'AT+QLWCONFIG=0,"2000033383.nb.ctwing.cn",5684,"urn:imei:1",86400,0,"id","zz"',   # not hex
                 'AT+QLWCONFIG=0,"2000033383.nb.ctwing.cn",5684,"urn:imei:1",86400,0,"id",""',     # empty
                 'AT+QLWCONFIG=0,"2000033383.nb.ctwing.cn",5684,"urn:imei:1",86400,0',            # PSK missing
                 'AT+QLWCONFIG=0,"h",5683,"ep",86400,1',                                          # RPK
                 'AT+QLWCONFIG=0,"h",70000,"ep",86400,3',                                         # port
                 'AT+QLWCONFIG=0,"",5683,"ep",86400,3',                                           # host
                 'AT+QLWCONFIG=0,"h",5683,"ep",0,3',                                              # lifetime
                 'AT+QLWCONFIG=0,"h",5683,"ep",86400,3,"x"',                                      # NoSec+PSK
                 f'AT+QLWCONFIG=0,"h",5683,"ep",86400,3,{good}'):
        rig.check(line, "ERROR")
        rig.alive()
    rig.check("AT+QLWCONFIG?", "OK")
    rig.check("AT+QLWREG", "ERROR")  # nothing configured
    # §7: domain and IPv6 forms
    rig.check('AT+QLWCONFIG=0,"240E:980:8120:28:84F4:C0C2:4A95:85F9",5683,"868543060974334",86400,3,0', "OK")
    rig.check('AT+QLWCONFIG=0,"lwm2m.ctwing.cn",5683,"868543060974334",86400,3,0', "OK")
    rig.check("AT+QLWCONFIG?", '+QLWCONFIG: 0,lwm2m.ctwing.cn,5683,"868543060974334",86400,3', "OK")


def test_state_errors() -> None:
    rig = Rig()
    rig.check("AT+QLWUPDATE=0,86400", "+CME ERROR: 3")
    rig.check("AT+QLWDEREG", "+CME ERROR: 3")
    rig.registered()
    rig.check("AT+QLWREG", "+CME ERROR: 3")
    rig.check('AT+QLWCONFIG=0,"h",5683,"ep",86400,3', "+CME ERROR: 3")
    rig.alive()


def test_register_without_network() -> None:
    rig = Rig()
    rig.check('AT+QLWCONFIG=0,"221.229.214.202",5683,"868543060974334",86400,3,0', "OK")
    rig.check("AT+CFUN=0", "OK")
    rig.check("AT+QLWREG", "+CME ERROR: 30")
    assert not rig.platform.effects


def test_qlwcfg_validation() -> None:
    rig = Rig()
    for line in ('AT+QLWCFG="nonsense",1', 'AT+QLWCFG="retransmit",2', 'AT+QLWCFG="retransmit",2,4,5',
                 'AT+QLWCFG="auto_ack",2', 'AT+QLWCFG="access_mode",x', 'AT+QLWCFG="nonsense"'):
        rig.check(line, "ERROR")
    rig.check("AT+QLWCFG?", *CFG_QUERY)
    rig.check('AT+QLWCFG="dataformat",1,0', "OK")
    rig.check('AT+QLWCFG="dataformat"', '+QLWCFG: "dataformat",1,0', "OK")
    rig.check('AT+QLWCFG="access_mode"', '+QLWCFG: "access_mode",0', "OK")


def test_objects_add_and_delete() -> None:
    rig = Rig()
    rig.check("AT+QLWADDOBJ=19,0,1,0", "OK")
    rig.check("AT+QLWADDOBJ=19,0,1,0", "ERROR")  # duplicate instance
    rig.check("AT+QLWADDOBJ=19,2,2,0", "ERROR")  # res_num says 2, one given
    rig.check("AT+QLWADDOBJ=3303,0,2,5700,5701", "OK")
    rig.check("AT+QLWDELOBJ=3303", "OK")
    rig.check("AT+QLWDELOBJ=3303", "ERROR")
    rig.check('AT+QLWCONFIG=0,"221.229.214.202",5683,"868543060974334",86400,3,0', "OK")
    rig.check("AT+QLWREG", "OK", "+QLWREG: 0")
    assert rig.platform.last(Lwm2mRegister).objects == ((19, 0, (0,)),)


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


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=0, max_size=64), st.integers(-2, 2))
def test_notify_length_property(payload: bytes, skew: int) -> None:
    rig = _PROP_RIG
    before = len(rig.platform.effects)
    line = f'AT+QLWNOTIFY=19,0,0,2,{len(payload) + skew},"{payload.hex()}",0,0'
    out = rig.at(line)
    if skew == 0:
        assert out == framed("OK", "+QLWNOTIFY: 0")
        assert rig.platform.effects[-1].payload == payload
    else:
        assert out in (framed("ERROR"),)
        assert len(rig.platform.effects) == before


def _prop_rig() -> Rig:
    rig = Rig()
    rig.registered()
    return rig


_PROP_RIG = _prop_rig()


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
    assert isinstance(rig.platform.effects[-1], Lwm2mClose)
    assert rig.advance(100) == ""  # the CON give-up timer died with the session
    rig.at("ATE0")
    rig.check("AT+QLWSTATUS?", "+QLWSTATUS: 0", "OK")
    rig.check("AT+QLWREG", "OK", "+QLWREG: 0")  # configuration and objects survive
