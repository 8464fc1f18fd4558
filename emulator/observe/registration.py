"""A modem's registration changes (TS 27.007 ``<stat>``) as ``registration`` events for the bus.

Sans-IO: ``changes(radio)`` reads the radio state's transition history (``core/state.py``
appends one ``(was, cause, stat)`` per change) and returns the fields of the changes not yet
reported; a new radio state (a power cycle makes one) starts over.

Must not: change the radio state, or decide anything about registration (``core/state.py`` does).
"""

from __future__ import annotations

from typing import Any

NAMES = {0: "not registered", 1: "home", 2: "searching", 3: "denied", 4: "unknown", 5: "roaming"}


class RegistrationWatch:
    """Remembers how much of one radio state's history was reported."""

    def __init__(self) -> None:
        self._radio: Any = None
        self._seen = 0

    def changes(self, radio: Any) -> list[dict[str, Any]]:
        history = getattr(radio, "history", None)
        if history is None:  # not booted yet: no radio state
            return []
        if radio is not self._radio:
            self._radio, self._seen = radio, 0
        elif len(history) == self._seen:
            return []  # the usual drain: nothing new (no slice, no comprehension)
        new = history[self._seen:]
        self._seen = len(history)
        return [{"stat": stat, "was": was, "cause": cause, "state": NAMES.get(stat, str(stat))}
                for was, cause, stat in new]
