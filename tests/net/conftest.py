"""Shared rig for the AT+QI* end-to-end tests: an in-process Emulator (EC800E + BG96), loopback
peers reached through FakeInternet routes, and a Host that reads the modem's serial output."""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest

from emulator.config import Config, ModemSpec
from emulator.testing.host import FINAL, Host  # noqa: F401 - FINAL re-exported for the socket tests
from emulator.transport.runner import Emulator

class Peers:
    """Loopback servers standing in for the internet: echo (QUIT closes), a CTWing-like TCP
    platform, a resetter, a UDP echo. Everything they received is kept."""

    def __init__(self) -> None:
        self.received: dict[str, bytearray] = {}
        self.servers: list = []
        self.eof = asyncio.Event()

    async def start(self, emu: Emulator) -> None:
        self.echo = await self._tcp("echo", self._echo)
        self.ctwing = await self._tcp("ctwing", self._ctwing)
        self.reset = await self._tcp("reset", self._reset)
        loop = asyncio.get_running_loop()
        received = self.received.setdefault("udp", bytearray())

        class UdpEcho(asyncio.DatagramProtocol):
            def connection_made(self, transport):
                self.t = transport

            def datagram_received(self, data, addr):
                received.extend(data)
                self.t.sendto(data, addr)
        transport, _ = await loop.create_datagram_endpoint(UdpEcho, local_addr=("127.0.0.1", 0))
        self.servers.append(transport)
        net = emu.internet
        net.add_route("echo.example.com", 7, ("127.0.0.1", self.echo))
        net.add_name("tcp.ctwing.cn", "180.106.148.146")
        net.add_route("180.106.148.146", 8996, ("127.0.0.1", self.ctwing))
        net.add_route("reset.example.com", 9, ("127.0.0.1", self.reset))
        net.add_route("udp.example.com", 7, ("127.0.0.1", transport.get_extra_info("sockname")[1]))

    async def _tcp(self, name: str, handler) -> int:
        self.received[name] = bytearray()

        async def wrapped(reader, writer):
            try:
                await handler(reader, writer, self.received[name])
            except (ConnectionError, OSError):
                pass
            finally:
                self.eof.set()
                writer.close()
        server = await asyncio.start_server(wrapped, "127.0.0.1", 0)
        self.servers.append(server)
        return server.sockets[0].getsockname()[1]

    @staticmethod
    async def _echo(reader, writer, seen):
        while chunk := await reader.read(4096):
            seen += chunk
            if b"QUIT" in chunk:
                return
            writer.write(chunk)
            await writer.drain()

    @staticmethod
    async def _ctwing(reader, writer, seen):
        # guide 001 §4.3.3: login 0x01 -> 0x05 0x0000; an uplink 0x02 gets a downlink 0x03 back
        while True:
            kind = await reader.readexactly(1)
            seen += kind
            if kind == b"\x01":
                for _ in range(3):
                    n = await reader.readexactly(2)
                    seen += n + await reader.readexactly(struct.unpack(">H", n)[0])
                writer.write(b"\x05\x00\x00")
            elif kind == b"\x02":
                n = await reader.readexactly(2)
                seen += n + await reader.readexactly(struct.unpack(">H", n)[0])
                writer.write(b"\x03\x00\x0freceivedmessage")

    @staticmethod
    async def _reset(reader, writer, seen):
        seen += await reader.read(4096)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # RST mid-conversation

    def close(self) -> None:
        for s in self.servers:
            s.close()


@pytest.fixture
async def rig():
    emu = Emulator(Config(), modems=[ModemSpec("ec800e", "ec800e"), ModemSpec("bg96", "bg96")],
                   ephemeral=True, with_pty=False, with_tcp=False, backends=[], follow_wall=False)
    await emu.start()
    peers = Peers()
    await peers.start(emu)
    hosts = {name: Host(port) for name, port in emu.ports.items()}
    for h in hosts.values():
        assert (await h.at("ATE0")).endswith(b"OK\r\n")
    yield emu, peers, hosts
    await emu.stop()
    peers.close()
