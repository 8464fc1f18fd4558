"""Quectel init/status commands byte-exact (sans-IO): +QSPN, +QLTS modes 0/1/2, +QINISTAT,
+QTEMP, +QSIMSTAT (with its URC), and the AT+QCFG read forms as the manuals print them."""

from __future__ import annotations

import pytest

from emulator.core.stimuli import NetworkAttach, NetworkDetach, SimInserted, SimRemoved
from emulator.testing.sansio import make_harness


def ok(*lines: str) -> bytes:
    return b"".join(b"\r\n" + line.encode() + b"\r\n" for line in lines) + b"\r\nOK\r\n"


def test_qspn_names_the_registered_network() -> None:
    h = make_harness("bg96", testkit=False)
    assert h.send("AT+QSPN\r") == ok('+QSPN: "SKTelecom","SKT","",0,"45005"')
    assert h.send("AT+QSPN?\r") == ok('+QSPN: "SKTelecom","SKT","",0,"45005"')  # TinyGSM's form
    e = make_harness("ec800e", testkit=False)
    assert e.send("AT+QSPN\r") == ok('+QSPN: "CHN-CT","CT","",0,"46011"')
    e.stim(NetworkDetach())
    assert e.send("AT+QSPN\r") == b"\r\n+CME ERROR: 30\r\n"


def test_qlts_modes_follow_the_last_nitz() -> None:
    h = make_harness("bg96", testkit=False)
    # attach at boot = NITZ at 2023-11-14 22:13:20 UTC, Korea +36 quarter hours
    assert h.send("AT+QLTS\r") == ok('+QLTS: "2023/11/14,22:13:20+36,0"')
    h.advance(3600 + 5)
    assert h.send("AT+QLTS=0\r") == ok('+QLTS: "2023/11/14,22:13:20+36,0"')  # the sync itself
    assert h.send("AT+QLTS=1\r") == ok('+QLTS: "2023/11/14,23:13:25+36,0"')  # UTC now
    assert h.send("AT+QLTS=2\r") == ok('+QLTS: "2023/11/15,08:13:25+36,0"')  # local now
    assert h.send("AT+QLTS=?\r") == ok("+QLTS: (0-2)")
    h.stim(NetworkDetach())
    h.stim(NetworkAttach())  # a new NITZ
    assert h.send("AT+QLTS\r") == ok('+QLTS: "2023/11/14,23:13:25+36,0"')
    e = make_harness("ec800e", testkit=False)
    assert e.send("AT+QLTS=2\r") == ok('+QLTS: "2023/11/15,06:13:20+32,0"')


def test_qlts_without_network_time_is_empty() -> None:
    h = make_harness("ec800e", testkit=False)
    h.ctx.state.time.sync_at = None  # as before the first attach
    assert h.send("AT+QLTS\r") == ok('+QLTS: ""')


def test_qlts_rejects_unknown_modes() -> None:
    h = make_harness("bg96", testkit=False)
    for bad in ("3", "1,1", "a"):
        assert h.send(f"AT+QLTS={bad}\r") == b"\r\nERROR\r\n", bad


@pytest.mark.parametrize(("module", "bits"), [("bg96", 3), ("ec800e", 7)])
def test_qinistat_bits_follow_the_boot_announcements(module: str, bits: int) -> None:
    h = make_harness(module, testkit=False)
    assert h.send("AT+QINISTAT\r") == ok(f"+QINISTAT: {bits}")
    h.stim(SimRemoved())
    assert h.send("AT+QINISTAT\r") == ok("+QINISTAT: 0")


def test_qtemp_pa_warms_while_connected() -> None:
    h = make_harness("bg96", testkit=False)
    assert h.send("AT+QTEMP\r") == ok("+QTEMP: 31,30,30")
    h.ctx.state.radio.rrc = 1
    assert h.send("AT+QTEMP\r") == ok("+QTEMP: 31,30,33")


def test_qsimstat_reports_hot_plug_when_enabled() -> None:
    h = make_harness("ec800e", testkit=False)
    assert h.send("AT+QSIMSTAT?\r") == ok("+QSIMSTAT: 0,1")
    assert h.send("AT+QSIMSTAT=?\r") == ok("+QSIMSTAT: (0,1)")
    assert b"+QSIMSTAT" not in h.stim(SimRemoved())
    h.stim(SimInserted())
    assert h.send("AT+QSIMSTAT=1\r") == ok()
    assert b"\r\n+QSIMSTAT: 1,0\r\n" in h.stim(SimRemoved())
    assert h.send("AT+QSIMSTAT?\r") == ok("+QSIMSTAT: 1,0")
    assert b"\r\n+QSIMSTAT: 1,1\r\n" in h.stim(SimInserted())
    assert b"ERROR" in h.send("AT+QSIMSTAT=2\r")


# --- AT+QCFG read forms -------------------------------------------------------------------
@pytest.mark.parametrize(("key", "line"), [
    ("nwscanseq", '+QCFG: "nwscanseq",020301'),
    ("nwscanmode", '+QCFG: "nwscanmode",0'),
    ("iotopmode", '+QCFG: "iotopmode",2'),
    ("band", '+QCFG: "band",0xf,0x400a0e189f,0xa0e189f'),
    ("servicedomain", '+QCFG: "servicedomain",1'),
    ("roamservice", '+QCFG: "roamservice",255'),
    ("psm/urc", '+QCFG: "psm/urc",0'),
    ("urc/ri/ring", '+QCFG: "urc/ri/ring","pulse",120,1000,5000,"off",1'),
])
def test_bg96_qcfg_read_forms(key: str, line: str) -> None:
    h = make_harness("bg96", testkit=False)
    assert h.send(f'AT+QCFG="{key}"\r') == ok(line)


def test_qcfg_writes_read_back_in_the_manuals_form() -> None:
    h = make_harness("bg96", testkit=False)
    assert h.send('AT+QCFG="band",0,80084,80084,1\r') == ok()  # hex without 0x, then <effect>
    assert h.send('AT+QCFG="band"\r') == ok('+QCFG: "band",0x0,0x80084,0x80084')
    assert h.send('AT+QCFG="band",0xF,0x10,0x10\r') == ok()
    assert h.send('AT+QCFG="band"\r') == ok('+QCFG: "band",0xf,0x10,0x10')
    assert h.send('AT+QCFG="nwscanseq",0201,1\r') == ok()
    assert h.send('AT+QCFG="nwscanseq"\r') == ok('+QCFG: "nwscanseq",0201')
    assert h.send('AT+QCFG="iotopmode",0,1\r') == ok()
    assert h.send('AT+QCFG="iotopmode"\r') == ok('+QCFG: "iotopmode",0')
    for bad in ('"band",xyz,1,1', '"nwscanseq",02a1', '"nwscanseq",0201,1,1', '"iotopmode",0,2',
                '"urc/port","uart1",1'):
        assert b"ERROR" in h.send(f"AT+QCFG={bad}\r"), bad
    assert h.send('AT+QCFG="nwscanseq"\r') == ok('+QCFG: "nwscanseq",0201')


def test_ec800e_has_no_iot_keys_and_its_own_bands() -> None:
    h = make_harness("ec800e", testkit=False)
    assert h.send('AT+QCFG="band"\r') == ok('+QCFG: "band",0x0,0x1e200000095,0x0')
    for key in ("nwscanseq", "iotopmode", "roamservice"):
        assert h.send(f'AT+QCFG="{key}"\r') == b"\r\nERROR\r\n"
    assert h.send('AT+QCFG="nwscanmode"\r') == ok('+QCFG: "nwscanmode",0')


def test_qntp_answer_from_before_a_reboot_is_ignored() -> None:
    from emulator.modules.handlers.quectel_ntp import NtpAnswer, NtpQuery
    h = make_harness("bg96", testkit=False)
    assert h.send('AT+QNTP=1,"pool.ntp.org"\r') == ok()
    (old,) = [e for e in h.other if isinstance(e, NtpQuery)]
    h.modem.reboot()
    h.advance(1)
    h.take()
    h.send("ATE0\r")
    assert h.send('AT+QNTP=1,"pool.ntp.org"\r') == ok()
    new = [e for e in h.other if isinstance(e, NtpQuery)][-1]
    assert new.token != old.token
    assert h.stim(NtpAnswer(old.token, utc=1_800_000_000.0)) == b""
    assert h.stim(NtpAnswer(new.token, utc=1_800_000_000.0)) == b'\r\n+QNTP: 0,"2027/01/15,17:00:00+36"\r\n'
    assert h.send("AT+CCLK?\r") == ok('+CCLK: "27/01/15,17:00:00+36"')


def test_qcfg_test_form_prints_the_documented_ranges() -> None:
    h = make_harness("bg96", testkit=False)
    lines = h.send("AT+QCFG=?\r").decode().split("\r\n")
    for line in ('+QCFG: "nwscanseq",(00-010203),(0,1)', '+QCFG: "iotopmode",(0-2)',
                 '+QCFG: "band",(0-F),(0-7FFFFFFFFFFFFFFF),(0-7FFFFFFFFFFFFFFF),(0,1)',
                 '+QCFG: "urc/ri/ring",("off","pulse","always","auto","wave"),(1-2000),(1-10000),(1-10000),("off","on"),(1-5)'):
        assert line in lines
    e = make_harness("ec800e", testkit=False)
    assert b'"nwscanseq"' not in e.send("AT+QCFG=?\r")
