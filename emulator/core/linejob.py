"""One command line being executed by the Modem: its parsed commands, which one runs, the last
final result, the URCs its commands queued for after the final result, and a running timer.

Must not: execute anything or write output (the Modem does); import anything above core/.
"""

from __future__ import annotations

from ..at.commands import AtCommand
from .clock import Timer
from .results import OK, Result


class LineJob:
    def __init__(self, commands: list[AtCommand]) -> None:
        self.commands = commands
        self.index = 0
        self.last_final: Result = OK
        self.after: list[str] = []
        self.timer: Timer | None = None
