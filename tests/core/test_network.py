"""Registration and RRC: the transition table of core/state.py, +CSCON on traffic and release
after the inactivity timer (virtual clock), +CEREG URCs per n on every module."""

from __future__ import annotations

import pytest

from emulator.core.state import (DENIED, HOME, NOT_REGISTERED, REGISTRATION_TRANSITIONS, ROAMING, SEARCHING,
                                 UNKNOWN, RadioState)
from emulator.core.stimuli import NetworkAttach, NetworkDetach, SignalChanged
from emulator.modules.handlers import ts27007
from emulator.testing.sansio import make_harness

EVENTS = ["cfun_min", "cfun_full", "sim_out", "sim_in", "coverage_lost", "coverage_back", "attach_done",
          "attach_rejected"]
# the full expected table; every pair not listed leaves <stat> unchanged
EXPECTED = {
    (NOT_REGISTERED, "cfun_full"): SEARCHING, (NOT_REGISTERED, "sim_in"): SEARCHING,
    (HOME, "coverage_lost"): SEARCHING, (ROAMING, "coverage_lost"): SEARCHING,
    (SEARCHING, "attach_done"): HOME, (SEARCHING, "attach_rejected"): DENIED, (DENIED, "cfun_full"): SEARCHING,
    **{(s, "cfun_min"): NOT_REGISTERED for s in range(6)}, **{(s, "sim_out"): NOT_REGISTERED for s in range(6)},
}


@pytest.mark.parametrize("stat", [NOT_REGISTERED, HOME, SEARCHING, DENIED, UNKNOWN, ROAMING])
@pytest.mark.parametrize("event", EVENTS)
def test_registration_transition_table(stat: int, event: str) -> None:
    radio = RadioState(stat=stat)
    changed = radio.apply(event)
    expected = EXPECTED.get((stat, event), stat)
    assert radio.stat == expected
    assert changed == (expected != stat)
    assert radio.registered == (expected in (HOME, ROAMING))
    if changed:
        assert radio.attached == radio.registered
    assert radio.history == ([(stat, event, expected)] if changed else [])


def test_table_has_no_unknown_events() -> None:
    assert {e for _, e in REGISTRATION_TRANSITIONS} <= set(EVENTS)
    assert all(0 <= s <= 5 and 0 <= n <= 5 for (s, _), n in REGISTRATION_TRANSITIONS.items())


def test_can_register_needs_everything() -> None:
    assert RadioState().can_register
    for change in ({"cfun": 0}, {"sim_present": False}, {"sim_state": "SIM PIN"}, {"coverage": False}):
        assert not RadioState(**change).can_register


def settled():
    """A harness with RRC idle: any connection of the boot/attach released (rrc_inactivity, 20 s on ec800e)."""
    h = make_harness()
    h.advance(60.0)
    assert h.modem.state.radio.rrc == 0
    return h


def test_cscon_on_traffic_and_release_after_inactivity() -> None:
    h = settled()
    inactivity = float(h.modem.profile.defaults.get("rrc_inactivity", 10.0))
    assert h.send(b"AT+CSCON=1\r") == b"\r\nOK\r\n"
    ts27007.rrc_activity(h.ctx)
    assert h.take() == b"\r\n+CSCON: 1\r\n"
    assert h.send(b"AT+CSCON?\r") == b"\r\n+CSCON: 1,1\r\n\r\nOK\r\n"
    assert h.advance(inactivity - 1) == b""
    ts27007.rrc_activity(h.ctx)  # more traffic restarts the inactivity timer, no second URC
    assert h.take() == b""
    assert h.advance(inactivity - 1) == b""
    assert h.advance(1.0) == b"\r\n+CSCON: 0\r\n"
    assert h.send(b"AT+CSCON?\r") == b"\r\n+CSCON: 1,0\r\n\r\nOK\r\n"
    assert h.advance(100.0) == b""


def test_cscon_release_on_detach_and_no_rrc_when_unregistered() -> None:
    h = settled()
    h.send(b"AT+CSCON=1\r")
    ts27007.rrc_activity(h.ctx)
    h.take()
    assert h.stim(NetworkDetach()) == b"\r\n+CSCON: 0\r\n"
    ts27007.rrc_activity(h.ctx)
    assert h.take() == b""
    assert h.advance(60.0) == b""


def test_cscon_urc_held_during_a_command() -> None:
    h = settled()
    h.send(b"AT+CSCON=1\r")
    h.send(b"AT+TDELAY=5\r")
    ts27007.rrc_activity(h.ctx)
    assert h.take() == b""
    assert h.advance(5.0) == b"\r\n+TDELAY: 5\r\n\r\nOK\r\n\r\n+CSCON: 1\r\n"


def test_cscon_off_is_silent() -> None:
    h = settled()
    ts27007.rrc_activity(h.ctx)
    assert h.take() == b"" and h.modem.state.radio.rrc == 1
    assert h.advance(60.0) == b"" and h.modem.state.radio.rrc == 0


@pytest.mark.parametrize("module", ["ec800e", "bg96", "wm-n400mse", "amm5918k"])
@pytest.mark.parametrize("n", [1, 2, 4])
def test_cereg_urcs_every_module(module: str, n: int) -> None:
    h = make_harness(module, testkit=False)
    assert h.send(f"AT+CEREG={n}\r".encode()) == b"\r\nOK\r\n"
    assert h.stim(NetworkDetach()) == b"\r\n+CEREG: 2\r\n"
    back = h.stim(NetworkAttach())
    assert back.startswith(b"\r\n+CEREG: 1") and back.endswith(b"\r\n")
    assert (back.count(b",") == 3) == (n >= 2)
    assert h.send(b"AT+CFUN=0\r").endswith(b"\r\n+CEREG: 0\r\n")
    out = h.send(b"AT+CFUN=1\r") + h.advance(0.0)
    assert b"+CEREG: 2" in out and out.rstrip().split(b"\r\n")[-1].startswith(b"+CEREG: 1")
    assert h.send(b"AT+CEREG?\r").startswith(f"\r\n+CEREG: {n},1".encode())


def test_signal_stimulus_changes_csq() -> None:
    h = make_harness()
    h.stim(SignalChanged(7))
    assert h.send(b"AT+CSQ\r") == b"\r\n+CSQ: 7,99\r\n\r\nOK\r\n"


def test_cfun_urcs_only_on_a_real_change() -> None:
    """+CPIN: READY comes only when CFUN=0 -> 1 powers the SIM up again; CFUN=1 on a running
    modem and CFUN=4 -> 1 (RF only) print nothing but OK (and the registration URCs)."""
    h = make_harness("ec800e", testkit=False)
    assert h.send(b"AT+CEREG=1\r") == b"\r\nOK\r\n"
    assert h.send(b"AT+CFUN=1\r") + h.advance(0.0) == b"\r\nOK\r\n"
    assert h.send(b"AT+CFUN=4\r") == b"\r\nOK\r\n\r\n+CEREG: 0\r\n"
    assert h.send(b"AT+CFUN=4\r") == b"\r\nOK\r\n"
    assert h.send(b"AT+CFUN=1\r") + h.advance(0.0) == b"\r\nOK\r\n\r\n+CEREG: 2\r\n\r\n+CEREG: 1\r\n"
    assert h.send(b"AT+CFUN=0\r") == b"\r\nOK\r\n\r\n+CEREG: 0\r\n"
    assert (h.send(b"AT+CFUN=1\r") + h.advance(0.0)
            == b"\r\nOK\r\n\r\n+CPIN: READY\r\n\r\n+CEREG: 2\r\n\r\n+CEREG: 1\r\n")


def test_cops_format_and_modes() -> None:
    h = make_harness("ec800e", testkit=False)
    assert h.send(b"AT+COPS?\r") == b'\r\n+COPS: 0,0,"CHN-CT",7\r\n\r\nOK\r\n'
    assert h.send(b"AT+COPS=3,2\r") == b"\r\nOK\r\n"
    assert h.send(b"AT+COPS?\r") == b'\r\n+COPS: 0,2,"46011",7\r\n\r\nOK\r\n'
    assert h.send(b"AT+COPS=3,1\r") == b"\r\nOK\r\n"
    assert h.send(b"AT+COPS?\r") == b'\r\n+COPS: 0,1,"CT",7\r\n\r\nOK\r\n'
    assert h.send(b'AT+COPS=1,2,"46011"\r') == b"\r\nOK\r\n"
    assert h.send(b"AT+COPS?\r") == b'\r\n+COPS: 1,2,"46011",7\r\n\r\nOK\r\n'
    assert h.send(b'AT+COPS=1,2,"46000"\r') == b"\r\n+CME ERROR: 30\r\n"  # not the serving network
    assert h.send(b'AT+COPS=4,2,"46000"\r') == b"\r\nOK\r\n"  # manual/automatic falls back
    assert h.send(b"AT+COPS=1\r") == b"\r\n+CME ERROR: 50\r\n"  # manual needs <oper>
    assert h.send(b"AT+COPS=0,3\r") == b"\r\nERROR\r\n"  # formats are 0..2
    assert h.send(b"AT+COPS=2\r") == b"\r\nOK\r\n"
    assert h.send(b"AT+COPS?\r") == b"\r\n+COPS: 2\r\n\r\nOK\r\n"
    assert h.send(b"AT+COPS=0\r") == b"\r\nOK\r\n"
    assert h.send(b"AT+COPS?\r") == b'\r\n+COPS: 0,2,"46011",7\r\n\r\nOK\r\n'


def test_cgdcont_on_the_active_default_bearer_keeps_it_up() -> None:
    """Firmware commonly re-defines cid 1 at start-up while attached: the bearer stays up (the
    definition applies at the next activation), so sockets keep working."""
    h = make_harness("ec800e", testkit=False)
    assert h.send(b'AT+CGDCONT=1,"IP","ctnet"\r') == b"\r\nOK\r\n"
    assert h.send(b"AT+CGPADDR\r") == b'\r\n+CGPADDR: 1,"100.101.185.160"\r\n\r\nOK\r\n'
    assert h.send(b"AT+CGACT?\r") == b"\r\n+CGACT: 1,1\r\n\r\nOK\r\n"
    assert h.send(b"AT+QIACT?\r") == b'\r\n+QIACT: 1,1,1,"100.101.185.160"\r\n\r\nOK\r\n'


def test_cgdcont_cgact_cgpaddr_agree_on_type() -> None:
    h = make_harness("ec800e", testkit=False)
    assert h.send(b'AT+CGDCONT=2,"IPV6","v6"\r') == b"\r\nOK\r\n"
    assert h.send(b"AT+CGPADDR=?\r") == b"\r\n+CGPADDR: (1,2)\r\n\r\nOK\r\n"  # defined contexts
    assert h.send(b"AT+CGACT=1,2\r") == b"\r\nOK\r\n"
    assert h.send(b"AT+CGPADDR=2\r") == b'\r\n+CGPADDR: 2,"2001:DB8:0:2:0:0:0:2"\r\n\r\nOK\r\n'
    assert (h.send(b"AT+CGDCONT?\r") == b'\r\n+CGDCONT: 1,"IP","ctnet","100.101.185.160",0,0\r\n'
            b'+CGDCONT: 2,"IPV6","v6","2001:DB8:0:2:0:0:0:2",0,0\r\n\r\nOK\r\n')


def test_cereg_set_accepts_what_the_test_form_lists() -> None:
    h = make_harness("amm5918k", testkit=False)
    assert h.send(b"AT+CEREG=?\r") == b"\r\n+CEREG: (0-2,4)\r\n\r\nOK\r\n"
    for n, ok in ((0, True), (2, True), (3, False), (4, True), (5, False)):
        assert h.send(f"AT+CEREG={n}\r".encode()) == (b"\r\nOK\r\n" if ok else b"\r\nERROR\r\n")
    assert make_harness("ec800e", testkit=False).send(b"AT+CEREG=5\r") == b"\r\nOK\r\n"


@pytest.mark.parametrize("module", ["ec800e", "bg96"])
def test_csq_qcsq_qeng_report_one_signal(module: str) -> None:
    """+CSQ <rssi>, +QCSQ <rssi> and the RSSI of +QENG: "servingcell" are one measurement
    (-113 + 2*rssi dBm), before and after the signal changes; RSRP moves with it."""
    h = make_harness(module, testkit=False)

    def fields() -> tuple[int, list[str], list[str]]:
        csq = int(h.send(b"AT+CSQ\r").split(b": ")[1].split(b",")[0])
        qcsq = h.send(b"AT+QCSQ\r").split(b"\r\n")[1].decode().split(",")
        qeng = h.send(b'AT+QENG="servingcell"\r').split(b"\r\n")[1].decode().split(",")
        return csq, qcsq, qeng

    csq, qcsq, qeng = fields()
    assert int(qcsq[1]) == int(qeng[15]) == -113 + 2 * csq
    rsrp = int(qeng[13])
    h.stim(SignalChanged(10))
    csq, qcsq, qeng = fields()
    assert csq == 10 and int(qcsq[1]) == int(qeng[15]) == -93
    assert int(qeng[13]) == int(qcsq[2]) == rsrp - 2 * (20 - 10)


def test_cscon_set_accepts_what_the_test_form_lists() -> None:
    h = make_harness("ec800e", testkit=False)
    assert h.send(b"AT+CSCON=?\r") == b"\r\n+CSCON: (0-3)\r\n\r\nOK\r\n"
    assert h.send(b"AT+CSCON=1\r") == b"\r\nOK\r\n"
    assert h.send(b"AT+CSCON=4\r") == b"\r\nERROR\r\n"
    assert h.send(b"AT+CSCON?\r").startswith(b"\r\n+CSCON: 1,")


def test_cfun_cycle_reports_pdpdeact_once() -> None:
    """CFUN=0 deactivates the context of an open socket (one +QIURC: "pdpdeact"); CFUN=1
    registers again and must not repeat it while the socket waits for AT+QICLOSE."""
    from emulator.modules.handlers.quectel_tcpip_effects import OpenSocket, SocketOpened
    h = make_harness("ec800e", testkit=False)
    assert h.send(b'AT+QIOPEN=1,0,"TCP","tcp.ctwing.cn",8996,0,0\r') == b"\r\nOK\r\n"
    opened = next(e for e in h.other if isinstance(e, OpenSocket))
    assert h.stim(SocketOpened(0, opened.gen, 0, local_port=5000)) == b"\r\n+QIOPEN: 0,0\r\n"
    assert h.send(b"AT+CFUN=0\r").count(b'+QIURC: "pdpdeact"') == 1
    assert h.send(b"AT+CFUN=1\r") + h.advance(0.0) == b"\r\nOK\r\n\r\n+CPIN: READY\r\n"
    assert h.send(b"AT+CFUN=4\r").count(b'+QIURC: "pdpdeact"') == 1


def test_urc_port_is_one_setting_and_qindcfg_reads_back() -> None:
    """AT+QCFG="urc/port" and AT+QURCCFG="urcport" are two spellings of one setting (+QISTATE
    prints it); AT+QINDCFG stores per URC type and its query form reads it back."""
    h = make_harness("bg96", testkit=False)
    assert h.send(b'AT+QURCCFG="urcport","usbat"\r') == b"\r\nOK\r\n"
    assert h.send(b'AT+QCFG="urc/port"\r') == b'\r\n+QCFG: "urc/port","usbat"\r\n\r\nOK\r\n'
    assert h.send(b'AT+QCFG="urc/port","uart1"\r') == b"\r\nOK\r\n"
    assert h.send(b'AT+QURCCFG="urcport"\r') == b'\r\n+QURCCFG: "urcport","uart1"\r\n\r\nOK\r\n'
    assert h.send(b'AT+QURCCFG="urcport","usb"\r') == b"\r\nERROR\r\n"
    assert h.send(b'AT+QINDCFG="csq"\r') == b'\r\n+QINDCFG: "csq",0\r\n\r\nOK\r\n'
    assert h.send(b'AT+QINDCFG="csq",1,1\r') == b"\r\nOK\r\n"
    assert h.send(b'AT+QINDCFG="csq"\r') == b'\r\n+QINDCFG: "csq",1\r\n\r\nOK\r\n'
    assert h.send(b'AT+QINDCFG="nonsense",1\r') == b"\r\nERROR\r\n"
    assert h.send(b'AT+QINDCFG="ring",2\r').endswith(b"ERROR\r\n")
