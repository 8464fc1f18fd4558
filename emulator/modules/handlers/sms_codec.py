"""SMS TPDU glue (3GPP TS 23.040 / 23.038) over a real codec library.

Library choice: ``smspdudecoder`` (Qotto, MIT, maintained: 2.2.0 in 2025, typed, Python 3.11+).
It decodes SMS-SUBMIT and SMS-DELIVER (addresses incl. alphanumeric, UDH with concatenation
IEs, GSM 7-bit with the extension table, UCS2, 8-bit) and has public encoders for every
element (``GSM``/``UCS2`` codecs, ``Number``, ``TypeOfAddress``, ``Date`` = SCTS). No PyPI
library encodes SMS-DELIVER or SMS-STATUS-REPORT (python-gsmmodem-new's ``gsmmodem.pdu`` and
python-messaging encode SUBMIT only; python-gsmmodem-new's GSM table has a wrong 0x5F), so this
module only lays the library's encoded elements out in TS 23.040 §9.2.2 field order. The
tests cross-check every PDU made here with an independent decoder (python-gsmmodem-new).

Must not: know AT commands, storages or the network (sms_store.py, sms_*.py, net/smsc.py).
"""

from __future__ import annotations

import binascii
import functools
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from io import StringIO
from types import SimpleNamespace


@functools.cache
def _lib() -> SimpleNamespace:
    """smspdudecoder (and bitstring under it) cost ~25 ms to import: loaded when the first PDU is
    built or parsed, not when a modem boots."""
    from smspdudecoder.codecs import GSM
    from smspdudecoder.elements import Date, Number
    from smspdudecoder.fields import SMSDeliver, SMSSubmit
    return SimpleNamespace(GSM=GSM, Date=Date, Number=Number, SMSDeliver=SMSDeliver, SMSSubmit=SMSSubmit)


GSM7, BIT8, UCS2 = 0, 4, 8  # DCS values of the general coding group, no class
SINGLE = {GSM7: 160, BIT8: 140, UCS2: 70}  # chars (septets / octets / UCS2 chars) per SMS
PART = {GSM7: 153, BIT8: 134, UCS2: 67}  # per part after a 6-octet concatenation UDH


class PduError(ValueError):
    """The PDU cannot be decoded (bad hex, wrong length, wrong type)."""


# --- data coding scheme (TS 23.038 §4) -------------------------------------------------------
def alphabet(dcs: int) -> int:
    """GSM7, BIT8 or UCS2 for a TP-DCS octet."""
    if dcs & 0xC0 == 0x00 or dcs & 0xC0 == 0x40:  # general data coding (compressed treated as 8-bit)
        return {0: GSM7, 1: BIT8, 2: UCS2}.get((dcs >> 2) & 3, BIT8) if not dcs & 0x20 else BIT8
    if dcs & 0xF0 == 0xF0:  # data coding / message class
        return BIT8 if dcs & 0x04 else GSM7
    if dcs & 0xF0 == 0xE0:  # message waiting, UCS2
        return UCS2
    return GSM7


def message_class(dcs: int) -> int | None:
    if (dcs & 0xC0 in (0x00, 0x40) and dcs & 0x10) or dcs & 0xF0 == 0xF0:
        return dcs & 0x03
    return None


def gsm7_len(text: str) -> int:
    """Septets of ``text`` in the GSM 7-bit alphabet (extension chars take two); ValueError
    if a char has no GSM 7-bit code."""
    n = 0
    for ch in text:
        if ch in _lib().GSM.ALPHABET:
            n += 1
        elif ch in _lib().GSM.ALPHABET_EXT_INV:
            n += 2
        else:
            raise ValueError(f"{ch!r} has no GSM 7-bit code")
    return n


def fits_gsm7(text: str) -> bool:
    try:
        gsm7_len(text)
    except ValueError:
        return False
    return True


def split_text(text: str, alpha: int) -> list[str]:
    """One part if it fits one SMS, else parts for a concatenated SMS (an escape pair or a
    UTF-16 surrogate pair is never cut)."""
    size = gsm7_len(text) if alpha == GSM7 else len(text.encode("utf-16-be")) // 2
    if size <= SINGLE[alpha]:
        return [text]
    parts, cur, used = [], "", 0
    for ch in text:
        w = gsm7_len(ch) if alpha == GSM7 else len(ch.encode("utf-16-be")) // 2
        if used + w > PART[alpha]:
            parts.append(cur)
            cur, used = "", 0
        cur += ch
        used += w
    parts.append(cur)
    return parts


# --- addresses and time stamps ----------------------------------------------------------------
def toa_of(number: str) -> int:
    """Type of address as 27.005 prints it: 145 international ('+'), 129 otherwise."""
    return 145 if number.startswith("+") else 129


def encode_address(number: str, toa: int | None = None) -> bytes:
    """TP-OA/DA/RA (TS 23.040 §9.1.2.5): digit count, TOA, semi-octets (library ``Number``)."""
    digits = number.lstrip("+")
    if not digits or not all(c in "0123456789*#abcABC" for c in digits):
        raise PduError(f"address {number!r} is not a phone number")
    toa = toa if toa is not None else toa_of(number)
    return bytes((len(digits), toa)) + binascii.unhexlify(_lib().Number.encode(digits))


def encode_sca(number: str) -> bytes:
    """The SMSC address field in front of a TPDU (octet count incl. TOA; ``00`` = none)."""
    if not number:
        return b"\x00"
    digits = number.lstrip("+")
    body = bytes((toa_of(number),)) + binascii.unhexlify(_lib().Number.encode(digits))
    return bytes((len(body),)) + body


def scts(ts: float, tz: int = 0) -> bytes:
    """TP-SCTS (23.040 §9.2.3.11) for a virtual-clock time: the SMSC's local time in zone ``tz``
    (quarter hours, the network's zone as +CCLK shows it after NITZ) and that zone."""
    return binascii.unhexlify(_lib().Date.encode(datetime.fromtimestamp(ts, tz=timezone(timedelta(minutes=15 * tz)))))


def scts_time(octets: bytes) -> float:
    """UTC seconds of a TP-SCTS / TP-DT."""
    return _lib().Date.decode(octets.hex()).timestamp()


def scts_zone(octets: bytes) -> int:
    """The zone of a TP-SCTS / TP-DT in quarter hours (its 7th octet: swapped BCD, bit 3 of the
    first semi-octet the sign, 23.040 §9.2.3.11)."""
    b = octets[6]
    swapped = ((b & 0x0F) << 4) | (b >> 4)
    quarters = (swapped >> 4 & 0x7) * 10 + (swapped & 0x0F)
    return -quarters if swapped & 0x80 else quarters


# --- user data ---------------------------------------------------------------------------------
def concat_udh(ref: int, total: int, seq: int) -> bytes:
    """UDH with one concatenation IE (8-bit reference, TS 23.040 §9.2.3.24.1), incl. UDHL."""
    return bytes((5, 0x00, 3, ref & 0xFF, total, seq))


def pack_user_data(payload: str | bytes, alpha: int, udh: bytes = b"") -> tuple[int, bytes]:
    """(TP-UDL, TP-UD) for ``payload`` after ``udh`` (UDHL included; b"" = none). GSM 7-bit
    text starts on the septet boundary after the UDH: the library packs fill septets ('@',
    all zero bits) that the UDH octets then overwrite, which leaves exactly the fill bits."""
    if alpha == GSM7:
        assert isinstance(payload, str)
        fill = math.ceil(len(udh) * 8 / 7)
        packed = binascii.unhexlify(_lib().GSM.encode("@" * fill + payload)) if fill or payload else b""
        return fill + gsm7_len(payload), udh + packed[len(udh):]
    data = payload.encode("utf-16-be") if isinstance(payload, str) else payload
    return len(udh) + len(data), udh + data


# --- TPDUs --------------------------------------------------------------------------------------
def encode_deliver(oa: str, ts: float, *, dcs: int, udl: int, ud: bytes, udhi: bool = False,
                   pid: int = 0, sri: bool = False, oa_toa: int | None = None, tz: int = 0) -> bytes:
    """SMS-DELIVER (TS 23.040 §9.2.2.1) from already packed user data."""
    fo = 0x00 | 0x04 | (0x40 if udhi else 0) | (0x20 if sri else 0)  # MTI 00, TP-MMS (no more)
    return bytes((fo,)) + encode_address(oa, oa_toa) + bytes((pid, dcs)) + scts(ts, tz) + bytes((udl,)) + ud


def deliver_text(oa: str, text: str, ts: float, ref: int = 0, tz: int = 0) -> list[bytes]:
    """SMS-DELIVER TPDUs for ``text``: GSM 7-bit if it fits, else UCS2; split with a
    concatenation UDH when it is longer than one SMS."""
    alpha = GSM7 if fits_gsm7(text) else UCS2
    parts = split_text(text, alpha)
    out = []
    for i, part in enumerate(parts, 1):
        udh = concat_udh(ref, len(parts), i) if len(parts) > 1 else b""
        udl, ud = pack_user_data(part, alpha, udh)
        out.append(encode_deliver(oa, ts, dcs=alpha, udl=udl, ud=ud, udhi=bool(udh), tz=tz))
    return out


def encode_status_report(mr: int, ra: str, submitted: float, done: float, status: int = 0,
                         tz: int = 0) -> bytes:
    """SMS-STATUS-REPORT (TS 23.040 §9.2.2.3): MTI 10, TP-MMS set, no parameter indicator."""
    return bytes((0x06, mr & 0xFF)) + encode_address(ra) + scts(submitted, tz) + scts(done, tz) + bytes((status,))


@dataclass
class Sms:
    """A decoded TPDU. ``kind`` is deliver / submit / status; ``number`` the OA, DA or RA."""

    kind: str
    fo: int
    number: str
    toa: int
    pid: int = 0
    dcs: int = 0
    mr: int = 0
    ts: float | None = None  # SCTS (deliver, status), UTC seconds
    discharge: float | None = None  # status report TP-DT, UTC seconds
    tz: int = 0  # the SCTS's zone, quarter hours (printed as the SMSC stamped it)
    discharge_tz: int = 0
    status: int = 0
    vp: int | None = None  # relative TP-VP (submit)
    udl: int = 0
    ud: bytes = b""  # TP-UD as sent (UDH included when udhi)
    text: str = ""
    concat: tuple[int, int, int] | None = None  # (ref, total, seq)
    udh: bytes = b""


    @property
    def udhi(self) -> bool:
        return bool(self.fo & 0x40)

    @property
    def srr(self) -> bool:
        """SUBMIT: status report requested (TP-SRR); DELIVER: TP-SRI."""
        return bool(self.fo & 0x20)

    @property
    def alpha(self) -> int:
        return alphabet(self.dcs)

def _address_end(tpdu: bytes, at: int) -> int:
    digits = tpdu[at]
    return at + 2 + (digits + 1) // 2


def decode(tpdu: bytes) -> Sms:
    """Decode an SMS-SUBMIT, SMS-DELIVER or SMS-STATUS-REPORT TPDU (no SMSC field)."""
    try:
        return _decode(tpdu)
    except PduError:
        raise
    except (ValueError, IndexError, KeyError, TypeError, AssertionError, binascii.Error) as exc:
        raise PduError(f"undecodable TPDU: {exc}") from None
    except Exception as exc:  # bitstring raises its own errors on short input
        raise PduError(f"undecodable TPDU: {exc}") from None


def _concat(d: dict) -> tuple[int, int, int] | None:
    """(reference, parts, this part) from the library's decoded UDH, if it has that IE."""
    for el in (d["user_data"].get("header") or {}).get("elements", ()):
        if el["iei"] in (0x00, 0x08):
            c = el["data"]
            return (c["reference"], c["parts_count"], c["part_number"])
    return None


def _decode(tpdu: bytes) -> Sms:
    if not tpdu:
        raise PduError("empty TPDU")
    mti = tpdu[0] & 0x03
    hexs = "00" + tpdu.hex().upper()  # the library reads the SMSC field first
    if mti == 0x01:
        d = _lib().SMSSubmit.decode(StringIO(hexs))
        a_end = _address_end(tpdu, 2)
        pid, dcs = tpdu[a_end], tpdu[a_end + 1]
        vpf = (tpdu[0] >> 3) & 3
        pos = a_end + 2 + {0: 0, 2: 1, 1: 7, 3: 7}[vpf]
        sms = Sms("submit", tpdu[0], _number(d["recipient"]), tpdu[3], pid=pid, dcs=dcs, mr=tpdu[1],
                  vp=tpdu[a_end + 2] if vpf == 2 else None)
    elif mti == 0x00:
        d = _lib().SMSDeliver.decode(StringIO(hexs))
        a_end = _address_end(tpdu, 1)
        pid, dcs = tpdu[a_end], tpdu[a_end + 1]
        pos = a_end + 2 + 7
        sms = Sms("deliver", tpdu[0], _number(d["sender"]), tpdu[2], pid=pid, dcs=dcs,
                  ts=scts_time(tpdu[a_end + 2:a_end + 9]), tz=scts_zone(tpdu[a_end + 2:a_end + 9]))
    elif mti == 0x02:
        a_end = _address_end(tpdu, 2)
        if len(tpdu) < a_end + 15:
            raise PduError("short status report")
        toa = tpdu[3]
        ra = _lib().Number.decode(tpdu[4:a_end].hex())
        return Sms("status", tpdu[0], ("+" if toa == 145 else "") + ra, toa, mr=tpdu[1],
                   ts=scts_time(tpdu[a_end:a_end + 7]), discharge=scts_time(tpdu[a_end + 7:a_end + 14]),
                   tz=scts_zone(tpdu[a_end:a_end + 7]), discharge_tz=scts_zone(tpdu[a_end + 7:a_end + 14]),
                   status=tpdu[a_end + 14])
    else:
        raise PduError("reserved message type")
    udl = tpdu[pos]
    ud = tpdu[pos + 1:]
    alpha = alphabet(dcs)
    need = math.ceil(udl * 7 / 8) if alpha == GSM7 else udl
    if len(ud) != need:
        raise PduError(f"user data is {len(ud)} octets, TP-UDL says {need}")
    sms.udl, sms.ud = udl, ud
    if sms.udhi:
        if not ud or ud[0] + 1 > len(ud):
            raise PduError("bad user data header")
        sms.udh = ud[:ud[0] + 1]
    sms.concat = _concat(d)
    if alpha == GSM7:
        sms.text = _gsm_text(ud, len(sms.udh), udl)
    if alpha == UCS2:
        sms.text = ud[len(sms.udh):].decode("utf-16-be", "replace")
    elif alpha == BIT8:
        sms.text = ud[len(sms.udh):].decode("latin-1")
    return sms


def _gsm_text(ud: bytes, udh_len: int, udl: int) -> str:
    """The GSM 7-bit text of TP-UD. The library's own user-data decoder cuts the decoded string
    at TP-UDL characters, not septets, so an extension char (two septets) lets the spare
    septet of the last octet through as '@'. Here the library decodes the septets (the UDH
    zeroed, so it and the fill bits read as '@', one per septet) and we keep exactly the
    UDL - fill septets that follow."""
    fill = math.ceil(udh_len * 8 / 7)
    chars = _lib().GSM.decode((bytes(udh_len) + ud[udh_len:]).hex())[fill:]
    out, used, want = [], 0, udl - fill
    for ch in chars:
        used += 2 if ch in _lib().GSM.ALPHABET_EXT_INV and ch not in _lib().GSM.ALPHABET else 1
        if used > want:
            break
        out.append(ch)
    return "".join(out)


def _number(addr: dict) -> str:
    num = addr["number"]
    return ("+" + num) if addr["toa"]["ton"] == "international" else num


def vp_seconds(vp: int) -> float:
    """A relative TP-VP in seconds (TS 23.040 §9.2.3.12.1)."""
    if vp <= 143:
        return (vp + 1) * 300.0
    if vp <= 167:
        return 43200.0 + (vp - 143) * 1800.0
    if vp <= 196:
        return (vp - 166) * 86400.0
    return (vp - 192) * 7 * 86400.0


def split_sca(pdu: bytes) -> tuple[str, bytes]:
    """(SMSC number or "", TPDU) of a PDU as AT PDU mode carries it (SMSC field first)."""
    if not pdu:
        raise PduError("empty PDU")
    n = pdu[0]
    if n == 0:
        return "", pdu[1:]
    if n > 11 or len(pdu) < n + 2:
        raise PduError("bad SMSC address field")
    toa, digits = pdu[1], _lib().Number.decode(pdu[2:1 + n].hex())
    return ("+" if toa == 145 else "") + digits, pdu[1 + n:]


def unhex(text: str) -> bytes:
    try:
        return binascii.unhexlify(text.strip())
    except (binascii.Error, ValueError):
        raise PduError("not hex") from None


def submit_to_deliver(sub: Sms, oa: str, ts: float, tz: int = 0) -> bytes:
    """What the SMSC hands the recipient for a submitted TPDU: the same user data (and UDH),
    PID and DCS, from the sender's number, stamped in zone ``tz``."""
    return encode_deliver(oa, ts, dcs=sub.dcs, udl=sub.udl, ud=sub.ud, udhi=sub.udhi, pid=sub.pid, tz=tz)


def encode_submit(da: str, *, fo: int, mr: int, pid: int, dcs: int, vp: int | None,
                  udl: int, ud: bytes, da_toa: int | None = None) -> bytes:
    """SMS-SUBMIT (TS 23.040 §9.2.2.2) from packed user data; TP-VP only with a relative VPF."""
    fo = (fo & ~0x03) | 0x01
    vpf = (fo >> 3) & 3
    if vpf == 2:
        vp_octets = bytes((vp if vp is not None else 167,))
    else:
        fo &= ~0x18  # absolute/enhanced VP formats are not offered in text mode: none
        vp_octets = b""
    if not da:
        addr = bytes((0, da_toa or 129))
    else:
        addr = encode_address(da, da_toa)
    return bytes((fo, mr & 0xFF)) + addr + bytes((pid, dcs)) + vp_octets + bytes((udl,)) + ud
