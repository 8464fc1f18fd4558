"""Route faults on sessions that are already open: "the platform became unreachable mid-session".

Before: ``drop``/``delay`` faults were looked at only when a connection was opened, so an
EC800E registered over LwM2M kept delivering notifies, an open MQTT client kept its PINGRESPs
and a TCP socket kept sending while its route was "dropping". Now each executor asks the
FakeInternet per datagram / write (emulator/net/faultgate.py).

End to end: the modem in process (ModemHarness, virtual-time autojump), the embedded CTWing
servers on loopback; the faults come from scenario control actions and the console API.
"""

from __future__ import annotations

import time

import httpx
import pytest

from emulator.api.app import create_app
from emulator.backends.ctwing import tcp_codec as codec
from emulator.backends.lwm2m import dtls_adapter
from emulator.net.internet import Fault
from emulator.testing.harness import ModemHarness
from emulator.testing.host import until as _until

# the CoAPS (DTLS) variant needs the optional DTLSSocket package: skip with the reason without it
SECURE = [False, pytest.param(True, marks=[pytest.mark.needs_dtls, pytest.mark.skipif(
    not dtls_adapter.DTLS_AVAILABLE, reason=dtls_adapter.DTLS_MISSING_REASON or "DTLS")])]

pytestmark = pytest.mark.slow

IMEI = "868543060974334"
LWM2M_PSK_HEX = "5459766f69546b333444334e5a36474e"  # guide 001 §4.1.3.2 (TYvoiTk34D3NZ6GN)
MQTT_DEVICE = "16891291868543060025186"
MQTT_PASSWORD = "nFSzM3tjRCOYygFWrlOb26eKsiwYtoRqgP862HcxVwU"
TCP_DEVICE = "15436586863318069987727"
TCP_PASSWORD = "ny6f1tSA41DQUVPD6P8g4iOk9zWNg5LGa9LIzPymuE8"
LOGIN_HEX = codec.encode(codec.Login(TCP_DEVICE, TCP_PASSWORD)).hex()


def _stored(h: ModemHarness, device: str) -> list[bytes]:
    store = h.emulator.backends["ctwing"].store
    ident = h.emulator.backends["ctwing"]._device({"device": device}).device_id
    return list(store.payloads(ident))


def _settle(h: ModemHarness, seconds: float = 0.3) -> None:
    """Wall time for anything still in flight on loopback (a retransmission) to land."""
    time.sleep(seconds)
    h.drain()


# --- LwM2M (UDP/CoAP, optionally DTLS) ---------------------------------------------------------
def _lwm2m_register(h: ModemHarness, secure: bool) -> tuple[str, int]:
    h.command('AT+QLWCFG="lifetime_enable",0')
    if secure:  # guide 001 §4.1.3.2: DTLS product, urn:imei: endpoint, PSK identity = IMEI
        h.command(f'AT+QLWCONFIG=0,"2000033383.nb.ctwing.cn",5684,"urn:imei:{IMEI}",86400,0,'
                  f'"{IMEI}","{LWM2M_PSK_HEX}"')
    else:
        h.command(f'AT+QLWCONFIG=0,"221.229.214.202",5683,"{IMEI}",86400,3,0')
    h.command("AT+QLWADDOBJ=19,0,1,0")
    h.command("AT+QLWADDOBJ=19,1,1,0")
    h.command("AT+QLWREG", "OK", "+QLWREG: 0", '+QLWURC: "observe",{obs:\\d+},0,19,0,0', within="20s")
    h.command('AT+QLWOBSRSP={obs},1,19,0,0,2,10,"68656c6c6f776f726c64",0', "OK", "+QLWOBSRSP: {obs},0")
    return ("2000033383.nb.ctwing.cn", 5684) if secure else ("221.229.214.202", 5683)


def _con_notify(h: ModemHarness, hexdata: str) -> str:
    caps = h.command(f'AT+QLWNOTIFY=19,0,0,2,{len(hexdata) // 2},"{hexdata}",0,1', "OK",
                     '+QLWURC: "report",{mid:\\d+}', "+QLWNOTIFY: 0")
    return caps["mid"]


@pytest.mark.parametrize("secure", SECURE, ids=["coap", "dtls"])
def test_lwm2m_drop_mid_session_fails_the_con_notify_and_stores_nothing(secure: bool) -> None:
    with ModemHarness("ec800e", backends=["ctwing"]) as h:
        host, port = _lwm2m_register(h, secure)
        mid = _con_notify(h, "414243")
        h.expect(f'+QLWURC: "report_ack",0,{mid}')
        assert b"ABC" in _stored(h, IMEI)

        h.control(fault={"host": host, "port": port, "kind": "drop"})
        mid = _con_notify(h, "444546")  # CON: retransmitted, never ACKed
        h.command('AT+QLWNOTIFY=19,0,0,2,3,"474849",0,0', "OK", "+QLWNOTIFY: 0")  # NON: just lost
        h.expect_none("61s")  # MAX_TRANSMIT_WAIT with the default retransmit 2,4 is 62 s
        h.expect(f'+QLWURC: "report_ack",1,{mid}', within="2s")
        h.command("AT+QLWUPDATE=0,86400", "OK", "+QLWUPDATE: -2,{umid:\\d+}", within="70s")

        h.control(clear_faults=True)
        mid = _con_notify(h, "4a4b4c")
        h.expect(f'+QLWURC: "report_ack",0,{mid}')
        _settle(h)
        stored = _stored(h, IMEI)
        assert b"JKL" in stored
        assert b"DEF" not in stored and b"GHI" not in stored, stored


@pytest.mark.parametrize("secure", SECURE, ids=["coap", "dtls"])
def test_lwm2m_delay_mid_session_holds_the_ack_on_the_virtual_clock(secure: bool) -> None:
    with ModemHarness("ec800e", backends=["ctwing"]) as h:
        host, port = _lwm2m_register(h, secure)
        h.control(fault={"host": host, "port": port, "kind": "delay", "seconds": 10})
        start = h.now
        mid = _con_notify(h, "414243")
        h.expect(f'+QLWURC: "report_ack",0,{mid}', within="30s")
        # 10 s out, 10 s back (the ACK): the platform's wall-clock timers never waited for it
        assert 20.0 <= h.now - start < 30.0
        assert b"ABC" in _stored(h, IMEI)


# --- MQTT (AT+QMT*) --------------------------------------------------------------------------------
def _mqtt_connected(h: ModemHarness, keepalive: int = 60) -> None:
    h.command('AT+QMTCFG="version",0,4')
    h.command(f'AT+QMTCFG="keepalive",0,{keepalive}')
    h.command('AT+QMTOPEN=0,"mqtt.ctwing.cn",1883', "OK", "+QMTOPEN: 0,0")
    h.command(f'AT+QMTCONN=0,"{MQTT_DEVICE}","device001","{MQTT_PASSWORD}"', "OK", "+QMTCONN: 0,0,0")


def _publish(h: ModemHarness, payload: str, qos: int = 0, *result: str) -> None:
    h.send(f'AT+QMTPUBEX=0,{1 if qos else 0},{qos},0,"topic/data",{len(payload)}')
    h.expect_prompt()
    h.send_raw(payload.encode())
    h.expect("OK", *result)


def test_mqtt_drop_mid_session_ends_in_ping_timeout_and_stores_nothing() -> None:
    with ModemHarness("ec800e", backends=["ctwing"]) as h:
        _mqtt_connected(h, keepalive=60)
        _publish(h, '{"n":1}', 0, "+QMTPUBEX: 0,0,0")
        h.platform("ctwing", "expect_uplink", device=MQTT_DEVICE, payload='{"n":1}')

        transport = httpx.ASGITransport(app=create_app(h.emulator))

        async def console(method: str, **kw: object) -> int:
            async with httpx.AsyncClient(transport=transport, base_url="http://emu") as c:
                return (await c.request(method, "/api/network/faults", **kw)).status_code

        assert h._run(console("POST", json={"host": "mqtt.ctwing.cn", "port": 1883, "kind": "drop"}),
                      ) == 200
        _publish(h, '{"n":2}', 0, "+QMTPUBEX: 0,0,0")  # QoS 0: "sent" for the module
        # the PINGREQ after 60 s idle gets no PINGRESP: the link is declared dead
        h.expect("+QMTSTAT: 0,2", within="90s")
        _settle(h)
        assert h._run(console("DELETE")) == 200
        h.platform("ctwing", "expect_uplink", device=MQTT_DEVICE, payload='{"n":2}', absent=True)

        _mqtt_connected(h)  # the route works again
        _publish(h, '{"n":3}', 1, "+QMTPUBEX: 0,1,0")
        h.platform("ctwing", "expect_uplink", device=MQTT_DEVICE, payload='{"n":3}')
        h.platform("ctwing", "expect_uplink", device=MQTT_DEVICE, payload='{"n":2}', absent=True)


def test_mqtt_cut_by_the_console_resets_an_open_qmt_session() -> None:
    """A console ``cut`` reset open AT+QI* sockets and ThingPlug links only: an AT+QMT session
    on the cut route stayed up. The module sees the peer close it (+QMTSTAT: <id>,1)."""
    with ModemHarness("ec800e", backends=["ctwing"]) as h:
        _mqtt_connected(h, keepalive=3600)
        transport = httpx.ASGITransport(app=create_app(h.emulator))

        async def console(method: str, **kw: object) -> int:
            async with httpx.AsyncClient(transport=transport, base_url="http://emu") as c:
                return (await c.request(method, "/api/network/faults", **kw)).status_code

        assert h._run(console("POST", json={"host": "mqtt.ctwing.cn", "port": 1883, "kind": "cut"})) == 200
        h.expect("+QMTSTAT: 0,1", within="10s")
        assert h._run(console("DELETE")) == 200  # the standing cut would reset new sessions too
        _mqtt_connected(h, keepalive=3600)
        _publish(h, '{"n":9}', 1, "+QMTPUBEX: 0,1,0")
        h.platform("ctwing", "expect_uplink", device=MQTT_DEVICE, payload='{"n":9}')


def test_mqtt_qos1_publish_is_retried_and_fails_while_dropped() -> None:
    with ModemHarness("ec800e", backends=["ctwing"]) as h:
        h.command('AT+QMTCFG="timeout",0,5,2,1')  # 5 s packet timeout, 2 retries, notices
        _mqtt_connected(h, keepalive=3600)
        h.control(fault={"host": "mqtt.ctwing.cn", "port": 1883, "kind": "drop"})
        _publish(h, '{"n":4}', 1)
        h.expect("+QMTPUBEX: 0,1,1,1", "+QMTPUBEX: 0,1,1,2", "+QMTPUBEX: 0,1,2", within="20s")
        h.platform("ctwing", "expect_uplink", device=MQTT_DEVICE, payload='{"n":4}', absent=True)


def test_mqtt_delay_mid_session_holds_the_puback() -> None:
    with ModemHarness("ec800e", backends=["ctwing"]) as h:
        _mqtt_connected(h, keepalive=3600)
        h.control(fault={"host": "mqtt.ctwing.cn", "port": 1883, "kind": "delay", "seconds": 3})
        start = h.now
        _publish(h, '{"n":5}', 1, "+QMTPUBEX: 0,1,0")
        assert 6.0 <= h.now - start < 10.0  # 3 s to the broker, 3 s for the PUBACK
        h.platform("ctwing", "expect_uplink", device=MQTT_DEVICE, payload='{"n":5}')


# --- TCP (AT+QI*) ------------------------------------------------------------------------------------
def _tcp_login(h: ModemHarness) -> None:
    h.command('AT+QICFG="dataformat",1,1')
    h.command('AT+QIOPEN=0,0,"TCP","tcp.ctwing.cn",8996,0,1', "OK", "+QIOPEN: 0,0")
    h.command(f'AT+QISEND=0,76,"{LOGIN_HEX}"', "OK", "SEND OK", '+QIURC: "recv",0,3,', "050000")


def _uplink_hex(text: str) -> str:
    return codec.encode(codec.Uplink(text.encode())).hex()


def test_tcp_drop_stalls_the_send_until_the_module_gives_up() -> None:
    with ModemHarness("ec800e", backends=["ctwing"]) as h:
        _tcp_login(h)
        h.command('AT+QICFG="tcp/retranscfg",3,20')  # 1 + 2 + 2 + 2 = 7 s of retransmissions
        h.control(fault={"host": "tcp.ctwing.cn", "port": 8996, "kind": "drop"})
        up = _uplink_hex("lost")
        h.command(f'AT+QISEND=0,{len(up) // 2},"{up}"', "OK", "SEND OK")  # into the send buffer
        sent = 76 + len(up) // 2
        h.command("AT+QISEND=0,0", f"+QISEND: {sent},76,{len(up) // 2}", "OK")  # not acknowledged
        h.expect('+QIURC: "closed",0', within="10s")
        h.command("AT+QICLOSE=0", "OK")
        _settle(h)
        h.platform("ctwing", "expect_uplink", device=TCP_DEVICE, payload="lost", absent=True)
        h.control(clear_faults=True)
        _tcp_login(h)
        up = _uplink_hex("back")
        h.command(f'AT+QISEND=0,{len(up) // 2},"{up}"', "OK", "SEND OK")
        h.platform("ctwing", "expect_uplink", device=TCP_DEVICE, payload="back")


def test_tcp_drop_then_clear_delivers_the_held_data_in_order() -> None:
    with ModemHarness("ec800e", backends=["ctwing"]) as h:
        _tcp_login(h)
        h.control(fault={"host": "tcp.ctwing.cn", "port": 8996, "kind": "drop"})
        h.command('AT+QISEND=0,1,"04"', "OK", "SEND OK")  # heartbeat, held by the route
        h.expect_none("30s")  # no heartbeat answer (0x06) comes back
        h.control(clear_faults=True)  # TCP's retransmission gets through now
        h.expect('+QIURC: "recv",0,1,', "06", within="5s")
        h.command("AT+QISEND=0,0", "+QISEND: 77,77,0", "OK")


def test_tcp_delay_mid_session_holds_data_both_ways() -> None:
    with ModemHarness("ec800e", backends=["ctwing"]) as h:
        _tcp_login(h)
        h.control(fault={"host": "tcp.ctwing.cn", "port": 8996, "kind": "delay", "seconds": 4})
        start = h.now
        h.command('AT+QISEND=0,1,"04"', "OK", "SEND OK", '+QIURC: "recv",0,1,', "06", within="20s")
        assert 8.0 <= h.now - start < 12.0


# --- UDP (AT+QIOPEN "UDP") -----------------------------------------------------------------------------


async def test_udp_datagrams_are_lost_while_dropped_and_late_while_delayed(rig) -> None:
    emu, peers, hosts = rig
    h = hosts["bg96"]
    await h.at('AT+QIOPEN=1,4,"UDP","udp.example.com",7,0,1')
    await h.expect(b"+QIOPEN: 4,0\r\n")
    emu.internet.add_fault("udp.example.com", 7, Fault("drop"))
    assert await h.at('AT+QISENDEX=4,"6c6f7374"') == b"\r\nSEND OK\r\n"  # "lost": UDP is fire and forget
    assert await h.quiet(0.3) == b"" and b"lost" not in peers.received["udp"]

    emu.internet.clear_faults()
    emu.internet.add_fault("udp.example.com", 7, Fault("delay", seconds=5))
    assert await h.at('AT+QISENDEX=4,"6c617465"') == b"\r\nSEND OK\r\n"  # "late"
    assert await h.quiet(0.2) == b"" and b"late" not in peers.received["udp"]
    emu.advance(5)  # out to the echo server ...
    await _until(lambda: b"late" in peers.received["udp"])
    assert await h.quiet(0.2) == b""
    emu.advance(5)  # ... and back
    assert await h.expect(b"late\r\n") == b'\r\n+QIURC: "recv",4,4\r\nlate\r\n'

    emu.internet.clear_faults()
    assert await h.at('AT+QISENDEX=4,"6261636b"') == b"\r\nSEND OK\r\n"
    assert await h.expect(b"back\r\n") == b'\r\n+QIURC: "recv",4,4\r\nback\r\n'
