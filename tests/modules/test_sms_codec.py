"""The TPDU glue (handlers/sms_codec.py): round trips at every length and split point, checked
against an independent decoder (python-gsmmodem-new's ``gsmmodem.pdu``, a real host driver's)."""

from __future__ import annotations

import pytest
from gsmmodem.pdu import decodeSmsPdu, encodeSmsSubmitPdu
from hypothesis import example, given, settings
from hypothesis import strategies as hs
from smspdudecoder.codecs import GSM

from emulator.modules.handlers import sms_codec as codec
from emulator.modules.handlers.ts27007_time import stamp

T0 = 1_700_000_000.0
# gsmmodem's GSM table has '`' where 23.038 has '§' at 0x5F: keep that char out of cross-checks
GSM_CHARS = "".join(c for c in GSM.ALPHABET if c not in "§\x1b") + "".join(GSM.ALPHABET_EXT_INV)
gsm_text = hs.text(alphabet=GSM_CHARS, max_size=500)
any_text = hs.text(alphabet=hs.characters(min_codepoint=0x20, max_codepoint=0xFFFF,
                                          blacklist_categories=("Cs",)), min_size=1, max_size=300)
driver_text = any_text.filter(lambda t: "\xff" not in t)  # gsmmodem's encodeGsm7 crashes on U+00FF
numbers = hs.from_regex(r"\+?[1-9][0-9]{3,14}", fullmatch=True)


@settings(max_examples=150, deadline=None)
@given(text=hs.one_of(gsm_text, any_text), oa=numbers, ref=hs.integers(0, 255))
@example(text="000000000000000@", oa="1000", ref=0)  # 16 septets ending in '@' (found by hypothesis)
@example(text="A" * 153 + "0" * 8 + "@", oa="1000", ref=7)  # a second part of 7 + 9 septets
def test_deliver_round_trip_and_independent_decode(text: str, oa: str, ref: int) -> None:
    parts = codec.deliver_text(oa, text, T0, ref)
    decoded = [codec.decode(p) for p in parts]
    assert "".join(d.text for d in decoded) == text
    assert all(d.kind == "deliver" and d.number == oa and d.ts == T0 for d in decoded)
    if len(parts) > 1:
        assert [d.concat for d in decoded] == [(ref, len(parts), i) for i in range(1, len(parts) + 1)]
    for p in parts:
        assert len(p) <= 176  # TS 23.040: an SMS-DELIVER fits 176 octets with a 12-digit OA
        other = decodeSmsPdu("00" + p.hex())  # python-gsmmodem-new as a host would read it
        assert other["type"] == "SMS-DELIVER" and other["number"] == oa
    if codec.fits_gsm7(text) and not set(text) & {"§", "\x0c"}:  # gsmmodem's table lacks these two
        theirs = [decodeSmsPdu("00" + p.hex())["text"] for p in parts]
        ours = [d.text for d in decoded]
        # gsmmodem's unpackSeptets counts octets, not the UDL: a last septet of 0 ('@') that ends
        # a full 7-octet group is read as padding and dropped ("if b:" at its end, pdu.py).
        assert theirs == [t[:-1] if _gsmmodem_drops_last_at(p, t) else t for p, t in zip(parts, ours)]


def _gsmmodem_drops_last_at(pdu: bytes, text: str) -> bool:
    septets = pdu[pdu_udl_offset(pdu)]
    return text.endswith("@") and septets % 8 == 0


def pdu_udl_offset(pdu: bytes) -> int:
    """Offset of the UDL octet in an SMS-DELIVER TPDU (no SMSC field): FO, OA, PID, DCS, SCTS."""
    oa_digits = pdu[1]
    return 1 + 2 + (oa_digits + 1) // 2 + 1 + 1 + 7


@settings(max_examples=100, deadline=None)
@given(text=hs.one_of(gsm_text.filter(lambda t: t), driver_text), da=numbers, mr=hs.integers(0, 255))
def test_submit_from_a_real_driver_decodes(text: str, da: str, mr: int) -> None:
    parts = encodeSmsSubmitPdu(da, text, reference=mr, requestStatusReport=True)
    got = []
    for pdu in parts:
        sca, tpdu = codec.split_sca(bytes(pdu.data))
        assert sca == "" and len(tpdu) == pdu.tpduLength
        sms = codec.decode(tpdu)
        assert sms.kind == "submit" and sms.number == da and sms.mr == mr and sms.srr
        got.append(sms.text)
        again = codec.decode(codec.submit_to_deliver(sms, "+8210123", T0))  # the SMSC forwards it
        assert again.text == sms.text and again.concat == sms.concat
    if not set(text) & {"§", "`", "\x0c"}:
        assert "".join(got) == text


@given(hs.binary(max_size=200))
def test_garbage_is_a_pdu_error_never_a_crash(raw: bytes) -> None:
    try:
        codec.decode(raw)
    except codec.PduError:
        pass


@pytest.mark.parametrize("text,expected", [
    ("a" * 160, 1), ("a" * 161, 2), ("€" * 80, 1), ("€" * 81, 2), ("a" * 152 + "€", 1), ("a" * 152 + "€" + "a" * 7, 2), ("中" * 70, 1), ("中" * 71, 2),
])
def test_split_points(text: str, expected: int) -> None:
    parts = codec.deliver_text("+1234", text, T0)
    assert len(parts) == expected
    assert "".join(codec.decode(p).text for p in parts) == text
    if text.startswith("a" * 152 + "€a"):  # the escape pair is never cut: € opens part 2
        assert codec.decode(parts[1]).text.startswith("€")


def test_status_report_fields() -> None:
    tpdu = codec.encode_status_report(7, "+821055512345", T0, T0 + 5, 0)
    other = decodeSmsPdu("00" + tpdu.hex())
    assert other["type"] == "SMS-STATUS-REPORT" and other["reference"] == 7 and other["status"] == 0
    assert other["number"] == "+821055512345"
    assert other["discharge"].timestamp() - other["time"].timestamp() == 5
    assert stamp(T0, 0) == "23/11/14,22:13:20+00"


@pytest.mark.parametrize("tz", [0, 36, 32, -20, -48, 56])
def test_scts_carries_the_zone(tz: int) -> None:
    """TP-SCTS is local time + zone (23.040 §9.2.3.11): an independent decoder (python-gsmmodem-new)
    reads the same instant back, and the zone survives our decode (fails when SCTS is UTC+00)."""
    tpdu = codec.deliver_text("+821055512345", "hi", T0, tz=tz)[0]
    other = decodeSmsPdu("00" + tpdu.hex())
    assert other["time"].timestamp() == T0
    assert other["time"].utcoffset().total_seconds() == tz * 15 * 60
    d = codec.decode(tpdu)
    assert (d.ts, d.tz) == (T0, tz)
    sr = codec.decode(codec.encode_status_report(1, "+821055512345", T0, T0 + 5, 0, tz=tz))
    assert (sr.tz, sr.discharge_tz, sr.discharge) == (tz, tz, T0 + 5)
