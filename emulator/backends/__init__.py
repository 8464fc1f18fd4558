"""Registry of embedded platforms: short name -> "module:Class", imported lazily.

Third parties add backends through the ``emulator.backends`` entry-point group. Unknown names
raise :class:`~emulator.errors.UnknownBackendError` listing the valid ones.

Must not: import a backend before it is asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ..entrypoints import group
from ..errors import UnknownBackendError

if TYPE_CHECKING:  # pragma: no cover
    from .base import Backend

BACKENDS: dict[str, str] = {
    "thingplug": "emulator.backends.thingplug.backend:ThingPlugBackend",
    "ctwing": "emulator.backends.ctwing.backend:CtwingBackend",
    "ntp": "emulator.backends.ntp:NtpBackend",
}


def _all() -> dict[str, str]:
    found = dict(BACKENDS)
    for name, value in group("emulator.backends"):  # cached across runs: entrypoints.py
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
