"""AMM5918K ``AT@PSMSET``: seconds in, the same PSM request as AT+CPSMS (the module sleeps)."""

from __future__ import annotations

from emulator.testing.sansio import make_harness


def test_psmset_requests_psm_and_the_module_sleeps() -> None:
    h = make_harness("amm5918k", testkit=False)
    assert h.send(b"AT@PSMSET?\r") == b"\r\n@PSMSET:0\r\n\r\nOK\r\n"
    # WIZnet AMM592 PSM guide: active 240 s, periodic 300 s
    assert h.send(b"AT@PSMSET=1,240,300\r") == b"\r\n@PSMSET:1,240,300\r\n\r\nOK\r\n"
    assert h.send(b"AT@PSMSET?\r") == b"\r\n@PSMSET:1,240,300\r\n\r\nOK\r\n"
    # 240 s = 4 x 1 min (T3324 unit 001), 300 s = 5 x 1 min (T3412 unit 101)
    assert h.send(b"AT+CPSMS?\r") == b'\r\n+CPSMS: 1,,,"10100101","00100100"\r\n\r\nOK\r\n'
    h.advance(239.0)
    assert not h.modem.state.psm.in_psm
    h.advance(2.0)  # the active time (T3324) ran out: PSM
    assert h.modem.state.psm.in_psm
    assert h.send(b"AT@PSMSET=0\r") == b"\r\n@PSMSET:0\r\n\r\nOK\r\n"
    assert not h.modem.state.psm.requested


def test_psmset_rejects_what_the_timer_octets_cannot_hold() -> None:
    h = make_harness("amm5918k", testkit=False)
    for args in (b"1,241,300", b"1,240,100000", b"1,70,300", b"2,240,300"):
        assert h.send(b"AT@PSMSET=" + args + b"\r") == b"\r\nERROR\r\n", args
    assert h.send(b"AT@PSMSET?\r") == b"\r\n@PSMSET:0\r\n\r\nOK\r\n"
