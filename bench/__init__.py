"""Benchmarks: run with ``python -m bench`` (``make bench``); see ``bench/__main__.py``.

This package holds the table row, the run settings and the registry every bench module
(``bench/thingplug.py``, ``bench/lwm2m.py`` ...) registers into. It is not part of the product
package ``emulator`` and must not be imported by it.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


@dataclass
class Row:
    bench: str
    metric: str
    value: float
    unit: str
    target: str = ""


@dataclass
class Bench:
    python: str = sys.executable
    rounds: int = 2000
    tmp: Path = Path(tempfile.gettempdir())


BENCHES: list[Callable[[Bench], list[Row]]] = []


def register(fn: Callable[[Bench], list[Row]]) -> Callable[[Bench], list[Row]]:
    """Add ``fn`` to the benches ``python -m bench`` runs (once, even if imported twice)."""
    if all(b.__qualname__ != fn.__qualname__ or b.__module__ != fn.__module__ for b in BENCHES):
        BENCHES.append(fn)
    return fn


def rss_kib(pid: int | str = "self") -> int:
    """VmRSS of a process (default: this one) in KiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")
