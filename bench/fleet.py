"""Benchmark: fleets. 1,000 modems on ptys in one ``modemu serve`` and 10,000 in one process.

* ``fleet``: ``serve --module bg96 --count 1000 --no-backends -q`` (no event lines on stdout): start -> ready file (next to
  ``--count 1`` in the same run), then every modem gets ``AT`` at once (one write per pty, then
  answers collected with ``select``), ``ROUNDS`` times: p50/p99 of write -> ``OK``, next to a raw
  echo subprocess owning 1,000 ptys driven the same way (the floor), a round of each in turns
  after one warm-up round each; VmRSS per modem (1,000 vs 1).
* ``fleet_inproc``: 10,000 BG96 in one process on the in-process transport: start time, VmRSS per
  modem, and a sample spread over the fleet dialling the embedded CTWing TCP server
  (``AT+QIOPEN`` -> ``+QIOPEN: <id>,0``), each through its own NetContext.

Must not: bind or dial outside loopback; used only by ``python -m bench`` (``make bench``).
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import termios
import time
import tty
from pathlib import Path

from bench import Bench, Row, register, rss_kib

REPO = Path(__file__).resolve().parent.parent
COUNT, ROUNDS = 1000, 10

ECHO_FLEET = r"""
import os, select, sys, tty, termios
fds = {}
for _ in range(int(sys.argv[1])):
    m, s = os.openpty()
    tty.setraw(s, termios.TCSANOW)
    fds[m] = s
    print(os.ttyname(s))
print("", flush=True)
poller = select.poll()
for m in fds:
    poller.register(m, select.POLLIN)
while True:
    for fd, _ in poller.poll():
        data = os.read(fd, 4096)
        for _ in range(data.count(b"\r")):
            os.write(fd, b"OK\r\n")
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _serve(ctx: Bench, work: Path, *args: str, timeout: float = 120.0) -> tuple[subprocess.Popen, dict, float]:
    ready = work / "ready.json"
    t0 = time.perf_counter()
    proc = subprocess.Popen([ctx.python, "-m", "emulator", "serve", "--ephemeral-ports", "--api", "127.0.0.1:0",
                             "--no-backends", "-q", "--ready-file", str(ready), "--link-dir", str(work / "links"), *args],
                            cwd=work, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while not ready.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"serve exited {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
        if time.perf_counter() - t0 > timeout:
            proc.kill()
            raise RuntimeError("serve: no ready file")
        time.sleep(0.005)
    return proc, json.loads(ready.read_text()), time.perf_counter() - t0


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _open(paths: list[str]) -> list[int]:
    fds = []
    for path in paths:
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(fd, termios.TCSANOW)
        termios.tcflush(fd, termios.TCIOFLUSH)
        fds.append(fd)
    return fds


def _all_at_once(fds: list[int], rounds: int, wall: float = 60.0) -> list[float]:
    """Each round: ``AT\\r`` to every fd, then wait for every ``OK``; write -> OK per modem."""
    out: list[float] = []
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    for _ in range(rounds):
        sent, bufs, waiting = {}, {fd: b"" for fd in fds}, set(fds)
        for fd in fds:
            sent[fd] = time.perf_counter()
            os.write(fd, b"AT\r")
        end = time.perf_counter() + wall
        while waiting:
            if time.perf_counter() > end:
                raise RuntimeError(f"{len(waiting)} of {len(fds)} ptys did not answer AT")
            for fd, _ in poller.poll(1000):
                try:
                    bufs[fd] += os.read(fd, 4096)
                except BlockingIOError:
                    continue
                if fd in waiting and bufs[fd].endswith(b"OK\r\n"):
                    out.append(time.perf_counter() - sent[fd])
                    waiting.discard(fd)
    return out


def _api_up(url: str) -> None:
    import urllib.request
    with urllib.request.urlopen(url + "/api/modems", timeout=60) as r:  # noqa: S310 - loopback only
        r.read()


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * (len(ordered) - 1)))]


@register
def fleet(ctx: Bench) -> list[Row]:
    work = Path(tempfile.mkdtemp(prefix="modemu-fleet-", dir=ctx.tmp))
    (work / "one").mkdir()
    proc, _info, one_s = _serve(ctx, work / "one", "--module", "bg96", "--count", "1")
    time.sleep(0.3)
    one_rss = rss_kib(proc.pid)
    _stop(proc)
    echo = subprocess.Popen([ctx.python, "-c", ECHO_FLEET, str(COUNT)], stdout=subprocess.PIPE, text=True)
    raw_fds: list[int] = []
    try:
        assert echo.stdout is not None
        raw_fds = _open([line.strip() for line in iter(echo.stdout.readline, "\n")])
        (work / "many").mkdir()
        proc, info, many_s = _serve(ctx, work / "many", "--module", "bg96", "--count", str(COUNT))
        try:
            fds = _open([m["pty"] for m in info["modems"]])
            _api_up(info["api"])  # started: the console API loads after the ready file
            _all_at_once(fds, 1)  # warm-up (and the modems' boot output out of the way)
            _all_at_once(raw_fds, 1)
            raw: list[float] = []
            emu: list[float] = []
            for _ in range(ROUNDS):  # in turns, so both see the same machine load
                raw += _all_at_once(raw_fds, 1)
                emu += _all_at_once(fds, 1)
            many_rss = rss_kib(proc.pid)
            for fd in fds:
                os.close(fd)
        finally:
            _stop(proc)
    finally:
        for fd in raw_fds:
            os.close(fd)
        echo.kill()
        echo.wait()
    p50, p99, r50, r99 = _pct(emu, 0.5), _pct(emu, 0.99), _pct(raw, 0.5), _pct(raw, 0.99)
    return [Row("fleet", f"serve --count {COUNT} (ptys): start -> ready file", many_s, "s", "<= 3"),
            Row("fleet", f"  ratio to serve --count 1 ({one_s:.2f} s), same run", many_s / one_s, "x"),
            Row("fleet", f"AT -> OK, all {COUNT} at once x {ROUNDS}: p50", p50 * 1e3, "ms"),
            Row("fleet", "  p99", p99 * 1e3, "ms"),
            Row("fleet", f"raw echo owning {COUNT} ptys, same drive: p50 / p99", r50 * 1e3, "ms", f"p99 {r99 * 1e3:.1f}"),
            Row("fleet", "ratio modemu / raw echo: p50", p50 / r50, "x"),
            Row("fleet", "ratio modemu / raw echo: p99", p99 / r99, "x"),
            Row("fleet", f"VmRSS per modem ({COUNT} vs 1, ptys + TCP ports)", (many_rss - one_rss) / (COUNT - 1), "KiB")]


INPROC = r"""
import asyncio, gc, json, re, sys, time
from bench import rss_kib
from emulator.config import Config
from emulator.serve import modem_specs
from emulator.testing.host import Host
from emulator.transport.runner import Emulator
import emulator.net.executors

N, SAMPLE = int(sys.argv[1]), int(sys.argv[2])
OPENED = re.compile(rb"\+QIOPEN: 0,(\d+)\r\n")

async def main():
    warm = Emulator(Config(), modems=modem_specs(Config(), ["bg96"], [2]), ephemeral=True, with_pty=False,
                    with_tcp=False, backends=["ctwing"], follow_wall=False)
    await warm.start(); await warm.stop()
    gc.collect()
    emu = Emulator(Config(), modems=modem_specs(Config(), ["bg96"], [N]), ephemeral=True, with_pty=False,
                   with_tcp=False, backends=["ctwing"], follow_wall=False)
    rss0, t0 = rss_kib(), time.perf_counter()
    await emu.start()
    start_s = time.perf_counter() - t0
    gc.collect()
    rss1 = rss_kib()
    host, port = emu.endpoints["ctwing_tcp"]
    emu.internet.add_route("tcp.ctwing.bench.example", 8996, (host, port), "bench")
    names = list(emu.ports)[:: max(1, N // SAMPLE)][:SAMPLE]
    ok = 0
    for name in names:
        h = Host(emu.ports[name])
        h.send(b'AT+QIOPEN=1,0,"TCP","tcp.ctwing.bench.example",8996,0,1\r')
        m = OPENED.search(await h.expect(OPENED, 10.0))
        ok += m.group(1) == b"0"
    await emu.stop()
    print(json.dumps({"start_s": start_s, "per_modem_kib": (rss1 - rss0) / N, "rss_mib": rss1 / 1024,
                      "sample": len(names), "connected": ok}))

asyncio.run(main())
"""


@register
def fleet_inproc(ctx: Bench, count: int = 10_000, sample: int = 50) -> list[Row]:
    res = subprocess.run([ctx.python, "-c", INPROC, str(count), str(sample)], env=_env(), cwd=REPO,
                         capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        raise RuntimeError(res.stderr[-2000:])
    out = json.loads(res.stdout.strip().splitlines()[-1])
    return [Row("fleet", f"{count} in-process modems: start", out["start_s"], "s"),
            Row("fleet", f"  VmRSS per modem (total {out['rss_mib']:.0f} MiB)", out["per_modem_kib"], "KiB", "< 50"),
            Row("fleet", f"  of {out['sample']} spread over the fleet, dialled the CTWing TCP server",
                out["connected"], "")]


if __name__ == "__main__":  # pragma: no cover
    from bench.__main__ import _table
    print(_table(fleet_inproc(Bench()) + fleet(Bench())))
    sys.exit(0)
