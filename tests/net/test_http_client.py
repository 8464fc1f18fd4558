"""AT+QHTTP* in-process against loopback HTTP peers built on h11 (the rig of conftest.py): a
host-built request (``"requestheader",1``) reaches the server as sent, a malformed one is 720,
a chunked response has no <content_length>, a server that never answers is 702 after <rsptime>
*virtual* seconds, AT+QHTTPSTOP cancels. Protocol time moves only with ``emu.advance_live``."""

from __future__ import annotations

import asyncio

import h11
import pytest

pytestmark = pytest.mark.slow


class HttpPeer:
    """An h11 server on 127.0.0.1:0; ``mode``: "echo" (answer the request line and headers back),
    "chunked" (a chunked body), "silent" (read, never answer)."""

    def __init__(self) -> None:
        self.requests: list[tuple[h11.Request, bytes]] = []
        self.mode = "echo"
        self.server = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader, writer) -> None:
        conn = h11.Connection(h11.SERVER)
        request, body = None, bytearray()
        try:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await reader.read(65536))
                    continue
                if isinstance(event, h11.Request):
                    request = event
                elif isinstance(event, h11.Data):
                    body += event.data
                elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                    break
            self.requests.append((request, bytes(body)))
            if self.mode == "silent":
                await reader.read()  # until the client gives up
                return
            payload = b"%s %s|%s|" % (request.method, request.target, dict(request.headers).get(b"x-dev", b"")) + body
            if self.mode == "chunked":
                out = conn.send(h11.Response(status_code=200, headers=[("Transfer-Encoding", "chunked")]))
                for i in range(0, len(payload), 4):
                    out += conn.send(h11.Data(data=payload[i:i + 4]))
            else:
                out = conn.send(h11.Response(status_code=201, headers=[("Content-Length", str(len(payload)))]))
                out += conn.send(h11.Data(data=payload))
            out += conn.send(h11.EndOfMessage())
            writer.write(out)
            await writer.drain()
        except (ConnectionError, OSError, h11.ProtocolError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def http_rig(rig):
    emu, _peers, hosts = rig
    peer = HttpPeer()
    port = await peer.start()
    emu.internet.add_route("api.example.com", 80, ("127.0.0.1", port))
    yield emu, peer, hosts["bg96"]
    peer.server.close()


async def _url(h, url: str) -> None:
    h.send(f"AT+QHTTPURL={len(url)}\r".encode())
    assert await h.expect(b"CONNECT\r\n") == b"\r\nCONNECT\r\n"
    h.send(url.encode())
    assert await h.expect(b"OK\r\n") == b"\r\nOK\r\n"


async def test_host_built_request_goes_out_as_sent(http_rig):
    emu, peer, h = http_rig
    await _url(h, "http://api.example.com/ignored")
    assert await h.at('AT+QHTTPCFG="requestheader",1') == b"\r\nOK\r\n"
    raw = b"GET /v1/dev?id=7 HTTP/1.1\r\nHost: api.example.com\r\nX-Dev: meter-7\r\n\r\n"
    h.send(b"AT+QHTTPGET=60,%d\r" % len(raw))
    assert await h.expect(b"CONNECT\r\n") == b"\r\nCONNECT\r\n"
    h.send(raw)
    answer = b"GET /v1/dev?id=7|meter-7|"
    assert await h.expect(b"+QHTTPGET: 0,201,%d\r\n" % len(answer)) == b"\r\nOK\r\n\r\n+QHTTPGET: 0,201,%d\r\n" % len(answer)
    h.send(b"AT+QHTTPREAD\r")
    assert await h.expect(b"+QHTTPREAD: 0\r\n") == (b"\r\nCONNECT\r\n" + answer
                                                     + b"\r\nOK\r\n\r\n+QHTTPREAD: 0\r\n")
    # a POST the host builds itself, body included
    raw = b"POST /up HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 5\r\n\r\nabcde"
    h.send(b"AT+QHTTPPOST=%d\r" % len(raw))
    await h.expect(b"CONNECT\r\n")
    h.send(raw)
    await h.expect(b"+QHTTPPOST: 0,201,")
    assert peer.requests[-1][1] == b"abcde"
    # not HTTP at all: 720, nothing sent
    count = len(peer.requests)
    junk = b"hello there\r\n\r\n"
    h.send(b"AT+QHTTPGET=60,%d\r" % len(junk))
    await h.expect(b"CONNECT\r\n")
    h.send(junk)
    assert await h.expect(b"+QHTTPGET: 720\r\n") == b"\r\nOK\r\n\r\n+QHTTPGET: 720\r\n"
    assert len(peer.requests) == count


async def test_chunked_response_has_no_content_length(http_rig):
    emu, peer, h = http_rig
    peer.mode = "chunked"
    await _url(h, "http://api.example.com/c")
    assert await h.at("AT+QHTTPGET=30") == b"\r\nOK\r\n"
    assert await h.expect(b"+QHTTPGET: 0,200\r\n") == b"\r\n+QHTTPGET: 0,200\r\n"
    h.send(b"AT+QHTTPREAD=30\r")
    assert await h.expect(b"+QHTTPREAD: 0\r\n") == b"\r\nCONNECT\r\nGET /c||\r\nOK\r\n\r\n+QHTTPREAD: 0\r\n"


async def test_silent_server_times_out_on_the_virtual_clock_and_stop_cancels(http_rig):
    emu, peer, h = http_rig
    peer.mode = "silent"
    await _url(h, "http://api.example.com/slow")
    assert await h.at("AT+QHTTPGET=30") == b"\r\nOK\r\n"
    for _ in range(100):  # loopback I/O: the request reaches the peer
        if peer.requests:
            break
        await asyncio.sleep(0.01)
    assert peer.requests and await h.quiet(0.1) == b""
    assert await h.at("AT+QHTTPGET=30") == b"\r\n+CME ERROR: 703\r\n"  # busy
    await emu.advance_live(29)
    assert await h.quiet(0.05) == b""
    await emu.advance_live(2)
    assert await h.expect(b"+QHTTPGET: 702\r\n") == b"\r\n+QHTTPGET: 702\r\n"
    assert await h.at("AT+QHTTPREAD") == b"\r\n+CME ERROR: 705\r\n"
    # AT+QHTTPSTOP: no result URC afterwards
    assert await h.at("AT+QHTTPGET=30") == b"\r\nOK\r\n"
    assert await h.at("AT+QHTTPSTOP") == b"\r\nOK\r\n"
    await emu.advance_live(60)
    assert await h.quiet(0.1) == b""
