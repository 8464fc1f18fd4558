"""Bench: TCP bytes per second through ``AT+QISEND=0,1460`` (push mode) and back.

A loopback asyncio echo server is reached by name (``echo.bench.example``:7, a FakeInternet
route). An EC800E opens connection 0 in push mode (``AT+QIOPEN=1,0,"TCP",...,0,1``) and the
host sends ``chunks`` times ``AT+QISEND=0,1460`` + 1460 bytes, waiting for ``> `` and ``SEND OK``
each time as a real host does; the echo arrives as ``+QIURC: "recv",0,<n>`` URCs with the data.
Baselines, same run, same server: a direct asyncio client streaming the same 1460-byte chunks
(write + drain each) while a reader collects the echo, and one that waits for each chunk's
echo before writing the next (the host's per-chunk ``SEND OK`` wait is closer to this). Reported: bytes/s sent through the
modem until the whole echo is back, the same for the direct clients, the ratios, and the
median AT+QISEND line -> SEND OK time.

Must not: bind or dial outside loopback.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from bench import Bench, Row, register
from bench.rig import emulator, median_ms
from emulator.config import ModemSpec

CHUNK = 1460  # AT+QISEND=<id>,<len>: <len> up to 1460 [doc: Q-TCP §2.1.7]
RECV = re.compile(rb'\+QIURC: "recv",0,(\d+)\r\n')
SEND_OK = re.compile(rb"\r\n(SEND OK|SEND FAIL|ERROR)\r\n")


async def echo_server() -> tuple[asyncio.AbstractServer, int]:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):  # the loop ends with the bench
            pass
        finally:
            writer.close()
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def _stop_and_wait(port: int, chunks: int) -> float:
    """Direct client that waits for each chunk's echo before the next: the per-chunk floor."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    payload = b"A" * CHUNK
    t0 = time.perf_counter()
    for _ in range(chunks):
        writer.write(payload)
        await reader.readexactly(CHUNK)
    elapsed = time.perf_counter() - t0
    writer.close()
    await writer.wait_closed()
    return chunks * CHUNK / elapsed


async def _direct(port: int, chunks: int) -> float:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    payload = b"A" * CHUNK
    total = chunks * CHUNK

    async def drain_echo() -> None:
        got = 0
        while got < total:
            data = await reader.read(65536)
            if not data:
                raise RuntimeError("echo closed early")
            got += len(data)
    t0 = time.perf_counter()
    task = asyncio.create_task(drain_echo())
    for _ in range(chunks):
        writer.write(payload)
        await writer.drain()
    await asyncio.wait_for(task, 30)
    elapsed = time.perf_counter() - t0
    writer.close()
    await writer.wait_closed()
    return total / elapsed


async def _bench(chunks: int) -> dict[str, Any]:
    server, port = await echo_server()
    try:
        async with emulator([ModemSpec("ec800e", "ec800e")], []) as (emu, hosts):
            emu.internet.add_route("echo.bench.example", 7, ("127.0.0.1", port), "bench echo")
            h = hosts["ec800e"]
            h.send(b'AT+QIOPEN=1,0,"TCP","echo.bench.example",7,0,1\r')
            opened = await h.expect(b"+QIOPEN: 0,", 10.0)
            if not (await h.expect(b"\r\n", 1.0)).startswith(b"0"):
                raise RuntimeError(f"QIOPEN failed: {opened!r}")
            payload = b"A" * CHUNK
            total = chunks * CHUNK
            got = 0
            send_ok: list[float] = []
            t0 = time.perf_counter()
            for _ in range(chunks):
                start = time.perf_counter()
                h.send(b"AT+QISEND=0,%d\r" % CHUNK)
                got += sum(int(n) for n in RECV.findall(await h.expect(b"\r\n> ", 10.0)))
                h.send(payload)
                chunk = await h.expect(SEND_OK, 10.0)
                if not chunk.endswith(b"SEND OK\r\n"):
                    raise RuntimeError(f"QISEND: {chunk[-100:]!r}")
                send_ok.append(h.arrived - start)
                got += sum(int(n) for n in RECV.findall(chunk))
            while got < total:
                got += int(RECV.search(await h.expect(RECV, 10.0)).group(1))
            elapsed = time.perf_counter() - t0
            if got != total:
                raise RuntimeError(f"echoed {got} bytes of {total}")
        direct = await _direct(port, chunks)
        lockstep = await _stop_and_wait(port, chunks)
    finally:
        server.close()
    modem = total / elapsed
    return {"bytes": total, "modem_bps": modem, "direct_bps": direct, "ratio": modem / direct,
            "lockstep_bps": lockstep, "ratio_lockstep": modem / lockstep,
            "send_ok_median_ms": median_ms(send_ok)}


def run(chunks: int = 1500) -> dict[str, Any]:
    return asyncio.run(_bench(chunks))


@register
def tcp(ctx: Bench) -> list[Row]:
    out = run()
    mib = f"{out['bytes'] / 2**20:.1f} MiB"
    return [Row("tcp", f"AT+QISEND=0,1460 push mode -> echo -> +QIURC recv ({mib})", out["modem_bps"] / 1e6, "MB/s"),
            Row("tcp", "direct asyncio client, same echo server, same chunks", out["direct_bps"] / 1e6, "MB/s"),
            Row("tcp", "direct client, one chunk at a time (waits for its echo)", out["lockstep_bps"] / 1e6,
                "MB/s"),
            Row("tcp", "ratio modem / direct (streaming)", out["ratio"], "x"),
            Row("tcp", "ratio modem / direct (one chunk at a time)", out["ratio_lockstep"], "x"),
            Row("tcp", "AT+QISEND line -> SEND OK, median", out["send_ok_median_ms"], "ms")]


if __name__ == "__main__":  # pragma: no cover
    print(run())
