"""Flow control like a UART, in process on real ptys and TCP sockets (issue 16 item 1).

While a command pends (a transparent ``AT+QIOPEN`` to a route with a ``drop`` fault), a host
that keeps writing fills the modem's bounded input, the port stops reading and the host's writes
block in the kernel; once the command ends every queued line is answered (nothing lost). Output
toward hosts that do not read stays bounded and a client's buffers go with it.
"""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import weakref

from relhelp import BLACKHOLE, scale, wait_for

from emulator.net.internet import Fault
from emulator.transport.flow import MAX_CLIENTS, READ_CHUNK, RX_BUFFER, TX_BUFFER

QIOPEN = f'AT+QIOPEN=1,0,"TCP","{BLACKHOLE}",9,0,2\r'.encode()
BOUND = RX_BUFFER + READ_CHUNK  # the most a modem holds unprocessed (one read past the mark)


def _read_all(fd: int, into: bytearray) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return
        if not chunk:
            return
        into += chunk


async def _hold_a_command(emu, name: str, write) -> None:
    emu.internet.add_fault(BLACKHOLE, 9, Fault("drop"))
    write(QIOPEN)
    await wait_for(lambda: emu.ports[name].modem.busy, what="AT+QIOPEN pending")


async def test_pty_input_is_bounded_while_a_command_pends_and_no_line_is_lost(live) -> None:
    port = live.ports["ec800e"]
    host = os.open(port.pty.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    out = bytearray()
    try:
        os.write(host, b"ATE0\r")
        await wait_for(lambda: (_read_all(host, out), b"OK\r\n" in out)[1], what="ATE0")
        await _hold_a_command(live, "ec800e", lambda b: os.write(host, b))
        lines = scale(100_000, 700_000)  # 300 KB of AT<CR> (2.1 MB in soak)
        flood, offered, stalls = b"AT\r" * lines, 0, 0
        while stalls < 20:  # write until the host is blocked and the modem reads no more
            before = port.rx_bytes
            try:
                offered += os.write(host, flood[offered:offered + 4096])
            except BlockingIOError:
                stalls = stalls + 1 if port.rx_bytes == before else 0
            await asyncio.sleep(0.002)
        # held: the modem took at most its buffer, the rest waits in the kernel (host blocked)
        assert port.modem.busy
        assert port.modem.pending_input <= BOUND
        assert port.rx_bytes - len(QIOPEN) - len(b"ATE0\r") <= BOUND
        assert offered > port.rx_bytes  # the host's writes were refused: RTS/CTS-like
        out.clear()
        live.advance(200)  # the QIOPEN times out (150 s): ERROR, then the queued lines run
        while offered < len(flood):
            try:
                offered += os.write(host, flood[offered:offered + 4096])
            except BlockingIOError:
                pass
            _read_all(host, out)
            await asyncio.sleep(0)
        await wait_for(lambda: (_read_all(host, out), out.count(b"\r\nOK\r\n") >= lines)[1],
                       wall=60, what="every flooded AT answered")
        assert out.startswith(b"\r\nERROR\r\n") or out.startswith(b"\r\n+CME ERROR")
        assert out.count(b"\r\nOK\r\n") == lines and port.pty.dropped == 0
    finally:
        os.close(host)


async def test_tcp_flood_while_pending_blocks_the_sender_with_bounded_input(live) -> None:
    port = live.ports["bg96"]
    sock = socket.create_connection(("127.0.0.1", port.tcp.port))
    sock.setblocking(False)
    try:
        await wait_for(lambda: len(port.tcp.clients) == 1, what="client accepted")
        await _hold_a_command(live, "bg96", sock.send)
        chunk, offered, stalls, cap = b"AT\r" * 21845, 0, 0, 64 * 1024 * 1024
        while stalls < 20 and offered < cap:
            before = port.rx_bytes
            try:
                offered += sock.send(chunk)
            except BlockingIOError:
                stalls = stalls + 1 if port.rx_bytes == before else 0
            await asyncio.sleep(0.001)
        assert offered < cap, "the kernel took 64 MB: the port never stopped reading"
        assert port.modem.pending_input <= BOUND
        assert port.rx_bytes - len(QIOPEN) <= BOUND
        assert port.intake_paused
        live.advance(200)  # command over: reading resumes
        await wait_for(lambda: port.rx_bytes > BOUND + len(QIOPEN), what="reading resumed")
    finally:
        sock.close()


async def test_non_reading_hosts_cannot_grow_memory_and_others_lose_nothing(live) -> None:
    port = live.ports["bg96"]
    lazy = socket.socket()
    lazy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a host that never reads
    lazy.connect(("127.0.0.1", port.tcp.port))
    reader, writer = await asyncio.open_connection("127.0.0.1", port.tcp.port)
    await wait_for(lambda: len(port.tcp.clients) == 2, what="two clients")
    lazy_client = next(c for c in port.tcp.clients if c.transport.get_extra_info("peername")
                       == lazy.getsockname())
    got = bytearray()

    async def read() -> None:
        while chunk := await reader.read(65536):
            got.extend(chunk)
    task = asyncio.get_running_loop().create_task(read())
    try:
        writer.write(b"ATE0\r")
        n = scale(40_000, 200_000)  # AT&V: 143 bytes each, ~5.7 MB (28 MB in soak) toward each host
        for _ in range(n // 1000):
            writer.write(b"AT&V\r" * 1000)
            await writer.drain()
            buffered = lazy_client.transport.get_write_buffer_size() if lazy_client.transport else 0
            assert buffered <= TX_BUFFER and len(port.pty._backlog) <= TX_BUFFER
        await wait_for(lambda: got.count(b"\r\nOK\r\n") >= n + 1, wall=60, what="every AT&V answered")
        assert got.count(b"\r\nOK\r\n") == n + 1  # the reader lost nothing
        assert lazy_client.dropped > 0 and port.pty.dropped > 0  # the others overran, bounded
        ref = weakref.ref(lazy_client)
        lazy.close()
        del lazy_client
        await wait_for(lambda: len(port.tcp.clients) == 1, what="the lazy client gone")
        gc.collect()
        assert ref() is None  # its buffer went with it
    finally:
        task.cancel()
        writer.close()
        lazy.close()


async def test_at_most_max_clients_per_modem(live) -> None:
    port = live.ports["bg96"]
    socks = [socket.create_connection(("127.0.0.1", port.tcp.port)) for _ in range(MAX_CLIENTS)]
    try:
        await wait_for(lambda: len(port.tcp.clients) == MAX_CLIENTS, what="clients accepted")
        reader, writer = await asyncio.open_connection("127.0.0.1", port.tcp.port)
        try:
            assert await asyncio.wait_for(reader.read(16), 5) == b""  # closed on arrival
        except ConnectionResetError:
            pass
        writer.close()
        assert len(port.tcp.clients) == MAX_CLIENTS
        socks[0].setblocking(False)
        socks[0].send(b"AT\r")
        buf = bytearray()

        def answered() -> bool:
            try:
                buf.extend(socks[0].recv(4096))
            except BlockingIOError:
                pass
            return b"OK\r\n" in buf
        await wait_for(answered, what="the first client still served")
    finally:
        for s in socks:
            s.close()
