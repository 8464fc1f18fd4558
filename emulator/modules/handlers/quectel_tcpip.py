"""Quectel TCP/IP AT stack (``AT+QI*``) for BG96 and EC800E: contexts, sockets, DNS, config.

+QICSGP, +QIACT, +QIDEACT (Quectel BG96 TCP/IP AT Commands Manual V1.0), +QIOPEN (``OK`` then ``+QIOPEN: <id>,<err>``,
or ``CONNECT``/``ERROR`` in transparent mode), +QICLOSE, +QISTATE (Quectel BG96 TCP/IP AT Commands Manual V1.0; error
codes 550-574 [doc: Q-TCP §4]) and the stimuli the socket executor (``emulator/net/sockets.py``)
answers with. The feature is split over ``quectel_tcpip_data.py`` (+QISEND, +QIRD, receive
URCs), ``quectel_tcpip_transparent.py`` (access mode 2, ATO, +QISWTMD),
``quectel_tcpip_cfg.py`` (+QICFG, +QIGETERROR, +QIDNSGIP) and ``quectel_tcpip_effects.py``
(effects, stimuli, the socket model); FEATURE merges their tables.

Profile knobs (``defaults`` in the module yaml): ``qiopen_cid0`` (EC800E: guide 001 §4.3.3
opens with ``AT+QIOPEN=0,...``; context 0 means the default context 1), ``qiclose_urc``
(EC800E prints ``CLOSE OK`` after ``OK``, guide 001 §4.3.3; the BG96 manual only ``OK``),
``qiopen_timeout`` (virtual seconds before ``+QIOPEN: <id>,566``; the manual's 150 s).

Must not: do I/O; every network action is an effect.
"""

from __future__ import annotations

from ...at.commands import AtCommand
from ...core.modem import Context
from ...core.results import CONNECT, ERROR
from ...core.state import HOME, ROAMING
from ..profile import CommandTable, Feature, Pending, Reply
from . import quectel_tcpip_cfg as cfg
from . import quectel_tcpip_data as data
from . import quectel_tcpip_transparent as transparent
from .quectel_tcpip_cfg import cid_arg
from .quectel_tcpip_data import conn_id, fail, ok, qi, st
from .quectel_tcpip_effects import (BUFFER, CLOSING, CONNECTED, INCOMING, INITIAL, LISTENING, OPENING,
                                    SERVICES, TRANSPARENT, AcceptIncoming, CloseSocket,
                                    NameResolved, OpenSocket, Socket, SocketClosed,
                                    SocketData, SocketIncoming, SocketOpened, SocketSent,
                                    TcpIpState)
from .ts27007 import PdpContext
from .quectel_common import urc_port
from .ts27007_pdp import dynamic_address

T = CommandTable("quectel_tcpip")
TYPES = {1: "IP", 2: "IPV6", 3: "IPV4V6"}
TYPE_NUM = {"IP": 1, "IPV6": 2, "IPV4V6": 3}
MAX_ACTIVE = 3  # at most 3 contexts active at once [doc: Q-TCP §2.1.2]


def _init(ctx: Context) -> None:
    gen, token = ctx.nvm.get("tcpip_counters", (None, None))
    ctx.state.tcpip = TcpIpState() if gen is None else TcpIpState(gen=gen, token=token)
    hooks = getattr(ctx.state, "radio_hooks", None)
    if hooks is None:
        hooks = ctx.state.radio_hooks = []
    hooks.append(_radio_changed)


def _shutdown(ctx: Context) -> None:
    """A reboot / power-off forgets every socket and setting (the runner's Reset closes the
    real connections); the generation counters survive so late events of old sockets are
    recognised as stale."""
    old = st(ctx)
    for sock in list(old.sockets.values()):
        if sock.timer is not None:
            sock.timer.cancel()
        ctx.effect(CloseSocket(sock.conn_id, sock.gen))
    line = old.transparent
    if line is not None:
        line.drop_timers()
    ctx.nvm["tcpip_counters"] = (old.gen, old.token)


# --- PDP contexts (Quectel BG96 TCP/IP AT Commands Manual V1.0) -------------------------------------------------------
@T.set("+QICSGP")
@qi
def qicsgp_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(6)
    cid = cmd.int(0, lo=1, hi=16)
    pdp = ctx.state.pdp.get(cid)
    user, pwd, auth = st(ctx).auth.get(cid, ("", "", 0))
    if len(cmd) == 1:
        ctype = TYPE_NUM.get(pdp.pdp_type, 1) if pdp else 1
        return Reply(lines=(f'+QICSGP: {ctype},"{pdp.apn if pdp else ""}","{user}","{pwd}",{auth}',))
    ctype = cmd.int(1, lo=1, hi=3)
    apn = cmd.str(2, "", max_len=150)
    user, pwd = cmd.str(3, "", max_len=127), cmd.str(4, "", max_len=127)
    auth = cmd.int(5, 0, lo=0, hi=3)
    if pdp is None:
        pdp = ctx.state.pdp[cid] = PdpContext(cid)
    pdp.pdp_type, pdp.apn = TYPES[ctype], apn
    st(ctx).auth[cid] = (user, pwd, auth)
    return ok(ctx)


@T.test("+QICSGP")
def qicsgp_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=('+QICSGP: (1-16),(1-3),"<APN>","<username>","<password>",(0-3)',))


@T.set("+QIACT")
@qi
def qiact_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(1)
    cid = cmd.int(0, lo=1, hi=16)
    if not ctx.state.radio.registered:
        return fail(ctx, 561)
    pdp = ctx.state.pdp.get(cid)
    if pdp is None:
        pdp = ctx.state.pdp[cid] = PdpContext(cid)
    if not pdp.active:
        if sum(1 for p in ctx.state.pdp.values() if p.active) >= MAX_ACTIVE:
            return fail(ctx, 561)
        pdp.address = _address_for(pdp)
        pdp.active = True
    st(ctx).activated.add(cid)  # an already active context answers OK too (drivers retry QIACT)
    return ok(ctx)


def _address_for(pdp: PdpContext) -> str:
    """The address an activation gives: the context's own one if its family fits the type set
    with AT+QICSGP (``+QIACT: <cid>,1,<type>,"<ip>"`` must agree), else a made-up one."""
    v6 = ":" in pdp.address
    if pdp.address and (pdp.pdp_type == "IPV4V6" or v6 == (pdp.pdp_type == "IPV6")):
        return pdp.address
    return dynamic_address(pdp.cid, pdp.pdp_type)


@T.read("+QIACT")
def qiact_read(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=tuple(f'+QIACT: {p.cid},1,{TYPE_NUM.get(p.pdp_type, 1)},"{p.address}"'
                             for p in sorted(ctx.state.pdp.values(), key=lambda p: p.cid) if p.active))


@T.test("+QIACT")
def qiact_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=("+QIACT: (1-16)",))


@T.set("+QIDEACT")
@qi
def qideact_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(1)
    cid = cmd.int(0, lo=1, hi=16)
    for sock in [s for s in st(ctx).sockets.values() if s.cid == cid]:
        _drop(ctx, sock)
    pdp = ctx.state.pdp.get(cid)
    if pdp is not None:
        pdp.active = False
    st(ctx).activated.discard(cid)
    return ok(ctx)


def _drop(ctx: Context, sock: Socket) -> None:
    """Forget a socket and tell the executor to close it."""
    s = st(ctx)
    if s.sockets.get(sock.conn_id) is sock:
        del s.sockets[sock.conn_id]
    if sock.timer is not None:
        sock.timer.cancel()
    if s.escaped_id == sock.conn_id:
        s.escaped_id = None
    ctx.effect(CloseSocket(sock.conn_id, sock.gen))


# --- AT+QIOPEN ------------------------------------------------------------------------------
@T.set("+QIOPEN")
@qi
def qiopen_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(7)
    cid = cid_arg(cmd, ctx)
    cid_conn = conn_id(cmd, ctx, 1)
    service = cmd.str(2, choices=SERVICES)
    host = cmd.str(3, max_len=150)
    rport = cmd.int(4, lo=0, hi=65535)
    lport = cmd.int(5, 0, lo=0, hi=65535)
    access = cmd.int(6, 0, lo=0, hi=2)
    listening = service in ("TCP LISTENER", "UDP SERVICE")
    if (listening and not lport) or (not listening and not rport) or not host:
        return fail(ctx, 552)
    if access == TRANSPARENT and listening:
        return fail(ctx, 555)
    s = st(ctx)
    if cid_conn in s.sockets:
        if access == TRANSPARENT:
            return fail(ctx, 563)
        s.last_error = 563
        return Reply(after=(f"+QIOPEN: {cid_conn},563",))
    pdp = ctx.state.pdp.get(cid)
    if pdp is None or not pdp.active:
        if access == TRANSPARENT:
            return fail(ctx, 561)
        s.last_error = 561
        return Reply(after=(f"+QIOPEN: {cid_conn},561",))
    if listening and any(x.lport == lport and x.service in ("TCP LISTENER", "UDP SERVICE")
                         for x in s.sockets.values()):
        # one listener per local port (574 "port busy" [doc: Q-TCP §4]); the fake internet
        # routes <modem ip>:<port> without the protocol, so TCP and UDP cannot share it either
        s.last_error = 574
        return Reply(after=(f"+QIOPEN: {cid_conn},574",))
    sock = Socket(cid_conn, cid, service, host, rport, lport, access, s.next_gen(), OPENING,
                  server_id=cid_conn if service == "TCP LISTENER" else 0)
    s.sockets[cid_conn] = sock
    timeout = float(ctx.defaults.get("qiopen_timeout", 150.0))
    effect = OpenSocket(cid_conn, sock.gen, service, host, rport, lport, pdp.address)
    s.last_error = 0
    if access == TRANSPARENT:
        def on_timeout(c: Context) -> Reply:
            _drop(c, sock)
            return fail(c, 566)
        return Reply(final=None, effects=(effect,),
                     pending=Pending(f"qiopen:{cid_conn}", timeout, on_timeout))

    def expire(c: Context) -> None:
        if st(c).sockets.get(cid_conn) is sock and sock.state == OPENING:
            _drop(c, sock)
            st(c).last_error = 566
            c.urc(f"+QIOPEN: {cid_conn},566")
    sock.timer = ctx.later(timeout, expire, "qiopen-timeout")
    return Reply(effects=(effect,))


@T.test("+QIOPEN")
def qiopen_test(cmd: AtCommand, ctx: Context) -> Reply:
    top = ctx.profile.quirks.max_sockets - 1
    return Reply(lines=(f'+QIOPEN: (1-16),(0-{top}),"TCP/UDP/TCP LISTENER/UDP SERVICE",'
                        '"<IP_address>/<domain_name>",<remote_port>,<local_port>,(0-2)',))


def _opened(stim: SocketOpened, ctx: Context) -> None:
    sock = st(ctx).sockets.get(stim.conn_id)
    if sock is None or sock.gen != stim.gen or sock.state != OPENING:
        if not stim.err:
            ctx.effect(CloseSocket(stim.conn_id, stim.gen))  # too late: the module gave up
        return
    if sock.timer is not None:
        sock.timer.cancel()
        sock.timer = None
    key = f"qiopen:{sock.conn_id}"
    if stim.err:
        _drop(ctx, sock)
        st(ctx).last_error = stim.err
        if sock.access == TRANSPARENT:
            ctx.finish(key, Reply(final=ERROR))
        else:
            ctx.urc(f"+QIOPEN: {sock.conn_id},{stim.err}")
        return
    sock.state = LISTENING if sock.service in ("TCP LISTENER", "UDP SERVICE") else CONNECTED
    sock.lport = sock.lport or stim.local_port
    sock.real_port = stim.real_port
    if sock.access == TRANSPARENT:
        transparent.enter_transparent(ctx, sock)
        ctx.finish(key, Reply(final=CONNECT))
    else:
        ctx.urc(f"+QIOPEN: {sock.conn_id},0")


def _live(ctx: Context, conn: int, gen: int) -> Socket | None:
    sock = st(ctx).sockets.get(conn)
    return sock if sock is not None and sock.gen == gen else None


def _data(stim: SocketData, ctx: Context) -> None:
    sock = _live(ctx, stim.conn_id, stim.gen)
    if sock is not None and sock.state in (CONNECTED, LISTENING):
        data.deliver(ctx, sock, stim.data, stim.ip, stim.port)


def _sent(stim: SocketSent, ctx: Context) -> None:
    sock = _live(ctx, stim.conn_id, stim.gen)
    if sock is not None:
        sock.acked = min(sock.total_sent, sock.acked + stim.nbytes)


def _closed(stim: SocketClosed, ctx: Context) -> None:
    sock = _live(ctx, stim.conn_id, stim.gen)
    if sock is None or sock.state not in (CONNECTED, LISTENING):
        return
    if transparent.transparent_closed(ctx, sock):
        _drop(ctx, sock)  # NO CARRIER ends it; nothing left for AT+QICLOSE
        return
    sock.state = CLOSING  # the host must AT+QICLOSE [doc: Q-TCP §2.2]
    ctx.urc(f'+QIURC: "closed",{sock.conn_id}')


def _incoming(stim: SocketIncoming, ctx: Context) -> None:
    s = st(ctx)
    server = _live(ctx, stim.server_id, stim.server_gen)
    if server is None or server.state != LISTENING or server.service != "TCP LISTENER":
        ctx.effect(AcceptIncoming(stim.token, -1, 0))
        return
    free = [i for i in range(ctx.profile.quirks.max_sockets) if i not in s.sockets]
    if not free:
        ctx.effect(AcceptIncoming(stim.token, -1, 0))
        ctx.urc('+QIURC: "incoming full"')
        return
    # "The <service_type> of the new connection will be "TCP INCOMING", and the <access_mode>
    # will be buffer access mode" [doc: BG96 TCP/IP AN §2.3.4], whatever the listener's mode.
    sock = Socket(free[0], server.cid, INCOMING, stim.ip, stim.port, server.lport, BUFFER,
                  s.next_gen(), CONNECTED, server_id=server.conn_id)
    s.sockets[sock.conn_id] = sock
    ctx.effect(AcceptIncoming(stim.token, sock.conn_id, sock.gen))
    ctx.urc(f'+QIURC: "incoming",{sock.conn_id},{server.conn_id},"{stim.ip}",{stim.port}')


# --- close / state --------------------------------------------------------------------------
@T.set("+QICLOSE")
@qi
def qiclose_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(2)
    cid_conn = conn_id(cmd, ctx)
    cmd.int(1, 10, lo=0, hi=65535)
    sock = st(ctx).sockets.get(cid_conn)
    if sock is not None:
        _drop(ctx, sock)
    after = ("CLOSE OK",) if ctx.defaults.get("qiclose_urc") else ()
    return ok(ctx, Reply(after=after))


def _state_line(ctx: Context, s: Socket) -> str:
    port = urc_port(ctx) if hasattr(ctx.state, "qcfg") else "uart1"
    return (f'+QISTATE: {s.conn_id},"{s.service}","{s.host}",{s.rport},{s.lport},{s.state},'
            f'{s.cid},{s.server_id},{s.access},"{port}"')


@T.read("+QISTATE")
@T.exec("+QISTATE")
def qistate_read(cmd: AtCommand, ctx: Context) -> Reply:
    socks = sorted(st(ctx).sockets.values(), key=lambda s: s.conn_id)
    return Reply(lines=tuple(_state_line(ctx, s) for s in socks if s.state != INITIAL))


@T.set("+QISTATE")
@qi
def qistate_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(2)
    query = cmd.int(0, lo=0, hi=1)
    socks = sorted(st(ctx).sockets.values(), key=lambda s: s.conn_id)
    if query == 0:
        cid = cid_arg(cmd, ctx, 1)
        chosen = [s for s in socks if s.cid == cid]
    else:
        cid_conn = conn_id(cmd, ctx, 1)
        chosen = [s for s in socks if s.conn_id == cid_conn]
    return Reply(lines=tuple(_state_line(ctx, s) for s in chosen))


# --- network loss ----------------------------------------------------------------------------
def _radio_changed(ctx: Context, event: str) -> None:
    """Coverage or functionality lost: ``+QIURC: "pdpdeact",<cid>`` for every context in use;
    its sockets stop (state closing) until the host runs AT+QIDEACT [doc: Q-TCP §2.2]."""
    radio = ctx.state.radio
    if radio.registered or not radio.history or radio.history[-1][0] not in (HOME, ROAMING):
        return  # only the step out of registration deactivates (CFUN=0 then CFUN=1: one URC)
    s = st(ctx)
    cids = sorted({sock.cid for sock in s.sockets.values()} | s.activated)
    for cid in cids:
        ctx.urc(f'+QIURC: "pdpdeact",{cid}')
        pdp = ctx.state.pdp.get(cid)
        if pdp is not None:
            pdp.active = False
        for sock in [x for x in s.sockets.values() if x.cid == cid]:
            if transparent.transparent_closed(ctx, sock):
                _drop(ctx, sock)
                continue
            ctx.effect(CloseSocket(sock.conn_id, sock.gen))
            sock.state = CLOSING
    s.activated.clear()


def _table() -> CommandTable:
    return T.merged(data.T, transparent.T, cfg.T)


FEATURE = Feature("quectel_tcpip", _table(), init=_init, on_shutdown=_shutdown, stimuli={
    SocketOpened: _opened, SocketData: _data, SocketSent: _sent, SocketClosed: _closed,
    SocketIncoming: _incoming, NameResolved: cfg.resolved,
})

__all__ = ["FEATURE"]
