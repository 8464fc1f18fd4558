"""Fair scheduling (issue 16 item 2): one host floods 2 MB of ``AT<CR>`` into a modem whose
command pends (a transparent ``AT+QIOPEN`` held by a ``drop`` fault); the fault is cleared and
the clock advanced so the whole backlog runs. All along, the other modems, both MQTT brokers and
the console API keep answering. Bounds are generous ("within 5 s"): this asserts that they
answer at all, not how fast (performance lives in ``make bench``).
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

paho = pytest.importorskip("paho.mqtt.client")

from relhelp import BLACKHOLE, at, http, json_post, scale  # noqa: E402

pytestmark = [pytest.mark.slow]
WALL = 5.0


class Flood(threading.Thread):
    """Send ``AT<CR>`` * n on a modem's TCP port as fast as the port takes it; never read."""

    def __init__(self, sock: socket.socket, lines: int) -> None:
        super().__init__(daemon=True)
        self.sock, self.data, self.sent = sock, b"AT\r" * lines, 0

    def run(self) -> None:
        view = memoryview(self.data)
        try:
            while self.sent < len(self.data):
                self.sent += self.sock.send(view[self.sent:self.sent + 65536])
        except OSError:
            pass


def _mqtt_answers(host: str, port: int) -> bool:
    """A CONNECT gets a CONNACK (whatever its code: the broker answered)."""
    got = threading.Event()
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="fairness-probe")
    client.username_pw_set("nobody", "nothing")
    client.on_connect = lambda *a, **k: got.set()
    client.on_connect_fail = lambda *a, **k: got.set()
    client.connect(host, port, keepalive=30)
    deadline = time.monotonic() + WALL
    while not got.is_set() and time.monotonic() < deadline:
        client.loop(0.05)
    client.disconnect()
    return got.is_set()


def _others_answer(served, others: dict[str, socket.socket]) -> None:
    for name, sock in others.items():
        assert at(sock, b"AT", wall=WALL).endswith(b"OK\r\n"), name
    status, modems = http(served, "GET", "/api/modems", timeout=WALL)
    assert status == 200 and len(modems) == 4
    for key in ("thingplug_mqtt", "ctwing_mqtt"):
        host, _, port = served.info["backends"][key].rpartition(":")
        assert _mqtt_answers(host, int(port)), key


@pytest.mark.timeout(scale(120, 400))
def test_a_flooded_modem_starves_nobody(served) -> None:
    flooded = socket.create_connection(served.tcp("ec800e"))
    others = {name: socket.create_connection(served.tcp(name)) for name in ("bg96", "wm-n400mse")}
    try:
        assert json_post(served, "/api/network/faults", {"host": BLACKHOLE, "port": 9, "kind": "drop"})[0] == 200
        flooded.sendall(f'AT+QIOPEN=1,0,"TCP","{BLACKHOLE}",9,0,2\r'.encode())
        flood = Flood(flooded, scale(700_000, 3_500_000))  # 2.1 MB (10.5 MB in soak)
        flood.start()
        deadline = time.monotonic() + 10
        while flood.sent < 65536 and time.monotonic() < deadline:
            time.sleep(0.01)
        _others_answer(served, others)  # while the input piles up against the held command
        status, modem = http(served, "GET", "/api/modems/ec800e")
        assert status == 200 and modem["rx_bytes"] < 64 * 1024, modem  # bounded, not 2 MB

        assert http(served, "DELETE", "/api/network/faults")[0] == 200
        # The QIOPEN times out in the advance, and the backlog runs flat out from then on. An
        # advance lets loopback I/O settle after deadlines that touched the network; what a host
        # types (the flood) does not keep it from settling (transport/advance.py).
        advanced: list = []
        advance = threading.Thread(target=lambda: advanced.append(
            json_post(served, "/api/clock/advance", {"seconds": 200}, timeout=3 * WALL)), daemon=True)
        advance.start()
        rounds, deadline = 0, time.monotonic() + scale(60, 240)
        while (flood.is_alive() or advance.is_alive()) and time.monotonic() < deadline:
            _others_answer(served, others)  # ... and still nobody starves
            rounds += 1
        advance.join(3 * WALL)
        assert advanced and advanced[0][0] == 200, advanced
        assert rounds >= 1
        flood.join(WALL)
        assert flood.sent == len(flood.data)  # the whole flood was taken in the end
    finally:
        http(served, "DELETE", "/api/network/faults")
        flooded.close()
        for sock in others.values():
            sock.close()


@pytest.mark.timeout(scale(120, 400))
def test_a_years_long_clock_advance_starves_nobody(tmp_path) -> None:
    """Years of PSM cycles (a 40-minute TAU: ~39,000 timers a year; 3 years, 10 in soak) fire while another
    modem and the API keep answering; the advance yields to the loop in slices."""
    from relhelp import serve
    srv = serve(tmp_path, "--no-backends", "--module", "bg96", "--module", "ec800e")
    try:
        with socket.create_connection(srv.tcp("ec800e")) as dev, socket.create_connection(srv.tcp("bg96")) as other:
            for line in (b"AT+CEREG=4", b'AT+CPSMS=1,,,"00000100","00000001"', b'AT+QCFG="urc/psm",1'):
                assert b"\r\nOK\r\n" in at(dev, line)  # (a +CEREG URC may follow the OK)
            done: list = []
            years = scale(3, 10)  # 10: the most one advance takes
            advance = threading.Thread(target=lambda: done.append(json_post(
                srv, "/api/clock/advance", {"seconds": years * 365 * 86400}, timeout=300)), daemon=True)
            advance.start()
            rounds = 0
            while advance.is_alive():
                assert at(other, b"AT", wall=WALL).endswith(b"OK\r\n")
                assert http(srv, "GET", "/api/clock", timeout=WALL)[0] == 200
                rounds += 1
            assert done and done[0][0] == 200, done
            assert done[0][1]["fired"] > years * 30_000  # it really fired them all
            assert rounds > 1
        # the device answers after it all (on a fresh connection: the first one never read its
        # ~780,000 URCs, so past 64 KiB the newest bytes were dropped, as documented)
        with socket.create_connection(srv.tcp("ec800e")) as dev:
            assert b"\r\nOK\r\n" in at(dev, b"AT")  # (in PSM: OK, then +QIND: EXIT PSM)
    finally:
        assert srv.stop() == 0
