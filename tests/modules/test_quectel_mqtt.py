"""AT+QMT* end to end: emulated module -> FakeInternet route -> a real broker on loopback.

The guide's §4.2.3 transcript (seed 001) runs as written, except AT+QMTCCONN (a typo: ERROR).
Brokers: amqtt in-process, mosquitto (real peer, skipped when missing), and a scripted broker
for timer cases. Timers are moved with ``emu.advance`` (virtual time), never by sleeping.
"""

from __future__ import annotations

import asyncio

import pytest

from emulator.config import Config, ModemSpec
from emulator.testing.host import until
from emulator.testing.mqtt_peers import (
    PahoPeer,
    ScriptedBroker,
    amqtt_broker,
    mosquitto_broker,
    self_signed_cert,
)
from emulator.transport.runner import Emulator

CTWING = "2000033383.non-nb.ctwing.cn"
DEVICE_ID = "16891291868543060025186"
TOKEN = "nFSzM3tjRCOYygFWrlOb26eKsiwYtoRqgP862HcxVwU"
JSON = b'{"temp":22.5,"humi":78}'


class At:
    """Talk to one emulated modem in-process; ``wait`` polls for bytes (I/O, not protocol time)."""

    def __init__(self, emu: Emulator, name: str) -> None:
        self.emu, self.port = emu, emu.ports[name]
        self.buf = bytearray()
        self.mark = 0
        self.port.sinks.append(self.buf.extend)

    async def wait(self, needle: bytes | str, timeout: float = 5.0) -> bytes:
        needle = needle.encode() if isinstance(needle, str) else needle
        for _ in range(int(timeout / 0.01)):
            pos = self.buf.find(needle, self.mark)
            if pos >= 0:
                self.mark = pos + len(needle)
                return bytes(self.buf[:self.mark])
            await asyncio.sleep(0.01)
        raise AssertionError(f"{needle!r} not seen; got {bytes(self.buf[self.mark:])!r}")

    async def cmd(self, line: str, final: str = "OK") -> bytes:
        start = len(self.buf)
        self.mark = start
        self.port.feed(line.encode() + b"\r")
        await self.wait(f"\r\n{final}\r\n")
        return bytes(self.buf[start:self.mark])

    async def prompt(self, line: str) -> None:
        self.mark = len(self.buf)
        self.port.feed(line.encode() + b"\r")
        await self.wait(b"\r\n> ")

    async def urc(self, text: str, timeout: float = 5.0) -> None:
        await self.wait(f"\r\n{text}\r\n", timeout)

    def since(self, start: int = 0) -> bytes:
        return bytes(self.buf[start:])


@pytest.fixture
async def emu():
    e = Emulator(Config(), modems=[ModemSpec("ec800e", "ec800e"), ModemSpec("bg96", "bg96")], ephemeral=True,
                 with_pty=False, with_tcp=False, backends=[], follow_wall=False)
    await e.start()
    yield e
    await e.stop()


async def open_connect(at: At, host: str = CTWING, user: str = "device001", pw: str = TOKEN) -> None:
    await at.cmd(f'AT+QMTOPEN=0,"{host}",1883')
    await at.urc("+QMTOPEN: 0,0")
    await at.cmd(f'AT+QMTCONN=0,"{DEVICE_ID}","{user}","{pw}"')
    await at.urc("+QMTCONN: 0,0,0")


async def test_guide_4_2_3_transcript_reaches_the_application(emu):
    async with amqtt_broker() as (_, port):
        emu.internet.add_route(CTWING, 1883, ("127.0.0.1", port))
        app = PahoPeer(port)
        try:
            await app.wait_connected()
            await app.subscribe("topic/data")
            at = At(emu, "ec800e")
            for line in ('AT+QMTCFG="version",0,4', 'AT+QMTCFG="will",0,0', 'AT+QMTCFG="session",0,0',
                         'AT+QMTCFG="ssl",0,0', 'AT+QMTCFG="keepalive",0,3600'):
                assert await at.cmd(line) == f"{line}\r\r\nOK\r\n".encode()
            assert await at.cmd(f'AT+QMTOPEN=0,"{CTWING}",1883') == f'AT+QMTOPEN=0,"{CTWING}",1883\r\r\nOK\r\n'.encode()
            await at.urc("+QMTOPEN: 0,0")
            # the guide's typo: a real module does not know AT+QMTCCONN (docs/guides.md)
            await at.cmd(f'AT+QMTCCONN=0,"{DEVICE_ID}","device001","{TOKEN}"', final="ERROR")
            await at.cmd(f'AT+QMTCONN=0,"{DEVICE_ID}","device001","{TOKEN}"')
            await at.urc("+QMTCONN: 0,0,0")
            await at.cmd('AT+QMTSUB=0,1,"topic/event",0')
            await at.urc("+QMTSUB: 0,1,0,0")
            start = len(at.buf)
            at.port.feed(b'AT+QMTPUBEX=0,0,0,0,"topic/data",23\r')
            await at.wait(b"\r\n> ")
            at.port.feed(JSON)
            await at.urc("+QMTPUBEX: 0,0,0")
            assert at.since(start) == (b'AT+QMTPUBEX=0,0,0,0,"topic/data",23\r\r\n> ' + JSON +
                                       b"\r\nOK\r\n\r\n+QMTPUBEX: 0,0,0\r\n")
            assert (await app.next_message())[:2] == ("topic/data", JSON)
            await at.cmd("AT+QMTCLOSE=0")
            await at.urc("+QMTCLOSE: 0,0")
        finally:
            app.close()


async def test_qos1_qos2_publish_with_msgids_and_config_queries(emu):
    async with amqtt_broker() as (_, port):
        emu.internet.add_route(CTWING, 1883, ("127.0.0.1", port))
        app = PahoPeer(port)
        try:
            await app.wait_connected()
            await app.subscribe("up/#", 2)
            at = At(emu, "ec800e")
            assert b'+QMTCFG: "keepalive",120' in await at.cmd('AT+QMTCFG="keepalive",0')
            await at.cmd('AT+QMTCFG="timeout",0,10')
            assert b'+QMTCFG: "timeout",10,3,0' in await at.cmd('AT+QMTCFG="timeout",0')
            await at.cmd('AT+QMTCFG="version",0,5', final="ERROR")
            await at.cmd('AT+QMTCFG="keepalive",6,60', final="ERROR")
            await at.cmd('AT+QMTCFG="nonsense",0', final="ERROR")
            assert b'+QMTCFG: "recv/mode",(0-5),(0,1),(0,1)' in await at.cmd("AT+QMTCFG=?")
            await open_connect(at)
            assert b"+QMTCONN: 0,3" in await at.cmd("AT+QMTCONN?")
            assert f'+QMTOPEN: 0,"{CTWING}",1883'.encode() in await at.cmd("AT+QMTOPEN?")
            await at.prompt('AT+QMTPUBEX=0,5,1,0,"up/one",3')
            at.port.feed(b"one")
            await at.urc("+QMTPUBEX: 0,5,0")
            await at.prompt('AT+QMTPUBEX=0,6,2,0,"up/two",3')
            at.port.feed(b"two")
            await at.urc("+QMTPUBEX: 0,6,0")
            got = {(await app.next_message())[:2], (await app.next_message())[:2]}
            assert got == {("up/one", b"one"), ("up/two", b"two")}
            await at.cmd('AT+QMTPUBEX=0,3,0,0,"up/x",1', final="ERROR")  # QoS 0 needs msgID 0
            await at.cmd('AT+QMTPUBEX=0,0,1,0,"up/x",1', final="ERROR")  # QoS 1 needs msgID > 0
            await at.cmd('AT+QMTPUBEX=0,1,1,0,"up/#",1', final="ERROR")  # no wildcard topics
            await at.cmd('AT+QMTPUBEX=1,0,0,0,"up/x",1', final="ERROR")  # client 1 is not connected
            await at.cmd("AT+QMTDISC=0")
            await at.urc("+QMTDISC: 0,0")
            await at.cmd('AT+QMTPUBEX=0,0,0,0,"up/x",1', final="ERROR")  # not connected any more
        finally:
            app.close()


async def test_incoming_messages_push_and_length_modes(emu):
    async with amqtt_broker() as (_, port):
        emu.internet.add_route(CTWING, 1883, ("127.0.0.1", port))
        app = PahoPeer(port)
        try:
            await app.wait_connected()
            at = At(emu, "ec800e")
            await open_connect(at)
            await at.cmd('AT+QMTSUB=0,2,"device_control",0,"cmd/#",1')
            await at.urc("+QMTSUB: 0,2,0,0,1")
            await app.publish("device_control", '{"taskId":1}', qos=0)
            await at.urc('+QMTRECV: 0,0,"device_control","{"taskId":1}"')
            await at.cmd('AT+QMTCFG="recv/mode",0,0,1')
            await app.publish("cmd/x", "hello", qos=1)
            await at.wait(b'\r\n+QMTRECV: 0,')
            await at.wait(b',"cmd/x",5,"hello"\r\n')
            await at.cmd('AT+QMTUNS=0,3,"cmd/#"')
            await at.urc("+QMTUNS: 0,3,0")
        finally:
            app.close()


async def test_buffer_mode_stores_and_reads_messages(emu):
    async with amqtt_broker() as (_, port):
        emu.internet.add_route(CTWING, 1883, ("127.0.0.1", port))
        app = PahoPeer(port)
        try:
            await app.wait_connected()
            at = At(emu, "ec800e")
            await at.cmd('AT+QMTCFG="recv/mode",0,1,0')
            await open_connect(at)
            await at.cmd('AT+QMTSUB=0,1,"d",0')
            await at.urc("+QMTSUB: 0,1,0,0")
            await app.publish("d", "stored")
            await at.urc("+QMTRECV: 0,0")
            assert b"+QMTRECV: 0,1,0,0,0,0" in await at.cmd("AT+QMTRECV?")
            assert b'+QMTRECV: 0,0,"d","stored"' in await at.cmd("AT+QMTRECV=0,0")
            assert b"+QMTRECV: 0,0,0,0,0,0" in await at.cmd("AT+QMTRECV?")
        finally:
            app.close()


async def test_refused_credentials_report_connack_code_then_stat(emu):
    async with amqtt_broker(credentials=("device001", TOKEN)) as (_, port):
        emu.internet.add_route(CTWING, 1883, ("127.0.0.1", port))
        at = At(emu, "ec800e")
        await at.cmd(f'AT+QMTOPEN=0,"{CTWING}",1883')
        await at.urc("+QMTOPEN: 0,0")
        await at.cmd(f'AT+QMTCONN=0,"{DEVICE_ID}","device001","wrong"')
        # CONNACK 5 (not authorized); the broker then closes the link (MQTT-3.2.2-5)
        await at.urc("+QMTCONN: 0,0,5")
        await at.urc("+QMTSTAT: 0,4")
        await open_connect(at)  # right password: accepted


async def test_open_failures_dns_unrouted_pdp_and_occupied(emu):
    at = At(emu, "ec800e")
    await at.cmd('AT+QMTOPEN=0,"no.such.host.example",1883')
    await at.urc("+QMTOPEN: 0,4")
    await at.cmd('AT+QMTOPEN=0,"203.0.113.7",1883')  # a public IP nothing routes to
    await at.urc("+QMTOPEN: 0,-1")
    await at.cmd('AT+QMTCFG="pdpcid",1,5')
    await at.cmd('AT+QMTOPEN=1,"203.0.113.7",1883')  # context 5 was never defined or activated
    await at.urc("+QMTOPEN: 1,3")
    await at.cmd("AT+QMTCONN=0,\"x\"", final="ERROR")  # not opened
    await at.cmd("AT+QMTCLOSE=0", final="ERROR")
    async with amqtt_broker() as (_, port):
        emu.internet.add_route(CTWING, 1883, ("127.0.0.1", port))
        await at.cmd(f'AT+QMTOPEN=0,"{CTWING}",1883')
        await at.urc("+QMTOPEN: 0,0")
        await at.cmd(f'AT+QMTOPEN=0,"{CTWING}",1883')
        await at.urc("+QMTOPEN: 0,2")
        assert b"+QMTCONN: 0,1" in await at.cmd("AT+QMTCONN?")
        await at.cmd("AT+QMTCLOSE=0")
        await at.urc("+QMTCLOSE: 0,0")


async def test_broker_stopped_gives_qmtstat_1(emu):
    async with amqtt_broker() as (broker, port):
        emu.internet.add_route(CTWING, 1883, ("127.0.0.1", port))
        at = At(emu, "ec800e")
        await open_connect(at)
        await broker.shutdown()
        await at.urc("+QMTSTAT: 0,1")
        await at.cmd('AT+QMTPUBEX=0,0,0,0,"t",1', final="ERROR")
        assert at.since().count(b"+QMTSTAT") == 1


async def test_network_detach_drops_the_client_and_reopen_works_after_attach(emu):
    from emulator.core.stimuli import NetworkAttach, NetworkDetach
    async with amqtt_broker() as (_, port):
        emu.internet.add_route(CTWING, 1883, ("127.0.0.1", port))
        at = At(emu, "ec800e")
        await open_connect(at)
        start = len(at.buf)
        emu.ports["ec800e"].stimulus(NetworkDetach())
        await at.urc("+QMTSTAT: 0,1")
        await at.cmd("AT+QMTCONN?")
        assert b"+QMTCONN: 0," not in at.since(start)  # the client is idle again
        await at.cmd('AT+QMTPUBEX=0,0,0,0,"t",1', final="ERROR")
        emu.ports["ec800e"].stimulus(NetworkAttach())
        await open_connect(at)
        assert at.since(start).count(b"+QMTSTAT") == 1


async def test_bg96_qmtpub_ctrl_z_esc_and_too_long(emu):
    async with amqtt_broker() as (_, port):
        emu.internet.add_route("broker.test", 1883, ("127.0.0.1", port))
        app = PahoPeer(port)
        try:
            await app.wait_connected()
            await app.subscribe("bg/#")
            at = At(emu, "bg96")
            await open_connect(at, host="broker.test")
            await at.prompt('AT+QMTPUB=0,0,0,0,"bg/esc"')
            at.port.feed(b"never sent\x1b")
            await at.wait(b"\r\nOK\r\n")
            await at.prompt('AT+QMTPUB=0,0,0,0,"bg/big"')
            at.port.feed(b"x" * 1549 + b"\x1a")
            await at.wait(b"\r\nERROR\r\n")
            await at.prompt('AT+QMTPUB=0,9,1,0,"bg/ok"')
            at.port.feed(b"This is test data, hello MQTT.\x1a")
            await at.urc("+QMTPUB: 0,9,0")
            topic, payload, _, _ = await app.next_message()
            assert (topic, payload) == ("bg/ok", b"This is test data, hello MQTT.")
            assert b"+QMTPUB: 0,0" not in at.since()  # the cancelled and too-long ones sent nothing
            await at.cmd('AT+QMTPUBEX=0,0,0,0,"bg/x",1', final="ERROR")  # not in BG96 firmware
            with pytest.raises(TimeoutError):
                await app.next_message(timeout=0.3)
        finally:
            app.close()


async def test_retransmission_notices_then_failure_on_virtual_clock(emu):
    fake = ScriptedBroker(puback=False)
    port = await fake.start()
    try:
        emu.internet.add_route(CTWING, 1883, ("127.0.0.1", port))
        at = At(emu, "ec800e")
        await at.cmd('AT+QMTCFG="timeout",0,5,2,1')
        await open_connect(at)
        await at.prompt('AT+QMTPUBEX=0,7,1,0,"t",2')
        at.port.feed(b"hi")
        await at.wait(b"\r\nOK\r\n")
        await until(lambda: "Publish" in fake.kinds())  # the executor has sent it: timer armed
        emu.advance(5)
        await at.urc("+QMTPUBEX: 0,7,1,1")
        emu.advance(5)
        await at.urc("+QMTPUBEX: 0,7,1,2")
        emu.advance(5)
        await at.urc("+QMTPUBEX: 0,7,2")
        assert [p.dup_flag for p in fake.received if type(p).__name__ == "PublishPacket"] == [False, True, True]
        fake.suback = False
        await at.cmd('AT+QMTSUB=0,9,"s",1')
        await until(lambda: "Subscribe" in fake.kinds())
        emu.advance(5)
        await at.urc("+QMTSUB: 0,9,1,1")
        emu.advance(10)
        await at.urc("+QMTSUB: 0,9,2")
        assert fake.kinds().count("Subscribe") == 3
    finally:
        await fake.stop()


async def test_keepalive_ping_timeout_and_connack_timeout(emu):
    fake = ScriptedBroker(pingresp=False)
    port = await fake.start()
    try:
        emu.internet.add_route(CTWING, 1883, ("127.0.0.1", port))
        at = At(emu, "ec800e")
        await at.cmd('AT+QMTCFG="keepalive",0,60')
        await open_connect(at)
        emu.advance(60)
        await until(lambda: "PingReq" in fake.kinds())
        emu.advance(5)
        await at.urc("+QMTSTAT: 0,2")
        fake.connack = None
        await at.cmd(f'AT+QMTOPEN=0,"{CTWING}",1883')
        await at.urc("+QMTOPEN: 0,0")
        await at.cmd('AT+QMTCONN=0,"dev"')
        await until(lambda: fake.kinds().count("Connect") == 2)
        assert b"+QMTCONN: 0,2" in await at.cmd("AT+QMTCONN?")
        emu.advance(5)
        await at.urc("+QMTSTAT: 0,4")
    finally:
        await fake.stop()


async def test_will_sent_on_close_but_not_after_disconnect(emu):
    async with amqtt_broker() as (_, port):
        emu.internet.add_route(CTWING, 1883, ("127.0.0.1", port))
        app = PahoPeer(port)
        try:
            await app.wait_connected()
            await app.subscribe("will/#")
            at = At(emu, "ec800e")
            await at.cmd('AT+QMTCFG="will",0,1,0,0,"will/dev","gone"')
            assert b'+QMTCFG: "will",1,0,0,"will/dev","gone"' in await at.cmd('AT+QMTCFG="will",0')
            await open_connect(at)
            await at.cmd("AT+QMTDISC=0")
            await at.urc("+QMTDISC: 0,0")
            with pytest.raises(TimeoutError):
                await app.next_message(timeout=0.3)
            await open_connect(at)
            await at.cmd("AT+QMTCLOSE=0")
            await at.urc("+QMTCLOSE: 0,0")
            assert (await app.next_message())[:2] == ("will/dev", b"gone")
        finally:
            app.close()


async def test_real_mosquitto_peer(emu):
    try:
        ctx = mosquitto_broker()
        port = ctx.__enter__()
    except FileNotFoundError:
        pytest.skip("mosquitto binary not installed (apt-get install mosquitto)")
    try:
        emu.internet.add_route("mqtt.ctwing.cn", 1883, ("127.0.0.1", port))
        app = PahoPeer(port)
        try:
            await app.wait_connected()
            await app.subscribe("data_report", 2)
            at = At(emu, "ec800e")
            await open_connect(at, host="mqtt.ctwing.cn")
            await at.cmd('AT+QMTSUB=0,1,"device_control",2')
            await at.urc("+QMTSUB: 0,1,0,2")
            for qos, mid in ((0, 0), (1, 11), (2, 12)):
                await at.prompt(f'AT+QMTPUBEX=0,{mid},{qos},0,"data_report",23')
                at.port.feed(JSON)
                await at.urc(f"+QMTPUBEX: 0,{mid},0")
                topic, payload, got_qos, _ = await app.next_message()
                assert (topic, payload, got_qos) == ("data_report", JSON, qos)  # min(pub, sub) = pub
            await app.publish("device_control", "on", qos=2)
            await at.wait(b'\r\n+QMTRECV: 0,')
            await at.wait(b',"device_control","on"\r\n')
            await at.cmd("AT+QMTDISC=0")
            await at.urc("+QMTDISC: 0,0")
        finally:
            app.close()
    finally:
        ctx.__exit__(None, None, None)


async def upload(at: At, name: str, data: bytes) -> bytes:
    """AT+QFUPL: the file's bytes after CONNECT; returns the +QFUPL line's output."""
    at.mark = len(at.buf)
    at.port.feed(f'AT+QFUPL="{name}",{len(data)}\r'.encode())
    await at.wait(b"\r\nCONNECT\r\n")
    start = at.mark
    at.port.feed(data)
    await at.wait(b"\r\nOK\r\n")
    return bytes(at.buf[start:at.mark])


async def test_mqtts_with_ssl_config_and_ca_from_the_ssl_context(emu, tmp_path):
    cert, key = self_signed_cert(tmp_path, CTWING)
    async with amqtt_broker(tls=(cert, key)) as (_, port):
        emu.internet.add_route(CTWING, 8883, ("127.0.0.1", port))
        at = At(emu, "ec800e")
        assert b'+QMTCFG: "ssl",0,0' in await at.cmd('AT+QMTCFG="ssl",0')
        await at.cmd('AT+QMTCFG="ssl",0,1,2')
        # the broker's CA, uploaded to the module and named in SSL context 2
        assert b"+QFUPL: " in await upload(at, "ca.pem", cert.read_bytes())
        await at.cmd('AT+QSSLCFG="cacert",2,"ca.pem";+QSSLCFG="seclevel",2,1')
        await at.cmd(f'AT+QMTOPEN=0,"{CTWING}",8883')
        await at.urc("+QMTOPEN: 0,0")
        await at.cmd(f'AT+QMTCONN=0,"{DEVICE_ID}"')
        await at.urc("+QMTCONN: 0,0,0")
        await at.cmd("AT+QMTCLOSE=0")
        await at.urc("+QMTCLOSE: 0,0")
        other, _ = self_signed_cert(tmp_path, "other.test")
        await upload(at, "other.pem", other.read_bytes())
        await at.cmd('AT+QSSLCFG="cacert",2,"other.pem"')
        await at.cmd(f'AT+QMTOPEN=0,"{CTWING}",8883')
        await at.urc("+QMTOPEN: 0,-1")  # the broker's certificate does not verify
