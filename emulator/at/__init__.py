"""AT command syntax: Lark grammars (``grammars/*.lark``) -> :class:`AtCommand` values.

Must not: import anything above ``at/`` and ``errors``, or do I/O."""

from .commands import AtCommand, Kind
from .grammar import parse_line

__all__ = ["AtCommand", "Kind", "parse_line"]
