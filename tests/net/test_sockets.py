"""AT+QI* end to end in-process: the Emulator, real asyncio sockets on loopback, peers reached
through FakeInternet routes (rig in conftest.py). Protocol timers move only with
``emu.advance``; the short wall waits are for loopback I/O to arrive."""

from __future__ import annotations

import asyncio
import re
import struct

import httpx
import pytest

from emulator.api.app import create_app
from emulator.net import sockets
from emulator.net.internet import Fault

# (kept here, not imported from conftest: test modules are not a package)
from emulator.testing.host import FINAL
DEVICE, PASSWORD = b"15436586863318069987727", b"ny6f1tSA41DQUVPD6P8g4iOk9zWNg5LGa9LIzPymuE8"
LOGIN = (b"\x01" + struct.pack(">H", len(DEVICE)) + DEVICE + struct.pack(">H", len(PASSWORD)) + PASSWORD
         + b"\x00\x031.0")

pytestmark = pytest.mark.slow


async def test_guide_ctwing_tcp_transcript_ec800e(rig):
    emu, peers, hosts = rig
    h = hosts["ec800e"]
    assert b"+CEREG: 0,1" in await h.at("AT+CEREG?")
    assert b'+CGPADDR: 1,"100.101.185.160"' in await h.at("AT+CGPADDR")
    assert await h.at('AT+QICFG="dataformat",1,1') == b"\r\nOK\r\n"
    assert await h.at('AT+QIOPEN=0,0,"TCP","tcp.ctwing.cn",8996,0,1') == b"\r\nOK\r\n"
    assert await h.expect(b"+QIOPEN: 0,0\r\n") == b"\r\n+QIOPEN: 0,0\r\n"
    h.send(b"AT+QISEND=0,76\r")
    assert await h.expect(b"> ") == b"\r\n> "
    assert len(LOGIN) == 76
    h.send(LOGIN.hex().encode())
    assert await h.expect(FINAL) == b"\r\nSEND OK\r\n"
    assert await h.expect(b"050000\r\n") == b'\r\n+QIURC: "recv",0,3,\r\n050000\r\n'
    assert await h.at('AT+QISEND=0,14,"02000b68656c6c6f20776f726c64"') == b"\r\nOK\r\n"
    assert await h.expect(b"SEND OK\r\n") == b"\r\nSEND OK\r\n"
    assert await h.expect(b"6d657373616765\r\n") == (
        b'\r\n+QIURC: "recv",0,18,\r\n03000f72656365697665646d657373616765\r\n')
    assert await h.at("AT+QICLOSE=0") == b"\r\nOK\r\n"
    assert await h.expect(b"CLOSE OK\r\n") == b"\r\nCLOSE OK\r\n"
    await asyncio.wait_for(peers.eof.wait(), 5)
    assert bytes(peers.received["ctwing"]) == LOGIN + b"\x02\x00\x0bhello world"
    # the other way the guide shows: AT+QISENDEX with the hex unquoted
    peers.received["ctwing"].clear()
    assert await h.at('AT+QIOPEN=0,0,"TCP","tcp.ctwing.cn",8996,0,1') == b"\r\nOK\r\n"
    await h.expect(b"+QIOPEN: 0,0\r\n")
    assert await h.at(b"AT+QISENDEX=0," + LOGIN.hex().encode()) == b"\r\nSEND OK\r\n"
    assert await h.expect(b"050000\r\n") == b'\r\n+QIURC: "recv",0,3,\r\n050000\r\n'
    assert bytes(peers.received["ctwing"]) == LOGIN
    assert await h.at("AT+QICLOSE=0") == b"\r\nOK\r\n"


async def test_buffer_mode_echo_totals_and_one_urc_per_transition(rig):
    emu, peers, hosts = rig
    h = hosts["bg96"]
    assert await h.at('AT+QIOPEN=1,0,"TCP","echo.example.com",7,0,0') == b"\r\nOK\r\n"
    await h.expect(b"+QIOPEN: 0,0\r\n")
    h.send(b"AT+QISEND=0\r")
    await h.expect(b"> ")
    h.send(b"test1\x1a")
    assert await h.expect(FINAL) == b"\r\nSEND OK\r\n"
    assert await h.expect(b'+QIURC: "recv",0\r\n') == b'\r\n+QIURC: "recv",0\r\n'
    h.send(b"AT+QISEND=0,4\r")
    await h.expect(b"> ")
    h.send(b"test")
    assert await h.expect(FINAL) == b"\r\nSEND OK\r\n"
    while b"+QIRD: 9,0,9" not in await h.at("AT+QIRD=0,0"):
        await asyncio.sleep(0.01)
    assert b'"recv"' not in await h.quiet()  # the buffer was never drained: no second URC
    assert await h.at("AT+QIRD=0,5") == b"\r\n+QIRD: 5\r\ntest1\r\n\r\nOK\r\n"
    assert await h.at("AT+QIRD=0") == b"\r\n+QIRD: 4\r\ntest\r\n\r\nOK\r\n"
    assert await h.at("AT+QIRD=0") == b"\r\n+QIRD: 0\r\n\r\nOK\r\n"
    assert await h.at("AT+QIRD=0,0") == b"\r\n+QIRD: 9,9,0\r\n\r\nOK\r\n"
    assert await h.at("AT+QISEND=0,0") == b"\r\n+QISEND: 9,9,0\r\n\r\nOK\r\n"
    assert await h.at("AT+QISENDEX=0,\"4142\"") == b"\r\nSEND OK\r\n"
    assert await h.expect(b'+QIURC: "recv",0\r\n') == b'\r\n+QIURC: "recv",0\r\n'  # a new transition
    assert await h.at("AT+QIRD=0") == b"\r\n+QIRD: 2\r\nAB\r\n\r\nOK\r\n"
    assert emu.ports["bg96"].modem.state.radio.rrc == 1  # traffic set RRC connected
    assert await h.at("AT+QICLOSE=0") == b"\r\nOK\r\n"  # BG96: no CLOSE OK
    assert await h.quiet() == b""


async def test_push_mode_esc_and_send_on_closed_socket(rig):
    emu, peers, hosts = rig
    h = hosts["bg96"]
    await h.at('AT+QIOPEN=1,2,"TCP","echo.example.com",7,0,1')
    await h.expect(b"+QIOPEN: 2,0\r\n")
    h.send(b"AT+QISEND=2\r")
    await h.expect(b"> ")
    h.send(b"never\x1b")
    assert await h.expect(FINAL) == b"\r\nOK\r\n"
    h.send(b"AT+QISEND=2,4\r")
    await h.expect(b"> ")
    h.send(b"test")
    assert await h.expect(FINAL) == b"\r\nSEND OK\r\n"
    assert await h.expect(b"test\r\n") == b'\r\n+QIURC: "recv",2,4\r\ntest\r\n'
    assert bytes(peers.received["echo"]) == b"test"  # the cancelled data never left
    assert await h.at("AT+QISENDEX=2,51554954") == b"\r\nSEND OK\r\n"  # "QUIT": the peer closes
    assert await h.expect(b'"closed",2\r\n') == b'\r\n+QIURC: "closed",2\r\n'
    assert await h.at("AT+QISEND=2,1") == b"\r\nERROR\r\n"
    assert await h.at("AT+QIGETERROR") == b"\r\n+QIGETERROR: 567, socket has been closed\r\n\r\nOK\r\n"
    assert await h.at("AT+QICLOSE=2") == b"\r\nOK\r\n"
    assert await h.at("AT") == b"\r\nOK\r\n"


async def test_transparent_mode_both_ways_escape_ato_no_carrier(rig):
    emu, peers, hosts = rig
    h = hosts["bg96"]
    h.send(b'AT+QIOPEN=1,0,"TCP","echo.example.com",7,0,2\r')
    assert await h.expect(FINAL) == b"\r\nCONNECT\r\n"
    h.send(b"ping\x1a\x1bbin")
    emu.advance(0.2)  # transwaittm 2 x 100 ms packs the bytes
    assert await h.expect(b"ping\x1a\x1bbin") == b"ping\x1a\x1bbin"  # raw, no framing
    emu.advance(1.0)
    h.send(b"+++")
    assert await h.quiet(0.05) == b""
    emu.advance(1.0)
    assert await h.expect(FINAL) == b"\r\nOK\r\n"
    assert await h.at("AT+QISTATE=1,0") == b'\r\n+QISTATE: 0,"TCP","echo.example.com",7,' + \
        str(emu.ports["bg96"].modem.state.tcpip.sockets[0].lport).encode() + b',2,1,0,0,"uart1"\r\n\r\nOK\r\n'
    # after +++ the socket is in buffer access mode (BG96 TCP/IP AN §1.2): data waits for QIRD
    assert await h.at("AT+QISENDEX=0,6275") == b"\r\nSEND OK\r\n"
    assert await h.expect(b'"recv",0\r\n') == b'\r\n+QIURC: "recv",0\r\n'
    assert await h.at("AT+QIRD=0") == b"\r\n+QIRD: 2\r\nbu\r\n\r\nOK\r\n"
    assert await h.at("ATO") == b"\r\nCONNECT\r\n"
    h.send(b"QUIT")
    emu.advance(0.2)
    assert await h.expect(FINAL) == b"\r\nNO CARRIER\r\n"
    assert await h.at("AT") == b"\r\nOK\r\n"
    assert b"+++" not in peers.received["echo"]
    assert await h.at("AT+QISTATE?") == b"\r\nOK\r\n"


async def test_dns_failure_unmapped_ip_and_nothing_leaves_loopback(rig, monkeypatch):
    emu, peers, hosts = rig
    dialled: list[str] = []
    real = asyncio.open_connection

    async def spy(host=None, port=None, **kw):
        dialled.append(host)
        return await real(host, port, **kw)
    monkeypatch.setattr(asyncio, "open_connection", spy)
    h = hosts["ec800e"]
    await h.at('AT+QIOPEN=1,0,"TCP","nosuch.example.org",80,0,0')
    assert await h.expect(b"+QIOPEN: 0,565\r\n") == b"\r\n+QIOPEN: 0,565\r\n"
    await h.at('AT+QIOPEN=1,0,"TCP","203.0.113.9",80,0,0')
    assert await h.expect(b"+QIOPEN: 0,566\r\n") == b"\r\n+QIOPEN: 0,566\r\n"
    assert b"566, socket connect failed" in await h.at("AT+QIGETERROR")
    assert dialled == []
    await h.at('AT+QIOPEN=1,0,"TCP","echo.example.com",7,0,0')
    await h.expect(b"+QIOPEN: 0,0\r\n")
    assert dialled == ["127.0.0.1"]
    assert await h.at('AT+QIDNSGIP=1,"tcp.ctwing.cn"') == b"\r\nOK\r\n"
    assert await h.expect(b'"dnsgip","180.106.148.146"\r\n') == (
        b'\r\n+QIURC: "dnsgip",0,1,600\r\n\r\n+QIURC: "dnsgip","180.106.148.146"\r\n')
    await h.at('AT+QIDNSGIP=1,"nosuch.example.org"')
    assert await h.expect(b'"dnsgip",565\r\n') == b'\r\n+QIURC: "dnsgip",565\r\n'


async def test_faults_refuse_drop_delay(rig):
    emu, peers, hosts = rig
    h = hosts["bg96"]
    emu.internet.add_fault("echo.example.com", 7, Fault("refuse", 1))
    await h.at('AT+QIOPEN=1,0,"TCP","echo.example.com",7,0,0')
    assert await h.expect(b"+QIOPEN: 0,") + await h.expect(b"\r\n") == b"\r\n+QIOPEN: 0,566\r\n"
    emu.internet.add_fault("echo.example.com", 7, Fault("drop", 1))
    await h.at('AT+QIOPEN=1,0,"TCP","echo.example.com",7,0,0')
    assert await h.quiet() == b""
    emu.advance(149)
    assert await h.quiet() == b""
    emu.advance(2)
    assert await h.expect(b"+QIOPEN: 0,566\r\n") == b"\r\n+QIOPEN: 0,566\r\n"
    emu.internet.add_fault("echo.example.com", 7, Fault("delay", 1, seconds=5))
    await h.at('AT+QIOPEN=1,0,"TCP","echo.example.com",7,0,0')
    assert await h.quiet() == b""
    emu.advance(5)
    assert await h.expect(b"+QIOPEN: 0,0\r\n") == b"\r\n+QIOPEN: 0,0\r\n"
    assert await h.at("AT+QISENDEX=0,6869") == b"\r\nSEND OK\r\n"
    assert await h.expect(b'"recv",0\r\n') == b'\r\n+QIURC: "recv",0\r\n'


async def test_cut_fault_from_the_console_api_resets_the_connection(rig):
    emu, peers, hosts = rig
    h = hosts["ec800e"]
    await h.at('AT+QIOPEN=1,1,"TCP","echo.example.com",7,0,0')
    await h.expect(b"+QIOPEN: 1,0\r\n")
    app = create_app(emu)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        r = await client.post("/api/network/faults", json={"host": "echo.example.com", "port": 7,
                                                           "kind": "cut", "count": 1})
        assert r.status_code == 200
    assert await h.expect(b'"closed",1\r\n') == b'\r\n+QIURC: "closed",1\r\n'
    await asyncio.wait_for(peers.eof.wait(), 5)
    assert await h.at("AT+QISEND=1,1") == b"\r\nERROR\r\n"
    assert await h.at("AT+QICLOSE=1") == b"\r\nOK\r\n"
    await h.expect(b"CLOSE OK\r\n")
    await h.at('AT+QIOPEN=1,1,"TCP","echo.example.com",7,0,1')  # the cut was spent
    assert await h.expect(b"+QIOPEN: 1,0\r\n") == b"\r\n+QIOPEN: 1,0\r\n"
    assert await h.at("AT+QISENDEX=1,6869") == b"\r\nSEND OK\r\n"
    assert await h.expect(b"hi\r\n") == b'\r\n+QIURC: "recv",1,2\r\nhi\r\n'


async def test_peer_reset_mid_send(rig):
    emu, peers, hosts = rig
    h = hosts["bg96"]
    await h.at('AT+QIOPEN=1,3,"TCP","reset.example.com",9,0,0')
    await h.expect(b"+QIOPEN: 3,0\r\n")
    h.send(b"AT+QISEND=3,5\r")
    await h.expect(b"> ")
    h.send(b"first")
    assert await h.expect(FINAL) == b"\r\nSEND OK\r\n"  # accepted into the buffer
    assert await h.expect(b'"closed",3\r\n') == b'\r\n+QIURC: "closed",3\r\n'
    assert await h.at("AT+QISENDEX=3,41") == b"\r\nERROR\r\n"
    assert await h.at("AT+QICLOSE=3") == b"\r\nOK\r\n"
    assert await h.at("AT") == b"\r\nOK\r\n"


async def test_tcp_listener_accepts_a_local_client(rig):
    emu, peers, hosts = rig
    h = hosts["ec800e"]
    assert await h.at('AT+QIOPEN=1,11,"TCP LISTENER","127.0.0.1",0,2020,0') == b"\r\nOK\r\n"
    await h.expect(b"+QIOPEN: 11,0\r\n")
    port = emu.ports["ec800e"]
    real = sockets.listeners(port.net)[11]
    endpoint, err, _ = emu.internet.connect_target("100.101.185.160", 2020)  # the modem's IP
    assert (endpoint, err) == (("127.0.0.1", real), "")
    reader, writer = await asyncio.open_connection(*endpoint)
    cport = writer.get_extra_info("sockname")[1]
    assert await h.expect(f"{cport}\r\n".encode()) == f'\r\n+QIURC: "incoming",0,11,"127.0.0.1",{cport}\r\n'.encode()
    writer.write(b"hello modem")
    await writer.drain()
    assert await h.expect(b'"recv",0\r\n') == b'\r\n+QIURC: "recv",0\r\n'
    assert await h.at("AT+QIRD=0") == b"\r\n+QIRD: 11\r\nhello modem\r\n\r\nOK\r\n"
    assert await h.at("AT+QISENDEX=0,\"796f21\"") == b"\r\nSEND OK\r\n"
    assert await asyncio.wait_for(reader.readexactly(3), 5) == b"yo!"
    writer.close()
    assert await h.expect(b'"closed",0\r\n') == b'\r\n+QIURC: "closed",0\r\n'
    assert await h.at("AT+QICLOSE=11") == b"\r\nOK\r\n"
    assert sockets.listeners(port.net) == {}
    assert emu.internet.connect_target("100.101.185.160", 2020)[1] == "refused"


async def test_udp_client_and_udp_service(rig):
    emu, peers, hosts = rig
    h = hosts["bg96"]
    await h.at('AT+QIOPEN=1,4,"UDP","udp.example.com",7,0,1')
    await h.expect(b"+QIOPEN: 4,0\r\n")
    assert await h.at("AT+QISENDEX=4,\"6461746131\"") == b"\r\nSEND OK\r\n"
    assert await h.expect(b"data1\r\n") == b'\r\n+QIURC: "recv",4,5\r\ndata1\r\n'
    assert await h.at('AT+QIOPEN=1,5,"UDP SERVICE","127.0.0.1",0,3030,0') == b"\r\nOK\r\n"
    await h.expect(b"+QIOPEN: 5,0\r\n")
    modem_ip = emu.ports["bg96"].modem.state.pdp[1].address
    endpoint, err, _ = emu.internet.connect_target(modem_ip, 3030)
    assert err == ""
    loop = asyncio.get_running_loop()
    got: asyncio.Queue = asyncio.Queue()

    class Client(asyncio.DatagramProtocol):
        def datagram_received(self, data, addr):
            got.put_nowait(data)
    transport, _ = await loop.create_datagram_endpoint(Client, local_addr=("127.0.0.1", 0))
    cport = transport.get_extra_info("sockname")[1]
    transport.sendto(b"hello", endpoint)
    assert await h.expect(b'"recv",5\r\n') == b'\r\n+QIURC: "recv",5\r\n'
    assert await h.at("AT+QIRD=5") == f'\r\n+QIRD: 5,"127.0.0.1",{cport}\r\nhello\r\n\r\nOK\r\n'.encode()
    h.send(f'AT+QISEND=5,4,"127.0.0.1",{cport}\r'.encode())
    await h.expect(b"> ")
    h.send(b"back")
    assert await h.expect(FINAL) == b"\r\nSEND OK\r\n"
    assert await asyncio.wait_for(got.get(), 5) == b"back"
    transport.close()
    assert await h.at("AT+QICLOSE=5") == b"\r\nOK\r\n"
    assert await h.at("AT+QICLOSE=4") == b"\r\nOK\r\n"


async def _looked_up(emu, name: str) -> None:
    """Wait for the lookup executor task to answer (loopback I/O, not a protocol timer)."""
    state = emu.ports[name].modem.state.tcpip
    for _ in range(500):
        if not state.dns:
            return
        await asyncio.sleep(0.002)
    raise AssertionError("lookup never answered")


async def test_qping_routed_and_unrouted(rig):
    emu, peers, hosts = rig
    h = hosts["bg96"]
    assert await h.at('AT+QPING=1,"echo.example.com",4,2') == b"\r\nOK\r\n"
    await _looked_up(emu, "bg96")
    emu.advance(2)
    assert (await h.expect(b"+QPING: 0,2,2,0,30,31,30\r\n")).count(b"+QPING: 0,\"") == 2
    assert await h.at('AT+QPING=1,"203.0.113.9",1,1') == b"\r\nOK\r\n"
    await _looked_up(emu, "bg96")
    emu.advance(1)
    assert await h.expect(b"+QPING: 0,1,0,1,0,0,0\r\n") == b"\r\n+QPING: 569\r\n\r\n+QPING: 0,1,0,1,0,0,0\r\n"


async def test_bad_input_gets_its_result_and_the_port_keeps_working(rig):
    emu, peers, hosts = rig
    h = hosts["ec800e"]
    await h.at('AT+QIOPEN=1,0,"TCP","echo.example.com",7,0,1')
    await h.expect(b"+QIOPEN: 0,0\r\n")
    assert await h.at("AT+QISENDEX=0,414") == b"\r\nERROR\r\n"  # odd hex
    assert await h.at("AT+QISENDEX=0,4G") == b"\r\nERROR\r\n"  # not hex
    assert await h.at("AT+QISEND=12,1") == b"\r\nERROR\r\n"  # id out of range
    h.send(b"AT+QISEND=0,4\r")
    await h.expect(b"> ")
    h.send(b"testEXTRA\r")  # longer than announced: the rest is a (garbage) command line
    assert await h.expect(FINAL) == b"\r\nSEND OK\r\n"
    assert await h.expect(FINAL) == b"\r\nERROR\r\n"
    assert await h.expect(b"test\r\n") == b'\r\n+QIURC: "recv",0,4\r\ntest\r\n'
    assert await h.at("AT") == b"\r\nOK\r\n"
    assert bytes(peers.received["echo"]) == b"test"
    for _ in range(100):  # the ack comes from the executor once the bytes left
        if await h.at("AT+QISEND=0,0") == b"\r\n+QISEND: 4,4,0\r\n\r\nOK\r\n":
            break
    else:
        raise AssertionError("never acked")


async def test_cut_count_limits_how_many_connections_reset(rig):
    emu, peers, hosts = rig
    h = hosts["bg96"]
    for conn in (0, 1):
        await h.at(f'AT+QIOPEN=1,{conn},"TCP","echo.example.com",7,0,1')
        await h.expect(f"+QIOPEN: {conn},0\r\n".encode())
    emu.internet.add_fault("echo.example.com", 7, Fault("cut", 1))
    assert emu.internet.cut("echo.example.com", 7) == 1
    assert await h.expect(b'"closed",0\r\n') == b'\r\n+QIURC: "closed",0\r\n'
    assert await h.at("AT+QISENDEX=1,6f6b") == b"\r\nSEND OK\r\n"  # the other one lives on
    assert await h.expect(b"ok\r\n") == b'\r\n+QIURC: "recv",1,2\r\nok\r\n'


async def test_dialling_the_address_dns_gave_for_a_routed_name(rig):
    """Firmware that resolves first (AT+QIDNSGIP) and then opens the IP it was told must reach
    the same server as dialling the name (a --route name has no record: a synthetic address)."""
    emu, peers, hosts = rig
    h = hosts["bg96"]
    assert await h.at('AT+QIDNSGIP=1,"echo.example.com"') == b"\r\nOK\r\n"
    ip = (await h.expect(re.compile(rb'"dnsgip","([0-9.]+)"\r\n'))).split(b'"')[-2].decode()
    await h.at(f'AT+QIOPEN=1,0,"TCP","{ip}",7,0,1')
    assert await h.expect(b"+QIOPEN: 0,") == b"\r\n+QIOPEN: 0,"
    assert await h.expect(b"\r\n") == b"0\r\n"
    assert await h.at("AT+QISENDEX=0,6869") == b"\r\nSEND OK\r\n"
    assert await h.expect(b"hi\r\n") == b'\r\n+QIURC: "recv",0,2\r\nhi\r\n'
    await h.at(f'AT+QIOPEN=1,1,"TCP","{ip}",8,0,1')  # the route is for port 7 only
    assert await h.expect(b"+QIOPEN: 1,566\r\n") == b"\r\n+QIOPEN: 1,566\r\n"
    assert await h.at(f'AT+QPING=1,"{ip}",4,1') == b"\r\nOK\r\n"  # and it answers pings
    await _looked_up(emu, "bg96")
    emu.advance(1)
    assert await h.expect(b"+QPING: 0,1,1,0,30,30,30\r\n") == (
        f'\r\n+QPING: 0,"{ip}",32,30,255\r\n\r\n+QPING: 0,1,1,0,30,30,30\r\n'.encode())
