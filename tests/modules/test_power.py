"""PSM, sleep and the energy meter (guide 001 §6.1; BG96 PSM application note)."""

from __future__ import annotations

import pytest

from emulator.core.modem import Modem
from emulator.core.stimuli import WakeUp
from emulator.modules import load_module
from emulator.modules.handlers import ts27007
from emulator.modules.handlers.power import T3324_UNITS, T3412_UNITS, decode_timer, psm_wake


def out(m: Modem) -> bytes:
    return b"".join(e.data for e in m.events() if hasattr(e, "data"))


def test_timer_decoding_follows_ts24008() -> None:
    assert decode_timer("00000100", T3412_UNITS) == 40 * 60
    assert decode_timer("00001111", T3324_UNITS) == 30
    assert decode_timer("01011111", T3412_UNITS) == 310 * 3600
    assert decode_timer("00000001", T3324_UNITS) == 2
    assert decode_timer("11100000", T3324_UNITS) is None  # deactivated


# TS 24.008 §10.5.7.4a (GPRS Timer 3, T3412) and §10.5.7.3 (GPRS Timer / Timer 2, T3324), unit
# bits 8-6 -> seconds per step; None = 111, deactivated. Timer 2: "Other values shall be
# interpreted as multiples of 1 minute in this version of the protocol".
SPEC_T3412 = [600, 3600, 36000, 2, 30, 60, 320 * 3600, None]
SPEC_T3324 = [2, 60, 360, 60, 60, 60, 60, None]


def test_every_8_bit_timer_string_decodes_per_ts24008() -> None:
    for code in range(256):
        bits, unit, value = f"{code:08b}", code >> 5, code & 0x1F
        for units, spec in ((T3412_UNITS, SPEC_T3412), (T3324_UNITS, SPEC_T3324)):
            step = spec[unit]
            assert decode_timer(bits, units) == (None if step is None else step * value), bits


@pytest.mark.parametrize("bits", ["", "0", "0000000", "000000000", "0000001x", "0000 001", "00000012"])
def test_timer_strings_that_are_not_8_bits_are_rejected(bits: str) -> None:
    from emulator.at.commands import ArgError
    with pytest.raises(ArgError):
        decode_timer(bits, T3324_UNITS)


def test_reserved_t3324_unit_is_minutes_not_deactivated() -> None:
    """T3324 unit 011 (reserved) is 1 minute per TS 24.008, so PSM is granted with 3 min."""
    m = Modem(load_module("bg96"))
    out(m)
    m.receive_data(b'AT+QCFG="psm/urc",1\rAT+CPSMS=1,,,"00100001","01100011"\rAT+QPSMS?\r')
    text = out(m)
    assert b"+QPSMTIMER: 3600,180\r\n" in text and b'+QPSMS: 1,,,"3600","180"\r\n' in text
    m.advance(181)
    assert m.state.psm.in_psm


def test_ec800e_guide_psm_sequence() -> None:
    m = Modem(load_module("ec800e"))
    out(m)
    m.receive_data(b'AT+QCFG="URC/PSM",1\rAT+CSCON=1\r')
    assert out(m).endswith(b"OK\r\n")
    ts27007.rrc_activity(m.ctx)  # the guide's LwM2M traffic before this point
    assert out(m) == b"\r\n+CSCON: 1\r\n"
    m.receive_data(b"AT+QSCLKEX=1,1,30\r")
    m.advance(3)
    assert out(m).endswith(b"\r\nOK\r\n\r\n+CSCON: 0\r\n")
    m.receive_data(b'AT+QSCLK=3,2,"01011111","00000001"\r')
    m.advance(5)
    assert out(m).endswith(b"\r\nOK\r\n\r\n+CSCON: 0\r\n\r\n+CSCON: 1\r\n\r\n+QIND: ENTER PSM\r\n")
    assert m.state.psm.in_psm
    # an uplink wakes it
    assert psm_wake(m.ctx)
    assert out(m) == b"\r\n+QIND: EXIT PSM\r\n\r\n+CSCON: 1\r\n"
    report = m.state.energy.report()
    assert report["seconds"]["psm"] == pytest.approx(2.0, abs=0.01)


def test_periodic_tau_wakes_and_day_in_virtual_time_is_fast() -> None:
    m = Modem(load_module("ec800e"))
    out(m)
    m.receive_data(b'AT+QCFG="urc/psm",1\rAT+CPSMS=1,,,"00100001","00000101"\r')  # TAU 1 h, active 10 s
    m.advance(30)
    assert b"+QIND: ENTER PSM" in out(m)
    m.advance(86400)
    text = out(m)
    assert text.count(b"+QIND: EXIT PSM") == text.count(b"+QIND: ENTER PSM") >= 20
    r = m.state.energy.report()
    assert r["seconds"]["psm"] > 80000 and r["charge_uah"] > 0


def test_bad_timer_strings_are_errors() -> None:
    m = Modem(load_module("bg96"))
    out(m)
    for line in (b'AT+CPSMS=1,,,"0000010","00001111"\r', b'AT+CPSMS=1,,,"00000100","0000111x"\r',
                 b'AT+CEDRXS=1,5,"01"\r'):
        m.receive_data(line)
        assert out(m).endswith(b"\r\nERROR\r\n")


def test_bg96_psm_urcs_and_uart_off() -> None:
    m = Modem(load_module("bg96"))
    out(m)
    m.receive_data(b'AT+QCFG="psm/urc",1\rAT+CPSMS=1,,,"00000100","00001111"\r')
    assert out(m).endswith(b"\r\n+QPSMTIMER: 2400,30\r\n")
    m.advance(31)  # RRC released at boot+10 s, then T3324 (30 s) runs out
    m.advance(20)
    assert b"POWER DOWN" in out(m)
    m.receive_data(b"AT\r")
    assert out(m) == b""  # the UART sleeps in PSM: the host gets nothing
    m.receive_stimulus(WakeUp())
    assert b"RDY" in out(m)
    m.receive_data(b"AT\r")
    assert out(m).endswith(b"OK\r\n")
    m.receive_data(b"AT+QPSMS?\r")
    assert b'+QPSMS: 1,,,"2400","30"' in out(m)


@pytest.mark.parametrize("line", [
    b'AT+QSCLK=3,2,"0101111","00000001"\r',      # 7 bits
    b'AT+QSCLK=3,2,"010111111","00000001"\r',    # 9 bits
    b'AT+QSCLK=3,2,"01011111","0000000a"\r',     # not binary
    b'AT+QSCLK=3,2,"01011111",""\r',
    b'AT+CPSMS=1,,,"01011111","2"\r',
    b'AT+QSCLK=4\r',
])
def test_bad_timer_strings_are_errors_and_change_nothing(line: bytes) -> None:
    m = Modem(load_module("ec800e"))
    out(m)
    m.receive_data(line)
    assert out(m).endswith(b"\r\nERROR\r\n")
    psm = m.state.psm
    assert (psm.sleep_mode, psm.requested, psm.t3412, psm.t3324) == (0, False, "00000100", "00001111")
    m.advance(60)
    assert not psm.in_psm and out(m) == b""


def test_bad_edrx_value_keeps_the_old_setting() -> None:
    m = Modem(load_module("bg96"))
    out(m)
    m.receive_data(b'AT+CEDRXS=1,5,"0101"\r')
    assert out(m).endswith(b"OK\r\n")
    m.receive_data(b'AT+CEDRXS=0,5,"012"\r')
    assert out(m).endswith(b"ERROR\r\n")
    m.receive_data(b"AT+CEDRXS?\r")
    assert b'+CEDRXS: 5,"0101"' in out(m)  # the AcT-type that was set


def test_wake_urcs_follow_the_waking_command() -> None:
    """Guide 001 §6.1: the uplink command's OK, then +QIND: EXIT PSM, the command's URCs, and
    +CSCON: 1 last; a plain AT command wakes the EC800E too (answered, not lost)."""
    m = Modem(load_module("ec800e"))
    out(m)
    m.receive_data(b'AT+QCFG="urc/psm",1\rAT+CSCON=1\rAT+CPSMS=1,,,"00100001","00000101"\r')
    m.advance(60)
    assert out(m).endswith(b"+QIND: ENTER PSM\r\n")
    m.receive_data(b"AT+CSCON?\r")
    assert out(m) == b"AT+CSCON?\r\r\n+CSCON: 1,1\r\n\r\nOK\r\n\r\n+QIND: EXIT PSM\r\n\r\n+CSCON: 1\r\n"


def test_bg96_commands_in_psm_are_lost_and_do_not_wake() -> None:
    m = Modem(load_module("bg96"))
    out(m)
    m.receive_data(b'AT+QCFG="psm/urc",1\rAT+CPSMS=1,,,"00100001","00000101"\r')
    m.advance(60)
    assert m.state.psm.in_psm
    out(m)
    m.receive_data(b"AT+CSQ\r")
    m.advance(1)
    assert out(m) == b"" and m.state.psm.in_psm
    m.advance(3600)  # T3412 (1 h): the periodic TAU wakes it, and it goes back to sleep
    assert out(m) == b"\r\nRDY\r\n\r\nPOWER DOWN\r\n"


def test_energy_books_psm_time_on_the_virtual_clock() -> None:
    m = Modem(load_module("ec800e"))
    out(m)
    m.receive_data(b'AT+CPSMS=1,,,"01011111","00000001"\r')
    m.advance(30)
    assert m.state.psm.in_psm
    before = m.state.energy.report()
    m.advance(86400)
    after = m.state.energy.report()
    assert after["seconds"]["psm"] - before["seconds"]["psm"] == pytest.approx(86400)
    # 6 µA for a day (ec800e.yaml) = 144 µAh
    assert after["charge_uah"] - before["charge_uah"] == pytest.approx(144, rel=1e-3)


def test_energy_meter_outlives_power_cycles() -> None:
    m = Modem(load_module("bg96"))
    out(m)
    m.advance(100)
    m.power_off()
    m.advance(3600)
    from emulator.core.stimuli import PowerOn
    m.receive_stimulus(PowerOn())
    m.advance(10)
    r = m.state.energy.report()
    assert r["seconds"]["off"] == pytest.approx(3600)
    assert r["seconds"]["idle"] + r["seconds"]["connected"] == pytest.approx(110, abs=0.5)


def _events(m: Modem) -> list:
    return list(m.events())


def test_uplink_bytes_drive_the_transmit_estimate() -> None:
    """The meter books air time from the uplink's size: 100 kB over TCP costs more transmit
    time than 10 bytes (it used to book a fixed burst per command and report tx_bytes 0)."""
    from emulator.modules.handlers.quectel_tcpip_effects import OpenSocket, SocketOpened
    m = Modem(load_module("ec800e"))
    start = m.clock.now()
    _events(m)
    m.receive_data(b'ATE0\rAT+QIOPEN=1,0,"TCP","echo.example.com",7,0,0\r')
    eff = [e for e in _events(m) if isinstance(e, OpenSocket)][-1]
    m.receive_stimulus(SocketOpened(0, eff.gen, 0))
    _events(m)
    meter = m.state.energy
    before = meter.report()
    m.receive_data(b"AT+QISEND=0,10\r")
    m.receive_data(b"0123456789")
    small = meter.report()
    assert small["tx_bytes"] - before["tx_bytes"] == 10
    for _ in range(100):
        m.receive_data(b"AT+QISEND=0,1000\r")
        m.receive_data(b"x" * 1000)
    big = meter.report()
    assert big["tx_bytes"] - small["tx_bytes"] == 100_000
    # the bursts are booked at once; the states still add up to the elapsed time
    assert sum(big["seconds"].values()) == pytest.approx(m.clock.now() - start)
    m.advance(60)  # the RRC connection stays up 20 s after the last send: the bursts fit in it
    big = meter.report()
    assert sum(big["seconds"].values()) == pytest.approx(m.clock.now() - start)
    table = load_module("ec800e").defaults["energy"]
    air = 101 * 0.05 + 100_010 * 8 / table["tx_bps"]  # per-burst overhead + bits at the table's rate
    assert big["seconds"]["transmitting"] - before["seconds"]["transmitting"] == pytest.approx(air)


def test_cereg_4_reports_granted_psm_timers_when_they_change() -> None:
    """+CEREG=4 (TS 27.007 §10.1.22): read form and URC carry Active-Time and Periodic-TAU; a
    change of the granted timers is reported, disabling PSM drops them, nothing else repeats."""
    m = Modem(load_module("bg96"))
    out(m)
    m.receive_data(b"ATE0\rAT+CEREG=4\r")
    assert out(m).endswith(b"\r\nOK\r\n")
    m.receive_data(b'AT+CPSMS=1,,,"00100001","00000101"\r')
    urc = b'\r\n+CEREG: 1,"2B67","013BD0B",8,,,"00000101","00100001"\r\n'
    assert out(m) == b"\r\nOK\r\n" + urc
    m.receive_data(b"AT+CEREG?\r")
    assert out(m) == b'\r\n+CEREG: 4,1,"2B67","013BD0B",8,,,"00000101","00100001"\r\n\r\nOK\r\n'
    m.receive_data(b'AT+CPSMS=1,,,"00100001","00000101"\r')  # same timers: no new report
    assert out(m) == b"\r\nOK\r\n"
    m.receive_data(b"AT+CPSMS=0\r")
    assert out(m) == b'\r\nOK\r\n\r\n+CEREG: 1,"2B67","013BD0B",8\r\n'
    m.receive_data(b'AT+CEREG=2\rAT+CPSMS=1,,,"00100001","00000101"\r')  # n < 4: no timers, no URC
    assert out(m) == b"\r\nOK\r\n\r\nOK\r\n"


def test_cedrxs_mode_3_disables_and_resets_and_act_type_is_kept() -> None:
    """TS 27.007 §7.40: mode 3 disables eDRX and resets its parameters (read and CEDRXRDP
    used to still report it on); the AcT-type given is the one read back."""
    m = Modem(load_module("bg96"))
    out(m)
    m.receive_data(b'ATE0\rAT+CEDRXS=1,5,"0011"\rAT+CEDRXS?\r')
    assert out(m).endswith(b'\r\n+CEDRXS: 5,"0011"\r\n\r\nOK\r\n')
    assert m.state.energy.report()["edrx"] is True
    m.receive_data(b"AT+CEDRXS=3\rAT+CEDRXS?\rAT+CEDRXRDP\r")
    assert out(m) == b"\r\nOK\r\n\r\nOK\r\n\r\n+CEDRXRDP: 0\r\n\r\nOK\r\n"
    assert m.state.energy.report()["edrx"] is False
    m.receive_data(b"AT+CEDRXS=1\rAT+CEDRXS?\rAT+CEDRXS=?\r")
    assert out(m) == (b'\r\nOK\r\n\r\n+CEDRXS: 4,"0010"\r\n\r\nOK\r\n'
                      b'\r\n+CEDRXS: (0-3),(0,4,5),("0000"-"1111")\r\n\r\nOK\r\n')


def test_cpsms_2_resets_psm_but_not_the_dtr_line() -> None:
    m = Modem(load_module("bg96"))
    out(m)
    from emulator.core.stimuli import DtrChanged
    m.receive_data(b'AT+QSCLK=1\rAT+CPSMS=1,,,"00100001","00000101"\r')
    m.receive_stimulus(DtrChanged(False))
    m.receive_data(b"AT+CPSMS=2\rAT+CPSMS?\r")
    assert out(m).endswith(b'\r\n+CPSMS: 0,,,"00000100","00001111"\r\n\r\nOK\r\n')
    m.receive_stimulus(DtrChanged(True))  # QSCLK=1 kept: DTR high lets it sleep, UART off
    m.receive_data(b"AT\r")
    assert out(m) == b""


@pytest.mark.parametrize("module,answers", [
    # Quectel's own sleep commands exist only where the module's manual/guide has them: BG96
    # AT+QSCLK=0/1 (DTR sleep) and AT+QPSMS; AT+QSCLK=3 and AT+QSCLKEX are the ECx00x guide's
    ("bg96", {"AT+QSCLK=1": "OK", "AT+QSCLK=3": "ERROR", "AT+QSCLKEX=1,1,30": "ERROR", "AT+QPSMS?": "OK"}),
    ("ec800e", {"AT+QSCLK=1": "OK", "AT+QSCLK=3": "OK", "AT+QSCLKEX=1,1,30": "OK", "AT+QPSMS?": "OK"}),
    ("wm-n400mse", {"AT+QSCLK=1": "ERROR", "AT+QSCLKEX=1,1,30": "ERROR", "AT+QPSMS?": "ERROR",
                    'AT+CPSMS=1,,,"00100001","00000101"': "OK"}),
    ("amm5918k", {"AT+QSCLK=1": "ERROR", "AT+QSCLKEX=1,1,30": "ERROR", "AT+QPSMS?": "ERROR",
                  'AT+CPSMS=1,,,"00100001","00000101"': "OK"}),
])
def test_sleep_commands_exist_only_on_the_modules_that_have_them(module: str, answers: dict) -> None:
    m = Modem(load_module(module))
    out(m)
    for line, final in answers.items():
        m.receive_data(line.encode() + b"\r")
        assert out(m).rstrip().endswith(final.encode()), (module, line)


def test_guide_second_psm_request_while_active_time_runs() -> None:
    """Guide 001 §6.1, second cycle: PSM is still granted from the first AT+QSCLK=3, so T3324
    runs after the QSCLKEX release; AT+QSCLK=3 typed 1.5 s later (before it runs out) gives the
    guide's OK, +CSCON: 0, +CSCON: 1, +QIND: ENTER PSM, not an extra ENTER/EXIT pair."""
    m = Modem(load_module("ec800e"))
    out(m)
    m.receive_data(b'ATE0\rAT+QCFG="urc/psm",1\rAT+CSCON=1\rAT+QSCLK=3,2,"01011111","00000001"\r')
    m.advance(5)
    assert out(m).endswith(b"\r\n+QIND: ENTER PSM\r\n")
    psm_wake(m.ctx)  # the wake-up uplink
    out(m)
    m.receive_data(b"AT+QSCLKEX=1,1,30\r")
    m.advance(2)
    assert out(m) == b"\r\nOK\r\n\r\n+CSCON: 0\r\n"
    m.advance(1.5)
    m.receive_data(b'AT+QSCLK=3,2,"01011111","00000001"\r')
    m.advance(5)
    assert out(m) == b"\r\nOK\r\n\r\n+CSCON: 0\r\n\r\n+CSCON: 1\r\n\r\n+QIND: ENTER PSM\r\n"


def test_cpsms_with_all_parameters_omitted_disables_and_resets() -> None:
    """TS 27.007 §7.38 special form "AT+CPSMS=": PSM off, parameters back to defaults (it used
    to be ERROR, so a host turning PSM off that way kept the module sleeping)."""
    m = Modem(load_module("bg96"))
    out(m)
    m.receive_data(b'ATE0\rAT+CPSMS=1,,,"00100001","00000101"\rAT+CPSMS=\rAT+CPSMS?\r')
    assert out(m).endswith(b'\r\nOK\r\n\r\nOK\r\n\r\n+CPSMS: 0,,,"00000100","00001111"\r\n\r\nOK\r\n')
    assert not m.state.psm.enabled


from hypothesis import given, settings, strategies as st  # noqa: E402

_ACTIONS = st.lists(st.one_of(
    st.tuples(st.just("advance"), st.floats(0, 5000)),
    st.tuples(st.just("at"), st.sampled_from([b"AT+CSQ", b'AT+CPSMS=1,,,"00100001","00000101"', b"AT+CPSMS=0",
                                               b'AT+CEDRXS=1,4,"0101"', b"AT+CEDRXS=0", b"AT+QSCLK=1"])),
    st.tuples(st.just("wake"), st.none()), st.tuples(st.just("power"), st.none()),
    st.tuples(st.just("dtr"), st.booleans()), st.tuples(st.just("traffic"), st.integers(0, 5000))),
    max_size=40)


@settings(max_examples=60, deadline=None)
@given(module=st.sampled_from(["bg96", "ec800e"]), actions=_ACTIONS)
def test_energy_states_add_up_to_the_elapsed_time(module: str, actions: list) -> None:
    """Whatever happens, the time per power state sums to the virtual time elapsed and the
    charge is the sum of current x time (µAh = mA·s / 3.6)."""
    from emulator.core.stimuli import DtrChanged, PowerOn
    m = Modem(load_module(module))
    start = m.clock.now()
    for kind, arg in actions:
        if kind == "advance":
            m.advance(arg)
        elif kind == "at":
            m.receive_data(arg + b"\r")
        elif kind == "wake":
            m.receive_stimulus(WakeUp())
        elif kind == "power":
            m.power_off() if m.powered else m.receive_stimulus(PowerOn())
        elif kind == "dtr":
            m.receive_stimulus(DtrChanged(arg))
        elif m.powered:
            ts27007.rrc_activity(m.ctx, arg)
        list(m.events())
    m.advance(120)  # let a last burst's connected time accrue
    r = m.state.energy.report()
    assert sum(r["seconds"].values()) == pytest.approx(m.clock.now() - start, abs=1e-3)
    table = load_module(module).defaults["energy"]
    idle = r["seconds"]["idle"] - r["idle_edrx_seconds"]
    charge = (sum(r["currents_ma"][s] * v for s, v in r["seconds"].items() if s != "idle")
              + table["idle_drx_ma"] * idle + table["idle_edrx_ma"] * r["idle_edrx_seconds"]) / 3.6
    assert r["charge_uah"] == pytest.approx(charge, abs=1e-2)


def test_idle_time_is_charged_at_the_paging_current_it_was_spent_with() -> None:
    """An hour idle with DRX, then eDRX switched on: the hour stays at the DRX current (the
    whole idle time used to be charged at whatever eDRX setting held when the report ran)."""
    m = Modem(load_module("bg96"))
    out(m)
    m.advance(3600)
    before = m.state.energy.report()
    m.receive_data(b'AT+CEDRXS=1,4,"0101"\r')
    after = m.state.energy.report()
    assert after["charge_uah"] == pytest.approx(before["charge_uah"], abs=1e-3)
    m.advance(3600)
    r = m.state.energy.report()
    assert r["idle_edrx_seconds"] == pytest.approx(3600)
    assert r["charge_uah"] - after["charge_uah"] == pytest.approx(0.6 * 3600 / 3.6)  # bg96.yaml eDRX 0.6 mA
    m.receive_data(b"AT+CFUN=1,1\r")  # reboot: eDRX is off again, and so is its current
    m.advance(3600 + 60)
    assert m.state.energy.report()["idle_edrx_seconds"] == pytest.approx(3600, abs=1)


def test_cscon_2_and_3_report_state_and_access() -> None:
    """TS 27.007 §10.1.32: n=2 adds <state> (7, E-UTRAN connected), n=3 also <access> (4,
    E-UTRA FDD), while connected; the test form lists 0-3 (it said (0,1) yet took 2 and 3)."""
    m = Modem(load_module("ec800e"))
    out(m)
    m.receive_data(b"ATE0\rAT+CSCON=?\rAT+CSCON=3\r")
    assert out(m) == b"ATE0\r\r\nOK\r\n\r\n+CSCON: (0-3)\r\n\r\nOK\r\n\r\nOK\r\n"
    ts27007.rrc_activity(m.ctx)
    assert out(m) == b"\r\n+CSCON: 1,7,4\r\n"
    m.receive_data(b"AT+CSCON?\rAT+CSCON=2\rAT+CSCON?\r")
    assert out(m) == b"\r\n+CSCON: 3,1,7,4\r\n\r\nOK\r\n\r\nOK\r\n\r\n+CSCON: 2,1,7\r\n\r\nOK\r\n"
    m.advance(30)
    assert out(m) == b"\r\n+CSCON: 0\r\n"
    m.receive_data(b"AT+CSCON?\r")
    assert out(m) == b"\r\n+CSCON: 2,0\r\n\r\nOK\r\n"


def test_dtr_level_outlives_a_reboot() -> None:
    """DTR is driven by the host: held high across AT+CFUN=1,1 it is still high afterwards, so
    BG96 AT+QSCLK=1 lets the module sleep at once (the reboot used to reset it to low)."""
    from emulator.core.stimuli import DtrChanged
    m = Modem(load_module("bg96"))
    out(m)
    m.receive_stimulus(DtrChanged(True))
    m.receive_data(b"AT+CFUN=1,1\r")
    m.advance(30)
    out(m)
    assert m.state.psm.dtr_high
    m.receive_data(b"AT+QSCLK=1\r")
    assert out(m).endswith(b"OK\r\n")
    m.receive_data(b"AT\r")
    assert out(m) == b""  # asleep: DTR is high


def test_qsclk_3_typed_in_psm_reports_the_connection_once() -> None:
    """AT+QSCLK=3 sent while in PSM: the line wakes the module (+QIND: EXIT PSM, +CSCON: 1);
    no second +CSCON: 1 follows, then it goes back to PSM."""
    m = Modem(load_module("ec800e"))
    out(m)
    m.receive_data(b'ATE0\rAT+QCFG="urc/psm",1\rAT+CSCON=1\rAT+QSCLK=3,2,"01011111","00000001"\r')
    m.advance(5)
    assert out(m).endswith(b"\r\n+QIND: ENTER PSM\r\n")
    m.receive_data(b'AT+QSCLK=3,2,"01011111","00000001"\r')
    m.advance(5)
    assert out(m) == b"\r\nOK\r\n\r\n+QIND: EXIT PSM\r\n\r\n+CSCON: 1\r\n\r\n+QIND: ENTER PSM\r\n"
