"""Registry of embedded platforms: short name -> "module:Class", imported lazily.

Third parties add backends through the ``emulator.backends`` entry-point group. Unknown names
raise :class:`~emulator.errors.UnknownBackendError` listing the valid ones.

Must not: import a backend before it is asked for.
"""

from __future__ import annotations

import functools
import importlib
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from ..errors import UnknownBackendError

if TYPE_CHECKING:  # pragma: no cover
    from .base import Backend

BACKENDS: dict[str, str] = {
    "thingplug": "emulator.backends.thingplug.backend:ThingPlugBackend",
    "ctwing": "emulator.backends.ctwing.backend:CtwingBackend",
    "ntp": "emulator.backends.ntp:NtpBackend",
}


@functools.cache  # entry points are read once per process (a scan costs ms; fleets ask per modem)
def _entry_points() -> tuple[tuple[str, str], ...]:
    return tuple((ep.name, ep.value) for ep in entry_points(group="emulator.backends"))


def _all() -> dict[str, str]:
    found = dict(BACKENDS)
    for name, value in _entry_points():
        found.setdefault(name, value)
    return found


def available_backends() -> list[str]:
    return sorted(_all())


def load_backend(name: str) -> "type[Backend]":
    table = _all()
    if name not in table:
        raise UnknownBackendError(name, sorted(table))
    module_name, _, attr = table[name].partition(":")
    return getattr(importlib.import_module(module_name), attr)
