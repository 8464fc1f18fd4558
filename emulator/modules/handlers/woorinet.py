"""Woori-net WM-N400MSE vendor commands (AT Commands Guide v1.1; protocols.md §6.1).

Answers use ``NAME:value`` without a space. $$SWVER, $$HWVER, $$SPC / $$IMEI (SPC unlock
first), *IMSI?, $$CNUM?, *NETNAME?, *ANTLVL?, *REGSTS?, *PSREGSTS?, *WLSTATUS?, $$STAT?,
*SKT*RESET, $$MSTIME?, *RNDISDATA, *WWANIP?, *AUTOCONN.

Must not: implement sockets (+WSO*) or ThingPlug (their own features).
"""

from __future__ import annotations

from datetime import datetime, timezone

from ...at.commands import AtCommand
from ...core.modem import Context
from ...core.results import ERROR
from ..profile import CommandTable, Feature, Reply

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
    return Reply(lines=(f"$$CNUM:{ctx.defaults.get('msisdn', '01212345678')}",))


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
