"""modemu: emulated cellular-IoT modules and their carrier platforms.

Public API (imported lazily, so ``import emulator`` stays cheap): :class:`Modem`,
:func:`load_module`, :func:`available_modules`, :class:`Emulator`, :class:`VirtualClock`.
Importing the package also registers the pyserial URL handler, so
``serial.serial_for_url("modemu://bg96")`` works afterwards.

Must not: import the heavy parts (asyncio servers, FastAPI) at import time.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Modem", "load_module", "available_modules", "Emulator", "VirtualClock"]

_LAZY = {
    "Modem": ("emulator.core.modem", "Modem"),
    "load_module": ("emulator.modules", "load_module"),
    "available_modules": ("emulator.modules", "available_modules"),
    "Emulator": ("emulator.transport.runner", "Emulator"),
    "VirtualClock": ("emulator.core.clock", "VirtualClock"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'emulator' has no attribute {name!r}")


def _register_url_handler() -> None:
    try:
        import serial
    except ImportError:  # pragma: no cover - pyserial is a dependency
        return
    if "emulator.transport" not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append("emulator.transport")


_register_url_handler()
