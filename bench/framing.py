"""Benchmark: framing a data block after a ``> `` prompt (``emulator/core/framing.py``).

A 1460-byte ``AT+QISEND=0,1460`` payload (fixed length) and a 1460-byte ``AT+CMGS`` style
payload ended by Ctrl+Z go through :class:`~emulator.core.framing.LineDiscipline` whole and cut
in 64-byte reads (a slow UART). Baseline in the same run: the least any framer does with the
same bytes - append them to a buffer and look for the end (``bytearray += chunk`` and
``chunk.find(b"\\x1a")`` per read). Reported: microseconds per block and the ratio.

Must not: open anything, or read the wall clock for anything but measuring.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable

from bench import Bench, Row, register
from emulator.core.framing import LineDiscipline

BLOCK = bytes((i * 7 + 32) % 95 + 32 for i in range(1460))  # printable, no ^Z, no CR
ROUNDS = 2000


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)] if size else [data]


def _time(fn: Callable[[], None], rounds: int) -> float:
    best = float("inf")
    for _ in range(5):  # best of 5 batches: the least disturbed by the machine's other jobs
        t0 = time.perf_counter()
        for _ in range(rounds):
            fn()
        best = min(best, (time.perf_counter() - t0) / rounds)
    return best * 1e6


def run(rounds: int = ROUNDS) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mode, payload, length in (("fixed", BLOCK, len(BLOCK)), ("ctrlz", BLOCK + b"\x1a", None)):
        for size in (0, 64):
            chunks = _chunks(payload, size)
            disc = LineDiscipline()

            def framed() -> None:
                disc.start_data(length, limit=4096, echo=False)
                events = []
                for chunk in chunks:
                    events.extend(disc.feed(chunk)[1])
                if len(events) != 1:
                    raise RuntimeError(f"{mode}: {events}")

            def floor() -> None:
                buf = bytearray()
                for chunk in chunks:
                    buf += chunk
                    if chunk.find(b"\x1a") >= 0 or len(buf) >= 1460:
                        break
            key = f"{mode}/{size or 'whole'}"
            out[key] = {"framed_us": _time(framed, rounds), "floor_us": _time(floor, rounds)}
    return out


@register
def framing(ctx: Bench) -> list[Row]:
    rows = []
    for key, fig in run().items():
        mode, size = key.split("/")
        what = ("AT+QISEND=0,1460 payload" if mode == "fixed" else "1460 bytes + Ctrl+Z") + \
            (" in one read" if size == "whole" else f" in {size}-byte reads")
        rows.append(Row("framing", what, fig["framed_us"], "us"))
        rows.append(Row("framing", "  ratio to append + find end (same run)",
                        fig["framed_us"] / fig["floor_us"], "x"))
    return rows


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(run(), indent=2))
