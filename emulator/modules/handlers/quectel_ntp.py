"""Quectel ``AT+QNTP``: synchronise the module's clock with an NTP server (BG96 TCP/IP
Application Note §2.2.12; EC2x/EC800E TCP/IP manual, same command).

``AT+QNTP=<contextID>,"<server>"[,<port>[,<autosettime>]]`` answers ``OK`` at once and asks the
network (effect :class:`NtpQuery`; ``emulator/net/ntp_exec.py`` sends a real NTP request through
the FakeInternet). The answer (stimulus :class:`NtpAnswer`) gives
``+QNTP: 0,"yyyy/MM/dd,hh:mm:ss±zz"`` (local time in the RTC's zone) and, with
<autosettime> 1 (default), sets the RTC (AT+CCLK). Errors are Quectel's TCP/IP codes: 561 the
context is not active, 565 DNS parse failed, 568 operation busy (one sync at a time), 569
timeout: no answer within the maximum response time (125 s [doc]), counted on the virtual clock.
``AT+QNTP?`` while a sync runs: ``+QNTP: "<server>",<port>``.

Must not: do I/O or read the wall clock (the executor does the one, the virtual clock the other).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...at.commands import AtCommand
from ...core.events import Effect
from ...core.modem import Context
from ...core.stimuli import Stimulus
from ..profile import CommandTable, Feature, Reply
from .quectel_tcpip_cfg import cid_arg
from .quectel_tcpip_data import fail, ok, qi
from .ts27007_time import local, tz_text

T = CommandTable("quectel_ntp")
MAX_RESPONSE_S = 125.0  # BG96 TCP/IP AN §2.2.12: maximum response time 125 s


@dataclass(frozen=True)
class NtpQuery(Effect):
    """Send one NTP client request to ``host:port`` through the FakeInternet."""

    token: int
    host: str
    port: int


@dataclass(frozen=True)
class NtpAnswer(Stimulus):
    """The server's answer: ``err`` 0 with ``utc`` (its transmit time, Unix seconds), or 565."""

    token: int
    err: int = 0
    utc: float = 0.0


@dataclass
class NtpRun:
    token: int
    host: str
    port: int
    autoset: bool
    timer: object = None


def _init(ctx: Context) -> None:
    ctx.state.qntp = None


@T.set("+QNTP")
@qi
def qntp_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(4)
    cid = cid_arg(cmd, ctx)
    host = cmd.str(1, max_len=255)
    port = cmd.int(2, 123, lo=1, hi=65535)
    autoset = cmd.int(3, 1, lo=0, hi=1)
    if not host:
        return fail(ctx, 552)
    if ctx.state.qntp is not None:
        return fail(ctx, 568)
    pdp = ctx.state.pdp.get(cid)
    if pdp is None or not pdp.active:
        return fail(ctx, 561)
    # the token counter survives reboots, so a late answer to a run from before one is not
    # taken for the answer to a new run
    ctx.nvm["qntp_seq"] = token = int(ctx.nvm.get("qntp_seq", 0)) + 1
    run = NtpRun(token, host, port, bool(autoset))
    run.timer = ctx.later(MAX_RESPONSE_S, lambda c: _done(c, run, 569), "qntp-timeout")
    ctx.state.qntp = run
    from .ts27007 import rrc_activity  # an NTP exchange is uplink traffic (48 bytes)
    rrc_activity(ctx, 48)
    return ok(ctx, Reply(effects=(NtpQuery(run.token, host, port),)))


@T.read("+QNTP")
def qntp_read(cmd: AtCommand, ctx: Context) -> Reply:
    run = ctx.state.qntp
    return Reply(lines=(f'+QNTP: "{run.host}",{run.port}',) if run is not None else ())


@T.test("+QNTP")
def qntp_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=("+QNTP: (1-16),<server>,(1-65535),(0,1)",))


def _done(ctx: Context, run: NtpRun, err: int, utc: float = 0.0) -> None:
    if ctx.state.qntp is not run:
        return  # a late answer after the timeout, or a run from before a reboot
    ctx.state.qntp = None
    if run.timer is not None:
        run.timer.cancel()
    if err:
        ctx.urc(f"+QNTP: {err}")
        return
    t = ctx.state.time
    if run.autoset:
        t.rtc_offset = utc - ctx.clock.now()
    ctx.urc(f'+QNTP: 0,"{local(utc, t.tz):%Y/%m/%d,%H:%M:%S}{tz_text(t.tz)}"')


def _answered(stim: NtpAnswer, ctx: Context) -> None:
    run = ctx.state.qntp
    if run is not None and run.token == stim.token:
        _done(ctx, run, stim.err, stim.utc)


FEATURE = Feature("quectel_ntp", T, init=_init, stimuli={NtpAnswer: _answered})
