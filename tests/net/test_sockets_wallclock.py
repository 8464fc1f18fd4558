"""Transparent mode when the virtual clock follows the wall clock (``modemu serve``): the +++
guard time is measured on input as it arrives. time_scale=100 makes the 1 s guard 10 ms of
wall time, so this test waits on the runner's clock mapping, which is what it checks."""

from __future__ import annotations

import asyncio

import pytest

from emulator.config import Config, ModemSpec
from emulator.transport.runner import Emulator

pytestmark = pytest.mark.slow


async def test_escape_guard_follows_the_wall_clock():
    async def echo(reader, writer):
        while chunk := await reader.read(4096):
            writer.write(chunk)
        writer.close()
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    emu = Emulator(Config(), modems=[ModemSpec("bg96", "bg96")], ephemeral=True, with_pty=False,
                   with_tcp=False, backends=[], follow_wall=True, time_scale=100.0)
    await emu.start()
    try:
        emu.internet.add_route("echo.example.com", 7, ("127.0.0.1", server.sockets[0].getsockname()[1]))
        port, out = emu.ports["bg96"], bytearray()
        port.sinks.append(out.extend)

        async def wait_for(pattern: bytes) -> None:
            for _ in range(1000):
                if pattern in out:
                    return
                await asyncio.sleep(0.002)
            raise AssertionError(f"no {pattern!r} in {bytes(out)!r}")
        port.feed(b'ATE0\rAT+QIOPEN=1,0,"TCP","echo.example.com",7,0,2\r')
        await wait_for(b"CONNECT\r\n")
        out.clear()
        port.feed(b"abc")
        await wait_for(b"abc")  # echoed raw once transwaittm (0.2 s virtual) packed it
        await asyncio.sleep(0.05)  # 5 s virtual of silence...
        out.clear()
        port.feed(b"+++")  # ...so these pluses may be the escape
        await wait_for(b"\r\nOK\r\n")
        assert out == b"\r\nOK\r\n"
        out.clear()
        port.feed(b"AT\r")
        await wait_for(b"OK\r\n")
        assert out == b"\r\nOK\r\n"
    finally:
        await emu.stop()
        server.close()
