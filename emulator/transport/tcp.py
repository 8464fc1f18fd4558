"""A TCP listener per modem: pyserial's ``socket://127.0.0.1:PORT`` opens it like a port.

Every connected client feeds the modem and receives everything it writes (at most
``MAX_CLIENTS`` at once; one more is closed on arrival). Flow control as on a UART (figures in
:mod:`.flow`): each read is at most ``READ_CHUNK`` bytes (a buffered protocol hands us its
buffer) and each client gets one read per loop turn (fair scheduling), ``pause``/``resume`` stop and restart reading from every client while the modem's
input is full, so a flooding host's ``send`` blocks in the kernel; output waiting for a client
that does not read is capped at ``TX_BUFFER`` bytes, past which the newest bytes are lost for that
client only (the others are unaffected). A client's buffers go with it.

Must not: interpret bytes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from .flow import MAX_CLIENTS, READ_CHUNK, TX_BUFFER

log = logging.getLogger("modemu")


class _Client(asyncio.BufferedProtocol):
    def __init__(self, port: "TcpPort") -> None:
        self.port = port
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray(READ_CHUNK)
        self._yielding = False  # paused until the next loop turn (one read per turn)
        self.dropped = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not an asyncio.Transport
        if self.port.closing:
            transport.abort()
            return
        if len(self.port.clients) >= MAX_CLIENTS:
            log.warning("tcp %s: refusing a client (already %d)", self.port.port, len(self.port.clients))
            transport.abort()
            return
        self.port.clients.add(self)
        if self.port.paused:
            transport.pause_reading()

    def get_buffer(self, sizehint: int) -> memoryview:
        return memoryview(self._buf)

    def buffer_updated(self, nbytes: int) -> None:
        if self.port.closing:
            return
        self.port.on_data(bytes(self._buf[:nbytes]))
        # One chunk per loop turn: libuv (uvloop) reads a ready stream up to 32 times in one
        # turn, so 8 flooding clients held everything else (signals too) for seconds. Pause
        # and resume on the next turn; flow control (port.paused) may keep it paused.
        transport = self.transport
        if transport is not None and not transport.is_closing() and not self._yielding:
            self._yielding = True
            transport.pause_reading()
            asyncio.get_running_loop().call_soon(self._next_turn)

    def _next_turn(self) -> None:
        self._yielding = False
        transport = self.transport
        if transport is not None and not transport.is_closing() and not self.port.paused:
            transport.resume_reading()

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.port.clients.discard(self)
        self.transport = None

    def write(self, data: bytes) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        room = TX_BUFFER - transport.get_write_buffer_size()
        if len(data) > room:  # a host that does not read: the newest bytes are lost (overrun)
            self.dropped += len(data) - max(room, 0)
            data = data[:max(room, 0)]
        if data:
            transport.write(data)


class TcpPort:
    def __init__(self, on_data: Callable[[bytes], None], host: str = "127.0.0.1", port: int = 0) -> None:
        self.on_data = on_data
        self.host, self.port = host, port
        self._server: asyncio.AbstractServer | None = None
        self.clients: set[_Client] = set()
        self.paused = False
        self.closing = False

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Client(self), self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    def pause(self) -> None:
        """Stop reading from every client (the modem's input is full, or shutdown)."""
        self.paused = True
        for client in list(self.clients):
            if client.transport is not None and not client.transport.is_closing():
                client.transport.pause_reading()

    def resume(self) -> None:
        if self.closing:
            return
        self.paused = False
        for client in list(self.clients):
            if client.transport is not None and not client.transport.is_closing() and not client._yielding:
                client.transport.resume_reading()

    def stop_intake(self) -> None:
        """Shutdown: no new clients, no more input (at once, before anything else closes)."""
        self.closing = True
        self.pause()
        if self._server is not None:
            self._server.close()

    def write(self, data: bytes) -> None:
        for client in list(self.clients):
            client.write(data)

    async def close(self) -> None:
        self.stop_intake()
        for client in list(self.clients):
            if client.transport is not None:
                client.transport.abort()  # do not wait to flush to a host that may not read
        self.clients.clear()
        if self._server is not None:
            try:
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
            except asyncio.TimeoutError:
                pass
