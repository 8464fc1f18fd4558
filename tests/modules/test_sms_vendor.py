"""Vendor SMS commands and host drivers' SMS flows (sans-IO): the WM-N400MSE's SKT
``AT*SKT*NEWMSG`` / ``AT*SKT*READMT`` / ``AT*SMSMO`` as WIZnet's guides and WM01 sample use them,
Quectel's ``+QCMGS``/``+QCMGR``, and TinyGSM's send paths."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from emulator.modules.handlers import sms_codec as codec
from emulator.modules.handlers.ts27007_time import stamp as scts_stamp
from emulator.testing.sms_rig import OA, SmsBench as Bench


def test_woorinet_skt_newmsg_and_the_wm01_sample_framing() -> None:
    b = Bench("wm-n400mse")
    assert b.at("AT*SKT*NEWMSG=4098") == b"\r\nOK\r\n"
    assert b.at("AT*SKT*NEWMSG?") == b"\r\n*SKT*NEWMSG:4098\r\n\r\nOK\r\n"
    when = datetime.fromtimestamp(b.modem.clock.now(), tz=timezone.utc).strftime("%Y%m%d%H%M%S")
    # the guide's form: *SKT*NEWMSG:<index>,<YYYYMMDDHHMMSS>,<callback>,<tid>,"<text>"
    assert b.mt("hi WM01", oa="+821012345678") == f'\r\n*SKT*NEWMSG:0,{when},01012345678,4098,"hi WM01"\r\n'.encode()
    b.at("AT+CMGF=1")
    b.at('AT+CSCS="GSM"')
    out = b.at("AT+CMGR=0").decode()
    # the WIZnet WM01 sample: scanf matches the header up to its last quote, then reads bytes
    # until "OK" is in them and keeps (count - 8) bytes from offset 2: that is the body
    head_end = out.index('"', out.index(',,"') + 3) + 1
    assert out[:head_end].startswith('\r\n+CMGR: "REC UNREAD","+821012345678",,"')
    rest = out[head_end:]
    count = rest.index("OK") + 2
    assert rest[2:2 + count - 8] == "hi WM01"
    assert b.at("AT+CMGD=0,4") == b"\r\nOK\r\n"
    assert Bench("bg96").at("AT*SKT*NEWMSG=4098") == b"\r\nERROR\r\n"


def test_woorinet_readmt_counts_from_the_newest_and_speaks_euc_kr() -> None:
    b = Bench("wm-n400mse")
    b.mt("first", oa="+821011110000")
    b.mt("안녕하세요?", oa="+821022220000")
    when = datetime.fromtimestamp(b.modem.clock.now(), tz=timezone.utc).strftime("%Y%m%d%H%M%S")
    assert b.at("AT*SKT*READMT=0") == (f"\r\n*SKT*READMT:0,{when},01022220000,4098,".encode()
                                       + "안녕하세요?".encode("euc-kr") + b"\r\n\r\nOK\r\n")
    assert b.at("AT*SKT*READMT=1") == f"\r\n*SKT*READMT:1,{when},01011110000,4098,first\r\n\r\nOK\r\n".encode()
    assert b.at("AT*SKT*READMT=2") == b"\r\nERROR\r\n"


def test_woorinet_smsmo_sends_euc_kr_hex() -> None:
    b = Bench("wm-n400mse")
    # the guide's examples: "Hello" and "오픈하우스" as EUC-KR hex
    assert b.at("AT*SMSMO=0107576****,,1,1,48656C6C6F".replace("****", "1234")) == b"\r\nOK\r\n\r\n*SMSACK\r\n"
    assert b.at("AT*SMSMO=01075761234,01099990000,1,1,BFC0C7C2C7CFBFECBDBA") == b"\r\nOK\r\n\r\n*SMSACK\r\n"
    assert [(codec.decode(s.tpdu).number, codec.decode(s.tpdu).text) for s in b.sent] == \
        [("01075761234", "Hello"), ("01075761234", "오픈하우스")]
    assert b.at("AT*SMSMO=01075761234,,1,1,ZZ") == b"\r\nERROR\r\n"


@pytest.mark.parametrize("module", ["bg96", "ec800e"])
def test_quectel_qcmgs_qcmgr_concatenated(module: str) -> None:
    a, b = Bench(module), Bench(module)
    a.at("AT+CMGF=1")
    assert a.at('AT+QCMGS="+821055512345",120,1,2') == b"\r\n> "
    assert a.feed(b"x" * 153 + b"\x1a") == b"\r\n+QCMGS: 0\r\n\r\nOK\r\n"
    a.at('AT+QCMGS="+821055512345",120,2,2')
    assert a.feed(b"tail\x1a") == b"\r\n+QCMGS: 1\r\n\r\nOK\r\n"
    a.at('AT+QCMGS="+821055512345",120,1,2')
    assert a.feed(b"x" * 154 + b"\x1a") == b"\r\n+CMS ERROR: 305\r\n"  # 153 per part
    assert a.at('AT+QCMGS="+821055512345",120,3,2') == b"\r\n+CMS ERROR: 305\r\n"
    parts = [codec.decode(s.tpdu) for s in a.sent]
    assert [p.concat for p in parts] == [(120, 2, 1), (120, 2, 2)]
    # what the recipient stores: read back with +QCMGR (decoded text, uid/seg/total appended)
    now = b.modem.clock.now()
    for p in parts:
        b.mt(tpdu=codec.submit_to_deliver(p, OA, now))
    b.at("AT+CMGF=1")
    stamp = scts_stamp(now, 0)
    assert b.at("AT+QCMGR=1") == f'\r\n+QCMGR: "REC UNREAD","{OA}",,"{stamp}",120,2,2\r\ntail\r\n\r\nOK\r\n'.encode()
    assert b.at("AT+CMGR=1").split(b"\r\n")[2] == parts[1].ud.hex().upper().encode()  # +CMGR: UD in hex
    b.at("AT+CMGF=0")
    assert b.at("AT+QCMGR=0") == b"\r\n+CMS ERROR: 302\r\n"


def test_the_wm01_mbed_sample_flow_with_crlf_line_ends() -> None:
    """WIZnet-IoTShield-WM-N400MSE-SMS main.cpp: ATCmdParser with "\\r\\n" as delimiter; the
    ^Z of AT+CMGS goes out through send(), so the delimiter follows it too."""
    b = Bench("wm-n400mse")
    for line in ("AT+CMGF=1", 'AT+CSCS="GSM"', "AT*SKT*NEWMSG=4098"):
        assert b.feed(line.encode() + b"\r\n") == b"\r\nOK\r\n"
    assert b.feed(b'AT+CMGS="01012345678"\r\n') == b"\r\n> "
    out = b.feed(b"WIZnet Cat.M1 IoT shield is powered on") + b.feed(b"\x1a\r\n")
    assert out == b"\r\n+CMGS: 0\r\n\r\nOK\r\n"  # the trailing CR LF prints nothing
    assert codec.decode(b.sent[-1].tpdu).text == "WIZnet Cat.M1 IoT shield is powered on"
    urc = b.mt("reply from a phone").decode()
    index = int(urc.split("*SKT*NEWMSG:")[1].split(",")[0])  # recv("*SKT*NEWMSG:%d")
    out = b.feed(f"AT+CMGR={index}\r\n".encode()).decode()
    assert '+CMGR: "REC UNREAD","' in out and out.endswith("\r\nreply from a phone\r\n\r\nOK\r\n")
    assert b.feed(f"AT+CMGD={index}\r\n".encode()) == b"\r\nOK\r\n"


def test_tinygsm_send_flows_with_crlf_line_ends() -> None:
    """TinyGSM's TinyGsmSMS.tpp (TinyGSM src/TinyGsmClientBG96.h): sendSMS (GSM text) and sendSMS_UTF16 (CSCS
    "HEX", which these modules refuse, then +CSMP dcs 8 and the UTF-16 as hex)."""
    b = Bench("bg96")
    for line in ("AT+CMGF=1", 'AT+CSCS="GSM"'):
        assert b.feed(line.encode() + b"\r\n") == b"\r\nOK\r\n"
    assert b.feed(b'AT+CMGS="+821012345678"\r\n') == b"\r\n> "
    assert b.feed(b"Hello from TinyGSM\x1a").endswith(b"\r\nOK\r\n")
    b.feed(b'AT+CSCS="HEX"\r\n')  # the result is not checked by TinyGSM
    assert b.feed(b"AT+CSMP=17,167,0,8\r\n") == b"\r\nOK\r\n"
    assert b.feed(b'AT+CMGS="+821012345678"\r\n') == b"\r\n> "
    assert b.feed("Привет 你好".encode("utf-16-be").hex().upper().encode() + b"\x1a").endswith(b"\r\nOK\r\n")
    assert [codec.decode(s.tpdu).text for s in b.sent] == ["Hello from TinyGSM", "Привет 你好"]


def test_hologram_receive_flow() -> None:
    """hologram-python (hologram-io/hologram-python Hologram/Network/Modem/BG96.py): PDU mode, +CMTI, AT+CPMS? for counts, AT+CMGL without a
    value (REC UNREAD: pairs of ``+CMGL: <idx>,<stat>,,<len>`` and the PDU), AT+CMGD=<idx>."""
    from gsmmodem.pdu import decodeSmsPdu
    b = Bench("bg96")
    for line in ('AT+CPMS="ME","ME","ME"', "AT+CMGF=0", "AT+CNMI=2,1", "AT+CREG=2"):
        assert b.feed(line.encode() + b"\r\n").endswith(b"OK\r\n")
    assert b.mt("first") == b'\r\n+CMTI: "ME",0\r\n' and b.mt("second") == b'\r\n+CMTI: "ME",1\r\n'
    assert b.feed(b"AT+CPMS?\r\n") == b'\r\n+CPMS: "ME",2,255,"ME",2,255,"ME",2,255\r\n\r\nOK\r\n'
    lines = b.feed(b"AT+CMGL\r\n").decode().split("\r\n")
    assert lines[1].startswith("+CMGL: 0,0,,") and lines[3].startswith("+CMGL: 1,0,,")
    assert [decodeSmsPdu(lines[i])["text"] for i in (2, 4)] == ["first", "second"]
    for pdu in (lines[2], lines[4]):  # hologram decodes only PID/DCS 00 00
        oa = 2 + 2 * int(pdu[:2], 16) + 2  # after the SMSC field and the first octet
        pid = oa + 4 + 2 * ((int(pdu[oa:oa + 2], 16) + 1) // 2)
        assert pdu[pid:pid + 4] == "0000"
    assert b.feed(b"AT+CMGD=0\r\n") == b"\r\nOK\r\n"
    assert b.feed(b"AT+CMGL=4\r\n").count(b"+CMGL:") == 1
