"""Quectel TLS sockets (``AT+QSSL*``, BG96 and EC800E): SSL contexts, open, state, close.

Formats [doc: Quectel BG96 SSL AT Commands Manual V1.0 ch. 2; real units: a public EG800K SSL test report, RAKWireless RAK5010 (BG96) AT dumps]:
``AT+QSSLCFG="<key>",<ctx>[,<value>]`` (query prints ``+QSSLCFG: "<key>",<ctx>,<value>``; the
cipher suite as ``0XFFFF``), ``AT+QSSLOPEN=<pdp>,<ctx>,<client>,"<host>",<port>[,<mode>]``
-> ``OK`` then ``+QSSLOPEN: <client>,<err>`` (0, or 566 for any connect, handshake or
certificate failure: a unit with seclevel 1 and no CA file, or a CA that did not sign the
server, answers 566 [dev S5]), ``AT+QSSLSTATE`` -> ``+QSSLSTATE: <client>,"SSLClient",
"<host>",<rport>,0,<state>,<pdp>,<client>,<mode>,"<port>",<ctx>`` (local port 0, as units print),
``AT+QSSLCLOSE=<client>[,<timeout>]`` -> ``OK``. Send/receive and the URCs are
``quectel_ssl_data.py``. The open runs through the fake internet with Python's ssl module
(``emulator/net/tls_sockets.py``); certificate files are read from the module's file system
(``AT+QFUPL``) when the connection opens. Settings are not kept over a reboot (units: "sni"
back to 0 after a restart [dev S5]).

Access mode 2 (transparent: ``CONNECT`` / ``ERROR``, ``+++``, ``ATO``) is
``quectel_ssl_transparent.py``. Deviations (README "Quectel TLS"): the handshake
is bounded by ``negotiatetime`` (virtual seconds) and ends in 566; "checkhost" also sends the
name as SNI (Python's ssl ties the two); AT+QIGETERROR is not touched [dev S5].

Must not: do I/O; every network action is an effect.
"""

from __future__ import annotations

from ...at.commands import ArgError, AtCommand
from ...core.modem import Context
from ...core.results import CONNECT, ERROR
from ..profile import CommandTable, Feature, Pending, Reply
from . import quectel_ssl_data as data
from . import quectel_ssl_transparent as transparent
from .quectel_common import urc_port
from .quectel_ssl_effects import (ALL_SUITES, CLOSING, CONNECTED, OPENING, SUITES, TRANSPARENT, SslClient,
                                  SslState, TlsClose, TlsClosed, TlsData, TlsOpen, TlsOpened, TlsSent,
                                  TlsSettings)

T = CommandTable("quectel_ssl")
CFG_TEST = ('"sslversion",(0-5),(0-4)',
            '"ciphersuite",(0-5),(0X0035,0X002F,0X0005,0X0004,0X000A,0X003D,0XC011,0XC012,0XC013,0XC014,'
            '0XC027,0XC028,0XC02F,0XFFFF)',
            '"cacert",(0-5),<cacertpath>', '"clientcert",(0-5),<client_cert_path>',
            '"clientkey",(0-5),<client_key_path>', '"seclevel",(0-5),(0-2)', '"sni",(0-5),(0,1)',
            '"checkhost",(0-5),(0,1)', '"ignorecertchain",(0-5),(0,1)', '"ignorelocaltime",(0-5),(0,1)',
            '"negotiatetime",(0-5),(10-300)')
RANGES = {"sslversion": (0, 4), "seclevel": (0, 2), "sni": (0, 1), "ignorecertchain": (0, 1),
          "ignorelocaltime": (0, 1), "negotiatetime": (10, 300)}
PATHS = ("cacert", "clientcert", "clientkey")
MAX_CLIENTS = 12  # clientID 0-11


def st(ctx: Context) -> SslState:
    return ctx.state.ssl


def _init(ctx: Context) -> None:
    ctx.state.ssl = SslState(gen=ctx.nvm.get("ssl_gen", 0))
    ctx.state.radio_hooks = [*getattr(ctx.state, "radio_hooks", []), _radio_changed]


def _radio_changed(ctx: Context, event: str) -> None:
    """Coverage or functionality lost: the TLS connections die with the PDP context (AT+QI*
    prints ``+QIURC: "pdpdeact",<cid>``). As for AT+QI sockets, a connected client goes to state
    4 (closing) until AT+QSSLCLOSE; one in transparent mode ends with NO CARRIER."""
    if ctx.state.radio.registered:
        return
    s = st(ctx)
    for client in [c for c in s.clients.values() if c.state == CONNECTED]:
        ctx.effect(TlsClose(client.client_id, client.gen))
        if transparent.closed(ctx, client):
            del s.clients[client.client_id]
        else:
            client.state = CLOSING


def _shutdown(ctx: Context) -> None:
    s = st(ctx)
    if s.transparent is not None:
        s.transparent.drop_timers()
    for client in s.clients.values():
        ctx.effect(TlsClose(client.client_id, client.gen))
    ctx.nvm["ssl_gen"] = s.gen  # late answers of old connections stay recognisable


# --- AT+QSSLCFG -------------------------------------------------------------------------------
def _show(key: str, value: object) -> str:
    if key == "ciphersuite":
        return f"0X{int(value):04X}"  # type: ignore[call-overload]
    if key in PATHS or (key == "checkhost" and isinstance(value, str)):
        return f'"{value}"'
    return str(value)


@T.set("+QSSLCFG")
def qsslcfg_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(3)
    keys = ("sslversion", "ciphersuite", *PATHS, "seclevel", "sni", "checkhost", "ignorecertchain",
            "ignorelocaltime", "negotiatetime")
    key = cmd.str(0, choices=keys)
    idx = cmd.int(1, lo=0, hi=5)
    values = st(ctx).contexts[idx].values
    if not cmd.has(2):
        return Reply(lines=(f'+QSSLCFG: "{key}",{idx},{_show(key, values[key])}',))
    if key == "ciphersuite":
        text = cmd.str(2).strip().upper().removeprefix("0X")
        if not text or not _is_hex(text):
            raise ArgError("cipher suite is not hex")
        suite = int(text, 16)
        if suite != ALL_SUITES and suite not in SUITES:
            raise ArgError("unknown cipher suite")
        values[key] = suite
    elif key in PATHS:
        values[key] = cmd.str(2, max_len=80)
    elif key == "checkhost" and cmd.quoted(2):  # mbed-os sends the host name here (ARMmbed/mbed-os QUECTEL_BG96)
        values[key] = cmd.str(2, max_len=150)
    elif key == "checkhost":
        values[key] = cmd.int(2, lo=0, hi=1)
    else:
        lo, hi = RANGES[key]
        values[key] = cmd.int(2, lo=lo, hi=hi)
    return Reply()


def _is_hex(text: str) -> bool:
    return all(c in "0123456789ABCDEF" for c in text)


@T.test("+QSSLCFG")
def qsslcfg_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=tuple(f"+QSSLCFG: {line}" for line in CFG_TEST))


def settings_for(ctx: Context, idx: int, host: str) -> TlsSettings:
    """The TLS settings of SSL context ``idx`` with its files' bytes (MQTT uses this too)."""
    values = st(ctx).contexts[idx].values
    files: dict[str, bytes | None] = {}
    missing = ""
    fs = getattr(ctx.state, "fs", None)
    for key in PATHS:
        name = values[key]
        content = None
        if name and fs is not None:
            try:
                drive, short = fs.split(name)
                stored = drive.files.get(short)
                content = bytes(stored) if stored is not None else None
            except Exception:  # noqa: BLE001 - a bad name is a missing file
                content = None
        files[key] = content
        needed = values["seclevel"] >= (1 if key == "cacert" else 2)
        if needed and content is None and not missing:
            missing = name or key
    check = values["checkhost"]
    checkhost = (check if isinstance(check, str) else host if check else "")
    return TlsSettings(sslversion=values["sslversion"], ciphersuite=values["ciphersuite"],
                       seclevel=values["seclevel"], sni=bool(values["sni"]), checkhost=checkhost,
                       ignorelocaltime=bool(values["ignorelocaltime"]),
                       local_time=ctx.clock.now() + getattr(getattr(ctx.state, "time", None), "rtc_offset", 0.0),
                       ignorecertchain=bool(values["ignorecertchain"]),
                       negotiatetime=values["negotiatetime"], missing=missing, **files)


# --- AT+QSSLOPEN ------------------------------------------------------------------------------
@T.set("+QSSLOPEN")
def qsslopen_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(6)
    pdp_id = cmd.int(0, lo=1, hi=16)
    idx = cmd.int(1, lo=0, hi=5)
    cid = cmd.int(2, lo=0, hi=MAX_CLIENTS - 1)
    host = cmd.str(3, max_len=150)
    port = cmd.int(4, lo=1, hi=65535)
    access = cmd.int(5, 0, lo=0, hi=2)
    if not host:
        raise ArgError("empty host")
    s = st(ctx)
    raw_mode = access == TRANSPARENT  # CONNECT or ERROR instead of OK + URC (as AT+QIOPEN)
    if cid in s.clients:
        return Reply(final=ERROR) if raw_mode else Reply(after=(f"+QSSLOPEN: {cid},563",))
    pdp = ctx.state.pdp.get(pdp_id)
    if pdp is None or not pdp.active:
        return Reply(final=ERROR) if raw_mode else Reply(after=(f"+QSSLOPEN: {cid},561",))
    settings = settings_for(ctx, idx, host)
    if settings.missing:  # seclevel 1/2 without the files: the handshake cannot verify [dev S5]
        return Reply(final=ERROR) if raw_mode else Reply(after=(f"+QSSLOPEN: {cid},566",))
    client = SslClient(cid, pdp_id, idx, host, port, access, s.next_gen())
    s.clients[cid] = client
    effect = TlsOpen(cid, client.gen, host, port, settings)
    if not raw_mode:
        return Reply(effects=(effect,))

    def on_timeout(c: Context) -> Reply:  # the executor's own bound ends first; a safety net
        if st(c).clients.get(cid) is client:
            del st(c).clients[cid]
            c.effect(TlsClose(cid, client.gen))
        return Reply(final=ERROR)
    return Reply(final=None, effects=(effect,),
                 pending=Pending(f"qsslopen:{cid}", settings.negotiatetime + 5.0, on_timeout))


def _live(ctx: Context, cid: int, gen: int) -> SslClient | None:
    client = st(ctx).clients.get(cid)
    return client if client is not None and client.gen == gen else None


def _opened(stim: TlsOpened, ctx: Context) -> None:
    client = _live(ctx, stim.client_id, stim.gen)
    if client is None or client.state != OPENING:
        if not stim.err:
            ctx.effect(TlsClose(stim.client_id, stim.gen))  # closed meanwhile
        return
    if stim.err:
        del st(ctx).clients[client.client_id]  # a failed open frees the clientID (as AT+QIOPEN)
    else:
        client.state = CONNECTED
    if client.access == TRANSPARENT:
        if not stim.err:
            transparent.enter(ctx, client)
        ctx.finish(f"qsslopen:{client.client_id}", Reply(final=ERROR if stim.err else CONNECT))
        return
    ctx.urc(f"+QSSLOPEN: {client.client_id},{stim.err}")


def _closed(stim: TlsClosed, ctx: Context) -> None:
    client = _live(ctx, stim.client_id, stim.gen)
    if client is not None and client.state == CONNECTED:
        if transparent.closed(ctx, client):
            del st(ctx).clients[client.client_id]  # NO CARRIER ends it
            return
        client.state = CLOSING  # the host must AT+QSSLCLOSE
        ctx.urc(f'+QSSLURC: "closed",{client.client_id}')


# --- AT+QSSLSTATE / AT+QSSLCLOSE --------------------------------------------------------------
def _state_line(ctx: Context, c: SslClient) -> str:
    port = urc_port(ctx) if hasattr(ctx.state, "qcfg") else "uart1"
    return (f'+QSSLSTATE: {c.client_id},"SSLClient","{c.host}",{c.port},0,{c.state},{c.pdp},'
            f'{c.client_id},{c.access},"{port}",{c.ssl_ctx}')


@T.exec("+QSSLSTATE")
@T.read("+QSSLSTATE")
def qsslstate_exec(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=tuple(_state_line(ctx, c) for _, c in sorted(st(ctx).clients.items())))


@T.set("+QSSLSTATE")
def qsslstate_set(cmd: AtCommand, ctx: Context) -> Reply:
    """``=<clientID>`` (SSL manual) or ``=1,<clientID>`` (as AT+QISTATE; TinyGSM sends it)."""
    cmd.max_args(2)
    cid = cmd.int(len(cmd) - 1, lo=0, hi=MAX_CLIENTS - 1)
    if len(cmd) == 2 and cmd.int(0, lo=1, hi=1) != 1:
        raise ArgError("query type")
    client = st(ctx).clients.get(cid)
    return Reply(lines=(_state_line(ctx, client),) if client else ())


@T.set("+QSSLCLOSE")
def qsslclose_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(2)
    cid = cmd.int(0, lo=0, hi=MAX_CLIENTS - 1)
    cmd.int(1, 10, lo=0, hi=65535)
    client = st(ctx).clients.pop(cid, None)
    if client is not None:
        ctx.effect(TlsClose(cid, client.gen))
    if st(ctx).escaped_id == cid:
        st(ctx).escaped_id = None
    return Reply()


@T.test("+QSSLOPEN")
def qsslopen_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=('+QSSLOPEN: (1-16),(0-5),(0-11),"<serveraddr>",(1-65535),(0-2)',))


@T.test("+QSSLSTATE")
def qsslstate_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply()


@T.test("+QSSLCLOSE")
def qsslclose_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=("+QSSLCLOSE: (0-11),(0-65535)",))


T.exec("O")(transparent.ato_exec)  # ATO: back to a TLS client left with +++ (else AT+QI's ATO)

FEATURE = Feature("quectel_ssl", T.merged(data.T), init=_init, on_shutdown=_shutdown, stimuli={
    TlsOpened: _opened, TlsData: data.received, TlsSent: data.sent, TlsClosed: _closed,
})

__all__ = ["FEATURE", "settings_for"]
