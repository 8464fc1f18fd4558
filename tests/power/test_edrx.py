"""eDRX: an idle device is paged only in its paging time windows, so platform downlinks wait
for the next one (TS 23.682 §4.5.13.1; cycle/PTW per TS 24.008 Table 10.5.5.32); +CEDRXP and
+CEDRXRDP report what the network provided (TS 27.007 §7.40-7.41). All in virtual time."""

from __future__ import annotations

import pytest

from emulator.core.modem import Modem
from emulator.core.stimuli import NetworkDetach, Paged
from emulator.modules import load_module
from emulator.modules.handlers import ts27007
from emulator.modules.handlers.edrx import EDRX_CYCLE_WB, cycle_seconds, ptw_seconds
from emulator.testing.harness import ModemHarness

from .test_psm_platforms import TCP_DEVICE, _ctwing_tcp_login


def out(m: Modem) -> bytes:
    return b"".join(e.data for e in m.events() if hasattr(e, "data"))


def test_cycle_and_ptw_lengths_follow_ts24008() -> None:
    assert cycle_seconds(4, "0101") == 81.92
    assert cycle_seconds(4, "0000") == 5.12 and cycle_seconds(4, "1111") == 10485.76
    assert cycle_seconds(5, "0000") == 20.48  # NB-S1: unused codes read as 0010
    assert cycle_seconds(5, "1001") == 163.84
    assert len(EDRX_CYCLE_WB) == 16
    assert ptw_seconds(4, "0000") == 1.28 and ptw_seconds(5, "0011") == pytest.approx(10.24)


def _idle_with_edrx(module: str = "bg96", value: str = "0101") -> tuple[Modem, float]:
    m = Modem(load_module(module))
    m.receive_data(b"ATE0\rAT+CSCON=1\r" + f'AT+CEDRXS=1,4,"{value}"\r'.encode())
    ts27007.rrc_activity(m.ctx)  # some traffic, then the inactivity timer releases the RRC
    m.advance(60)
    text = out(m)
    assert text.endswith(b"+CSCON: 0\r\n")
    return m, m.state.edrx.idle_since


def test_idle_with_edrx_is_unreachable_until_its_paging_window() -> None:
    m, t0 = _idle_with_edrx()
    assert not m.reachable
    assert m.next_paging() == pytest.approx(t0 + 81.92)  # 60 s idle: the first window
    m.advance(t0 + 81.92 - m.clock.now())
    assert m.next_paging() == pytest.approx(m.clock.now())  # inside the window: page now
    m.advance(1.28)  # the PTW (1.28 s) is over: the next window is one cycle later
    assert m.next_paging() == pytest.approx(t0 + 2 * 81.92)
    m.receive_stimulus(Paged())  # outside a window a page does not reach it
    assert out(m) == b"" and not m.reachable
    m.advance(t0 + 2 * 81.92 - m.clock.now())
    m.receive_stimulus(Paged())
    assert out(m) == b"\r\n+CSCON: 1\r\n" and m.reachable


def test_edrx_off_idle_device_is_reachable() -> None:
    m = Modem(load_module("bg96"))
    m.advance(60)
    out(m)
    assert m.reachable and m.next_paging() == m.clock.now()


def test_cedrxp_urc_and_cedrxrdp_report_the_network_values() -> None:
    m = Modem(load_module("bg96", {"edrx_grant": {"value": "0011", "ptw": "0010"}}))
    m.receive_data(b"ATE0\r")
    out(m)
    m.receive_data(b'AT+CEDRXS=2,4,"0101"\r')
    assert out(m) == b'\r\nOK\r\n\r\n+CEDRXP: 4,"0101","0011","0010"\r\n'
    m.receive_data(b'AT+CEDRXS=2,4,"0101"\r')  # nothing changed: no URC
    assert out(m) == b"\r\nOK\r\n"
    m.receive_data(b"AT+CEDRXRDP\r")
    assert out(m) == b'\r\n+CEDRXRDP: 4,"0101","0011","0010"\r\n\r\nOK\r\n'
    # the cycle the device sleeps with is the network's (0011 = 40.96 s), PTW (2+1)*1.28 s
    m.advance(60)
    out(m)
    t0 = m.state.edrx.idle_since
    assert m.next_paging() == pytest.approx(t0 + 2 * 40.96)
    m.receive_stimulus(NetworkDetach())  # the network no longer provides eDRX
    assert out(m) == b"\r\n+CEDRXP: 0\r\n"
    m.receive_data(b"AT+CEDRXRDP\r")
    assert out(m) == b"\r\n+CEDRXRDP: 0\r\n\r\nOK\r\n"


def test_network_refusing_edrx_leaves_the_device_reachable() -> None:
    m = Modem(load_module("ec800e", {"edrx_grant": False}))
    m.receive_data(b'ATE0\rAT+CEDRXS=2,4,"0101"\rAT+CEDRXRDP\r')
    m.advance(60)
    assert out(m).endswith(b"\r\nOK\r\n\r\n+CEDRXRDP: 0\r\n\r\nOK\r\n")
    assert m.reachable
    # idle is charged at the DRX current: eDRX was requested, never granted
    m.advance(3600)
    assert m.state.energy.report()["idle_edrx_seconds"] == 0


def _tcp_downlink_after_idle(edrx: bool) -> tuple[float, float, list[str]]:
    """Log in to CTWing over TCP, let the RRC go idle, and 1 s later have the platform push a
    command; returns (idle time, arrival time, lines)."""
    with ModemHarness("ec800e", backends=["ctwing"]) as h:
        _ctwing_tcp_login(h)
        h.command("AT+CSCON=1")
        if edrx:
            h.command('AT+CEDRXS=1,4,"0101"')  # 81.92 s cycle, PTW 1.28 s
        h.expect("+CSCON: 0", within="30s")
        idle = h.now
        h.wait("1s")
        h.platform("ctwing", "queue_command", device=TCP_DEVICE, payload="receivedmessage")
        if edrx:
            h.expect_none("80s")  # not paged before the window
            assert h.port.held
        lines = ["+CSCON: 1", '+QIURC: "recv",0,18,', "03000f72656365697665646d657373616765"]
        h.expect(*lines, within="2s")
        arrived = h.now
        assert not h.port.held
        h.drain()
        return idle, arrived, lines


def test_downlink_waits_for_the_edrx_paging_occasion() -> None:
    idle, arrived, _ = _tcp_downlink_after_idle(edrx=True)
    assert arrived == pytest.approx(idle + 81.92, abs=0.05)


def test_downlink_without_edrx_arrives_at_once() -> None:
    idle, arrived, _ = _tcp_downlink_after_idle(edrx=False)
    assert arrived - idle < 1.5
