"""Exceptions of the emulator. Every public error ends in ``Error`` and says what to do.

Must not: import anything of emulator/ (every layer raises these)."""

from __future__ import annotations


class EmulatorError(Exception):
    """Base class for everything the emulator raises on purpose."""


class UnknownNameError(EmulatorError, KeyError):
    kind = "name"

    def __init__(self, name: str, valid: list[str]) -> None:
        self.name, self.valid = name, valid
        super().__init__(f"unknown {self.kind} {name!r}; valid: {', '.join(valid)}")

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.args[0]


class UnknownModuleError(UnknownNameError):
    kind = "module"


class UnknownBackendError(UnknownNameError):
    kind = "backend"


class GrammarError(EmulatorError):
    """A grammar file failed to load or compile."""


class ConfigError(EmulatorError):
    """The --config file or a command-line value is wrong."""


class ScenarioError(EmulatorError):
    """A scenario file is malformed; the message starts with file:line."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        self.path, self.line = path, line
        where = f"{path}:{line}: " if path and line else (f"{path}: " if path else "")
        super().__init__(where + message)
