"""Bench: how many TCP connections one emulator process holds, and what they cost in memory.

One in-process :class:`Emulator` with ``modems`` EC800E modems; every modem opens all its 12
connections (``AT+QIOPEN=1,<id>,"TCP","echo.bench.example",7,0,1``, the modems in parallel)
to one loopback echo server, until ``limit`` connections or ``budget`` wall seconds. Then each
open connection sends 4 bytes and must get them back as a ``+QIURC: "recv"`` URC. Reported:
connections open (as the host saw ``+QIOPEN: <id>,0`` and as the server counted them), the
time to open them, the echo check, VmRSS of this process before the modems started, with the
modems idle, with the connections open, and the cost per modem and per connection (the
registered bench runs in a fresh interpreter so earlier benches do not muddle VmRSS).

Must not: bind or dial outside loopback.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

from bench import Bench, Row, register, rss_kib
from bench.rig import Host, emulator
from emulator.config import ModemSpec

REPO = Path(__file__).resolve().parent.parent
SOCKETS = 12  # EC800E connectIDs 0..11 (profile quirk max_sockets)
OPENED = re.compile(rb"\+QIOPEN: (\d+),(\d+)\r\n")


async def _open_all(h: Host, want: int, deadline: float) -> list[int]:
    for cid in range(want):
        h.send(b'AT+QIOPEN=1,%d,"TCP","echo.bench.example",7,0,1\r' % cid)
        if not (await h.expect(re.compile(rb"\r\n(OK|ERROR|\+CME ERROR: [^\r]*)\r\n"),
                               max(0.1, deadline - time.perf_counter()))).endswith(b"OK\r\n"):
            break
    ok: list[int] = []
    while len(ok) < want and time.perf_counter() < deadline:
        try:
            m = OPENED.search(await h.expect(OPENED, max(0.05, deadline - time.perf_counter())))
        except AssertionError:
            break
        if m.group(2) == b"0":
            ok.append(int(m.group(1)))
    return ok


async def _echo_check(h: Host, ids: list[int]) -> int:
    good = 0
    for cid in ids:
        h.send(b"AT+QISEND=%d,4\r" % cid)
        await h.expect(b"\r\n> ", 5.0)
        h.send(b"ping")
        await h.expect(b"SEND OK\r\n", 5.0)
        await h.expect(b'+QIURC: "recv",%d,4\r\nping' % cid, 5.0)
        good += 1
    return good


async def _bench(modems: int, limit: int, budget: float) -> dict[str, Any]:
    live = 0
    peak = 0

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal live, peak
        live += 1
        peak = max(peak, live)
        try:
            while chunk := await reader.read(4096):
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            live -= 1
            writer.close()
    server = await asyncio.start_server(echo, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    gc.collect()
    rss0 = rss_kib()
    try:
        specs = [ModemSpec(f"m{i:03d}", "ec800e") for i in range(modems)]
        t_start = time.perf_counter()
        async with emulator(specs, []) as (emu, hosts):
            started = time.perf_counter() - t_start
            emu.internet.add_route("echo.bench.example", 7, ("127.0.0.1", port), "bench echo")
            gc.collect()
            rss1 = rss_kib()
            per_modem = [min(SOCKETS, max(0, limit - i * SOCKETS)) for i in range(modems)]
            t0 = time.perf_counter()
            deadline = t0 + budget
            opened = await asyncio.gather(*(_open_all(h, n, deadline) for h, n in zip(hosts.values(), per_modem)))
            open_s = time.perf_counter() - t0
            count = sum(len(ids) for ids in opened)
            await asyncio.sleep(0.05)  # let the server's accept callbacks run
            server_count = live
            gc.collect()
            rss2 = rss_kib()
            echoed = sum(await asyncio.gather(*(_echo_check(h, ids) for h, ids in zip(hosts.values(), opened))))
    finally:
        server.close()
    return {"modems": modems, "connections": count, "server_count": server_count, "echoed": echoed,
            "start_s": started, "open_s": open_s, "rss0": rss0, "rss1": rss1, "rss2": rss2}


def run(modems: int = 167, limit: int = 2004, budget: float = 20.0) -> dict[str, Any]:
    return asyncio.run(_bench(modems, limit, budget))


@register
def connections(ctx: Bench) -> list[Row]:
    """Runs in a fresh interpreter so VmRSS is not muddled by the benches before it."""
    proc = subprocess.run([ctx.python, "-c", "import json; from bench.connections import run; print(json.dumps(run()))"],
                          capture_output=True, text=True, timeout=60, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"})
    if proc.returncode:
        raise RuntimeError(proc.stderr[-2000:])
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    n, m = out["connections"], out["modems"]
    if out["echoed"] != n:
        raise RuntimeError(f"only {out['echoed']} of {n} connections echoed")
    return [Row("connections", f"TCP connections open in one process ({m} ec800e x {SOCKETS}, 20 s budget)", n, ""),
            Row("connections", "connections the echo server counted", out["server_count"], ""),
            Row("connections", "connections that echoed 4 bytes back", out["echoed"], ""),
            Row("connections", f"start {m} in-process modems", out["start_s"], "s"),
            Row("connections", f"open {n} connections (modems in parallel)", out["open_s"], "s"),
            Row("connections", "VmRSS before the modems", out["rss0"] / 1024, "MiB"),
            Row("connections", f"VmRSS with {m} modems and {n} connections", out["rss2"] / 1024, "MiB"),
            Row("connections", "per modem (idle)", (out["rss1"] - out["rss0"]) / m, "KiB"),
            Row("connections", "per connection (incl. the in-process echo server's end)", (out["rss2"] - out["rss1"]) / max(1, n), "KiB")]


if __name__ == "__main__":  # pragma: no cover
    print(run())
