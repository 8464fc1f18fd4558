"""Quectel LwM2M (Family A) state, the network side: stimuli -> URCs, timers, the URC buffer.

The AT commands live in ``quectel_lwm2m.py``; this module holds what both halves share: the
per-modem :class:`Lwm2mState`, message ids, the CoAP exchange timeout on the virtual clock,
the ``+QLWURC`` formats and the buffer read by ``AT+QLWRD``, and the stimulus handlers.

Sources: guide 001 §4.1.3-§4.1.4 (the transcripts), Quectel UniRTOS unirtos_atcmd_lwm2m.h; BC66 OpenCPU ril_lwm2m.c (command table, URC forms),
docs/guides.md (typos). Decisions where no source says:
* ``auto_ack`` = 1: the module answers the observe itself (2.05, empty payload) and marks the
  path observed; it still prints ``+QLWURC: "observe",...`` so the host knows it may notify.
  ``AT+QLWOBSRSP`` for that msgid is then an ERROR (nothing pending).
* Buffer mode (``"access_mode",1``): every platform request (observe/read/write/execute) is
  printed as a URC *and* stored, as the guide's §4.1.4.2 capture shows (the writes appear as
  URCs, and are read back by ``AT+QLWRD`` after the observe that arrived earlier). Unread
  entries outlive an ``AT+QLWDEREG`` and are dropped when the next ``AT+QLWREG`` starts a new
  session (or at reboot).
* A platform request on an object the host never added is answered 4.04 by the module itself;
  an observe *cancel* is acknowledged by the module itself (URC with flag 1, no AT answer).
* ``"lifetime_enable",1``: the module sends an Update at 90 % of the lifetime by itself and
  prints its result as ``+QLWURC: "ping",<result>`` (Quectel BC66 OpenCPU ``ril.h``:
  URC_LWM2M_PING "notify periodic ping result"; ``ril_urc.c`` parses ``+QLWURC: "ping",<n>``).
* An Update the platform refuses (4.04/4.03/4.00 -> ``-9``: it no longer knows the registration,
  e.g. the lifetime expired) ends the session on the module too: it prints
  ``+QLWURC: "lwstatus",0`` (``ril_urc.c`` parses ``"lwstatus",<n>``; the values are
  AT+QLWSTATUS's [?]) and the host may AT+QLWREG again instead of being stuck "registered".
* Without network (detached, no coverage) nothing is sent: a CON notify, Update or De-register
  gets no answer and ends by its timer like any lost datagram (``"report_ack",1``, ``-2``).
* Every confirmable exchange (register, update, deregister, CON notify) gives up after
  MAX_TRANSMIT_WAIT = ack_timeout * (2 ** (max_retx + 1) - 1) virtual seconds (RFC 7252 §4.8.2
  with ACK_RANDOM_FACTOR taken as 1 for determinism): 62 s with the default ``2,4``.

Must not: do I/O, read the wall clock, or parse AT command lines.
"""

from __future__ import annotations

import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ...core.clock import Timer
from ...core.modem import Context
from . import ts27007
from .quectel_lwm2m_effects import (
    COAP_CONTENT, COAP_NOT_FOUND, REPORT_ACKED, REPORT_FAILED, REPORT_TIMEOUT, RESULT_OK,
    RESULT_REJECTED, RESULT_TIMEOUT, Lwm2mClose, Lwm2mDeregistered, Lwm2mExecuteRequest,
    Lwm2mExecuteResponse, Lwm2mNotifyAcked, Lwm2mObserveRequest, Lwm2mObserveResponse, Lwm2mReadRequest,
    Lwm2mReadResponse, Lwm2mRegistered, Lwm2mUpdate, Lwm2mUpdated, Lwm2mWriteRequest,
    Lwm2mWriteResponse, Path)

# AT+QLWSTATUS? values (Quectel UniRTOS unirtos_atcmd_lwm2m.h; BC66 OpenCPU ril_lwm2m.c: 0 not registered, 1 registering, 2 registered);
# 3 = deregistering is the emulator's addition [?].
IDLE, REGISTERING, REGISTERED, DEREGISTERING = 0, 1, 2, 3

# AT+QLWCFG settings: name -> default values. The first four, in this order, are exactly what
# the guide's "AT+QLWCFG?" / "AT+QLWCFG" print (guide 001 §4.1.3.1, §6.1).
CFG_DEFAULTS: dict[str, tuple[int, ...]] = {
    "retransmit": (2, 4),        # <ack_timeout s>,<max_retransmit>
    "auto_ack": (0,),            # 1: the module answers the platform's observe itself
    "lifetime_enable": (1,),     # 1: the module sends the lifetime updates itself
    "dtls_mode": (0,),
    "dataformat": (1, 1),        # <send>,<recv>: 0 text, 1 hex string (Quectel UniRTOS unirtos_atcmd_lwm2m.h; BC66 OpenCPU ril_lwm2m.c)
    "access_mode": (0,),         # 0 push (URCs), 1 buffer (AT+QLWRD) (Quectel UniRTOS unirtos_atcmd_lwm2m.h; BC66 OpenCPU ril_lwm2m.c)
}
CFG_SHOWN = ("retransmit", "auto_ack", "lifetime_enable", "dtls_mode")
CFG_RANGES: dict[str, tuple[tuple[int, int], ...]] = {
    "retransmit": ((1, 60), (0, 8)), "auto_ack": ((0, 1),), "lifetime_enable": ((0, 1),),
    "dtls_mode": ((0, 1),), "dataformat": ((0, 1), (0, 1)), "access_mode": ((0, 1),),
}
BUFFER_MAX = 32  # buffered entries kept in buffer mode; the oldest is dropped beyond that [?]


@dataclass
class ServerConfig:
    bootstrap: int
    host: str
    port: int
    endpoint: str
    lifetime: int
    security_mode: int  # 0 PSK, 3 NoSec (guide 001 §4.1, docs/guides.md)
    psk_id: str | None = None
    psk: bytes | None = None


@dataclass
class Lwm2mState:
    cfg: dict[str, tuple[int, ...]]
    next_mid: int
    server: ServerConfig | None = None
    objects: dict[tuple[int, int], tuple[int, ...]] = field(default_factory=dict)
    status: int = IDLE
    lifetime: int = 0
    observed: dict[Path, int] = field(default_factory=dict)        # path -> observe msgid
    pending: dict[int, tuple[str, Path]] = field(default_factory=dict)  # msgid -> (kind, path)
    reports: dict[int, Timer] = field(default_factory=dict)        # CON notify mid -> give-up
    exchange: Timer | None = None                                  # reg/update/dereg give-up
    update_mid: int | None = None
    update_auto: bool = False
    auto_update: Timer | None = None
    buffer: deque[str] = field(default_factory=deque)
    rai_after_ack: set[int] = field(default_factory=set)  # CON mids sent with <rai_flag> 2

    def take_mid(self) -> int:
        """One 16-bit counter for the module's own messages (guide: report 13859, update 13860)."""
        mid = self.next_mid
        self.next_mid = (mid + 1) & 0xFFFF
        return mid

    def transmit_wait(self) -> float:
        ack_timeout, max_retx = self.cfg["retransmit"]
        return float(ack_timeout * (2 ** (max_retx + 1) - 1))


def init(ctx: Context) -> None:
    d = ctx.defaults
    seed = d.get("lwm2m_mid_seed")
    if seed is None:  # deterministic per IMEI, so two runs print the same ids
        seed = zlib.crc32(ctx.identity.imei.encode())
    cfg = {k: tuple(v) for k, v in CFG_DEFAULTS.items()}
    cfg.update({k: tuple(v) for k, v in d.get("qlwcfg", {}).items() if k in cfg})
    ctx.state.lwm2m = state = Lwm2mState(cfg=cfg, next_mid=int(seed) & 0xFFFF)
    saved = ctx.nvm.get("lwm2m")
    if saved:  # AT+QLWCONFIG / +QLWADDOBJ settings survive a reboot [?]
        state.server, state.objects = saved["server"], dict(saved["objects"])
    # AT+QLWCFG values do not: guide 001 §6.1 starts from a boot (RDY ...) and AT+QLWCFG shows
    # "lifetime_enable",1 again although the same guide set it to 0 before (§4.1.3.1/§4.1.3.2),
    # and re-sends AT+QLWCFG="lifetime_enable",0 after every boot.


def on_shutdown(ctx: Context) -> None:
    """Reboot / power-off: keep the server configuration and objects in NV memory (not the
    AT+QLWCFG values); the session itself is gone
    (the runner's Reset closes the client), pending CON reports end without a URC."""
    state = lw(ctx)
    ctx.nvm["lwm2m"] = {"server": state.server, "objects": dict(state.objects)}
    if state.status != IDLE:
        ctx.effect(Lwm2mClose("reboot"))


def lw(ctx: Context) -> Lwm2mState:
    return ctx.state.lwm2m


# --- formats -------------------------------------------------------------------------------
def path_text(path: Path) -> str:
    """``obj,inst,res``; a missing level prints -1 [?]."""
    parts = list(path[:3]) + [-1] * (3 - len(path[:3]))
    return ",".join(str(p) for p in parts)


def write_value_text(ctx: Context, payload: bytes) -> str:
    """The write payload as the guide prints it: unquoted upper-case hex (push and buffer,
    guide 001 §4.1.3.1/§4.1.4.2); with ``"dataformat",x,0`` (text) the bytes as text."""
    if lw(ctx).cfg["dataformat"][1] == 0:
        return payload.decode("latin-1")
    return payload.hex().upper()


def platform_event(ctx: Context, body: str) -> None:
    """A platform request: ``+QLWURC: <body>`` and, in buffer mode, stored for AT+QLWRD."""
    state = lw(ctx)
    if state.cfg["access_mode"][0] == 1:
        state.buffer.append(body)
        while len(state.buffer) > BUFFER_MAX:
            state.buffer.popleft()
    ctx.urc(f"+QLWURC: {body}")


# --- timers --------------------------------------------------------------------------------
def start_exchange(ctx: Context, on_timeout: Any) -> None:
    state = lw(ctx)
    cancel_exchange(ctx)

    def fire(c: Context) -> None:
        lw(c).exchange = None
        on_timeout(c)
    state.exchange = ctx.later(state.transmit_wait(), fire, "lwm2m-exchange")


def cancel_exchange(ctx: Context) -> None:
    state = lw(ctx)
    if state.exchange is not None:
        state.exchange.cancel()
        state.exchange = None


def start_report(ctx: Context, mid: int) -> None:
    """A CON notify was sent: ACK, or the failure URC after the retransmissions."""
    def give_up(c: Context) -> None:
        if lw(c).reports.pop(mid, None) is not None:
            c.urc(f'+QLWURC: "report_ack",{REPORT_TIMEOUT},{mid}')
    lw(ctx).reports[mid] = ctx.later(lw(ctx).transmit_wait(), give_up, f"lwm2m-report-{mid}")


def schedule_auto_update(ctx: Context) -> None:
    """``"lifetime_enable",1``: the module refreshes the registration at 90 % of the lifetime."""
    state = lw(ctx)
    if state.auto_update is not None:
        state.auto_update.cancel()
        state.auto_update = None
    if state.status != REGISTERED or state.cfg["lifetime_enable"][0] != 1 or state.lifetime <= 0:
        return

    def fire(c: Context) -> None:
        s = lw(c)
        s.auto_update = None
        if s.status == REGISTERED and s.update_mid is None:
            send_update(c, s.lifetime, auto=True)
    state.auto_update = ctx.later(state.lifetime * 0.9, fire, "lwm2m-auto-update")


def send_update(ctx: Context, lifetime: int | None, binding: str | None = None,
                auto: bool = False) -> int:
    state = lw(ctx)
    mid = state.take_mid()
    state.update_mid, state.update_auto = mid, auto
    if lifetime:
        state.lifetime = lifetime
    ts27007.rrc_activity(ctx)
    if ctx.state.radio.registered:  # no network: the datagram is lost, the timer reports -2
        ctx.effect(Lwm2mUpdate(lifetime=lifetime, mid=mid, binding=binding, auto=auto))

    def timeout(c: Context) -> None:
        _update_done(c, RESULT_TIMEOUT)
    start_exchange(ctx, timeout)
    return mid


def _update_done(ctx: Context, result: int) -> None:
    state = lw(ctx)
    mid, auto = state.update_mid, state.update_auto
    if mid is None:
        return
    state.update_mid = None
    ctx.urc(f'+QLWURC: "ping",{result}' if auto else f"+QLWUPDATE: {result},{mid}")
    if result == RESULT_REJECTED:  # the platform dropped the registration (lifetime expired ...)
        reset_session(ctx)
        ctx.effect(Lwm2mClose("registration lost"))
        ctx.urc(f'+QLWURC: "lwstatus",{IDLE}')
        return
    schedule_auto_update(ctx)


def on_boot(ctx: Context) -> None:
    """Power-on / reboot: the session is gone (server configuration and objects are kept [?])."""
    state = lw(ctx)
    was_active = state.status != IDLE
    for timer in state.reports.values():
        timer.cancel()
    state.reports.clear()
    reset_session(ctx)
    state.buffer.clear()
    if was_active:
        ctx.effect(Lwm2mClose("reboot"))


def reset_session(ctx: Context) -> None:
    """Registration gone: forget observes and pending requests; CON reports fail loudly."""
    state = lw(ctx)
    cancel_exchange(ctx)
    if state.auto_update is not None:
        state.auto_update.cancel()
        state.auto_update = None
    for mid, timer in sorted(state.reports.items()):
        timer.cancel()
        ctx.urc(f'+QLWURC: "report_ack",{REPORT_FAILED},{mid}')
    state.reports.clear()
    state.rai_after_ack.clear()
    state.observed.clear()
    state.pending.clear()
    state.update_mid = None
    state.status = IDLE


# --- stimuli -------------------------------------------------------------------------------
def on_registered(stim: Lwm2mRegistered, ctx: Context) -> None:
    state = lw(ctx)
    if state.status != REGISTERING:
        return  # late answer after the modem gave up
    cancel_exchange(ctx)
    if stim.result == RESULT_OK:
        state.status = REGISTERED
        schedule_auto_update(ctx)
    else:
        state.status = IDLE
    ctx.urc(f"+QLWREG: {stim.result}")


def on_updated(stim: Lwm2mUpdated, ctx: Context) -> None:
    if lw(ctx).update_mid is None:
        return
    cancel_exchange(ctx)
    _update_done(ctx, stim.result)


def on_deregistered(stim: Lwm2mDeregistered, ctx: Context) -> None:
    if lw(ctx).status != DEREGISTERING:
        return
    reset_session(ctx)
    ctx.urc(f"+QLWDEREG: {stim.result}")


def dereg_timeout(ctx: Context) -> None:
    reset_session(ctx)
    ctx.effect(Lwm2mClose("deregister timeout"))
    ctx.urc(f"+QLWDEREG: {RESULT_TIMEOUT}")


def on_notify_acked(stim: Lwm2mNotifyAcked, ctx: Context) -> None:
    timer = lw(ctx).reports.pop(stim.mid, None)
    if timer is None:
        return  # NON, unknown, or already reported as failed
    timer.cancel()
    code = REPORT_ACKED if stim.ok else REPORT_TIMEOUT if stim.timeout else REPORT_FAILED
    ctx.urc(f'+QLWURC: "report_ack",{code},{stim.mid}')
    if stim.mid in lw(ctx).rai_after_ack:  # <rai_flag> 2: the ACK was the one downlink
        lw(ctx).rai_after_ack.discard(stim.mid)
        ts27007.rrc_release(ctx)


def _known(ctx: Context, path: Path) -> bool:
    return len(path) >= 2 and (path[0], path[1]) in lw(ctx).objects


def on_observe(stim: Lwm2mObserveRequest, ctx: Context) -> None:
    state = lw(ctx)
    if state.status != REGISTERED:
        return
    path = tuple(stim.path)
    if not _known(ctx, path):
        ctx.effect(Lwm2mObserveResponse(stim.msgid, b"", COAP_NOT_FOUND, path))
        return
    if stim.cancel:  # the module acknowledges a cancel itself [?]; the host is told (flag 1)
        state.observed.pop(path, None)
        ctx.effect(Lwm2mObserveResponse(stim.msgid, b"", COAP_CONTENT, path))
    elif state.cfg["auto_ack"][0] == 1:
        state.observed[path] = stim.msgid
        ctx.effect(Lwm2mObserveResponse(stim.msgid, b"", COAP_CONTENT, path))
    else:
        state.pending[stim.msgid] = ("observe", path)
    # +QLWURC: "observe",<msgid>,<flag>,<obj>,<inst>,<res>; flag 1 = cancel (Quectel UniRTOS unirtos_atcmd_lwm2m.h; BC66 OpenCPU ril_lwm2m.c)
    platform_event(ctx, f'"observe",{stim.msgid},{int(stim.cancel)},{path_text(path)}')


def on_read(stim: Lwm2mReadRequest, ctx: Context) -> None:
    if lw(ctx).status != REGISTERED:
        return
    path = tuple(stim.path)
    if not _known(ctx, path):
        ctx.effect(Lwm2mReadResponse(stim.msgid, b"", COAP_NOT_FOUND, path))
        return
    lw(ctx).pending[stim.msgid] = ("read", path)
    platform_event(ctx, f'"read",{stim.msgid},{path_text(path)}')


def on_write(stim: Lwm2mWriteRequest, ctx: Context) -> None:
    if lw(ctx).status != REGISTERED:
        return
    path = tuple(stim.path)
    if not _known(ctx, path):
        ctx.effect(Lwm2mWriteResponse(stim.msgid, COAP_NOT_FOUND))
        return
    lw(ctx).pending[stim.msgid] = ("write", path)
    ts27007.rrc_activity(ctx)
    # guide 001 §4.1.3.1: +QLWURC: "write",44299,19,1,0,2,14,68656C...6B,0 (hex unquoted)
    platform_event(ctx, f'"write",{stim.msgid},{path_text(path)},2,{len(stim.payload)},'
                        f'{write_value_text(ctx, stim.payload)},0')


def on_execute(stim: Lwm2mExecuteRequest, ctx: Context) -> None:
    if lw(ctx).status != REGISTERED:
        return
    path = tuple(stim.path)
    if not _known(ctx, path):
        ctx.effect(Lwm2mExecuteResponse(stim.msgid, COAP_NOT_FOUND))
        return
    lw(ctx).pending[stim.msgid] = ("execute", path)
    platform_event(ctx, f'"execute",{stim.msgid},{path_text(path)}')


STIMULI = {
    Lwm2mRegistered: on_registered, Lwm2mUpdated: on_updated, Lwm2mDeregistered: on_deregistered,
    Lwm2mNotifyAcked: on_notify_acked, Lwm2mObserveRequest: on_observe, Lwm2mReadRequest: on_read,
    Lwm2mWriteRequest: on_write, Lwm2mExecuteRequest: on_execute,
}
