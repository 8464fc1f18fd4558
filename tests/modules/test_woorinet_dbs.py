"""WM-N400MSE ``AT$$DBS``: the status dump of WIZnet's WM-N400MSE PSM guide, from live state."""

from __future__ import annotations

from emulator.core.stimuli import NetworkDetach
from emulator.testing.sansio import make_harness


def _dbs(h) -> dict[str, str]:
    out = h.send(b"AT$$DBS\r")
    assert out.startswith(b"\r\n$$DBS:\r\n[LTE]\r\n") and out.endswith(b"\r\n\r\nOK\r\n")
    assert b"\r\n\r\n" not in out[:-8]  # one block, as the guide prints it
    fields = [ln.split(":", 1) for ln in out.decode().split("\r\n")[3:] if ":" in ln]
    return {k: v for k, v in fields}


def test_dbs_fields_follow_registration_and_psm() -> None:
    h = make_harness("wm-n400mse", testkit=False)
    dbs = _dbs(h)
    assert dbs["DL E-ARFCN"] == "2500-20500" and dbs["BAND"] == "5" and dbs["PLMN"] == "45005"
    assert dbs["EMM_STATE"] == "REGISTRED" and dbs["SRV_STATUS"] == "Available"
    assert dbs["TAC"] == str(0x2B67) and dbs["CELL_ID"] == f"{0x013BD0B >> 8}-{0x0B}"
    assert dbs["PSM"] == "Disabled"
    # the guide's request: Periodic-TAU "10000110" = 6 x 30 s, Active-Time "00100001" = 1 x 1 min
    assert h.send(b'AT+CPSMS=1,,,"10000110","00100001"\r') == b"\r\nOK\r\n"
    dbs = _dbs(h)
    assert (dbs["PSM"], dbs["PSM-ACTIVE"], dbs["PSM-PERIODIC"]) == ("Enabled", "60s", "180s")
    h.stim(NetworkDetach())
    dbs = _dbs(h)
    assert dbs["EMM_STATE"] != "REGISTRED" and dbs["RSSI"] == "-125"


def test_dbs_edrx_fields_follow_the_granted_edrx() -> None:
    h = make_harness("wm-n400mse", testkit=False)
    assert _dbs(h)["EDRX"] == "Disabled"
    assert h.send(b'AT+CEDRXS=1,4,"0101"\r') == b"\r\nOK\r\n"
    dbs = _dbs(h)
    assert (dbs["EDRX"], dbs["EDRX-CycLen"], dbs["EDRX-PTW"]) == ("Enabled", "81.92s", "1.28s")


def test_dbs_rssi_is_the_signal_of_csq_and_unknown_stays_plausible() -> None:
    from emulator.core.stimuli import SignalChanged
    h = make_harness("wm-n400mse", testkit=False)
    h.stim(SignalChanged(10))
    assert _dbs(h)["RSSI"] == str(-113 + 2 * 10)
    h.stim(SignalChanged(99))  # +CSQ: 99 (unknown): the dump keeps the module's usual level
    assert -113 <= int(_dbs(h)["RSSI"]) <= -51
