"""AM Telecom AMM5918K / AMM592 vendor commands (WIZnet AMM592 guides, Wiznet/wiznet-iot-shield-mbed-kr docs/mbed_guide_AMM592_*.md).

@NSI (network status), @PSMSET (PSM in seconds: the same PSM request as AT+CPSMS, so the
module really sleeps), @HWRESET.

Must not: implement sockets (@SOCK*6) or ThingPlug.
"""

from __future__ import annotations

from ...at.commands import AtCommand
from ...core.modem import Context
from ...core.results import ERROR
from ..profile import CommandTable, Feature, Reply
from .power import T3324_UNITS, T3412_UNITS, decode_timer
from .power import _disable_psm as disable_psm
from .power import _request_psm as request_psm

T = CommandTable("amtelecom")

# @PSMSET takes seconds; the module turns them into the TS 24.008 timer octets. Allowed values
# per the WIZnet AMM592 PSM guide: active 0-62 (x2), 120-1860 (x60), 2160-11160 (x360);
# periodic 0-62 (x2), 120-1860 (x60), 2400-18600 (x600), 21600-111600 (x3600),
# 144000-1116000 (x36000; the guide prints 360000, which cannot reach its own 144000).
_ACTIVE_RANGES = ((0, 62, 2, 0b000), (120, 1860, 60, 0b001), (2160, 11160, 360, 0b010))
_PERIODIC_RANGES = ((0, 62, 2, 0b011), (120, 1860, 60, 0b101), (2400, 18600, 600, 0b000),
                    (21600, 111600, 3600, 0b001), (144000, 1116000, 36000, 0b010))


def _encode(seconds: int, ranges: tuple[tuple[int, int, int, int], ...]) -> str | None:
    """Seconds -> 8-bit timer string (3 unit bits, 5 value bits); None outside the ranges."""
    for lo, hi, step, bits in ranges:
        if lo <= seconds <= hi and seconds % step == 0:
            return f"{bits:03b}{seconds // step:05b}"
    return None


@T.exec("@NSI")
def nsi_exec(cmd: AtCommand, ctx: Context) -> Reply:
    radio = ctx.state.radio
    if not radio.registered:
        return Reply(lines=('@NSI:0,"NO SRV","","","NONE"',))
    return Reply(lines=(f'@NSI:{min(4, radio.rssi // 7)},"IN SRV","{ctx.defaults.get("operator", "SKTelecom")}","Home","LTE"',))


@T.set("@PSMSET")
def psmset_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(3)
    if cmd.int(0, lo=0, hi=1) == 0:
        disable_psm(ctx)
        return Reply(lines=("@PSMSET:0",))
    t3324 = _encode(cmd.int(1, lo=0), _ACTIVE_RANGES)
    t3412 = _encode(cmd.int(2, lo=0), _PERIODIC_RANGES)
    if t3324 is None or t3412 is None:
        return Reply(final=ERROR)
    request_psm(ctx, t3412, t3324)
    return psmset_read(cmd, ctx)


@T.read("@PSMSET")
def psmset_read(cmd: AtCommand, ctx: Context) -> Reply:
    psm = ctx.state.psm
    if not psm.requested:
        return Reply(lines=("@PSMSET:0",))
    active, periodic = decode_timer(psm.t3324, T3324_UNITS), decode_timer(psm.t3412, T3412_UNITS)
    return Reply(lines=(f"@PSMSET:1,{active},{periodic}",))


@T.exec("@HWRESET")
def hwreset_exec(cmd: AtCommand, ctx: Context) -> Reply:
    ctx.later(0.0, lambda c: c.modem.reboot(), "reboot")
    return Reply()


FEATURE = Feature("amtelecom", T)
