"""Find ``grammars/<name>.lark``, build a Lark LALR parser once per grammar, parse lines
(the common one-command line through :mod:`fastpath`, generated from the same grammar).

Built parsers can be cached on disk (Lark's ``cache=``) in the directory the edge sets with
:func:`set_cache_dir` (``modemu serve``: a user cache dir): the next start loads the tables
instead of building them (Lark checks the grammar text, the imported files' hashes, its own
version and the options; anything changed = rebuild). No directory set = no cache.

Grammars live at the repository top level (``grammars/``) and ship inside the wheel as
``emulator/grammars`` (hatch force-include); both places are searched, so a checkout and an
installed copy behave the same.

Must not: execute commands or hold modem state.
"""

from __future__ import annotations

import functools
import hashlib
import sys
from pathlib import Path

from lark import Lark
from lark.exceptions import LarkError

from ..errors import GrammarError
from . import fastpath
from .commands import AtCommand
from .transformer import ToCommands

_HERE = Path(__file__).resolve().parent


def grammar_dir() -> Path:
    for candidate in (_HERE.parent / "grammars", _HERE.parent.parent / "grammars"):
        if (candidate / "v250.lark").is_file():
            return candidate
    raise GrammarError("grammars/ not found next to the emulator package")


_cache_dir: list[Path] = []  # set by the edge (serve), read when a parser is first built


def set_cache_dir(path: Path | None) -> None:
    """Cache built parsers in ``path`` from now on (None: no cache)."""
    _cache_dir[:] = [path] if path is not None else []


def cache_file(path: Path) -> str | bool:
    """Where Lark caches ``path``'s parser (False: no cache). One file per grammar file location
    and Python version; Lark's own header decides whether its content is still valid."""
    if not _cache_dir:
        return False
    base = _cache_dir[0]
    where = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    return str(base / f"lark-{path.stem}-{where}-py{sys.version_info[0]}{sys.version_info[1]}.cache")


@functools.lru_cache(maxsize=None)
def parser_for(name: str) -> Lark:
    path = grammar_dir() / f"{name.replace('-', '_')}.lark"
    if not path.is_file():
        raise GrammarError(f"no grammar {path.name} in {path.parent}")
    try:
        return Lark(path.read_text(), start="line", parser="lalr", lexer="contextual",
                    import_paths=[path.parent], source_path=str(path), maybe_placeholders=False,
                    cache=cache_file(path))
    except LarkError as exc:
        raise GrammarError(f"{path.name}: {exc}") from exc


class SyntaxErrorInLine(ValueError):
    """The line is not valid AT syntax for this grammar."""


@functools.lru_cache(maxsize=None)
def fast_parser_for(name: str) -> fastpath.FastParser:
    return fastpath.build(parser_for(name))


def parse_line(line: str, grammar: str = "v250") -> list[AtCommand]:
    """Parse one command line (without CR) into commands; raise SyntaxErrorInLine.

    The common shape (one extended command) takes the fast path generated from the grammar's
    terminals (:mod:`fastpath`); every other line goes through Lark, with a cache."""
    fast = fast_parser_for(grammar)(line)
    if fast is not None:
        return fast
    result = _parse_cached(line, grammar)
    if isinstance(result, str):
        raise SyntaxErrorInLine(result)
    return list(result)


@functools.lru_cache(maxsize=512)
def _parse_cached(line: str, grammar: str) -> tuple[AtCommand, ...] | str:
    # Hosts repeat the same few lines (polling AT+CSQ, AT+CEREG?): an LALR parse costs 10-35 us,
    # a cache hit well under 1 us. AtCommand values are frozen, so sharing them is safe; the
    # error message is cached for rejected lines. Bounded: 512 lines of at most 1 KiB.
    try:
        tree = parser_for(grammar).parse(line)
    except LarkError as exc:
        return str(exc).splitlines()[0]
    return tuple(ToCommands(line).transform(tree))

