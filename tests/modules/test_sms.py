"""The SMS feature alone (sans-IO Modem), byte-exact: settings, storages, send/write/read/list/
delete in text and PDU mode, +CNMI routing and buffering, +CNMA, +CMS ERROR codes, on every module.
MT messages are fed as the stimulus the SMSC sends; MO ones are taken from the effect."""

from __future__ import annotations

import pytest
from gsmmodem.pdu import decodeSmsPdu, encodeSmsSubmitPdu
from hypothesis import given, settings
from hypothesis import strategies as hs
from smspdudecoder.codecs import GSM

from emulator.modules import load_module
from emulator.modules.handlers import sms_codec as codec
from emulator.modules.handlers.ts27007_time import stamp as scts_stamp
from emulator.modules.handlers.sms_urc import SmsIncoming
from emulator.testing.sms_rig import OA, SmsBench as Bench

MODULES = ["bg96", "ec800e", "wm-n400mse", "amm5918k"]


@pytest.fixture(params=MODULES)
def b(request) -> Bench:
    return Bench(request.param)


def test_settings_answers(b: Bench) -> None:
    assert b.at("AT+CSMS=?") == b"\r\n+CSMS: (0,1)\r\n\r\nOK\r\n"
    assert b.at("AT+CSMS?") == b"\r\n+CSMS: 0,1,1,1\r\n\r\nOK\r\n"
    assert b.at("AT+CSMS=1") == b"\r\n+CSMS: 1,1,1\r\n\r\nOK\r\n"
    assert b.at("AT+CMGF?") == b"\r\n+CMGF: 0\r\n\r\nOK\r\n"
    assert b.at("AT+CMGF=?") == b"\r\n+CMGF: (0,1)\r\n\r\nOK\r\n"
    assert b.at("AT+CMGF=2") == b"\r\nERROR\r\n"
    assert b.at("AT+CSMP?") == b"\r\n+CSMP: 17,167,0,0\r\n\r\nOK\r\n"
    assert b.at("AT+CSMP=49,167,0,8") == b"\r\nOK\r\n"
    assert b.at("AT+CSMP?") == b"\r\n+CSMP: 49,167,0,8\r\n\r\nOK\r\n"
    assert b.at("AT+CSDH=?") == b"\r\n+CSDH: (0,1)\r\n\r\nOK\r\n"
    assert b.at("AT+CSDH=1") == b"\r\nOK\r\n" and b.at("AT+CSDH?") == b"\r\n+CSDH: 1\r\n\r\nOK\r\n"
    assert b.at("AT+CSCB?") == b'\r\n+CSCB: 0,"",""\r\n\r\nOK\r\n'
    assert b.at('AT+CSCB=0,"0,1,5,320-478,922"') == b"\r\nOK\r\n"
    assert b.at("AT+CSCB?") == b'\r\n+CSCB: 0,"0,1,5,320-478,922",""\r\n\r\nOK\r\n'
    assert b.at("AT+CNMI=?") == b"\r\n+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)\r\n\r\nOK\r\n"
    assert b.at("AT+CNMI?") == b"\r\n+CNMI: 2,1,0,0,0\r\n\r\nOK\r\n"
    assert b.at("AT+CNMI=1,2,0,1,0") == b"\r\nOK\r\n"
    assert b.at("AT+CNMI?") == b"\r\n+CNMI: 1,2,0,1,0\r\n\r\nOK\r\n"
    assert b.at("AT+CNMI=2,1,1") == b"\r\n+CMS ERROR: 302\r\n"
    assert b.at("AT+CMMS=?") == b"\r\n+CMMS: (0-2)\r\n\r\nOK\r\n"
    assert b.at("AT+CMMS=1") == b"\r\nOK\r\n" and b.at("AT+CMMS?") == b"\r\n+CMMS: 1\r\n\r\nOK\r\n"
    assert b.at("AT+CMMS=3") == b"\r\nERROR\r\n"


def test_csca(b: Bench) -> None:
    assert b.at("AT+CSCA=?") == b"\r\nOK\r\n"
    assert b.at('AT+CSCA="+8613800210500"') == b"\r\nOK\r\n"
    assert b.at("AT+CSCA?") == b'\r\n+CSCA: "+8613800210500",145\r\n\r\nOK\r\n'
    assert b.at('AT+CSCA="13800210500",129') == b"\r\nOK\r\n"
    assert b.at("AT+CSCA?") == b'\r\n+CSCA: "13800210500",129\r\n\r\nOK\r\n'
    assert b.at('AT+CSCS="UCS2"') == b"\r\nOK\r\n"
    assert b.at("AT+CSCA?") == b'\r\n+CSCA: "00310033003800300030003200310030003500300030",129\r\n\r\nOK\r\n'
    assert b.at('AT+CSCA="abc"') == b"\r\nERROR\r\n"


def test_cpms(b: Bench) -> None:
    assert b.at("AT+CPMS=?") == (b'\r\n+CPMS: ("SM","ME","MT","SR"),("SM","ME","MT"),("SM","ME","MT")'
                                 b"\r\n\r\nOK\r\n")
    me = b.me
    assert b.at("AT+CPMS?") == f'\r\n+CPMS: "ME",0,{me},"ME",0,{me},"ME",0,{me}\r\n\r\nOK\r\n'.encode()
    assert b.at('AT+CPMS="SM","SM","SM"') == b"\r\n+CPMS: 0,50,0,50,0,50\r\n\r\nOK\r\n"
    b.mt()
    assert b.at("AT+CPMS?") == b'\r\n+CPMS: "SM",1,50,"SM",1,50,"SM",1,50\r\n\r\nOK\r\n'
    assert b.at('AT+CPMS="XX"') == b"\r\n+CMS ERROR: 302\r\n"
    assert b.at('AT+CPMS="SM","SR"') == b"\r\n+CMS ERROR: 302\r\n"


def test_mt_store_and_read_text_and_pdu(b: Bench) -> None:
    now = b.modem.clock.now()
    assert b.mt("Hello") == f'\r\n+CMTI: "ME",{b.base}\r\n'.encode()
    b.at("AT+CMGF=1")
    stamp = scts_stamp(now, 0)
    assert b.at(f"AT+CMGR={b.base}") == (f'\r\n+CMGR: "REC UNREAD","{OA}",,"{stamp}"\r\nHello\r\n'
                                         "\r\nOK\r\n").encode()
    b.at("AT+CSDH=1")
    assert b.at(f"AT+CMGR={b.base}") == (f'\r\n+CMGR: "REC READ","{OA}",,"{stamp}",145,4,0,0,'
                                         f'"+821091000000",145,5\r\nHello\r\n\r\nOK\r\n').encode()
    b.at("AT+CMGF=0")
    out = b.at(f"AT+CMGR={b.base}").split(b"\r\n")
    assert out[1] == b"+CMGR: 1,,24"  # fo, OA (2 + 6), PID, DCS, SCTS (7), UDL, 5 octets of text
    d = decodeSmsPdu(out[2].decode())  # python-gsmmodem-new reads what its regex would match
    assert (d["smsc"], d["number"], d["text"], d["tpdu_length"]) == ("+821091000000", OA, "Hello", 24)
    assert b.at(f"AT+CMGR={b.base + 5}") == b"\r\n+CMS ERROR: 321\r\n"
    assert b.at("AT+CMGR=999") == b"\r\n+CMS ERROR: 321\r\n"


def test_cmgl_and_cmgd(b: Bench) -> None:
    i = b.base
    b.mt("one")
    b.mt("two")
    b.at("AT+CMGF=1")
    b.at(f"AT+CMGR={i}")
    stamp = scts_stamp(b.modem.clock.now(), 0)
    assert b.at("AT+CMGL") == f'\r\n+CMGL: {i + 1},"REC UNREAD","{OA}",,"{stamp}"\r\ntwo\r\n\r\nOK\r\n'.encode()
    assert b.at('AT+CMGL="REC UNREAD"') == b"\r\nOK\r\n"  # listing read it
    assert b.at('AT+CMGL="ALL"').count(b"+CMGL:") == 2
    assert b.at('AT+CMGL="BOGUS"') == b"\r\n+CMS ERROR: 305\r\n"
    b.at("AT+CMGF=0")
    out = b.at("AT+CMGL=4").split(b"\r\n")
    assert out[1] == f"+CMGL: {i},1,,22".encode() and out[3] == f"+CMGL: {i + 1},1,,22".encode()
    assert decodeSmsPdu(out[4].decode())["text"] == "two"
    assert b.at("AT+CMGD=?") == f"\r\n+CMGD: ({i},{i + 1}),(0-4)\r\n\r\nOK\r\n".encode()
    assert b.at(f"AT+CMGD={i}") == b"\r\nOK\r\n"
    assert b.at("AT+CMGD=999") == b"\r\n+CMS ERROR: 321\r\n"
    assert b.at(f"AT+CMGD={i},4") == b"\r\nOK\r\n"
    assert b.at("AT+CMGD=?") == b"\r\n+CMGD: (),(0-4)\r\n\r\nOK\r\n"


def test_cmgs_text_mode(b: Bench) -> None:
    b.at("AT+CMGF=1")
    assert b.at('AT+CMGS="+821055512345"') == b"\r\n> "
    assert b.feed(b"Hi\r") == b"\r\n> "  # a CR in the body opens a new prompt line
    assert b.feed(b"there\x1a") == b"\r\n+CMGS: 0\r\n\r\nOK\r\n"
    sub = codec.decode(b.sent[-1].tpdu)
    assert (sub.number, sub.text, sub.mr, sub.fo, sub.vp) == ("+821055512345", "Hi\rthere", 0, 0x11, 167)
    assert b.at('AT+CMGS="01055512345",129') == b"\r\n> "
    assert b.feed(b"x\x1a") == b"\r\n+CMGS: 1\r\n\r\nOK\r\n"
    assert codec.decode(b.sent[-1].tpdu).toa == 129
    # ESC: OK, nothing sent
    assert b.at('AT+CMGS="+821055512345"') == b"\r\n> "
    assert b.feed(b"never\x1b") == b"\r\nOK\r\n" and len(b.sent) == 2
    # too long for one SMS, or a char GSM 7-bit cannot carry
    b.at('AT+CMGS="+821055512345"')
    assert b.feed(b"a" * 161 + b"\x1a") == b"\r\n+CMS ERROR: 305\r\n"
    b.at('AT+CMGS="+821055512345"')
    assert b.feed("中".encode() + b"\x1a") == b"\r\n+CMS ERROR: 305\r\n"
    assert b.at('AT+CMGS="abc"') == b"\r\n+CMS ERROR: 305\r\n"
    # UCS2 data coding: the body is hex (TinyGSM's UTF-16 path)
    b.at("AT+CSMP=17,167,0,8")
    b.at('AT+CMGS="+821055512345"')
    assert b.feed("中文".encode("utf-16-be").hex().encode() + b"\x1a") == b"\r\n+CMGS: 2\r\n\r\nOK\r\n"
    assert codec.decode(b.sent[-1].tpdu).text == "中文"
    assert len(b.sent) == 3


def test_cmgs_pdu_mode_with_a_real_driver_pdu(b: Bench) -> None:
    pdu = encodeSmsSubmitPdu("+821055512345", "from gsmmodem", reference=0, requestStatusReport=False)[0]
    assert b.at(f"AT+CMGS={pdu.tpduLength}") == b"\r\n> "
    assert b.feed(str(pdu).encode() + b"\x1a") == b"\r\n+CMGS: 0\r\n\r\nOK\r\n"
    assert codec.decode(b.sent[-1].tpdu).text == "from gsmmodem"
    assert b.sent[-1].sca == b.modem.state.sms.csca[0] != ""  # 00 SMSC field: the +CSCA number
    assert b.at(f"AT+CMGS={pdu.tpduLength + 1}") == b"\r\n> "
    assert b.feed(str(pdu).encode() + b"\x1a") == b"\r\n+CMS ERROR: 304\r\n"  # length counts TPDU octets
    b.at(f"AT+CMGS={pdu.tpduLength}")
    assert b.feed(b"ZZ" * pdu.tpduLength + b"\x1a") == b"\r\n+CMS ERROR: 304\r\n"
    assert b.at("AT+CMGS=0") == b"\r\n+CMS ERROR: 304\r\n"
    b.at('AT+CSCA=""')
    b.at(f"AT+CMGS={pdu.tpduLength}")
    assert b.feed(str(pdu).encode() + b"\x1a") == b"\r\n+CMS ERROR: 330\r\n"
    assert len(b.sent) == 1


def test_cmgw_cmss(b: Bench) -> None:
    i = b.base
    b.at("AT+CMGF=1")
    assert b.at('AT+CMGW="+821055512345"') == b"\r\n> "
    assert b.feed(b"draft\x1a") == f"\r\n+CMGW: {i}\r\n\r\nOK\r\n".encode()
    assert b.at(f"AT+CMGR={i}") == b'\r\n+CMGR: "STO UNSENT","+821055512345",\r\ndraft\r\n\r\nOK\r\n'
    assert b.at(f"AT+CMSS={i}") == b"\r\n+CMSS: 0\r\n\r\nOK\r\n"
    assert b.at(f"AT+CMGR={i}").startswith(b'\r\n+CMGR: "STO SENT"')
    assert b.at(f'AT+CMSS={i},"+821077776666"') == b"\r\n+CMSS: 1\r\n\r\nOK\r\n"
    assert [codec.decode(s.tpdu).number for s in b.sent] == ["+821055512345", "+821077776666"]
    assert b.at(f"AT+CMSS={i + 7}") == b"\r\n+CMS ERROR: 321\r\n"
    b.mt("incoming")
    assert b.at(f"AT+CMSS={i + 1}") == b"\r\n+CMS ERROR: 302\r\n"  # a received message is not sent
    b.at("AT+CMGF=0")
    tpdu = codec.encode_submit("+8210", fo=0x11, mr=0, pid=0, dcs=0, vp=167,
                               udl=2, ud=codec.pack_user_data("ok", codec.GSM7)[1])
    assert b.at(f"AT+CMGW={len(tpdu)},3") == b"\r\n> "
    assert b.feed(b"00" + tpdu.hex().encode() + b"\x1a") == f"\r\n+CMGW: {i + 2}\r\n\r\nOK\r\n".encode()
    assert b.at(f"AT+CMGR={i + 2}").startswith(f"\r\n+CMGR: 3,,{len(tpdu)}\r\n".encode())


def test_cmt_direct_and_cnma(b: Bench) -> None:
    b.at("AT+CMGF=1")
    b.at("AT+CNMI=2,2,0,0,0")
    stamp = scts_stamp(b.modem.clock.now(), 0)
    assert b.mt("direct") == f'\r\n+CMT: "{OA}",,"{stamp}"\r\ndirect\r\n'.encode()
    assert b.at("AT+CPMS?").startswith(b'\r\n+CPMS: "ME",0,')  # not stored
    assert b.at("AT+CNMA") == b"\r\n+CMS ERROR: 340\r\n"  # +CSMS 0: no ack expected
    b.at("AT+CSMS=1")
    b.mt("acked")
    assert b.at("AT+CNMA") == b"\r\nOK\r\n"
    assert b.at("AT+CNMA") == b"\r\n+CMS ERROR: 340\r\n"
    b.at("AT+CMGF=0")
    out = b.mt("pdu").split(b"\r\n")
    assert out[1].startswith(b"+CMT: ,") and decodeSmsPdu(out[2].decode())["text"] == "pdu"
    assert b.at("AT+CNMA=0") == b"\r\nOK\r\n"


def test_class2_is_stored_even_with_mt2(b: Bench) -> None:
    b.at("AT+CNMI=2,2")
    udl, ud = codec.pack_user_data("sim", codec.GSM7)
    tpdu = codec.encode_deliver(OA, b.modem.clock.now(), dcs=0x12, udl=udl, ud=ud)  # class 2
    assert b.mt(tpdu=tpdu) == f'\r\n+CMTI: "ME",{b.base}\r\n'.encode()


def test_cnmi_mode0_buffers_then_flushes(b: Bench) -> None:
    b.at("AT+CNMI=0,1")
    assert b.mt("a") == b"" and b.mt("c") == b""
    assert b.at("AT+CNMI=2,1,0,0,0") == (f'\r\nOK\r\n\r\n+CMTI: "ME",{b.base}\r\n'
                                         f'\r\n+CMTI: "ME",{b.base + 1}\r\n').encode()
    b.at("AT+CNMI=0,1")
    b.mt("d")
    assert b.at("AT+CNMI=2,1,0,0,1") == b"\r\nOK\r\n"  # bfr 1: cleared
    assert b.at("AT+CNMI=0,0") == b"\r\nOK\r\n" and b.mt("e") == b""
    assert b.at("AT+CNMI=2,1,0,0,0") == b"\r\nOK\r\n"  # mt 0: stored, never indicated


def test_status_reports(b: Bench) -> None:
    now = b.modem.clock.now()
    report = codec.encode_status_report(5, "+821055512345", now, now + 3, 0)
    b.at("AT+CMGF=1")
    assert b.mt(tpdu=report) == b""  # ds 0
    b.at("AT+CNMI=2,1,0,1,0")
    t0, t1 = scts_stamp(now, 0), scts_stamp(now + 3, 0)
    assert b.mt(tpdu=report) == f'\r\n+CDS: 6,5,"+821055512345",145,"{t0}","{t1}",0\r\n'.encode()
    b.at("AT+CNMI=2,1,0,2,0")
    assert b.mt(tpdu=report) == b'\r\n+CDSI: "SR",' + str(b.base).encode() + b"\r\n"
    b.at('AT+CPMS="SR"')
    assert b.at(f"AT+CMGR={b.base}") == (f'\r\n+CMGR: "REC UNREAD",6,5,"+821055512345",145,"{t0}","{t1}",0'
                                         "\r\n\r\nOK\r\n").encode()
    b.at("AT+CMGF=0")
    b.at("AT+CNMI=2,1,0,1,0")
    out = b.mt(tpdu=report).split(b"\r\n")
    assert out[1] == f"+CDS: {len(report)}".encode()
    assert decodeSmsPdu(out[2].decode())["type"] == "SMS-STATUS-REPORT"


def test_not_registered_and_full_memory(b: Bench) -> None:
    from emulator.core.stimuli import NetworkDetach
    b.at("AT+CMGF=1")
    b.modem.receive_stimulus(NetworkDetach())
    b._collect()
    b.at('AT+CMGS="+821055512345"')
    assert b.feed(b"x\x1a") == b"\r\n+CMS ERROR: 331\r\n"
    b.at('AT+CPMS="SM","SM","SM"')
    for _ in range(50):
        b.at('AT+CMGW="+8210"')
        b.feed(b"x\x1a")
    b.at('AT+CMGW="+8210"')
    assert b.feed(b"x\x1a") == b"\r\n+CMS ERROR: 322\r\n"


def test_messages_survive_a_reboot_settings_do_not(b: Bench) -> None:
    b.mt("kept")
    b.at("AT+CMGF=1")
    b.modem.reboot(delay=0)
    b._collect()
    b.at("ATE0")
    assert b.at("AT+CMGF?") == b"\r\n+CMGF: 0\r\n\r\nOK\r\n"
    assert b.at("AT+CPMS?").startswith(f'\r\n+CPMS: "ME",1,{b.me}'.encode())


def test_cms_error_stops_a_concatenated_line(b: Bench) -> None:
    assert b.at("AT+CMGR=999;+CMGF=1") == b"\r\n+CMS ERROR: 321\r\n"
    assert b.at("AT+CMGF?") == b"\r\n+CMGF: 0\r\n\r\nOK\r\n"


@pytest.mark.parametrize("module", MODULES)
def test_every_module_answers_the_sms_commands(module: str) -> None:
    names = load_module(module).commands.names()  # what COVERAGE.md and AT+CLAC are built from
    for name in ("+CMGF", "+CMGS", "+CMGR", "+CMGL", "+CMGD", "+CMGW", "+CMSS", "+CNMI", "+CPMS", "+CSCA",
                 "+CSMP", "+CSDH", "+CSCB", "+CSMS", "+CNMA"):
        assert name in names
    assert ("*SKT*NEWMSG" in names) == (module == "wm-n400mse")


def _session(chunks: list[bytes]) -> tuple[bytes, list[bytes]]:
    b = Bench("bg96")
    b.at("AT+CMGF=1")
    out = b""
    for chunk in chunks:
        out += b.feed(chunk)
    return out, [s.tpdu[2:] for s in b.sent]  # without fo/MR


BODIES = [b'AT+CMGS="+821055512345"\r' + body + b"\x1a" for body in
          (b"one line", b"two\rlines", b"\r", "£$@ é€{}".encode())] + \
         [b'AT+CMGS="+821055512345"\rnever\x1bAT+CMGF?\r']


@pytest.mark.parametrize("stream", BODIES)
def test_prompt_input_split_at_every_point_gives_the_same_answer(stream: bytes) -> None:
    whole = _session([stream])
    for cut in range(1, len(stream)):
        assert _session([stream[:cut], stream[cut:]]) == whole
    assert _session([bytes([c]) for c in stream]) == whole


def test_pdu_body_split_byte_by_byte() -> None:
    pdu = encodeSmsSubmitPdu("+821055512345", "split €", reference=0, requestStatusReport=False)[0]
    stream = f"AT+CMGS={pdu.tpduLength}\r{pdu}\x1a".encode()
    assert _session([bytes([c]) for c in stream]) == _session([stream])
    assert _session([stream])[0].endswith(b"\r\n+CMGS: 0\r\n\r\nOK\r\n")


def test_unacknowledged_cmt_turns_routing_off_and_reports_failure() -> None:
    b = Bench("bg96")
    b.at("AT+CSMS=1")
    b.at("AT+CNMI=2,2,0,1,0")
    reports: list = []
    tpdu = codec.deliver_text(OA, "ack me", b.modem.clock.now())[0]
    b.modem.receive_stimulus(SmsIncoming(tpdu, "+821091000000", lambda ok, where: reports.append(ok)))
    assert b._collect().startswith(b"\r\n+CMT: ,") and reports == []  # waits for +CNMA
    assert b.at("AT+CNMA") == b"\r\nOK\r\n" and reports == [True]
    b.modem.receive_stimulus(SmsIncoming(tpdu, "+821091000000", lambda ok, where: reports.append(ok)))
    b._collect()
    b.modem.advance(14)
    assert b.at("AT+CNMI?") == b"\r\n+CNMI: 2,2,0,1,0\r\n\r\nOK\r\n" and reports == [True]
    b.modem.advance(2)  # TR2M ran out: routing off, the network learns it failed
    assert b.at("AT+CNMI?") == b"\r\n+CNMI: 2,0,0,0,0\r\n\r\nOK\r\n" and reports == [True, False]
    assert b.at("AT+CNMA") == b"\r\n+CMS ERROR: 340\r\n"
    assert b.mt("now stored") == b""  # <mt> 0: stored, no indication
    assert b.at("AT+CPMS?").startswith(b'\r\n+CPMS: "ME",1,255')


@settings(max_examples=60, deadline=None)
@given(text=hs.text(alphabet="".join(c for c in GSM.ALPHABET if c != "\x1b") + "".join(GSM.ALPHABET_EXT_INV),
                    min_size=1, max_size=80),
       cut=hs.integers(min_value=0, max_value=200))
def test_text_mode_mo_round_trip(text: str, cut: int) -> None:
    """Whatever GSM text is typed (split anywhere), the SMS the network gets carries it."""
    b = Bench("bg96")
    b.at("AT+CMGF=1")
    b.at('AT+CMGS="+821055512345"')
    body = text.encode() + b"\x1a"
    cut = min(cut, len(body))
    out = b.feed(body[:cut]) + b.feed(body[cut:])
    assert out.endswith(b"+CMGS: 0\r\n\r\nOK\r\n")
    assert codec.decode(b.sent[-1].tpdu).text == text
