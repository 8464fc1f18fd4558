"""Sending and writing SMS: +CMGS, +CMGW, +CMSS (27.005 §3.5.1-§3.5.3), text and PDU mode.

``AT+CMGS="<da>"[,<toda>]`` (text) or ``AT+CMGS=<length>`` (PDU) opens the ``\\r\\n> `` prompt;
Ctrl+Z sends, ESC aborts with ``OK`` and nothing sent (Quectel LTE-Standard AT Commands Manual ch. 9; 3GPP TS 27.005). In text mode a CR
typed inside the body is echoed as a new ``\\r\\n> `` prompt. PDU mode: hex of SMSC field +
TPDU, ``<length>`` = TPDU octets only (a wrong length or an undecodable PDU is
``+CMS ERROR: 304``); a ``00`` SMSC field means the ``+CSCA`` number (none: 330). Text mode
builds the SMS-SUBMIT from ``+CSMP`` (fo, vp, pid, dcs) and ``+CSCS``; a body the alphabet
cannot carry or longer than one SMS is ``+CMS ERROR: 305``. The module sets TP-MR itself
(a counter 0-255) and answers ``+CMGS: <mr>``; the SMSC (``emulator/net/smsc.py``) gets
an :class:`SmsSubmit` effect. Not registered: ``+CMS ERROR: 331``.

Must not: route messages (net/smsc.py) or print stored messages (sms_read.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...at.commands import ArgError, AtCommand
from ...core.events import Effect
from ...core.modem import Context
from ..profile import CommandTable, Prompt, Reply
from . import sms_codec as codec
from . import ts27007
from .sms_store import (BAD_INDEX, BAD_PDU_PARAM, BAD_TEXT_PARAM, MEMORY_FULL, NO_SERVICE,
                        NOT_ALLOWED, SMSC_UNKNOWN, STAT_TEXT, STO_SENT, STO_UNSENT, Stored, cms,
                        own_number, st)

T = CommandTable("sms_send")
MAX_PDU = 164  # TPDU octets of the longest SMS-SUBMIT (TS 23.040 §9.2.2.2)


@dataclass(frozen=True)
class SmsSubmit(Effect):
    """An MO SMS handed to the network: ``tpdu`` is the SMS-SUBMIT (TP-MR set by the module)."""

    sender: str
    sca: str
    tpdu: bytes
    mr: int
    ts: float


@dataclass(frozen=True)
class SmsReady(Effect):
    """The module is up (boot): the network may send the SMS it kept while the module was off
    (the SMSC's "alert SC" on the subscriber's return, TS 23.040 §10.3)."""


def _text_mode(ctx: Context) -> bool:
    return st(ctx).cmgf == 1


def _param_error(ctx: Context) -> Reply:
    return Reply(final=cms(BAD_TEXT_PARAM if _text_mode(ctx) else BAD_PDU_PARAM))


def sms_command(fn):
    """Bad arguments: ``+CMS ERROR: 305`` in text mode, ``304`` in PDU mode."""
    def wrapper(cmd: AtCommand, ctx: Context) -> Reply:
        try:
            return fn(cmd, ctx)
        except ArgError:
            return _param_error(ctx)
    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def text_submit(ctx: Context, da: str, toda: int | None, body: bytes) -> bytes:
    """The SMS-SUBMIT for a text-mode body (``+CSMP`` values, ``+CSCS`` charset); raises
    ValueError when the body does not fit."""
    s = st(ctx)
    fo, vp, pid, dcs = s.csmp
    alpha = codec.alphabet(dcs)
    cs = getattr(ctx.state, "cscs", "GSM")
    if alpha == codec.GSM7:
        if cs == "UCS2":
            text = bytes.fromhex(body.decode("ascii")).decode("utf-16-be")
        else:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = body.decode("latin-1")
        if codec.gsm7_len(text) > codec.SINGLE[codec.GSM7]:
            raise ValueError("longer than one SMS")
        udl, ud = codec.pack_user_data(text, codec.GSM7)
    else:  # 8-bit / UCS2 data: hex pairs (27.005 §3.1 <data>)
        ud = bytes.fromhex(body.decode("ascii"))
        if len(ud) > 140 or (alpha == codec.UCS2 and len(ud) % 2):
            raise ValueError("bad length")
        udl = len(ud)
    return codec.encode_submit(da, fo=fo & ~0x40, mr=0, pid=pid, dcs=dcs, vp=vp, udl=udl, ud=ud,
                               da_toa=toda)


def pdu_submit(ctx: Context, length: int, body: bytes) -> tuple[str, bytes]:
    """(SMSC, TPDU) of a PDU-mode body; raises codec.PduError."""
    sca, tpdu = codec.split_sca(codec.unhex(body.decode("ascii", "replace")))
    if len(tpdu) != length:
        raise codec.PduError(f"TPDU is {len(tpdu)} octets, not {length}")
    sms = codec.decode(tpdu)
    if sms.kind != "submit":
        raise codec.PduError("not an SMS-SUBMIT")
    return sca, tpdu


def address_arg(cmd: AtCommand, ctx: Context, at: int = 0, *,
                toda: bool = True) -> tuple[str, int | None]:
    """The destination address argument ``at`` (and the <toda> after it, if ``toda``)."""
    da = cmd.str(at, max_len=40)
    if getattr(ctx.state, "cscs", "GSM") == "UCS2":
        try:
            da = bytes.fromhex(da).decode("utf-16-be")
        except ValueError:
            raise ArgError("bad UCS2 address") from None
    if not da.lstrip("+") or not all(c in "0123456789*#" for c in da.lstrip("+")):
        raise ArgError("bad address")
    return da, (cmd.int(at + 1, lo=128, hi=255) if toda and cmd.has(at + 1) else None)


def submit(ctx: Context, sca: str, tpdu: bytes) -> int | Reply:
    """Hand a SUBMIT to the network: its TP-MR, or the error reply."""
    s = st(ctx)
    sca = sca or s.csca[0]
    if not sca:
        return Reply(final=cms(SMSC_UNKNOWN))
    if not ctx.state.radio.registered:
        return Reply(final=cms(NO_SERVICE))
    mr = s.next_mr()
    tpdu = tpdu[:1] + bytes((mr,)) + tpdu[2:]
    ts27007.rrc_activity(ctx, len(tpdu))
    ctx.effect(SmsSubmit(own_number(ctx.defaults, ctx.identity.imsi), sca, tpdu, mr, ctx.clock.now()))
    return mr


def body_prompt(ctx: Context, on_body, text_mode: bool) -> Reply:
    """The ``\r\n> `` prompt for a message body: Ctrl+Z sends, ESC answers OK with nothing
    sent, too long is 304/305; in text mode each CR opens a new prompt line."""
    return Reply(final=None, prompt=Prompt(on_body, limit=2 * MAX_PDU + 40 if not text_mode else 700,
                                           on_cancel=lambda c: Reply(),
                                           on_too_long=lambda c: _param_error(c),
                                           cr_echo=b"\r\n> " if text_mode else b""))


@T.set("+CMGS")
@sms_command
def cmgs_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(2)
    if _text_mode(ctx):
        da, toda = address_arg(cmd, ctx)

        def on_text(body: bytes, c: Context) -> Reply:
            try:
                tpdu = text_submit(c, da, toda, body)
            except (ValueError, codec.PduError):
                return Reply(final=cms(BAD_TEXT_PARAM))
            return _sent(c, "", tpdu, "+CMGS")
        return body_prompt(ctx, on_text, True)
    length = cmd.int(0, lo=1, hi=MAX_PDU)

    def on_pdu(body: bytes, c: Context) -> Reply:
        try:
            sca, tpdu = pdu_submit(c, length, body)
        except codec.PduError:
            return Reply(final=cms(BAD_PDU_PARAM))
        return _sent(c, sca, tpdu, "+CMGS")
    return body_prompt(ctx, on_pdu, False)


def _sent(ctx: Context, sca: str, tpdu: bytes, name: str) -> Reply:
    mr = submit(ctx, sca, tpdu)
    return mr if isinstance(mr, Reply) else Reply(lines=(f"{name}: {mr}",))


def _stat_arg(cmd: AtCommand, ctx: Context, index: int) -> int:
    if not cmd.has(index):
        return STO_UNSENT
    if _text_mode(ctx):
        stat = STAT_TEXT.index(cmd.str(index, choices=STAT_TEXT[:4]))
    else:
        stat = cmd.int(index, lo=0, hi=3)
    return stat


@T.exec("+CMGW")
@T.set("+CMGW")
@sms_command
def cmgw(cmd: AtCommand, ctx: Context) -> Reply:
    s = st(ctx)
    mem = s.mem(s.cpms[1])
    if _text_mode(ctx):
        cmd.max_args(3)
        da, toda = address_arg(cmd, ctx) if cmd.has(0) else ("", None)
        stat = _stat_arg(cmd, ctx, 2)

        def on_text(body: bytes, c: Context) -> Reply:
            try:
                tpdu = text_submit(c, da, toda, body)
            except (ValueError, codec.PduError):
                return Reply(final=cms(BAD_TEXT_PARAM))
            return _store(c, mem, Stored(stat, tpdu, "submit", st(c).csca[0]))
        return body_prompt(ctx, on_text, True)
    cmd.max_args(2)
    length = cmd.int(0, lo=1, hi=MAX_PDU)
    stat = _stat_arg(cmd, ctx, 1)

    def on_pdu(body: bytes, c: Context) -> Reply:
        try:
            sca, tpdu = codec.split_sca(codec.unhex(body.decode("ascii", "replace")))
            if len(tpdu) != length:
                raise codec.PduError("length")
            kind = codec.decode(tpdu).kind
        except codec.PduError:
            return Reply(final=cms(BAD_PDU_PARAM))
        return _store(c, mem, Stored(stat, tpdu, kind, sca or st(c).csca[0]))
    return body_prompt(ctx, on_pdu, False)


def _store(ctx: Context, mem, msg: Stored) -> Reply:
    index = mem.add(msg)
    if index is None:
        return Reply(final=cms(MEMORY_FULL))
    return Reply(lines=(f"+CMGW: {index}",))


@T.set("+CMSS")
@sms_command
def cmss_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(3)
    s = st(ctx)
    mem = s.mem(s.cpms[1])
    index = cmd.int(0)
    msg = mem.slots.get(index)
    if msg is None:
        return Reply(final=cms(BAD_INDEX))
    if msg.kind != "submit":
        return Reply(final=cms(NOT_ALLOWED))
    tpdu = msg.tpdu
    if cmd.has(1):  # a new destination replaces the stored one (27.005 §3.5.2)
        da, toda = address_arg(cmd, ctx, 1)
        sms = codec.decode(tpdu)
        tpdu = codec.encode_submit(da, fo=sms.fo, mr=0, pid=sms.pid, dcs=sms.dcs, vp=sms.vp,
                                   udl=sms.udl, ud=sms.ud, da_toa=toda)
    elif not codec.decode(tpdu).number:
        return Reply(final=cms(BAD_TEXT_PARAM if _text_mode(ctx) else BAD_PDU_PARAM))
    mr = submit(ctx, msg.sca, tpdu)
    if isinstance(mr, Reply):
        return mr
    msg.stat = STO_SENT
    return Reply(lines=(f"+CMSS: {mr}",))
