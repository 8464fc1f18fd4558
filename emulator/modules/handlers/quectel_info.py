"""Quectel status and time commands hosts poll at init (BG96 and EC800E).

+QSPN (network name), +QLTS (network time, modes 0/1/2), +QINISTAT (SIM/SMS/phonebook
initialisation bits), +QTEMP (temperatures), +QSIMSTAT (SIM inserted status and its URC).
+QNTP lives in quectel_ntp.py (it needs the network).

Must not: change registration or the clock (ts27007.py, ts27007_time.py own them).
"""

from __future__ import annotations

from ...at.commands import AtCommand
from ...core.modem import Context
from ...core.results import CmeError
from ...core.stimuli import SimInserted, SimRemoved
from ..profile import CommandTable, Feature, Reply
from .ts27007 import _operator_names
from .ts27007_time import last_sync, local, tz_text

T = CommandTable("quectel_info")


def _init(ctx: Context) -> None:
    ctx.state.qsimstat = 0


@T.exec("+QSPN")
@T.read("+QSPN")
def qspn_exec(cmd: AtCommand, ctx: Context) -> Reply:
    """``+QSPN: "<FNN>","<SNN>","<SPN>",<alphabet>,"<RPLMN>"`` (EC25/BG96 AT manuals, "Display
    the Name of Registered Network"): full and short network name, the SIM's service provider
    name (data file ``spn``), alphabet 0 (GSM 7-bit default), the registered PLMN. TinyGSM sends
    the read form ``AT+QSPN?``; it answers the same. Not registered: +CME ERROR: 30 [?]. Example
    in the LTE Standard AT manual: ``+QSPN: "CHN-UNICOM","UNICOM","",0,"46001"``."""
    if not ctx.state.radio.registered:
        return Reply(final=CmeError(30))
    long_name, short, numeric = _operator_names(ctx)
    return Reply(lines=(f'+QSPN: "{long_name}","{short}","{ctx.defaults.get("spn", "")}",0,"{numeric}"',))


@T.exec("+QLTS")
@T.set("+QLTS")
def qlts(cmd: AtCommand, ctx: Context) -> Reply:
    """``+QLTS: "yyyy/MM/dd,hh:mm:ss±zz,<dst>"``: mode 0 (default) the network time of the last
    NITZ (UTC, with the zone), 1 the current UTC time derived from it, 2 the current local time
    (Quectel LTE Standard AT manual "AT+QLTS": examples ``"2017/10/13,03:40:48+32,0"`` for 0 and
    1, ``"2017/01/13,11:41:23+32,0"`` for 2; TinyGSM reads 1 as UTC and 2 as local). No NITZ
    yet: ``+QLTS: ""`` (same manual)."""
    cmd.max_args(1)
    mode = cmd.int(0, 0, lo=0, hi=2)
    sync = last_sync(ctx)
    if sync is None:
        return Reply(lines=('+QLTS: ""',))
    at, tz, dst = sync
    when = local(at, 0) if mode == 0 else local(ctx.clock.now(), tz if mode == 2 else 0)
    return Reply(lines=(f'+QLTS: "{when:%Y/%m/%d,%H:%M:%S}{tz_text(tz)},{dst}"',))


@T.test("+QLTS")
def qlts_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=("+QLTS: (0-2)",))


@T.exec("+QINISTAT")
def qinistat_exec(cmd: AtCommand, ctx: Context) -> Reply:
    """Bit mask: 1 (U)SIM ready (CPIN READY), 2 SMS initialised, 4 phonebook initialised (EC25
    AT manual; real EC25 units print 7). The bits follow what the module announced at boot:
    ``+QIND: SMS DONE`` / ``+QIND: PB DONE`` in its boot URCs (a BG96 has no PB DONE: 3). Hosts
    test bits, not values: ST X-CUBE-CELLULAR 6.0.1 BG96 ``at_custom_modem_specific.c``
    ``fRspAnalyze_QINISTAT_BG96`` checks the CPIN-ready bit."""
    radio = ctx.state.radio
    if not radio.sim_present or radio.sim_state != "READY":
        return Reply(lines=("+QINISTAT: 0",))
    boot = ctx.profile.quirks.boot_urcs
    bits = 1 | (2 if "+QIND: SMS DONE" in boot else 0) | (4 if "+QIND: PB DONE" in boot else 0)
    return Reply(lines=(f"+QINISTAT: {bits}",))


@T.exec("+QTEMP")
def qtemp_exec(cmd: AtCommand, ctx: Context) -> Reply:
    """``+QTEMP: <pmic_temp>,<xo_temp>,<pa_temp>`` in °C (Qualcomm-based Quectel modules, e.g.
    the BG96/EC25 manuals); the PA runs a few degrees warmer while the RRC is connected."""
    pmic, xo, pa = (int(v) for v in ctx.defaults.get("temperatures", (31, 30, 30)))
    if ctx.state.radio.rrc:
        pa += 3
    return Reply(lines=(f"+QTEMP: {pmic},{xo},{pa}",))


def _inserted(ctx: Context) -> int:
    return 1 if ctx.state.radio.sim_present else 0


@T.set("+QSIMSTAT")
def qsimstat_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(1)
    ctx.state.qsimstat = cmd.int(0, lo=0, hi=1)
    return Reply()


@T.read("+QSIMSTAT")
def qsimstat_read(cmd: AtCommand, ctx: Context) -> Reply:
    """``+QSIMSTAT: <enable>,<inserted status>`` (0 removed, 1 inserted, 2 unknown)."""
    return Reply(lines=(f"+QSIMSTAT: {ctx.state.qsimstat},{_inserted(ctx)}",))


@T.test("+QSIMSTAT")
def qsimstat_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=("+QSIMSTAT: (0,1)",))


def _sim_changed(stim: object, ctx: Context) -> None:
    """With AT+QSIMSTAT=1 a hot-plug is reported as ``+QSIMSTAT: 1,<inserted>``."""
    if ctx.state.qsimstat:
        ctx.urc(f"+QSIMSTAT: 1,{_inserted(ctx)}")


FEATURE = Feature("quectel_info", T, init=_init,
                  stimuli={SimRemoved: _sim_changed, SimInserted: _sim_changed})
