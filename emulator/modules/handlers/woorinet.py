"""Woori-net WM-N400MSE vendor commands (AT Commands Guide v1.1; Woori-net WM-N400MSE AT Commands Guide v1.1).

Answers use ``NAME:value`` without a space. $$SWVER, $$HWVER, $$SPC / $$IMEI (SPC unlock
first), *IMSI?, $$CNUM?, *NETNAME?, *ANTLVL?, *REGSTS?, *PSREGSTS?, *WLSTATUS?, $$STAT?,
*SKT*RESET, $$MSTIME?, *RNDISDATA, *WWANIP?, *AUTOCONN, $$DBS (network/PSM status dump, as
WIZnet's WM-N400MSE PSM guide prints it).

Must not: implement sockets (+WSO*) or ThingPlug (their own features).
"""

from __future__ import annotations

from datetime import datetime, timezone

from ...at.commands import AtCommand
from ...core.modem import Context
from ...core.results import ERROR
from ..profile import CommandTable, Feature, Reply
from .ts27007 import signal

T = CommandTable("woorinet")


def _init(ctx: Context) -> None:
    ctx.state.woori = {"spc_unlocked": False, "rndis": 0, "autoconn": 0}


@T.exec("$$SWVER")
def swver_exec(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=(f"$$SWVER: {ctx.defaults.get('swver', ctx.identity.revision)}",))


@T.exec("$$HWVER")
def hwver_exec(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=(f"$$HWVER: {ctx.defaults.get('hwver', 'REV1.0')}",))


@T.set("$$SPC")
def spc_set(cmd: AtCommand, ctx: Context) -> Reply:
    if cmd.str(0) != str(ctx.defaults.get("spc", "000000")):
        return Reply(lines=("$$SPC:LOCKED",), final=ERROR)
    ctx.state.woori["spc_unlocked"] = True
    return Reply(lines=("$$SPC:UNLOCKED",))


@T.exec("$$IMEI")
@T.read("$$IMEI")
def imei_read(cmd: AtCommand, ctx: Context) -> Reply:
    if not ctx.state.woori["spc_unlocked"]:
        return Reply(final=ERROR)
    return Reply(lines=(f"$$IMEI:{ctx.identity.imei}",))


@T.read("*IMSI")
def imsi_read(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=(f"*IMSI:{ctx.identity.imsi}",))


@T.read("$$CNUM")
def cnum_read(cmd: AtCommand, ctx: Context) -> Reply:
    # the same MSISDN as AT+CNUM, in the national form (+82 10... -> 010...)
    number = str(ctx.defaults.get("msisdn", "+821012345678"))
    return Reply(lines=(f"$$CNUM:{'0' + number[3:] if number.startswith('+82') else number}",))


@T.read("*NETNAME")
def netname_read(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=(f"*NETNAME:{ctx.defaults.get('operator', 'SKTelecom') if ctx.state.radio.registered else ''}",))


@T.read("*ANTLVL")
def antlvl_read(cmd: AtCommand, ctx: Context) -> Reply:
    radio = ctx.state.radio
    level = 0 if not radio.registered else min(5, max(0, radio.rssi // 6))
    return Reply(lines=(f"*ANTLVL:{level}, LTE M1",))


@T.read("*REGSTS")
def regsts_read(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=(f"*REGSTS:{1 if ctx.state.radio.registered else 0}",))


@T.read("*PSREGSTS")
def psregsts_read(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=(f"*PSREGSTS:{1 if ctx.state.radio.registered else 0},0",))


@T.read("*WLSTATUS")
def wlstatus_read(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=(f"*WLSTATUS:{'LTE M1' if ctx.state.radio.registered else 'NO SERVICE'}",))


@T.read("$$STAT")
def stat_read(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=(f"$$STAT:{'READY' if ctx.state.radio.registered else 'NOT READY'}",))


@T.exec("*SKT*RESET")
def sktreset_exec(cmd: AtCommand, ctx: Context) -> Reply:
    ctx.later(0.0, lambda c: c.modem.reboot(), "reboot")
    return Reply(lines=("*SKT*RESET:1",))


@T.read("$$MSTIME")
def mstime_read(cmd: AtCommand, ctx: Context) -> Reply:
    t = datetime.fromtimestamp(ctx.clock.now(), tz=timezone.utc)
    return Reply(lines=(f"$$MSTIME:0,{t:%Y,%m,%d,%H,%M,%S}",))


def _edrx_fields(ctx: Context) -> list[str]:
    """EDRX lines of $$DBS from what the network granted (edrx.py); the guide only shows the
    disabled form (0, 0), so the enabled units (seconds, like PSM-ACTIVE) are our choice [?]."""
    from .edrx import cycle_seconds, ptw_seconds
    st = getattr(ctx.state, "edrx", None)
    if st is None or st.granted is None:
        return ["EDRX:Disabled", "EDRX-PTW:0", "EDRX-CycLen:0"]
    act, value, ptw = st.granted
    return ["EDRX:Enabled", f"EDRX-PTW:{ptw_seconds(act, ptw):g}s", f"EDRX-CycLen:{cycle_seconds(act, value):g}s"]


@T.exec("$$DBS")
def dbs_exec(cmd: AtCommand, ctx: Context) -> Reply:
    """``$$DBS:`` then ``[LTE]`` and ``NAME:value`` lines (WIZnet Arduino guide
    "Arduino_guide_wm-n400mse_psm.md"), from the live radio and PSM state; fields the emulator
    does not model keep the guide's idle values."""
    d, radio = ctx.defaults, ctx.state.radio
    psm = getattr(ctx.state, "psm", None)
    reg = radio.registered
    rssi = signal(ctx)[0] if reg else -125
    psm_on = bool(psm is not None and psm.enabled)
    earfcn, ci = int(d.get("earfcn", 2500)), int(str(d.get("ci", "0")), 16)
    lines = ["$$DBS:", "[LTE]", f"DL E-ARFCN:{earfcn}-{earfcn + 18000}",  # DL-UL pair (band 5: +18000)
             f"BAND:{d.get('band_num', 5)}",
             "DL_BANDWIDTH:0", f"PLMN:{d.get('plmn', '45005')}", "NAS_REJECT_CAUSE:FFH",
             f"PCI:{d.get('pci', 448)}", f"CELL_ID:{ci >> 8}-{ci & 0xFF}",  # CELL_ID: eNB-sector
             f"TAC:{int(str(d.get('tac', '0')), 16)}",
             "ESM_CAUSE:FFH", f"EMM_RRC_STATE:{'CONNECTED' if radio.rrc else 'IDLE'}",
             f"EMM_STATE:{'REGISTRED' if reg else 'DEREGISTERED'}", "EMM_SUBSTATE:NORMAL",  # sic: REGISTRED
             f"RSSI:{rssi}", f"RSRP:{int(d.get('rsrp', -90)) if reg else 0}",
             f"RSRQ:{int(d.get('rsrq', -9)) if reg else 0}",
             "SINR:-20" if not reg else f"SINR:{d.get('sinr_db', 10)}", "TX_POWER:0", "NUM_ANTENA:0",
             "TMSI:0000007F", f"SRV_STATUS:{'Available' if reg else 'No Service'}", "NBR_CELL_INFO:N/A",
             "DRX:1280", "L2W:120", "RI: - ", "CQI: - ",
             *_edrx_fields(ctx),
             f"PSM:{'Enabled' if psm_on else 'Disabled'}",
             f"PSM-ACTIVE:{psm.active_s if psm_on else 0}s", f"PSM-PERIODIC:{psm.tau_s if psm_on else 0}s"]
    return Reply(lines=tuple(lines))


@T.set("*RNDISDATA")
def rndis_set(cmd: AtCommand, ctx: Context) -> Reply:
    value = cmd.int(0, lo=0, hi=1)
    if value and not ctx.state.radio.registered:
        return Reply(final=ERROR)
    ctx.state.woori["rndis"] = value
    ctx.state.pdp[1].active = bool(value) or ctx.state.radio.registered
    return Reply(lines=(f"*RNDISDATA:{value}",))


@T.read("*RNDISDATA")
def rndis_read(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=(f"*RNDISDATA:{ctx.state.woori['rndis']}",))


@T.read("*WWANIP")
def wwanip_read(cmd: AtCommand, ctx: Context) -> Reply:
    pdp = ctx.state.pdp.get(1)
    return Reply(lines=(pdp.address if pdp and pdp.active else "0.0.0.0",))


@T.set("*AUTOCONN")
def autoconn_set(cmd: AtCommand, ctx: Context) -> Reply:
    ctx.state.woori["autoconn"] = cmd.int(0, lo=0, hi=1)
    return Reply(lines=(f"*AUTOCONN:{ctx.state.woori['autoconn']}",))


FEATURE = Feature("woorinet", T, init=_init)
