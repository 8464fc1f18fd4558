"""Registry of effect executors: Effect type -> the edge code that carries it out.

A feature defines its effects (``OpenSocket``, ``MqttConnect`` ...) next to its handlers;
the matching executor lives in ``emulator/net/<feature>.py`` and registers itself with
``@executor(EffectType)``. The runner imports the executor modules listed in
``EXECUTOR_MODULES`` lazily and calls ``executor(effect, net)``, where ``net`` is the modem's
:class:`~emulator.net.context.NetContext` (``net.stimulus(...)`` answers the modem,
``net.internet`` routes, ``net.clock`` is the clock, ``net.resources`` keeps sessions). An
executor may be a coroutine function; it then runs as a task owned by the port.

Must not: import the transport (the port, the Emulator) or a backend; executors get what
they need through the NetContext.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

from .context import NetContext

Executor = Callable[[Any, NetContext], Any]  # (effect, net) -> None or a coroutine
EXECUTORS: dict[type, Callable[..., Any]] = {}

# Modules whose import registers executors (kept lazy so the core stays import-light).
EXECUTOR_MODULES: list[str] = [
    "emulator.net.gnss_nmea",
    "emulator.net.http_client",
    "emulator.net.lwm2m_exec",
    "emulator.net.mqtt_exec",
    "emulator.net.ntp_exec",
    "emulator.net.smsc",
    "emulator.net.sockets",
    "emulator.net.thingplug_exec",
    "emulator.net.tls_sockets",
]


def executor(effect_type: type) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        EXECUTORS[effect_type] = fn
        return fn
    return deco


_loaded = False


def find_executor(effect: object) -> Executor | None:
    global _loaded
    exact = EXECUTORS.get(type(effect))
    if exact is not None:  # already registered (the boot's SmsReady): no need to import the rest yet
        return exact
    if not _loaded:
        for name in EXECUTOR_MODULES:
            importlib.import_module(name)
        _loaded = True
    for kind in type(effect).__mro__:
        if kind in EXECUTORS:
            return EXECUTORS[kind]
    return None
