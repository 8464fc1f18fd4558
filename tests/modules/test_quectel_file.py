"""AT+QF* byte-exact, sans-IO: every form and error of the Quectel file system on the BG96 and
the EC800E, the FILE manual's checksum, the upload timeout on the virtual clock, persistence
over AT+CFUN=1,1 and power cycles (NV memory), and an upload fed at every split point."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.core.stimuli import PowerOn
from emulator.modules.handlers.quectel_file import checksum
from emulator.testing.sansio import make_harness

OK = b"\r\nOK\r\n"


def ok(*lines: str) -> bytes:
    return b"".join(f"\r\n{ln}\r\n".encode() for ln in lines) + OK


def cme(code: int) -> bytes:
    return f"\r\n+CME ERROR: {code}\r\n".encode()


def upload(h, name: str, data: bytes, extra: str = "") -> bytes:
    first = h.send(f'AT+QFUPL="{name}",{len(data)}{extra}\r')
    assert first == b"\r\nCONNECT\r\n", first
    return h.send(data)


@pytest.fixture(params=["bg96", "ec800e"])
def h(request):
    return make_harness(request.param, testkit=False)


def shown(h, name: str) -> str:
    return f"UFS:{name}" if h.ctx.defaults.get("qflst_prefix") else name


# --- checksum: the manual's examples computed independently ---------------------------------
@pytest.mark.parametrize("data,want", [
    (b"", "0"), (b"\x12", "1200"), (b"\x12\x34", "1234"), (b"\x12\x34\x56", "4434"),
    (b"\xff\xff\xff\xff", "0"), (b"hello", "6b09"),
])
def test_checksum_is_xor_of_big_endian_words(data, want):
    assert checksum(data) == want


# --- QFLDS / QFLST / QFUPL / QFDWL / QFDEL ----------------------------------------------------
def test_fresh_bg96_reports_the_units_free_space():
    h = make_harness("bg96", testkit=False)
    assert h.send('AT+QFLDS="UFS"\r') == ok("+QFLDS: 12883392,14483456")
    assert h.send("AT+QFLDS\r") == ok("+QFLDS: 0,0")
    assert h.send("AT+QFLDS=?\r") == OK
    assert h.send('AT+QFLDS="RAM"\r') == cme(425)  # the BG96 has no RAM drive
    assert h.send("AT+QFLST\r") == OK


def test_upload_list_download_delete(h):
    total = int(h.send('AT+QFLDS="UFS"\r').split(b",")[1].split(b"\r")[0])
    free0 = int(h.send('AT+QFLDS="UFS"\r').split(b": ")[1].split(b",")[0])
    data = bytes(range(256)) * 4 + b"\x1a\x1b\r\n+++"  # binary-safe: Ctrl+Z, ESC, CR LF are data
    assert upload(h, "cert.pem", data) == ok(f"+QFUPL: {len(data)},{checksum(data)}")
    assert h.send('AT+QFLDS="UFS"\r') == ok(f"+QFLDS: {free0 - len(data)},{total}")
    assert h.send("AT+QFLDS\r") == ok(f"+QFLDS: {len(data)},1")
    assert h.send('AT+QFLST="*"\r') == ok(f'+QFLST: "{shown(h, "cert.pem")}",{len(data)}')
    assert h.send('AT+QFLST="UFS:*.pem"\r') == ok(f'+QFLST: "{shown(h, "cert.pem")}",{len(data)}')
    assert h.send('AT+QFLST="*.key"\r') == OK
    assert h.send('AT+QFDWL="UFS:cert.pem"\r') == (
        b"\r\nCONNECT\r\n" + data + f"\r\n+QFDWL: {len(data)},{checksum(data)}\r\n".encode() + OK)
    assert h.send('AT+QFDEL="cert.pem"\r') == OK
    assert h.send('AT+QFDEL="cert.pem"\r') == cme(405)
    assert h.send('AT+QFDWL="cert.pem"\r') == cme(405)
    assert h.send('AT+QFLDS="UFS"\r') == ok(f"+QFLDS: {free0},{total}")


def test_upload_errors(h):
    assert upload(h, "a.pem", b"abc") == ok("+QFUPL: 3,262")  # 0x6162 ^ 0x6300
    assert h.send('AT+QFUPL="a.pem",3\r') == cme(407)  # already exists
    assert h.send('AT+QFUPL="bad/name",3\r') == cme(406)
    assert h.send(f'AT+QFUPL="{"x" * 81}",3\r') == cme(406)
    assert h.send('AT+QFUPL="",3\r') == cme(406)
    assert h.send('AT+QFUPL="big.bin",99999999\r') == cme(403)  # more than the free space
    assert h.send('AT+QFUPL="b.bin",0\r') == cme(425)
    assert h.send('AT+QFUPL="b.bin",3,0\r') == cme(425)
    assert h.send('AT+QFUPL="b.bin",3,5,2\r') == cme(425)
    assert h.send("AT+QFUPL=?\r").startswith(b"\r\n+QFUPL: <filename>,(1-")
    assert h.send('AT+QFDEL="*"\r') == OK
    assert h.send("AT+QFLST\r") == OK


def test_upload_timeout_counts_from_the_last_byte(h):
    """BG96 FILE manual §2.5: data mode ends "when there is no any data inputted when <timeout>
    reaches": a slow line that keeps sending (10 bytes over 7.5 s, timeout 3 s) is not cut off;
    3 s of silence is."""
    assert h.send('AT+QFUPL="slow.bin",10,3\r') == b"\r\nCONNECT\r\n"
    for part in (b"012", b"345", b"678"):
        assert h.send(part) == b""
        assert h.advance(2.5) == b""
    assert h.send(b"9") == ok(f"+QFUPL: 10,{checksum(b'0123456789')}")
    assert h.send('AT+QFOPEN="slow.bin",0\r') == ok("+QFOPEN: 1")
    assert h.send("AT+QFSEEK=1,0,2\r") == OK
    assert h.send("AT+QFWRITE=1,4,3\r") == b"\r\nCONNECT\r\n"
    assert h.send(b"ab") == b""
    assert h.advance(2.5) == b""
    assert h.send(b"c") == b""
    assert h.advance(2.9) == b""
    assert h.advance(0.2) == cme(421)  # 3 s since the last byte
    assert h.send("AT+QFWRITE=1,4,3\r") == b"\r\nCONNECT\r\n"
    assert h.send(b"ab") == b""
    assert h.advance(2.5) == b""
    assert h.send(b"cd") == ok("+QFWRITE: 4,14")


def test_short_upload_times_out_with_421_and_leaves_no_file(h):
    assert h.send('AT+QFUPL="half.bin",10,3\r') == b"\r\nCONNECT\r\n"
    assert h.send(b"12345") == b""
    assert h.advance(2.9) == b""
    assert h.advance(0.2) == cme(421)
    assert h.send('AT+QFLST="*"\r') == OK
    assert h.send("AT\r") == OK  # the port is back in command mode
    assert upload(h, "half.bin", b"0123456789") == ok(f"+QFUPL: 10,{checksum(b'0123456789')}")


def test_ack_mode_writes_A_after_each_kilobyte(h):
    data = bytes(i % 251 for i in range(2500))
    assert h.send('AT+QFUPL="ack.bin",2500,5,1\r') == b"\r\nCONNECT\r\n"
    assert h.send(data[:1024]) == b"A"
    assert h.advance(4) == b""  # each block has its own timeout
    assert h.send(data[1024:2048]) == b"A"
    assert h.send(data[2048:]) == ok(f"+QFUPL: 2500,{checksum(data)}")
    assert h.advance(10) == b""


def test_files_survive_reboot_and_power_cycle_but_handles_do_not(h):
    upload(h, "keep.pem", b"persist")
    assert h.send('AT+QFOPEN="keep.pem"\r') == ok("+QFOPEN: 1")
    h.send("AT+CFUN=1,1\r")
    h.advance(30)
    h.send("ATE0\r")
    assert h.send('AT+QFLST="*"\r') == ok(f'+QFLST: "{shown(h, "keep.pem")}",7')
    assert h.send("AT+QFCLOSE=1\r") == cme(416)
    h.modem.power_off()
    h.take()
    h.stim(PowerOn())
    h.advance(30)
    h.send("ATE0\r")
    assert h.send('AT+QFDWL="keep.pem"\r') == b"\r\nCONNECT\r\npersist\r\n+QFDWL: 7,1f65\r\n" + OK


# --- handles ---------------------------------------------------------------------------------
def test_open_write_seek_read_truncate_close(h):
    assert h.send('AT+QFOPEN="log.txt",1\r') == ok("+QFOPEN: 1")
    assert h.send("AT+QFWRITE=1,11\r") == b"\r\nCONNECT\r\n"
    assert h.send(b"hello world") == ok("+QFWRITE: 11,11")
    assert h.send("AT+QFPOSITION=1\r") == ok("+QFPOSITION: 11")
    assert h.send("AT+QFSEEK=1,0,0\r") == OK
    assert h.send("AT+QFREAD=1,5\r") == b"\r\nCONNECT 5\r\nhello" + OK
    assert h.send("AT+QFSEEK=1,1,1\r") == OK
    assert h.send("AT+QFREAD=1\r") == b"\r\nCONNECT 5\r\nworld" + OK
    assert h.send("AT+QFREAD=1,10\r") == b"\r\nCONNECT 0\r\n" + OK  # at the end
    assert h.send("AT+QFSEEK=1,-5,2\r") == OK
    assert h.send("AT+QFTUCAT=1\r") == OK
    assert h.send("AT+QFSEEK=1,0,2;+QFPOSITION=1\r") == ok("+QFPOSITION: 6")
    assert h.send("AT+QFCLOSE=1\r") == OK
    assert h.send('AT+QFDWL="log.txt"\r') == (
        b"\r\nCONNECT\r\nhello \r\n+QFDWL: 6," + checksum(b"hello ").encode() + b"\r\n" + OK)


def test_handle_errors(h):
    assert h.send('AT+QFOPEN="none.txt",2\r') == cme(405)  # read-only needs the file
    upload(h, "ro.txt", b"abc")
    assert h.send('AT+QFOPEN="ro.txt",2\r') == ok("+QFOPEN: 1")
    assert h.send('AT+QFOPEN="ro.txt"\r') == cme(426)
    assert h.send('AT+QFDEL="ro.txt"\r') == cme(426)
    assert h.send("AT+QFWRITE=1,1\r") == cme(414)
    assert h.send("AT+QFTUCAT=1\r") == cme(414)
    assert h.send("AT+QFSEEK=1,4\r") == cme(401)
    assert h.send("AT+QFSEEK=1,-1\r") == cme(425)
    assert h.send("AT+QFSEEK=1,0,3\r") == cme(425)
    assert h.send("AT+QFREAD=9\r") == cme(416)
    assert h.send("AT+QFCLOSE=9\r") == cme(416)
    for n in range(2, 5):
        assert h.send(f'AT+QFOPEN="f{n}"\r') == ok(f"+QFOPEN: {n}")
    assert h.send('AT+QFOPEN="f5"\r') == cme(413)
    assert h.send("AT+QFWRITE=2,4,2\r") == b"\r\nCONNECT\r\n"
    assert h.send(b"ab") == b""
    assert h.advance(2) == cme(421)
    assert h.send("AT+QFSEEK=2,0,2;+QFPOSITION=2\r") == ok("+QFPOSITION: 0")  # nothing written
    assert h.send("AT+QFCLOSE=1\r") == OK
    assert h.send('AT+QFDEL="ro.txt"\r') == OK


def test_cmee_0_gives_plain_error(h):
    h.send("AT+CMEE=0\r")
    assert h.send('AT+QFDEL="nothing"\r') == b"\r\nERROR\r\n"


# --- an upload at every split point, with CR and CR LF after the command line ----------------
@pytest.mark.parametrize("eol", [pytest.param(b"\r", id="cr"), pytest.param(b"\r\n", id="crlf")])
@settings(max_examples=80, deadline=None)
@given(data=st.binary(min_size=1, max_size=300), cuts=st.lists(st.integers(0, 400), max_size=8),
       module=st.sampled_from(["bg96", "ec800e"]))
def test_upload_is_split_proof(eol, data, cuts, module):
    h = make_harness(module, testkit=False, echo=True)
    assert h.send(b"ATE0" + eol).endswith(OK)  # a host ends every line the same way
    line = f'AT+QFUPL="s.bin",{len(data)}'.encode() + eol
    stream = line + data + b"AT" + eol
    points = sorted({c % (len(stream) + 1) for c in cuts})
    out, prev = bytearray(), 0
    for p in points + [len(stream)]:
        out += h.send(stream[prev:p])
        prev = p
    assert bytes(out) == b"\r\nCONNECT\r\n" + ok(f"+QFUPL: {len(data)},{checksum(data)}") + OK
    assert h.send(b'AT+QFDWL="s.bin"' + eol).startswith(b"\r\nCONNECT\r\n" + data + b"\r\n+QFDWL: ")
