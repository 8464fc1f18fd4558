"""One decorator for command handlers whose bad arguments get a feature's own answer instead of
the core's plain ``ERROR`` (a ``+CME ERROR: <n>`` a manual names, an error to remember for a
later query): :func:`on_bad_args` turns an :class:`~emulator.at.commands.ArgError` the handler
raises into the reply ``answer(ctx)`` builds.

Must not: catch anything but ArgError (a handler bug stays a crash the modem records), or know
about any feature's codes (each feature passes its own answer).
"""

from __future__ import annotations

import functools
from typing import Callable

from ...at.commands import ArgError, AtCommand
from ...core.modem import Context
from ..profile import Reply

Handler = Callable[[AtCommand, Context], Reply]


def on_bad_args(answer: Callable[[Context], Reply]) -> Callable[[Handler], Handler]:
    """A decorator: the handler's ArgError answers ``answer(ctx)``."""
    def decorate(fn: Handler) -> Handler:
        @functools.wraps(fn)
        def wrapper(cmd: AtCommand, ctx: Context) -> Reply:
            try:
                return fn(cmd, ctx)
            except ArgError:
                return answer(ctx)
        return wrapper
    return decorate
