"""AM Telecom AMM5918K / AMM592 vendor commands (WIZnet AMM592 guides; protocols.md §6.2).

@NSI (network status), @PSMSET (PSM timers, echoed back), @HWRESET.

Must not: implement sockets (@SOCK*6) or ThingPlug.
"""

from __future__ import annotations

from ...at.commands import AtCommand
from ...core.modem import Context
from ..profile import CommandTable, Feature, Reply

T = CommandTable("amtelecom")


def _init(ctx: Context) -> None:
    ctx.state.am_psm = (0, 0, 0)


@T.exec("@NSI")
def nsi_exec(cmd: AtCommand, ctx: Context) -> Reply:
    radio = ctx.state.radio
    if not radio.registered:
        return Reply(lines=('@NSI:0,"NO SRV","","","NONE"',))
    return Reply(lines=(f'@NSI:{min(4, radio.rssi // 7)},"IN SRV","{ctx.defaults.get("operator", "SKTelecom")}","Home","LTE"',))


@T.set("@PSMSET")
def psmset_set(cmd: AtCommand, ctx: Context) -> Reply:
    ctx.state.am_psm = (cmd.int(0, lo=0, hi=1), cmd.int(1, 0, lo=0), cmd.int(2, 0, lo=0))
    return Reply(lines=("@PSMSET:" + ",".join(map(str, ctx.state.am_psm)),))


@T.read("@PSMSET")
def psmset_read(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=("@PSMSET:" + ",".join(map(str, ctx.state.am_psm)),))


@T.exec("@HWRESET")
def hwreset_exec(cmd: AtCommand, ctx: Context) -> Reply:
    ctx.later(0.0, lambda c: c.modem.reboot(), "reboot")
    return Reply()


FEATURE = Feature("amtelecom", T, init=_init)
