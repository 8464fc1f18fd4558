"""``python -m bench`` (``make bench``): how fast and how big the emulator is, in one run.

Benches (each returns rows for the table; targets from the design):
  * latency   median AT -> OK round trip through the pty of a ``modemu serve`` subprocess, next to
              a minimal raw pty echo subprocess measured in the same run (blocks of round trips in
              turns, after the console API is up and 200 warm-up round trips); ratio target <= 1.3;
              ``latency_changing``: a new AT+QLWCONFIG line each time; ``latency_quiet``: ``serve -q``
  * startup   process start -> ready file, ``serve --no-backends`` and with the platforms, next to
              ``python -c pass`` and ``python -c "import asyncio"`` in the same run; target <= 0.5 s;
              then the first answers of what loads after the ready file (a ThingPlug CONNACK, the
              console API)
  * fleet     (bench/fleet.py) 1,000 modems on ptys: ready time, AT p50/p99 with all driven at once
              next to a raw 1,000-pty echo, RSS per modem; 10,000 in-process modems: RSS per modem
  * ceiling   (bench/ceiling.py) uplinks/s paho -> the embedded broker directly vs through a modem
  * memory    VmRSS of ``serve --no-backends`` with 1 modem and with 4; the difference per modem

Add a bench: write ``def bench_x(ctx: Bench) -> list[Row]`` and decorate it with ``@register``
(or append to ``BENCHES`` from another module imported here). ``python -m bench NAME...`` runs
only those. Not a pytest test: numbers are printed, the exit code is 0 unless a bench crashed.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import termios
import time
import tty
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from bench import BENCHES, Bench, Row, register

REPO = Path(__file__).resolve().parent.parent


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


# --- subprocess helpers -------------------------------------------------------------------
@contextmanager
def serve(ctx: Bench, *args: str, timeout: float = 20.0) -> Iterator[tuple[subprocess.Popen, dict, float]]:
    """Start ``python -m emulator serve --ephemeral-ports --api 127.0.0.1:0 ARGS``; yield
    (process, ready info, seconds from spawn to ready file); SIGTERM on exit."""
    work = Path(tempfile.mkdtemp(prefix="modemu-bench-", dir=ctx.tmp))
    ready = work / "ready.json"
    t0 = time.perf_counter()
    proc = subprocess.Popen([ctx.python, "-m", "emulator", "serve", "--ephemeral-ports", "--api", "127.0.0.1:0",
                             "--ready-file", str(ready), "--link-dir", str(work / "links"), *args],
                            cwd=work, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while not ready.exists():
            if proc.poll() is not None:
                raise RuntimeError(f"serve exited {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
            if time.perf_counter() - t0 > timeout:
                raise RuntimeError("serve: no ready file")
            time.sleep(0.002)
        elapsed = time.perf_counter() - t0
        yield proc, json.loads(ready.read_text()), elapsed
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


ECHO_SERVER = r"""
import os, sys, tty, termios
master, slave = os.openpty()
tty.setraw(slave, termios.TCSANOW)
print(os.ttyname(slave), flush=True)
while True:
    data = os.read(master, 4096)
    if not data:
        break
    for _ in range(data.count(b"\r")):
        os.write(master, b"OK\r\n")
"""


@contextmanager
def raw_echo(ctx: Bench) -> Iterator[str]:
    """A tiny subprocess that owns a pty and answers ``OK\\r\\n`` to every CR: the floor."""
    proc = subprocess.Popen([ctx.python, "-c", ECHO_SERVER], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().decode().strip()
    finally:
        proc.kill()
        proc.wait()


class _Line:
    """The host side of a pty path, raw, for timing one command line at a time."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd, termios.TCSANOW)
        termios.tcflush(self.fd, termios.TCIOFLUSH)

    def round_trip(self, line: bytes = b"AT\r", done: bytes = b"OK\r\n") -> float:
        t0 = time.perf_counter()
        os.write(self.fd, line)
        buf = b""
        while not buf.endswith(done):
            buf += os.read(self.fd, 4096)
            if buf.endswith(b"ERROR\r\n"):
                raise RuntimeError(f"{line!r} answered {buf!r}")
        return time.perf_counter() - t0

    def close(self) -> None:
        os.close(self.fd)


def _interleaved(a: _Line, b: _Line, rounds: int, block: int = 10,
                 lines: Callable[[int], bytes] = lambda i: b"AT\r", warm: int = 200) -> tuple[list[float], list[float]]:
    """Alternate blocks of round trips on ``a`` and ``b`` so both see the same machine load;
    round trip ``i`` sends ``lines(i)`` to both. ``warm`` round trips on each first, not counted
    (caches, the CPU's frequency, the scheduler's placement of both processes)."""
    for i in range(warm):
        a.round_trip(lines(rounds + i)), b.round_trip(lines(rounds + i))
    ta: list[float] = []
    tb: list[float] = []
    while len(ta) < rounds:
        ta += [a.round_trip(lines(len(ta) + i)) for i in range(block)]
        tb += [b.round_trip(lines(len(tb) + i)) for i in range(block)]
    return ta, tb


def _changing(i: int) -> bytes:
    """An AT+QLWCONFIG line as firmware sends it, with a new lifetime every time (no cache hit)."""
    return b'AT+QLWCONFIG=0,"221.229.214.202",5683,"863921043512345",%d,3\r' % (86400 + i)


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


# --- benches ------------------------------------------------------------------------------
def _pty_ratio(ctx: Bench, lines: Callable[[int], bytes], what: str, repeats: int = 3,
               flags: tuple[str, ...] = ()) -> list[Row]:
    """Median round trip of ``lines`` on a served EC800E next to the raw pty echo, ``repeats``
    times (each a fresh pair, interleaved so both see the same load): medians and min-max."""
    floors, modems, ratios = [], [], []
    for _ in range(repeats):
        with raw_echo(ctx) as path, serve(ctx, "--no-backends", "--module", "ec800e", *flags) as (_proc, info, _t):
            _http_get(info["api"] + "/api/modems")  # started: the console API loads after the ready file
            raw, emu = _Line(path), _Line(info["modems"][0]["pty"])
            try:
                floor_times, modem_times = _interleaved(raw, emu, ctx.rounds, lines=lines)
            finally:
                raw.close()
                emu.close()
        floors.append(statistics.median(floor_times))
        modems.append(statistics.median(modem_times))
        ratios.append(modems[-1] / floors[-1])
    spread = f"min {min(ratios):.2f} max {max(ratios):.2f}"
    return [Row("latency", f"raw pty echo, median {what}", statistics.median(floors) * 1e6, "us"),
            Row("latency", f"modemu ec800e, median {what}", statistics.median(modems) * 1e6, "us"),
            Row("latency", f"ratio modemu / raw ({what}; {spread})", statistics.median(ratios), "x", "<= 1.3")]


@register
def latency(ctx: Bench) -> list[Row]:
    """The same line again and again (a host polling AT)."""
    return _pty_ratio(ctx, lambda i: b"AT\r", "AT->OK")


@register
def latency_changing(ctx: Bench) -> list[Row]:
    """Lines that change every time (a new lifetime in AT+QLWCONFIG), as firmware sends them."""
    return _pty_ratio(ctx, _changing, "changing AT+QLWCONFIG")


@register
def latency_quiet(ctx: Bench) -> list[Row]:
    """``latency`` with ``serve -q``: no event line printed per AT line (the tap and the event bus
    still run): what serve's printer costs."""
    return _pty_ratio(ctx, lambda i: b"AT\r", "AT->OK, serve -q", flags=("-q",))


def _spawn_s(ctx: Bench, code: str) -> float:
    """Wall seconds for ``python -c CODE`` (a baseline interpreter start)."""
    t0 = time.perf_counter()
    subprocess.run([ctx.python, "-c", code], check=True, env=_env())
    return time.perf_counter() - t0


def _spread(values: list[float]) -> str:
    return f"min {min(values):.2f} max {max(values):.2f}"


@register
def startup(ctx: Bench, repeats: int = 5) -> list[Row]:
    """Process start -> ready file of ``serve`` with four modems (without and with both
    platforms), next to a bare interpreter and one that imports asyncio, measured in turns in
    the same run (each repeat: one of each) so all see the same machine load."""
    # An installed wheel has its bytecode compiled at install time; a checkout run with
    # PYTHONDONTWRITEBYTECODE (as here) would compile every module on every start instead.
    subprocess.run([ctx.python, "-m", "compileall", "-q", str(REPO / "emulator")], check=False,
                   stdout=subprocess.DEVNULL)
    import paho.mqtt.client  # noqa: F401 - loaded before any clock starts
    bare, aio, plain, full, connack, api = [], [], [], [], [], []
    for _ in range(repeats):
        bare.append(_spawn_s(ctx, "pass"))
        aio.append(_spawn_s(ctx, "import asyncio"))
        with serve(ctx, "--no-backends") as (_p, _i, elapsed):
            plain.append(elapsed)
        t0 = time.perf_counter()
        with serve(ctx) as (_p, info, elapsed):
            full.append(elapsed)
            _first_connack(info["backends"]["thingplug_mqtt"])  # the broker loads after the ready file
            connack.append(time.perf_counter() - t0)
            _http_get(info["api"] + "/api/modems")  # the console API answers (it loads after the ready file)
            api.append(time.perf_counter() - t0)
    med = statistics.median
    rows = [Row("startup", f"python -c pass, median of {repeats}", med(bare), "s"),
            Row("startup", "python -c 'import asyncio'", med(aio), "s"),
            Row("startup", f"serve --no-backends, 4 modems: start -> ready file ({_spread(plain)})", med(plain), "s"),
            Row("startup", f"serve, 4 modems + ThingPlug + CTWing + NTP: start -> ready file ({_spread(full)})",
                med(full), "s", "<= 0.5"),
            Row("startup", f"  the same: start -> first ThingPlug MQTT CONNACK ({_spread(connack)})", med(connack), "s"),
            Row("startup", f"  the same: start -> first console API answer ({_spread(api)})", med(api), "s")]
    for label, base in (("bare interpreter", bare), ("import asyncio", aio)):
        ratios = [f / b for f, b in zip(full, base)]
        rows.append(Row("startup", f"ratio serve (platforms) / {label} ({_spread(ratios)})", med(ratios), "x"))
    return rows


def _first_connack(address: str, timeout: float = 20.0) -> None:
    """A paho-mqtt CONNECT with the ThingPlug default token, sent at once; returns on CONNACK 0."""
    import threading

    import paho.mqtt.client as mqtt
    host, _, port = address.rpartition(":")
    done, codes = threading.Event(), []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-startup")
    client.username_pw_set("a0149f60b---------")  # thingplug/registry.py DEFAULT_TOKEN
    client.on_connect = lambda _c, _u, _f, reason, _p: (codes.append(reason.value), done.set())
    client.connect(host, int(port))
    client.loop_start()
    try:
        if not done.wait(timeout) or codes != [0]:
            raise RuntimeError(f"ThingPlug: no CONNACK 0 ({codes})")
    finally:
        client.disconnect()
        client.loop_stop()


def _http_get(url: str, timeout: float = 20.0) -> bytes:
    import urllib.request
    with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 - loopback only
        return r.read()


@register
def memory(ctx: Bench) -> list[Row]:
    with serve(ctx, "--no-backends", "--module", "ec800e") as (proc, _i, _t):
        time.sleep(0.3)
        one = _rss_kib(proc.pid)
    with serve(ctx, "--no-backends") as (proc, info, _t):
        time.sleep(0.3)
        four = _rss_kib(proc.pid)
        count = len(info["modems"])
    per = (four - one) / max(1, count - 1)
    return [Row("memory", "VmRSS serve, 1 modem", one / 1024, "MiB"),
            Row("memory", f"VmRSS serve, {count} modems", four / 1024, "MiB"),
            Row("memory", "per extra modem", per, "KiB")]


def _table(rows: list[Row]) -> str:
    head = ("bench", "metric", "value", "unit", "target")
    cells = [head] + [(r.bench, r.metric, f"{r.value:.3f}" if r.value < 100 else f"{r.value:.0f}", r.unit, r.target)
                      for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(5)]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(5)).rstrip() for c in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _load() -> None:
    """Import the bench modules (each registers its benches, in this order)."""
    import importlib

    for name in MODULES:
        importlib.import_module(f"bench.{name}")


MODULES = ("fleet", "thingplug", "ceiling", "lwm2m", "tcp", "mqtt", "connections", "psm", "advance", "framing")


def main(argv: list[str]) -> int:
    if not sys.platform.startswith("linux"):
        print("bench: needs Linux (ptys, /proc)", file=sys.stderr)
        return 0
    _load()
    wanted = set(argv)
    ctx = Bench()
    rows: list[Row] = []
    failed = 0
    for bench in BENCHES:
        if wanted and bench.__name__ not in wanted:
            continue
        try:
            rows += bench(ctx)
        except Exception as exc:  # noqa: BLE001 - report and go on with the others
            print(f"bench {bench.__name__} failed: {exc}", file=sys.stderr)
            failed += 1
    print(_table(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
