"""AT command syntax: Lark grammars (``grammars/*.lark``) -> :class:`AtCommand` values."""

from .commands import AtCommand, Kind
from .grammar import parse_line

__all__ = ["AtCommand", "Kind", "parse_line"]
