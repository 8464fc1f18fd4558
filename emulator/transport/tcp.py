"""A TCP listener per modem: pyserial's ``socket://127.0.0.1:PORT`` opens it like a port.

Every connected client feeds the modem and receives everything it writes.
Must not: interpret bytes.
"""

from __future__ import annotations

import asyncio
from typing import Callable


class TcpPort:
    def __init__(self, on_data: Callable[[bytes], None], host: str = "127.0.0.1", port: int = 0) -> None:
        self.on_data = on_data
        self.host, self.port = host, port
        self._server: asyncio.AbstractServer | None = None
        self._clients: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._client, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        try:
            while data := await reader.read(65536):
                self.on_data(data)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._clients.discard(writer)
            writer.close()

    def write(self, data: bytes) -> None:
        for writer in list(self._clients):
            if writer.is_closing():
                self._clients.discard(writer)
                continue
            writer.write(data)

    async def close(self) -> None:
        for writer in list(self._clients):
            writer.close()
        if self._server is not None:
            self._server.close()
            try:
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
            except asyncio.TimeoutError:
                pass
