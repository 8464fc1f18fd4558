"""How a stored or arriving SMS is printed: +CMGR, +CMGL entries, +CMT and +CDS, text and PDU mode.

Formats: 3GPP TS 27.005 §3.4.3 (+CMGR/+CMGL), §3.4.1 (+CMT/+CDS), the Quectel SMS chapter
(Quectel LTE-Standard AT Commands Manual ch. 9; 3GPP TS 27.005): text mode with ``AT+CSDH=0`` prints ``+CMGR: "REC UNREAD","+8615021012496",,"13/12/13,15:06:37+32"``
and the body on its own line; ``AT+CSDH=1`` adds ``<tooa>,<fo>,<pid>,<dcs>,<sca>,<tosca>,<length>``.
PDU mode: ``+CMGR: <stat>,,<length>`` then the SMSC field + TPDU in hex (length = TPDU octets).
Text-mode data of 8-bit or UCS2 messages, or with a user data header, is printed as hex pairs
(27.005 §3.1 <data>); with ``AT+CSCS="UCS2"`` numbers and GSM text are hex UCS2 too.

Must not: change state (marking read is the caller's job) or know commands.
"""

from __future__ import annotations

from . import sms_codec as codec
from .ts27007_time import stamp
from .sms_store import STAT_TEXT, Stored


def charset(ctx_state) -> str:
    return getattr(ctx_state, "cscs", "GSM")


def addr(number: str, cs: str) -> str:
    return number.encode("utf-16-be").hex().upper() if cs == "UCS2" else number


def data(sms: codec.Sms, cs: str) -> str:
    """<data> in text mode."""
    if sms.udhi or sms.alpha != codec.GSM7:
        return sms.ud.hex().upper()
    if cs == "UCS2":
        return sms.text.encode("utf-16-be").hex().upper()
    return sms.text


def length(sms: codec.Sms) -> int:
    """<length> in text mode: characters (GSM 7-bit) or octets of the user data."""
    if sms.alpha == codec.GSM7 and not sms.udhi:
        return len(sms.text)
    return len(sms.ud) if sms.alpha != codec.GSM7 else sms.udl


def pdu_hex(msg: Stored) -> str:
    return (codec.encode_sca(msg.sca) + msg.tpdu).hex().upper()


def _stat(stat: int, text_mode: bool) -> str:
    return f'"{STAT_TEXT[stat]}"' if text_mode else str(stat)


def _sca(msg: Stored, cs: str) -> str:
    return f'"{addr(msg.sca, cs)}",{codec.toa_of(msg.sca)}'


def cmgr(msg: Stored, *, text_mode: bool, csdh: int, cs: str) -> tuple[str, ...]:
    """The lines of ``AT+CMGR`` for one stored message."""
    if not text_mode:
        return (f"+CMGR: {msg.stat},,{len(msg.tpdu)}", pdu_hex(msg))
    sms = codec.decode(msg.tpdu)
    stat = _stat(msg.stat, True)
    if sms.kind == "status":
        return (f"+CMGR: {stat},{_status_fields(sms, cs)}",)
    num = f'"{addr(sms.number, cs)}"'
    if sms.kind == "deliver":
        head = f'+CMGR: {stat},{num},,"{stamp(sms.ts or 0, sms.tz)}"'
        if csdh:
            head += f",{sms.toa},{sms.fo},{sms.pid},{sms.dcs},{_sca(msg, cs)},{length(sms)}"
    else:
        head = f"+CMGR: {stat},{num},"
        if csdh:
            vp = "" if sms.vp is None else str(sms.vp)
            head += f",{sms.toa},{sms.fo},{sms.pid},{sms.dcs},{vp},{_sca(msg, cs)},{length(sms)}"
    return (head, data(sms, cs))


def cmgl(index: int, msg: Stored, *, text_mode: bool, csdh: int, cs: str) -> tuple[str, ...]:
    """The lines of one ``AT+CMGL`` entry."""
    if not text_mode:
        return (f"+CMGL: {index},{msg.stat},,{len(msg.tpdu)}", pdu_hex(msg))
    sms = codec.decode(msg.tpdu)
    stat = _stat(msg.stat, True)
    if sms.kind == "status":
        return (f"+CMGL: {index},{stat},{_status_fields(sms, cs)}",)
    ts = f'"{stamp(sms.ts, sms.tz)}"' if sms.kind == "deliver" and sms.ts is not None else ""
    head = f'+CMGL: {index},{stat},"{addr(sms.number, cs)}",,{ts}'
    if csdh:
        head += f",{sms.toa},{length(sms)}"
    return (head, data(sms, cs))


def _status_fields(sms: codec.Sms, cs: str) -> str:
    return (f'{sms.fo},{sms.mr},"{addr(sms.number, cs)}",{sms.toa},"{stamp(sms.ts or 0, sms.tz)}",'
            f'"{stamp(sms.discharge or 0, sms.discharge_tz)}",{sms.status}')


def cmt(msg: Stored, *, text_mode: bool, csdh: int, cs: str) -> str:
    """``+CMT`` URC (header and data on two lines of one URC)."""
    if not text_mode:
        return f"+CMT: ,{len(msg.tpdu)}\r\n{pdu_hex(msg)}"
    sms = codec.decode(msg.tpdu)
    head = f'+CMT: "{addr(sms.number, cs)}",,"{stamp(sms.ts or 0, sms.tz)}"'
    if csdh:
        head += f",{sms.toa},{sms.fo},{sms.pid},{sms.dcs},{_sca(msg, cs)},{length(sms)}"
    return f"{head}\r\n{data(sms, cs)}"


def cds(msg: Stored, *, text_mode: bool, cs: str) -> str:
    """``+CDS`` URC: text ``+CDS: <fo>,<mr>,"<ra>",<tora>,"<scts>","<dt>",<st>``, PDU
    ``+CDS: <length>`` and the PDU."""
    if not text_mode:
        return f"+CDS: {len(msg.tpdu)}\r\n{pdu_hex(msg)}"
    return f"+CDS: {_status_fields(codec.decode(msg.tpdu), cs)}"
