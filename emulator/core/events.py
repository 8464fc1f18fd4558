"""Events the core hands to the outside (h11-style nouns, frozen and slotted).

``ToHost`` carries bytes already framed for the serial line. Effects are intents towards the
network or platform (open a socket, publish); the runner fulfils them and answers with
stimuli (``core/stimuli.py``). Feature modules define their own Effect subclasses next to the
handlers that emit them; executors in ``emulator/net`` are registered per Effect type.

Must not: carry behaviour (events are data) or import anything above ``core/``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ToHost:
    data: bytes


@dataclass(frozen=True, slots=True)
class CommandHandled:
    """One command line finished: the line and the final result text (for transcripts)."""

    line: str
    result: str


@dataclass(frozen=True, slots=True)
class StateChanged:
    subsystem: str
    field: str
    value: object


@dataclass(frozen=True)
class Effect:
    """Base class of every effect; ``modem`` is filled by the runner-side dispatcher."""


@dataclass(frozen=True)
class PowerOff(Effect):
    """The modem powered itself down (AT+QPOWD); the port goes silent until powered on."""


@dataclass(frozen=True)
class Reset(Effect):
    """The modem restarted (reboot, power-on): executors drop its connections and clients."""


Event = ToHost | CommandHandled | StateChanged | Effect
