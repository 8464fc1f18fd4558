"""``GET /api/events`` of a real serve, read with httpx and httpx-sse (a client-side SSE
parser): AT lines typed into a modem's pty appear as ``at`` events (``dir``, ``line``, ``ts``,
``modem``), the answer computed by the module included; a CTWing login over MQTT appears with
its device; ``serve`` prints the same events as readable lines; a client that leaves gives its
subscription back."""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.request

import pytest

httpx = pytest.importorskip("httpx")
httpx_sse = pytest.importorskip("httpx_sse", reason="httpx-sse is not installed (pip install -e .[test])")
pytest.importorskip("serial")

from emulator.testing.ptyline import PtyLine as Line  # noqa: E402

pytestmark = [pytest.mark.pty, pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="POSIX ptys")]

MQTT_DEVICE = "16891291868543060025186"  # guide 001 §4.2.3, in the CTWing defaults
FEATURE = "nFSzM3tjRCOYygFWrlOb26eKsiwYtoRqgP862HcxVwU"


def _get(info: dict, path: str) -> object:
    with urllib.request.urlopen(info["api"] + path, timeout=5) as resp:
        return json.loads(resp.read())


class Collector:
    """Reads the SSE stream in a thread; ``wait(pred)`` polls what arrived."""

    def __init__(self, url: str) -> None:
        self.events: list[dict] = []
        self.headers: dict = {}
        self.opened = threading.Event()
        self.stop = False
        self.thread = threading.Thread(target=self._run, args=(url,), daemon=True)
        self.thread.start()
        assert self.opened.wait(10), "no answer from /api/events"

    def _run(self, url: str) -> None:
        try:
            self._read(url)
        except httpx.HTTPError:  # the server stopped at the end of the module: the stream ends
            pass

    def _read(self, url: str) -> None:
        with httpx.Client(timeout=httpx.Timeout(5.0, read=None)) as client:
            with httpx_sse.connect_sse(client, "GET", url) as source:
                self.headers = dict(source.response.headers)
                self.opened.set()
                for sse in source.iter_sse():  # a real SSE parser, not ours
                    if self.stop:
                        return
                    event = json.loads(sse.data)
                    assert sse.id == str(event.get("seq", "")), (sse.id, event)  # "dropped": none
                    self.events.append(event)

    def wait(self, pred, timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for ev in list(self.events):
                if pred(ev):
                    return ev
            time.sleep(0.02)
        raise AssertionError(f"no such event; got {self.events[-20:]}")


def test_events_carry_at_lines_and_logins(served) -> None:
    info, links, out = served
    col = Collector(info["api"] + "/api/events")
    assert col.headers["content-type"].startswith("text/event-stream")
    imei = _get(info, "/api/modems/bg96")["imei"]
    line = Line(str(links / "bg96"))
    try:
        line.cmd("AT+CGSN", f"\r\n{imei}\r\n\r\nOK\r\n".encode())
    finally:
        line.close()
    typed = col.wait(lambda e: e["type"] == "at" and e["modem"] == "bg96" and e["dir"] == "in")
    assert typed["line"] == "AT+CGSN" and isinstance(typed["ts"], float)
    answer = col.wait(lambda e: e["type"] == "at" and e["modem"] == "bg96" and e["dir"] == "out"
                      and e["seq"] > typed["seq"])
    assert answer["line"] == imei and not answer.get("urc")
    ok = col.wait(lambda e: e["type"] == "at" and e["seq"] > answer["seq"] and e["modem"] == "bg96")
    assert ok["line"] == "OK"
    assert typed["ts"] <= answer["ts"] <= ok["ts"]

    # a data phase and a platform login: the EC800E's guide-001 MQTT flow
    line = Line(str(links / "ec800e"))
    try:
        line.cmd('AT+QMTOPEN=0,"2000033383.non-nb.ctwing.cn",1883', b"\r\nOK\r\n\r\n+QMTOPEN: 0,0\r\n")
        line.cmd(f'AT+QMTCONN=0,"{MQTT_DEVICE}","device001","{FEATURE}"', b"\r\nOK\r\n\r\n+QMTCONN: 0,0,0\r\n")
        line.cmd('AT+QMTPUBEX=0,0,0,0,"topic/data",5', b"\r\n> ")
        line.say(b"hello", b"hello\r\nOK\r\n\r\n+QMTPUBEX: 0,0,0\r\n")
        line.cmd("AT+QMTCLOSE=0", b"\r\nOK\r\n\r\n+QMTCLOSE: 0,0\r\n")
    finally:
        line.close()
    login = col.wait(lambda e: e["type"] == "login" and e.get("platform") == "ctwing")
    assert login["device"] == MQTT_DEVICE
    up = col.wait(lambda e: e["type"] == "uplink" and e.get("device") == MQTT_DEVICE)
    assert up["base64"] == "aGVsbG8=" and up["protocol"] == "mqtt"
    payload = col.wait(lambda e: e["type"] == "at" and e["modem"] == "ec800e" and e["line"].startswith("<payload"))
    assert payload["line"] == "<payload 5 bytes>" and payload["dir"] == "in"
    urc = col.wait(lambda e: e["type"] == "at" and e["modem"] == "ec800e" and e["line"] == "+QMTOPEN: 0,0")
    assert urc["urc"] is True
    col.stop = True

    text = out.read_text()  # serve's own one line per event
    assert f"bg96 -> AT+CGSN" in text and f"bg96 <- {imei}" in text
    assert f"ctwing {MQTT_DEVICE}: uplink \"hello\" (mqtt)" in text


def test_a_client_that_leaves_gives_its_subscription_back() -> None:
    """The stream of a client that disconnects ends and unsubscribes (no queue left filling)."""
    import asyncio

    from emulator.config import Config, default_modems
    from emulator.serve import ApiServer
    from emulator.transport.runner import Emulator

    async def run() -> tuple[int, int]:
        emu = Emulator(Config(), modems=default_modems(["bg96"]), with_pty=False, with_tcp=False,
                       backends=[], follow_wall=False)
        await emu.start()
        api = ApiServer(emu, "127.0.0.1:0", ephemeral=True)
        url = await api.start()
        try:
            async with httpx.AsyncClient(timeout=5.0) as client:
                async with client.stream("GET", url + "/api/events") as resp:
                    async for _line in resp.aiter_lines():
                        break  # the opening comment: subscribed
                    during = emu.events.subscribers
            for _ in range(500):  # until the server saw the disconnect (bounded, not timed)
                if emu.events.subscribers == 0:
                    break
                emu.advance(1)  # an event wakes the stream, as on a live emulator
                await asyncio.sleep(0.01)
            return during, emu.events.subscribers
        finally:
            await api.stop()
            await emu.stop()
    during, after = asyncio.run(run())
    assert (during, after) == (1, 0)


def test_a_reconnecting_page_is_not_sent_what_it_already_has() -> None:
    """The browser's EventSource reconnects by itself (same URL, ``?backfill=1``) and sends
    ``Last-Event-ID``: the back-fill then starts after that event, so the transcript does not
    show the boot URCs twice. An id the bus never reached (serve restarted) back-fills all."""
    import asyncio

    from emulator.config import Config, default_modems
    from emulator.serve import ApiServer
    from emulator.transport.runner import Emulator

    async def first_seqs(url: str, last_id: str | None) -> list[int]:
        headers = {} if last_id is None else {"Last-Event-ID": last_id}
        seqs: list[int] = []
        async with httpx.AsyncClient(timeout=5.0) as client:
            async with httpx_sse.aconnect_sse(client, "GET", url + "/api/events?backfill=1",
                                              headers=headers) as source:
                async for sse in source.aiter_sse():
                    seqs.append(json.loads(sse.data)["seq"])
                    if seqs[-1] >= 3 or len(seqs) >= 3:
                        break
        return seqs

    async def run() -> tuple[list[int], list[int], list[int]]:
        emu = Emulator(Config(), modems=default_modems(["bg96"]), with_pty=False, with_tcp=False,
                       backends=[], follow_wall=False)
        await emu.start()  # the boot: RDY ... as events 1, 2, 3 ...
        api = ApiServer(emu, "127.0.0.1:0", ephemeral=True)
        url = await api.start()
        try:
            return (await first_seqs(url, None), await first_seqs(url, "2"),
                    await first_seqs(url, "999999"))
        finally:
            await api.stop()
            await emu.stop()
    fresh, resumed, restarted = asyncio.run(run())
    assert fresh[:2] == [1, 2] and resumed[0] == 3 and restarted[:2] == [1, 2], (fresh, resumed, restarted)
