"""Quectel HTTP(S) client AT commands (BG96, EC800E): +QHTTPCFG, +QHTTPURL, +QHTTPGET,
+QHTTPPOST, +QHTTPPOSTFILE, +QHTTPREAD, +QHTTPREADFILE, +QHTTPSTOP.

Forms from the Quectel BG96 HTTP(S) AT Commands Manual V1.0:
``AT+QHTTPURL=<len>[,<timeout>]`` -> ``CONNECT`` -> exactly ``<len>`` URL bytes -> ``OK``
(``+CME ERROR: 711`` for a URL that is not http(s)://, 726 when the bytes do not come within
``<timeout>`` virtual seconds); ``AT+QHTTPGET[=<rsptime>]`` -> ``OK``, then
``+QHTTPGET: <err>[,<httprspcode>[,<content_length>]]``; with ``"requestheader",1``
``AT+QHTTPGET=<rsptime>,<data_length>[,<input_time>]`` / ``AT+QHTTPPOST=<len>,...`` take the whole
request after ``CONNECT``. ``AT+QHTTPREAD`` -> ``CONNECT`` body ``OK`` then ``+QHTTPREAD: 0``
(with ``"responseheader",1`` the status line and headers first); ``AT+QHTTPREADFILE="<file>"``
stores the body in the module's file system (``UFS:``/``RAM:``) and answers
``+QHTTPREADFILE: <err>``. ``<content_length>`` is left out when the server sent none.
``<rsptime>`` runs on the virtual clock: no answer in time is ``<err>`` 702.

ASSUMPTIONS (the manual is silent): a new URL, GET or POST while one is in flight answers
``+CME ERROR: 703`` (busy); a read with no response waiting answers 705; a response is read
once; ``AT+QHTTPPOSTFILE`` of a file that does not exist answers ``+CME ERROR: 405`` (the FILE
manual's "file not found"); an inactive PDP context (``"contextid"``) gives ``<err>`` 709.

Must not: do I/O; the request goes out as an :class:`HttpRequest` effect
(``emulator/net/http_client.py`` does it with h11).
"""

from __future__ import annotations

from typing import Callable
from urllib.parse import urlsplit

from ...at.commands import ArgError, AtCommand
from ...core.modem import Context
from ...core.results import CmeError
from ..profile import CommandTable, Feature, Prompt, Reply
from . import ts27007
from .bad_args import on_bad_args
from .quectel_http_effects import (BUSY, CONTENT_TYPES, EMPTY_URL, INPUT_TIMEOUT, INVALID_PARAM,
                                   NET_DEACTIVATED, NO_REQUEST, TIMEOUT, URL_ERROR, HttpCancel,
                                   HttpRequest, HttpResult, HttpState)

T = CommandTable("quectel_http")
CFG_RANGES = {"contextid": (1, 16), "requestheader": (0, 1), "responseheader": (0, 1),
              "sslctxid": (0, 5), "contenttype": (0, 3)}
USER_AGENT = "QUECTEL_MODULE"  # ASSUMPTION: what the module sends when it builds the request


def st(ctx: Context) -> HttpState:
    return ctx.state.http


http = on_bad_args(lambda ctx: Reply(final=CmeError(INVALID_PARAM)))  # bad arguments: +CME ERROR: 730


def _init(ctx: Context) -> None:
    ctx.state.http = HttpState()


def _shutdown(ctx: Context) -> None:
    s = st(ctx)
    if s.running:
        _stop(ctx)


def _stop(ctx: Context) -> None:
    s = st(ctx)
    if s.timer is not None:
        s.timer.cancel()
    if s.running:
        ctx.effect(HttpCancel(s.token))
    s.running, s.timer = "", None


# --- AT+QHTTPCFG ---------------------------------------------------------------------------
@T.set("+QHTTPCFG")
@http
def qhttpcfg_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(2)
    key = cmd.str(0).lower()
    if key not in CFG_RANGES:
        raise ArgError(f"unknown key {key!r}")
    s = st(ctx)
    if len(cmd) == 1:
        return Reply(lines=(f'+QHTTPCFG: "{key}",{s.cfg[key]}',))
    lo, hi = CFG_RANGES[key]
    s.cfg[key] = cmd.int(1, lo=lo, hi=hi)
    return Reply()


@T.test("+QHTTPCFG")
def qhttpcfg_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=tuple(f'+QHTTPCFG: "{k}",({lo}-{hi})' for k, (lo, hi) in CFG_RANGES.items()))


# --- AT+QHTTPURL ---------------------------------------------------------------------------
def _data_phase(ctx: Context, length: int, timeout: float, done: Callable[[bytes, Context], Reply]) -> Reply:
    """``CONNECT``, then exactly ``length`` bytes within ``timeout`` virtual seconds (726)."""
    timer = ctx.later(timeout, lambda c: c.abort_data(Reply(final=CmeError(INPUT_TIMEOUT))), "qhttp-input")

    def on_data(data: bytes, c: Context) -> Reply:
        timer.cancel()
        return done(data, c)
    return Reply(final=None, prompt=Prompt(on_data, length=length, echo=False, text=b"\r\nCONNECT\r\n"))


@T.set("+QHTTPURL")
@http
def qhttpurl_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(2)
    length = cmd.int(0, lo=1, hi=700)
    timeout = cmd.int(1, 60, lo=1, hi=65535)
    if st(ctx).running:
        return Reply(final=CmeError(BUSY))

    def done(data: bytes, c: Context) -> Reply:
        url = data.decode("latin-1")
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return Reply(final=CmeError(URL_ERROR))
        st(c).url = url
        return Reply()
    return _data_phase(ctx, length, float(timeout), done)


@T.read("+QHTTPURL")
def qhttpurl_read(cmd: AtCommand, ctx: Context) -> Reply:
    url = st(ctx).url
    return Reply(lines=(f'+QHTTPURL: "{url}"',) if url else ())


@T.test("+QHTTPURL")
def qhttpurl_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=("+QHTTPURL: (1-700),(1-65535)",))


# --- requests ------------------------------------------------------------------------------
def _target(url: str) -> tuple[str, int, bool, str]:
    parts = urlsplit(url)
    tls = parts.scheme.lower() == "https"
    port = parts.port or (443 if tls else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.hostname or "", port, tls, target


def _start(ctx: Context, kind: str, rsptime: int, *, method: str = "GET", body: bytes = b"",
           raw: bytes | None = None) -> Reply | None:
    """Send the request; None when it went out, else the failure URC as a Reply's ``after``."""
    s = st(ctx)
    urc = f"+QHTTP{kind}"
    cid = s.cfg["contextid"]
    pdp = ctx.state.pdp.get(cid) if hasattr(ctx.state, "pdp") else None
    if pdp is None or not pdp.active or not ctx.state.radio.registered:
        return Reply(after=(f"{urc}: {NET_DEACTIVATED}",))
    host, port, tls, target = _target(s.url)
    settings = None
    if tls:
        from .quectel_ssl import settings_for  # the SSL contexts (AT+QSSLCFG) of the TLS feature
        settings = settings_for(ctx, s.cfg["sslctxid"], host)
    headers: tuple[tuple[str, str], ...] = ()
    if raw is None:
        hostport = host if port == (443 if tls else 80) else f"{host}:{port}"
        headers = (("Host", hostport), ("Accept", "*/*"), ("User-Agent", USER_AGENT))
        if method == "POST":
            headers += (("Content-Type", CONTENT_TYPES[s.cfg["contenttype"]]),
                        ("Content-Length", str(len(body))))
    token = s.next_token()
    s.running, s.response = kind, None

    def expire(c: Context) -> None:
        if st(c).token == token and st(c).running:
            st(c).timer = None
            _stop(c)
            c.urc(f"{urc}: {TIMEOUT}")
    s.timer = ctx.later(float(rsptime), expire, "qhttp-rsptime")
    request = HttpRequest(token, host, port, method, target, headers, body, raw, settings, float(rsptime))
    # uplink traffic: RRC connects, a sleeping module wakes, the meter books the request's air time
    ts27007.rrc_activity(ctx, len(raw if raw is not None else body) + sum(len(k) + len(v) + 4 for k, v in headers))
    ctx.effect(request)
    return None


def _precheck(ctx: Context) -> Reply | None:
    s = st(ctx)
    if s.running:
        return Reply(final=CmeError(BUSY))
    if not s.url:
        return Reply(final=CmeError(EMPTY_URL))
    return None


@T.exec("+QHTTPGET")
@T.set("+QHTTPGET")
@http
def qhttpget_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(3)
    rsptime = cmd.int(0, 60, lo=1, hi=65535)
    bad = _precheck(ctx)
    if bad is not None:
        return bad
    if st(ctx).cfg["requestheader"]:
        length = cmd.int(1, lo=1, hi=2048)
        input_time = cmd.int(2, 60, lo=1, hi=65535)

        def done(data: bytes, c: Context) -> Reply:
            return _start(c, "GET", rsptime, raw=data) or Reply()
        return _data_phase(ctx, length, float(input_time), done)
    return _start(ctx, "GET", rsptime) or Reply()


@T.test("+QHTTPGET")
def qhttpget_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=("+QHTTPGET: (1-65535),(1-2048),(1-65535)",))


@T.set("+QHTTPPOST")
@http
def qhttppost_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(3)
    length = cmd.int(0, lo=1, hi=1024 * 1024)
    input_time = cmd.int(1, 60, lo=1, hi=65535)
    rsptime = cmd.int(2, 60, lo=1, hi=65535)
    bad = _precheck(ctx)
    if bad is not None:
        return bad
    raw_mode = bool(st(ctx).cfg["requestheader"])

    def done(data: bytes, c: Context) -> Reply:
        if raw_mode:
            return _start(c, "POST", rsptime, method="POST", raw=data) or Reply()
        return _start(c, "POST", rsptime, method="POST", body=data) or Reply()
    return _data_phase(ctx, length, float(input_time), done)


@T.test("+QHTTPPOST")
def qhttppost_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=("+QHTTPPOST: (1-1048576),(1-65535),(1-65535)",))


@T.set("+QHTTPPOSTFILE")
@http
def qhttppostfile_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(2)
    name = cmd.str(0, max_len=80)
    rsptime = cmd.int(1, 60, lo=1, hi=65535)
    bad = _precheck(ctx)
    if bad is not None:
        return bad
    data = _read_file(ctx, name)
    if data is None:
        return Reply(final=CmeError(405))
    raw_mode = bool(st(ctx).cfg["requestheader"])
    return _start(ctx, "POSTFILE", rsptime, method="POST", **({"raw": data} if raw_mode else {"body": data})) \
        or Reply()


def _read_file(ctx: Context, name: str) -> bytes | None:
    fs = getattr(ctx.state, "fs", None)
    if fs is None:
        return None
    try:
        drive, short = fs.split(name)
    except Exception:  # noqa: BLE001 - a bad name is a missing file
        return None
    data = drive.files.get(short)
    return bytes(data) if data is not None else None


# --- the response --------------------------------------------------------------------------
def _result(stim: HttpResult, ctx: Context) -> None:
    s = st(ctx)
    if stim.token != s.token or not s.running:
        return  # stopped, timed out or superseded
    kind = s.running
    if s.timer is not None:
        s.timer.cancel()
    s.running, s.timer = "", None
    if stim.err:
        ctx.urc(f"+QHTTP{kind}: {stim.err}")
        return
    s.response = stim
    ts27007.rrc_activity(ctx)  # the response came over the air
    tail = f",{stim.content_length}" if stim.content_length is not None else ""
    ctx.urc(f"+QHTTP{kind}: 0,{stim.status}{tail}")


def _payload(ctx: Context, rsp: HttpResult) -> bytes:
    if not st(ctx).cfg["responseheader"]:
        return rsp.body
    head = f"HTTP/{rsp.http_version} {rsp.status} {rsp.reason}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in rsp.headers) + "\r\n"
    return head.encode("latin-1") + rsp.body


@T.exec("+QHTTPREAD")
@T.set("+QHTTPREAD")
@http
def qhttpread_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(1)
    cmd.int(0, 60, lo=1, hi=65535)
    s = st(ctx)
    if s.running:
        return Reply(final=CmeError(BUSY))
    if s.response is None:
        return Reply(final=CmeError(NO_REQUEST))
    body = _payload(ctx, s.response)
    s.response = None
    return Reply(raw=b"\r\nCONNECT\r\n" + body, after=("+QHTTPREAD: 0",))


@T.test("+QHTTPREAD")
def qhttpread_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=("+QHTTPREAD: (1-65535)",))


@T.set("+QHTTPREADFILE")
@http
def qhttpreadfile_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(3)
    name = cmd.str(0, max_len=80)
    cmd.int(1, 60, lo=1, hi=65535)
    s = st(ctx)
    if s.running:
        return Reply(final=CmeError(BUSY))
    if s.response is None:
        return Reply(final=CmeError(NO_REQUEST))
    fs = getattr(ctx.state, "fs", None)
    if fs is None:
        return Reply(final=CmeError(INVALID_PARAM))
    from .quectel_file_store import FileError
    try:
        drive, short = fs.split(name)
    except FileError as exc:
        return Reply(final=CmeError(exc.code))
    if fs.is_open(drive, short):  # as AT+QFDEL: a file open by AT+QFOPEN is not replaced under its handle
        return Reply(after=("+QHTTPREADFILE: 426",))  # FILE manual 426: file already opened
    body = _payload(ctx, s.response)
    old = drive.files.get(short)
    if len(body) - (len(old) if old is not None else 0) > drive.free:
        return Reply(after=("+QHTTPREADFILE: 403",))  # FILE manual 403: the drive is full
    drive.files[short] = bytearray(body)
    fs.touched()
    s.response = None
    return Reply(after=("+QHTTPREADFILE: 0",))


@T.test("+QHTTPREADFILE")
def qhttpreadfile_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=('+QHTTPREADFILE: <filename>,(1-65535)',))


@T.exec("+QHTTPSTOP")
def qhttpstop_exec(cmd: AtCommand, ctx: Context) -> Reply:
    _stop(ctx)
    return Reply()


FEATURE = Feature("quectel_http", T, init=_init, on_shutdown=_shutdown, stimuli={HttpResult: _result})

__all__ = ["FEATURE"]
