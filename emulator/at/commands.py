"""One parsed AT command and helpers to read its arguments.

``AtCommand.name`` is upper-cased with its prefix (``+CEREG``, ``$$SWVER``, ``E``, ``S3``,
``&F``); ``args`` keeps each argument as written, with ``Arg.quoted`` telling whether it was
in quotes. Handlers convert with :meth:`AtCommand.int` / :meth:`AtCommand.str`, which raise
:class:`ArgError` (rendered as ERROR / +CME ERROR by the modem) on a bad value.

Must not: know any particular command.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Kind(enum.Enum):
    EXEC = "exec"
    SET = "set"
    READ = "read"
    TEST = "test"


class ArgError(ValueError):
    """An argument is missing, of the wrong type or out of range. ``cme`` picks the code."""

    def __init__(self, message: str, cme: int | None = None) -> None:
        super().__init__(message)
        self.cme = cme


@dataclass(frozen=True, slots=True)
class Arg:
    text: str
    quoted: bool = False

    @property
    def empty(self) -> bool:
        return not self.quoted and self.text == ""


@dataclass(frozen=True)
class AtCommand:
    name: str
    kind: Kind
    args: tuple[Arg, ...] = ()
    raw: str = field(default="", compare=False)

    def __len__(self) -> int:
        return len(self.args)

    def has(self, index: int) -> bool:
        return index < len(self.args) and not self.args[index].empty

    def str(self, index: int, default: str | None = None, *, max_len: int | None = None,
            choices: tuple[str, ...] | None = None, upper: bool = False) -> str:
        if not self.has(index):
            if default is None:
                raise ArgError(f"argument {index + 1} missing")
            return default
        value = self.args[index].text
        if max_len is not None and len(value) > max_len:
            raise ArgError(f"argument {index + 1} longer than {max_len}")
        if upper:
            value = value.upper()
        if choices is not None:
            folded = {c.lower(): c for c in choices}
            if value.lower() not in folded:
                raise ArgError(f"argument {index + 1} not one of {choices}")
            value = folded[value.lower()]
        return value

    def int(self, index: int, default: int | None = None, *, lo: int | None = None,
            hi: int | None = None, base: int = 10) -> int:
        if not self.has(index):
            if default is None:
                raise ArgError(f"argument {index + 1} missing")
            return default
        text = self.args[index].text.strip()
        try:
            value = int(text, base)
        except ValueError:
            raise ArgError(f"argument {index + 1} is not a number: {text!r}") from None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise ArgError(f"argument {index + 1} out of range: {value}")
        return value

    def max_args(self, count: int) -> None:
        if len(self.args) > count:
            raise ArgError(f"too many arguments ({len(self.args)} > {count})")

    def quoted(self, index: int) -> bool:
        return index < len(self.args) and self.args[index].quoted
