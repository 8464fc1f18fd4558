"""The V.250 / TS 27.007 commands host drivers send at init, byte-exact on every module
(sans-IO): ATH, +IFC, +ICF, +CGEREP/+CGEV, +CNUM, +CBC, +CLIP, +CRC, +CVHU, +CEER, +CESQ,
+COPS=?, and the time commands +CCLK, +CTZR (+CTZV/+CTZE on NITZ), +CTZU."""

from __future__ import annotations

import pytest

from emulator.core.stimuli import NetworkAttach, NetworkDetach, SignalChanged
from emulator.testing.sansio import make_harness

MODULES = ("bg96", "ec800e", "wm-n400mse", "amm5918k")
MSISDN = {"bg96": "+821041230096", "ec800e": "+8618912345678", "wm-n400mse": "+821041230400",
          "amm5918k": "+821041235918"}


def ok(*lines: str) -> bytes:
    return b"".join(b"\r\n" + line.encode() + b"\r\n" for line in lines) + b"\r\nOK\r\n"


@pytest.mark.parametrize("module", MODULES)
def test_v250_init_commands_answer_ok(module: str) -> None:
    h = make_harness(module, testkit=False)
    assert h.send("ATH\r") == ok()
    assert h.send("ATH0\r") == ok()
    assert h.send("AT+IFC?\r") == ok("+IFC: 0,0")
    assert h.send("AT+IFC=2,2\r") == ok()
    assert h.send("AT+IFC?\r") == ok("+IFC: 2,2")
    assert h.send("AT+IFC=?\r") == ok("+IFC: (0,2),(0,2)")
    assert h.send("AT+IFC=1,1\r") != ok()
    assert h.send("AT+ICF?\r") == ok("+ICF: 3,3")
    assert h.send("AT+ICF=3\r") == ok()
    assert h.send("AT+ICF=9\r") != ok()
    for name in ("+CLIP", "+CRC", "+CVHU"):
        assert h.send(f"AT{name}=1\r") == ok()
        assert h.send(f"AT{name}=2\r") != ok()
        assert h.send(f"AT{name}=?\r") == ok(f"{name}: (0,1)")
    assert h.send("AT+CLIP?\r") == ok("+CLIP: 1,1")
    assert h.send("AT+CRC?\r") == ok("+CRC: 1")
    assert h.send("AT+CVHU=0;+CVHU?\r") == ok("+CVHU: 0")


@pytest.mark.parametrize("module", MODULES)
def test_cnum_is_the_sims_msisdn_and_needs_a_sim(module: str) -> None:
    h = make_harness(module, testkit=False)
    assert h.send("AT+CNUM\r") == ok(f'+CNUM: ,"{MSISDN[module]}",145')
    assert MSISDN[module].startswith("+8210" if module != "ec800e" else "+86")
    h.ctx.state.radio.sim_present = False
    assert h.send("AT+CMEE=1;+CNUM\r") == b"\r\n+CME ERROR: 10\r\n"


def test_cbc_follows_the_supply_voltage() -> None:
    h = make_harness("bg96", testkit=False)
    assert h.send("AT+CBC\r") == ok("+CBC: 0,56,3800")
    h.ctx.defaults["supply_mv"] = 4200
    assert h.send("AT+CBC\r") == ok("+CBC: 0,100,4200")


def test_cesq_follows_the_one_signal_model() -> None:
    h = make_harness("ec800e", testkit=False)
    # rsrp -102 dBm -> 38, rsrq -9 dB -> 21 (TS 27.007 §8.69)
    assert h.send("AT+CESQ\r") == ok("+CESQ: 99,99,255,255,21,38")
    h.stim(SignalChanged(rssi=25))  # +5 on the CSQ scale = +10 dB on RSRP, as +QCSQ shows
    assert h.send("AT+CESQ\r") == ok("+CESQ: 99,99,255,255,21,48")
    assert h.send("AT+QCSQ\r") == ok('+QCSQ: "LTE",-63,-92,160,-9')
    h.stim(NetworkDetach())
    assert h.send("AT+CESQ\r") == ok("+CESQ: 99,99,255,255,255,255")


def test_cops_test_lists_real_operators() -> None:
    h = make_harness("bg96", testkit=False)
    assert h.send("AT+COPS=?\r") == ok('+COPS: (2,"SKTelecom","SKT","45005",8),(3,"olleh","KT","45008",8),'
                                       '(3,"LG U+","LGU+","45006",9),,(0-4),(0-2)')
    h = make_harness("ec800e", testkit=False)
    assert h.send("AT+COPS=?\r") == ok('+COPS: (2,"CHN-CT","CT","46011",7),(3,"CHINA MOBILE","CMCC","46000",7),'
                                       '(3,"CHN-UNICOM","UNICOM","46001",7),,(0-4),(0-2)')
    assert h.send("AT+CFUN=0\r").startswith(b"\r\nOK")
    assert h.send("AT+COPS=?\r") == ok("+COPS: ,,(0-4),(0-2)")


@pytest.mark.parametrize("module", MODULES)
def test_cgerep_reports_detach_and_pdn_activation(module: str) -> None:
    h = make_harness(module, testkit=False)
    assert h.send("AT+CGEREP?\r") == ok("+CGEREP: 0,0")
    assert h.send("AT+CGEREP=?\r") == ok("+CGEREP: (0-2),(0,1)")
    assert h.send("AT+CFUN=0\r") == ok()  # mode 0: nothing reported
    assert h.send("AT+CFUN=1\r").startswith(b"\r\nOK\r\n")
    assert b"+CGEV" not in h.advance(1)
    assert h.send("AT+CGEREP=2,1\r") == ok()
    assert h.send("AT+CGEREP?\r") == ok("+CGEREP: 2,1")
    assert h.stim(NetworkDetach()) == b"\r\n+CGEV: NW DETACH\r\n"
    assert h.stim(NetworkAttach()) == b"\r\n+CGEV: ME PDN ACT 1\r\n"
    assert h.send("AT+CGATT=0\r") == ok() + b"\r\n+CGEV: ME DETACH\r\n"
    assert h.send("AT+CEER\r") == ok("+CEER: 5,36")
    assert h.send("AT+CGATT=1\r") == ok() + b"\r\n+CGEV: ME PDN ACT 1\r\n"
    assert h.send("AT+CGEREP=3\r") != ok()
    assert h.send("AT+CGDCONT=2,\"IP\",\"apn2\"\r") == ok()
    assert h.send("AT+CGACT=1,2\r") == ok() + b"\r\n+CGEV: ME PDN ACT 2\r\n"
    assert h.send("AT+CGACT=1,2\r") == ok()  # no change, no report
    assert h.send("AT+CGACT=0,2\r") == ok() + b"\r\n+CGEV: ME PDN DEACT 2\r\n"


# --- time ---------------------------------------------------------------------------------
# The virtual clock starts at 1_700_000_000 = 2023-11-14 22:13:20 UTC.
@pytest.mark.parametrize(("module", "local"), [("bg96", "23/11/15,07:13:20+36"), ("ec800e", "23/11/15,06:13:20+32"),
                                               ("wm-n400mse", "23/11/15,07:13:20+36"),
                                               ("amm5918k", "23/11/15,07:13:20+36")])
def test_cclk_is_local_time_in_the_networks_zone(module: str, local: str) -> None:
    h = make_harness(module, testkit=False)
    assert h.send("AT+CCLK?\r") == ok(f'+CCLK: "{local}"')
    h.advance(86400 + 61)
    day, rest = local.split(",")
    assert h.send("AT+CCLK?\r") == ok(f'+CCLK: "{day[:6]}{int(day[6:]) + 1:02d},{rest[:3]}14:21{rest[8:]}"')


def test_cclk_set_moves_the_rtc_and_its_zone() -> None:
    h = make_harness("bg96", testkit=False)
    assert h.send('AT+CCLK="24/02/29,23:59:50-08"\r') == ok()
    assert h.send("AT+CCLK?\r") == ok('+CCLK: "24/02/29,23:59:50-08"')
    h.advance(15)
    assert h.send("AT+CCLK?\r") == ok('+CCLK: "24/03/01,00:00:05-08"')
    for bad in ('"24/02/30,00:00:00+00"', '"24/01/01,00:00:00+99"', '"2024/01/01,00:00:00+00"', "1"):
        assert b"ERROR" in h.send(f"AT+CCLK={bad}\r"), bad
    assert h.send("AT+CCLK?\r").startswith(b'\r\n+CCLK: "24/03/01,00:00:')


@pytest.mark.parametrize("module", MODULES)
def test_ctzr_reports_network_time_at_attach(module: str) -> None:
    h = make_harness(module, testkit=False)
    tz = "+32" if module == "ec800e" else "+36"
    assert h.send("AT+CTZR?\r") == ok("+CTZR: 0")
    assert h.send("AT+CTZR=?\r") == ok("+CTZR: (0-2)")
    assert h.send("AT+CTZR=1\r") == ok()
    h.stim(NetworkDetach())
    assert h.stim(NetworkAttach()) == f'\r\n+CTZV: "{tz}"\r\n'.encode()
    assert h.send("AT+CTZR=2\r") == ok()
    h.advance(3600)
    h.stim(NetworkDetach())
    hour = "07" if module == "ec800e" else "08"
    assert h.stim(NetworkAttach()) == f'\r\n+CTZE: "{tz}",0,"2023/11/15,{hour}:13:20"\r\n'.encode()
    assert h.send("AT+CTZR=3\r") != ok()


def test_ctzu_off_keeps_the_rtc_zone_and_is_saved() -> None:
    h = make_harness("bg96", testkit=False)
    assert h.send("AT+CTZU?\r") == ok("+CTZU: 1")
    assert h.send("AT+CTZU=?\r") == ok("+CTZU: (0,1,3)")
    assert h.send('AT+CCLK="24/01/01,00:00:00+00";+CTZU=0\r') == ok()
    h.stim(NetworkDetach())
    h.stim(NetworkAttach())
    assert h.send("AT+CCLK?\r") == ok('+CCLK: "24/01/01,00:00:00+00"')  # NITZ ignored
    assert h.send("AT+CTZU=1\r") == ok()
    h.stim(NetworkDetach())
    h.stim(NetworkAttach())
    assert h.send("AT+CCLK?\r") == ok('+CCLK: "23/11/15,07:13:20+36"')  # synced to the network
    assert h.send("AT+CTZU=0\r") == ok()
    h.modem.reboot()
    h.advance(1)
    h.take()
    h.send("ATE0\r")
    assert h.send("AT+CTZU?\r") == ok("+CTZU: 0")  # NV memory
    wm = make_harness("wm-n400mse", testkit=False)
    assert wm.send("AT+CTZU=?\r") == ok("+CTZU: (0,1)")
    assert wm.send("AT+CTZU=3\r") == b"\r\nERROR\r\n"
