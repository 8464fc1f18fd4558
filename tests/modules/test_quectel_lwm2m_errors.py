"""EC800E LwM2M (AT+QLW*): timers on the virtual clock, bad input, wrong state; the port
keeps answering after each (guide transcripts: test_quectel_lwm2m.py)."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from emulator.modules.handlers.quectel_lwm2m_effects import (
    Lwm2mClose, Lwm2mNotify, Lwm2mNotifyAcked, Lwm2mObserveRequest, Lwm2mRegister, Lwm2mRegistered,
    Lwm2mUpdate, Lwm2mWriteRequest)
from emulator.testing.lwm2m_rig import CFG_QUERY, HELLO, Rig, framed


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
    # the module's own update reports as the periodic "ping" URC (BC66 ril.h URC_LWM2M_PING)
    assert rig.advance(1) == framed('+QLWURC: "ping",0')
    upd = rig.platform.last(Lwm2mUpdate)
    assert (upd.auto, upd.lifetime, upd.mid) == (True, 1000, 1000)
    assert rig.advance(900) == framed('+QLWURC: "ping",0')
    assert rig.platform.last(Lwm2mUpdate).mid == 1001


def test_update_refused_by_platform_ends_the_session() -> None:
    """The platform forgot the registration (lifetime expired): Update -> 4.04 -> -9. The module
    must not stay "registered" with nobody listening; it says so and may register again."""
    rig = Rig(mid_seed=600)
    rig.registered()
    rig.platform.update_result = -9
    rig.check("AT+QLWUPDATE=0,86400", "OK", "+QLWUPDATE: -9,600", '+QLWURC: "lwstatus",0')
    assert isinstance(rig.platform.effects[-1], Lwm2mClose)
    rig.check("AT+QLWSTATUS?", "+QLWSTATUS: 0", "OK")
    rig.check(f'AT+QLWNOTIFY=19,0,0,2,10,"{HELLO}",0,1', "+CME ERROR: 3")
    rig.platform.update_result = 0
    rig.platform.observe_ids.append(7)
    rig.check("AT+QLWREG", "OK", "+QLWREG: 0", '+QLWURC: "observe",7,0,19,0,0')


def test_automatic_update_refused_ends_the_session() -> None:
    rig = Rig(mid_seed=700)
    rig.check('AT+QLWCONFIG=0,"221.229.214.202",5683,"868543060974334",1000,3,0', "OK")
    rig.check("AT+QLWREG", "OK", "+QLWREG: 0")
    rig.platform.update_result = -9
    assert rig.advance(900) == framed('+QLWURC: "ping",-9', '+QLWURC: "lwstatus",0')
    rig.check("AT+QLWSTATUS?", "+QLWSTATUS: 0", "OK")
    assert rig.advance(86400) == ""  # no more automatic updates


def test_no_network_nothing_is_sent_and_con_fails_by_timer() -> None:
    """Detached (coverage lost): uplinks must not reach the platform; a CON notify ends in the
    failure URC after the retransmissions (virtual clock), an Update in -2."""
    from emulator.core.stimuli import NetworkAttach, NetworkDetach
    rig = Rig(mid_seed=800)
    rig.registered()
    assert "QLW" not in rig.stim(NetworkDetach())
    sent = len(rig.platform.effects)
    rig.check(f'AT+QLWNOTIFY=19,0,0,2,10,"{HELLO}",0,1', "OK", '+QLWURC: "report",800', "+QLWNOTIFY: 0")
    rig.check(f'AT+QLWNOTIFY=19,0,0,2,10,"{HELLO}",0,0', "OK", "+QLWNOTIFY: 0")
    assert rig.advance(61.9) == ""
    assert rig.advance(0.1) == framed('+QLWURC: "report_ack",1,800')
    rig.check("AT+QLWUPDATE=0,86400", "OK")
    assert rig.advance(62) == framed("+QLWUPDATE: -2,802")
    assert rig.platform.effects[sent:] == []  # nothing left the module
    assert "QLW" not in rig.stim(NetworkAttach())
    rig.check(f'AT+QLWNOTIFY=19,0,0,2,10,"{HELLO}",0,1', "OK", '+QLWURC: "report",803', "+QLWNOTIFY: 0",
              '+QLWURC: "report_ack",0,803')


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
    rig.check("AT+QLWADDOBJ=19,0,1,0", "OK")  # the same instance again (firmware adding at every start)
    rig.check("AT+QLWADDOBJ=19,0,2,0,1", "ERROR")  # the same instance with other resources
    rig.check("AT+QLWADDOBJ=19,1,2,0,0", "ERROR")  # a resource listed twice
    rig.check("AT+QLWADDOBJ=19,2,2,0", "ERROR")  # res_num says 2, one given
    rig.check("AT+QLWADDOBJ=3303,0,2,5700,5701", "OK")
    rig.check("AT+QLWDELOBJ=3303", "OK")
    rig.check("AT+QLWDELOBJ=3303", "ERROR")
    rig.check('AT+QLWCONFIG=0,"221.229.214.202",5683,"868543060974334",86400,3,0', "OK")
    rig.check("AT+QLWREG", "OK", "+QLWREG: 0")
    assert rig.platform.last(Lwm2mRegister).objects == ((19, 0, (0,)),)


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
